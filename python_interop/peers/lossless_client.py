"""Code shipped by value (cloudpickle, dill) through a Rust peer that decodes and re-encodes it.

    python lossless_client.py relay ADDRESS DIR [--authkey KEY] [--only NAME,...]
    python lossless_client.py check DIR
    python lossless_client.py record DIR

``relay`` pickles every case below with each variant (cloudpickle protocols 4 and 5, dill
with its defaults and with ``recurse=True``), sends each pickle to the peer
(``interop_peer roundtrip-serve``: decode into mpconn's Value, encode again with the same
protocol), and writes the original, the reply and what each case's probe returns on the
original object into DIR. It prints ``RELAY <case> <variant> identical|differs|error <why>``
per pickle and ``BYTES <variant> <identical> <total>`` per variant.

``check`` runs in a fresh interpreter (no class or function cached from the relay): it loads
every reply with the library's ``loads``, runs the case's probe (calls the function,
instantiates the class, ...) and compares with what the original gave. It prints
``CHECK <case> <variant> OK`` or ``CHECK <case> <variant> FAIL <why>``, then
``SUMMARY <ok> ok <failed> failed``; exit status 0 only when every reply behaves as the
original. The original pickles are loaded and probed too (``BASELINE`` lines), so a case
that does not survive even without the Rust hop is reported as such.

``record`` writes each case's pickles (no relay) into DIR, for fixtures/lossless/.

Every case lives in this script, so that cloudpickle and dill see ``__main__`` objects and
pickle them by value, as they do for code typed into a notebook or a script.
"""

import argparse
import dataclasses
import enum
import functools
import json
import os
import sys
import typing

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _common import ERROR_PREFIX, authkey_arg, parse_address, say  # noqa: E402

import cloudpickle  # noqa: E402
import dill  # noqa: E402

# ---------------------------------------------------------------------------- the cases

K = 10
TABLE = {"a": 1, "b": 2}


def plain(x, y=5):
    return x + y + K


def with_kwdefaults(a, *, b=3, c="c"):
    return a * b, c


def annotated(x: int, y: "typing.Optional[str]" = None) -> str:
    return "%d-%s" % (x, y)


def with_attributes(x):
    return x * with_attributes.factor


with_attributes.factor = 7
with_attributes.__doc__ = "documented"


def uses_globals(key):
    return TABLE[key] + len(TABLE)


def make_closure():
    k = 10

    def add(x):
        return x + k

    return add


def make_nested():
    def middle(a):
        def inner(b):
            return a * 100 + b

        return inner

    return middle(3)


def make_counter():
    count = [0]

    def bump():
        count[0] += 1
        return count[0]

    return bump


def factorial(n):
    return 1 if n <= 1 else n * factorial(n - 1)


def is_even(n):
    return True if n == 0 else is_odd(n - 1)


def is_odd(n):
    return False if n == 0 else is_even(n - 1)


def squares(n):
    for i in range(n):
        yield i * i


def make_local_class():
    class Local:
        cattr = 7

        def __init__(self, v):
            self.v = v

        def get(self):
            return self.v + self.cattr

        @classmethod
        def doubled(cls):
            return cls.cattr * 2

        @staticmethod
        def static():
            return "static"

        @property
        def tenfold(self):
            return self.v * 10

    return Local


def make_hierarchy():
    class Base:
        def hello(self):
            return "base"

    class Derived(Base):
        def hello(self):
            return "derived+" + super().hello()

    return Derived


class MainClass:
    """A class defined in __main__ with slots-free state and a custom __repr__."""

    label = "main"

    def __init__(self, items):
        self.items = items

    def total(self):
        return sum(self.items)

    def __repr__(self):
        return "MainClass(%r)" % (self.items,)


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a = a
        self.b = b


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0
    tags: list = dataclasses.field(default_factory=list)

    def norm1(self):
        return abs(self.x) + abs(self.y)


@dataclasses.dataclass(frozen=True)
class Frozen:
    name: str
    size: int = 1


class Color(enum.Enum):
    RED = 1
    GREEN = 2


class SelfRef:
    def __init__(self):
        self.me = self
        self.n = 3


def _lam_probe(o):
    return o(3)


def _shared_probe(o):
    return (o["a"] is o["b"], o["a"](2), o["c"])


