"""Managers across the language boundary, with every interpreter of the matrix.

* A Rust manager (examples/manager_server.rs) serving CPython clients
  (peers/manager_client.py): method calls, exceptions raised on the Python side, objects
  released when the proxies drop, several client processes at once, the remote-queue
  recipe with CPython producers and consumers, and `shutdown`.
* A CPython manager (peers/manager_server.py) with the Rust worker of the remote-queue
  recipe (examples/manager_queue_worker.rs) and a CPython producer.

The Rust client against CPython SyncManager servers (queue, dict, list, a class whose
method returns a proxy) is tested from Rust: tests/managers.rs.
"""

import pytest

from harness import address_for, cargo_bin, peer_script

AUTHKEY = "manager-secret"


@pytest.fixture
def rust_manager(spawn):
    """A running Rust manager; its address is `.address` (host:port)."""
    return spawn.start([cargo_bin("manager_server"), "127.0.0.1:0", AUTHKEY])


def client(spawn, interp, scenario, address, arg=None, ready=False):
    argv = [interp.exe, peer_script("manager_client.py"), scenario, address, AUTHKEY]
    if arg is not None:
        argv.append(str(arg))
    return spawn.start(argv, ready=ready)


def run_client(spawn, interp, scenario, address, arg=None):
    peer = client(spawn, interp, scenario, address, arg)
    rc = peer.wait()
    assert rc == 0, peer.describe()
    assert peer.lines and peer.lines[-1].startswith("OK " + scenario), peer.describe()
    return peer.lines[-1]


def stop(spawn, interp, server):
    run_client(spawn, interp, "shutdown", server.address)
    assert server.wait() == 0, server.describe()


def test_cpython_client_calls_methods_on_a_rust_manager(spawn, interp, rust_manager):
    run_client(spawn, interp, "calls", rust_manager.address)
    stop(spawn, interp, rust_manager)


@pytest.mark.parametrize("family", ["unix", "abstract"])
def test_rust_manager_on_unix_sockets(spawn, interp, family, tmp_path):
    server = spawn.start([cargo_bin("manager_server"), address_for(family, tmp_path), AUTHKEY])
    run_client(spawn, interp, "calls", server.address)
    stop(spawn, interp, server)


def test_cpython_proxies_for_rust_dicts_lists_and_values(spawn, interp, rust_manager):
    run_client(spawn, interp, "collections", rust_manager.address)
    stop(spawn, interp, rust_manager)


def test_an_unmodified_sync_manager_client(spawn, interp, rust_manager):
    run_client(spawn, interp, "sync", rust_manager.address)
    stop(spawn, interp, rust_manager)


def test_exceptions_raised_in_rust_are_raised_in_python(spawn, interp, rust_manager):
    run_client(spawn, interp, "exceptions", rust_manager.address)
    stop(spawn, interp, rust_manager)


def test_objects_are_released_when_python_proxies_drop(spawn, interp, rust_manager):
    line = run_client(spawn, interp, "release", rust_manager.address)
    assert line == "OK release base=0", line
    # A second client sees the same empty server: nothing leaked.
    line = run_client(spawn, interp, "release", rust_manager.address)
    assert line == "OK release base=0", line
    stop(spawn, interp, rust_manager)


def test_many_cpython_clients_at_once(spawn, interp, rust_manager):
    peers = [client(spawn, interp, "many", rust_manager.address, 6) for _ in range(4)]
    for peer in peers:
        assert peer.wait() == 0, peer.describe()
        assert peer.lines[-1] == "OK many 6", peer.describe()
    line = run_client(spawn, interp, "release", rust_manager.address)
    assert line == "OK release base=0", line
    stop(spawn, interp, rust_manager)


def test_remote_queue_recipe_with_a_rust_manager(spawn, interp, rust_manager):
    consumers = [client(spawn, interp, "consume", rust_manager.address, 25) for _ in range(2)]
    run_client(spawn, interp, "produce", rust_manager.address, 50)
    total = 0
    for peer in consumers:
        assert peer.wait() == 0, peer.describe()
        _ok, _word, n, subtotal = peer.lines[-1].split()
        assert n == "25", peer.describe()
        total += int(subtotal)
    assert total == sum(range(50))
    stop(spawn, interp, rust_manager)


def test_remote_queue_recipe_with_a_rust_worker(spawn, interp):
    server = spawn.start([interp.exe, peer_script("manager_server.py"), AUTHKEY])
    worker = spawn.start(
        [cargo_bin("manager_queue_worker"), server.address, AUTHKEY], ready=False
    )
    run_client(spawn, interp, "jobs", server.address, 30)
    assert worker.wait() == 0, worker.describe()
    assert worker.lines[-1] == "DONE 30", worker.describe()
    stop(spawn, interp, server)
