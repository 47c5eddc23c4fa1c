//! The async endpoints against real CPython peers, every interpreter on the machine:
//! {async Rust listener ← Python client, Python listener ← async Rust client} ×
//! {TCP, Unix path, abstract} × {no key, key with the defaults, legacy digest forced from
//! Rust, wrong key}; bytes of 0 B to 1 MiB echoed, and one value pickled each way.
#![cfg(feature = "tokio")]

#[path = "common/cpython.rs"]
mod cpython;

use std::process::Child;

use mpconn::tokio::{AsyncClient, AsyncConnection, AsyncListener};
use mpconn::{Address, ClientOptions, Digest, Error, Family, ListenerOptions, Value};

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

fn rust_key(k: Keys) -> Option<Vec<u8>> {
    match k {
        Keys::None => None,
        _ => Some(b"the key".to_vec()),
    }
}

fn rust_digest(k: Keys) -> Digest {
    match k {
        Keys::LegacyFromRust => Digest::Legacy,
        _ => Digest::Sha256,
    }
}

async fn exchange(conn: &mut AsyncConnection, cell: &str) {
    for size in [0usize, 1, 16384, 16385, 1 << 20] {
        let msg: Vec<u8> = (0..size).map(|i| (i % 239) as u8).collect();
        conn.send_bytes(&msg).await.unwrap();
        assert_eq!(
            conn.recv_bytes().await.unwrap(),
            msg,
            "{cell}: {size} bytes"
        );
    }
    let value: Value =
        "[1, 'two', b'3', (4.5, None), {'six': [True, False]}, 1180591620717411303424]"
            .parse()
            .unwrap();
    conn.send_bytes(b"obj").await.unwrap();
    conn.send(&value).await.unwrap();
    let back = conn.recv().await.unwrap();
    assert_eq!(
        back,
        Value::tuple(vec![Value::from("echo"), value]),
        "{cell}"
    );
}

async fn wait(mut child: Child) -> Option<i32> {
    tokio::task::spawn_blocking(move || child.wait().unwrap().code())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_python_clients_against_an_async_rust_listener() {
    let mut cells = 0;
    for py in cpython::interpreters() {
        for family in [Family::Inet, Family::Unix, Family::Abstract] {
            for keys in KEYS {
                let cell = format!("{py} client -> async Rust listener, {family:?}, {keys:?}");
                let mut options = ListenerOptions::new().digest(rust_digest(keys));
                options.authkey = rust_key(keys);
                let listener = AsyncListener::bind_any(family, options).unwrap();
                let address = listener.address().to_string();
                let child = cpython::spawn_peer(&py, &["connect", &address, python_key(keys)]);
                let accepted = listener.accept().await;
                if let Keys::Wrong = keys {
                    assert!(
                        matches!(accepted, Err(Error::Authentication(_))),
                        "{cell}: {accepted:?}"
                    );
                    assert_eq!(wait(child).await, Some(3), "{cell}");
                } else {
                    let mut conn = accepted.unwrap_or_else(|e| panic!("{cell}: {e}"));
                    exchange(&mut conn, &cell).await;
                    drop(conn);
                    assert_eq!(wait(child).await, Some(0), "{cell}");
                }
                cells += 1;
            }
        }
    }
    assert!(cells >= 12, "{cells} cells");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_an_async_rust_client_against_python_listeners() {
    let dir = tempfile::tempdir().unwrap();
    let mut cells = 0;
    for (n, py) in cpython::interpreters().into_iter().enumerate() {
        for family in ["tcp", "unix", "abstract"] {
            for keys in KEYS {
                let cell = format!("async Rust client -> {py} listener, {family}, {keys:?}");
                let address = match family {
                    "tcp" => "127.0.0.1:0".to_string(),
                    "unix" => dir
                        .path()
                        .join(format!("{n}-{cells}.sock"))
                        .display()
                        .to_string(),
                    _ => format!("@mpconn-async-test-{}-{n}-{cells}", std::process::id()),
                };
                let mut child = cpython::spawn_peer(&py, &["listen", &address, python_key(keys)]);
                let address: Address = cpython::first_line(&mut child).parse().unwrap();
                let mut options = ClientOptions::new().digest(rust_digest(keys));
                options.authkey = rust_key(keys);
                let connected = AsyncClient::connect_with(&address, &options).await;
                if let Keys::Wrong = keys {
                    assert!(
                        matches!(connected, Err(Error::Authentication(_))),
                        "{cell}: {connected:?}"
                    );
                    assert_eq!(wait(child).await, Some(3), "{cell}");
                } else {
                    let mut conn = connected.unwrap_or_else(|e| panic!("{cell}: {e}"));
                    exchange(&mut conn, &cell).await;
                    drop(conn);
                    assert_eq!(wait(child).await, Some(0), "{cell}");
                }
                cells += 1;
            }
        }
    }
    assert!(cells >= 12, "{cells} cells");
}
