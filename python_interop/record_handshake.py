"""Record CPython's own handshake and frame bytes as fixtures for the Rust tests.

Run it with each interpreter; it writes fixtures/handshake/<major.minor>.json and
fixtures/frames/<major.minor>.json next to this repository's root:

    python3 python_interop/record_handshake.py
    /var/cache/mpconn/pythons/bin/python3.13 python_interop/record_handshake.py

Every byte comes from CPython's multiprocessing.connection functions: os.urandom is
replaced by a fixed byte pattern so that the challenges are reproducible, and the
connection is a fake object recording what CPython sends and feeding what it reads.
Each case is one JSON object on its own line whose values are all strings (bytes in hex),
so the Rust tests can read the file without a JSON library.
"""

import json
import os
import socket
import struct
import sys
from multiprocessing import connection as mpc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERSION = "%d.%d" % sys.version_info[:2]
MODERN = sys.version_info >= (3, 12)
DIGESTS = ["md5", "sha256", "sha384", "sha3_256", "sha3_384"]
KEYS = [b"secret key", b""]
WRONG_KEY = b"wrong key"


def fixed_random(n):
    """The bytes os.urandom returns while recording: 0x00, 0x07, 0x0e, ..."""
    return bytes((i * 7) % 256 for i in range(n))


class FakeConnection:
    """Records send_bytes; serves recv_bytes from a queue (with CPython's maxlength check)."""

    def __init__(self, incoming=()):
        self.sent = []
        self.incoming = list(incoming)

    def send_bytes(self, buf):
        self.sent.append(bytes(buf))

    def recv_bytes(self, maxlength=None):
        msg = self.incoming.pop(0)
        if maxlength is not None and len(msg) > maxlength:
            raise OSError("bad message length")
        return msg


def deliver(key, digest, response):
    """Runs CPython's deliver_challenge; returns (challenge, verdict) as bytes/str."""
    conn = FakeConnection([response])
    saved = os.urandom
    os.urandom = fixed_random
    try:
        if digest is None:
            mpc.deliver_challenge(conn, key)
        else:
            mpc.deliver_challenge(conn, key, digest_name=digest)
        outcome = "ok"
    except mpc.AuthenticationError:
        outcome = "AuthenticationError"
    finally:
        os.urandom = saved
    return conn.sent[0], conn.sent[1], outcome


def answer(key, challenge):
    """Runs CPython's answer_challenge on `challenge`; returns the answer it sends."""
    conn = FakeConnection([challenge, b"#WELCOME#"])
    try:
        mpc.answer_challenge(conn, key)
    except Exception as e:  # 3.11 refuses a bad prefix with AssertionError

        return None, type(e).__name__
    return conn.sent[0], "ok"


def challenge_frames():
    """Challenges in every form a peer of any version may send."""
    frames = {"legacy": b"#CHALLENGE#" + fixed_random(20)}
    for d in DIGESTS:
        frames[d] = b"#CHALLENGE#" + b"{%s}" % d.encode() + fixed_random(40)
    return frames


