#!/usr/bin/env python3
"""Generates fixtures/pickles/<X.Y>.json: pickles written by real CPython interpreters.

Run from the repository root:  python3 python_interop/gen_fixtures.py
With no argument it runs itself under every interpreter it finds (python3 and
/var/cache/mpconn/pythons/bin/python3.13, 3.14, 3.15); with ``--emit DIR`` it writes
the file for the running interpreter only.

Each file is a JSON list of entries:
  name      catalogue name of the value
  protocol  0..5
  pickle    the bytes of pickle.dumps(value, protocol), hex
  repr      repr(value) (None when longer than 20 000 characters)
  ascii     ascii(value) (same, with every non-ASCII character escaped)
  basic     true when the value holds only None/bool/int/float/str/bytes/list/tuple/dict
            and no cycle: a decoder's repr must then equal ``repr`` exactly
  shape     identity structure (see ``shape`` below), for sharing and cycle checks
  type      type(value).__qualname__ (with the module for non-builtins)
"""

import array
import collections
import datetime
import decimal
import enum
import fractions
import json
import os
import pickle
import subprocess
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import fixture_types as ft  # noqa: E402

import pythons  # noqa: E402  (python_interop/pythons.py: where the interpreters are)

INTERPRETERS = [exe for _ident, exe in pythons.candidates()]

REPR_LIMIT = 20_000


