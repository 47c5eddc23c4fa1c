"""Managers at scale: many CPython clients on one manager over TCP, Rust vs CPython.

The workload (the same for both servers, run by unmodified CPython SyncManager clients):
PROCESSES forked processes run CLIENTS threads between them; every thread is one manager
client (CPython proxies open one connection per thread). A coordinator creates a Lock, a
Value counter, an Event and a Barrier(CLIENTS + 1) and hands the proxies to the processes.
Each thread waits at the barrier (everyone connected), then on the event, then does
ITERATIONS times `with lock: counter.value += 1` (a get and a set under the lock), then
waits at the barrier again. The coordinator times the phase between setting the event and
the second barrier.

Checked on every run: no deadlock (every wait has a timeout; a process that does not end
in time fails the run), no lost update (counter == CLIENTS * ITERATIONS), no leaked
object (the server's number_of_objects is back to its value before the run once the
processes have exited and the coordinator dropped its proxies).

Usage:
  python bench/manager_scale.py --check [--clients 100] [--processes 5] [--iterations 5]
      one run against the Rust manager (debug build); exit status 1 on any failed check
  python bench/manager_scale.py --bench [--clients 100,250,500,1000] [--out FILE]
      both servers (release Rust build), each client count; writes a markdown section

Prints one JSON line per run: server, clients, seconds, increments per second, checks.
"""
import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from multiprocessing.managers import SyncManager

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AUTHKEY = b"scale-secret"
WAIT = float(os.environ.get("MANAGER_SCALE_WAIT", "120"))  # seconds any wait may take


