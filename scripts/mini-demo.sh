#!/usr/bin/env bash
# The small demo `make demo` runs until scripts/demo.sh exists: the Rust example peer
# listens, a CPython client connects with an authkey and exchanges a few messages.
set -euo pipefail
cd "$(dirname "$0")/.."
PEER="${CARGO_TARGET_DIR:-target}/debug/examples/interop_peer"
[ -x "$PEER" ] || cargo build --example interop_peer
KEY="demo-key"

coproc RUST { exec "$PEER" serve 127.0.0.1:0 --authkey "$KEY" --count 1; }
trap 'kill "$RUST_PID" 2>/dev/null || true' EXIT
if ! read -r -t 30 ready addr <&"${RUST[0]}" || [ "$ready" != READY ]; then
  echo "demo: the Rust peer did not start" >&2
  exit 1
fi
echo "demo: Rust listener (examples/interop_peer) ready on $addr, authkey '$KEY'"
echo "demo: CPython $(python3 -c 'import sys; print(sys.version.split()[0])') client sends, the Rust side echoes:"
timeout 60 python3 python_interop/peers/sizes_client.py "$addr" --authkey "$KEY" \
  --sizes 0,5,16385,1048576 --verbose
wait "$RUST_PID" && echo "demo: done, the Rust listener exited cleanly"
trap - EXIT
