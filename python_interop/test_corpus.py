"""CPython's own valid and invalid pickles (fixtures/corpus/pickles.bin, collected from
``test.pickletester`` by python_interop/gen_corpus.py) through a Rust round-trip peer, all on
one connection: what CPython loads comes back equal, what it refuses is refused (or comes
back refused), and the connection keeps serving throughout (peers/corpus_client.py).
"""

from harness import REPO_ROOT, peer_script

CORPUS = REPO_ROOT / "fixtures" / "corpus" / "pickles.bin"

# Known to come back different, with the reason (README "Fidelity"): a list / dict / set
# subclass or a set rebuilt by a call (`copyreg._reconstructor(cls, base, [items])`,
# `set([items])`, protocols 0-3) whose items lead back to it. CPython's pickle holds two
# argument lists (one for a throw-away outer copy); mpconn's Value holds the object once,
# and its re-encoding writes the inner copy's argument list before that list's items, so
# CPython builds the inner copy empty.
KNOWN = {
    "test_recursive_dict_subclass_and_inst",
    "test_recursive_list_subclass_and_inst",
    "test_recursive_set_subclass_and_inst",
    "test_recursive_frozenset_subclass_and_inst",
    "test_recursive_set_and_inst",
    "test_recursive_frozenset_and_inst",
}


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
