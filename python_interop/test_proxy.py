"""`mpconn proxy`, `record` and `replay` between real CPython peers, on every interpreter.

CPython client <-> mpconn proxy <-> CPython listener: each side records the exact bytes it
sent and received (`send_bytes`/`recv_bytes`), and the test checks that what one side
received is, byte for byte, what the other sent, and that the proxy logged every message.
Keys differ on the two sides and so do the digests. A recording of a CPython session is
replayed against the same CPython server (no difference) and against a changed one (the
first differing message is reported).
"""
from __future__ import annotations

import json
import queue
import struct
import threading

import pytest

from cli_support import (
    PROMPT, Procs, clean_env, mpconn, python_env, run, unix_path,
)


@pytest.fixture
def procs():
    p = Procs()
    yield p
    p.close()


# argv: ADDRESS KEY NCONN. Serves NCONN connections, one thread each. Every message
# received is answered: a pickle of (index, length, ...) for a pickle, the same bytes
# reversed for anything else, until the client closes. At the end prints one JSON line per
# connection: {"received": [hex...], "sent": [hex...], "eof": true}.
PY_SERVER = r'''
import json, pickle, sys, threading
from multiprocessing.connection import Listener
from seed_address import address_from_argv, show
key = sys.argv[2].encode()
count = int(sys.argv[3])
logs = []
def serve(conn):
    log = {"received": [], "sent": [], "eof": False}
    logs.append(log)
    with conn:
        i = 0
        while True:
            try:
                data = conn.recv_bytes()
            except EOFError:
                log["eof"] = True
                return
            log["received"].append(data.hex())
            try:
                pickle.loads(data)
                reply = pickle.dumps((i, len(data), 'ünï', b'\x00' * (i % 3)))
            except Exception:
                reply = data[::-1]
            conn.send_bytes(reply)
            log["sent"].append(reply.hex())
            i += 1
# backlog: 50 clients arrive at once (CPython's default of 1 would make most of them wait
# for SYN retransmissions).
with Listener(address_from_argv(), authkey=key, backlog=64) as listener:
    print('listening on', show(listener.address), flush=True)
    threads = []
    for _ in range(count):
        t = threading.Thread(target=serve, args=(listener.accept(),))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
for log in logs:
    print(json.dumps(log), flush=True)
'''

# argv: ADDRESS KEY NCLIENTS. NCLIENTS threads each connect, send the messages of
# MESSAGES(i) (pickles via send, raw via send_bytes), receive one answer after each, close.
# Prints one JSON line per client: {"sent": [hex...], "received": [hex...]}.
PY_CLIENTS = r'''
import json, pickle, sys, threading
from multiprocessing.connection import Client
from seed_address import address_from_argv
key = sys.argv[2].encode()
n = int(sys.argv[3])
def messages(i):
    return [
        pickle.dumps(['a', 2.5, None, i]),
        pickle.dumps({'k': (1, 2), 'big': 2**100}, protocol=2),
        b'not a pickle %d' % i,
        pickle.dumps(b'x' * (70000 + i)),
        pickle.dumps('ünïcode €', protocol=0),
    ]
results = [None] * n
def client(i):
    log = {"sent": [], "received": []}
    with Client(address_from_argv(), authkey=key) as conn:
        for m in messages(i):
            conn.send_bytes(m)
            log["sent"].append(m.hex())
            log["received"].append(conn.recv_bytes().hex())
    results[i] = log
threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
for t in threads: t.start()
for t in threads: t.join()
for r in results:
    print(json.dumps(r), flush=True)
'''


def start_server(procs, interp, address, key, count):
    return procs.server([interp.exe, '-c', PY_SERVER, address, key, str(count)],
                        env=python_env())


