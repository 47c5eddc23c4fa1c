"""CPython manager clients for the Rust manager tests (examples/manager_server.rs).

Usage: python manager_client.py SCENARIO ADDRESS AUTHKEY [ARG]

ADDRESS is host:port, a Unix socket path, or @name for an abstract socket.

Connects with BaseManager(address, authkey).connect() and runs SCENARIO; prints "OK ..."
and exits 0 when every check holds, otherwise raises (exit status 1 and a traceback).
The Rust manager serves get_queue (a shared queue), Counter(start=0) with increment(by=1),
value(), fail() (ValueError("boom", 7)) and child(start) (a ChildCounter proxy).
"""
import gc
import queue
import sys
import threading
from multiprocessing.managers import (
    BaseManager,
    DictProxy,
    SyncManager,
    IteratorProxy,
    ListProxy,
    RemoteError,
    ValueProxy,
    dispatch,
)


class RustManager(BaseManager):
    pass


RustManager.register("get_queue")
RustManager.register("Counter")
RustManager.register("ChildCounter", create_method=False)
# The CPython server of the recipe (peers/manager_server.py) for the Rust worker example.
RustManager.register("get_dict", proxytype=DictProxy)
RustManager.register("get_list", proxytype=ListProxy)
RustManager.register("Value", proxytype=ValueProxy)
RustManager.register("Iterator", proxytype=IteratorProxy, create_method=False)
RustManager.register("get_jobs")
RustManager.register("get_results")


def python_address(address):
    """host:port, a filesystem path (contains '/'), or @name (abstract) -> Python form."""
    if address.startswith("@"):
        return "\0" + address[1:]
    if "/" in address:
        return address
    host, port = address.rsplit(":", 1)
    return (host.strip("[]"), int(port))


def connect(address, authkey):
    manager = RustManager(address=python_address(address), authkey=authkey.encode())
    manager.connect()
    return manager


def calls(m, arg):
    c = m.Counter(5)
    assert c.increment() == 6
    assert c.increment(by=4) == 10
    assert c.increment(2) == 12
    assert c.value() == 12
    assert c._getvalue() == 12
    assert "Counter" in str(c), str(c)
    child = c.child(100)
    assert type(child).__name__ == "AutoProxy[ChildCounter]", type(child)
    assert child.increment() == 101
    assert c.value() == 12
    q = m.get_queue()
    q.put({"job": [1, 2.5, "x", None, b"raw"]})
    assert q.qsize() == 1
    assert q.get(timeout=5) == {"job": [1, 2.5, "x", None, b"raw"]}
    assert q.empty()
    return "calls"


def exceptions(m, arg):
    c = m.Counter()
    try:
        c.fail()
    except ValueError as e:
        assert e.args == ("boom", 7), e.args
    else:
        raise AssertionError("fail() did not raise")
    try:
        c._callmethod("secret")
    except RemoteError as e:
        assert "secret" in str(e), str(e)
    else:
        raise AssertionError("an unexposed method did not raise RemoteError")
    try:
        c.increment("not a number")
    except TypeError as e:
        assert "int" in str(e), str(e)
    else:
        raise AssertionError("increment('...') did not raise TypeError")
    try:
        c.increment(1, 2, 3)
    except TypeError as e:
        assert "positional" in str(e), str(e)
    else:
        raise AssertionError("increment(1, 2, 3) did not raise TypeError")
    try:
        m.Counter("x")
    except RemoteError as e:
        assert "TypeError" in str(e), str(e)
    else:
        raise AssertionError("Counter('x') did not raise RemoteError")
    q = m.get_queue()
    for attempt in (lambda: q.get(timeout=0.01), q.get_nowait, lambda: q.get(False)):
        try:
            attempt()
        except queue.Empty:
            pass
        else:
            raise AssertionError("an empty queue gave an item")
    try:
        q.get(timeout=-1)
    except ValueError:
        pass
    else:
        raise AssertionError("a negative timeout did not raise ValueError")
    return "exceptions"


def release(m, arg):
    base = m._number_of_objects()
    c = m.Counter()
    child = c.child(1)
    assert m._number_of_objects() == base + 2, (m._number_of_objects(), base)
    c2 = m.Counter()
    assert m._number_of_objects() == base + 3
    info = m._debug_info()
    assert "refcount=1" in info and "Counter" in info, info
    c3 = c2._getvalue()  # a copy of the value: no reference
    assert c3 == 0, c3
    del c, child, c2
    gc.collect()
    assert m._number_of_objects() == base, (m._number_of_objects(), base)
    return "release base=%d" % base


def many(m, arg):
    threads = int(arg or 8)
    errors = []

    def worker(i):
        try:
            c = m.Counter(i * 1000)
            for k in range(1, 51):
                assert c.increment() == i * 1000 + k
            assert c.value() == i * 1000 + 50
        except Exception as e:  # reported below
            errors.append(repr(e))

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors
    return "many %d" % threads


