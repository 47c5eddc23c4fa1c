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

/// The interpreters that run on this machine: `python3` (3.11) and the provisioned
/// 3.13, 3.14 and 3.15.
pub fn interpreters() -> Vec<String> {
    [
        "python3",
        "/var/cache/mpconn/pythons/bin/python3.13",
        "/var/cache/mpconn/pythons/bin/python3.14",
        "/var/cache/mpconn/pythons/bin/python3.15",
    ]
    .into_iter()
    .filter(|p| {
        Command::new(p)
            .args(["-c", "pass"])
            .status()
            .is_ok_and(|s| s.success())
    })
    .map(String::from)
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
