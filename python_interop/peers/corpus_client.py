"""Holds a Rust round-trip peer to CPython's verdict on a corpus of valid and invalid pickles.

    python corpus_client.py ADDRESS CORPUS [--authkey KEY]

CORPUS is fixtures/corpus/pickles.bin (see python_interop/gen_corpus.py). For every pickle,
this interpreter decides first (``pickle.loads``); then the pickle goes to the peer
(``interop_peer roundtrip-serve``: decode into mpconn's Value, encode again), all over one
connection, which must stay usable throughout:

* a pickle CPython loads must come back as a pickle that loads into an equal object
  (``catalogue.same``: types, values, shared references);
* a pickle CPython refuses must be refused by the peer, or come back as a pickle CPython
  refuses too (what a decoder that imports and runs nothing cannot tell: a missing module,
  a call that raises, a NEWOBJ whose class is not a type).

Prints ``FAIL <name> <why>`` per failure, then
``SUMMARY <valid> valid <identical> identical <invalid> invalid <refused> refused <failed> failed``.
"""

import argparse
import os
import pickle
import struct
import sys
import warnings
from multiprocessing.connection import Client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))  # python_interop/: catalogue.same
from _common import ERROR_PREFIX, authkey_arg, parse_address, say  # noqa: E402
import catalogue  # noqa: E402


def records(path):
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos < len(data):
        (n,) = struct.unpack_from(">H", data, pos)
        name = data[pos + 2 : pos + 2 + n].decode()
        pos += 2 + n
        (m,) = struct.unpack_from(">I", data, pos)
        yield name, data[pos + 4 : pos + 4 + m]
        pos += 4 + m


def verdict(data):
    """(True, object) or (False, exception type name)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return True, pickle.loads(data)
    except Exception as exc:  # CPython's verdict is what is recorded
        return False, type(exc).__name__


def equal(a, b):
    try:
        why = catalogue.same(a, b)
    except RecursionError:  # nested deeper than same() recurses: compare pickles below
        why = "nested too deeply to compare item by item"
    if why is None:
        return None
    # Objects without __eq__ (the test suite's classes): equal when they pickle alike.
    try:
        if pickle.dumps(a, 4) == pickle.dumps(b, 4):
            return None
    except Exception:  # unpicklable: keep the first answer
        pass
    return why


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("address")
    parser.add_argument("corpus")
    parser.add_argument("--authkey")
    args = parser.parse_args()
    valid = identical = invalid = refused = failed = 0
    with Client(parse_address(args.address), authkey=authkey_arg(args.authkey)) as conn:
        for name, data in records(args.corpus):
            ok, original = verdict(data)
            conn.send_bytes(data)
            reply = conn.recv_bytes()
            is_error = reply.startswith(ERROR_PREFIX)
            why = None
            if ok:
                valid += 1
                if is_error:
                    why = "CPython loads it, the peer refused: %s" % reply[len(ERROR_PREFIX):].decode("utf-8", "replace")
                elif reply == data:
                    identical += 1
                else:
                    back_ok, back = verdict(reply)
                    if not back_ok:
                        why = "the re-encoding does not load: %s" % back
                    else:
                        why = equal(original, back)
            else:
                invalid += 1
                if is_error:
                    refused += 1
                else:
                    back_ok, back = verdict(reply)
                    # Refused again; the exception may differ (a class check the peer,
                    # which imports nothing, cannot make: NEWOBJ_EX of `len`).
                    if back_ok:
                        why = "CPython refuses it (%s), the re-encoding loads" % original
            if why:
                failed += 1
                say("FAIL", name, why.replace("\n", " ")[:300])
    say("SUMMARY", valid, "valid", identical, "identical", invalid, "invalid", refused, "refused", failed, "failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
