"""Process helpers for test_cli.py and test_examples.py: start peers, wait for their
'listening on ADDRESS' line (bounded, no sleeps), run commands, check one-line failures.

The shared harness (harness.py + conftest.py) provides `cargo_bin`, `free_port`,
`unix_path`, `abstract_name` and the `interp` fixture; the stand-ins below are used only
when that module is absent (a worktree before the merge), so the real ones win.
"""
from __future__ import annotations

import os
import select
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEEDS = HERE / 'seeds'
ROOT = HERE.parent

# Bound on anything that should happen promptly (a peer starting, a reply arriving).
# Only ever a ceiling for a failing test, never a synchronisation delay.
PROMPT = 60

try:  # the shared harness, when it is there
    from harness import cargo_bin, free_port, unix_path, abstract_name  # noqa: F401
    HAVE_HARNESS = True
except ImportError:  # stand-ins for a worktree without it
    import socket
    import uuid

    HAVE_HARNESS = False
    _built = False

    def _target_dir() -> Path:
        return Path(os.environ.get('CARGO_TARGET_DIR', ROOT / 'target'))

    def cargo_bin(name: str) -> str:
        global _built
        for path in (_target_dir() / 'debug' / name, _target_dir() / 'debug' / 'examples' / name):
            if path.exists() and _built:
                return str(path)
        if not _built:
            subprocess.run(['cargo', 'build', '--quiet', '--bins', '--examples'],
                           cwd=ROOT, check=True)
            _built = True
        return cargo_bin(name)

    def free_port() -> int:
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            return s.getsockname()[1]

    def unix_path(tmp_path) -> str:
        return str(Path(tmp_path) / 'mp.sock')

    def abstract_name() -> str:
        return 'mpconn-test-' + uuid.uuid4().hex[:12]


def mpconn() -> str:
    """The command under test: target/debug/mpconn, or $MPCONN_TEST_BIN (a release build)."""
    return os.environ.get('MPCONN_TEST_BIN') or cargo_bin('mpconn')


def read_line(stream, timeout: float = PROMPT) -> str:
    """One line from a child's pipe, waiting at most `timeout` seconds for it."""
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        raise AssertionError(f'no line within {timeout} s')
    line = stream.readline()
    if not line:
        raise AssertionError('the peer exited before printing a line')
    return line.rstrip('\n')


class Procs:
    """Children of one test; all killed (by their own pid) at teardown."""

    def __init__(self):
        self.children: list[subprocess.Popen] = []

    def spawn(self, argv, **kw) -> subprocess.Popen:
        kw.setdefault('stdin', subprocess.DEVNULL)
        kw.setdefault('stdout', subprocess.PIPE)
        kw.setdefault('stderr', subprocess.PIPE)
        proc = subprocess.Popen([str(a) for a in argv], text=True, **kw)
        self.children.append(proc)
        return proc

    def server(self, argv, ready_on='stdout', **kw):
        """Starts a server and returns (proc, address) once it printed 'listening on ADDRESS'."""
        proc = self.spawn(argv, **kw)
        stream = proc.stdout if ready_on == 'stdout' else proc.stderr
        line = read_line(stream)
        assert line.startswith('listening on '), f'unexpected first line {line!r} from {argv}'
        return proc, line[len('listening on '):]

    def listen(self, *args, env=None):
        """`mpconn listen ARGS...`; returns (proc, bound address)."""
        return self.server([mpconn(), 'listen', *args], ready_on='stderr', env=env)

    def close(self):
        for proc in self.children:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for stream in (proc.stdout, proc.stderr):
                if stream:
                    stream.close()


def run(argv, env=None, timeout: float = PROMPT, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL, **kw)


def run_py(interp, code: str, *args, timeout: float = PROMPT) -> subprocess.CompletedProcess:
    """Runs `code` in the interpreter under test; asserts it succeeded."""
    done = run([interp.exe, '-c', code, *args], timeout=timeout, env=python_env())
    assert done.returncode == 0, f'{interp.exe} failed:\n{done.stdout}\n{done.stderr}'
    return done


def env_with(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != 'MPCONN_AUTHKEY'}
    env.update(extra)
    return env


def clean_env() -> dict:
    return env_with()


def assert_one_line_failure(done: subprocess.CompletedProcess, needle: str, code=None):
    """Non-zero exit, exactly one line on stderr, containing `needle`, no panic."""
    assert done.returncode != 0, f'expected a failure, got status 0: {done.stdout!r}'
    if code is not None:
        assert done.returncode == code, done
    lines = done.stderr.splitlines()
    assert len(lines) == 1, f'expected one line on stderr, got {done.stderr!r}'
    assert needle in lines[0], f'{needle!r} not in {lines[0]!r}'
    assert 'panick' not in done.stderr and 'backtrace' not in done.stderr.lower()


def wait_exit(proc: subprocess.Popen, timeout: float = PROMPT) -> int:
    return proc.wait(timeout=timeout)


def pyfile(name: str) -> str:
    return str(SEEDS / name)


def python_env() -> dict:
    """Environment for seed programs: seeds/ on the path so they find seed_address."""
    env = clean_env()
    env['PYTHONPATH'] = str(SEEDS)
    env['PYTHONUNBUFFERED'] = '1'
    return env


def interpreters():
    """(id, exe) for the stand-in `interp` fixture."""
    import pythons  # python_interop/pythons.py: the one rule for where they are
    return [('py3.11' if ident == 'python3' else ident, exe) for ident, exe in pythons.candidates()]


class Interp:
    def __init__(self, ident: str, exe: str):
        self.id = ident
        self.exe = exe
        out = subprocess.run([exe, '-c', 'import sys; print(*sys.version_info[:3])'],
                             capture_output=True, text=True, check=True).stdout
        self.version = tuple(int(x) for x in out.split())

    def __repr__(self):
        return f'Interp({self.id}, {self.exe})'

