"""pytest wiring for the cross-version harness: interpreters, binaries, peers.

Fixtures:
* ``interp``: parametrized over the matrix's interpreters, ids ``py3.11``, ``py3.13``,
  ``py3.14``, ``py3.15``; an :class:`harness.Interp` (``.exe``, ``.version``, ``.id``).
  A missing interpreter skips its cells with the reason, except under ``CI=true``, where
  it fails the whole session (exit status 1) before any test runs.
* ``spawn``: a :class:`harness.PeerSet`; ``spawn.start(argv)`` starts a peer and waits for
  its ``READY <address>`` line, ``spawn.run(argv)`` runs one to completion; all are killed at
  teardown.
* ``rust_peer``: path of the cargo-built ``interop_peer`` example (``$MPCONN_INTEROP_PEER``
  overrides it, to test the harness itself with ``peers/fake_interop_peer.py``).

Functions (import from ``harness`` or from here): ``cargo_bin``, ``free_port``,
``unix_path``, ``abstract_name``, ``address_for``, ``peer_script``.
"""

import os

import pytest

import harness
from harness import (  # noqa: F401  (re-exported for test modules)
    INTERPRETERS,
    IN_CI,
    Interp,
    Peer,
    PeerSet,
    abstract_name,
    address_for,
    cargo_bin,
    free_port,
    peer_script,
    run_peer,
    start_peer,
    unix_path,
)


def pytest_report_header(config):
    lines = ["mpconn interpreters (CI=%s):" % ("true" if IN_CI else "false")]
    for it in INTERPRETERS:
        lines.append("  %s: %s" % (it.id, it.exe if it.present else "MISSING (%s)" % it.reason))
    return lines


def pytest_sessionstart(session):
    missing = [it for it in INTERPRETERS if not it.present]
    if IN_CI and missing:
        pytest.exit(
            "CI=true and interpreters are missing: "
            + "; ".join("%s: %s" % (it.id, it.reason) for it in missing),
            returncode=1,
        )


@pytest.fixture(params=harness.interp_params())
def interp(request):
    """One interpreter of the matrix (ids py3.11, py3.13, py3.14, py3.15)."""
    return request.param


def pytest_sessionfinish(session, exitstatus):
    harness.cleanup_dirs()
    if IN_CI and session.testscollected == 0 and exitstatus == 0:
        session.exitstatus = 1  # a CI run that collected nothing is a failure


@pytest.fixture
def spawn():
    peers = PeerSet()
    yield peers
    peers.close()


@pytest.fixture(scope="session")
def rust_peer():
    """The Rust peer: target/debug/examples/interop_peer, or $MPCONN_INTEROP_PEER (for
    testing the harness itself with peers/fake_interop_peer.py)."""
    override = os.environ.get("MPCONN_INTEROP_PEER")
    if override:
        return os.path.abspath(override)
    return cargo_bin("interop_peer")
