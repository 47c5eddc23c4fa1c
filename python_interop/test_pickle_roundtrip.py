"""The catalogue (python_interop/catalogue.py) through a Rust peer that decodes each pickle
into mpconn's Value and encodes it again: every interpreter × protocol 0, 2, 4, 5.

The interpreter under test pickles each value with the protocol, the Rust peer
(``interop_peer roundtrip-serve``) answers with the value re-encoded (the same protocol,
2 for 0), and the interpreter checks the reply: equal (nan-aware, -0.0 kept), same types,
shared references and cycles kept (``catalogue.same``).
"""

import pytest

from harness import peer_script

PROTOCOLS = [0, 2, 4, 5]


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=["p%d" % p for p in PROTOCOLS])
def test_catalogue_roundtrip(spawn, interp, rust_peer, protocol):
    if protocol == 5 and interp.version < (3, 8):
        pytest.skip("protocol 5 needs Python 3.8")
    server = spawn.start([rust_peer, "roundtrip-serve", "127.0.0.1:0", "--count", "1", "--authkey", "rt"], name="rust-roundtrip")
    client = spawn.run(
        [interp.exe, peer_script("pickle_client.py"), server.address, "--protocol", str(protocol), "--authkey", "rt"],
        name="py-pickle-client",
    )
    server.finish(60 if client.returncode == 0 else 10)
    failures = [line for line in client.lines if line.startswith("ITEM ") and " FAIL " in line]
    summary = [line for line in client.lines if line.startswith("SUMMARY ")]
    info = "\n".join(failures) + "\n\n" + client.describe() + "\n\n" + server.describe()
    assert summary, info
    assert not failures, "%d values did not survive the round trip:\n%s" % (len(failures), info)
    assert client.returncode == 0, info
    assert server.returncode == 0, info
