#!/usr/bin/env python3
"""Where the interpreters of the test matrix are: the one rule every test asks.

* The machine's ``python3`` (CPython 3.11 here; ``MPCONN_SYSTEM_PYTHON`` overrides it).
* CPython 3.13, 3.14 and 3.15, provisioned by ``make pythons`` into
  ``$MPCONN_PYTHONS_DIR`` (default ``/var/cache/mpconn/pythons``), each run through the
  launcher ``$MPCONN_PYTHONS_DIR/bin/python3.X``.
* Under ``CI=true`` (``.ci/run``) a missing interpreter is a failure, never a skip.

Python code imports this module (``python_interop/harness.py``, ``bench/run.py``, the
fixture generators); the Makefile, the shell scripts and the Rust tests
(``tests/common/cpython.rs``) run it::

    python3 python_interop/pythons.py dir    # the folder make pythons provisions
    python3 python_interop/pythons.py list   # ID<TAB>EXE<TAB>ok|missing: REASON, one a line

It uses the standard library only, so any ``python3`` can run it before the venv exists.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

#: The folder ``make pythons`` fills when ``MPCONN_PYTHONS_DIR`` is not set.
DEFAULT_DIR = "/var/cache/mpconn/pythons"
#: The interpreters ``make pythons`` provisions, next to the machine's python3.
PROVISIONED = ((3, 13), (3, 14), (3, 15))

_PROBE = "import sys, multiprocessing.connection; print(sys.executable); print('%d.%d' % sys.version_info[:2])"


def pythons_dir():
    """The folder holding the provisioned interpreters (``$MPCONN_PYTHONS_DIR`` or the default)."""
    return Path(os.environ.get("MPCONN_PYTHONS_DIR") or DEFAULT_DIR)


def in_ci():
    """True under CI (``CI=true``): a missing interpreter then fails the run."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def system_python():
    """The machine's own python3 (``MPCONN_SYSTEM_PYTHON`` overrides it)."""
    return os.environ.get("MPCONN_SYSTEM_PYTHON") or shutil.which("python3") or sys.executable


def candidates():
    """``(id, exe)`` for every interpreter of the matrix, present or not: ``python3`` first."""
    found = [("python3", system_python())]
    for major, minor in PROVISIONED:
        found.append(("py%d.%d" % (major, minor), str(pythons_dir() / "bin" / ("python%d.%d" % (major, minor)))))
    return found


def probe(exe):
    """``(real executable, (major, minor))`` of a working interpreter with
    ``multiprocessing.connection``; raises ``RuntimeError`` saying why it cannot be used."""
    if os.sep in exe and not os.path.exists(exe):
        raise RuntimeError("%s missing: run `make pythons` (as root) to provision it" % exe)
    try:
        out = subprocess.run([exe, "-c", _PROBE], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError("%s does not run: %s" % (exe, exc))
    if out.returncode != 0:
        raise RuntimeError("%s failed: %s" % (exe, out.stderr.strip()[-300:]))
    real, version = out.stdout.split("\n")[:2]
    return real, tuple(int(x) for x in version.split("."))


def main(argv):
    if argv == ["dir"]:
        print(pythons_dir())
        return 0
    if argv == ["list"]:
        for ident, exe in candidates():
            try:
                _real, version = probe(exe)
                print("py%d.%d\t%s\tok" % (version + (exe,)))
            except RuntimeError as exc:
                print("%s\t%s\tmissing: %s" % (ident, exe, " ".join(str(exc).split())))
        return 0
    print("usage: pythons.py dir | list", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
