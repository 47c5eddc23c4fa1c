"""The tokio endpoints (``mpconn::tokio``) against CPython, through ``tests/peers/async_interop_peer.rs``.

The same matrix as test_wire_matrix.py, with the async peer in the Rust role:
interpreter × {rust_client_py_listener, py_client_rust_listener} × {tcp, unix, abstract}
× {nokey, key, legacy, wrongkey}, messages of 0 B to 1 MiB echoed and compared. Plus: one
async listener serving several CPython clients at once.

The peer needs the ``tokio`` feature, which ``cargo build --examples`` leaves out, so the
session fixture builds it (a no-op when it is up to date).
"""

import os
import subprocess

import pytest

from harness import REPO_ROOT, address_for, cargo_bin, peer_script
from test_wire_matrix import CELL_TIMEOUT, SIZES, assert_auth_failed, assert_exchanged, run_pair

DIRECTIONS = ["rust_client_py_listener", "py_client_rust_listener"]
FAMILIES = ["tcp", "unix", "abstract"]
MODES = ["nokey", "key", "legacy", "wrongkey"]


@pytest.fixture(scope="session")
def async_peer():
    """target/debug/examples/async_interop_peer, built with the tokio feature."""
    cargo = os.environ.get("CARGO", "cargo")
    build = subprocess.run(
        [cargo, "build", "--features", "tokio", "--example", "async_interop_peer"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    if build.returncode != 0:
        pytest.fail("building async_interop_peer failed:\n" + build.stderr[-4000:], pytrace=False)
    return cargo_bin("async_interop_peer")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_async_wire(spawn, interp, async_peer, direction, family, mode, tmp_path):
    address = address_for(family, tmp_path)
    if mode == "nokey":
        py_key = rust_key = digest = None
    elif mode == "key":
        py_key = rust_key = "k3y-%s" % interp.id
        digest = interp.default_digest
    elif mode == "legacy":
        py_key = rust_key = "legacy-key"
        digest = "legacy"
    else:
        py_key, rust_key, digest = "right key", "wrong key", interp.default_digest
    listener, client = run_pair(spawn, interp, async_peer, direction, address, py_key, rust_key, digest)
    if mode == "wrongkey":
        assert_auth_failed(listener, client)
    else:
        assert_exchanged(listener, client, SIZES)


CLIENTS = 8


def test_async_listener_serves_cpython_clients_at_once(spawn, interp, async_peer):
    """One async listener, several CPython clients connected at the same time: each is
    served in its own task (a slow handshake or echo never holds up the others)."""
    listener = spawn.start([async_peer, "serve", "127.0.0.1:0", "--count", str(CLIENTS), "--authkey", "many"], name="async-listener")
    clients = [
        spawn.start(
            [interp.exe, peer_script("sizes_client.py"), listener.address, "--sizes", "1,16385,100000", "--seed", "c%d" % i, "--authkey", "many"],
            ready=False,
            name="py-client-%d" % i,
        )
        for i in range(CLIENTS)
    ]
    for client in clients:
        client.wait(CELL_TIMEOUT)
    listener.finish(CELL_TIMEOUT)
    info = "\n\n".join(p.describe() for p in [listener] + clients)
    for client in clients:
        assert client.returncode == 0, info
        assert client.lines[-1] == "OK", info
    assert listener.returncode == 0, info
    assert listener.lines.count("ACCEPTED") == CLIENTS, info
    assert len([line for line in listener.lines if line.startswith("ECHO ")]) == 3 * CLIENTS, info