def catalogue():
    """(name, value, protocols or None for all) triples."""
    out = []

    def add(name, value, protocols=None):
        out.append((name, value, protocols))

    add("none", None)
    add("true", True)
    add("false", False)
    for n in [0, 1, -1, 255, 256, 65535, 65536, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1,
              2**63 - 1, -(2**63), 2**63, 2**64, -(2**100), 10**50, -(10**50)]:
        add(f"int {n}", n)
    for f in [0.0, -0.0, 1.5, 1e16, 1e-5, 1e22, 0.1, float("inf"), float("-inf"),
              float("nan"), 5e-324, 1.7976931348623157e308, 123456789.125, -2.5e-10]:
        add(f"float {f!r}", f)
    add("str empty", "")
    add("str ascii", "hello world")
    add("str latin1", "café ÿ")
    add("str unicode", "Ωμέγα – 日本語")
    add("str emoji", "snake 🐍!")
    add("str lone surrogate", "\ud800")
    add("str surrogates mixed", "a\udfffb\ud83d")
    add("str long", "abcdefghij" * 30)
    add("str quotes", "it's \"quoted\" \\ back")
    add("str single quote", "it's")
    add("str control", "line1\nline2\r\ttab\x00nul\x1a\x7f\x85\u2028")
    add("str backslash u", "\\u0041 \\U00000041")
    add("bytes empty", b"")
    add("bytes short", b"abc")
    add("bytes binary", bytes(range(256)) + b"abc" * 15)
    add("bytes quotes", b"it's \"q\" \\ \n\t\x00\xff")
    add("bytes 64KiB", bytes(range(256)) * 260, [4])
    add("bytearray empty", bytearray())
    add("bytearray", bytearray(b"ab\x00\xff"))
    add("list empty", [])
    add("tuple empty", ())
    add("tuple 1", (1,))
    add("tuple 2", (1, "a"))
    add("tuple 3", (1, 2, 3))
    add("tuple 4", (1, 2, 3, 4))
    add("list mixed", [1, 2.5, "a", b"b", None, True, (1, 2), [3], {"k": "v"}])
    add("nested", [[[[["deep"]]]], ((((),),),), {"a": {"b": {"c": [1]}}}])
    add("list 1200", list(range(1200)))
    add("tuple 1200", tuple(range(1200)))
    add("dict 1200", {i: str(i) for i in range(1200)})
    add("list 100k", [None] * 100_000, [4])
    add("dict empty", {})
    add("dict str keys", {"b": 1, "a": 2, "c": 3})
    add("dict int keys", {3: "three", -1: "minus", 2**70: "big"})
    add("dict mixed keys", {1: "i", 1.5: "f", "s": "s", b"b": "b", None: "n", True: "t",
                            (1, "t"): "tuple"})
    add("dict frozenset key", {frozenset([1, 2]): "fs"})
    add("set empty", set())
    add("set", {1, 2, 3})
    add("set strs", {"a"})
    add("frozenset empty", frozenset())
    add("frozenset", frozenset([1, "x", (2, 3)]))
    x = [1, 2]
    add("shared list", [x, x])
    t = (1, "t")
    add("shared tuple in dicts", [{"k": t}, {"k": t}])
    d = {"a": 1}
    add("shared dict", {"x": d, "y": d, "z": [d]})
    s = "shared string"
    add("shared str", [s, s, s])
    a = []
    a.append(a)
    add("cycle list", a)
    dd = {}
    dd["self"] = dd
    add("cycle dict", dd)
    tt = ([],)
    tt[0].append(tt)
    add("cycle tuple", tt)
    ll = [1]
    ll.append(ll)
    ll.append([ll, ll])
    add("cycle list twice", ll)
    c1 = []
    c2 = [c1]
    c1.append(c2)
    add("cycle pair", [c1, c2])
    tt2 = ([],)
    tt2[0].append(tt2)
    add("cycle tuple outside", [tt2[0], tt2])
    add("global float", float)
    add("global sum", sum)
    add("global int", int)
    add("global len", len)
    add("seed 1", [2.25, None, "junk", float])
    add("seed 2", ["a", 2.5, None, int, sum])
    add("datetime", datetime.datetime(2024, 2, 29, 13, 45, 7, 123456))
    add("datetime tz", datetime.datetime(2001, 1, 1, tzinfo=datetime.timezone.utc))
    add("datetime tz offset", datetime.datetime(2001, 1, 1, 5, tzinfo=datetime.timezone(
        datetime.timedelta(hours=-3, minutes=-30), "X")))
    add("date", datetime.date(1999, 12, 31))
    add("time", datetime.time(23, 59, 59, 999999))
    add("timedelta", datetime.timedelta(days=-1, seconds=5, microseconds=7))
    add("timezone", datetime.timezone.utc)
    add("decimal", decimal.Decimal("1.50"))
    add("decimal nan", decimal.Decimal("-NaN"))
    add("complex", complex(1.5, -2))
    add("fraction", fractions.Fraction(3, 7))
    add("ordereddict", collections.OrderedDict([("b", 1), ("a", [2])]))
    dfd = collections.defaultdict(list)
    dfd["k"].append(1)
    add("defaultdict", dfd)
    add("deque", collections.deque([1, "two", 3.0], maxlen=5))
    add("counter", collections.Counter("abracadabra"))
    add("namedtuple", ft.Point(1, y="y"))
    add("plain object", ft.Plain(3, [4]))
    add("slots object", ft.Slotted(5, "six"))
    add("reduce object", ft.Reduced(7))
    add("newobj_ex object", ft.KwOnly(key="k"), [2, 3, 4, 5])
    ls = ft.ListSub([1, 2, 3])
    add("list subclass", ls)
    ds = ft.DictSub(a=1, b=2)
    add("dict subclass", ds)
    add("enum int", ft.Color.RED)
    add("enum str", ft.Color.GREEN)
    add("exception", ValueError("x"))
    add("exception args", KeyError("k", 2))
    add("range", range(1, 10, 3))
    add("slice", slice(1, None, -1))
    add("array", array.array("i", [1, -2, 3]))
    add("array double", array.array("d", [1.5]))
    add("uuid", uuid.UUID("12345678-1234-5678-1234-567812345678"))
    add("ellipsis", ...)
    add("notimplemented", NotImplemented)
    add("type none", type(None))
    p = ft.Plain(1, None)
    p.b = p
    add("object cycle", p)
    add("objects shared", [ft.Point(1, 2)] * 2)
    chain = []
    for i in range(100):
        node = {"parent": chain[-1] if chain else None, "children": []}
        if chain:
            chain[-1]["children"].append(node)
        chain.append(node)
    add("parent chain", chain)
    add("dicts shared keys", [{"id": i, "name": "n", "tags": t} for i in range(50)])
    return out


BASIC_TYPES = (type(None), bool, int, float, str, bytes, list, tuple, dict)


