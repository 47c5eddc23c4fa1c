"""Shared helpers for the CPython peer scripts (stdlib only; runs on 3.11 to 3.15 unchanged).

Addresses on the command line use the same forms as the Rust side and the `mpconn` CLI:
``host:port``, ``[v6]:port``, a filesystem path (contains ``/``) and ``@name`` for the Linux
abstract namespace (``'\\0name'`` in Python).
"""

import random
import sys

#: Exit status of a peer whose digest challenge failed (it also prints ``AUTH_FAILED``).
EXIT_AUTH = 3
#: Exit status of a peer that received different bytes than it sent.
EXIT_MISMATCH = 2
#: First bytes of a reply in which the Rust round-trip peer reports an error (0xff is not a
#: pickle opcode, so no pickle starts with it).
ERROR_PREFIX = b"\xffMPCONN-ERROR:"


def parse_address(text):
    """Turns a command-line address into what multiprocessing.connection accepts."""
    if text.startswith("@"):
        return "\0" + text[1:]
    if "/" in text:
        return text
    if text.startswith("["):
        host, _, port = text[1:].rpartition("]:")
        return (host, int(port))
    host, _, port = text.rpartition(":")
    if not host:
        raise SystemExit("bad address %r: want host:port, [v6]:port, a path or @name" % text)
    return (host, int(port))


def format_address(address):
    """The command-line form of a Listener's address (str path, '\\0name' or bytes, tuple)."""
    if isinstance(address, bytes):
        address = address.decode("utf-8", "surrogateescape")
    if isinstance(address, str):
        if address.startswith("\0"):
            return "@" + address[1:]
        return address
    host, port = address[0], address[1]
    if ":" in host:
        return "[%s]:%d" % (host, port)
    return "%s:%d" % (host, port)


def payload(seed, size):
    """Deterministic pseudo-random bytes of the given size."""
    return random.Random("%s-%d" % (seed, size)).randbytes(size)


def big_payload(size, seed=1):
    """A large message built from a repeated 1 MiB random block (cheap to make and compare)."""
    block = random.Random("big-%s" % seed).randbytes(1 << 20)
    whole, rest = divmod(size, len(block))
    return block * whole + block[:rest]


def say(*parts):
    """Prints one protocol line and flushes (the harness reads stdout line by line)."""
    print(*parts, flush=True)


def parse_sizes(text):
    """``"0,1,16384"`` -> ``[0, 1, 16384]``."""
    return [int(s) for s in text.split(",") if s.strip()]


def authkey_arg(text):
    """The authkey as bytes (the command line gives it as UTF-8 text), or None."""
    if text is None:
        return None
    return text.encode("utf-8")


def version():
    """``"3.14"``: for log lines."""
    return "%d.%d" % sys.version_info[:2]