LocalClass = make_local_class()
Derived = make_hierarchy()
double = lambda z: z * 2  # noqa: E731
shared_lambda = lambda z: z + 1  # noqa: E731


def cases():
    """(name, object, probe): the probe turns the object into comparable plain data."""
    return [
        ("function", plain, lambda o: (o(1), o(1, 2), o.__defaults__, o.__name__)),
        ("kwdefaults", with_kwdefaults, lambda o: (o(2), o(2, b=4), sorted(o.__kwdefaults__.items()))),
        ("annotations", annotated, lambda o: (o(3), o(3, "y"), sorted(o.__annotations__))),
        ("attributes", with_attributes, lambda o: (o(2), o.factor, o.__doc__)),
        ("globals", uses_globals, lambda o: (o("a"), o("b"))),
        ("lambda", double, _lam_probe),
        ("closure", make_closure(), lambda o: (o(1), o(5))),
        ("nested", make_nested(), lambda o: o(4)),
        ("closure_state", make_counter(), lambda o: (o(), o(), o())),
        ("recursive", factorial, lambda o: o(6)),
        ("mutual_recursion", is_even, lambda o: (o(10), o(7))),
        ("generator", squares, lambda o: list(o(5))),
        ("partial", functools.partial(plain, 1), lambda o: (o(), o(2), o.args)),
        ("partial_kw", functools.partial(with_kwdefaults, b=5), lambda o: (o(2), sorted(o.keywords.items()))),
        ("local_class", LocalClass, lambda o: (o(5).get(), o.doubled(), o.static(), o(2).tenfold, o.__name__)),
        ("local_instance", LocalClass(4), lambda o: (o.get(), o.tenfold, type(o).cattr, type(o).__name__)),
        ("inheritance", Derived(), lambda o: (o.hello(), [c.__name__ for c in type(o).__mro__])),
        ("main_class", MainClass, lambda o: (o([1, 2]).total(), o.label, repr(o([3])))),
        ("main_instance", MainClass([1, 2, 3]), lambda o: (o.total(), repr(o), o.label)),
        ("slots", Slotted(1, "b"), lambda o: (o.a, o.b, type(o).__slots__)),
        ("dataclass", Point, lambda o: (repr(o(1, 2)), o(3, -4).norm1(), [f.name for f in dataclasses.fields(o)])),
        ("dataclass_instance", Point(1, 2, ["t"]), lambda o: (repr(o), o.norm1(), o == type(o)(1, 2, ["t"]))),
        ("frozen_dataclass", Frozen("f", 3), lambda o: (repr(o), hash(o) == hash(type(o)("f", 3)))),
        ("enum", Color.GREEN, lambda o: (o.name, o.value, [m.name for m in type(o)])),
        ("self_reference", SelfRef(), lambda o: (o.me is o, o.n)),
        ("shared", {"a": shared_lambda, "b": shared_lambda, "c": [1, 2]}, _shared_probe),
        ("methods", [LocalClass(1).get, MainClass([5]).total], lambda o: [m() for m in o]),
    ]


VARIANTS = [
    ("cloudpickle-p4", "cloudpickle", lambda o: cloudpickle.dumps(o, protocol=4)),
    ("cloudpickle-p5", "cloudpickle", lambda o: cloudpickle.dumps(o, protocol=5)),
    ("dill", "dill", lambda o: dill.dumps(o)),
    ("dill-recurse", "dill", lambda o: dill.dumps(o, recurse=True)),
]
LOADS = {"cloudpickle": cloudpickle.loads, "dill": dill.loads}


def probe_text(probe, obj):
    """What the probe gives, as text (exceptions included, so they compare too)."""
    try:
        return repr(probe(obj))
    except Exception as exc:  # a probe that raises is part of the behaviour compared
        return "raised %s: %s" % (type(exc).__name__, exc)


def selected(only):
    items = cases()
    if only:
        wanted = set(only.split(","))
        items = [c for c in items if c[0] in wanted]
    return items


# ---------------------------------------------------------------------------- modes


