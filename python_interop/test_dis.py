"""`mpconn dis` against CPython's own `pickletools.dis`, on every interpreter of the matrix.

Every pickle in fixtures/ (the pickles and dumps catalogues of each interpreter, the manager
sessions) plus a pickle of a few values in each protocol the interpreter writes is
disassembled by the interpreter's `pickletools.dis` (plain and annotated) and by
`mpconn dis --python 3.N`; the texts must be identical. Malformed pickles must fail at the
same line with the same exception text. The expected text always comes from CPython.
"""
from __future__ import annotations

import glob
import json
import os
import re
import subprocess

import pytest

from cli_support import ROOT, mpconn, run

FIXTURES = ROOT / 'fixtures'

# Prints pickletools.dis of each file given, with the same preamble `mpconn dis` prints;
# an exception ends that file's text with '!! Type: message'.
DRIVER = r'''
import io, pickletools, sys
annotate = int(sys.argv[1])
out = sys.stdout
for name in sys.argv[2:]:
    with open(name, 'rb') as f:
        data = f.read()
    buf = io.StringIO()
    try:
        pickletools.dis(data, out=buf, annotate=annotate)
        err = ''
    except Exception as e:
        err = '!! %s: %s\n' % (type(e).__name__, e)
    out.write('==> %s <==\n' % name + buf.getvalue() + err)
'''

# Pickles, in each protocol this interpreter writes, of values covering every kind.
PROTOCOLS = r'''
import os, pickle, sys, collections, datetime, decimal
values = [None, True, False, 0, -1, 255, 65535, 2**31, -2**31 - 1, 2**64, -2**200, 0.5,
          float('inf'), -0.0, 'a', 'é€😀', 'x' * 300, b'', b'\x00\xff' * 200, bytearray(b'ab'),
          [], [1, [2]], (), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), {}, {'a': 1, 2: 'b'},
          {1, 2}, frozenset({3}), float, sum, complex(1, 2), datetime.date(2020, 1, 2),
          decimal.Decimal('1.5'), collections.OrderedDict(a=1), range(3)]
shared = [1]
values.append([shared, shared])
cycle = []
cycle.append(cycle)
values.append(cycle)
for proto in range(pickle.HIGHEST_PROTOCOL + 1):
    with open(os.path.join(sys.argv[1], 'proto%d.pickle' % proto), 'wb') as f:
        f.write(pickle.dumps(values, protocol=proto))
'''


def unpack_hex(text):
    """Bytes of fixtures' packed hex, where "(XX*N)" stands for N bytes XX."""
    return b''.join(bytes([int(m[1], 16)]) * int(m[2]) if m[1] else bytes.fromhex(m[3])
                    for m in re.finditer(r'\((\w\w)\*(\d+)\)|([0-9a-f]+)', text))


def fixture_pickles():
    """Every distinct pickle of fixtures/: (name, bytes)."""
    seen = {}
    for path in sorted(glob.glob(str(FIXTURES / 'pickles' / '*.json'))):
        version = os.path.basename(path)[:-5]
        for i, case in enumerate(json.load(open(path))):
            data = unpack_hex(case['pickle'])
            seen.setdefault(data, 'pickles-%s-%04d' % (version, i))
    for path in sorted(glob.glob(str(FIXTURES / 'dumps' / '*.json'))):
        version = os.path.basename(path)[:-5]
        for i, case in enumerate(json.load(open(path))['records']):
            data = unpack_hex(case['pickle'])
            seen.setdefault(data, 'dumps-%s-%04d' % (version, i))
    for path in sorted(glob.glob(str(FIXTURES / 'managers' / '*' / '*.pickle'))):
        data = open(path, 'rb').read()
        seen.setdefault(data, 'managers-%s-%s' % (os.path.basename(os.path.dirname(path)),
                                                  os.path.basename(path)[:-7]))
    return [(name, data) for data, name in seen.items()]


@pytest.fixture(scope='module')
def fixture_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp('dis')
    names = []
    for name, data in fixture_pickles():
        (directory / name).write_bytes(data)
        names.append(name)
    assert len(names) > 1000, 'fixtures/ holds fewer pickles than expected'
    return directory, names


def python_version(interp):
    return '%d.%d' % interp.version[:2]


def split(text):
    """{name: text} from a concatenation of '==> name <==' sections."""
    parts, name = {}, None
    for line in text.splitlines(keepends=True):
        if line.startswith('==> ') and line.rstrip('\n').endswith(' <=='):
            name = line[4:-5] if line.endswith('\n') else line[4:-4]
            parts[name] = []
        else:
            parts[name].append(line)
    return {name: ''.join(lines) for name, lines in parts.items()}


def compare(interp, directory, names, annotate):
    expected = run([interp.exe, '-c', DRIVER, str(annotate), *names], cwd=directory,
                   timeout=300)
    assert expected.returncode == 0, expected.stderr
    argv = [mpconn(), 'dis', '--python', python_version(interp), *names]
    if annotate:
        argv.insert(2, '-a')
    got = run(argv, cwd=directory, timeout=300)
    assert got.returncode == 0, got.stderr
    want, have = split(expected.stdout), split(got.stdout)
    assert set(want) == set(names)
    errors = [n for n in names if '!! ' in want[n]]
    assert not errors, 'CPython refused fixtures: %s' % errors[:5]
    differ = [n for n in names if want[n] != have.get(n)]
    assert not differ, '%d of %d differ; first %s:\n--- pickletools\n%s--- mpconn\n%s' % (
        len(differ), len(names), differ[0], want[differ[0]], have.get(differ[0]))
    return len(names)


