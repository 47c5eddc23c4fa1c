"""A CPython Listener that echoes every message back until the client closes.

    python echo_listener.py ADDRESS [--authkey KEY] [--count N] [--objects]

Prints ``READY <address>`` once listening (port 0 resolved), ``ACCEPTED`` per connection,
``ECHO <n>`` per message, ``AUTH_FAILED <reason>`` when a digest challenge fails, ``DONE`` at
the end. ``--objects`` echoes with recv()/send() (pickles) instead of recv_bytes()/send_bytes().
Exit status: 0 when every connection went well, 3 if any failed authentication, 1 otherwise.
"""

import argparse
import multiprocessing
import os
import sys
from multiprocessing.connection import Listener

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import EXIT_AUTH, authkey_arg, format_address, parse_address, say  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("address")
    parser.add_argument("--authkey")
    parser.add_argument("--count", type=int, default=1, help="connections to serve (0: forever)")
    parser.add_argument("--objects", action="store_true")
    args = parser.parse_args()

    status = 0
    with Listener(parse_address(args.address), authkey=authkey_arg(args.authkey)) as listener:
        say("READY", format_address(listener.address))
        served = 0
        while args.count == 0 or served < args.count:
            served += 1
            try:
                conn = listener.accept()
            except multiprocessing.AuthenticationError as exc:
                say("AUTH_FAILED", exc)
                status = EXIT_AUTH
                continue
            say("ACCEPTED")
            with conn:
                while True:
                    try:
                        if args.objects:
                            obj = conn.recv()
                        else:
                            msg = conn.recv_bytes()
                    except EOFError:
                        break
                    if args.objects:
                        conn.send(obj)
                        say("ECHO", type(obj).__name__)
                    else:
                        conn.send_bytes(msg)
                        say("ECHO", len(msg))
                        del msg
    say("DONE")
    return status


if __name__ == "__main__":
    sys.exit(main())
