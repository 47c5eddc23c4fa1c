"""Writes fixtures/corpus/pickles.bin: valid and invalid pickles collected from CPython itself.

    python3 python_interop/gen_corpus.py [OUT]      # CPython 3.11 with its `test` package

Sources (no pickle here is written by mpconn):

* every pickle CPython's own test suite (``test.pickletester``) feeds to ``pickle.loads`` or
  writes with ``pickle.dumps`` (protocols 0-5), valid and invalid, under 20 000 bytes;
* every prefix of a few of those (truncated pickles), and the same pickles with bytes after
  STOP (which ``pickle.loads`` ignores);
* a few hand-written ones (the examples of issue 14, structural errors).

Whether a pickle is valid is *not* recorded: the test (``test_corpus.py``) asks each
interpreter of the matrix at run time. File format: records of a 2-byte big-endian name
length, the UTF-8 name, a 4-byte big-endian data length and the data.
"""

import hashlib
import os
import pickle
import struct
import sys
import unittest

from test import pickletester as pt

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "fixtures", "corpus", "pickles.bin")
MAX_SIZE = 20000

HANDWRITTEN = [
    ("issue14-bytes-after-stop", b"((Kdtp0\nh\x00l.))"),
    ("call-none", b"N)R."),
    ("call-int", b"K\x01)R."),
    ("newobj-of-list", b"\x80\x02]\x94)\x81."),
    ("stop-on-empty-stack", b"."),
    ("stop-above-mark", b"(."),
    ("pop-empty", b"0."),
    ("pop-mark", b"(0N."),
    ("two-values", b"K\x01K\x02."),
    ("open-marks", b"(((N."),
    ("discarded-call-nothing-below", b"\x80\x04cbuiltins\nlen\n)R0N."),
    ("discarded-call-after-value", b"\x80\x04K\x07cbuiltins\nprint\n)R0."),
    ("setitem-through-get", b"\x80\x04}\x94]\x94h\x00K\x01K\x02s0\x86."),
    ("build-twice", b"\x80\x04cbuiltins\nobject\n)\x81}\x94b}\x94b."),
    ("append-to-tuple", b"\x80\x04)K\x01a."),
    ("setitems-odd", b"\x80\x04}(K\x01u."),
    ("get-missing", b"\x80\x04h\x05."),
    ("stack-global-int", b"\x80\x04K\x01K\x02\x93."),
]


def collect():
    """Every pickle the suite loads or dumps (deduplicated, in first-seen order)."""
    seen = {}

    def add(name, data):
        if isinstance(data, (bytes, bytearray)) and len(data) < MAX_SIZE:
            seen.setdefault(bytes(data), name)

    class Unpickle(pt.AbstractUnpickleTests, unittest.TestCase):
        def loads(self, buf, **kwds):
            if not kwds:
                add(self._testMethodName, buf)
            return pickle.loads(buf, **kwds)

        def check_unpickling_error(self, errors, data):
            add(self._testMethodName, data)
            try:
                pickle.loads(data)
            except Exception:  # the suite's expected error; the test asks again
                pass

    class Pickle(pt.AbstractPickleTests, unittest.TestCase):
        def dumps(self, arg, proto=None, **kwds):
            data = pickle.dumps(arg, proto, **kwds)
            if not kwds:
                add(self._testMethodName, data)
            return data

        def loads(self, buf, **kwds):
            if not kwds:
                add(self._testMethodName, buf)
            return pickle.loads(buf, **kwds)

    for cls in (Unpickle, Pickle):
        for name in sorted(n for n in dir(cls) if n.startswith("test_")):
            if any(w in name for w in ("huge", "large", "recursion", "deep")):
                continue
            cls(name).run(unittest.TestResult())
    return [(name, data) for data, name in seen.items()]


def variants(items):
    """Truncated prefixes and trailing junk of a spread of the collected pickles."""
    out = []
    step = max(1, len(items) // 40)
    for name, data in items[::step]:
        if len(data) > 400:
            continue
        for n in range(1, len(data)):
            out.append(("%s-prefix%d" % (name, n), data[:n]))
        out.append(("%s-junk-after-stop" % name, data + b"junk\x00"))
    return out


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    items = collect()
    records = HANDWRITTEN + items + variants(items)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "wb") as f:
        for name, data in records:
            raw = name.encode()
            f.write(struct.pack(">H", len(raw)) + raw + struct.pack(">I", len(data)) + data)
    digest = hashlib.sha256(open(out, "rb").read()).hexdigest()[:16]
    print("%d pickles (%d collected) -> %s (sha256 %s)" % (len(records), len(items), out, digest))


if __name__ == "__main__":
    main()
