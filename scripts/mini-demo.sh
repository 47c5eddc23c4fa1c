#!/usr/bin/env bash
# The small demo `make demo` runs until scripts/demo.sh exists: the Rust example peer
# listens, a CPython client connects with an authkey and exchanges a few messages, and the
# Rust side's own log is shown after.
set -euo pipefail
cd "$(dirname "$0")/.."
PEER="${MPCONN_INTEROP_PEER:-${CARGO_TARGET_DIR:-target}/debug/examples/interop_peer}"
[ -x "$PEER" ] || cargo build --example interop_peer
KEY="demo-key"

work="$(mktemp -d /tmp/mpconn-demo.XXXXXX)"
mkfifo "$work/rust.out"
"$PEER" serve 127.0.0.1:0 --authkey "$KEY" --count 1 >"$work/rust.out" &
rust_pid=$!
trap 'kill "$rust_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
exec 3<"$work/rust.out"
if ! read -r -t 30 ready addr <&3 || [ "$ready" != READY ]; then
  echo "demo: the Rust peer did not start" >&2
  exit 1
fi
echo "demo: Rust listener (examples/interop_peer) ready on $addr, authkey '$KEY'"
echo "demo: a CPython $(python3 -c 'import sys; print(sys.version.split()[0])') client sends, the Rust side echoes:"
timeout 60 python3 python_interop/peers/sizes_client.py "$addr" --authkey "$KEY" \
  --sizes 0,5,16385,1048576 --verbose
status=0
wait "$rust_pid" || status=$?
echo "demo: the Rust listener's log:"
sed 's/^/  rust: /' <&3
[ "$status" = 0 ] && echo "demo: done" || { echo "demo: the Rust listener exited with $status" >&2; exit "$status"; }
