"""Times CPython's pickle.loads / pickle.dumps (the C accelerator) on the benchmark payloads.

Usage: PYTHON bench/codec_py.py PAYLOAD_DIR OUT.json
Writes {payload: {"bytes": n, "loads_s": median seconds, "dumps_s": median seconds}}.
"""
import json
import os
import pickle
import statistics
import sys
import threading
import time


def median_time(fn, budget=3.0, min_runs=5, max_runs=50):
    times = []
    start = time.perf_counter()
    while len(times) < max_runs and (len(times) < min_runs or time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(src, out):
    results = {}
    for fname in sorted(os.listdir(src)):
        if not fname.endswith(".pickle"):
            continue
        name = fname[: -len(".pickle")]
        data = open(os.path.join(src, fname), "rb").read()
        obj = pickle.loads(data)
        results[name] = {
            "bytes": len(data),
            "loads_s": median_time(lambda: pickle.loads(data)),
            "dumps_s": median_time(lambda: pickle.dumps(obj, protocol=4)),
        }
        del obj
    with open(out, "w") as f:
        json.dump({"python": sys.version.split()[0], "results": results, "lookup_s": lookups()}, f, indent=1)


def lookups():
    """10 000 lookups by key in a 100 000-entry dict (int keys, then str keys), as
    benches/codec.rs times `Value::get` / `Value::get_str`."""
    n = 100_000
    ints = {i: i for i in range(n)}
    strs = {"key%d" % i: i for i in range(n)}
    keys = [(i * 7919) % n for i in range(10_000)]
    skeys = ["key%d" % k for k in keys]
    return {
        "int": median_time(lambda: sum(1 for k in keys if ints.get(k) is not None)),
        "str": median_time(lambda: sum(1 for k in skeys if strs.get(k) is not None)),
    }


def main():
    # deep_100k needs deep recursion in the pickler: give it a big stack.
    sys.setrecursionlimit(1_000_000)
    threading.stack_size(512 * 1024 * 1024)
    t = threading.Thread(target=run, args=(sys.argv[1], sys.argv[2]))
    t.start()
    t.join()


if __name__ == "__main__":
    main()