class Lines:
    """A child's stdout read by a thread as it comes (so the child never blocks on a full
    pipe); `wait(pred, n)` returns the first n lines satisfying pred, waiting at most
    PROMPT seconds for each."""

    def __init__(self, stream):
        self.queue = queue.Queue()
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream):
        for line in stream:
            self.queue.put(line.rstrip('\n'))
        self.queue.put(None)

    def wait(self, pred, n):
        found = []
        while len(found) < n:
            try:
                line = self.queue.get(timeout=PROMPT)
            except queue.Empty:
                raise AssertionError('only %d of %d lines within %ss' % (len(found), n, PROMPT))
            assert line is not None, 'the process ended after %d of %d lines' % (len(found), n)
            if pred(line):
                found.append(line)
        return found


def start_proxy(procs, listen, upstream, *extra, command='proxy'):
    proc, address = procs.server([mpconn(), command, listen, upstream, *extra],
                                 ready_on='stderr', env=clean_env())
    return Lines(proc.stdout), address, proc


def run_clients(interp, address, key, n):
    done = run([interp.exe, '-c', PY_CLIENTS, address, key, str(n)], env=python_env(),
               timeout=PROMPT * 2)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def server_logs(server):
    out, err = server.communicate(timeout=PROMPT)
    assert server.returncode == 0, err
    return [json.loads(line) for line in out.splitlines()]


def proxy_lines(proxy, expected):
    """The first `expected` message lines the proxy printed."""
    return proxy.wait(lambda l: ' bytes ' in l or '"event":"message"' in l, expected)


def check_byte_identical(clients, servers):
    """Every client's sent list is some server connection's received list, and its
    received list is that connection's sent list."""
    by_first = {tuple(s['received']): s for s in servers}
    assert len(by_first) == len(servers) == len(clients)
    for c in clients:
        s = by_first.get(tuple(c['sent']))
        assert s is not None, 'a client\'s messages did not reach the server unchanged'
        assert c['received'] == s['sent'], 'the server\'s answers did not arrive unchanged'
        assert s['eof'], 'the server did not see the client close'


# Each side challenges with something the other side does not use: the proxy challenges
# clients with sha3_384 and the server with md5; the CPython server uses its default
# (legacy before 3.12, sha256 after).
DIGESTS = ['--digest', 'sha3_384', '--upstream-digest', 'md5']


@pytest.mark.parametrize('family', ['tcp', 'unix'])
def test_proxy_forwards_byte_identical_and_logs_every_message(procs, interp, family):
    server_address = '127.0.0.1:0' if family == 'tcp' else unix_path()
    front = '127.0.0.1:0' if family == 'tcp' else unix_path()
    server, upstream = start_server(procs, interp, server_address, 'back-key', 2)
    proxy, address, _ = start_proxy(procs, front, upstream, '--authkey', 'front-key',
                                    '--upstream-authkey', 'back-key', *DIGESTS)
    clients = run_clients(interp, address, 'front-key', 2)
    check_byte_identical(clients, server_logs(server))
    # Logged: 2 clients x 5 messages x 2 directions, with size and Python's repr.
    lines = proxy_lines(proxy, 20)
    for c in clients:
        for sent, got in zip(c['sent'], c['received']):
            for direction, hexed in (('client->server', sent), ('server->client', got)):
                size = len(bytes.fromhex(hexed))
                matching = [l for l in lines if ' %s %d bytes ' % (direction, size) in l]
                assert matching, 'no %s line of %d bytes in\n%s' % (direction, size,
                                                                    '\n'.join(lines))
    assert any("client->server" in l and "['a', 2.5, None, 0]" in l for l in lines)
    assert any("undecodable" in l and "b'not a pickle 1'" in l for l in lines)
    assert any("server->client" in l and "'ünï', b'\\x00')" in l for l in lines)


def test_proxy_relays_50_concurrent_clients_byte_identical(procs, interp):
    server, upstream = start_server(procs, interp, '127.0.0.1:0', 'back', 50)
    proxy, address, _ = start_proxy(procs, '127.0.0.1:0', upstream, '--authkey', 'front',
                                    '--upstream-authkey', 'back', *DIGESTS, '--format',
                                    'jsonl')
    clients = run_clients(interp, address, 'front', 50)
    check_byte_identical(clients, server_logs(server))
    events = [json.loads(l) for l in proxy_lines(proxy, 500)]
    assert len({e['connection'] for e in events}) == 50
    sizes = sorted(len(bytes.fromhex(h)) for c in clients for h in c['sent'] + c['received'])
    assert sorted(e['size'] for e in events) == sizes
    assert sum('undecodable' in e for e in events) == 100  # raw message and its reversal


