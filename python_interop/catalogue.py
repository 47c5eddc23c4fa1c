"""A catalogue of Python values for the pickle round trip through a Rust peer.

``catalogue()`` returns fresh ``(name, value)`` pairs (fresh, because some values are
cyclic or share references); ``same(a, b)`` is the check the round trip must pass: equal
(nan-aware, -0.0-aware), same types all the way down, and the same identity structure
(an object reached twice in ``a`` is reached twice, as one object, in ``b``; cycles too).

Stdlib only: runs under every interpreter of the harness (3.11 to 3.15). Classes defined
here pickle as ``catalogue.<name>``, so the module must be importable as ``catalogue``.
"""

import collections
import datetime
import decimal
import fractions
import math

Pair = collections.namedtuple("Pair", "left right")


class Point:
    """A plain user class: pickled as NEWOBJ + BUILD with its ``__dict__``."""

    def __init__(self, x=0, y=0):
        self.x = x
        self.y = y

    def __eq__(self, other):
        return type(other) is type(self) and vars(self) == vars(other)

    def __repr__(self):
        return "Point(%r)" % (vars(self),)


class Slotted:
    """A class with ``__slots__``: its state is a ``(None, slots)`` pair."""

    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a = a
        self.b = b

    def __eq__(self, other):
        return type(other) is type(self) and (self.a, self.b) == (other.a, other.b)

    def __repr__(self):
        return "Slotted(%r, %r)" % (self.a, self.b)


class Tagged(list):
    """A list subclass with an attribute: APPENDS and BUILD on a NEWOBJ."""

    def __eq__(self, other):
        return type(other) is type(self) and list(self) == list(other) and vars(self) == vars(other)

    __hash__ = None


class Registry(dict):
    """A dict subclass: SETITEMS on a NEWOBJ."""


def catalogue(protocol=4):
    """Fresh ``(name, value)`` pairs (about 90) that pickle under ``protocol``."""
    shared_list = [1, 2]
    shared_tuple = (3, "t")
    shared_str = "shared" * 3
    cyc_list = []
    cyc_list.append(cyc_list)
    cyc_dict = {}
    cyc_dict["self"] = cyc_dict
    cyc_inner = []
    cyc_tuple = (cyc_inner, 1)
    cyc_inner.append(cyc_tuple)
    point_cycle = Point(1, None)
    point_cycle.y = point_cycle
    deep = []
    node = deep
    for _ in range(200):
        child = []
        node.append(child)
        node = child
    tagged = Tagged([1, 2, 3])
    tagged.tag = "t"
    registry = Registry(a=1, b=[2])
    mutual_a, mutual_b = [], []
    mutual_a.append(mutual_b)
    mutual_b.append(mutual_a)
    shared_set = {1, 2}
    shared_point = Point("p", "q")

    items = [
        ("none", None),
        ("true", True),
        ("false", False),
        ("int_0", 0),
        ("int_1", 1),
        ("int_neg1", -1),
        ("int_255", 255),
        ("int_256", 256),
        ("int_65536", 65536),
        ("int_i32_max", 2**31 - 1),
        ("int_i32_min", -(2**31)),
        ("int_i64_max", 2**63 - 1),
        ("int_i64_min", -(2**63)),
        ("int_2_64", 2**64),
        ("int_neg_big", -(2**100) + 7),
        ("int_huge", 10**300),
        ("float_0", 0.0),
        ("float_neg0", -0.0),
        ("float_1_5", 1.5),
        ("float_big", 1e300),
        ("float_tiny", 5e-324),
        ("float_inf", math.inf),
        ("float_neginf", -math.inf),
        ("float_nan", math.nan),
        ("str_empty", ""),
        ("str_ascii", "hello"),
        ("str_unicode", "é€😀\u0000\n\\"),
        ("str_lone_high", "\ud800"),
        ("str_lone_low_mid", "a\udfffb"),
        ("str_256", "x" * 256),
        ("str_long", "long-" * 20000),
        ("bytes_empty", b""),
        ("bytes_all", bytes(range(256))),
        ("bytes_long", b"\x00\xff" * 40000),
        ("bytearray", bytearray(b"ba\x00")),
        ("bytearray_empty", bytearray()),
        ("list_empty", []),
        ("list_nested", [1, [2, [3, []]], "x"]),
        ("list_long", list(range(2500))),
        ("tuple_0", ()),
        ("tuple_1", (1,)),
        ("tuple_2", (1, "b")),
        ("tuple_3", (1, 2.0, None)),
        ("tuple_4", (1, 2, 3, (4,))),
        ("dict_empty", {}),
        ("dict_mixed_keys", {"a": 1, 2: "b", (1, 2): None, None: [], frozenset({1}): 0, 1.5: b"f"}),
        ("dict_long", {i: str(i) for i in range(1500)}),
        ("set_empty", set()),
        ("set", {1, "a", (2, 3)}),
        ("set_long", set(range(1200))),
        ("frozenset_empty", frozenset()),
        ("frozenset", frozenset({"x", 2})),
        ("global_float", float),
        ("global_sum", sum),
        ("global_int", int),
        ("seed_example_1", [2.25, None, "junk", float]),
        ("seed_example_2", ["a", 2.5, None, int, sum]),
        ("ellipsis", Ellipsis),
        ("datetime", datetime.datetime(2024, 2, 29, 23, 59, 58, 123456)),
        ("datetime_utc", datetime.datetime(2001, 1, 1, tzinfo=datetime.timezone.utc)),
        ("date", datetime.date(1999, 12, 31)),
        ("time", datetime.time(12, 30, 1)),
        ("timedelta", datetime.timedelta(days=-3, seconds=5, microseconds=7)),
        ("decimal", decimal.Decimal("1.10")),
        ("decimal_neg_exp", decimal.Decimal("-1E-30")),
        ("fraction", fractions.Fraction(3, 7)),
        ("complex", complex(1.5, -2)),
        ("ordered_dict", collections.OrderedDict([("z", 1), ("a", 2)])),
        ("counter", collections.Counter("abracadabra")),
        ("deque", collections.deque([1, 2, 3])),
        ("namedtuple", Pair(1, "r")),
        ("range", range(1, 10, 3)),
        ("slice", slice(1, None, 2)),
        ("exception", ValueError("boom", 2)),
        ("user_point", Point(1, [2])),
        ("user_slotted", Slotted(1, "two")),
        ("list_subclass", tagged),
        ("dict_subclass", registry),
        ("shared_list", [shared_list, shared_list, {"again": shared_list}]),
        ("shared_tuple", [{"k": shared_tuple}, {"k": shared_tuple}]),
        ("shared_str", [shared_str, shared_str]),
        ("shared_set", (shared_set, [shared_set])),
        ("shared_object", [shared_point, shared_point]),
        ("cycle_list", cyc_list),
        ("cycle_dict", cyc_dict),
        ("cycle_through_tuple", cyc_tuple),
        ("cycle_object", point_cycle),
        ("cycle_mutual", [mutual_a, mutual_b]),
        ("deep_200", deep),
    ]
    if protocol < 2:
        # A class with __slots__ and no __getstate__ pickles from protocol 2 on only.
        items = [(name, value) for name, value in items if name != "user_slotted"]
    return items


