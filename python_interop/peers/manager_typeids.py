"""Runs one SyncManager typeid's scenario against managers and prints what happened.

Usage: python manager_typeids.py TYPEID AUTHKEY ADDRESS [ADDRESS ...]

For each ADDRESS (host:port), connects an unmodified SyncManager client, runs the
scenario of TYPEID (every method this interpreter's proxy has, blocking calls from
several threads, the exceptions they raise) and prints one line
"TRANSCRIPT <address> <json list of [step, outcome]>". The test compares the transcript
of CPython's own manager with the Rust manager's: same results, same exception types
and arguments. A RemoteError is recorded by the last line of its traceback's exception
type only (the text of a server-side traceback is the server's own).
Ends with "OK" and exit status 0 unless the scenario itself broke.
"""
import gc
import json
import sys
import threading
from multiprocessing.managers import RemoteError, SyncManager

from _common import parse_address

PY = sys.version_info[:2]
TIMEOUT = 30  # seconds a blocking step may take before the scenario is broken


class Recorder:
    def __init__(self):
        self.steps = []

    def __call__(self, label, fn, message=True):
        """Runs fn; message=False records an exception's type only (for messages that
        differ between interpreters, e.g. 3.14's "cannot use 'list' as a dict key")."""
        try:
            value = fn()
        except RemoteError as e:
            text = str(e.args[0] if e.args else e).strip().splitlines()
            last = text[-1] if text else ""
            outcome = ["RemoteError", last.split(":", 1)[0]]
        except Exception as e:  # every exception is part of the transcript
            args = [norm(a) for a in e.args] if message else "..."
            outcome = ["raise", type(e).__name__, args]
        else:
            outcome = ["ok", norm(value)]
        self.steps.append([label, outcome])
        return outcome


def norm(v):
    """A comparable text for a result (sets sorted: their order is the server's hash order)."""
    if isinstance(v, (set, frozenset)):
        return "%s%r" % (type(v).__name__, sorted(v, key=repr))
    if isinstance(v, (list, tuple)) and any(isinstance(x, (set, frozenset)) for x in v):
        return [norm(x) for x in v]
    return repr(v)


