"""CPython side of the transport benchmarks; speaks the commands of tests/peers/bench_peer.rs.

  PYTHON bench/transport_py.py serve ADDRESS
  PYTHON bench/transport_py.py echo-serve ADDRESS   (objects straight back, like mpconn listen --echo)
  PYTHON bench/transport_py.py client ADDRESS rtt|stream N SIZE
  PYTHON bench/transport_py.py client ADDRESS dicts N      (send/recv of 1000 small dicts)
ADDRESS is HOST:PORT or a path containing '/'. Prints seconds (per round trip for rtt).
"""
import sys
import threading
import time
from multiprocessing.connection import Client, Listener


def parse(address):
    if "/" in address:
        return address
    host, port = address.rsplit(":", 1)
    return (host, int(port))


def serve_one(conn):
    buf = bytearray(1)
    while True:
        try:
            cmd = conn.recv_bytes().split()
        except EOFError:
            return
        name, size, n = cmd[0], int(cmd[1]), int(cmd[2])
        if len(buf) < max(size, 1):
            buf = bytearray(max(size, 1))
        if name == b"rtt":
            for _ in range(n):
                k = conn.recv_bytes_into(buf)
                conn.send_bytes(buf, 0, k)
        elif name == b"stream":
            for _ in range(n):
                conn.recv_bytes_into(buf)
            conn.send_bytes(b"ok")
        elif name == b"send":
            data = bytes(size)
            for _ in range(n):
                conn.send_bytes(data)


def echo_one(conn):
    # What `mpconn listen --echo` does: every object straight back.
    try:
        while True:
            conn.send(conn.recv())
    except EOFError:
        return


def serve(address, handler=serve_one):
    with Listener(parse(address), backlog=16) as listener:
        addr = listener.address
        shown = addr if isinstance(addr, str) else "%s:%d" % addr
        print("READY", shown, flush=True)
        while True:
            conn = listener.accept()
            threading.Thread(target=handler, args=(conn,), daemon=True).start()


def dicts_payload():
    t = (1, 2, 3)
    return [{"id": i, "name": "item%d" % i, "price": i * 0.5, "tags": t} for i in range(1000)]


def client(address, mode, n, size):
    conn = Client(parse(address))
    if mode == "rtt":
        data = bytes(size)
        buf = bytearray(max(size, 1))
        conn.send_bytes(b"rtt %d %d" % (size, n))
        t0 = time.perf_counter()
        for _ in range(n):
            conn.send_bytes(data)
            conn.recv_bytes_into(buf)
        print("%.9f" % ((time.perf_counter() - t0) / n))
    elif mode == "stream":
        data = bytes(size)
        conn.send_bytes(b"stream %d %d" % (size, n))
        t0 = time.perf_counter()
        for _ in range(n):
            conn.send_bytes(data)
        conn.recv_bytes()
        print("%.9f" % (time.perf_counter() - t0))
    elif mode == "dicts":
        obj = dicts_payload()
        t0 = time.perf_counter()
        for _ in range(n):
            conn.send(obj)
            back = conn.recv()
        assert back == obj
        print("%.9f" % ((time.perf_counter() - t0) / n))
    conn.close()


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2])
    elif sys.argv[1] == "echo-serve":
        serve(sys.argv[2], echo_one)
    else:
        client(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]) if len(sys.argv) > 5 else 0)
