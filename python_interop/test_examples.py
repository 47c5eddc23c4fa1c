"""The seed programs in examples/ against their CPython originals in seeds/, both directions,
for every interpreter the harness provides.

The expected output is what the CPython pair prints talking to itself (run in the same
test), so nothing here is written down from our own encoder.
"""
from __future__ import annotations

import shutil

import pytest

from cli_support import (
    HAVE_HARNESS, Interp, Procs, abstract_name, cargo_bin, interpreters, pyfile, python_env,
    run, unix_path,
)

if not HAVE_HARNESS:  # stand-in until conftest.py provides it; the real fixture wins
    @pytest.fixture(params=interpreters(), ids=[i for i, _ in interpreters()])
    def interp(request):
        ident, exe = request.param
        if shutil.which(exe) is None:
            pytest.skip(f'{exe} is not installed')
        return Interp(ident, exe)


@pytest.fixture
def procs():
    p = Procs()
    yield p
    p.close()


def rust(name):
    return [cargo_bin(name)]


def py(interp, name):
    return [interp.exe, pyfile(name)]


def client_lines(argv, address):
    done = run([*argv, address], env=python_env())
    assert done.returncode == 0, f'{argv} failed:\n{done.stdout}\n{done.stderr}'
    return done.stdout.splitlines()


def converse(procs, server, client, address='127.0.0.1:0', server_exits=False):
    """Runs `server` (until 'listening on'), then `client` against it.

    Returns (client's lines, server's lines after 'listening on' when it exits by itself).
    """
    proc, bound = procs.server([*server, address], env=python_env())
    lines = client_lines(client, bound)
    served = None
    if server_exits:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, f'{server} failed:\n{out}\n{err}'
        served = out.splitlines()
    return lines, served


def after_accept(lines):
    """A server's lines after its 'connection accepted from ...' line (peer addresses vary)."""
    assert lines and lines[0].startswith('connection accepted from'), lines
    return lines[1:]


def loose_global_line(rust_line, python_line, prefix):
    """Lines ending in a class or function: Python prints `<class 'float'>`; a Rust
    program prints the global as `Value`'s Display does. The rest must agree exactly."""
    assert python_line.startswith(prefix), python_line
    assert rust_line.startswith(prefix), rust_line


# --- echo server / client (authkey b'peekaboo') ----------------------------------------------

def test_rust_echo_server_serves_the_cpython_echo_client(procs, interp):
    expected, _ = converse(procs, py(interp, 'echo_server.py'), py(interp, 'echo_client.py'))
    got, _ = converse(procs, rust('echo_server'), py(interp, 'echo_client.py'))
    assert got == expected
    assert expected[-1] == "[2.25, None, 'junk', <class 'float'>]"


def test_rust_echo_client_against_the_cpython_echo_server(procs, interp):
    expected, _ = converse(procs, py(interp, 'echo_server.py'), py(interp, 'echo_client.py'))
    got, _ = converse(procs, py(interp, 'echo_server.py'), rust('echo_client'))
    assert len(got) == len(expected)
    assert got[:-1] == expected[:-1]
    loose_global_line(got[-1], expected[-1], "[2.25, None, 'junk', ")


# --- print until 'close' (authkey b'secret password'), over a Unix socket --------------------

def test_rust_print_until_close_serves_the_cpython_client(procs, interp, tmp_path):
    address = unix_path(tmp_path)
    _, expected = converse(procs, py(interp, 'print_until_close.py'),
                           py(interp, 'close_client.py'), address, server_exits=True)
    _, got = converse(procs, rust('print_until_close'), py(interp, 'close_client.py'),
                      address, server_exits=True)
    got, expected = after_accept(got), after_accept(expected)
    assert expected == ["['a', 2.5, None, <class 'int'>, <built-in function sum>]", "'close'"]
    assert len(got) == 2 and got[1] == "'close'"
    loose_global_line(got[0], expected[0], "['a', 2.5, None, ")


def test_rust_close_client_against_cpython_print_until_close(procs, interp, tmp_path):
    address = unix_path(tmp_path)
    _, expected = converse(procs, py(interp, 'print_until_close.py'),
                           py(interp, 'close_client.py'), address, server_exits=True)
    _, got = converse(procs, py(interp, 'print_until_close.py'), rust('close_client'),
                      address, server_exits=True)
    assert after_accept(got) == after_accept(expected)


# --- x + y server (authkey b'secret password'), over the abstract namespace ------------------

def test_rust_add_server_serves_the_cpython_add_client(procs, interp):
    expected, _ = converse(procs, py(interp, 'add_server.py'), py(interp, 'add_client.py'),
                           '@' + abstract_name())
    got, _ = converse(procs, rust('add_server'), py(interp, 'add_client.py'),
                      '@' + abstract_name())
    assert got == expected


def test_rust_add_client_against_the_cpython_add_server(procs, interp):
    expected, _ = converse(procs, py(interp, 'add_server.py'), py(interp, 'add_client.py'),
                           '@' + abstract_name())
    got, _ = converse(procs, py(interp, 'add_server.py'), rust('add_client'),
                      '@' + abstract_name())
    assert got == expected


# --- send objects / recv_bytes_into (authkey b'secret password') -----------------------------

def test_rust_send_objects_to_the_cpython_client(procs, interp):
    expected, _ = converse(procs, py(interp, 'send_objects.py'),
                           py(interp, 'recv_objects_client.py'), server_exits=True)
    got, _ = converse(procs, rust('send_objects'), py(interp, 'recv_objects_client.py'),
                      server_exits=True)
    assert got == expected == [
        "[2.25, None, 'junk', <class 'float'>]", "b'hello'", '8',
        "array('i', [12, 33, 0, 0, 0])"]


def test_rust_recv_objects_client_against_cpython_send_objects(procs, interp):
    expected, _ = converse(procs, py(interp, 'send_objects.py'),
                           py(interp, 'recv_objects_client.py'), server_exits=True)
    got, _ = converse(procs, py(interp, 'send_objects.py'), rust('recv_objects_client'),
                      server_exits=True)
    assert got[1:] == expected[1:]
    loose_global_line(got[0], expected[0], "[2.25, None, 'junk', ")


def test_wait_over_pipes_example_collects_every_producer(interp):
    """examples/wait_producers: two Rust threads and two CPython children (this interpreter)
    each send ten (i, name) tuples down a one-way pipe; the Rust consumer uses wait() until
    every producer has closed. All forty messages and four EOFs must arrive."""
    done = run([cargo_bin('wait_producers'), interp.exe], env=python_env())
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    names = ['rust-1', 'python-1', 'rust-2', 'python-2']
    expected = {f"({i}, '{name}')" for name in names for i in range(10)}
    got = [line for line in lines if line.startswith('(')]
    assert sorted(got) == sorted(expected)
    for name in names:
        # Each producer's messages arrive in order, and its EOF after the last of them.
        own = [line for line in lines if line.endswith(f"'{name}')")]
        assert own == [f"({i}, '{name}')" for i in range(10)]
        assert lines.index(f'EOF {name}') > lines.index(own[-1])
    assert lines[-1] == 'received 40 messages from 4 producers'
