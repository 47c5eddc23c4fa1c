"""Sends the plain-data values of the catalogue to ``interop_peer view-serve`` and checks
what the Rust peer read through ``mpconn::pickle::loads_view``.

    python view_client.py ADDRESS --protocol P [--authkey KEY]

The peer answers ``(borrowed, description)``: whether its view is the borrowed arena, and
a description of the value made with the view's accessors alone. This client describes
what it sent the same way (``describe``) and compares. At protocols 4 and 5 it also checks
that the view took the arena whenever the value is made only of what the arena holds
(``arena_kinds_only``), so that the borrowed path, not the owned fallback, is what passed.
Prints ``ITEM <name> OK|FAIL <why>``, then ``SUMMARY <ok> ok <failed> failed <borrowed> borrowed``.
"""

import argparse
import os
import pickle
import struct
import sys
from multiprocessing.connection import Client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))  # python_interop/: the catalogue module
from _common import ERROR_PREFIX, authkey_arg, parse_address, say  # noqa: E402
import catalogue  # noqa: E402

CONTAINERS = (list, tuple, dict, set, frozenset)
SCALARS = (type(None), bool, int, float, str, bytes, bytearray)
I64 = (-(2**63), 2**63)


def describe(obj, seen, out):
    """The peer's description (tests/peers/interop_peer.rs, ``describe``), from Python."""
    t = type(obj)
    if obj is None:
        out.append(("NoneType", None))
    elif t is bool:
        out.append(("bool", obj))
    elif t is int:
        out.append(("int", obj) if I64[0] <= obj < I64[1] else ("bigint",))
    elif t is float:
        out.append(("float", struct.pack(">d", obj)))
    elif t is str:
        out.append(("str", obj))
    elif t in (bytes, bytearray):
        out.append((t.__name__, bytes(obj)))
    elif t in (tuple, frozenset) and not obj:
        out.append((t.__name__,))
    else:
        if id(obj) in seen:
            out.append(("ref", seen[id(obj)]))
            return
        out.append((t.__name__, len(obj), len(seen)))
        seen[id(obj)] = len(seen)
        if t is dict:
            for k, v in obj.items():
                describe(k, seen, out)
                describe(v, seen, out)
        else:
            for x in obj:
                describe(x, seen, out)


def walk(obj, seen=None):
    """Every object reachable from ``obj`` (each container once)."""
    seen = set() if seen is None else seen
    yield obj
    if type(obj) in CONTAINERS and id(obj) not in seen:
        seen.add(id(obj))
        items = obj.items() if type(obj) is dict else ((x,) for x in obj)
        for group in items:
            for x in group:
                yield from walk(x, seen)


def plain_data(obj):
    return all(type(x) in CONTAINERS + SCALARS for x in walk(obj))


def arena_kinds_only(obj, protocol):
    """True when the view must take the arena: ints within i64, keys and set items None,
    bool, int, float, str or bytes, no bytearray below protocol 5 (protocol 4 writes it as
    a call), and no tuple that contains itself (CPython writes those with ``POP``)."""
    key_kinds = (type(None), bool, int, float, str, bytes)
    for x in walk(obj):
        if type(x) is int and not I64[0] <= x < I64[1]:
            return False
        if type(x) is bytearray and protocol < 5:
            return False
        if type(x) is tuple and any(y is x for item in x for y in walk(item)):
            return False
        keys = x.keys() if type(x) is dict else x if type(x) in (set, frozenset) else ()
        if any(type(k) not in key_kinds for k in keys):
            return False
    return True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("address")
    parser.add_argument("--protocol", type=int, required=True)
    parser.add_argument("--authkey")
    args = parser.parse_args()
    items = [(n, v) for n, v in catalogue.catalogue(args.protocol) if plain_data(v)]
    ok = failed = borrowed = 0
    with Client(parse_address(args.address), authkey=authkey_arg(args.authkey)) as conn:
        for name, value in items:
            conn.send_bytes(pickle.dumps(value, args.protocol))
            reply = conn.recv_bytes()
            why = None
            if reply.startswith(ERROR_PREFIX):
                why = "peer: " + reply[len(ERROR_PREFIX):].decode("utf-8", "replace")
            else:
                was_borrowed, seen_by_rust = pickle.loads(reply)
                expected = []
                describe(value, {}, expected)
                if list(seen_by_rust) != expected:
                    at = next((i for i, (a, b) in enumerate(zip(seen_by_rust, expected)) if a != b),
                              min(len(seen_by_rust), len(expected)))
                    why = "descriptions differ at %d: rust %r, python %r" % (
                        at, seen_by_rust[at:at + 3], expected[at:at + 3])
                elif args.protocol >= 4 and was_borrowed != arena_kinds_only(value, args.protocol):
                    why = "borrowed=%s, expected %s" % (was_borrowed, not was_borrowed)
                borrowed += bool(was_borrowed)
            if why:
                failed += 1
                say("ITEM", name, "FAIL", why.replace("\n", " ")[:500])
            else:
                ok += 1
                say("ITEM", name, "OK")
    say("SUMMARY %d ok %d failed %d borrowed" % (ok, failed, borrowed))
    return 1 if failed or not ok else 0


if __name__ == "__main__":
    sys.exit(main())