# Kinds whose identity the round trip must keep (atoms such as small ints or interned
# strings may or may not be shared, as in CPython itself).
_IDENTITY_ATOMS = (type(None), bool, int, float, complex, str, bytes, type, range, slice, decimal.Decimal)


def same(a, b, path="value", pairs=None):
    """Returns None when ``b`` is an exact copy of ``a``, else a description of the first difference."""
    if pairs is None:
        pairs = {}
    if type(a) is not type(b):
        return "%s: type %s became %s" % (path, type(a).__name__, type(b).__name__)
    if not isinstance(a, _IDENTITY_ATOMS) and not (isinstance(a, tuple) and not a):
        seen = pairs.get(id(a))
        if seen is not None:
            if seen[1] is not b:
                return "%s: a shared reference came back as two objects" % path
            return None
        pairs[id(a)] = (a, b)
        # `b` must not be the image of another object of `a` either.
        images = pairs.setdefault("images", {})
        if id(b) in images and images[id(b)] is not a:
            return "%s: two distinct objects came back as one" % path
        images[id(b)] = a
    if isinstance(a, float):
        if math.isnan(a):
            return None if math.isnan(b) else "%s: nan became %r" % (path, b)
        if a != b or math.copysign(1.0, a) != math.copysign(1.0, b):
            return "%s: %r became %r" % (path, a, b)
        return None
    if isinstance(a, decimal.Decimal):
        return None if (a.is_nan() and b.is_nan()) or str(a) == str(b) else "%s: %r became %r" % (path, a, b)
    if isinstance(a, (list, tuple, collections.deque)):
        if len(a) != len(b):
            return "%s: length %d became %d" % (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            diff = same(x, y, "%s[%d]" % (path, i), pairs)
            if diff:
                return diff
        return _same_attrs(a, b, path, pairs)
    if isinstance(a, dict):
        if len(a) != len(b):
            return "%s: %d keys became %d" % (path, len(a), len(b))
        for (ka, va), (kb, vb) in zip(a.items(), b.items()):
            diff = same(ka, kb, "%s key %r" % (path, ka), pairs) or same(va, vb, "%s[%r]" % (path, ka), pairs)
            if diff:
                return diff
        return _same_attrs(a, b, path, pairs)
    if isinstance(a, (set, frozenset)):
        return None if a == b else "%s: %r became %r" % (path, a, b)
    if isinstance(a, BaseException):
        return same(a.args, b.args, path + ".args", pairs) or _same_attrs(a, b, path, pairs)
    if isinstance(a, (Point, Slotted)):
        if isinstance(a, Slotted):
            return same((a.a, a.b), (b.a, b.b), path + ".slots", pairs)
        return _same_attrs(a, b, path, pairs)
    return None if a == b else "%s: %r became %r" % (path, a, b)


def _same_attrs(a, b, path, pairs):
    da = getattr(a, "__dict__", None)
    db = getattr(b, "__dict__", None)
    if da is None and db is None:
        return None
    if da is None or db is None:
        return "%s: attributes %r became %r" % (path, da, db)
    if sorted(da) != sorted(db):
        return "%s: attributes %r became %r" % (path, sorted(da), sorted(db))
    for key in da:
        diff = same(da[key], db[key], "%s.%s" % (path, key), pairs)
        if diff:
            return diff
    return None
