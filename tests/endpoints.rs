//! Rust ⇄ Rust over TCP, AF_UNIX paths and abstract names: keys right, empty and wrong;
//! BufferTooShort; MessageTooLong; poll; listener addresses and clean-up.
#![cfg(unix)]
use std::io::{Read, Write};
use std::thread;
use std::time::Duration;

use mpconn::{
    Address, Client, ClientOptions, Connection, Digest, Error, Family, Listener, ListenerOptions,
};

const FAMILIES: [Family; 3] = [Family::Inet, Family::Unix, Family::Abstract];

/// Binds an arbitrary address and echoes every message of one connection until EOF.
fn echo_server(
    family: Family,
    options: ListenerOptions,
) -> (Address, thread::JoinHandle<Result<usize, Error>>) {
    let listener = Listener::bind_any(family, options).unwrap();
    let address = listener.address();
    let handle = thread::spawn(move || {
        let mut conn = listener.accept()?;
        let mut n = 0;
        loop {
            match conn.recv_bytes() {
                Ok(msg) => conn.send_bytes(&msg)?,
                Err(Error::Eof) => return Ok(n),
                Err(e) => return Err(e),
            }
            n += 1;
        }
    });
    (address, handle)
}

fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 31 % 256) as u8).collect()
}

fn exchange(conn: &mut Connection) {
    for size in [0, 1, 16384, 16385, 1 << 20] {
        let msg = payload(size);
        conn.send_bytes(&msg).unwrap();
        assert_eq!(conn.recv_bytes().unwrap(), msg, "{size} bytes");
    }
}

#[test]
fn echo_without_a_key_on_every_family() {
    for family in FAMILIES {
        let (address, server) = echo_server(family, ListenerOptions::new());
        let mut conn = Client::connect(&address, None).unwrap();
        exchange(&mut conn);
        drop(conn);
        assert_eq!(server.join().unwrap().unwrap(), 5, "{family:?}");
    }
}

#[test]
fn echo_with_a_key_in_every_digest_on_every_family() {
    for family in FAMILIES {
        for server_digest in Digest::ALL {
            let client_digest = if server_digest == Digest::Legacy {
                Digest::Sha3_384
            } else {
                Digest::Legacy
            };
            let (address, server) = echo_server(
                family,
                ListenerOptions::new().authkey(b"key").digest(server_digest),
            );
            let options = ClientOptions::new().authkey(b"key").digest(client_digest);
            let mut conn = Client::connect_with(&address, &options).unwrap();
            exchange(&mut conn);
            drop(conn);
            assert_eq!(server.join().unwrap().unwrap(), 5);
        }
    }
}

#[test]
fn an_empty_key_still_authenticates() {
    let (address, server) = echo_server(Family::Unix, ListenerOptions::new().authkey(b""));
    let mut conn = Client::connect(&address, Some(b"")).unwrap();
    exchange(&mut conn);
    drop(conn);
    server.join().unwrap().unwrap();
    // ... and a client without a key cannot talk to it: it reads the challenge as data.
    let (address, server) = echo_server(Family::Unix, ListenerOptions::new().authkey(b""));
    let mut conn = Client::connect(&address, None).unwrap();
    assert!(conn.recv_bytes().unwrap().starts_with(b"#CHALLENGE#"));
    drop(conn);
    assert!(server.join().unwrap().is_err());
}

#[test]
fn a_wrong_key_fails_on_both_sides() {
    for family in FAMILIES {
        let (address, server) = echo_server(family, ListenerOptions::new().authkey(b"right"));
        let r = Client::connect(&address, Some(b"wrong"));
        assert!(matches!(r, Err(Error::Authentication(_))), "{r:?}");
        let r = server.join().unwrap();
        assert!(matches!(r, Err(Error::Authentication(_))), "{r:?}");
    }
}

#[test]
fn recv_bytes_into_fills_at_an_offset_or_carries_the_whole_message() {
    let (address, server) = echo_server(Family::Abstract, ListenerOptions::new());
    let mut conn = Client::connect(&address, None).unwrap();
    conn.send_bytes(b"hello").unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(conn.recv_bytes_into(&mut buf, 3).unwrap(), 5);
    assert_eq!(&buf, b"\0\0\0hello");
    conn.send_bytes(b"hello!").unwrap();
    match conn.recv_bytes_into(&mut buf, 3) {
        Err(Error::BufferTooShort(msg)) => assert_eq!(msg, b"hello!"),
        other => panic!("expected BufferTooShort, got {other:?}"),
    }
    // A large message straight into the caller's buffer.
    let big = payload(300_000);
    conn.send_bytes(&big).unwrap();
    let mut buf = vec![0u8; 300_000];
    assert_eq!(conn.recv_bytes_into(&mut buf, 0).unwrap(), 300_000);
    assert_eq!(buf, big);
    assert!(matches!(
        conn.recv_bytes_into(&mut [0u8; 2], 3),
        Err(Error::Value(_))
    ));
    // The connection still works.
    conn.send_bytes(b"x").unwrap();
    assert_eq!(conn.recv_bytes().unwrap(), b"x");
    drop(conn);
    server.join().unwrap().unwrap();
}

