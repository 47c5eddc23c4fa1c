#!/usr/bin/env bash
# make demo: mpconn talking to CPython's multiprocessing.connection, in both directions.
#
#   1. a Rust echo server (`mpconn listen --echo`) and a CPython client;
#   2. a Rust client (`mpconn call`) and a CPython `x + y` server (python_interop/seeds);
#   3. a Rust client (`mpconn send`) and CPython's "print until 'close'" listener.
#
# Exits non-zero if any reply differs from what CPython itself would answer.
# PYTHON=/path/to/python3.x picks the CPython (default: python3); MPCONN=/path/to/mpconn
# skips the build and uses that binary.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
PYTHON=${PYTHON:-python3}
seeds=$root/python_interop/seeds
bold="" plain=""
if [[ -t 1 ]]; then
    bold=$(tput bold 2>/dev/null || true)
    plain=$(tput sgr0 2>/dev/null || true)
fi

heading() { printf '\n%s== %s ==%s\n' "$bold" "$1" "$plain"; }
die() { printf 'demo failed: %s\n' "$1" >&2; exit 1; }

if [[ -n ${MPCONN:-} ]]; then
    mpconn=$MPCONN      # MPCONN=/path/to/mpconn runs the demo with that build
else
    heading "Building mpconn"
    cargo build --quiet --bin mpconn
    mpconn=${CARGO_TARGET_DIR:-$root/target}/debug/mpconn
fi
echo "mpconn: $mpconn"
echo "$("$PYTHON" -c 'import sys; print("CPython", sys.version.split()[0])') at $(command -v "$PYTHON")"

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# start NAME STREAM CMD...: runs CMD in the background and waits (at most 30 s) for its
# 'listening on ADDRESS' line on STREAM (stdout or stderr); sets $address. No sleeps: the
# line arrives through a FIFO.
start() {
    local name=$1 stream=$2 line fd
    shift 2
    mkfifo "$work/$name"
    if [[ $stream == stderr ]]; then
        "$@" 2>"$work/$name" >"$work/$name.out" &
    else
        "$@" >"$work/$name" 2>"$work/$name.err" &
    fi
    pids+=($!)
    exec {fd}<"$work/$name"
    IFS= read -r -t 30 line <&"$fd" || die "$name did not start"
    [[ $line == "listening on "* ]] || die "$name said: $line"
    address=${line#listening on }
    # keep reading the stream into a file so the server never blocks on it
    cat <&"$fd" >>"$work/$name.rest" &
    pids+=($!)
}

failures=0

heading "1. Rust echo server  <-  CPython client"
start echo stderr env MPCONN_AUTHKEY=peekaboo "$mpconn" listen 127.0.0.1:0 --echo
echo "\$ MPCONN_AUTHKEY=peekaboo mpconn listen 127.0.0.1:0 --echo     # listening on $address"
echo "\$ $PYTHON client.py   # Client(('${address%:*}', ${address##*:}), authkey=b'peekaboo'): send, recv, compare"
PYTHONPATH=$seeds timeout 60 "$PYTHON" - "$address" <<'PY' || failures=$((failures + 1))
import sys
from multiprocessing.connection import Client
from seed_address import address_from_argv

values = ['hello', 42, 2.25, None, True, b'\x00bytes', [1, 2], ('a', (1,)),
          {'k': [True, False]}, 2**100, [2.25, None, 'junk', float],
          ['a', 2.5, None, int, sum]]
differ = 0
with Client(address_from_argv(), authkey=b'peekaboo') as conn:
    for value in values:
        conn.send(value)
        reply = conn.recv()
        same = type(reply) is type(value) and repr(reply) == repr(value)
        differ += not same
        print(f'  python sent {value!r:<44} rust echoed {reply!r}'
              + ('' if same else '   <-- DIFFERS'))
sys.exit(1 if differ else 0)
PY

heading "2. Rust client  ->  CPython x + y server"
start add stdout "$PYTHON" "$seeds/add_server.py" 127.0.0.1:0
echo "\$ $PYTHON python_interop/seeds/add_server.py 127.0.0.1:0     # listening on $address"
pairs=("(1, 2)" "('abc', 'def')" "([1], [2, 3])" "(2.5, 0.25)" "(b'ab', b'cd')"
       "(4611686018427387904, 4611686018427387904)")
expected=("3" "'abcdef'" "[1, 2, 3]" "2.75" "b'abcd'" "9223372036854775808")
echo "\$ mpconn call $address --authkey 'secret password'$(printf ' "%s"' "${pairs[@]}")"
mapfile -t got < <("$mpconn" call "$address" --authkey 'secret password' --timeout 30 \
    "${pairs[@]}" || echo "<mpconn call failed>")
for i in "${!pairs[@]}"; do
    mark=""
    [[ "${got[i]-}" == "${expected[i]}" ]] || { mark="   <-- expected ${expected[i]}"; failures=$((failures + 1)); }
    printf '  rust sent %-44s python replied %s%s\n' "${pairs[i]}" "${got[i]-<nothing>}" "$mark"
done

heading "3. Rust client  ->  CPython 'print until close' listener"
start printer stdout "$PYTHON" "$seeds/print_until_close.py" 127.0.0.1:0
values=("['a', 2.5, None]" "{'x': (1,), 'y': b'z'}" "'close'")
echo "\$ mpconn send $address --authkey 'secret password' \"${values[0]}\" \"${values[1]}\" \"${values[2]}\""
"$mpconn" send "$address" --authkey 'secret password' --timeout 30 "${values[@]}" \
    || failures=$((failures + 1))
wait "${pids[-2]}" || failures=$((failures + 1))   # the listener exits after 'close'
wait "${pids[-1]}" || true                         # and its output is complete
mapfile -t printed < <(grep -v '^connection accepted' "$work/printer.rest")
want=("['a', 2.5, None]" "{'x': (1,), 'y': b'z'}" "'close'")
for i in "${!want[@]}"; do
    mark=""
    [[ "${printed[i]-}" == "${want[i]}" ]] || { mark="   <-- expected ${want[i]}"; failures=$((failures + 1)); }
    printf '  python printed %s%s\n' "${printed[i]-<nothing>}" "$mark"
done

heading "Result"
if ((failures)); then
    echo "$failures difference(s)"
    exit 1
fi
echo "every message crossed intact, both ways"
