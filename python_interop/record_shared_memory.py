#!/usr/bin/env python3
"""Records fixtures/shared_memory/<pyX.Y>.json: ShareableList blocks written by CPython.

Run from the repository root:  python3 python_interop/record_shared_memory.py
With no argument it runs itself under every interpreter of the matrix
(python_interop/pythons.py says where they are); with ``--emit DIR`` it writes the file
for the running interpreter only. tests/shared_memory.rs checks mpconn's layout against
every file.

Each file is a JSON list of cases:
  name     what the case shows
  items    repr() of the list the ShareableList was created from
  sets     [[index, repr(value)], ...] assignments made after creating it, in order
  final    repr(list(sl)) after them
  format   sl.format after them
  block    bytes(sl.shm.buf) after them, hex
"""

import json
import subprocess
import sys
from pathlib import Path

CASES = [
    ("empty", [], []),
    ("every_type", [1, 2.5, True, None, "hé", b"ab", ""], []),
    ("edges", [-1, -0.0, False, "abcdefgh", b"12345678", "x" * 20, 2**63 - 1, -(2**63)], []),
    ("non_ascii_that_fits", ["éééé", "日本", "\U0001f600", "a\x00b"], []),
    ("sixteen_byte_boundaries", ["a" * 15, "b" * 16, b"c" * 7, b"d" * 8], []),
    (
        "assignments",
        [1, "abcdefghij", None, 2.0],
        [
            [0, "'12345678'"],
            [1, "0.5"],
            [1, "'0123456789abcde'"],
            [2, "True"],
            [2, "b'xy'"],
            [3, "None"],
            [3, "-7"],
            [1, "''"],
        ],
    ),
]


def record():
    import ast
    from multiprocessing import resource_tracker
    from multiprocessing.shared_memory import ShareableList

    out = []
    for name, items, sets in CASES:
        sl = ShareableList(items)
        try:
            for index, value in sets:
                sl[index] = ast.literal_eval(value)
            out.append(
                {
                    "name": name,
                    "items": repr(items),
                    "sets": sets,
                    "final": repr(list(sl)),
                    "format": sl.format,
                    "block": bytes(sl.shm.buf).hex(),
                }
            )
        finally:
            sl.shm.close()
            sl.shm.unlink()
    del resource_tracker
    return out


def main():
    root = Path(__file__).resolve().parent.parent
    if len(sys.argv) >= 3 and sys.argv[1] == "--emit":
        if len(sys.argv) == 4:
            # The provisioned interpreters run through a launcher script; the resource
            # tracker must be started with it too.
            import multiprocessing

            multiprocessing.set_executable(sys.argv[3])
        tag = "py%d.%d" % sys.version_info[:2]
        path = Path(sys.argv[2]) / (tag + ".json")
        path.write_text(json.dumps(record(), indent=1, ensure_ascii=False) + "\n")
        print("wrote", path)
        return
    sys.path.insert(0, str(root / "python_interop"))
    import pythons  # the one rule for where the interpreters are

    target = root / "fixtures" / "shared_memory"
    target.mkdir(parents=True, exist_ok=True)
    for ident, exe in pythons.candidates():
        try:
            pythons.probe(exe)
        except RuntimeError as exc:
            print("missing:", ident, exc)
            continue
        launcher = [] if ident == "python3" else [exe]
        subprocess.run([exe, __file__, "--emit", str(target)] + launcher, check=True)


if __name__ == "__main__":
    main()
