"""Writes the codec benchmark payloads, pickled by the running CPython, into a folder.

Usage: python3 bench/payloads.py OUTDIR
Each payload is written as NAME.pickle (protocol 4, what 3.8-3.13 send by default).
"""
import os
import pickle
import sys


def dicts():
    # 10k small dicts with shared keys and one shared tuple, as a typical RPC batch.
    t = (1, 2, 3)
    return [{"id": i, "name": "item%d" % i, "price": i * 0.5, "tags": t} for i in range(10_000)]


def ints():
    return list(range(-500_000, 500_000))


def big_bytes():
    return os.urandom(1 << 20) * 100  # 100 MiB


def strings():
    return ["line %d: the quick brown fox jumps over the lazy dog \u00e9\u4e2d" % i for i in range(100_000)]


def deep_pickle(depth):
    # [[[...]]] nested `depth` levels, written opcode by opcode: CPython's pickler would
    # need a huge recursion limit to write it, its unpickler reads it without recursion.
    body = b"]" * depth + b"a" * (depth - 1)
    return b"\x80\x04" + body + b"."


PAYLOADS = {
    "dicts_10k": dicts,
    "ints_1m": ints,
    "bytes_100m": big_bytes,
    "strings_100k": strings,
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, make in PAYLOADS.items():
        with open(os.path.join(out, name + ".pickle"), "wb") as f:
            f.write(pickle.dumps(make(), protocol=4))
    with open(os.path.join(out, "deep_100k.pickle"), "wb") as f:
        f.write(deep_pickle(100_000))


if __name__ == "__main__":
    main()