#[test]
fn message_too_long_closes_the_connection() {
    let (address, server) = echo_server(Family::Inet, ListenerOptions::new());
    let mut conn =
        Client::connect_with(&address, &ClientOptions::new().max_message_size(Some(1000))).unwrap();
    conn.send_bytes(&payload(2000)).unwrap();
    let r = conn.recv_bytes();
    assert!(
        matches!(
            r,
            Err(Error::MessageTooLong {
                length: 2000,
                max: 1000
            })
        ),
        "{r:?}"
    );
    assert!(matches!(conn.recv_bytes(), Err(Error::Closed(_))));
    assert!(matches!(conn.send_bytes(b"x"), Err(Error::Closed(_))));
    drop(conn);
    let _ = server.join().unwrap();
}

#[test]
fn a_listener_refuses_an_oversize_handshake_answer() {
    let listener = Listener::bind_any(Family::Unix, ListenerOptions::new().authkey(b"k")).unwrap();
    let address = listener.address();
    let server = thread::spawn(move || listener.accept().map(|_| ()));
    let Address::Unix(path) = &address else {
        unreachable!()
    };
    let mut raw = std::os::unix::net::UnixStream::connect(path).unwrap();
    let mut header = [0u8; 4];
    raw.read_exact(&mut header).unwrap();
    let mut challenge = vec![0u8; u32::from_be_bytes(header) as usize];
    raw.read_exact(&mut challenge).unwrap();
    raw.write_all(&1000u32.to_be_bytes()).unwrap();
    let r = server.join().unwrap();
    assert!(matches!(r, Err(Error::Authentication(_))), "{r:?}");
}

#[test]
fn poll_sees_data_and_eof() {
    let listener = Listener::bind_any(Family::Inet, ListenerOptions::new()).unwrap();
    let address = listener.address();
    let server = thread::spawn(move || {
        let mut conn = listener.accept().unwrap();
        let go = conn.recv_bytes().unwrap();
        conn.send_bytes(&go).unwrap();
        // Wait for the client's "close now" before closing.
        assert_eq!(conn.recv_bytes().unwrap(), b"close");
    });
    let mut conn = Client::connect(&address, None).unwrap();
    assert!(!conn.poll(Some(Duration::ZERO)).unwrap());
    conn.send_bytes(b"ping").unwrap();
    assert!(conn.poll(None).unwrap());
    assert!(conn.poll(Some(Duration::ZERO)).unwrap());
    assert_eq!(conn.recv_bytes().unwrap(), b"ping");
    assert!(!conn.poll(Some(Duration::from_millis(1))).unwrap());
    conn.send_bytes(b"close").unwrap();
    server.join().unwrap();
    assert!(conn.poll(None).unwrap());
    assert!(matches!(conn.recv_bytes(), Err(Error::Eof)));
}

#[test]
fn listener_reports_addresses_and_removes_its_socket_file() {
    let listener = Listener::bind_any(Family::Inet, ListenerOptions::new()).unwrap();
    let Address::Inet { port, .. } = listener.address() else {
        panic!()
    };
    assert_ne!(port, 0);
    assert_eq!(listener.last_accepted(), None);
    let address = listener.address();
    let client = thread::spawn(move || Client::connect(&address, None).unwrap());
    let conn = listener.accept().unwrap();
    let client = client.join().unwrap();
    assert_eq!(listener.last_accepted(), client.local_address());
    assert_eq!(conn.peer_address(), client.local_address());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sock");
    let listener = Listener::bind(&Address::Unix(path.clone()), None).unwrap();
    assert_eq!(listener.address(), Address::Unix(path.clone()));
    assert!(path.exists());
    drop(listener);
    assert!(!path.exists());

    let listener = Listener::bind_any(Family::Unix, ListenerOptions::new()).unwrap();
    let Address::Unix(path) = listener.address() else {
        panic!()
    };
    let private_dir = path.parent().unwrap().to_path_buf();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&private_dir)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    drop(listener);
    assert!(!path.exists() && !private_dir.exists());
}

#[test]
fn ipv6_and_host_names_work() {
    let listener = Listener::bind(&"localhost:0".parse().unwrap(), None).unwrap();
    let address = listener.address();
    let t = thread::spawn(move || listener.accept().unwrap().recv_bytes().unwrap());
    Client::connect(&address, None)
        .unwrap()
        .send_bytes(b"hi")
        .unwrap();
    assert_eq!(t.join().unwrap(), b"hi");
    if let Ok(listener) = Listener::bind(&"[::1]:0".parse().unwrap(), None) {
        let address = listener.address();
        assert!(address.to_string().starts_with("[::1]:"));
        let t = thread::spawn(move || listener.accept().unwrap().recv_bytes().unwrap());
        Client::connect(&address, None)
            .unwrap()
            .send_bytes(b"v6")
            .unwrap();
        assert_eq!(t.join().unwrap(), b"v6");
    }
}

