"""Helpers for the cross-version harness (imported by conftest.py and by the tests).

The contract other test modules rely on:

* ``INTERPRETERS``: the CPython interpreters of the matrix, as :class:`Interp` objects
  (``.id`` like ``"py3.14"``, ``.exe`` usable as argv[0], ``.version`` like ``(3, 14)``,
  ``.present``, ``.reason`` when missing). The conftest turns them into the ``interp`` fixture.
* ``cargo_bin(name)``: absolute path of ``target/debug/<name>`` or
  ``target/debug/examples/<name>`` (``$CARGO_TARGET_DIR`` honoured); fails the test clearly
  when it was not built (``make test`` builds bins and examples first).
* ``free_port()``, ``unix_path(tmp_path)``, ``abstract_name()``, ``peer_script(name)``.
* ``start_peer(argv)`` -> :class:`Peer`: starts a process and waits (without sleeping) for
  the ``READY <address>`` line it prints; ``run_peer(argv)`` runs one to completion.
  Every process has a timeout and is killed at teardown (the ``spawn`` fixture).
"""

import itertools
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path

import pytest

import pythons

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
PEERS_DIR = HERE / "peers"
#: Where the provisioned interpreters are: python_interop/pythons.py is the one rule.
PYTHONS_DIR = pythons.pythons_dir()
#: True when run by CI (`.ci/run` exports CI=true): a missing interpreter fails the run.
IN_CI = pythons.in_ci()
#: Default seconds any one peer process may run.
PROCESS_TIMEOUT = float(os.environ.get("MPCONN_PROCESS_TIMEOUT", "120"))
#: Seconds to wait for a peer's READY line.
READY_TIMEOUT = float(os.environ.get("MPCONN_READY_TIMEOUT", "60"))

# ---------------------------------------------------------------------------- interpreters


class Interp:
    """One CPython interpreter of the matrix."""

    def __init__(self, id, exe, version, reason=None):
        self.id = id  #: test id, e.g. "py3.14"
        self.exe = exe  #: path usable as argv[0] (a launcher script for the provisioned ones)
        self.version = version  #: (major, minor)
        self.reason = reason  #: why it is missing, or None

    @property
    def present(self):
        return self.reason is None

    @property
    def default_digest(self):
        """The digest this interpreter's Listener challenges with: legacy before 3.12."""
        return "legacy" if self.version < (3, 12) else "sha256"

    def __repr__(self):
        return "Interp(%s, %s)" % (self.id, self.exe if self.present else self.reason)


def discover_interpreters():
    """The machine's python3 plus the provisioned 3.13, 3.14 and 3.15 (pythons.candidates)."""
    found = []
    for ident, exe in pythons.candidates():
        if ident == "python3":
            try:
                real, version = pythons.probe(exe)
                # Outside a venv, sys.executable is the real interpreter (pyenv shims resolved).
                found.append(Interp("py%d.%d" % version, real, version))
            except RuntimeError as exc:
                found.append(Interp("py3.11", exe, (3, 11), reason=str(exc)))
            continue
        minor = int(ident.rsplit(".", 1)[1])
        try:
            _real, version = pythons.probe(exe)
        except RuntimeError as exc:
            found.append(Interp(ident, exe, (3, minor), reason=str(exc)))
            continue
        # The launcher is what must be used as argv[0]: it sets up the library path.
        found.append(Interp(ident, exe, version))
    return found


INTERPRETERS = discover_interpreters()


def interp_params():
    """``pytest.param`` objects for parametrizing over INTERPRETERS (missing ones skip)."""
    params = []
    for it in INTERPRETERS:
        marks = [] if it.present else [pytest.mark.skip(reason="%s: %s" % (it.id, it.reason))]
        params.append(pytest.param(it, id=it.id, marks=marks))
    return params


# ---------------------------------------------------------------------------- binaries, addresses


def cargo_bin(name):
    """Absolute path of a cargo-built binary or example (debug profile)."""
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO_ROOT / "target")
    if not target.is_absolute():
        target = REPO_ROOT / target
    for candidate in (target / "debug" / name, target / "debug" / "examples" / name):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    pytest.fail(
        "cargo binary %r not found under %s/debug (or debug/examples): run "
        "`cargo build --bins --examples` (make test does)" % (name, target),
        pytrace=False,
    )


def peer_site():
    """The folder of pure-Python libraries the CPython peers import (cloudpickle, dill):
    VENV/peer-site, made by scripts/setup-venv.sh (``make venv``) from the lines of
    requirements.txt marked ``peer``; $MPCONN_PEER_SITE overrides it."""
    site = Path(os.environ.get("MPCONN_PEER_SITE") or Path(sys.prefix) / "peer-site")
    if not (site / "cloudpickle").is_dir() or not (site / "dill").is_dir():
        pytest.fail(
            "%s lacks cloudpickle/dill: run `make venv` (scripts/setup-venv.sh installs them)" % site,
            pytrace=False,
        )
    return str(site)