def produce(m, arg):
    q = m.get_queue()
    n = int(arg)
    for i in range(n):
        q.put(("job", i))
    return "produced %d" % n


def consume(m, arg):
    q = m.get_queue()
    n = int(arg)
    got = [q.get(timeout=30) for _ in range(n)]
    return "consumed %d %s" % (n, sum(i for _, i in got))


def collections(m, arg):
    """The Rust SharedDict / SharedList / SharedValue through CPython's own proxy types."""
    d = m.get_dict()
    d["a"] = 1
    d[1] = "one"
    assert d[1.0] == "one" and d[True] == "one"
    assert "a" in d and "zz" not in d
    assert len(d) == 2
    assert list(d) == ["a", 1]  # __iter__ -> an Iterator proxy
    d.update({"b": 2}, c=3)
    assert d.get("zz", 5) == 5
    try:
        d["zz"]
    except KeyError as e:
        assert e.args == ("zz",)
    else:
        raise AssertionError("missing key did not raise KeyError")
    try:
        d[[1]] = 2
    except TypeError as e:
        assert "unhashable" in str(e)
    else:
        raise AssertionError("a list key did not raise TypeError")
    assert d.pop("b") == 2
    assert d.setdefault("e", []) == []
    del d["e"]
    assert d.copy() == {"a": 1, 1: "one", "c": 3}, d.copy()
    assert sorted(map(str, d.keys())) == ["1", "a", "c"]
    assert sorted(d.values(), key=str) == [1, 3, "one"]
    assert d._getvalue() == {"a": 1, 1: "one", "c": 3}

    lst = m.get_list()
    lst.append(1)
    lst.extend([2, 3])
    assert lst[0] == 1 and lst[-1] == 3 and len(lst) == 3
    assert lst.index(2) == 1 and 2 in lst and lst.count(3) == 1
    assert lst.pop() == 3
    try:
        lst[10]
    except IndexError:
        pass
    else:
        raise AssertionError("lst[10] did not raise IndexError")
    lst += [5]
    lst[0] = 0
    lst.insert(1, 9)
    lst.remove(9)
    assert lst._getvalue() == [0, 2, 5], lst._getvalue()
    assert str(lst) == "[0, 2, 5]"
    assert lst + [6] == [0, 2, 5, 6]

    v = m.Value("i", 5)
    assert v.value == 5
    v.value = 7
    assert v.get() == 7
    v.set("x")
    assert v.value == "x"
    return "collections"


def sync(m, arg):
    """An unmodified SyncManager client: Queue, JoinableQueue, dict, list, Value."""
    sm = SyncManager(address=m.address, authkey=m._authkey)
    sm.connect()
    q = sm.Queue(2)
    q.put(1)
    q.put(2)
    assert q.full()
    try:
        q.put(3, timeout=0.01)
    except queue.Full:
        pass
    else:
        raise AssertionError("a full queue took an item")
    assert [q.get(), q.get()] == [1, 2]
    jq = sm.JoinableQueue()
    jq.put("t")
    assert jq.get() == "t"
    jq.task_done()
    jq.join()
    d = sm.dict({"a": 1}, b=2)
    d2 = sm.dict([("x", 1)])
    assert d.copy() == {"a": 1, "b": 2} and d2.copy() == {"x": 1}
    assert sorted(d) == ["a", "b"]
    assert sm.dict().copy() == {}
    lst = sm.list([0, 1, 2])
    lst.append(3)
    assert lst._getvalue() == [0, 1, 2, 3]
    v = sm.Value("d", 1.5)
    assert v.value == 1.5
    base = sm._number_of_objects()
    del q, jq, d, d2, lst, v
    gc.collect()
    assert sm._number_of_objects() == base - 6, (sm._number_of_objects(), base)
    return "sync"


def jobs(m, arg):
    """The remote-queue recipe's producer: N integer jobs then None on get_jobs; the
    worker (Rust) answers (n, n * n) on get_results."""
    n = int(arg)
    jobs, results = m.get_jobs(), m.get_results()
    for i in range(n):
        jobs.put(i)
    jobs.put(None)
    got = dict(results.get(timeout=60) for _ in range(n))
    assert got == {i: i * i for i in range(n)}, got
    return "jobs %d" % n


def shutdown(m, arg):
    conn = m._Client(m.address, authkey=m._authkey)
    try:
        dispatch(conn, None, "shutdown")
    finally:
        conn.close()
    return "shutdown"


SCENARIOS = {
    f.__name__: f
    for f in (
        calls,
        exceptions,
        release,
        many,
        produce,
        consume,
        collections,
        sync,
        jobs,
        shutdown,
    )
}


def main():
    scenario, address, authkey = sys.argv[1:4]
    arg = sys.argv[4] if len(sys.argv) > 4 else None
    m = connect(address, authkey)
    print("OK", SCENARIOS[scenario](m, arg), flush=True)


if __name__ == "__main__":
    main()
