#!/usr/bin/env python3
"""Seeds fuzz/corpus/<target>/ from the CPython-recorded fixtures in fixtures/.

* pickle_decode, pickle_roundtrip, typed_decode, view_decode: every pickle in fixtures/pickles/*.json,
  fixtures/dumps/*.json and fixtures/lossless/*/*.pkl.
* frame_decode: every recorded wire frame (sends, long headers, a long-header receive),
  and a few frames carrying pickles, behind the two configuration bytes.
* handshake: every recorded answer (deliverer role) and challenge (answerer role),
  behind the digest and key-length bytes and the key.
* connection_recv: frames and framed pickles for the no-handshake modes, and a
  recorded challenge followed by #WELCOME# and messages for the answering mode.

Run from anywhere; it rewrites only the seed files it names (sha1 of the content), so
whatever the fuzzer added to the corpus stays.
"""
import hashlib
import json
import pathlib
import re
import struct

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures"
CORPUS = ROOT / "fuzz" / "corpus"

# Digest order of mpconn::Digest::ALL.
MAX_SEED = 65536 - 16

DIGESTS = ["legacy", "md5", "sha256", "sha384", "sha3_256", "sha3_384"]


def frame(payload: bytes) -> bytes:
    if len(payload) <= 0x7FFFFFFF:
        return struct.pack(">i", len(payload)) + payload
    return struct.pack(">iQ", -1, len(payload)) + payload


def write(target: str, data: bytes) -> None:
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / ("seed-" + hashlib.sha1(data).hexdigest())).write_bytes(data)


def unhex(s: str) -> bytes:
    """Hex, where `(HEX*N)` stands for HEX repeated N times (how long fixtures are kept)."""
    return bytes.fromhex(re.sub(r"\(([0-9a-f]+)\*(\d+)\)", lambda m: m[1] * int(m[2]), s))


def pickles():
    out = []
    for path in sorted((FIX / "pickles").glob("*.json")):
        out += [unhex(r["pickle"]) for r in json.loads(path.read_text())]
    for path in sorted((FIX / "dumps").glob("*.json")):
        out += [unhex(r["pickle"]) for r in json.loads(path.read_text())["records"]]
    # cloudpickle / dill pickles (effects: discarded calls, state setters, late fills).
    out += [p.read_bytes() for p in sorted((FIX / "lossless").glob("*/*.pkl"))]
    # Seeds over 64 KiB would slow every mutation: the fuzzer runs with -max_len=65536.
    return [p for p in dict.fromkeys(out) if len(p) <= MAX_SEED]


def cases(folder):
    for path in sorted((FIX / folder).glob("*.json")):
        yield from json.loads(path.read_text())["cases"]


def main():
    ps = pickles()
    for p in ps:
        write("pickle_decode", p)
        write("pickle_roundtrip", p)
        write("typed_decode", p)
        write("view_decode", p)

    wires = list(dict.fromkeys(bytes.fromhex(c["wire"]) for c in cases("frames")))
    # Big recorded sends would make slow seeds: keep them short.
    wires = [w for w in wires if len(w) <= 4096]
    framed = [frame(p) for p in ps if len(p) <= 2048]
    for i, w in enumerate(wires):
        for cfg in (0, 1, 2, 3):
            write("frame_decode", bytes([cfg, i]) + w)
    for i in range(0, len(framed), 8):
        write("frame_decode", bytes([3, i % 256]) + b"".join(framed[i : i + 8]))

    for c in cases("handshake"):
        key = bytes.fromhex(c["key"])
        name = c["digest"]
        digest = DIGESTS.index(name) if name in DIGESTS else 2
        head = bytes([digest, len(key)]) + key
        if c["kind"] == "deliver":
            write("handshake", head + bytes.fromhex(c["response"]))
        write("handshake", head + bytes.fromhex(c["challenge"]))
    write("handshake", bytes([0, 0]) + b"#WELCOME#")

    challenges = list(dict.fromkeys(bytes.fromhex(c["challenge"]) for c in cases("handshake")))
    for i in range(0, len(framed), 16):
        msgs = b"".join(framed[i : i + 16])
        # Mode byte, then the byte that seeds the read sizes.
        write("connection_recv", bytes([0, i % 256]) + msgs)  # recv_bytes
        write("connection_recv", bytes([4, i % 256]) + msgs)  # recv (unpickle)
        write("connection_recv", bytes([12 | 32, i % 256]) + msgs)  # into, abandoned
        ch = challenges[(i // 16) % len(challenges)]
        write("connection_recv", bytes([2 | 4, i % 256]) + frame(ch) + frame(b"#WELCOME#") + msgs)
    for w in wires:
        write("connection_recv", bytes([0, 1]) + w)
        write("connection_recv", bytes([16, 2]) + w)
        write("connection_recv", bytes([8 | 32, 3]) + w)
    for target in sorted(p.name for p in CORPUS.iterdir()):
        print(f"{target}: {len(list((CORPUS / target).iterdir()))} files")


if __name__ == "__main__":
    main()