def in_thread(fn):
    """Runs fn on a new thread (a new manager connection, as CPython proxies use one per
    thread); returns a function that joins it and gives its result."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        except Exception as e:
            box["error"] = e

    t = threading.Thread(target=run)
    t.start()

    def join():
        t.join(TIMEOUT)
        if t.is_alive():
            raise SystemExit("a blocked call did not return within %ss" % TIMEOUT)
        if "error" in box:
            raise box["error"]
        return box.get("value")

    return join


# ---------------------------------------------------------------------------- scenarios


def s_Queue(m, r, typeid="Queue"):
    q = getattr(m, typeid)(2)
    r("put", lambda: q.put(1))
    r("put_nowait", lambda: q.put_nowait("two"))
    r("full", lambda: q.full())
    r("put_full_nowait", lambda: q.put(3, False))
    r("put_full_timeout", lambda: q.put(3, True, 0.05))
    r("qsize", lambda: q.qsize())
    r("get", lambda: q.get())
    r("get_nowait", lambda: q.get_nowait())
    r("empty", lambda: q.empty())
    r("get_empty_timeout", lambda: q.get(timeout=0.05))
    r("get_empty_nowait", lambda: q.get_nowait())
    waiter = in_thread(lambda: q.get(timeout=TIMEOUT))
    r("put_for_waiter", lambda: q.put({"k": [1]}))
    r("waiter_got", waiter)
    if PY >= (3, 13):  # Queue.shutdown()
        s = getattr(m, typeid)()
        blocked = in_thread(lambda: s.get(timeout=TIMEOUT))
        r("shutdown", lambda: s.shutdown())
        r("blocked_get_sees_shutdown", blocked)
        s2 = getattr(m, typeid)()
        r("put_then_shutdown", lambda: (s2.put("left"), s2.shutdown()))
        r("put_after_shutdown", lambda: s2.put(1))
        r("get_remaining", lambda: s2.get())
        r("get_when_empty", lambda: s2.get())
        s3 = getattr(m, typeid)()
        r("shutdown_immediate", lambda: (s3.put(1), s3.put(2), s3.shutdown(immediate=True)))
        r("get_after_immediate", lambda: s3.get_nowait())
    if typeid == "JoinableQueue":
        r("task_done_x2", lambda: (q.task_done(), q.task_done()))
        r("task_done_too_many", lambda: q.task_done())
        r("put_again", lambda: q.put(5))
        joiner = in_thread(lambda: q.join())
        r("get_then_done", lambda: (q.get(), q.task_done()))
        r("join_returns", joiner)


def s_JoinableQueue(m, r):
    s_Queue(m, r, "JoinableQueue")


def acquirer(m, r, typeid):
    lock = getattr(m, typeid)()
    r("acquire", lambda: lock.acquire())
    if PY >= (3, 14) and typeid != "Semaphore" and typeid != "BoundedSemaphore":
        r("locked", lambda: lock.locked())
    if typeid in ("RLock", "Condition"):
        r("acquire_again", lambda: lock.acquire(False))
        r("release_once", lambda: lock.release())
    r("other_thread_nonblocking", in_thread(lambda: lock.acquire(False)))
    r("other_thread_timeout", in_thread(lambda: lock.acquire(True, 0.05)))
    r("nonblocking_with_timeout", lambda: lock.acquire(False, 1))
    if typeid in ("RLock", "Condition"):
        r("other_thread_release", in_thread(lambda: lock.release()))
    waiter = in_thread(lambda: (lock.acquire(True, TIMEOUT), lock.release()))
    r("release", lambda: lock.release())
    r("waiter_acquired", waiter)
    if typeid == "Lock":
        r("release_unlocked", lambda: lock.release())
    if typeid in ("RLock", "Condition"):
        r("release_unowned", lambda: lock.release())
    r("with", lambda: [lock.__enter__(), lock.__exit__(None, None, None)])
    if PY >= (3, 14) and typeid in ("Lock", "RLock", "Condition"):
        r("locked_after", lambda: lock.locked())
    return lock


def s_Lock(m, r):
    acquirer(m, r, "Lock")


def s_RLock(m, r):
    acquirer(m, r, "RLock")


def s_Semaphore(m, r, typeid="Semaphore"):
    acquirer(m, r, typeid)
    sem = getattr(m, typeid)(2)
    r("acquire_1", lambda: sem.acquire())
    r("acquire_2", lambda: sem.acquire(timeout=0.05))
    r("acquire_3_times_out", lambda: sem.acquire(timeout=0.05))
    r("release_1", lambda: sem.release())
    r("release_2", lambda: sem.release())
    r("release_over", lambda: sem.release())
    r("negative", lambda: getattr(m, typeid)(-1))
    if PY >= (3, 14):
        r("locked_missing", lambda: sem.locked())


def s_BoundedSemaphore(m, r):
    s_Semaphore(m, r, "BoundedSemaphore")


def s_Condition(m, r):
    acquirer(m, r, "Condition")
    cond = m.Condition()
    flag = m.Value("i", 0)
    r("wait_unowned", lambda: cond.wait(0))
    r("notify_unowned", lambda: cond.notify())
    r("wait_times_out", lambda: (cond.acquire(), cond.wait(0.05), cond.release())[1])

    def consumer():
        with cond:
            return cond.wait_for(lambda: flag.get() == 1, timeout=TIMEOUT)

    waiters = [in_thread(consumer) for _ in range(3)]

    def produce():
        with cond:
            flag.set(1)
            cond.notify_all()

    r("produce", produce)
    r("consumers", lambda: [w() for w in waiters])
    r("notify_n", lambda: (cond.acquire(), cond.notify(2), cond.release()))


def s_Event(m, r):
    ev = m.Event()
    r("is_set", lambda: ev.is_set())
    r("wait_times_out", lambda: ev.wait(0.05))
    waiters = [in_thread(lambda: ev.wait(TIMEOUT)) for _ in range(3)]
    r("set", lambda: ev.set())
    r("waiters", lambda: [w() for w in waiters])
    r("is_set_after", lambda: ev.is_set())
    r("wait_set", lambda: ev.wait())
    r("clear", lambda: ev.clear())
    r("is_set_cleared", lambda: ev.is_set())


def s_Barrier(m, r):
    b = m.Barrier(3)
    r("parties", lambda: b.parties)
    r("n_waiting", lambda: b.n_waiting)
    r("broken", lambda: b.broken)
    parties = [in_thread(lambda: b.wait(TIMEOUT)) for _ in range(3)]
    r("indices", lambda: sorted(p() for p in parties))
    r("timeout_breaks", lambda: b.wait(0.05))
    r("broken_after", lambda: b.broken)
    r("wait_broken", lambda: b.wait(0.05))
    r("reset", lambda: b.reset())
    r("broken_reset", lambda: b.broken)
    r("abort", lambda: b.abort())
    r("broken_abort", lambda: b.broken)
    r("reset_again", lambda: b.reset())
    two = m.Barrier(2, timeout=TIMEOUT)
    r("two", lambda: sorted(p() for p in [in_thread(two.wait), in_thread(two.wait)]))
    if PY >= (3, 13):  # 3.11's threading.Barrier accepts 0 parties
        r("zero_parties", lambda: m.Barrier(0))


def s_Namespace(m, r):
    ns = m.Namespace(a=1, b="two")
    r("get", lambda: (ns.a, ns.b))
    r("set", lambda: setattr(ns, "c", [3]))
    r("get_set", lambda: ns.c)
    r("str", lambda: str(ns))
    r("missing", lambda: ns.zzz)
    r("del", lambda: delattr(ns, "a"))
    r("del_missing", lambda: delattr(ns, "a"))
    r("getvalue", lambda: sorted(vars(ns._getvalue()).items()))


def s_dict(m, r):
    d = m.dict({"a": 1}, b=2)
    r("getitem", lambda: d["a"])
    r("missing", lambda: d["zzz"])
    r("setitem", lambda: d.__setitem__("c", 3))
    r("unhashable", lambda: d.__setitem__([1], 3), message=False)
    r("contains", lambda: ("c" in d, "q" in d))
    r("len", lambda: len(d))
    r("iter", lambda: list(d))
    r("keys_values_items", lambda: (d.keys(), d.values(), d.items()))
    r("get", lambda: (d.get("a"), d.get("q", 0)))
    r("setdefault", lambda: (d.setdefault("a", 9), d.setdefault("e", 5)))
    r("pop", lambda: (d.pop("e"), d.pop("e", None)))
    r("pop_missing", lambda: d.pop("e"))
    r("update", lambda: d.update([("f", 6)], g=7))
    r("delitem", lambda: d.__delitem__("g"))
    r("popitem", lambda: d.popitem())
    r("copy", lambda: d.copy())
    r("getvalue", lambda: d._getvalue())
    if PY >= (3, 14):
        r("or", lambda: d | {"z": 26, "a": 0})
        r("ror", lambda: {"z": 26, "a": 0} | d)
        r("or_not_dict", lambda: d | [1])
        r("reversed", lambda: list(reversed(d)))
        r("fromkeys", lambda: d.fromkeys("xy", 0))

        def ior():
            d2 = d
            d2 |= {"h": 8}
            return d2 is d, d.copy()

        r("ior", ior)
        r("ior_pairs", lambda: d.__ior__([("i", 9)]) is d)
    r("clear", lambda: d.clear())
    r("empty_popitem", lambda: d.popitem())


def s_list(m, r):
    l = m.list([3, 1, 2])
    r("getitem", lambda: (l[0], l[-1]))
    r("out_of_range", lambda: l[10])
    r("setitem", lambda: l.__setitem__(0, 30))
    r("len_contains", lambda: (len(l), 30 in l, 4 in l))
    r("append_extend", lambda: (l.append(4), l.extend([5, 6])))
    r("iadd", lambda: (l.__iadd__([7]), l._getvalue())[1])
    r("add", lambda: l + [8])
    r("insert", lambda: l.insert(1, "x"))
    r("index_count", lambda: (l.index("x"), l.count(30)))
    r("index_missing", lambda: l.index("nope"), message=False)
    r("remove", lambda: l.remove("x"))
    r("pop", lambda: (l.pop(), l.pop(0)))
    r("delitem", lambda: l.__delitem__(0))
    r("reverse", lambda: (l.reverse(), l._getvalue())[1])
    r("sort", lambda: (l.sort(), l._getvalue())[1])
    r("sort_reverse", lambda: (l.sort(reverse=True), l._getvalue())[1])
    r("reversed", lambda: list(reversed(l)))
    r("mul", lambda: (l * 2, 2 * l))
    r("imul", lambda: (l.__imul__(2), l._getvalue())[1])
    r("mul_str", lambda: l * "a")
    r("iter", lambda: list(l))
    r("sort_mixed", lambda: (l.append("s"), l.sort())[1])
    if PY >= (3, 14):
        r("copy", lambda: l.copy())
        r("clear", lambda: (l.clear(), len(l))[1])
    r("pop_empty", lambda: m.list().pop())


def s_set(m, r):
    if PY < (3, 14):
        r("no_set_before_3_14", lambda: hasattr(m, "set"))
        return
    s = m.set([1, 2, 3])
    r("len_contains", lambda: (len(s), 2 in s, 9 in s))
    r("iter", lambda: sorted(s))
    r("add_discard", lambda: (s.add(4), s.discard(1), s.discard(99)))
    r("remove_missing", lambda: s.remove(99))
    r("operators", lambda: (s & {2, 9}, s | {9}, s - {2}, s ^ {2, 9}))
    r("reflected", lambda: ({2, 9} & s, {9} | s, {2, 9, 10} - s, {2, 9} ^ s))
    r("compare", lambda: (s <= {2, 3, 4, 5}, s < {2, 3, 4}, s >= {2}, s > {2, 3, 4}))
    r("not_a_set", lambda: s & [1])
    r("methods", lambda: (s.union([7], (8,)), s.intersection([2, 3]), s.difference({2}),
                          s.symmetric_difference([2, 7])))
    r("predicates", lambda: (s.isdisjoint([9]), s.issubset(range(10)), s.issuperset([2])))
    r("updates", lambda: (s.update([5]), s.intersection_update([2, 3, 4, 5]),
                          s.difference_update([5]), s.symmetric_difference_update([2, 6]),
                          s.copy()))

    def inplace():
        t = s
        t |= {10}
        t &= {3, 4, 10}
        t -= {3}
        t ^= {11}
        return t is s, s.copy()

    r("inplace", inplace)
    r("unhashable", lambda: s.add([1]), message=False)
    r("pop", lambda: (len(s), s.pop() in {4, 10, 11}, len(s)))
    r("clear", lambda: (s.clear(), len(s))[1])
    r("pop_empty", lambda: s.pop())
    r("getvalue", lambda: m.set("abc")._getvalue())


def s_Value(m, r):
    v = m.Value("i", 5)
    r("get", lambda: v.get())
    r("set", lambda: v.set(7))
    r("value", lambda: v.value)
    r("value_set", lambda: (setattr(v, "value", "x"), v.get())[1])
    r("getvalue_str", lambda: str(m.Value("d", 1.5)))


def s_Array(m, r):
    a = m.Array("i", [1, 2, 3])
    r("len", lambda: len(a))
    r("getitem", lambda: (a[0], a[-1]))
    r("slice", lambda: (a[:], a[1:], a[::2]))
    r("setitem", lambda: (a.__setitem__(1, 20), list(a)))
    r("out_of_range", lambda: a[3])
    r("bad_type", lambda: a.__setitem__(0, "x"))
    r("overflow", lambda: a.__setitem__(0, 2**40))
    r("floats", lambda: list(m.Array("f", [0.1, 2])))
    r("doubles", lambda: list(m.Array("d", [0.1, 2])))
    r("bytes_u", lambda: list(m.Array("B", [0, 255])))
    r("bad_typecode", lambda: m.Array("z", [1]))
    r("unsigned_negative", lambda: m.Array("B", [-1]))


def s_Pool(m, r):
    r("unknown", lambda: m._create("NoSuchTypeid"))
    r("pool", lambda: m.Pool(1))


# ---------------------------------------------------------------------------- main


def main():
    typeid, authkey, addresses = sys.argv[1], sys.argv[2].encode(), sys.argv[3:]
    scenario = globals()["s_" + typeid]
    for address in addresses:
        m = SyncManager(address=parse_address(address), authkey=authkey)
        m.connect()
        r = Recorder()
        scenario(m, r)
        # Every proxy of the scenario is gone now: what does the server still hold?
        gc.collect()
        r("objects_left", m._number_of_objects)
        print("TRANSCRIPT %s %s" % (address, json.dumps(r.steps)), flush=True)
    print("OK")


if __name__ == "__main__":
    main()
