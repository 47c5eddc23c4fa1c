"""A CPython Client that sends messages of given sizes and checks that they come back.

    python sizes_client.py ADDRESS [--authkey KEY] [--sizes 0,1,16384] [--seed S] [--big N] [--verbose]

For each size it sends deterministic pseudo-random bytes and expects the same bytes back
(the peer is an echo server). ``--big N`` sends one message of N bytes (used for > 2 GiB).
Prints ``SENT <n> OK`` per message and ``OK`` at the end; ``AUTH_FAILED <reason>`` and exit 3
when the digest challenge fails; ``MISMATCH ...`` and exit 2 when an echo differs.
"""

import argparse
import multiprocessing
import os
import sys
from multiprocessing.connection import Client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    EXIT_AUTH,
    EXIT_MISMATCH,
    authkey_arg,
    big_payload,
    parse_address,
    parse_sizes,
    payload,
    say,
    version,
)


def preview(data):
    return data[:24].hex() + ("..." if len(data) > 24 else "")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("address")
    parser.add_argument("--authkey")
    parser.add_argument("--sizes", default="0,1,16384,16385,1048576")
    parser.add_argument("--seed", default="mpconn")
    parser.add_argument("--big", type=int, default=None)
    parser.add_argument("--verbose", action="store_true", help="print each exchange")
    args = parser.parse_args()

    try:
        conn = Client(parse_address(args.address), authkey=authkey_arg(args.authkey))
    except multiprocessing.AuthenticationError as exc:
        say("AUTH_FAILED", exc)
        return EXIT_AUTH
    if args.verbose:
        say("python %s connected to %s" % (version(), args.address))
    with conn:
        if args.big is not None:
            messages = [("big", args.big)]
        else:
            messages = [("sizes", n) for n in parse_sizes(args.sizes)]
        for kind, size in messages:
            data = big_payload(size) if kind == "big" else payload(args.seed, size)
            conn.send_bytes(data)
            if args.verbose:
                say("python -> %8d bytes  %s" % (size, preview(data)))
            back = conn.recv_bytes()
            if back != data:
                say("MISMATCH sent %d bytes, got %d back" % (len(data), len(back)))
                return EXIT_MISMATCH
            if args.verbose:
                say("python <- %8d bytes  %s" % (len(back), preview(back)))
            say("SENT", size, "OK")
            del data, back
    say("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
