"""Shared memory across the language boundary, with every interpreter of the matrix.

Python creates and Rust reads and writes, and the reverse (SharedMemory through bytes and
memoryview, ShareableList of every item type); Rust's ShareableList bytes equal CPython's;
pickled blocks and lists (what `conn.send(shm)` sends) read and made by Rust;
what CPython's resource tracker does to blocks Rust created or unlinked; a CPython
SharedMemoryManager client against a Rust server, and a Rust client against CPython's
SharedMemoryManager server. CPython's side is peers/shared_memory_peer.py, Rust's
tests/peers/shared_memory_peer.rs.
"""

import sys

import pytest

from harness import cargo_bin, peer_script

AUTHKEY = "shm-secret"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX shared memory only")


def python(spawn, interp, scenario, *extra, ready=False):
    argv = [interp.exe, peer_script("shared_memory_peer.py"), scenario,
            cargo_bin("shared_memory_peer"), interp.exe, *extra]
    return spawn.start(argv, ready=ready)


def run(spawn, interp, scenario, *extra):
    peer = python(spawn, interp, scenario, *extra)
    assert peer.wait() == 0, peer.describe()
    assert peer.lines and peer.lines[-1] == "OK " + scenario, peer.describe()


@pytest.mark.parametrize(
    "scenario", ["python_creates", "rust_creates", "same_bytes", "pickled", "tracker"]
)
def test_blocks_and_lists_both_ways(spawn, interp, scenario):
    run(spawn, interp, scenario)


def test_cpython_shared_memory_manager_client_with_a_rust_server(spawn, interp):
    server = spawn.start([cargo_bin("shared_memory_peer"), "server", "127.0.0.1:0", AUTHKEY])
    run(spawn, interp, "manager_client", server.address, AUTHKEY)
    assert server.wait() == 0, server.describe()
    assert server.lines[-1] == "STOPPED segments=[]", server.describe()


def test_rust_client_with_a_cpython_shared_memory_manager(spawn, interp):
    server = python(spawn, interp, "manager_server", AUTHKEY, ready=True)
    client = spawn.start(
        [cargo_bin("shared_memory_peer"), "client", server.address, AUTHKEY], ready=False
    )
    assert client.wait() == 0, client.describe()
    assert client.lines[-1] == "OK client", client.describe()
    assert server.wait() == 0, server.describe()
