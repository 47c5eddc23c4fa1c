//! Rust endpoints against real CPython peers, every interpreter found on the machine:
//! {Rust listener ← Python client, Python listener ← Rust client} × {TCP, Unix path,
//! abstract} × {no key, key with the defaults, legacy digest forced from Rust, wrong key},
//! echoing messages of 0, 1, 16384, 16385 and 1 MiB bytes.
#[path = "common/cpython.rs"]
mod cpython;

use cpython::{first_line, interpreters, spawn_peer as python};
use mpconn::{Address, Client, ClientOptions, Digest, Error, Family, Listener, ListenerOptions};

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
                let address: Address = first_line(&mut child).parse().unwrap();
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
