//! The serve helper: silent and wrong-key peers never block a legitimate client, every
//! failure is reported, and stop makes serve return.
#![cfg(unix)]
use std::io::Write;
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use mpconn::server::{Report, Server, Stage};
use mpconn::{Address, Client, Error, Family, Listener, ListenerOptions};

#[test]
fn silent_and_wrong_key_peers_do_not_block_a_legitimate_client() {
    let listener = Listener::bind_any(
        Family::Inet,
        ListenerOptions::new()
            .authkey(b"key")
            .handshake_timeout(Some(Duration::from_millis(300))),
    )
    .unwrap();
    let address = listener.address();
    let server = Server::new(listener).unwrap();
    let stop = server.stop_handle();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let serving = thread::spawn(move || {
        server.serve(
            |conn| loop {
                let msg = conn.recv_bytes()?;
                conn.send_bytes(&msg)?;
            },
            move |r| {
                let _ = tx.lock().unwrap().send(r);
            },
        )
    });

    // 10 idle peers that never answer the challenge.
    let Address::Inet { port, .. } = &address else {
        panic!()
    };
    let idle: Vec<_> = (0..10)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", *port)).unwrap())
        .collect();
    // 10 wrong-key clients.
    for _ in 0..10 {
        let r = Client::connect(&address, Some(b"wrong"));
        assert!(matches!(r, Err(Error::Authentication(_))), "{r:?}");
    }
    // A peer sending garbage instead of an answer.
    let mut garbage = std::net::TcpStream::connect(("127.0.0.1", *port)).unwrap();
    garbage.write_all(&[0, 0, 0, 3, 1, 2, 3]).unwrap();
    // The legitimate client is served while the idle ones still hold their sockets.
    let mut conn = Client::connect(&address, Some(b"key")).unwrap();
    conn.send_bytes(b"hello").unwrap();
    assert_eq!(conn.recv_bytes().unwrap(), b"hello");
    drop(conn);

    // Reports: 10 handshake timeouts, 11 authentication failures, 1 finished.
    let (mut timeouts, mut auth, mut finished) = (0, 0, 0);
    while timeouts < 10 || auth < 11 || finished < 1 {
        match rx.recv_timeout(Duration::from_secs(30)).expect("a report") {
            Report::Failed {
                stage: Stage::Handshake,
                error: Error::Timeout(_),
                ..
            } => timeouts += 1,
            Report::Failed {
                stage: Stage::Handshake,
                error: Error::Authentication(_),
                ..
            } => auth += 1,
            Report::Finished { .. } => finished += 1,
            Report::Accepted { .. } | Report::Authenticated { .. } => {}
            other => panic!("unexpected report {other:?}"),
        }
    }
    assert_eq!((timeouts, auth, finished), (10, 11, 1));
    drop(idle);
    stop.stop();
    serving.join().unwrap().unwrap();
}

#[test]
fn connections_over_the_cap_are_refused_and_reported() {
    let listener = Listener::bind_any(Family::Unix, ListenerOptions::new()).unwrap();
    let address = listener.address();
    let server = Server::new(listener).unwrap().max_connections(1);
    let stop = server.stop_handle();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let serving = thread::spawn(move || {
        server.serve(
            |conn| {
                // Hold the slot until the client says goodbye.
                conn.recv_bytes()?;
                Ok(())
            },
            move |r| {
                let _ = tx.lock().unwrap().send(r);
            },
        )
    });
    let mut first = Client::connect(&address, None).unwrap();
    loop {
        if let Report::Authenticated { .. } = rx.recv().unwrap() {
            break;
        }
    }
    let mut second = Client::connect(&address, None).unwrap();
    loop {
        if let Report::Refused { active, .. } = rx.recv().unwrap() {
            assert_eq!(active, 1);
            break;
        }
    }
    assert!(matches!(second.recv_bytes(), Err(Error::Eof)));
    first.send_bytes(b"bye").unwrap();
    loop {
        if let Report::Finished { .. } = rx.recv().unwrap() {
            break;
        }
    }
    stop.stop();
    serving.join().unwrap().unwrap();
}

#[test]
fn a_peer_dribbling_bytes_cannot_stretch_the_handshake() {
    let listener = Listener::bind_any(
        Family::Abstract,
        ListenerOptions::new()
            .authkey(b"key")
            .handshake_timeout(Some(Duration::from_millis(300))),
    )
    .unwrap();
    let Address::Abstract(name) = listener.address() else {
        panic!()
    };
    let server = thread::spawn(move || listener.accept().map(|_| ()));
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap();
    let mut peer = std::os::unix::net::UnixStream::connect_addr(&addr).unwrap();
    // Announce a 200-byte answer and send it one byte at a time, each well within the
    // limit, until the server gives up; the whole handshake is bounded, not each read.
    peer.write_all(&200u32.to_be_bytes()).unwrap();
    let dribbler = thread::spawn(move || {
        for _ in 0..200 {
            if peer.write_all(&[0]).is_err() {
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
    });
    let r = server.join().unwrap();
    assert!(matches!(r, Err(Error::Timeout(_))), "{r:?}");
    dribbler.join().unwrap();
}
