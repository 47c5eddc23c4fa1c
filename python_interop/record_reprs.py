#!/usr/bin/env python3
"""Records CPython's repr of a catalogue of values into fixtures/reprs/reprs.json.

Run with CPython 3.11 (`python3 python_interop/record_reprs.py [OUT]`); tests/value_repr.rs
checks mpconn's `Display` (Python's repr) and `FromStr` (ast.literal_eval) against it.

Each entry is a flat JSON object of strings:
  {"kind": "literal", "src": <literal source>, "repr": repr(ast.literal_eval(src))}
  {"kind": "float", "bits": <16 hex digits of the IEEE double>, "repr": repr(x)}
  {"kind": "bytearray", "hex": <bytes as hex>, "repr": repr(bytearray(...))}
  {"kind": "global", "module": m, "name": n, "repr": repr(getattr(module, n))}
  {"kind": "recursive", "name": <case name known to the Rust test>, "repr": ...}
  {"kind": "error", "src": <text ast.literal_eval refuses>}
The file is written with ensure_ascii, one entry per line.
"""
import ast
import builtins
import json
import math
import os
import random
import struct
import sys

rng = random.Random(20261121)
entries = []


def lit(src):
    value = ast.literal_eval(src)
    entries.append({"kind": "literal", "src": src, "repr": repr(value)})


def float_entry(x):
    bits = struct.unpack("<Q", struct.pack("<d", x))[0]
    entries.append({"kind": "float", "bits": "%016x" % bits, "repr": repr(x)})
    if math.isfinite(x):
        lit(repr(x))


# ---- floats
specials = [0.0, -0.0, 0.1, 0.2, 0.3, 1.5, 100.0, 1e16, 1e-5, 1e-4, 1e15, 9999999999999998.0,
            1e22, 1e23, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
            0.0001, 0.00001, 123456789.123, 1 / 3, 2 / 3, math.pi, -math.e, 1e100, 1e-100,
            12345678901234567.0, 1234567890123456.7, 0.5, 2.0 ** 63, 2.0 ** 64, -2.0 ** 53,
            float("inf"), float("-inf"), float("nan")]
for x in specials:
    float_entry(x)
for _ in range(600):
    bits = rng.getrandbits(64)
    x = struct.unpack("<d", struct.pack("<Q", bits))[0]
    if math.isfinite(x):
        float_entry(x)
for _ in range(300):
    x = round(rng.uniform(-1e6, 1e6), rng.randint(0, 8)) * 10.0 ** rng.randint(-30, 30)
    float_entry(x)
for e in range(-12, 25):
    float_entry(10.0 ** e)
    float_entry(1.5 * 10.0 ** e)
for src in ["1e5", ".5", "5.", "1_000.000_1", "1E-3", "0e0", "09.5", "1e309", "-1e309",
            "1.e5", "0.000_1", "-.5", "+.5"]:
    lit(src)

# ---- ints
ints = [0, 1, -1, 7, 255, 2 ** 31, 2 ** 63 - 1, -2 ** 63, 2 ** 63, -2 ** 63 - 1, 2 ** 64,
        10 ** 40, -10 ** 40, 3 ** 200]
for i in ints:
    lit(repr(i))
for src in ["0x_ff", "0XFF", "0o777", "0b1010_1010", "1_000_000", "00", "0_0",
            "0xffffffffffffffffffffffff", "-0x8000000000000000", "+5", "- 5"]:
    lit(src)

# ---- bool, None, complex
for src in ["True", "False", "None", "1j", "2J", "1+2j", "-1-2j", "-1j", "1e16-1e-5j",
            "0.5+0j", "-0.0+1j", "(1)+2j", "1 - 2.5j", "0j", "-0j"]:
    lit(src)

# ---- strings
def str_entry(s):
    lit(repr(s))
    lit(ascii(s))


printable_ranges = []
for s in ["", "a", "it's", 'say "hi"', "both ' and \"", "back\\slash", "tab\there",
          "nl\nx\r\x00\x7f\x80\x9f\xa0\xad\xff", "\u0100\u2028\u2029\u200b\ufeff\uffff",
          "\U0001f600 emoji", "\U000e0001\U000f0000\U0010ffff", "\ud800\udfff lone",
          "caf\u00e9 \u4e2d\u6587", "\x1b[0m", " ", "\u3000 ideographic space",
          "'", '"', "'\"", "\\'"]:
    str_entry(s)
# Every boundary of the printable table, and random code points.
boundaries = set()
prev = False
for cp in range(0x110000):
    p = chr(cp).isprintable()
    if p != prev:
        boundaries.update({cp - 1, cp})
    prev = p
