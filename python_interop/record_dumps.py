#!/usr/bin/env python3
"""Record CPython's own `pickle.dumps(value, protocol)` for a catalogue of values.

Run once under each interpreter of the harness:

    python3 python_interop/record_dumps.py            # writes fixtures/dumps/3.11.json
    /var/cache/mpconn/pythons/bin/python3.14 python_interop/record_dumps.py

Each record is {"literal", "protocol", "pickle", "value"}; "pickle" is hex where a run of 32
or more equal bytes is written "(XX*N)" (see packed_hex), to keep the files small. "value" describes the object
the pickle holds, in a small JSON form that tests/pickle_encode.rs turns into a `Value`:
it is read back from CPython's own opcode stream (pickletools), so it carries exactly the
sharing CPython's memo shows (interned strings, shared globals, `[x, x]`, cycles). The Rust
test then checks that encoding that Value gives CPython's bytes, byte for byte.

Value forms (ids number objects that may be shared; ["ref", id] is a second reference):
  ["none"] ["bool", b] N (an int below 2**53) ["int", "decimal"]
  ["float", "<16 hex digits, IEEE bits>"] ["str", id, "text"] ["strrep", id, "c", count]
  ["strx", id, "<hex of utf-8 surrogatepass, lone surrogates>"] ["bytes", id, packed hex]
  ["bytearray", id, packed hex]
  ["list"|"tuple"|"set"|"frozenset", id, [items]] ["dict", id, [[k, v], ...]]
  ["global", id, module, name] (module and name are str forms)
  ["object", id, construct, callable, [args], kwargs|null, state|null, [list items], [[k, v]...]]
  ["ref", id]  ["anchor", aid, value]  ["aref", aid]
"""
import json
import os
import pickle
import pickletools
import struct
import sys
import _compat_pickle

# Modules the catalogue's expressions use.
import argparse  # noqa: F401
import collections  # noqa: F401
import datetime  # noqa: F401
import decimal  # noqa: F401


def _crossing_list(first_len, n=1000, item_len=60):
    # A list whose first item is long, so that the 64 KiB frame boundary falls near the end
    # of the first APPENDS batch (exercises CPython's framing rules).
    return ["a" * first_len] + ["%0*d" % (item_len, i) for i in range(1, n)]


