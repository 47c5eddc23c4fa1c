"""CPython's side of the shared memory tests (python_interop/test_shared_memory.py).

Usage: python shared_memory_peer.py SCENARIO RUST_PEER LAUNCHER [ADDRESS AUTHKEY]

RUST_PEER is the built tests/peers/shared_memory_peer.rs; LAUNCHER is how to start this same
interpreter (the provisioned 3.13+ run through a launcher script, which the resource
tracker and child processes must use too). Each scenario checks its own results, prints
"OK <scenario>" last and exits 0; any mismatch raises.

Scenarios:
  python_creates  Python creates a SharedMemory and a ShareableList; Rust reads and writes
  rust_creates    Rust creates both; Python attaches, reads and writes
  same_bytes      Rust's layout of a list == the block CPython's ShareableList writes
  pickled         pickled SharedMemory / ShareableList (what conn.send sends) both ways
  tracker         what CPython's resource_tracker does to blocks Rust created / unlinked
  manager_client  a CPython SharedMemoryManager client against the Rust server at ADDRESS
  manager_server  a CPython SharedMemoryManager server (prints READY <address>)
  tracker_child   (internal) attaches to argv[4] with the default tracking and exits
"""

import ast
import multiprocessing
import pickle
import subprocess
import sys

from _common import authkey_arg, format_address, parse_address, say

from multiprocessing import resource_tracker
from multiprocessing.managers import SharedMemoryManager, dispatch
from multiprocessing.shared_memory import ShareableList, SharedMemory

SCENARIO, RUST, LAUNCHER = sys.argv[1], sys.argv[2], sys.argv[3]
EXTRA = sys.argv[4:]
if LAUNCHER != sys.executable:
    multiprocessing.set_executable(LAUNCHER)

LISTS = [
    [],
    [1, 2.5, True, None, "hé", b"ab", ""],
    [-1, -0.0, False, "abcdefgh", b"12345678", "x" * 20, 2**63 - 1, -(2**63)],
    ["éééé", "日本", "\U0001f600", "a\x00b", "a" * 15, b"c" * 7],
]


def rust(*args, check=True):
    out = subprocess.run([RUST, *map(str, args)], capture_output=True, text=True, timeout=60)
    if check and out.returncode != 0:
        raise AssertionError("rust %s failed: %s" % (args, out.stderr))
    return out


def rust_lines(*args):
    return dict(line.split(" ", 1) for line in rust(*args).stdout.splitlines())


def untrack(shm):
    """Attached blocks that Rust owns: keep this process's tracker from unlinking them."""
    resource_tracker.unregister(shm._name, "shared_memory")


def expect(actual, wanted, what):
    if actual != wanted:
        raise AssertionError("%s: got %r, want %r" % (what, actual, wanted))


def python_creates():
    values = [1, 2.5, True, None, "hé", b"ab", "", "abcdefghij"]
    sl = ShareableList(values)
    shm = SharedMemory(create=True, size=4099)
    try:
        shm.buf[:5] = b"hello"
        shm.buf[4094:] = b"world"
        got = rust_lines("list-read", sl.shm.name)
        expect(ast.literal_eval(got["ITEMS"]), values, "Rust reads Python's list")
        expect(got["FORMAT"], sl.format, "format")
        # Rust writes every type, into slots of every kind.
        for index, literal in [
            (0, "'12345678'"), (1, "b'xyz'"), (2, "None"), (3, "-5"),
            (4, "3.25"), (5, "True"), (6, "'日'"), (7, "'0123456789abcde'"),
        ]:
            rust("list-set", sl.shm.name, index, literal)
            expect(sl[index], ast.literal_eval(literal), "sl[%d] after Rust set it" % index)
        # A str longer than its slot is refused, as CPython refuses it.
        out = rust("list-set", sl.shm.name, 0, "'123456789'", check=False)
        expect((out.returncode, "TooLong" in out.stderr), (1, True), "too long: " + out.stderr)
        try:
            sl[0] = "123456789"
            raise AssertionError("CPython accepted a str longer than its slot")
        except ValueError:
            pass
        got = rust_lines("shm-read", shm.name)
        expect(int(got["SIZE"]), shm.size, "size")
        expect(bytes.fromhex(got["BYTES"]), bytes(shm.buf), "Rust reads Python's block")
        rust("shm-write", shm.name, 4090, "00ff10")
        expect(bytes(shm.buf[4089:4094]), b"\x00\x00\xff\x10\x00", "memoryview after Rust wrote")
        out = rust("shm-write", shm.name, 4098, "0000", check=False)
        expect((out.returncode, "OutOfBounds" in out.stderr), (1, True), "write past the end")
    finally:
        for block in (sl.shm, shm):
            block.close()
            block.unlink()