boundaries = sorted(b for b in boundaries if b >= 0)
for i in range(0, len(boundaries), 40):
    str_entry("".join(chr(c) for c in boundaries[i:i + 40]))
for _ in range(100):
    str_entry("".join(chr(rng.randrange(0x110000)) for _ in range(20)))
for _ in range(50):
    str_entry("".join(chr(rng.randrange(0x3000)) for _ in range(20)))
for src in ["'a' 'b'", "'a' \"b\" '''c'''", "r'\\n\\''", "R\"\\d+\"", "u'x'", "U'x'",
            "'''multi\nline'''", '"""x"y"""', "'\\x41\\101\\u0041\\U00000041'",
            "'\\a\\b\\f\\v\\0'", "'\\q'", "'line\\\ncontinued'", "'\\777'", "'\\08'",
            "b'a' b'b'", "rb'\\x'", "Br'x'", "bR'\\''", "b'\\u1234'", "b'\\777'",
            "'\\uD800'", "'\\udc80\\ud800'"]:
    lit(src)

# ---- bytes
allbytes = bytes(range(256))
for b in [b"", b"a", b"it's", b'say "hi"', b"both ' and \"", allbytes, allbytes[::-1],
          bytes(rng.getrandbits(8) for _ in range(64))]:
    lit(repr(b))
    entries.append({"kind": "bytearray", "hex": b.hex(), "repr": repr(bytearray(b))})

# ---- containers
for src in ["[]", "()", "{}", "set()", "[1, 2]", "(1,)", "(1, 2)", "[1, [2, [3, []]]]",
            "{'a': 1, 'b': [1, 2.5, None]}", "{1, 2, 3}", "{(1, 2): 'x', b'k': {}}",
            "[(), ((),), [[]]]", "1, 2", "1,", "[1,]", "{1: 2,}", "{1,}",
            "{'k': {'n': {'m': (1, 2, {3})}}}", "[True, False, None, -0.0, 1e16]",
            "[1, 'a', (2.5, None), {b'k': {1, 2}}]", "(('a', 1), ['b', 2])",
            "{'x': 1, 'x': 2}", "[\n  1,  # one\n  2,\n]", "  [1]", "\t(1, 2)",
            "{1: 'int', 1.0: 'float'}", "{True: 1, 1: 2}", "[set(), {0}]"]:
    lit(src)

# ---- globals
for n in ["float", "int", "str", "bytes", "list", "dict", "tuple", "set", "frozenset",
          "bool", "object", "type", "complex", "bytearray", "range", "slice",
          "ValueError", "Exception", "sum", "len", "min", "max", "print", "abs", "repr",
          "getattr", "isinstance"]:
    entries.append({"kind": "global", "module": "builtins", "name": n,
                    "repr": repr(getattr(builtins, n))})

# ---- recursive structures (built by name in the Rust test)
a = []
a.append(a)
entries.append({"kind": "recursive", "name": "list_self", "repr": repr(a)})
d = {}
d["self"] = d
entries.append({"kind": "recursive", "name": "dict_self", "repr": repr(d)})
b = [1]
t = (b, 2)
b.append(t)
entries.append({"kind": "recursive", "name": "tuple_in_list", "repr": repr(t)})
c = []
c.append({"k": c})
entries.append({"kind": "recursive", "name": "list_dict_list", "repr": repr(c)})

# ---- texts literal_eval refuses
for src in ["", "--1", "1+2", "1 2", "(,)", "[,]", "{1: 2, 3}", "{1, 2: 3}", "f'x'",
            "'a' b'b'", "x", "set([1])", "1__0", "1_", "09", "0b12", "0o8", "0xg",
            "1e", "'unterminated", "'a\nb'", "b'\u00e9'", "'\\x4'", "'\\U00110000'",
            "[1, 2", "(1, 2]", "{1: }", "-True", "1if 1 else 2", "{**x}", "[1][0]",
            "1 + 2j + 3", "ur'x'", "1.__str__", "-(1,)"]:
    try:
        ast.literal_eval(src)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        entries.append({"kind": "error", "src": src})
    else:
        raise SystemExit("literal_eval accepted %r" % src)

here = os.path.dirname(os.path.abspath(__file__))
path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "fixtures", "reprs", "reprs.json")
with open(path, "w") as f:
    f.write("[\n")
    f.write(",\n".join(json.dumps(e, ensure_ascii=True, sort_keys=True) for e in entries))
    f.write("\n]\n")
print("%d entries (CPython %s) -> %s" % (len(entries), sys.version.split()[0], path))