def test_dis_matches_pickletools_on_every_fixture_and_protocol(interp, fixture_dir, tmp_path):
    directory, names = fixture_dir
    done = run([interp.exe, '-c', PROTOCOLS, str(directory)], timeout=60)
    assert done.returncode == 0, done.stderr
    names = names + sorted(n for n in os.listdir(directory) if n.startswith('proto'))
    counted = compare(interp, directory, names, 0)
    compare(interp, directory, names, 30)
    print('%s: %d pickles identical, plain and annotated' % (interp.id, counted))


def test_dis_reads_stdin_as_python_m_pickletools_does(interp, fixture_dir):
    directory, names = fixture_dir
    biggest = max(names, key=lambda n: (directory / n).stat().st_size)

    def on_stdin(argv):
        # a file, not a pipe: 3.11's pickletools asks stdin for its position
        with open(directory / biggest, 'rb') as stdin:
            return subprocess.run(argv, stdin=stdin, capture_output=True, timeout=60)

    want = on_stdin([interp.exe, '-m', 'pickletools', '-a', '-'])
    have = on_stdin([mpconn(), 'dis', '-a', '--python', python_version(interp)])
    assert want.returncode == 0 and have.returncode == 0, (want.stderr, have.stderr)
    assert have.stdout == want.stdout


# Malformed or unusual pickles; several are refused differently by different versions.
BROKEN = {
    'truncated': b'\x80\x04K',
    'exhausted': b'\x80\x04K\x01',
    'unknown_opcode': b'\x80\x04\xff.',
    'no_mark': b'K\x01e.',
    'pop_mark': b'(K\x010N.',
    'empty_pop': b'a.',
    'memo_missing': b'h\x05.',
    'memo_twice': b'K\x01q\x00q\x00.',
    'memo_mark': b'(q\x00.',
    'memo_empty': b'\x94.',
    'stack_left': b'K\x01K\x02.',
    'string_latin1': b"S'caf\\xe9'\np0\n.",
    'string_raw_high': b"S'caf\xe9'\n.",
    'string_no_quotes': b'Sabc\n.',
    'string_bad_escape': b"S'a\\x4'\n.",
    'global_utf8': b'c\xc3\xa9\nname\n.',
    'global_escaped': b'cmod\\x41\nna\\tme\n.',
    'unicode_escapes': b'V\\u00e9\\U0001f600\\\\u0041\\x\n.',
    'unicode_truncated': b'V\\u00\n.',
    'int_bool': b'I01\nI00\nI 1_000 \n\x86.',
    'int_bad': b'I12L\n.',
    'long_suffix': b'L123456789012345678901234567890L\n.',
    'float_text': b'F1_0.5e-3\n.',
    'float_bad': b'F1.5x\n.',
    'long4_big': b'\x8b\x10\x00\x00\x00' + b'\xff' * 16 + b'.',
    'huge_long': b'\x8b\x00\x10\x00\x00' + b'\x01' * 4096 + b'.',
    'binstring': b'T\x03\x00\x00\x00a\'\xff.',
    'bytes8_short': b'\x8e\x05\x00\x00\x00\x00\x00\x00\x00ab.',
    'bytearray': b'\x96\x02\x00\x00\x00\x00\x00\x00\x00a\'.',
    'utf8_bad': b'\x8c\x02\xc3(.',
    'surrogate': b'\x8c\x03\xed\xa0\x80.',
    'nested_marks': b'((K\x01(K\x02ttl.',
    'get_after_put': b'](K\x01eq\x00h\x00\x86.',
}


@pytest.mark.parametrize('case', sorted(BROKEN))
def test_dis_refuses_and_shows_as_pickletools(interp, case, tmp_path):
    path = tmp_path / case
    path.write_bytes(BROKEN[case])
    for annotate in (0, 30):
        want = run([interp.exe, '-c', DRIVER, str(annotate), path.name], cwd=tmp_path)
        assert want.returncode == 0, want.stderr
        text = split(want.stdout)[path.name]
        expected_out, _, expected_err = text.partition('!! ')
        argv = [mpconn(), 'dis', '--python', python_version(interp), path.name]
        if annotate:
            argv.insert(2, '-a')
        have = run(argv, cwd=tmp_path)
        assert have.stdout == expected_out
        if expected_err:
            assert have.returncode == 1
            assert have.stderr.strip() == 'cannot disassemble %s: %s' % (
                path.name, expected_err.strip()), have.stderr
        else:
            assert have.returncode == 0, have.stderr


# Two pickles written by one Pickler: the second refers to the first one's memo.
SHARED_MEMO = r'''
import io, pickle, sys
buf = io.BytesIO()
p = pickle.Pickler(buf, protocol=int(sys.argv[1]))
x = ['shared', (1, 2)]
p.dump(x)
first = buf.tell()
p.dump([x, x])
data = buf.getvalue()
open('one.pickle', 'wb').write(data[:first])
open('two.pickle', 'wb').write(data[first:])
'''


@pytest.mark.parametrize('protocol', [0, 2, 4])
def test_dis_memo_and_preamble_across_files_as_python_m_pickletools(interp, tmp_path, protocol):
    made = run([interp.exe, '-c', SHARED_MEMO, str(protocol)], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    files = ['one.pickle', 'two.pickle']
    for flags in (['-m'], ['-m', '-a', '-l', '2', '-p', '--- {name} ---'], []):
        want = run([interp.exe, '-m', 'pickletools', *flags, *files], cwd=tmp_path)
        have = run([mpconn(), 'dis', '--python', python_version(interp), *flags, *files],
                   cwd=tmp_path)
        assert have.stdout == want.stdout, flags
        assert (have.returncode == 0) == (want.returncode == 0), (flags, want.stderr)
        if want.returncode:  # without -m the second pickle refers to an unknown memo key
            assert want.stderr.strip().splitlines()[-1] in have.stderr
