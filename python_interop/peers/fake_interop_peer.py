#!/usr/bin/env python3
"""A CPython stand-in for ``tests/peers/interop_peer.rs`` (same command line, same output lines),
for testing the harness itself while the Rust peer cannot run:

    MPCONN_INTEROP_PEER=python_interop/peers/fake_interop_peer.py .venv/bin/pytest python_interop

It ignores ``--digest`` (CPython's Listener picks its own) and ``--max-size``; roundtrip-serve
re-pickles with the received protocol (at least 2). Never used by ``make test``.
"""

import multiprocessing
import os
import pickle
import sys
from multiprocessing.connection import Client, Listener

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # catalogue
from _common import big_payload, format_address, parse_address, payload, say  # noqa: E402


def main(argv):
    mode, address, rest = argv[0], argv[1], argv[2:]
    opts = {"--count": "1", "--sizes": "0,1,16384,16385,1048576", "--seed": "1"}
    while rest:
        flag = rest.pop(0)
        if flag == "--verbose":
            continue
        opts[flag] = rest.pop(0)
    key = opts["--authkey"].encode() if "--authkey" in opts else None
    if mode == "client":
        try:
            conn = Client(parse_address(address), authkey=key)
        except multiprocessing.AuthenticationError as exc:
            say("AUTH_FAILED", exc)
            return 3
        with conn:
            if "--big" in opts:
                sizes = [("big", int(opts["--big"]))]
            else:
                sizes = [("s", int(s)) for s in opts["--sizes"].split(",") if s]
            for kind, n in sizes:
                data = big_payload(n) if kind == "big" else payload(opts["--seed"], n)
                conn.send_bytes(data)
                if conn.recv_bytes() != data:
                    say("MISMATCH", n)
                    return 2
                say("SENT %d OK" % n)
        say("OK")
        return 0
    status = 0
    with Listener(parse_address(address), authkey=key) as listener:
        say("READY", format_address(listener.address))
        count = int(opts["--count"])
        served = 0
        while count == 0 or served < count:
            served += 1
            try:
                conn = listener.accept()
            except multiprocessing.AuthenticationError as exc:
                say("AUTH_FAILED", exc)
                status = 3
                continue
            say("ACCEPTED")
            with conn:
                while True:
                    try:
                        msg = conn.recv_bytes()
                    except EOFError:
                        break
                    if mode == "roundtrip-serve":
                        proto = msg[1] if msg[:1] == b"\x80" else 0
                        conn.send_bytes(pickle.dumps(pickle.loads(msg), max(2, proto)))
                        say("ROUNDTRIP", len(msg))
                    else:
                        conn.send_bytes(msg)
                        say("ECHO", len(msg))
    say("DONE")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
