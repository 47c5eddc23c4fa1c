"""100 CPython clients from several processes on one Rust manager over TCP.

Runs bench/manager_scale.py --check with each interpreter: 5 forked processes x 20
threads, each thread one manager client using a shared Lock, Value, Event and a reused
Barrier (everyone connected, then everyone done). The script fails on a deadlock (every
wait has a timeout), a lost update (counter under the lock must equal clients x
iterations) or a leaked object (number_of_objects back to its start). Timing figures
belong to `make bench` (the same script with --bench), not to this test.
"""

from harness import REPO_ROOT, cargo_bin


def test_a_hundred_cpython_clients_on_one_rust_manager(spawn, interp):
    script = str(REPO_ROOT / "bench" / "manager_scale.py")
    peer = spawn.run(
        [interp.exe, script, "--check", "--clients", "100", "--processes", "5",
         "--server-exe", cargo_bin("manager_server")],
        timeout=300,
    )
    assert peer.returncode == 0, peer.describe()
    assert peer.lines and peer.lines[-1] == "OK", peer.describe()