def relay(address, out_dir, authkey, only):
    from multiprocessing.connection import Client

    os.makedirs(out_dir, exist_ok=True)
    expected = {}
    counts = {v[0]: [0, 0] for v in VARIANTS}
    for lib, dumps in (("cloudpickle", cloudpickle.dumps), ("dill", dill.dumps)):
        try:
            dumps(plain)
        except Exception as exc:  # e.g. dill 0.4.1 on 3.15: code objects lost co_lnotab
            say("UNUSABLE", lib, "%s: %s" % (type(exc).__name__, str(exc)[:100]))
    with Client(parse_address(address), authkey=authkey_arg(authkey)) as conn:
        for name, obj, probe in selected(only):
            for variant, _lib, dumps in VARIANTS:
                try:
                    data = dumps(obj)
                except Exception as exc:  # the library's own limit, not the relay's
                    say("RELAY", name, variant, "unpicklable", "%s: %s" % (type(exc).__name__, str(exc)[:100]))
                    continue
                conn.send_bytes(data)
                reply = conn.recv_bytes()
                stem = os.path.join(out_dir, "%s.%s" % (name, variant))
                with open(stem + ".pkl", "wb") as f:
                    f.write(data)
                counts[variant][1] += 1
                if reply.startswith(ERROR_PREFIX):
                    why = reply[len(ERROR_PREFIX):].decode("utf-8", "replace")
                    say("RELAY", name, variant, "error", why.replace("\n", " ")[:300])
                    continue
                with open(stem + ".relayed", "wb") as f:
                    f.write(reply)
                same = reply == data
                counts[variant][0] += same
                say("RELAY", name, variant, "identical" if same else "differs")
            # After pickling: a probe may change the object (a counter in a closure).
            expected[name] = probe_text(probe, obj)
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
    for variant, (same, total) in counts.items():
        say("BYTES", variant, same, total)


def check(out_dir):
    with open(os.path.join(out_dir, "expected.json")) as f:
        expected = json.load(f)
    probes = {name: probe for name, _obj, probe in cases()}
    ok = failed = 0
    for name in sorted(expected):
        for variant, lib, _dumps in VARIANTS:
            stem = os.path.join(out_dir, "%s.%s" % (name, variant))
            loads = LOADS[lib]
            if not os.path.exists(stem + ".pkl"):
                say("CHECK", name, variant, "SKIP", "the library cannot pickle it")
                continue
            with open(stem + ".pkl", "rb") as f:
                try:
                    original = loads(f.read())
                except Exception as exc:  # the library cannot load its own pickle
                    say("CHECK", name, variant, "SKIP", "the original does not load: %s" % type(exc).__name__)
                    continue
            baseline = probe_text(probes[name], original)
            if baseline != expected[name]:
                say("BASELINE", name, variant, "differs:", baseline[:200], "!=", expected[name][:200])
            why = None
            if not os.path.exists(stem + ".relayed"):
                why = "the peer did not re-encode it"
            else:
                with open(stem + ".relayed", "rb") as f:
                    data = f.read()
                try:
                    obj = loads(data)
                except Exception as exc:  # the relayed pickle is what is under test
                    why = "does not load: %s: %s" % (type(exc).__name__, exc)
                else:
                    got = probe_text(probes[name], obj)
                    if got != baseline:
                        why = "behaves differently: %s, original: %s" % (got[:300], baseline[:300])
            if why:
                failed += 1
                say("CHECK", name, variant, "FAIL", why.replace("\n", " "))
            else:
                ok += 1
                say("CHECK", name, variant, "OK")
    say("SUMMARY", ok, "ok", failed, "failed")
    return 0 if failed == 0 and ok > 0 else 1


def record(out_dir, only):
    os.makedirs(out_dir, exist_ok=True)
    for name, obj, _probe in selected(only):
        for variant, _lib, dumps in VARIANTS:
            try:
                data = dumps(obj)
            except Exception:  # the library's own limit (reported by relay)
                continue
            with open(os.path.join(out_dir, "%s.%s.pkl" % (name, variant)), "wb") as f:
                f.write(data)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["relay", "check", "record"])
    parser.add_argument("args", nargs="+")
    parser.add_argument("--authkey")
    parser.add_argument("--only")
    args = parser.parse_args()
    if args.mode == "relay":
        relay(args.args[0], args.args[1], args.authkey, args.only)
        return 0
    if args.mode == "record":
        record(args.args[0], args.only)
        return 0
    return check(args.args[0])


if __name__ == "__main__":
    sys.exit(main())