def test_proxy_pickle_disassembly_and_raw_bytes(procs, interp):
    server, upstream = start_server(procs, interp, '127.0.0.1:0', 'k', 1)
    proxy, address, _ = start_proxy(procs, '127.0.0.1:0', upstream, '--authkey', 'k', '--dis',
                                    '--dis-python', '%d.%d' % interp.version[:2])
    clients = run_clients(interp, address, 'k', 1)
    server_logs(server)
    first = bytes.fromhex(clients[0]['sent'][0])
    want = run([interp.exe, '-c', 'import pickletools, sys; '
                'pickletools.dis(bytes.fromhex(sys.argv[1]))', first.hex()]).stdout
    proxy.wait(lambda l: ' bytes ' in l, 1)
    shown = proxy.wait(lambda l: True, len(want.splitlines()))
    assert '\n'.join(shown) + '\n' == want


# argv: ADDRESS KEY CHANGE: a request/answer server for the replay tests, one connection at
# a time, forever. Answers ('ok', x * 2) to each request x; with CHANGE=1 the third answer
# is off by one; with CHANGE=2 every answer is pickled with protocol 2 (same values).
PY_CALC_SERVER = r'''
import pickle, sys
from multiprocessing.connection import Listener
from seed_address import address_from_argv, show
key = sys.argv[2].encode()
change = int(sys.argv[3])
with Listener(address_from_argv(), authkey=key) as listener:
    print('listening on', show(listener.address), flush=True)
    while True:
        with listener.accept() as conn:
            i = 0
            try:
                while True:
                    x = conn.recv()
                    i += 1
                    answer = ('ok', x * 2 + (1 if change == 1 and i == 3 else 0))
                    if change == 2:
                        conn.send_bytes(pickle.dumps(answer, protocol=2))
                    else:
                        conn.send(answer)
            except EOFError:
                pass
'''

PY_CALC_CLIENT = r'''
import sys
from multiprocessing.connection import Client
from seed_address import address_from_argv
for round in range(2):
    with Client(address_from_argv(), authkey=sys.argv[2].encode()) as conn:
        for x in (1, 2.5, 10 + round, 2**70):
            conn.send(x)
            print(repr(conn.recv()), flush=True)
'''


def read_recording(path):
    """The documented format, read independently of mpconn: header, then records."""
    data = open(path, 'rb').read()
    assert data[:8] == b'MPCONNRC' and struct.unpack('>I', data[8:12]) == (1,)
    records, pos = [], 12
    while pos < len(data):
        kind, conn, ns, direction, n = struct.unpack('>BQQBQ', data[pos:pos + 26])
        records.append((kind, conn, ns, direction, data[pos + 26:pos + 26 + n]))
        pos += 26 + n
    assert pos == len(data)
    return records


