//! CPython peers for endpoint tests: an echo peer script and the interpreters found on
//! the machine.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// `python -c PEER ROLE ADDRESS KEY`: ROLE is `listen` (prints its address, accepts one
/// client) or `connect`; KEY `-` means no authkey. Exits 3 on AuthenticationError.
/// Echoes every message; after the message `obj` it receives one object and sends back
/// `('echo', obj)` (pickled by CPython, with its own default protocol).
pub const PEER: &str = r#"
import sys
from multiprocessing.connection import Listener, Client, AuthenticationError
role, addr, key = sys.argv[1], sys.argv[2], sys.argv[3]
key = None if key == '-' else key.encode()
if addr.startswith('@'):
    addr = '\0' + addr[1:]
elif '/' not in addr:
    host, port = addr.rsplit(':', 1)
    addr = (host.strip('[]'), int(port))
try:
    if role == 'listen':
        l = Listener(addr, authkey=key)
        a = l.address
        if isinstance(a, bytes):  # an abstract name comes back as bytes
            a = a.decode()
        if isinstance(a, tuple):
            a = '%s:%d' % a
        elif a.startswith('\0'):
            a = '@' + a[1:]
        print(a, flush=True)
        c = l.accept()
    else:
        c = Client(addr, authkey=key)
except AuthenticationError:
    print('AuthenticationError', flush=True)
    sys.exit(3)
try:
    while True:
        m = c.recv_bytes()
        if m == b'obj':
            c.send(('echo', c.recv()))
        else:
            c.send_bytes(m)
except EOFError:
    pass
"#;

/// The interpreters of the test matrix that run on this machine: `python3` (3.11) and the
/// provisioned 3.13, 3.14 and 3.15, as `python_interop/pythons.py list` reports them (the
/// one rule for where they are: `MPCONN_PYTHONS_DIR`, default `/var/cache/mpconn/pythons`).
///
/// # Panics
/// Under `CI=true`, when one of them is missing (a missing interpreter fails CI, it is
/// never skipped); elsewhere a missing one is skipped with a note on stderr.
pub fn interpreters() -> Vec<String> {
    static FOUND: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    FOUND.get_or_init(list_interpreters).clone()
}

/// The interpreter for `major.minor` (e.g. "3.14") when the machine has it.
pub fn interpreter(version: &str) -> Option<String> {
    let wanted = format!("py{version}");
    matrix()
        .iter()
        .find(|(id, _, ok)| *ok && *id == wanted)
        .map(|(_, exe, _)| exe.clone())
}

fn list_interpreters() -> Vec<String> {
    let ci = std::env::var("CI").is_ok_and(|v| ["1", "true", "yes"].contains(&v.as_str()));
    let mut found = Vec::new();
    for (id, exe, ok) in matrix() {
        if *ok {
            found.push(exe.clone());
        } else if ci {
            panic!("CI=true and {id} is missing ({exe}): run `make pythons`");
        } else {
            eprintln!("note: skipping {id}: {exe} missing (run `make pythons`)");
        }
    }
    found
}

/// `(id, exe, usable)` for each interpreter `python_interop/pythons.py list` names, asked
/// once per test binary (the list runs every interpreter once).
fn matrix() -> &'static [(String, String, bool)] {
    static MATRIX: std::sync::OnceLock<Vec<(String, String, bool)>> = std::sync::OnceLock::new();
    MATRIX.get_or_init(list_matrix)
}

fn list_matrix() -> Vec<(String, String, bool)> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python_interop/pythons.py");
    let out = Command::new("python3")
        .args([script, "list"])
        .output()
        .expect("python3 runs python_interop/pythons.py");
    assert!(out.status.success(), "pythons.py list failed: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, '\t');
            let (id, exe, status) = (fields.next()?, fields.next()?, fields.next()?);
            Some((id.to_owned(), exe.to_owned(), status == "ok"))
        })
        .collect()
}

/// Starts the peer script under `py` with `args`, stdout piped.
pub fn spawn_peer(py: &str, args: &[&str]) -> Child {
    Command::new(py)
        .arg("-c")
        .arg(PEER)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn python")
}

/// Reads the first line a peer printed (a listener's address).
pub fn first_line(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().expect("piped stdout"))
        .read_line(&mut line)
        .expect("read the peer's first line");
    line.trim().to_string()
}
