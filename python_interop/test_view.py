"""``mpconn::pickle::loads_view`` reads what every interpreter writes: the catalogue's
plain-data values (scalars, str, bytes, bytearray, containers, shared references, cycles,
200-deep nesting), pickled by the interpreter under test with protocols 2, 4 and 5, are
read by a Rust peer through the view's accessors, and its description of each value must
equal the interpreter's own (``peers/view_client.py``)."""

import pytest

from harness import peer_script

PROTOCOLS = [2, 4, 5]


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=["p%d" % p for p in PROTOCOLS])
def test_the_view_reads_what_cpython_writes(spawn, interp, rust_peer, protocol):
    server = spawn.start([rust_peer, "view-serve", "127.0.0.1:0", "--count", "1", "--authkey", "view"],
                         name="rust-view")
    client = spawn.run(
        [interp.exe, peer_script("view_client.py"), server.address, "--protocol", str(protocol), "--authkey", "view"],
        name="py-view-client",
    )
    server.finish(60 if client.returncode == 0 else 10)
    failures = [line for line in client.lines if line.startswith("ITEM ") and " FAIL " in line]
    summary = [line.split() for line in client.lines if line.startswith("SUMMARY ")]
    info = "\n".join(failures) + "\n\n" + client.describe() + "\n\n" + server.describe()
    assert summary, info
    assert not failures, "%d values were read differently:\n%s" % (len(failures), info)
    assert client.returncode == 0, info
    assert server.returncode == 0, info
    ok, borrowed = int(summary[0][1]), int(summary[0][5])
    assert ok >= 40, info
    if protocol >= 4:
        # Most of the catalogue's data takes the arena (the rest: big ints, tuple keys).
        assert borrowed >= ok - 8, info