def test_record_then_replay_reports_no_difference_then_the_first_difference(procs, interp,
                                                                              tmp_path):
    recording = tmp_path / 'session.mpcrec'
    server, upstream = procs.server([interp.exe, '-c', PY_CALC_SERVER, unix_path(), 'k', '0'],
                                    env=python_env())
    lines, address, proxy = start_proxy(procs, '127.0.0.1:0', upstream, str(recording),
                                        '--authkey', 'k', command='record')
    done = run([interp.exe, '-c', PY_CALC_CLIENT, address, 'k'], env=python_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[2] == "('ok', 20)"
    # Each pair's end is printed after its close record is written.
    lines.wait(lambda l: ' closed by the ' in l, 2)
    proxy.kill()
    records = read_recording(recording)
    messages = [r for r in records if r[0] == 2]
    assert len(messages) == 16 and {r[1] for r in records} == {1, 2}
    assert [r[3] for r in messages[:2]] == [0, 1]  # request, then answer

    same = run([mpconn(), 'replay', str(recording), upstream, '--authkey', 'k'],
               env=clean_env())
    assert same.returncode == 0, same.stdout + same.stderr
    assert same.stdout.splitlines()[-1].startswith('no difference: 2 connections, 8 messages')
    exact = run([mpconn(), 'replay', str(recording), upstream, '--authkey', 'k', '--exact'],
                env=clean_env())
    assert exact.returncode == 0, exact.stdout + exact.stderr

    _, changed = procs.server([interp.exe, '-c', PY_CALC_SERVER, '127.0.0.1:0', 'k', '1'],
                              env=python_env())
    differs = run([mpconn(), 'replay', str(recording), changed, '--authkey', 'k'],
                  env=clean_env())
    assert differs.returncode == 1
    assert "#1 message 6 server->client DIFFERS: expected ('ok', 20), received ('ok', 21)" \
        in differs.stdout, differs.stdout
    assert 'connection #1 message 6 differs' in differs.stderr

    _, reencoded = procs.server([interp.exe, '-c', PY_CALC_SERVER, '127.0.0.1:0', 'k', '2'],
                                env=python_env())
    by_value = run([mpconn(), 'replay', str(recording), reencoded, '--authkey', 'k'],
                   env=clean_env())
    assert by_value.returncode == 0, by_value.stdout
    by_bytes = run([mpconn(), 'replay', str(recording), reencoded, '--authkey', 'k',
                    '--exact'], env=clean_env())
    assert by_bytes.returncode == 1
    assert '#1 message 2 server->client DIFFERS: the bytes differ' in by_bytes.stdout


PY_WRONG_THEN_RIGHT = r'''
import sys
from multiprocessing.connection import Client, AuthenticationError
from seed_address import address_from_argv
try:
    Client(address_from_argv(), authkey=b'wrong')
    print('accepted a wrong key')
except AuthenticationError:
    print('refused')
with Client(address_from_argv(), authkey=b'k') as conn:
    conn.send_bytes(b'x' * 2000)
    try:
        conn.recv_bytes()
        print('answered')
    except (EOFError, ConnectionError):
        print('closed')
with Client(address_from_argv(), authkey=b'k') as conn:
    conn.send('small')
    print(repr(conn.recv()[0]))
'''


def test_proxy_refuses_wrong_keys_and_oversized_messages_and_keeps_serving(procs, interp):
    server, upstream = start_server(procs, interp, '127.0.0.1:0', 'k', 2)
    _, address, proxy = start_proxy(procs, '127.0.0.1:0', upstream, '--authkey', 'k',
                                    '--max-message-size', '1000')
    done = run([interp.exe, '-c', PY_WRONG_THEN_RIGHT, address], env=python_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ['refused', 'closed', '0']
    logs = server_logs(server)
    # The oversized message never reached the server; its connection saw the pair close.
    assert logs[0] == {'received': [], 'sent': [], 'eof': True}
    proxy.kill()
    proxy.wait()
    err = proxy.stderr.read()
    assert 'refused: client handshake' in err and 'bad message length' in err, err


@pytest.mark.parametrize('sub', ['proxy', 'record', 'replay', 'dis'])
def test_help_of_the_debugging_commands_shows_examples(sub):
    done = run([mpconn(), sub, '--help'])
    assert done.returncode == 0
    assert f'mpconn {sub} ' in done.stdout.split('Examples:', 1)[1]


def test_top_level_help_lists_the_debugging_commands():
    done = run([mpconn(), '--help'])
    assert done.returncode == 0
    for sub in ['proxy', 'record', 'replay', 'dis']:
        assert f'mpconn {sub} ' in done.stdout


# argv: ADDRESS KEY. First connection: answers its first message with 2000 bytes (over the
# proxy's limit). Second connection: closes after its first message. Prints what it saw.
PY_SERVER_THAT_MISBEHAVES = r'''
import sys
from multiprocessing.connection import Listener
from seed_address import address_from_argv, show
with Listener(address_from_argv(), authkey=sys.argv[2].encode()) as listener:
    print('listening on', show(listener.address), flush=True)
    with listener.accept() as conn:
        conn.recv_bytes()
        conn.send_bytes(b'y' * 2000)
        try:
            conn.recv_bytes()
            print('still open')
        except (EOFError, ConnectionError):
            print('closed after the oversized answer')
    with listener.accept() as conn:
        print('got', conn.recv())
'''

PY_CLIENT_OF_MISBEHAVING = r'''
import sys
from multiprocessing.connection import Client
from seed_address import address_from_argv
for attempt in range(2):
    with Client(address_from_argv(), authkey=b'k') as conn:
        conn.send('hello %d' % attempt)
        try:
            print('answer', conn.recv_bytes())
        except (EOFError, ConnectionError):
            print('closed')
'''


def test_proxy_closes_the_client_when_the_server_misbehaves_or_closes(procs, interp):
    server, upstream = procs.server([interp.exe, '-c', PY_SERVER_THAT_MISBEHAVES, unix_path(),
                                     'k'], env=python_env())
    lines, address, proxy = start_proxy(procs, '127.0.0.1:0', upstream, '--authkey', 'k',
                                        '--max-message-size', '1000')
    done = run([interp.exe, '-c', PY_CLIENT_OF_MISBEHAVING, address], env=python_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ['closed', 'closed']
    out, err = server.communicate(timeout=PROMPT)
    assert out.splitlines() == ['closed after the oversized answer', 'got hello 1'], err
    ends = lines.wait(lambda l: ' by the ' in l, 2)
    assert 'ended by the server: bad message length: 2000 bytes announced' in ends[0]
    assert ends[1].endswith('#2 closed by the server')


# argv: ADDRESS. Sends two hostile pickles and a normal message with send_bytes; prints the
# length of each answer (the server echoes bytes).
PY_CLIENT_BOMBS = r'''
import sys
from multiprocessing.connection import Client
from seed_address import address_from_argv
# A list of two references to the previous list, 60 times: tiny, but its repr has 2**60 parts.
shared = b'\x80\x02]q\x000'
for i in range(1, 61):
    shared += b'(h' + bytes([i - 1]) + b'h' + bytes([i - 1]) + b'lq' + bytes([i])
    if i < 60:
        shared += b'0'
shared += b'.'
marks = b'(' * 200000 + b'.'   # its disassembly grows with the square of its length
with Client(address_from_argv()) as conn:
    for m in (shared, marks, b'\x80\x04K\x07.'):
        conn.send_bytes(m)
        print(len(conn.recv_bytes()), flush=True)
'''

PY_ECHO_BYTES_SERVER = r'''
import sys
from multiprocessing.connection import Listener
from seed_address import address_from_argv, show
with Listener(address_from_argv()) as listener:
    print('listening on', show(listener.address), flush=True)
    with listener.accept() as conn:
        try:
            while True:
                conn.send_bytes(conn.recv_bytes())
        except EOFError:
            pass
'''


def test_proxy_shows_hostile_pickles_in_bounded_time_and_space(procs, interp):
    _, upstream = procs.server([interp.exe, '-c', PY_ECHO_BYTES_SERVER, '127.0.0.1:0'],
                               env=python_env())
    lines, address, _ = start_proxy(procs, '127.0.0.1:0', upstream, '--dis')
    done = run([interp.exe, '-c', PY_CLIENT_BOMBS, address], env=python_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ['546', '200001', '5']
    # 6 message lines, and the two disassemblies of the MARK bomb end in the limit.
    shown = lines.wait(lambda l: ' bytes ' in l or l.startswith('!! '), 8)
    assert shown[0].endswith('... (cut at 1000 characters)'), shown[0][-200:]
    assert sum(l.startswith('!! OutputLimit') for l in shown) == 2
    assert shown[-1].endswith('server->client 5 bytes 7')
