"""CPython's own valid and invalid pickles (fixtures/corpus/pickles.bin, collected from
``test.pickletester`` by python_interop/gen_corpus.py) through a Rust round-trip peer, all on
one connection: what CPython loads comes back equal, what it refuses is refused (or comes
back refused), and the connection keeps serving throughout (peers/corpus_client.py).
"""

from harness import REPO_ROOT, peer_script

CORPUS = REPO_ROOT / "fixtures" / "corpus" / "pickles.bin"

# No known exceptions. The last ones (test_recursive_{list,dict,set,frozenset}_subclass_and_inst,
# test_recursive_{set,frozenset}_and_inst: a collection rebuilt by a call whose argument list
# leads back to it) came back with the inner copy empty until the encoder wrote that list
# afresh for the second copy, as CPython's pickler does (README "Fidelity"). A pickle CPython
# loads must come back equal or be refused by name here, never come back different.
KNOWN = set()


def test_cpython_corpus_through_a_rust_peer(spawn, interp, rust_peer):
    server = spawn.start(
        [rust_peer, "roundtrip-serve", "127.0.0.1:0", "--count", "1", "--authkey", "corpus"],
        name="rust-roundtrip",
    )
    client = spawn.run(
        [interp.exe, peer_script("corpus_client.py"), server.address, str(CORPUS), "--authkey", "corpus"],
        name="py-corpus-client",
    )
    server.finish(60 if client.returncode in (0, 1) else 10)
    info = client.describe() + "\n\n" + server.describe()
    summary = [line for line in client.lines if line.startswith("SUMMARY ")]
    assert summary, info
    failures = [line for line in client.lines if line.startswith("FAIL ")]
    unexpected = [line for line in failures if line.split()[1] not in KNOWN]
    assert not unexpected, "%d pickles not held to CPython's verdict:\n%s\n\n%s" % (
        len(unexpected),
        "\n".join(unexpected[:50]),
        info[-3000:],
    )
    fields = summary[0].split()
    valid, invalid, refused = int(fields[1]), int(fields[5]), int(fields[7])
    assert valid > 3000 and invalid > 500, info
    assert refused > 1000, info  # the structural errors; the rest need imports to tell
    assert server.returncode == 0, info