# The catalogue: Python expressions, evaluated here. Set items are ints only, so that the
# recorded order does not depend on the str hash seed.
CATALOGUE = [
    "None", "True", "False",
    "0", "1", "-1", "255", "256", "65535", "65536", "-256", "2**31-1", "-2**31", "2**31",
    "-2**31-1", "2**63-1", "-2**63", "2**63", "-2**63-1", "2**64", "-(2**64)", "2**100",
    "-2**100", "-(2**(8*255-1))", "2**(8*255-1)", "2**(8*300)", "-(2**(8*300))", "-128", "-129",
    "0.0", "-0.0", "1.5", "1e300", "float('inf')", "float('-inf')", "float('nan')", "2.25",
    "''", "'a'", "'abc'", "'é'", "'日本語'", "'😀'", "'\\ud800'", "'a\\udcffb'", "'x' * 255",
    "'x' * 256",
    "b''", "b'a'", "b'abc'", "b'\\x00\\xff\\x80'", "b'z' * 255", "b'z' * 256",
    "bytearray()", "bytearray(b'ab')", "bytearray(b'\\xff' * 300)",
    "[]", "[1]", "[1, 2]", "[1, 'a', None, 2.5]", "list(range(999))", "list(range(1000))",
    "list(range(1001))", "list(range(2000))", "list(range(2001))",
    "()", "(1,)", "(1, 2)", "(1, 2, 3)", "(1, 2, 3, 4)", "((), ((),))", "tuple(range(1500))",
    "{}", "{'a': 1}", "{'a': 1, 'b': [2]}", "{1: 'x', (1, 2): None, 'k': {}}",
    "{i: i for i in range(1000)}", "{i: i for i in range(1001)}", "{i: -i for i in range(2500)}",
    "set()", "{1}", "{1, 2, 3}", "set(range(1000))", "set(range(1001))", "set(range(2345))",
    "frozenset()", "frozenset({1})", "frozenset({1, 2, 3})", "frozenset(range(1500))",
    "float", "int", "sum", "[float, int, float]", "[float, sum, float]", "[None, 2.25, 'junk', float]",
    "['a', 2.5, None, int, sum]", "[str, bytes, bytearray, set, frozenset, range, object]",
    "(lambda x: [x, x])([1])", "(lambda x: [x, x, (x,)])({'k': 'v'})",
    "(lambda t: [{'k': t}, {'k': t}])((1, 2))", "(lambda s: [s, s])('shared string')",
    "(lambda b: [b, b])(b'shared bytes')", "(lambda a: (a.append(a), a)[1])([])",
    "(lambda d: (d.__setitem__('self', d), d)[1])({})",
    "(lambda l: (l.append(l), (l,))[1])([])",
    "(lambda l: (l.append((l,)), l)[1])([])",
    "(lambda t: (t[0].append(t), t)[1])(([],))",
    "[b'abc', b'\\xff', b'abc']", "[bytearray(b'x'), set(), frozenset(), b'']",
    "['x' * 50 + str(i) for i in range(100)]", "['y' * 1000] * 100",
    "[[i] for i in range(300)]", "[(i, str(i)) for i in range(300)]",
    "{str(i): [i, float(i)] for i in range(300)}",
    # Objects (REDUCE / NEWOBJ / BUILD / items on objects).
    "datetime.datetime(2024, 1, 2, 3, 4, 5, 7)", "datetime.date(2024, 1, 2)",
    "datetime.timedelta(days=1, seconds=2)", "decimal.Decimal('1.5')", "complex(1.5, 2)",
    "collections.OrderedDict([('a', 1)])", "collections.OrderedDict([(i, i) for i in range(1001)])",
    "collections.deque(range(2001))", "argparse.Namespace(a=1, b=[2])", "range(1, 10, 2)",
    "slice(1, 2, None)", "[datetime.date(2024, 1, 2)] * 2",
    "collections.defaultdict(list, {'k': [1]})", "ValueError('bad', 3)",
    # tests/serde_typed.rs: the dict `to_value` makes of its `Job` struct (field order).
    "{'id': 7, 'name': 'job', 'tags': ['red', 'blue'], 'ratio': 0.5, 'parent': None, "
    "'payload': b'\\x00\\x01', 'point': (1, -2), 'kind': 'Fast', 'big': 2**64, "
    "'mode': {'Retry': 3}}",
]

# Values big enough to cross the 64 KiB frame target: only protocols 4 and 5 frame, so
# only those are recorded (keeps the fixtures small).
FRAMING = [
    "list(range(25000))", "'x' * 66000", "b'z' * 66000", "bytearray(b'\\xff' * 66000)",
    "[b'x' * 66000, 1, 'y' * 66000, 2]", "['s' * 40000, 's' * 40001]",
    "_crossing_list(2589)", "_crossing_list(2590)", "_crossing_list(2591)",
    "[[i] for i in range(12000)]", "{i: (i, -i) for i in range(5500)}",
]


class Node:
    """One object of the symbolic unpickler (identity = Python identity of the Node)."""

    __slots__ = ("kind", "data", "extra", "jid", "aid", "out")

    def __init__(self, kind, data=None, extra=None):
        self.kind = kind
        self.data = data
        self.extra = extra
        self.jid = None
        self.aid = None
        self.out = None


MARK = object()


def _global(module, name, proto):
    if proto < 3:
        key = (module, name)
        if key in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[key]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
    return module, name


def _gname(node):
    if node.kind == "global":
        return (node.data[0].data.decode("utf-8", "surrogatepass"),
                node.data[1].data.decode("utf-8", "surrogatepass"))
    return None


