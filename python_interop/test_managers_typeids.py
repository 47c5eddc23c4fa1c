"""Every SyncManager typeid served by the Rust manager to unmodified CPython clients.

One cell per interpreter x typeid. Each cell runs peers/manager_typeids.py (the
interpreter's own SyncManager client and proxies) against CPython's own SyncManager
(peers/sync_manager_server.py, same interpreter) and against the Rust manager
(examples/manager_server.rs, `Registry::with_sync_types`), and asserts that both give
the same transcript: every result, every exception type and its arguments, and the
number of objects the server still holds once the client's proxies are gone.

`Pool` is the one typeid the Rust manager refuses: its cell checks that `m.Pool(1)`
raises what CPython's manager answers for a typeid it does not know (RemoteError whose
traceback ends in KeyError).

Both servers start once per interpreter (module-scoped), not once per cell.
"""

import json

import pytest

import harness
from harness import cargo_bin, peer_script, start_peer

AUTHKEY = "typeid-secret"

TYPEIDS = [
    "Queue",
    "JoinableQueue",
    "Event",
    "Lock",
    "RLock",
    "Semaphore",
    "BoundedSemaphore",
    "Condition",
    "Barrier",
    "Namespace",
    "dict",
    "list",
    "set",
    "Value",
    "Array",
]


class Servers:
    def __init__(self, interp):
        self.interp = interp
        self.cpython = start_peer([interp.exe, peer_script("sync_manager_server.py"), AUTHKEY])
        self.rust = start_peer([cargo_bin("manager_server"), "127.0.0.1:0", AUTHKEY])

    def close(self):
        for peer in (self.cpython, self.rust):
            peer.close()


@pytest.fixture(scope="module", params=harness.interp_params())
def servers(request):
    s = Servers(request.param)
    yield s
    s.close()


def transcripts(spawn, servers, typeid):
    argv = [
        servers.interp.exe,
        peer_script("manager_typeids.py"),
        typeid,
        AUTHKEY,
        servers.cpython.address,
        servers.rust.address,
    ]
    peer = spawn.run(argv)
    assert peer.returncode == 0, peer.describe()
    found = {}
    for line in peer.lines:
        if line.startswith("TRANSCRIPT "):
            _, address, text = line.split(" ", 2)
            found[address] = json.loads(text)
    assert set(found) == {servers.cpython.address, servers.rust.address}, peer.describe()
    return found[servers.cpython.address], found[servers.rust.address]


def diff(expected, got):
    lines = []
    for i in range(max(len(expected), len(got))):
        e = expected[i] if i < len(expected) else None
        g = got[i] if i < len(got) else None
        if e != g:
            lines.append("step %d\n  CPython: %s\n  Rust:    %s" % (i, e, g))
    return "\n".join(lines)


@pytest.mark.parametrize("typeid", TYPEIDS)
def test_rust_manager_serves_typeid_like_cpython(spawn, servers, typeid):
    expected, got = transcripts(spawn, servers, typeid)
    assert got == expected, "%s on %s differs:\n%s" % (typeid, servers.interp.id, diff(expected, got))
    assert got[-1] == ["objects_left", ["ok", "0"]], got[-1]


def test_pool_is_refused_as_an_unknown_typeid(spawn, servers):
    expected, got = transcripts(spawn, servers, "Pool")
    unknown = expected[0]
    assert unknown == ["unknown", ["RemoteError", "KeyError"]], expected
    assert got[0] == unknown, got
    # The Rust manager refuses Pool exactly as CPython's refuses an unknown typeid.
    assert got[1] == ["pool", unknown[1]], got
    assert got[-1] == ["objects_left", ["ok", "0"]], got