def rust_creates():
    values = [7, 1.5, False, None, "text", b"\x00\x01raw", "日本語"]
    name = rust("list-create", repr(values)).stdout.strip()
    block_name = rust("shm-create", 200, "cafe").stdout.strip()
    try:
        expect(name.startswith("psm_") and len(name) == 12, True, "CPython-style name " + name)
        sl = ShareableList(name=name)
        untrack(sl.shm)
        expect(list(sl), values, "Python reads Rust's list")
        sl[0] = "seven"
        sl[3] = 2**40
        sl[4] = b"bytes!"
        sl[6] = None
        got = rust_lines("list-read", name)
        expect(ast.literal_eval(got["ITEMS"]), list(sl), "Rust reads Python's writes")
        expect(got["FORMAT"], sl.format, "format")
        shm = SharedMemory(block_name)
        untrack(shm)
        expect(shm.size, 200, "size of a Rust block")
        expect(bytes(shm.buf[:3]), b"\xca\xfe\x00", "Python reads Rust's block")
        view = memoryview(shm.buf)
        view[100:104] = b"abcd"
        view.release()
        got = rust_lines("shm-read", block_name)
        expect(bytes.fromhex(got["BYTES"])[100:104], b"abcd", "Rust reads Python's write")
        sl.shm.close()
        shm.close()
    finally:
        rust("unlink", name)
        rust("unlink", block_name)
    for gone in (name, block_name):
        try:
            SharedMemory(gone, track=False) if sys.version_info >= (3, 13) else SharedMemory(gone)
            raise AssertionError("Rust's unlink left " + gone)
        except FileNotFoundError:
            pass


def same_bytes():
    for values in LISTS:
        sl = ShareableList(values)
        try:
            ours = bytes.fromhex(rust("list-bytes", repr(values)).stdout.strip())
            expect(ours, bytes(sl.shm.buf), "Rust's layout of %r" % (values,))
        finally:
            sl.shm.close()
            sl.shm.unlink()


def pickled():
    shm = SharedMemory(create=True, size=300)
    sl = ShareableList([1, "x", None])
    try:
        shm.buf[:3] = b"abc"
        for proto in range(pickle.HIGHEST_PROTOCOL + 1):
            got = rust("pickled-read", pickle.dumps(shm, proto).hex()).stdout.split()
            expect(got, ["SHM", shm.name, str(shm.size)], "Rust reads a pickled SharedMemory")
            got = rust("pickled-read", pickle.dumps(sl, proto).hex()).stdout.strip()
            expect(got, "LIST %s %r" % (sl.shm.name, list(sl)), "pickled ShareableList")
        made = rust("pickled-make", "shm", shm.name).stdout.strip()
        shm2 = pickle.loads(bytes.fromhex(made))
        expect((type(shm2), shm2.name, shm2.size), (SharedMemory, shm.name, 300), "unpickled")
        expect(bytes(shm2.buf[:3]), b"abc", "the same block")
        made = rust("pickled-make", "list", sl.shm.name).stdout.strip()
        sl2 = pickle.loads(bytes.fromhex(made))
        expect((type(sl2), list(sl2)), (ShareableList, [1, "x", None]), "unpickled list")
        sl2[0] = 5
        expect(sl[0], 5, "the same list")
        shm2.close()
        sl2.shm.close()
    finally:
        for block in (sl.shm, shm):
            block.close()
            block.unlink()


