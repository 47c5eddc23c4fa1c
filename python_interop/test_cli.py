"""The `mpconn` command against CPython peers: one test (or more) per line of its contract
(issue 4), for every interpreter the harness provides.

Expected output always comes from the CPython peer itself (it prints `repr` of what it sent
or received), never from our own encoder.
"""
from __future__ import annotations

import ast
import shutil
import subprocess

import pytest

from cli_support import (
    HAVE_HARNESS, PROMPT, Interp, Procs, abstract_name, assert_one_line_failure, clean_env,
    env_with, free_port, interpreters, mpconn, python_env, read_line, run, run_py, unix_path,
    wait_exit,
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


# --- CPython peers (run in the interpreter under test; seeds/ is on PYTHONPATH) -------------

# argv: ADDRESS KEY|- BODY   (BODY runs with `conn` connected and authenticated)
PY_CLIENT = r'''
import sys
from multiprocessing.connection import Client
from seed_address import address_from_argv
key = None if sys.argv[2] == '-' else sys.argv[2].encode()
with Client(address_from_argv(), authkey=key) as conn:
    exec(sys.argv[3])
'''

# argv: ADDRESS KEY|- BODY   (prints 'listening on ADDRESS', accepts one connection, runs BODY)
PY_LISTENER = r'''
import sys
from multiprocessing.connection import Listener
from seed_address import address_from_argv, show
key = None if sys.argv[2] == '-' else sys.argv[2].encode()
with Listener(address_from_argv(), authkey=key) as listener:
    print('listening on', show(listener.address), flush=True)
    with listener.accept() as conn:
        exec(sys.argv[3])
'''

# Listener bodies
ECHO = '''
try:
    while True:
        conn.send(conn.recv())
except EOFError:
    pass
'''
ECHO_BYTES = '''
try:
    while True:
        conn.send_bytes(conn.recv_bytes())
except EOFError:
    pass
'''
PRINT_UNTIL_EOF = '''
try:
    while True:
        print(repr(conn.recv()), flush=True)
except EOFError:
    print('EOF', flush=True)
'''
PRINT_BYTES_UNTIL_EOF = '''
try:
    while True:
        print(repr(conn.recv_bytes()), flush=True)
except EOFError:
    print('EOF', flush=True)
'''
WAIT_FOR_EOF = '''
try:
    while True:
        conn.recv_bytes()
except EOFError:
    pass
'''

# Every kind whose repr the contract fixes, with the awkward cases of each.
REPR_VALUES = r'''[
    'hello', '', 'quote\'s "dq" \n\t\\', "it's", 'ünï€😀', '\x00\x7f\x80\u2028', '\ud800',
    b'', b'plain', b'\x00\xff\'"\\', b"it's",
    0, -3, 42, 2**63 - 1, -2**63, 2**64, -2**100,
    0.1, -0.0, 2.25, 1e100, 1e-05, 1.5e16, 123456789012345678.0, float('inf'), float('-inf'),
    float('nan'),
    True, False, None,
    [], [1, 'a', [None]], (), (1,), (1, (2, 3)), {}, {'a': b'x', 1: [None], (1, 2): 2.5},
    [[], {}, ()],
]'''

SEND_REPR_VALUES = f'''
values = {REPR_VALUES}
for v in values:
    conn.send(v)
    print(repr(v), flush=True)
'''

# Python literals a user types as VALUE (each line of the contract's examples, and more).
LITERALS = ["'hello'", '42', '[1, 2]', '(1,)', "{'a': b'x'}", '{1, 2}', 'None', '-5', '2.5',
            "b'\\x00\\xff'", '1000000000000000000000000000000', 'True', 'False', '()',
            "('a', [None, {}])", "'ünï'", '-0.0', "{'k': (1, 2.5)}", '"it\'s"', '1e100']


def reprs_of(literals):
    return [repr(ast.literal_eval(text)) for text in literals]


def py_listener(procs, interp, body, key='-', address='127.0.0.1:0'):
    return procs.server([interp.exe, '-c', PY_LISTENER, address, key, body], env=python_env())


def finish(proc, timeout=PROMPT):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


# --- listen: print mode -------------------------------------------------------------------

def test_listen_prints_one_python_repr_line_per_object(procs, interp):
    listener, address = procs.listen('127.0.0.1:0', '--authkey', 'k', '--once', env=clean_env())
    sent = run_py(interp, PY_CLIENT, address, 'k', SEND_REPR_VALUES)
    status, out, err = finish(listener)
    assert status == 0, err
    assert out.splitlines() == sent.stdout.splitlines()


def test_listen_without_key_skips_the_handshake(procs, interp):
    listener, address = procs.listen('127.0.0.1:0', '--once', env=clean_env())
    run_py(interp, PY_CLIENT, address, '-', "conn.send('no key'); conn.send([1, None])")
    status, out, _ = finish(listener)
    assert (status, out.splitlines()) == (0, ["'no key'", '[1, None]'])


def test_listen_prints_each_line_as_it_arrives(procs, interp):
    """Flushed per line: the first object shows while the client still holds the second."""
    listener, address = procs.listen('127.0.0.1:0', '--authkey', 'k', '--once', env=clean_env())
    client = procs.spawn([interp.exe, '-c', PY_CLIENT, address, 'k',
                          "conn.send('first'); input(); conn.send('second')"],
                         env=python_env(), stdin=subprocess.PIPE)
    assert read_line(listener.stdout) == "'first'"
    client.communicate(input='go\n', timeout=PROMPT)
    assert client.returncode == 0
    assert read_line(listener.stdout) == "'second'"
    assert wait_exit(listener) == 0


def test_listen_skips_an_undecodable_message_and_keeps_printing(procs, interp):
    listener, address = procs.listen('127.0.0.1:0', '--once', env=clean_env())
    run_py(interp, PY_CLIENT, address, '-',
           "conn.send('before'); conn.send_bytes(b'not a pickle'); conn.send('after')")
    status, out, err = finish(listener)
    assert status == 0
    assert out.splitlines() == ["'before'", "'after'"]
    assert 'undecodable' in err


def test_listen_refuses_a_repr_exponentially_larger_than_its_message(procs, interp):
    """60 levels of `x = [x, x]` pickle to a few hundred bytes but print as 2**60 lists:
    the listener reports it instead of building it, and keeps printing."""
    listener, address = procs.listen('127.0.0.1:0', '--once', env=clean_env())
    run_py(interp, PY_CLIENT, address, '-',
           "x = []\nfor _ in range(60): x = [x, x]\n"
           "conn.send('before'); conn.send(x); conn.send('after')")
    status, out, err = finish(listener)
    assert status == 0
    assert out.splitlines() == ["'before'", "'after'"]
    assert 'not printed' in err and 'exceeds' in err


# --- listen: echo modes -------------------------------------------------------------------

ECHO_CHECK = f'''
values = {REPR_VALUES} + [float, sum, {{1, 2, 3}}, frozenset({{4}}), bytearray(b'ab'),
    'x' * 100000, list(range(1000)), 2**1000, {{'nested': [{{'deep': (1, [2, (3,)])}}]}}]
for v in values:
    conn.send(v)
    r = conn.recv()
    assert type(r) is type(v) and repr(r) == repr(v), (r, v)
shared = [1]
conn.send([shared, shared])
r = conn.recv()
assert r == [[1], [1]] and r[0] is r[1], r
cycle = []
cycle.append(cycle)
conn.send(cycle)
r = conn.recv()
assert r[0] is r, r
print('echoed', len(values) + 2)
'''


def test_listen_echo_sends_back_each_value_decoded_and_reencoded(procs, interp):
    listener, address = procs.listen('127.0.0.1:0', '--authkey', 'k', '--echo', '--once',
                                     env=clean_env())
    done = run_py(interp, PY_CLIENT, address, 'k', ECHO_CHECK)
    assert done.stdout.startswith('echoed')
    status, out, _ = finish(listener)
    assert status == 0 and out == '', 'echo modes print nothing on stdout'


def test_listen_echo_bytes_sends_back_the_raw_message(procs, interp):
    listener, address = procs.listen('127.0.0.1:0', '--authkey', 'k', '--echo-bytes', '--once',
                                     env=clean_env())
    body = '''
import os
for payload in [b'', b'hello', b'not a pickle', os.urandom(70000), bytes(range(256))]:
    conn.send_bytes(payload)
    assert conn.recv_bytes() == payload
conn.send_bytes(b'0123456789', 2, 5)
assert conn.recv_bytes() == b'23456'
print('ok')
'''
    assert run_py(interp, PY_CLIENT, address, 'k', body).stdout == 'ok\n'
    status, out, _ = finish(listener)
    assert (status, out) == (0, '')


def test_listen_echo_flags_exclude_each_other():
    done = run([mpconn(), 'listen', '127.0.0.1:0', '--echo', '--echo-bytes'], env=clean_env())
    assert_one_line_failure(done, 'cannot be used with', code=2)


# --- listen: --once, concurrency, failures --------------------------------------------------

def test_listen_once_exits_after_the_first_authenticated_connection(procs, interp):
    listener, address = procs.listen('127.0.0.1:0', '--authkey', 'k', '--once', env=clean_env())
    # A refused handshake does not count as the first connection.
    refused = run([interp.exe, '-c', PY_CLIENT, address, 'wrong', 'pass'], env=python_env())
    assert refused.returncode != 0 and 'AuthenticationError' in refused.stderr
    assert listener.poll() is None
    run_py(interp, PY_CLIENT, address, 'k', "conn.send('only')")
    assert wait_exit(listener) == 0
    assert listener.stdout.read().splitlines() == ["'only'"]


def test_listen_without_once_keeps_serving_after_a_connection_ends(procs, interp):
    listener, address = procs.listen('127.0.0.1:0', '--authkey', 'k', env=clean_env())
    for i in range(3):
        run_py(interp, PY_CLIENT, address, 'k', f'conn.send({i})')
        assert read_line(listener.stdout) == str(i)
    assert listener.poll() is None


def test_listen_serves_connections_concurrently(procs, interp):
    listener, address = procs.listen('127.0.0.1:0', '--authkey', 'k', '--echo', env=clean_env())
    body = f'''
from multiprocessing.connection import Client
first = conn                     # stays open, idle, while a second client is served
with Client(address_from_argv(), authkey=b'k') as second:
    second.send('second')
    assert second.poll({PROMPT}), 'a second connection was not served while the first was open'
    assert second.recv() == 'second'
first.send('first')
assert first.recv() == 'first'
print('ok')
'''
    assert run_py(interp, PY_CLIENT, address, 'k', body).stdout == 'ok\n'


def test_listen_max_connections_closes_the_extra_ones_and_keeps_serving(procs, interp):
    """--max-connections 1: while one client is served, a second is closed at once and
    reported; the first is still served afterwards."""
    listener, address = procs.listen('127.0.0.1:0', '--authkey', 'k', '--echo',
                                     '--max-connections', '1', env=clean_env())
    body = f'''
from multiprocessing.connection import Client
conn.send('first')
assert conn.recv() == 'first'     # the first connection holds the only slot now
try:
    with Client(address_from_argv(), authkey=b'k') as second:
        second.recv()
    raise SystemExit('a connection over --max-connections was served')
except (EOFError, ConnectionError, OSError):
    pass
conn.send('still served')
assert conn.recv() == 'still served'
print('ok')
'''
    assert run_py(interp, PY_CLIENT, address, 'k', body).stdout == 'ok\n'
    assert 'refused' in read_line(listener.stderr)
    assert listener.poll() is None


def test_listen_refuses_a_wrong_key_and_carries_on(procs, interp):
    listener, address = procs.listen('127.0.0.1:0', '--authkey', 'right', '--echo',
                                     env=clean_env())
    refused = run([interp.exe, '-c', PY_CLIENT, address, 'wrong', 'pass'], env=python_env())
    assert refused.returncode != 0 and 'AuthenticationError' in refused.stderr
    assert 'authentication failed' in read_line(listener.stderr)
    ok = run_py(interp, PY_CLIENT, address, 'right', "conn.send('hi'); print(conn.recv())")
    assert ok.stdout == 'hi\n'
    assert listener.poll() is None


def test_listen_reports_a_client_without_key_and_carries_on(procs, interp):
    """A keyless client does not answer the challenge; the listener reports it, goes on."""
    listener, address = procs.listen('127.0.0.1:0', '--authkey', 'k', '--echo',
                                     env=clean_env())
    body = "conn.send_bytes(b'hello, no handshake')"   # arrives where the answer should be
    run_py(interp, PY_CLIENT, address, '-', body)
    assert 'authentication failed' in read_line(listener.stderr)
    ok = run_py(interp, PY_CLIENT, address, 'k', "conn.send(1); print(conn.recv())")
    assert ok.stdout == '1\n'


def test_listen_reports_an_oversized_message_and_carries_on(procs, interp):
    listener, address = procs.listen('127.0.0.1:0', '--max-message-size', '1000',
                                     env=clean_env())
    body = '''
conn.send_bytes(b'x' * 2000)
try:
    conn.recv_bytes()
except (EOFError, OSError):
    print('closed by the listener')
'''
    assert run_py(interp, PY_CLIENT, address, '-', body).stdout == 'closed by the listener\n'
    assert 'bad message length' in read_line(listener.stderr)
    run_py(interp, PY_CLIENT, address, '-', "conn.send(b'x' * 900)")
    assert read_line(listener.stdout) == repr(b'x' * 900)


def test_listen_timeout_bounds_the_handshake_of_a_silent_client(procs, interp):
    listener, address = procs.listen('127.0.0.1:0', '--authkey', 'k', '--timeout', '0.5',
                                     env=clean_env())
    silent = f'''
import socket
from seed_address import address_from_argv
with socket.create_connection(address_from_argv()) as s:
    s.settimeout({PROMPT})
    while s.recv(4096):      # the challenge, then EOF when the listener gives up
        pass
print('dropped')
'''
    assert run_py(interp, silent, address).stdout == 'dropped\n'
    assert 'timed out' in read_line(listener.stderr)
    assert run_py(interp, PY_CLIENT, address, 'k', "conn.send(7)").returncode == 0
    assert read_line(listener.stdout) == '7'


def test_listen_on_a_busy_address_fails_with_one_line(procs, interp):
    _, address = py_listener(procs, interp, WAIT_FOR_EOF)
    done = run([mpconn(), 'listen', address], env=clean_env())
    assert_one_line_failure(done, address)


# --- listen: digests ----------------------------------------------------------------------

@pytest.mark.parametrize('digest', ['sha256', 'sha384', 'sha3_256', 'sha3_384', 'md5', 'legacy'])
def test_listen_digest_interoperates_with_cpython_clients(procs, interp, digest):
    listener, address = procs.listen('127.0.0.1:0', '--authkey', 'k', '--digest', digest,
                                     '--echo', env=clean_env())
    done = run_py(interp, PY_CLIENT, address, 'k', "conn.send('x'); print(conn.recv())")
    assert done.stdout == 'x\n'
    # What the listener challenges with, read by a client that does not answer.
    challenge = run_py(interp, PY_CLIENT, address, '-',
                       'print(conn.recv_bytes(256).hex())').stdout.strip()
    message = bytes.fromhex(challenge)
    assert message.startswith(b'#CHALLENGE#')
    if digest == 'legacy':
        assert len(message) == len(b'#CHALLENGE#') + 20
    else:
        assert message[len(b'#CHALLENGE#'):].startswith(b'{' + digest.encode() + b'}')


# --- call / send / recv against CPython listeners -------------------------------------------

def test_call_sends_each_value_and_prints_each_reply(procs, interp):
    server, address = py_listener(procs, interp, ECHO, key='k')
    done = run([mpconn(), 'call', address, '--authkey', 'k', *LITERALS], env=clean_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == reprs_of(LITERALS)
    assert done.stderr == ''


def test_call_gets_the_reply_cpython_computes(procs, interp):
    server, address = py_listener(procs, interp, '''
try:
    while True:
        x, y = conn.recv()
        conn.send(x + y)
except EOFError:
    pass
''')
    done = run([mpconn(), 'call', address, '(1, 2)', "('a', 'b')", '([1], [2])',
                '(18446744073709551616, 1)'], env=clean_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ['3', "'ab'", '[1, 2]', '18446744073709551617']


def test_send_sends_each_value_then_closes(procs, interp):
    server, address = py_listener(procs, interp, PRINT_UNTIL_EOF, key='k')
    done = run([mpconn(), 'send', address, '--authkey', 'k', *LITERALS], env=clean_env())
    assert (done.returncode, done.stdout, done.stderr) == (0, '', '')
    status, out, err = finish(server)
    assert status == 0, err
    assert out.splitlines() == reprs_of(LITERALS) + ['EOF']


def test_send_accepts_negative_numbers_as_values(procs, interp):
    server, address = py_listener(procs, interp, PRINT_UNTIL_EOF)
    done = run([mpconn(), 'send', address, '-1', '-2.5'], env=clean_env())
    assert done.returncode == 0, done.stderr
    assert finish(server)[1].splitlines() == ['-1', '-2.5', 'EOF']


def test_recv_prints_n_messages_as_python_reprs(procs, interp):
    server, address = py_listener(procs, interp, SEND_REPR_VALUES + WAIT_FOR_EOF, key='k')
    count = len(eval(REPR_VALUES))  # our own constant
    done = run([mpconn(), 'recv', address, '--authkey', 'k', '-n', str(count)],
               env=clean_env())
    assert done.returncode == 0, done.stderr
    status, printed, _ = finish(server)  # the listener printed each repr as it sent it
    assert done.stdout.splitlines() == printed.splitlines()


def test_recv_receives_one_message_by_default(procs, interp):
    server, address = py_listener(procs, interp, "conn.send('one'); conn.send('two')" + WAIT_FOR_EOF)
    done = run([mpconn(), 'recv', address], env=clean_env())
    assert (done.returncode, done.stdout) == (0, "'one'\n"), done.stderr


def test_recv_reports_the_peer_closing_early(procs, interp):
    server, address = py_listener(procs, interp, "conn.send('only')")
    done = run([mpconn(), 'recv', address, '-n', '2'], env=clean_env())
    assert done.stdout == "'only'\n"
    assert_one_line_failure(done, 'EOF')


def test_recv_max_message_size_refuses_a_longer_message(procs, interp):
    server, address = py_listener(procs, interp, "conn.send_bytes(b'x' * 2000)" + WAIT_FOR_EOF)
    done = run([mpconn(), 'recv', address, '--bytes', '--max-message-size', '1000'],
               env=clean_env())
    assert_one_line_failure(done, 'bad message length')


# --- --bytes ------------------------------------------------------------------------------

def test_call_bytes_sends_raw_utf8_and_prints_bytes_reprs(procs, interp):
    server, address = py_listener(procs, interp, ECHO_BYTES)
    texts = ['hello', 'ünï €', "it's \"quoted\"", '']
    done = run([mpconn(), 'call', address, '--bytes', *texts], env=clean_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [repr(t.encode()) for t in texts]


def test_send_bytes_sends_raw_utf8(procs, interp):
    server, address = py_listener(procs, interp, PRINT_BYTES_UNTIL_EOF)
    done = run([mpconn(), 'send', address, '--bytes', 'hello', "'not a literal"],
               env=clean_env())
    assert done.returncode == 0, done.stderr
    assert finish(server)[1].splitlines() == ["b'hello'", repr(b"'not a literal"), 'EOF']


def test_recv_bytes_prints_python_bytes_reprs(procs, interp):
    body = '''
for b in [b'hello', b'', b'\\x00\\x01\\x7f\\x80\\xff', b"it's", b'"dq"', b'\\\\', b'\\t\\n\\r']:
    conn.send_bytes(b)
    print(repr(b), flush=True)
''' + WAIT_FOR_EOF
    server, address = py_listener(procs, interp, body)
    done = run([mpconn(), 'recv', address, '--bytes', '-n', '7'], env=clean_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == finish(server)[1].splitlines()


# --- ADDRESS forms ------------------------------------------------------------------------

def address_forms(tmp_path):
    return {
        'tcp': '127.0.0.1:0',
        'unix': unix_path(tmp_path),
        'abstract': '@' + abstract_name(),
    }


@pytest.mark.parametrize('form', ['tcp', 'unix', 'abstract'])
def test_listen_address_forms(procs, interp, tmp_path, form):
    listener, address = procs.listen(address_forms(tmp_path)[form], '--authkey', 'k', '--echo',
                                     env=clean_env())
    done = run_py(interp, PY_CLIENT, address, 'k', "conn.send([1]); print(conn.recv())")
    assert done.stdout == '[1]\n'


@pytest.mark.parametrize('form', ['tcp', 'unix', 'abstract'])
def test_call_address_forms(procs, interp, tmp_path, form):
    _, address = py_listener(procs, interp, ECHO, key='k', address=address_forms(tmp_path)[form])
    done = run([mpconn(), 'call', address, '--authkey', 'k', "'there'"], env=clean_env())
    assert (done.returncode, done.stdout) == (0, "'there'\n"), done.stderr


def test_listen_localhost_serves_cpython_localhost_clients(procs, interp):
    """('localhost', port) in CPython is AF_INET: the same name must meet on both sides."""
    port = free_port()
    listener, _ = procs.listen(f'localhost:{port}', '--echo', env=clean_env())
    done = run_py(interp, PY_CLIENT, f'localhost:{port}', '-', "conn.send(1); print(conn.recv())")
    assert done.stdout == '1\n'


# CPython's Listener and Client only speak AF_INET for (host, port); an IPv6 CPython peer is a
# socket wrapped in multiprocessing's own Connection and handshake functions.
PY_V6_CLIENT = r'''
import socket, sys
from multiprocessing.connection import Connection, answer_challenge, deliver_challenge
port, key = int(sys.argv[1]), sys.argv[2].encode()
conn = Connection(socket.create_connection(('::1', port)).detach())
answer_challenge(conn, key)
deliver_challenge(conn, key)
conn.send(('v6', 6))
print(conn.recv())
conn.close()
'''
PY_V6_LISTENER = r'''
import socket, sys
from multiprocessing.connection import Connection, answer_challenge, deliver_challenge
key = sys.argv[1].encode()
with socket.socket(socket.AF_INET6) as s:
    s.bind(('::1', 0))
    s.listen()
    print(f'listening on [::1]:{s.getsockname()[1]}', flush=True)
    conn = Connection(s.accept()[0].detach())
    deliver_challenge(conn, key)
    answer_challenge(conn, key)
    try:
        while True:
            conn.send(conn.recv())
    except EOFError:
        pass
'''


def test_listen_ipv6_address(procs, interp):
    listener, address = procs.listen('[::1]:0', '--authkey', 'k', '--echo', env=clean_env())
    assert address.startswith('[::1]:')
    port = address.rsplit(':', 1)[1]
    assert run_py(interp, PY_V6_CLIENT, port, 'k').stdout == "('v6', 6)\n"


def test_call_ipv6_address(procs, interp):
    _, address = procs.server([interp.exe, '-c', PY_V6_LISTENER, 'k'], env=python_env())
    done = run([mpconn(), 'call', address, '--authkey', 'k', "('v6', 6)"], env=clean_env())
    assert (done.returncode, done.stdout) == (0, "('v6', 6)\n"), done.stderr


def test_bad_address_is_a_usage_error():
    done = run([mpconn(), 'call', 'no-port-here', '1'], env=clean_env())
    assert_one_line_failure(done, 'no-port-here', code=2)


# --- KEY forms ----------------------------------------------------------------------------

def test_key_from_environment(procs, interp):
    _, address = py_listener(procs, interp, ECHO, key='from env')
    done = run([mpconn(), 'call', address, "'k'"], env=env_with(MPCONN_AUTHKEY='from env'))
    assert (done.returncode, done.stdout) == (0, "'k'\n"), done.stderr


def test_key_from_environment_for_listen(procs, interp):
    listener, address = procs.listen('127.0.0.1:0', '--echo',
                                     env=env_with(MPCONN_AUTHKEY='from env'))
    assert run_py(interp, PY_CLIENT, address, 'from env',
                  "conn.send(1); print(conn.recv())").stdout == '1\n'


def test_key_from_file_drops_one_trailing_newline(procs, interp, tmp_path):
    key_file = tmp_path / 'key'
    key_file.write_bytes(b'file key\n')
    _, address = py_listener(procs, interp, ECHO, key='file key')
    done = run([mpconn(), 'call', address, '--authkey-file', key_file, "'f'"],
               env=env_with(MPCONN_AUTHKEY='not this one'))
    assert (done.returncode, done.stdout) == (0, "'f'\n"), done.stderr


def test_key_option_wins_over_environment(procs, interp):
    _, address = py_listener(procs, interp, ECHO, key='option')
    done = run([mpconn(), 'call', address, '--authkey', 'option', "'o'"],
               env=env_with(MPCONN_AUTHKEY='environment'))
    assert (done.returncode, done.stdout) == (0, "'o'\n"), done.stderr


def test_empty_key_still_authenticates(procs, interp):
    listener, address = procs.listen('127.0.0.1:0', '--authkey', '', '--echo', env=clean_env())
    done = run_py(interp, '''
from multiprocessing.connection import Client
from seed_address import address_from_argv
with Client(address_from_argv(), authkey=b'') as conn:
    conn.send('empty'); print(conn.recv())
''', address)
    assert done.stdout == 'empty\n'


def test_wrong_key_fails_with_one_authentication_line(procs, interp):
    server, address = py_listener(procs, interp, ECHO, key='right')
    done = run([mpconn(), 'call', address, '--authkey', 'wrong', "'x'"], env=clean_env())
    assert_one_line_failure(done, 'authentication failed')
    assert wait_exit(server) != 0     # CPython's listener raised AuthenticationError


def test_unreadable_key_file_is_a_usage_error(tmp_path):
    done = run([mpconn(), 'send', '127.0.0.1:1', '--authkey-file', tmp_path / 'missing'],
               env=clean_env())
    assert_one_line_failure(done, 'key file', code=2)


@pytest.mark.parametrize('digest', ['legacy', 'sha384', 'sha3_256'])
def test_client_digest_is_answered_by_cpython_listeners(procs, interp, digest):
    _, address = py_listener(procs, interp, ECHO, key='k')
    done = run([mpconn(), 'call', address, '--authkey', 'k', '--digest', digest, "'d'"],
               env=clean_env())
    assert (done.returncode, done.stdout) == (0, "'d'\n"), done.stderr


# --- timeouts and failures ----------------------------------------------------------------

SILENT_LISTENER = r'''
import socket, sys
from seed_address import address_from_argv, show
with socket.create_server(address_from_argv()) as s:
    print('listening on', show(s.getsockname()), flush=True)
    c, _ = s.accept()
    with c:
        while c.recv(4096):   # says nothing, ever; ends when the client gives up
            pass
print('client gave up', flush=True)
'''


def test_timeout_bounds_the_handshake_with_a_silent_listener(procs, interp):
    server, address = procs.server([interp.exe, '-c', SILENT_LISTENER, '127.0.0.1:0'],
                                   env=python_env())
    done = run([mpconn(), 'call', address, '--authkey', 'k', '--timeout', '0.5', "'x'"],
               env=clean_env())
    assert_one_line_failure(done, 'timed out')
    assert read_line(server.stdout) == 'client gave up'


def test_timeout_bounds_each_receive(procs, interp):
    server, address = py_listener(procs, interp, "conn.send('one')" + WAIT_FOR_EOF)
    done = run([mpconn(), 'recv', address, '-n', '2', '--timeout', '0.5'], env=clean_env())
    assert done.stdout == "'one'\n"
    assert_one_line_failure(done, 'timed out')


def test_timeout_bounds_the_wait_for_a_reply(procs, interp):
    server, address = py_listener(procs, interp, WAIT_FOR_EOF, key='k')
    done = run([mpconn(), 'call', address, '--authkey', 'k', '--timeout', '0.5', "'x'"],
               env=clean_env())
    assert_one_line_failure(done, 'timed out')


def test_connection_refused_is_one_line():
    done = run([mpconn(), 'send', f'127.0.0.1:{free_port()}', "'x'"], env=clean_env())
    assert_one_line_failure(done, 'connection refused')


def test_missing_unix_socket_is_refused(tmp_path):
    done = run([mpconn(), 'recv', unix_path(tmp_path)], env=clean_env())
    assert_one_line_failure(done, 'connection refused')


def test_bad_value_is_a_usage_error():
    done = run([mpconn(), 'send', '127.0.0.1:1', '[1, 2'], env=clean_env())
    assert_one_line_failure(done, 'invalid VALUE', code=2)


def test_closed_stdout_does_not_panic(procs, interp):
    server, address = py_listener(procs, interp,
                                  "for i in range(100): conn.send('x' * 1000)" + WAIT_FOR_EOF)
    proc = procs.spawn([mpconn(), 'recv', address, '-n', '100'], env=clean_env())
    proc.stdout.close()              # nobody reads: writes fail with EPIPE
    status = wait_exit(proc)
    err = proc.stderr.read()
    assert status == 0 and 'panick' not in err and err == '', err


# --- --help -------------------------------------------------------------------------------

@pytest.mark.parametrize('sub', ['listen', 'call', 'send', 'recv'])
def test_help_shows_an_example_per_subcommand(sub):
    done = run([mpconn(), sub, '--help'])
    assert done.returncode == 0
    assert 'Examples:' in done.stdout
    assert f'mpconn {sub} ' in done.stdout.split('Examples:', 1)[1]


def test_top_level_help_lists_the_subcommands():
    done = run([mpconn(), '--help'])
    assert done.returncode == 0
    for sub in ['listen', 'call', 'send', 'recv']:
        assert f'mpconn {sub} ' in done.stdout