def handshake_cases():
    cases = []
    # 1. The challenge CPython delivers, and its verdict on answers CPython computes.
    delivered = [None] + (DIGESTS if MODERN else [])
    for key in KEYS:
        for digest in delivered:
            # First learn the challenge (the fixed random makes it reproducible).
            challenge, _, _ = deliver(key, digest, b"x" * 16)
            good, _ = answer(key, challenge)
            bad, _ = answer(WRONG_KEY, challenge)
            for label, response in (("right key", good), ("wrong key", bad)):
                ch, verdict_msg, outcome = deliver(key, digest, response)
                assert ch == challenge
                cases.append({
                    "kind": "deliver",
                    "digest": digest or "default",
                    "key": key.hex(),
                    "challenge": challenge.hex(),
                    "response": response.hex(),
                    "reply": verdict_msg.hex(),
                    "outcome": outcome,
                    "note": label,
                })
    # 2. The answer CPython gives to every form of challenge.
    for key in KEYS:
        for form, challenge in challenge_frames().items():
            response, outcome = answer(key, challenge)
            cases.append({
                "kind": "answer",
                "digest": form,
                "key": key.hex(),
                "challenge": challenge.hex(),
                "response": (response or b"").hex(),
                "outcome": outcome,
            })
    # 3. Verdicts on answers in a digest other than the challenged one (modern only):
    #    CPython accepts any allowed digest, and a bare 16-byte MD5.
    if MODERN:
        key = KEYS[0]
        challenge, _, _ = deliver(key, "sha256", b"x" * 16)
        message = challenge[len(b"#CHALLENGE#"):]
        import hmac
        responses = {"bare md5": hmac.new(key, message, "md5").digest()}
        for d in DIGESTS:
            responses["{%s}" % d] = b"{%s}" % d.encode() + hmac.new(key, message, d).digest()
        responses["unknown digest"] = b"{sha1}" + hmac.new(key, message, "sha1").digest()
        responses["truncated mac"] = responses["{sha256}"][:-1]
        for label, response in responses.items():
            _, verdict_msg, outcome = deliver(key, "sha256", response)
            cases.append({
                "kind": "deliver",
                "digest": "sha256",
                "key": key.hex(),
                "challenge": challenge.hex(),
                "response": response.hex(),
                "reply": verdict_msg.hex(),
                "outcome": outcome,
                "note": label,
            })
    # 4. Challenges CPython's answerer refuses.
    for label, challenge in (
        ("no prefix", b"#CHALLENGX#" + fixed_random(20)),
        ("too short", b"#CHALLENGE#" + fixed_random(19)),
        ("unknown digest", b"#CHALLENGE#{sha1}" + fixed_random(40)),
    ):
        response, outcome = answer(KEYS[0], challenge)
        cases.append({
            "kind": "answer",
            "digest": label,
            "key": KEYS[0].hex(),
            "challenge": challenge.hex(),
            "response": (response or b"").hex(),
            "outcome": outcome,
        })
    return cases


def frame_cases():
    """What CPython writes on a socket for send_bytes of various sizes."""
    cases = []
    for size in (0, 1, 5, 16384, 16385):
        a, b = socket.socketpair()
        ca = mpc.Connection(a.detach())
        payload = fixed_random(size)
        ca.send_bytes(payload)
        ca.close()
        wire = b""
        while True:
            chunk = b.recv(65536)
            if not chunk:
                break
            wire += chunk
        b.close()
        cases.append({"kind": "send", "size": str(size),
                      "payload": payload.hex(), "wire": wire.hex()})

    # The 64-bit header: let CPython's _send_bytes format a length over 0x7fffffff
    # without the payload (a fake buffer reports the length; only headers are kept).
    class Huge:
        def __init__(self, n):
            self.n = n

        def __len__(self):
            return self.n

    class Recorder(mpc.Connection):
        def _send(self, buf, write=None):
            if not isinstance(buf, Huge):
                self.chunks.append(bytes(buf))

    for n in (0x7fffffff, 0x80000000, 2**62):
        a, b = socket.socketpair()
        rec = Recorder(a.detach())
        rec.chunks = []
        rec._send_bytes(Huge(n))
        b.close()
        cases.append({"kind": "header", "size": str(n), "wire": b"".join(rec.chunks).hex()})

    # What CPython's receiver makes of a 64-bit header announcing a small length.
    a, b = socket.socketpair()
    cb = mpc.Connection(b.detach())
    wire = struct.pack("!i", -1) + struct.pack("!Q", 5) + b"hello"
    a.sendall(wire)
    got = cb.recv_bytes()
    a.close()
    cb.close()
    cases.append({"kind": "recv", "size": "5", "wire": wire.hex(), "payload": got.hex()})
    return cases


def write(folder, cases):
    path = os.path.join(ROOT, "fixtures", folder, VERSION + ".json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write('{"python": "%s", "cases": [\n' % sys.version.split()[0])
        f.write(",\n".join(json.dumps(c) for c in cases))
        f.write("\n]}\n")
    print("wrote", path, len(cases), "cases")


if __name__ == "__main__":
    write("handshake", handshake_cases())
    write("frames", frame_cases())