def symbolic_loads(data):
    """Reads CPython's pickle opcode by opcode into Nodes, keeping the memo's sharing."""
    stack, marks, memo, proto = [], [], {}, 0

    def pop_mark():
        i = marks.pop()
        items = stack[i + 1:]
        del stack[i:]
        return items

    def s(text):
        return Node("str", text.encode("utf-8", "surrogatepass"))

    for op, arg, pos in pickletools.genops(data):
        n = op.name
        if n == "PROTO":
            proto = arg
        elif n in ("FRAME", "STOP"):
            pass
        elif n == "NONE":
            stack.append(Node("none"))
        elif n in ("NEWTRUE", "NEWFALSE"):
            stack.append(Node("bool", n == "NEWTRUE"))
        elif n in ("BININT", "BININT1", "BININT2", "LONG1", "LONG4"):
            stack.append(Node("int", arg))
        elif n == "BINFLOAT":
            stack.append(Node("float", arg))
        elif n in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8"):
            stack.append(s(arg))
        elif n in ("SHORT_BINBYTES", "BINBYTES", "BINBYTES8"):
            stack.append(Node("bytes", arg))
        elif n == "BYTEARRAY8":
            stack.append(Node("bytearray", bytes(arg)))
        elif n == "EMPTY_LIST":
            stack.append(Node("list", []))
        elif n == "EMPTY_DICT":
            stack.append(Node("dict", []))
        elif n == "EMPTY_SET":
            stack.append(Node("set", []))
        elif n == "EMPTY_TUPLE":
            stack.append(Node("tuple", []))
        elif n == "MARK":
            marks.append(len(stack))
            stack.append(MARK)
        elif n == "APPEND":
            v = stack.pop()
            _items_of(stack[-1]).append(v)
        elif n == "APPENDS":
            items = pop_mark()
            _items_of(stack[-1]).extend(items)
        elif n == "SETITEM":
            v = stack.pop()
            k = stack.pop()
            _pairs_of(stack[-1]).append([k, v])
        elif n == "SETITEMS":
            items = pop_mark()
            _pairs_of(stack[-1]).extend([items[i], items[i + 1]] for i in range(0, len(items), 2))
        elif n == "ADDITEMS":
            items = pop_mark()
            stack[-1].data.extend(items)
        elif n == "FROZENSET":
            stack.append(Node("frozenset", pop_mark()))
        elif n == "TUPLE":
            stack.append(Node("tuple", pop_mark()))
        elif n in ("TUPLE1", "TUPLE2", "TUPLE3"):
            k = int(n[-1])
            items = stack[-k:]
            del stack[-k:]
            stack.append(Node("tuple", items))
        elif n == "MEMOIZE":
            memo[len(memo)] = stack[-1]
        elif n in ("BINPUT", "LONG_BINPUT"):
            memo[arg] = stack[-1]
        elif n in ("BINGET", "LONG_BINGET"):
            stack.append(memo[arg])
        elif n == "POP":
            stack.pop()
        elif n == "POP_MARK":
            pop_mark()
        elif n == "GLOBAL":
            module, name = _global(*arg.split(" ", 1), proto)
            stack.append(Node("global", [s(module), s(name)]))
        elif n == "STACK_GLOBAL":
            name = stack.pop()
            module = stack.pop()
            stack.append(Node("global", [module, name]))
        elif n == "REDUCE":
            args = stack.pop()
            func = stack.pop()
            stack.append(_reduce(func, args))
        elif n == "NEWOBJ":
            args = stack.pop()
            cls = stack.pop()
            stack.append(Node("object", ["NewObj", cls, args.data, None, None, [], []]))
        elif n == "NEWOBJ_EX":
            kwargs = stack.pop()
            args = stack.pop()
            cls = stack.pop()
            stack.append(Node("object", ["NewObjEx", cls, args.data, kwargs, None, [], []]))
        elif n == "BUILD":
            state = stack.pop()
            stack[-1].data[4] = state
        else:
            raise ValueError("opcode %s not handled by the recorder" % n)
    assert len(stack) == 1, stack
    return stack[0]


def _items_of(node):
    return node.data if node.kind == "list" else node.data[5]


def _pairs_of(node):
    return node.data if node.kind == "dict" else node.data[6]