def worker(lock, counter, start, barrier, threads, iterations, failures):
    def client():
        try:
            barrier.wait(WAIT)
            if not start.wait(WAIT):
                raise RuntimeError("start event never set")
            for _ in range(iterations):
                if not lock.acquire(True, WAIT):
                    raise RuntimeError("lock not acquired in %ss" % WAIT)
                try:
                    counter.value = counter.value + 1
                finally:
                    lock.release()
            barrier.wait(WAIT)
        except Exception as e:  # reported by the coordinator
            failures.put(repr(e))

    ts = [threading.Thread(target=client) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def run_workload(address, clients, processes, iterations):
    """One run against the manager at `address`; returns a result dict."""
    multiprocessing.current_process().authkey = AUTHKEY  # the children's proxies use it
    m = SyncManager(address=address, authkey=AUTHKEY)
    m.connect()
    base = m._number_of_objects()
    lock, counter, start = m.Lock(), m.Value("i", 0), m.Event()
    barrier = m.Barrier(clients + 1)
    ctx = multiprocessing.get_context("fork")
    failures = ctx.SimpleQueue()
    shares = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    procs = [
        ctx.Process(target=worker, args=(lock, counter, start, barrier, n, iterations, failures))
        for n in shares
        if n
    ]
    result = {"clients": clients, "processes": len(procs), "iterations": iterations}
    t_connect = time.monotonic()
    for p in procs:
        p.start()
    problems = []
    try:
        barrier.wait(WAIT)
        t0 = time.monotonic()
        start.set()
        barrier.wait(WAIT)
        t1 = time.monotonic()
        result["connect_seconds"] = round(t0 - t_connect, 3)
        result["seconds"] = round(t1 - t0, 3)
        result["increments_per_second"] = round(clients * iterations / (t1 - t0), 1)
    except Exception as e:
        problems.append("coordinator: %r" % (e,))
    deadline = time.monotonic() + WAIT
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            problems.append("a client process did not end (deadlock?)")
        elif p.exitcode != 0:
            problems.append("a client process exited with %s" % p.exitcode)
    while not failures.empty():
        problems.append(failures.get())
    total = counter.value
    if total != clients * iterations:
        problems.append("lost updates: counter %d, expected %d" % (total, clients * iterations))
    del lock, counter, start, barrier
    import gc

    gc.collect()
    left = m._number_of_objects()
    if left != base:
        problems.append("objects leaked: %d before, %d after" % (base, left))
    result["objects_before_after"] = [base, left]
    result["problems"] = problems[:10]
    result["ok"] = not problems
    return result


# ---------------------------------------------------------------------------- servers


class ServerProcess:
    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            self.proc.kill()
            raise SystemExit("%s did not start: %r" % (argv[0], line))
        host, port = line.split()[1].rsplit(":", 1)
        self.address = (host, int(port))

    def rss_kib(self):
        try:
            for line in open("/proc/%d/status" % self.proc.pid):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        except OSError:
            return None

    def threads(self):
        try:
            return len(os.listdir("/proc/%d/task" % self.proc.pid))
        except OSError:
            return None

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def rust_server(profile):
    exe = os.path.join(ROOT, "target", profile, "examples", "manager_server")
    if not os.path.exists(exe):
        raise SystemExit("%s missing: cargo build %s--example manager_server" % (
            exe, "--release " if profile == "release" else ""))
    return ServerProcess([exe, "127.0.0.1:0", AUTHKEY.decode()])


def cpython_server(python):
    script = os.path.join(ROOT, "python_interop", "peers", "sync_manager_server.py")
    return ServerProcess([python, script, AUTHKEY.decode()])


def listen_overflows():
    """Linux's count of connections dropped because an accept queue was full."""
    try:
        lines = open("/proc/net/netstat").read().splitlines()
    except OSError:
        return None
    for names, values in zip(lines[::2], lines[1::2]):
        fields = dict(zip(names.split(), values.split()))
        if "ListenOverflows" in fields:
            return int(fields["ListenOverflows"])
    return None


def measure(kind, make, clients, processes, iterations):
    server = make()
    before = listen_overflows()
    try:
        r = run_workload(server.address, clients, processes, iterations)
        after = listen_overflows()
        if before is not None and after is not None:
            r["listen_overflows"] = after - before
        r["server"] = kind
        r["server_threads_after"] = server.threads()
        r["server_peak_rss_kib"] = server.rss_kib()
    finally:
        server.stop()
    print(json.dumps(r), flush=True)
    return r


def median_run(runs):
    """The run with the median rate; it carries every run's failed checks."""
    good = sorted((r for r in runs if r.get("increments_per_second")),
                  key=lambda r: r["increments_per_second"])
    chosen = dict(good[len(good) // 2] if good else runs[0])
    chosen["problems"] = [p for r in runs for p in r["problems"]]
    chosen["ok"] = all(r["ok"] for r in runs)
    chosen["runs"] = len(runs)
    chosen["failed_runs"] = sum(1 for r in runs if not r["ok"])
    return chosen


def markdown(rows, processes, iterations, repeat):
    lines = [
        "## Managers: concurrent CPython clients (bench/manager_scale.py)",
        "",
        "Unmodified CPython %d.%d SyncManager clients, %d forked processes, one manager "
        "connection per client thread, over TCP on 127.0.0.1. Each client does %d × "
        "`with lock: counter.value += 1` between two barrier waits. *increments/s* is "
        "clients × %d ÷ the time between the start event and the last barrier (median of %d "
        "runs); every run checked: no deadlock, counter exact, object count back to its "
        "start (*all checks*). The clients share the machine's cores with the server, so "
        "at 100 clients the figure is mostly the clients' own speed."
        % (sys.version_info[0], sys.version_info[1], processes, iterations, iterations, repeat),
        "",
        "| clients | server | all checks | increments/s | connect phase s | peak server RSS MiB | accept-queue overflows |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append("| %d | %s | %s | %s | %s | %s | %s |" % (
            r["clients"], r["server"], "yes" if r["ok"] else "**no** (%d of %d runs failed: %s)" % (
                r.get("failed_runs", 1), r.get("runs", 1), "; ".join(r["problems"][:2])),
            r.get("increments_per_second", "-"), r.get("connect_seconds", "-"),
            "%.1f" % (r["server_peak_rss_kib"] / 1024) if r.get("server_peak_rss_kib") else "-",
            r.get("listen_overflows", "-")))
    by = {}
    for r in rows:
        by.setdefault(r["clients"], {})[r["server"]] = r
    lines.append("")
    for n, pair in sorted(by.items()):
        if "rust" in pair and "cpython" in pair and pair["rust"].get("increments_per_second") and pair["cpython"].get("increments_per_second"):
            lines.append("* %d clients: Rust manager ÷ CPython manager increments/s = %.2f%s" % (
                n, pair["rust"]["increments_per_second"] / pair["cpython"]["increments_per_second"],
                "" if pair["cpython"]["ok"] else " (CPython: its runs that completed)"))
    lines.append("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--clients", default=None)
    ap.add_argument("--processes", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=None)
    ap.add_argument("--python", default=sys.executable, help="CPython for the CPython manager")
    ap.add_argument("--out", default=None)
    ap.add_argument("--repeat", type=int, default=3, help="--bench: runs per figure (median)")
    ap.add_argument("--server-exe", default=None, help="the Rust manager_server binary")
    ap.add_argument("--cpython", action="store_true", help="--check CPython's manager instead")
    args = ap.parse_args()
    if args.check == args.bench:
        ap.error("one of --check or --bench")
    if args.check:
        clients = int(args.clients or 100)
        if args.cpython:
            kind, make = "cpython", lambda: cpython_server(args.python)
        elif args.server_exe:
            kind, make = "rust", lambda: ServerProcess([args.server_exe, "127.0.0.1:0", AUTHKEY.decode()])
        else:
            kind, make = "rust", lambda: rust_server("debug")
        r = measure(kind, make, clients, args.processes, args.iterations or 5)
        print("OK" if r["ok"] else "FAILED", flush=True)
        sys.exit(0 if r["ok"] else 1)
    iterations = args.iterations or 20
    rows = []
    for n in [int(x) for x in (args.clients or "100,250,500,1000").split(",")]:
        for kind, make in (("rust", lambda: rust_server("release")),
                           ("cpython", lambda: cpython_server(args.python))):
            runs = [measure(kind, make, n, args.processes, iterations) for _ in range(args.repeat)]
            rows.append(median_run(runs))
    text = markdown(rows, args.processes, iterations, args.repeat)
    if args.out:
        open(args.out, "w").write(text)
    print(text)


if __name__ == "__main__":
    main()
