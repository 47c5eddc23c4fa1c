"""Sends the catalogue, pickled with a given protocol, to a round-trip peer and checks each reply.

    python pickle_client.py ADDRESS --protocol P [--authkey KEY] [--only NAME,...] [--catalogue MODULE]

The peer (``interop_peer roundtrip-serve``) decodes each pickle into its own value model and
encodes it again; the reply must unpickle to an exact copy (see ``catalogue.same``).
Prints one line per value, ``ITEM <name> OK`` or ``ITEM <name> FAIL <why>``, then
``SUMMARY <ok> ok <failed> failed`` and exits 0 only when every value came back intact.
"""

import argparse
import importlib
import os
import pickle
import sys
from multiprocessing.connection import Client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))  # python_interop/: the catalogue module
from _common import ERROR_PREFIX, authkey_arg, parse_address, say  # noqa: E402
import catalogue  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("address")
    parser.add_argument("--protocol", type=int, required=True)
    parser.add_argument("--authkey")
    parser.add_argument("--only", help="comma-separated names from the catalogue")
    parser.add_argument(
        "--catalogue",
        default="catalogue",
        help="module in python_interop/ with catalogue(protocol) -> [(name, value)] (default: catalogue)",
    )
    args = parser.parse_args()

    source = importlib.import_module(args.catalogue)
    items = source.catalogue(args.protocol)
    if args.only:
        wanted = set(args.only.split(","))
        items = [(n, v) for n, v in items if n in wanted]
    ok = failed = 0
    with Client(parse_address(args.address), authkey=authkey_arg(args.authkey)) as conn:
        for name, value in items:
            conn.send_bytes(pickle.dumps(value, args.protocol))
            reply = conn.recv_bytes()
            if reply.startswith(ERROR_PREFIX):
                why = "peer: " + reply[len(ERROR_PREFIX):].decode("utf-8", "replace")
            else:
                try:
                    back = pickle.loads(reply)
                except Exception as exc:  # the reply itself is what is under test
                    why = "reply does not unpickle: %s: %s" % (type(exc).__name__, exc)
                else:
                    why = catalogue.same(value, back)
            if why:
                failed += 1
                say("ITEM", name, "FAIL", why.replace("\n", " ")[:500])
            else:
                ok += 1
                say("ITEM", name, "OK")
    say("SUMMARY %d ok %d failed" % (ok, failed))
    return 1 if failed or not ok else 0


if __name__ == "__main__":
    sys.exit(main())