def _reduce(func, args):
    g = _gname(func)
    a = args.data
    if g == ("_codecs", "encode") and len(a) == 2 and a[0].kind == "str":
        return Node("bytes", a[0].data.decode("utf-8").encode("latin-1"))
    if g == ("builtins", "bytes") and not a:
        return Node("bytes", b"")
    if g == ("builtins", "bytearray") and not a:
        return Node("bytearray", b"")
    if g == ("builtins", "bytearray") and len(a) == 1 and a[0].kind == "bytes":
        return Node("bytearray", a[0].data)
    if g in (("builtins", "set"), ("builtins", "frozenset")) and len(a) == 1 and a[0].kind == "list":
        return Node(g[1], list(a[0].data))
    return Node("object", ["Reduce", func, a, None, None, [], []])


def describe(node, path, counter):
    """The JSON form of `node`; a node met again while it is on `path` becomes an anchor."""
    if node.kind == "none":
        return ["none"]
    if node.kind == "bool":
        return ["bool", node.data]
    if node.kind == "int":
        return node.data if abs(node.data) < 2**53 else ["int", str(node.data)]
    if node.kind == "float":
        return ["float", struct.pack(">d", node.data).hex()]
    if node in path:
        if node.aid is None:
            node.aid = counter[1]
            counter[1] += 1
        return ["aref", node.aid]
    if node.jid is not None:
        return ["ref", node.jid]
    node.jid = counter[0]
    counter[0] += 1
    jid = node.jid
    k = node.kind
    if k == "str":
        try:
            text = node.data.decode("utf-8")
            out = [k, jid, text] if len(set(text)) != 1 or len(text) < 32 else [
                "strrep", jid, text[0], len(text)]
        except UnicodeDecodeError:
            out = ["strx", jid, node.data.hex()]
    elif k in ("bytes", "bytearray"):
        out = [k, jid, packed_hex(node.data)]
    else:
        path.add(node)
        d = lambda x: describe(x, path, counter)
        if k in ("list", "tuple", "set", "frozenset"):
            out = [k, jid, [d(x) for x in node.data]]
        elif k == "dict":
            out = [k, jid, [[d(kk), d(v)] for kk, v in node.data]]
        elif k == "global":
            out = [k, jid, d(node.data[0]), d(node.data[1])]
        elif k == "object":
            c, func, args, kwargs, state, litems, ditems = node.data
            out = [k, jid, c, d(func), [d(x) for x in args],
                   None if kwargs is None else d(kwargs),
                   None if state is None else d(state),
                   [d(x) for x in litems], [[d(kk), d(v)] for kk, v in ditems]]
        else:
            raise ValueError(k)
        path.discard(node)
    if node.aid is not None:
        out = ["anchor", node.aid, out]
    return out


def packed_hex(data):
    """Hex, with each run of 32 or more equal bytes written as "(XX*N)"."""
    out, i, n = [], 0, len(data)
    while i < n:
        j = i
        while j < n and data[j] == data[i]:
            j += 1
        if j - i >= 32:
            out.append("(%02x*%d)" % (data[i], j - i))
        else:
            out.append(data[i:j].hex())
        i = j
    return "".join(out)


def main():
    ver = "%d.%d" % sys.version_info[:2]
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = os.path.join(here, "..", "fixtures", "dumps")
    os.makedirs(out_dir, exist_ok=True)
    records = []
    jobs = [(lit, (2, 3, 4, 5)) for lit in CATALOGUE] + [(lit, (4, 5)) for lit in FRAMING]
    for literal, protocols in jobs:
        value = eval(literal)
        for proto in protocols:
            data = pickle.dumps(value, proto)
            desc = describe(symbolic_loads(data), set(), [0, 0])
            records.append({"literal": literal, "protocol": proto, "pickle": packed_hex(data),
                            "value": desc})
    path = os.path.join(out_dir, ver + ".json")
    with open(path, "w") as f:
        # One record a line, so that re-recording gives readable diffs.
        f.write('{"python": %s, "records": [\n' % json.dumps(sys.version.split()[0]))
        f.write(",\n".join(json.dumps(r, separators=(",", ":")) for r in records))
        f.write("\n]}\n")
    print("wrote %d records to %s" % (len(records), path))


if __name__ == "__main__":
    main()
