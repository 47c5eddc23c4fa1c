//! Rust endpoints against real CPython peers, every interpreter found on the machine:
//! {Rust listener ← Python client, Python listener ← Rust client} × {TCP, Unix path,
//! abstract} × {no key, key with the defaults, legacy digest forced from Rust, wrong key},
//! echoing messages of 0, 1, 16384, 16385 and 1 MiB bytes.
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use mpconn::{Address, Client, ClientOptions, Digest, Error, Family, Listener, ListenerOptions};

const PEER: &str = r#"
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
        c.send_bytes(c.recv_bytes())
except EOFError:
    pass
"#;

fn interpreters() -> Vec<String> {
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

#[derive(Clone, Copy, Debug)]
enum Keys {
    None,
    Default,
    LegacyFromRust,
    Wrong,
}

const KEYS: [Keys; 4] = [Keys::None, Keys::Default, Keys::LegacyFromRust, Keys::Wrong];

fn python_key(k: Keys) -> &'static str {
    match k {
        Keys::None => "-",
        Keys::Wrong => "other key",
        _ => "the key",
    }
}

fn rust_key(k: Keys) -> Option<&'static [u8]> {
    match k {
        Keys::None => None,
        _ => Some(b"the key"),
    }
}

fn rust_digest(k: Keys) -> Digest {
    match k {
        Keys::LegacyFromRust => Digest::Legacy,
        _ => Digest::Sha256,
    }
}

fn python(py: &str, args: &[&str]) -> Child {
    Command::new(py)
        .arg("-c")
        .arg(PEER)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn python")
}

fn echo(conn: &mut mpconn::Connection, cell: &str) {
    for size in [0usize, 1, 16384, 16385, 1 << 20] {
        let msg: Vec<u8> = (0..size).map(|i| (i % 239) as u8).collect();
        conn.send_bytes(&msg).unwrap();
        assert_eq!(conn.recv_bytes().unwrap(), msg, "{cell}: {size} bytes");
    }
}

#[test]
fn python_clients_against_a_rust_listener() {
    let mut cells = 0;
    for py in interpreters() {
        for family in [Family::Inet, Family::Unix, Family::Abstract] {
            for keys in KEYS {
                let cell = format!("{py} client -> Rust listener, {family:?}, {keys:?}");
                let mut options = ListenerOptions::new().digest(rust_digest(keys));
                options.authkey = rust_key(keys).map(<[u8]>::to_vec);
                let listener = Listener::bind_any(family, options).unwrap();
                let address = listener.address().to_string();
                let mut child = python(&py, &["connect", &address, python_key(keys)]);
                let accepted = listener.accept();
                if let Keys::Wrong = keys {
                    assert!(
                        matches!(accepted, Err(Error::Authentication(_))),
                        "{cell}: {accepted:?}"
                    );
                    assert_eq!(child.wait().unwrap().code(), Some(3), "{cell}");
                } else {
                    let mut conn = accepted.unwrap_or_else(|e| panic!("{cell}: {e}"));
                    echo(&mut conn, &cell);
                    drop(conn);
                    assert!(child.wait().unwrap().success(), "{cell}");
                }
                cells += 1;
            }
        }
    }
    assert!(cells >= 12);
}

#[test]
fn a_rust_client_against_python_listeners() {
    let dir = tempfile::tempdir().unwrap();
    let mut cells = 0;
    for (n, py) in interpreters().into_iter().enumerate() {
        for family in ["tcp", "unix", "abstract"] {
            for keys in KEYS {
                let cell = format!("Rust client -> {py} listener, {family}, {keys:?}");
                let address = match family {
                    "tcp" => "127.0.0.1:0".to_string(),
                    "unix" => dir
                        .path()
                        .join(format!("{n}-{cells}.sock"))
                        .display()
                        .to_string(),
                    _ => format!("@mpconn-test-{}-{n}-{cells}", std::process::id()),
                };
                let mut child = python(&py, &["listen", &address, python_key(keys)]);
                let mut line = String::new();
                BufReader::new(child.stdout.as_mut().unwrap())
                    .read_line(&mut line)
                    .unwrap();
                let address: Address = line.trim().parse().unwrap();
                let mut options = ClientOptions::new().digest(rust_digest(keys));
                options.authkey = rust_key(keys).map(<[u8]>::to_vec);
                let connected = Client::connect_with(&address, &options);
                if let Keys::Wrong = keys {
                    assert!(
                        matches!(connected, Err(Error::Authentication(_))),
                        "{cell}: {connected:?}"
                    );
                    assert_eq!(child.wait().unwrap().code(), Some(3), "{cell}");
                } else {
                    let mut conn = connected.unwrap_or_else(|e| panic!("{cell}: {e}"));
                    echo(&mut conn, &cell);
                    drop(conn);
                    assert!(child.wait().unwrap().success(), "{cell}");
                }
                cells += 1;
            }
        }
    }
    assert!(cells >= 12);
}