def peer_env():
    """The environment for a CPython peer that imports the libraries of ``peer_site()``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (peer_site(), env.get("PYTHONPATH")) if p)
    return env


def peer_script(name):
    """Absolute path of a CPython peer script in python_interop/peers/."""
    path = PEERS_DIR / name
    if not path.is_file():
        pytest.fail("peer script %s missing" % path, pytrace=False)
    return str(path)


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (prefer port 0 where a peer can
    report its bound address)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_counter = itertools.count()


def unix_path(tmp_path=None):
    """A fresh filesystem socket path, short enough for sun_path (108 bytes): pytest's
    tmp_path is often too long, so the socket lives in its own directory under /tmp
    (removed at exit). ``tmp_path`` is accepted for symmetry and unused."""
    directory = tempfile.mkdtemp(prefix="mpc-", dir="/tmp")
    _cleanup_dirs.append(directory)
    path = os.path.join(directory, "s%d.sock" % next(_counter))
    assert len(path.encode()) < 100, path
    return path


_cleanup_dirs = []


def cleanup_dirs():
    while _cleanup_dirs:
        shutil.rmtree(_cleanup_dirs.pop(), ignore_errors=True)


def abstract_name():
    """A unique Linux abstract socket name without the leading NUL or '@'.

    Python form: ``"\\0" + name``; command-line / Rust form: ``"@" + name``."""
    return "mpconn-test-%d-%s" % (os.getpid(), uuid.uuid4().hex[:12])


def address_for(family, tmp_path=None):
    """A listen address in command-line form for ``family`` in tcp/unix/abstract."""
    if family == "tcp":
        return "127.0.0.1:0"
    if family == "unix":
        return unix_path(tmp_path)
    if family == "abstract":
        return "@" + abstract_name()
    raise ValueError(family)


# ---------------------------------------------------------------------------- processes


class Peer:
    """A running peer process whose stdout is read line by line by a thread.

    ``address`` is what followed ``READY``; ``lines`` collects every stdout line;
    stderr goes to a file (``stderr_text()``), so a chatty peer never blocks on a pipe.
    """

    def __init__(self, argv, env=None, cwd=None, timeout=PROCESS_TIMEOUT, name=None):
        self.argv = [str(a) for a in argv]
        self.name = name or os.path.basename(self.argv[0])
        self.timeout = timeout
        self.address = None
        self.lines = []
        self._queue = queue.Queue()
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            cwd=cwd,
            text=True,
            errors="replace",
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._deadline = threading.Timer(timeout, self._expire)
        self._deadline.daemon = True
        self._deadline.start()
        self.expired = False

    def _read(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            self._queue.put(line)
        self._queue.put(None)

    def _expire(self):
        if self.proc.poll() is None:
            self.expired = True
            self.proc.kill()

    def wait_line(self, prefix, timeout=READY_TIMEOUT):
        """Blocks until a stdout line starting with ``prefix`` arrives; returns the line.
        Fails the test when the process ends or ``timeout`` passes first."""
        while True:
            try:
                line = self._queue.get(timeout=timeout)
            except queue.Empty:
                self.kill()
                pytest.fail("%s: no %r line within %ss\n%s" % (self.name, prefix, timeout, self.describe()), pytrace=False)
            if line is None:
                self.proc.wait(timeout=10)
                pytest.fail("%s ended before printing %r\n%s" % (self.name, prefix, self.describe()), pytrace=False)
            if line.startswith(prefix):
                return line

    def wait_ready(self, timeout=READY_TIMEOUT):
        line = self.wait_line("READY", timeout)
        self.address = line.split(" ", 1)[1].strip() if " " in line else ""
        return self.address

    def wait(self, timeout=None):
        """Waits for the process to exit (killing it after ``timeout``); returns its status."""
        try:
            rc = self.proc.wait(timeout=timeout if timeout is not None else self.timeout)
        except subprocess.TimeoutExpired:
            rc = None
        if rc is None:
            self.kill()
            self._reader.join(timeout=10)
            pytest.fail("%s did not exit in time\n%s" % (self.name, self.describe()), pytrace=False)
        self._reader.join(timeout=10)
        self._deadline.cancel()
        return rc

    def finish(self, timeout):
        """Waits up to ``timeout`` seconds for the process to exit, then kills it; never
        fails the test itself (the caller asserts on ``returncode``, -9 when killed)."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self._reader.join(timeout=10)
        self._deadline.cancel()
        return self.proc.returncode

    @property
    def returncode(self):
        return self.proc.returncode

    def stdout_text(self):
        return "\n".join(self.lines)

    def stderr_text(self):
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def describe(self):
        return "$ %s\n[exit %s%s]\n--- stdout\n%s\n--- stderr\n%s" % (
            " ".join(self.argv),
            self.proc.returncode,
            ", killed by the harness's timeout" if self.expired else "",
            self.stdout_text()[-4000:],
            self.stderr_text()[-4000:],
        )

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self._deadline.cancel()

    def close(self):
        self.kill()
        self._reader.join(timeout=10)
        self._stderr.close()


class PeerSet:
    """Starts peers and kills every one of them at teardown (the ``spawn`` fixture)."""

    def __init__(self):
        self.peers = []

    def start(self, argv, ready=True, **kwargs):
        """Starts ``argv``; with ``ready`` (default) waits for its ``READY <address>`` line."""
        peer = Peer(argv, **kwargs)
        self.peers.append(peer)
        if ready:
            peer.wait_ready()
        return peer

    def run(self, argv, timeout=PROCESS_TIMEOUT, **kwargs):
        """Runs ``argv`` to completion (killed after ``timeout``); returns the finished Peer."""
        peer = Peer(argv, timeout=timeout, **kwargs)
        self.peers.append(peer)
        peer.wait(timeout)
        return peer

    def close(self):
        for peer in self.peers:
            peer.close()
        self.peers.clear()


def start_peer(argv, **kwargs):
    """Starts a peer and waits for its READY line (caller kills it; prefer the fixture)."""
    peer = Peer(argv, **kwargs)
    peer.wait_ready()
    return peer


def run_peer(argv, timeout=PROCESS_TIMEOUT, **kwargs):
    """Runs a peer to completion (caller owns it; prefer the ``spawn`` fixture's ``run``)."""
    peer = Peer(argv, timeout=timeout, **kwargs)
    peer.wait(timeout)
    return peer