def is_basic(value):
    """Only None/bool/int/float/str/bytes/list/tuple/dict (exact types), no cycles."""
    on_path = set()
    stack = [(value, False)]
    while stack:
        v, leaving = stack.pop()
        if leaving:
            on_path.discard(id(v))
            continue
        if type(v) not in BASIC_TYPES:
            return False
        if isinstance(v, (list, tuple, dict)):
            if id(v) in on_path:
                return False
            on_path.add(id(v))
            stack.append((v, True))
            children = list(v) if not isinstance(v, dict) else [c for kv in v.items() for c in kv]
            stack.extend((c, False) for c in reversed(children))
    return True


CONTAINER_TAGS = {list: "L", tuple: "T", dict: "D", set: "S", frozenset: "F"}
LEAF_TYPES = (type(None), bool, int, float, str, bytes, bytearray, type,
              type(len), type(sum))


def shape(value):
    """Identity structure: containers (exact list/tuple/dict/set/frozenset, empty tuple
    excepted) are numbered in depth-first order: ``L0(...)``; a container met again is
    ``@n``; a leaf (scalars, bytearray, classes, functions, Ellipsis, NotImplemented: what
    pickles as a value or a global) is ``.``; any other object is ``o``. Dict children:
    key, value."""
    seen = {}
    out = []
    stack = [value]
    while stack:
        v = stack.pop()
        if type(v) is tuple and len(v) == 2 and v[0] is _MARK:
            out.append(v[1])
            continue
        tag = CONTAINER_TAGS.get(type(v))
        if tag is None or v == ():
            leaf = isinstance(v, LEAF_TYPES) or v is None or v is ... or v is NotImplemented
            if v == ():
                leaf = True
            if any(v is t for t in REDUCED_TYPES):  # pickled as REDUCE(type, (singleton,))
                leaf = False
            out.append("." if leaf else "o")
            continue
        if id(v) in seen:
            out.append(f"@{seen[id(v)]}")
            continue
        seen[id(v)] = len(seen)
        out.append(f"{tag}{seen[id(v)]}(")
        if type(v) is dict:
            children = [c for kv in v.items() for c in kv]
        else:
            children = list(v)
        stack.append((_MARK, ")"))
        for i, c in reversed(list(enumerate(children))):
            stack.append(c)
            if i:
                stack.append((_MARK, ","))
    return "".join(out)


_MARK = object()
REDUCED_TYPES = (type(None), type(...), type(NotImplemented))


def type_name(value):
    if any(value is t for t in REDUCED_TYPES):
        return "reduced type"
    t = type(value)
    if t.__module__ == "builtins":
        return t.__qualname__
    return f"{t.__module__}.{t.__qualname__}"


def emit(outdir):
    version = "%d.%d" % sys.version_info[:2]
    entries = []
    for name, value, protocols in catalogue():
        basic = is_basic(value)
        r = repr(value)
        a = ascii(value)
        if len(r) > REPR_LIMIT:
            r = a = None
            basic = False
        sh = shape(value)
        if len(sh) > REPR_LIMIT:
            sh = None
        for proto in protocols if protocols is not None else range(6):
            try:
                data = pickle.dumps(value, protocol=proto)
            except Exception as e:  # some objects need protocol 2+
                print(f"{version} p{proto} {name}: skipped ({type(e).__name__}: {e})",
                      file=sys.stderr)
                continue
            entries.append({
                "name": name,
                "protocol": proto,
                "pickle": data.hex(),
                "repr": r,
                "ascii": a,
                "basic": basic,
                "shape": sh,
                "type": type_name(value),
            })
    path = os.path.join(outdir, f"{version}.json")
    with open(path, "w") as fh:
        json.dump(entries, fh, indent=0)
        fh.write("\n")
    print(f"{path}: {len(entries)} fixtures")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--emit":
        emit(sys.argv[2])
        return
    outdir = os.path.join(os.path.dirname(HERE), "fixtures", "pickles")
    os.makedirs(outdir, exist_ok=True)
    for exe in INTERPRETERS:
        if exe != "python3" and not os.path.exists(exe):
            print(f"{exe}: not found, skipped", file=sys.stderr)
            continue
        # A fixed hash seed keeps set and frozenset order (and so the files) stable.
        env = dict(os.environ, PYTHONHASHSEED="0")
        subprocess.run([exe, os.path.abspath(__file__), "--emit", outdir], check=True, env=env)


if __name__ == "__main__":
    main()
