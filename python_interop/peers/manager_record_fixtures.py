"""Records the pickles a real CPython manager client sends and receives.

Usage: python3 manager_record_fixtures.py OUTDIR

A SyncManager subclass (extra typeids: Maker, whose `child()` returns a Counter as a
ChildCounter proxy through method_to_typeid, and Counter) runs in a forked server process; this process is a plain
CPython client whose Connection.send/recv are wrapped to save every pickle as
OUTDIR/NN_{send,recv}_{label}.pickle, plus OUTDIR/index.txt with each message's repr.
The Rust tests decode these bytes and compare them with what mpconn builds and parses.
"""
import gc
import multiprocessing
import multiprocessing.connection as mc
import os
import queue
import sys
from multiprocessing.managers import SyncManager
from multiprocessing.reduction import ForkingPickler


class Counter:
    def __init__(self, start=0):
        self.n = start

    def increment(self, by=1):
        self.n += by
        return self.n


class Maker:
    def child(self, start):
        return Counter(start)

    def fail(self):
        raise ValueError("boom", 7)


class FixtureManager(SyncManager):
    pass


FixtureManager.register("Counter", Counter)
FixtureManager.register("ChildCounter", create_method=False)
FixtureManager.register("Maker", Maker, method_to_typeid={"child": "ChildCounter"})

OUT = sys.argv[1]
LABEL = ["start"]
SEQ = [0]
INDEX = []


def save(direction, buf):
    SEQ[0] += 1
    name = "%02d_%s_%s.pickle" % (SEQ[0], direction, LABEL[0])
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(buf)
    INDEX.append("%s %r" % (name, ForkingPickler.loads(buf)))


def send(self, obj):
    self._check_closed()
    self._check_writable()
    buf = bytes(ForkingPickler.dumps(obj))
    save("send", buf)
    self._send_bytes(buf)


def recv(self):
    self._check_closed()
    self._check_readable()
    buf = self._recv_bytes().getvalue()
    save("recv", buf)
    return ForkingPickler.loads(buf)


def step(label):
    LABEL[0] = label


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.unlink(os.path.join(OUT, f))
    ctx = multiprocessing.get_context("fork")
    server = FixtureManager(address=("127.0.0.1", 0), authkey=b"fixture", ctx=ctx)
    server.start()
    client = FixtureManager(address=server.address, authkey=b"fixture")
    mc.Connection.send = send
    mc.Connection.recv = recv
    step("dummy")
    client.connect()
    step("create_queue")
    q = client.Queue()
    step("queue_put")
    q.put(5)
    step("queue_get")
    assert q.get(timeout=1) == 5
    step("queue_get_empty")
    try:
        q.get(timeout=0.01)
    except queue.Empty:
        pass
    step("queue_qsize")
    assert q.qsize() == 0
    step("create_dict")
    d = client.dict({"a": 1})
    step("dict_setitem")
    d["b"] = 2
    step("dict_keys")
    assert sorted(d.keys()) == ["a", "b"]
    step("dict_getitem_missing")
    try:
        d["zzz"]
    except KeyError:
        pass
    step("create_maker")
    m = client.Maker()
    step("maker_child")
    c = m.child(10)
    step("counter_increment")
    assert c.increment(by=2) == 12
    step("maker_fail")
    try:
        m.fail()
    except ValueError:
        pass
    step("not_exposed")
    try:
        m._callmethod("nonexistent")
    except Exception:
        pass
    step("getvalue")
    assert d._getvalue() == {"a": 1, "b": 2}
    step("release_child")
    del c
    step("number_of_objects")
    client._number_of_objects()
    step("release_all")
    del q, d, m
    gc.collect()  # 3.11-3.13: a raised reply keeps its proxy in a cycle
    step("shutdown")
    server.shutdown()
    with open(os.path.join(OUT, "index.txt"), "w") as f:
        f.write("\n".join(INDEX) + "\n")


if __name__ == "__main__":
    main()
