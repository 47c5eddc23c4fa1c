"""Reads pairs of pickles on stdin and checks that CPython loads each pair the same way.

    python3 python_interop/loads_same.py < pairs

Used by tests/pickle_effects_proptest.rs. Each record is a 4-byte big-endian length and
the original pickle, then a 4-byte length and mpconn's re-encoding (length 0xffffffff:
mpconn refused the original). For each pair: when CPython loads the original, the
re-encoding must load into an equal object (``catalogue.same``: types, values, attributes,
shared references); when CPython refuses the original, the re-encoding, if any, must be
refused too. Prints ``MISMATCH <index> <why>`` per failure, then
``SUMMARY <pairs> <loaded> <refused_by_mpconn> <mismatches>``.
"""

import os
import pickle
import struct
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import catalogue  # noqa: E402


def load(data):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return True, pickle.loads(data)
    except Exception as exc:  # CPython's verdict is what is compared
        return False, "%s: %s" % (type(exc).__name__, exc)


def read_exact(stream, n):
    data = stream.read(n)
    if len(data) != n:
        raise EOFError
    return data


def main():
    stream = sys.stdin.buffer
    pairs = loaded = refused = mismatches = 0
    while True:
        try:
            (n,) = struct.unpack(">I", read_exact(stream, 4))
        except EOFError:
            break
        original = read_exact(stream, n)
        (m,) = struct.unpack(">I", read_exact(stream, 4))
        again = None if m == 0xFFFFFFFF else read_exact(stream, m)
        ok, a = load(original)
        loaded += ok
        why = None
        if again is None:
            refused += 1
        else:
            back_ok, b = load(again)
            if ok and not back_ok:
                why = "the re-encoding does not load: %s" % b
            elif ok:
                try:
                    why = catalogue.same(a, b)
                except RecursionError:
                    why = None if repr(a) == repr(b) else "%r became %r" % (a, b)
            elif back_ok:
                why = "CPython refuses the original (%s), the re-encoding loads as %r" % (a, b)
        if why:
            mismatches += 1
            print("MISMATCH", pairs, original.hex(), why.replace("\n", " ")[:300], flush=True)
        pairs += 1
    print("SUMMARY", pairs, loaded, refused, mismatches, flush=True)


if __name__ == "__main__":
    main()