def child(*args):
    """This interpreter on this script; returns (rc, stdout, stderr). stderr is read to
    EOF, which comes when the child's resource tracker has exited too (it inherits it):
    so its clean-up has run when this returns."""
    argv = [LAUNCHER, __file__, "tracker_child", RUST, LAUNCHER, *args]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return out.returncode, out.stdout, out.stderr


def exists(name):
    return rust("shm-read", name, check=False).returncode == 0


def tracker():
    # 1. Rust creates; a Python process attaches with the default tracking and exits
    #    without unlink: its tracker unlinks the block Rust owns, and warns.
    name = rust("shm-create", 64, "01").stdout.strip()
    rc, _, err = child("attach", name)
    expect(rc, 0, "child: " + err)
    expect(exists(name), False, "a tracked attachment's exit removes Rust's block")
    expect("leaked shared_memory" in err, True, "tracker warning: " + err)
    # 2. The same without tracking (track=False on 3.13+, unregister on 3.11): it stays.
    name = rust("shm-create", 64, "02").stdout.strip()
    try:
        rc, _, err = child("attach-untracked", name)
        expect(rc, 0, "child: " + err)
        expect(exists(name), True, "an untracked attachment leaves the block")
        expect("leaked" in err, False, "no tracker warning: " + err)
    finally:
        rust("unlink", name)
    # 3. Python creates, Rust unlinks: at exit Python's tracker reports a leak it cannot
    #    clean up (the block is gone already).
    rc, out, err = child("create-rust-unlinks")
    expect(rc, 0, "child: " + err)
    expect(exists(out.strip()), False, "Rust unlinked Python's block")
    expect("leaked shared_memory" in err and "No such file or directory" in err, True,
           "tracker warnings: " + err)


def tracker_child():
    what = EXTRA[0]
    if what == "attach":
        SharedMemory(EXTRA[1]).close()
    elif what == "attach-untracked":
        if sys.version_info >= (3, 13):
            SharedMemory(EXTRA[1], track=False).close()
        else:
            shm = SharedMemory(EXTRA[1])
            untrack(shm)
            shm.close()
    elif what == "create-rust-unlinks":
        shm = SharedMemory(create=True, size=32)
        rust("unlink", shm.name)
        print(shm.name)
        shm.close()
    else:
        raise SystemExit("unknown child " + what)


def gone(name):
    try:
        shm = SharedMemory(name)
    except FileNotFoundError:
        return True
    untrack(shm)
    shm.close()
    return False


def manager_client():
    address, key = parse_address(EXTRA[0]), authkey_arg(EXTRA[1])
    m = SharedMemoryManager(address=address, authkey=key)
    m.connect()
    sm = m.SharedMemory(64)
    sl = m.ShareableList([1, "two", None])
    # The server (Rust) unlinks these; this process's tracker must not report them.
    untrack(sm)
    untrack(sl.shm)
    sm.buf[:4] = b"abcd"

    def control(name, *args):
        with m._Client(address, authkey=key) as conn:
            return dispatch(conn, None, name, args)

    expect(control("list_segments"), [sm.name, sl.shm.name], "list_segments")
    control("release_segment", sm.name)
    expect(gone(sm.name), True, "release_segment unlinked the block")
    expect(control("list_segments"), [sl.shm.name], "list_segments after release")
    try:
        control("release_segment", sm.name)
        raise AssertionError("releasing an untracked name succeeded")
    except Exception as e:  # RemoteError, as from CPython's server
        expect("ValueError" in str(e), True, "release twice: %s" % e)
    expect(list(sl), [1, "two", None], "list")
    expect(control("number_of_objects"), 0, "no shared objects")
    control("shutdown")
    expect(gone(sl.shm.name), True, "shutdown unlinked the tracked list")
    sm.close()
    sl.shm.close()


def manager_server():
    key = authkey_arg(EXTRA[0])
    m = SharedMemoryManager(address=("127.0.0.1", 0), authkey=key)
    server = m.get_server()
    say("READY", format_address(server.address))
    server.serve_forever()


if __name__ == "__main__":
    if SCENARIO == "tracker_child":
        tracker_child()
        sys.exit(0)
    globals()[SCENARIO]()
    say("OK", SCENARIO)
