"""Code shipped by value survives a Rust hop: cloudpickle (protocols 4, 5) and dill (default,
``recurse=True``) pickles of functions, closures, lambdas, partials, classes defined in
``__main__`` or locally, their instances, dataclasses, ... relayed through a Rust peer that
decodes each pickle into mpconn's Value and encodes it again.

Per interpreter: the CPython client (``peers/lossless_client.py relay``) sends every pickle to
``interop_peer roundtrip-serve`` and stores original and reply; then a fresh interpreter
(``check``) loads each reply with the library's ``loads`` and checks that it behaves as the
original (calls, instances, attributes, identity). The share of replies that are
byte-identical to the original is printed (``BYTES`` lines) and written to
``target/lossless-<interp>.txt``.
"""

from pathlib import Path

from cli_support import Procs, clean_env
from harness import REPO_ROOT, peer_env, peer_script

# Cases a library itself cannot pickle or load on some interpreter are reported as SKIP by
# the client; at least this many must be checked per variant, unless the library cannot
# pickle a plain function on that interpreter at all (``UNUSABLE``: dill 0.4.1 on 3.15,
# whose code objects no longer have ``co_lnotab``).
MIN_CHECKED = 25
VARIANTS = {"cloudpickle-p4": "cloudpickle", "cloudpickle-p5": "cloudpickle", "dill": "dill", "dill-recurse": "dill"}


def test_cloudpickle_and_dill_survive_a_rust_hop(spawn, interp, rust_peer, tmp_path):
    env = peer_env()
    server = spawn.start(
        [rust_peer, "roundtrip-serve", "127.0.0.1:0", "--count", "1", "--authkey", "lossless"],
        name="rust-roundtrip",
    )
    script = peer_script("lossless_client.py")
    relay = spawn.run(
        [interp.exe, script, "relay", server.address, str(tmp_path), "--authkey", "lossless"],
        env=env,
        name="py-lossless-relay",
    )
    server.finish(60 if relay.returncode == 0 else 10)
    info = relay.describe() + "\n\n" + server.describe()
    assert relay.returncode == 0, info
    check = spawn.run([interp.exe, script, "check", str(tmp_path)], env=env, name="py-lossless-check")
    info = check.describe() + "\n\n" + info
    failures = [line for line in check.lines if line.startswith("CHECK ") and " FAIL " in line]
    checked = [line for line in check.lines if line.startswith("CHECK ") and line.endswith(" OK")]
    bytes_lines = [line for line in relay.lines if line.startswith("BYTES ")]
    relay_lines = [line for line in relay.lines if line.startswith(("RELAY ", "UNUSABLE "))]
    report = Path(REPO_ROOT) / "target" / ("lossless-%s.txt" % interp.id)
    report.parent.mkdir(exist_ok=True)
    report.write_text("\n".join(bytes_lines + relay_lines + check.lines) + "\n")
    assert not failures, "%d relayed pickles behave differently:\n%s" % (len(failures), info)
    assert check.returncode == 0, info
    unusable = {line.split()[1] for line in relay.lines if line.startswith("UNUSABLE ")}
    for variant, lib in VARIANTS.items():
        if lib in unusable:
            continue
        n = sum(1 for line in checked if line.split()[2] == variant)
        assert n >= MIN_CHECKED, "only %d %s cases checked\n%s" % (n, variant, info)
    assert unusable <= {"dill"} and (not unusable or interp.version >= (3, 15)), info
    assert len(bytes_lines) == 4, info


def test_mpconn_listen_echo_relays_code_by_value(spawn, interp, tmp_path):
    """Issue 14's report, end to end: a CPython client sends cloudpickle and dill payloads
    to ``mpconn listen --echo`` (which re-encodes with protocol 4) and a fresh interpreter
    checks that what came back behaves as the original."""
    procs = Procs()
    try:
        listener, address = procs.listen("127.0.0.1:0", "--echo", "--once", "--authkey", "lossless", env=clean_env())
        script = peer_script("lossless_client.py")
        only = "closure,recursive,local_class,dataclass_instance,partial,methods"
        relay = spawn.run(
            [interp.exe, script, "relay", address, str(tmp_path), "--authkey", "lossless", "--only", only],
            env=peer_env(),
            name="py-lossless-relay",
        )
        assert relay.returncode == 0, relay.describe()
        listener.wait(timeout=60)
        check = spawn.run([interp.exe, script, "check", str(tmp_path)], env=peer_env(), name="py-lossless-check")
        failures = [line for line in check.lines if " FAIL " in line]
        assert not failures, check.describe()
        assert check.returncode == 0, check.describe()
        assert sum(1 for line in check.lines if line.endswith(" OK")) >= 12, check.describe()
    finally:
        procs.close()
