"""Small classes the pickle fixtures refer to by name (module ``fixture_types``).

gen_fixtures.py imports this module; pickles of these values carry
``fixture_types.<Name>`` globals, which the Rust decoder keeps as ``Global`` values.
"""

import collections
import enum

Point = collections.namedtuple("Point", "x y")


class Plain:
    """A plain class: pickled with NEWOBJ/copyreg + BUILD of its ``__dict__``."""

    def __init__(self, a=1, b="two"):
        self.a = a
        self.b = b

    def __eq__(self, other):
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __repr__(self):
        return f"Plain(a={self.a!r}, b={'<self>' if self.b is self else repr(self.b)})"


class Slotted:
    """A class with ``__slots__``: BUILD state is ``(None, {slot: value})``."""

    __slots__ = ("x", "y")

    def __init__(self, x=1, y=2):
        self.x = x
        self.y = y

    def __eq__(self, other):
        return type(self) is type(other) and (self.x, self.y) == (other.x, other.y)

    def __repr__(self):
        return f"Slotted(x={self.x!r}, y={self.y!r})"


class Reduced:
    """A class with its own ``__reduce__`` (REDUCE of a module-level function)."""

    def __init__(self, n):
        self.n = n

    def __reduce__(self):
        return (make_reduced, (self.n,))

    def __eq__(self, other):
        return type(self) is type(other) and self.n == other.n

    def __repr__(self):
        return f"Reduced({self.n!r})"


def make_reduced(n):
    """Rebuilds a ``Reduced`` (the callable its ``__reduce__`` names)."""
    return Reduced(n)


class KwOnly:
    """A class whose ``__new__`` takes keyword-only arguments: NEWOBJ_EX at protocol 4+."""

    def __new__(cls, *, key):
        self = super().__new__(cls)
        self.key = key
        return self

    def __getnewargs_ex__(self):
        return ((), {"key": self.key})

    def __getstate__(self):
        return None

    def __eq__(self, other):
        return type(self) is type(other) and self.key == other.key

    def __repr__(self):
        return f"KwOnly(key={self.key!r})"


class ListSub(list):
    """A list subclass: APPENDS onto an object."""


class DictSub(dict):
    """A dict subclass: SETITEMS onto an object."""


class Color(enum.Enum):
    """An enum (members pickle as REDUCE of the class with the value)."""

    RED = 1
    GREEN = "green"
