"""A CPython manager server for the Rust client tests (the remote-queue recipe's server).

Usage: python manager_server.py AUTHKEY [HOST]

Serves, on HOST (default 127.0.0.1) and a free port, a SyncManager (Queue, dict, list, ...)
plus:
  get_jobs / get_results   two shared queue.Queue objects (register(..., callable=lambda: q))
  Counter(start=0)         increment(by=1), value(), fail() -> ValueError('boom', 7),
                           child(start) -> a ChildCounter proxy (method_to_typeid)
Prints "READY host:port" once listening and serves until a client sends 'shutdown'.
"""
import queue
import sys
from multiprocessing.managers import SyncManager


class Counter:
    def __init__(self, start=0):
        self.n = start

    def increment(self, by=1):
        self.n += by
        return self.n

    def value(self):
        return self.n

    def fail(self):
        raise ValueError("boom", 7)

    def child(self, start):
        return Counter(start)


JOBS = queue.Queue()
RESULTS = queue.Queue()


class PeerManager(SyncManager):
    pass


PeerManager.register("get_jobs", callable=lambda: JOBS)
PeerManager.register("get_results", callable=lambda: RESULTS)
PeerManager.register("Counter", Counter, method_to_typeid={"child": "ChildCounter"})
PeerManager.register("ChildCounter", create_method=False)


def main():
    authkey = sys.argv[1].encode()
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    manager = PeerManager(address=(host, 0), authkey=authkey)
    server = manager.get_server()
    print("READY %s:%d" % server.address, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