#[test]
fn a_silent_peer_times_out_the_handshake_and_pending_accept_defers_it() {
    let listener = Listener::bind_any(
        Family::Inet,
        ListenerOptions::new()
            .authkey(b"k")
            .handshake_timeout(Some(Duration::from_millis(100))),
    )
    .unwrap();
    let Address::Inet { port, .. } = listener.address() else {
        panic!()
    };
    // A peer that connects and never answers.
    let _silent = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let pending = listener.accept_pending().unwrap();
    assert!(pending.peer().is_some());
    let worker = thread::spawn(move || pending.authenticate());
    // Meanwhile accept keeps serving a legitimate client.
    let address = listener.address();
    let client = thread::spawn(move || {
        let mut c = Client::connect(&address, Some(b"k")).unwrap();
        c.send_bytes(b"ok").unwrap();
    });
    let mut conn = listener.accept().unwrap();
    assert_eq!(conn.recv_bytes().unwrap(), b"ok");
    client.join().unwrap();
    let r = worker.join().unwrap();
    assert!(matches!(r, Err(Error::Timeout(_))), "{r:?}");
}

#[test]
fn timeouts_apply_after_the_handshake_only_when_asked() {
    let (address, _server) = echo_server(Family::Unix, ListenerOptions::new().authkey(b"k"));
    let options = ClientOptions::new()
        .authkey(b"k")
        .timeout(Duration::from_secs(5));
    let mut conn = Client::connect_with(&address, &options).unwrap();
    conn.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    assert!(matches!(conn.recv_bytes(), Err(Error::Timeout(_))));
    // A timeout at a message boundary leaves the connection usable.
    conn.set_read_timeout(None).unwrap();
    conn.send_bytes(b"still here").unwrap();
    assert_eq!(conn.recv_bytes().unwrap(), b"still here");
}

#[test]
fn connections_from_and_into_raw_descriptors() {
    use std::os::fd::{AsRawFd, OwnedFd};
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let mut a = Connection::from_owned_fd(OwnedFd::from(a)).unwrap();
    let mut b = Connection::from_owned_fd(OwnedFd::from(b)).unwrap();
    assert!(a.as_raw_fd() >= 0);
    a.send_bytes(b"over a socketpair").unwrap();
    assert_eq!(b.recv_bytes().unwrap(), b"over a socketpair");
    // Handshake on inherited descriptors, as CPython's Pipe users do by hand.
    let t = thread::spawn(move || {
        b.answer_challenge(b"k")?;
        b.deliver_challenge(b"k", Digest::Sha256)
    });
    a.deliver_challenge(b"k", Digest::Legacy).unwrap();
    a.answer_challenge(b"k").unwrap();
    t.join().unwrap().unwrap();
    // An OS pipe works one way.
    let (r, w) = pipe();
    let mut r = Connection::from_owned_fd(r).unwrap();
    let mut w = Connection::from_owned_fd(w).unwrap();
    w.send_bytes(b"down the pipe").unwrap();
    assert_eq!(r.recv_bytes().unwrap(), b"down the pipe");
    let fd = std::os::fd::IntoRawFd::into_raw_fd(w);
    assert!(fd >= 0);
    // SAFETY: `fd` was just released by into_raw_fd and is owned by nobody else.
    drop(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) });
    assert!(matches!(r.recv_bytes(), Err(Error::Eof)));
}

fn pipe() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe(2) writes two new descriptors into the array we pass.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors are fresh and owned by nobody else.
    unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    }
}

#[test]
fn try_clone_sends_while_another_thread_receives() {
    let (address, server) = echo_server(Family::Abstract, ListenerOptions::new());
    let mut conn = Client::connect(&address, None).unwrap();
    let mut sender = conn.try_clone().unwrap();
    let t = thread::spawn(move || {
        for i in 0..200u32 {
            sender.send_bytes(&i.to_be_bytes()).unwrap();
        }
    });
    for i in 0..200u32 {
        assert_eq!(conn.recv_bytes().unwrap(), i.to_be_bytes());
    }
    t.join().unwrap();
    drop(conn);
    assert_eq!(server.join().unwrap().unwrap(), 200);
}

#[test]
fn values_round_trip() {
    let (address, server) = echo_server(Family::Inet, ListenerOptions::new());
    let mut conn = Client::connect(&address, None).unwrap();
    let v = mpconn::Value::list(vec![mpconn::Value::Int(7), mpconn::Value::None]);
    conn.send(&v).unwrap();
    assert_eq!(format!("{:?}", conn.recv().unwrap()), format!("{v:?}"));
    conn.send_obj(&("x", 2u8)).unwrap();
    let back: (String, u8) = conn.recv_obj().unwrap();
    assert_eq!(back, ("x".to_string(), 2));
    drop(conn);
    server.join().unwrap().unwrap();
}
