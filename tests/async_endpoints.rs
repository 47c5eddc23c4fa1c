//! The tokio endpoints against each other: every family and key case, values and typed
//! objects, split halves, limits, cancellation of pending receives, and 1000 concurrent
//! clients on one listener.
#![cfg(feature = "tokio")]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mpconn::tokio::{AsyncClient, AsyncConnection, AsyncListener};
use mpconn::{Address, ClientOptions, Digest, Error, Family, ListenerOptions, Value};
use tokio::io::AsyncWriteExt;

/// The socket families this platform has (AF_UNIX, path and abstract, only on Unix).
#[cfg(unix)]
const FAMILIES: &[Family] = &[Family::Inet, Family::Unix, Family::Abstract];
#[cfg(not(unix))]
const FAMILIES: &[Family] = &[Family::Inet];
/// TCP, and AF_UNIX where there is one.
#[cfg(unix)]
const INET_AND_LOCAL: &[Family] = &[Family::Inet, Family::Unix];
#[cfg(not(unix))]
const INET_AND_LOCAL: &[Family] = &[Family::Inet];
/// A local family: AF_UNIX (a path, or an abstract name) where there is one, else TCP.
#[cfg(unix)]
const LOCAL: Family = Family::Unix;
#[cfg(unix)]
const LOCAL_ABSTRACT: Family = Family::Abstract;
#[cfg(not(unix))]
const LOCAL: Family = Family::Inet;
#[cfg(not(unix))]
const LOCAL_ABSTRACT: Family = Family::Inet;

fn pattern(size: usize, seed: usize) -> Vec<u8> {
    (0..size)
        .map(|i| ((i * 31 + seed * 7) % 251) as u8)
        .collect()
}

/// FNV-1a, enough to notice a lost, duplicated or reordered byte.
fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

async fn echo_server(mut conn: AsyncConnection) {
    loop {
        match conn.recv_bytes().await {
            Ok(m) => conn.send_bytes(&m).await.unwrap(),
            Err(Error::Eof) => return,
            Err(e) => panic!("server: {e}"),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Keys {
    None,
    Same,
    LegacyListener,
    LegacyClient,
}

#[tokio::test]
async fn tokio_echo_every_family_and_key_case() {
    for &family in FAMILIES {
        for keys in [
            Keys::None,
            Keys::Same,
            Keys::LegacyListener,
            Keys::LegacyClient,
        ] {
            let cell = format!("{family:?} {keys:?}");
            let mut lopts = ListenerOptions::new();
            let mut copts = ClientOptions::new();
            if !matches!(keys, Keys::None) {
                lopts = lopts.authkey(b"k");
                copts = copts.authkey(b"k");
            }
            if let Keys::LegacyListener = keys {
                lopts = lopts.digest(Digest::Legacy);
            }
            if let Keys::LegacyClient = keys {
                copts = copts.digest(Digest::Legacy);
            }
            let listener = AsyncListener::bind_any(family, lopts).unwrap();
            let address = listener.address();
            let server = tokio::spawn(async move {
                let conn = listener.accept().await.unwrap();
                echo_server(conn).await;
                listener
            });
            let mut conn = AsyncClient::connect_with(&address, &copts).await.unwrap();
            for size in [0usize, 1, 16384, 16385, 100_000, 1 << 20] {
                let msg = pattern(size, size);
                conn.send_bytes(&msg).await.unwrap();
                assert_eq!(conn.recv_bytes().await.unwrap(), msg, "{cell}: {size}");
            }
            let value: Value = "[1, 'a', b'\\x00', (None, 2.5), {'k': [True]}]"
                .parse()
                .unwrap();
            conn.send(&value).await.unwrap();
            assert_eq!(conn.recv().await.unwrap(), value, "{cell}");
            conn.send_obj(&(7u32, "seven".to_string())).await.unwrap();
            let back: (u32, String) = conn.recv_obj().await.unwrap();
            assert_eq!(back, (7, "seven".to_string()), "{cell}");
            let local = conn.local_address();
            drop(conn);
            let listener = server.await.unwrap();
            if let Family::Inet = family {
                assert_eq!(listener.last_accepted(), local, "{cell}");
            }
        }
    }
}

#[tokio::test]
async fn tokio_wrong_key_fails_on_both_sides() {
    for (server_digest, client_digest) in [
        (Digest::Sha256, Digest::Sha256),
        (Digest::Legacy, Digest::Sha256),
    ] {
        let listener = AsyncListener::bind_any(
            Family::Inet,
            ListenerOptions::new()
                .authkey(b"right")
                .digest(server_digest),
        )
        .unwrap();
        let address = listener.address();
        let server = tokio::spawn(async move { listener.accept().await });
        let client = AsyncClient::connect_with(
            &address,
            &ClientOptions::new().authkey(b"wrong").digest(client_digest),
        )
        .await;
        assert!(
            matches!(client, Err(Error::Authentication(_))),
            "{client:?}"
        );
        let server = server.await.unwrap();
        assert!(
            matches!(server, Err(Error::Authentication(_))),
            "{server:?}"
        );
    }
}

#[cfg(unix)]
#[tokio::test]
async fn tokio_handshake_timeout_and_silent_peer() {
    let listener = AsyncListener::bind_any(
        Family::Unix,
        ListenerOptions::new()
            .authkey(b"k")
            .handshake_timeout(Some(Duration::from_millis(200))),
    )
    .unwrap();
    let Address::Unix(path) = listener.address() else {
        panic!()
    };
    // A peer that connects and never answers the challenge.
    let _silent = tokio::net::UnixStream::connect(&path).await.unwrap();
    let accepted = listener.accept().await;
    assert!(matches!(accepted, Err(Error::Timeout(_))), "{accepted:?}");
}

#[tokio::test]
async fn tokio_message_over_the_maximum_is_refused_and_closes() {
    let listener = AsyncListener::bind_any(
        Family::Inet,
        ListenerOptions::new().max_message_size(Some(1000)),
    )
    .unwrap();
    let address = listener.address();
    let mut client = AsyncClient::connect(&address, None).await.unwrap();
    let mut server = listener.accept().await.unwrap();
    client.send_bytes(&[1; 1000]).await.unwrap();
    assert_eq!(server.recv_bytes().await.unwrap().len(), 1000);
    client.send_bytes(b"0123456789").await.unwrap();
    let r = server.recv_bytes_max(5).await;
    assert!(
        matches!(r, Err(Error::MessageTooLong { length: 10, max: 5 })),
        "{r:?}"
    );
    assert!(matches!(server.recv_bytes().await, Err(Error::Closed(_))));
    // The peer sees the connection closed.
    assert!(client.recv_bytes().await.unwrap_err().is_disconnect());

    let mut client = AsyncClient::connect(&address, None).await.unwrap();
    let mut server = listener.accept().await.unwrap();
    client.send_bytes(&[2; 1001]).await.unwrap();
    let r = server.recv_bytes().await;
    assert!(
        matches!(
            r,
            Err(Error::MessageTooLong {
                length: 1001,
                max: 1000
            })
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn tokio_recv_bytes_into_fits_or_carries_the_message() {
    let listener = AsyncListener::bind_any(LOCAL_ABSTRACT, ListenerOptions::new()).unwrap();
    let mut client = AsyncClient::connect(&listener.address(), None)
        .await
        .unwrap();
    let mut server = listener.accept().await.unwrap();
    let mut buf = [0u8; 8];
    client.send_bytes(b"abc").await.unwrap();
    assert_eq!(server.recv_bytes_into(&mut buf, 5).await.unwrap(), 3);
    assert_eq!(&buf[5..], b"abc");
    client.send_bytes(b"abcd").await.unwrap();
    match server.recv_bytes_into(&mut buf, 5).await {
        Err(Error::BufferTooShort(m)) => assert_eq!(m, b"abcd"),
        other => panic!("{other:?}"),
    }
    let big = pattern(200_000, 3);
    client.send_bytes(&big).await.unwrap();
    let mut large = vec![0u8; 300_000];
    assert_eq!(
        server.recv_bytes_into(&mut large, 1).await.unwrap(),
        200_000
    );
    assert_eq!(&large[1..200_001], &big[..]);
    assert!(matches!(
        server.recv_bytes_into(&mut buf, 9).await,
        Err(Error::Value(_))
    ));
    // Still usable after the refused offset.
    client.send_bytes(b"z").await.unwrap();
    assert_eq!(server.recv_bytes().await.unwrap(), b"z");
}

/// Awaits `f`, failing the test (rather than hanging) if it never completes: a receive
/// that lost bytes to a cancellation would wait forever. Not a synchronisation device.
async fn completes<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("never completed: bytes were lost")
}

/// Cancels `conn.recv_bytes()` (by a timeout that expires) until the connection has
/// taken in bytes of a message; every cancelled receive must not have completed.
async fn cancel_until_partial(conn: &mut AsyncConnection) -> usize {
    let mut cancelled = 0;
    while !conn.has_buffered_data() {
        let r = tokio::time::timeout(Duration::from_millis(5), conn.recv_bytes()).await;
        assert!(r.is_err(), "a message completed early: {r:?}");
        cancelled += 1;
    }
    // And once more with the partial frame inside.
    let r = tokio::time::timeout(Duration::from_millis(5), conn.recv_bytes()).await;
    assert!(r.is_err(), "a message completed early: {r:?}");
    cancelled + 1
}

#[tokio::test]
async fn tokio_cancelled_recv_mid_message_keeps_the_connection_usable() {
    let listener = AsyncListener::bind_any(Family::Inet, ListenerOptions::new()).unwrap();
    let Address::Inet { host, port } = listener.address() else {
        panic!()
    };
    // The peer is a raw socket, so that a frame can be cut wherever the test likes.
    let mut raw = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .unwrap();
    raw.set_nodelay(true).unwrap();
    let mut conn = listener.accept().await.unwrap();

    // 10 bytes go through the read buffer; 40 000 are read straight into the payload.
    for size in [10usize, 40_000] {
        let msg = pattern(size, 1);
        let mut frame = (size as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(&msg);
        // Cut inside the header, then inside the payload, then send the rest together
        // with the whole next message.
        let cuts = [2, 4 + size / 2];
        raw.write_all(&frame[..cuts[0]]).await.unwrap();
        assert!(cancel_until_partial(&mut conn).await >= 2);
        assert_eq!(conn.partial_message(), None, "still inside the header");
        raw.write_all(&frame[cuts[0]..cuts[1]]).await.unwrap();
        // Cancel receives until every byte sent so far is inside the connection.
        let half = (size / 2) as u64;
        while conn.partial_message() != Some((half, size as u64)) {
            let r = tokio::time::timeout(Duration::from_millis(5), conn.recv_bytes()).await;
            assert!(r.is_err(), "completed early");
        }
        let mut rest = frame[cuts[1]..].to_vec();
        rest.extend_from_slice(&[0, 0, 0, 3, b'n', b'x', b't']);
        raw.write_all(&rest).await.unwrap();
        assert_eq!(completes(conn.recv_bytes()).await.unwrap(), msg, "{size}");
        assert_eq!(conn.partial_message(), None);
        assert_eq!(
            completes(conn.recv_bytes()).await.unwrap(),
            b"nxt",
            "{size}"
        );
    }

    // A receive losing a select! to another branch, inside a loop, loses nothing.
    let (tick_tx, mut tick_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let msg = pattern(1 << 20, 9);
    let mut frame = ((1u32 << 20).to_be_bytes()).to_vec();
    frame.extend_from_slice(&msg);
    let writer = tokio::spawn(async move {
        for chunk in frame.chunks(100_000) {
            raw.write_all(chunk).await.unwrap();
            tick_tx.send(()).unwrap();
        }
        raw
    });
    let mut ticks = 0;
    let got = completes(async {
        loop {
            tokio::select! {
                biased;
                Some(()) = tick_rx.recv() => ticks += 1,
                m = conn.recv_bytes() => break m.unwrap(),
            }
        }
    })
    .await;
    assert_eq!(got, msg);
    let raw = writer.await.unwrap();
    while tick_rx.recv().await.is_some() {
        ticks += 1;
    }
    assert_eq!(ticks, 11);
    drop(raw);
    assert!(matches!(conn.recv_bytes().await, Err(Error::Eof)));
}

#[cfg(unix)]
#[tokio::test]
async fn tokio_cancelled_value_recv_then_whole_value() {
    let listener = AsyncListener::bind_any(Family::Unix, ListenerOptions::new()).unwrap();
    let Address::Unix(path) = listener.address() else {
        panic!()
    };
    let mut raw = tokio::net::UnixStream::connect(&path).await.unwrap();
    let mut conn = listener.accept().await.unwrap();
    let value: Value = "{'a': [1, 2, 3], 'b': 'text'}".parse().unwrap();
    let pickle = mpconn::dumps(&value).unwrap();
    let mut frame = (pickle.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&pickle);
    raw.write_all(&frame[..7]).await.unwrap();
    cancel_until_partial(&mut conn).await;
    let r = tokio::time::timeout(Duration::from_millis(5), conn.recv()).await;
    assert!(r.is_err());
    raw.write_all(&frame[7..]).await.unwrap();
    assert_eq!(completes(conn.recv()).await.unwrap(), value);
}

#[tokio::test]
async fn tokio_cancelled_send_mid_frame_refuses_further_sends() {
    let listener = AsyncListener::bind_any(LOCAL, ListenerOptions::new()).unwrap();
    let mut client = AsyncClient::connect(&listener.address(), None)
        .await
        .unwrap();
    let _server = listener.accept().await.unwrap();
    // Nobody reads: a 64 MiB send fills the socket buffers and stays pending.
    let big = vec![0u8; 64 << 20];
    let r = tokio::time::timeout(Duration::from_millis(50), client.send_bytes(&big)).await;
    assert!(r.is_err(), "the send cannot have completed");
    assert!(matches!(
        client.send_bytes(b"x").await,
        Err(Error::Closed(_))
    ));
    // Receiving still works on the other direction's state.
    assert!(!client.has_buffered_data());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_split_halves_send_and_receive_at_once() {
    let listener =
        AsyncListener::bind_any(Family::Inet, ListenerOptions::new().authkey(b"")).unwrap();
    let address = listener.address();
    let server = tokio::spawn(async move {
        let conn = listener.accept().await.unwrap();
        let (mut rx, mut tx) = conn.into_split();
        // Both directions carry 16 MiB at once: without independent halves this
        // would deadlock on full socket buffers.
        let sender = tokio::spawn(async move {
            for i in 0..64 {
                tx.send_bytes(&pattern(256 * 1024, i)).await.unwrap();
            }
            tx
        });
        let mut sum = 0u64;
        for _ in 0..64 {
            sum = sum.wrapping_add(checksum(&rx.recv_bytes().await.unwrap()));
        }
        let tx = sender.await.unwrap();
        let mut conn = rx.reunite(tx).unwrap();
        conn.send_obj(&sum).await.unwrap();
    });
    let conn = AsyncClient::connect(&address, Some(b"")).await.unwrap();
    let (mut rx, mut tx) = conn.into_split();
    let sender = tokio::spawn(async move {
        let mut sum = 0u64;
        for i in 0..64 {
            let m = pattern(256 * 1024, 1000 + i);
            sum = sum.wrapping_add(checksum(&m));
            tx.send_bytes(&m).await.unwrap();
        }
        (tx, sum)
    });
    for i in 0..64 {
        assert_eq!(rx.recv_bytes().await.unwrap(), pattern(256 * 1024, i));
    }
    let (tx, sent) = sender.await.unwrap();
    let server_sum: u64 = rx.recv_obj().await.unwrap();
    assert_eq!(server_sum, sent);
    server.await.unwrap();
    // Halves of different connections do not reunite.
    let other = AsyncListener::bind_any(Family::Inet, ListenerOptions::new()).unwrap();
    let c2 = AsyncClient::connect(&other.address(), None).await.unwrap();
    let (_, tx2) = c2.into_split();
    assert!(matches!(rx.reunite(tx2), Err(Error::Value(_))));
    drop(tx);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_1000_concurrent_clients_lose_nothing() {
    const CLIENTS: usize = 1000;
    const MESSAGES: usize = 10;
    for &family in INET_AND_LOCAL {
        let listener = Arc::new(
            AsyncListener::bind_any(family, ListenerOptions::new().authkey(b"k").backlog(1024))
                .unwrap(),
        );
        let address = listener.address();
        let received = Arc::new(AtomicU64::new(0));
        let server_sum = Arc::new(AtomicU64::new(0));
        let acceptor = {
            let listener = listener.clone();
            let received = received.clone();
            let server_sum = server_sum.clone();
            tokio::spawn(async move {
                let mut tasks = Vec::new();
                for _ in 0..CLIENTS {
                    let pending = listener.accept_pending().await.unwrap();
                    let received = received.clone();
                    let server_sum = server_sum.clone();
                    tasks.push(tokio::spawn(async move {
                        let mut conn = pending.authenticate().await.unwrap();
                        loop {
                            match conn.recv_bytes().await {
                                Ok(m) => {
                                    let sum = checksum(&m);
                                    received.fetch_add(1, Ordering::Relaxed);
                                    server_sum.fetch_add(sum, Ordering::Relaxed);
                                    conn.send_obj(&sum).await.unwrap();
                                }
                                Err(Error::Eof) => return,
                                Err(e) => panic!("server: {e}"),
                            }
                        }
                    }));
                }
                for t in tasks {
                    t.await.unwrap();
                }
            })
        };
        let mut clients = Vec::new();
        for c in 0..CLIENTS {
            let address = address.clone();
            clients.push(tokio::spawn(async move {
                let mut conn = AsyncClient::connect(&address, Some(b"k")).await.unwrap();
                let mut total = 0u64;
                for m in 0..MESSAGES {
                    let msg = pattern(1 + (c * 37 + m * 101) % 5000, c * MESSAGES + m);
                    conn.send_bytes(&msg).await.unwrap();
                    let sum: u64 = conn.recv_obj().await.unwrap();
                    assert_eq!(sum, checksum(&msg), "client {c} message {m}");
                    total = total.wrapping_add(sum);
                }
                total
            }));
        }
        let mut client_sum = 0u64;
        for c in clients {
            client_sum = client_sum.wrapping_add(c.await.unwrap());
        }
        acceptor.await.unwrap();
        assert_eq!(
            received.load(Ordering::Relaxed),
            (CLIENTS * MESSAGES) as u64,
            "{family:?}"
        );
        assert_eq!(server_sum.load(Ordering::Relaxed), client_sum, "{family:?}");
    }
}

#[test]
fn tokio_listener_outside_a_runtime_is_an_error_not_a_panic() {
    let r = AsyncListener::bind_any(Family::Inet, ListenerOptions::new());
    assert!(matches!(r, Err(Error::Io(_))), "{r:?}");
}

/// A keyless listener and a raw TCP peer of it.
async fn raw_pair(options: ListenerOptions) -> (tokio::net::TcpStream, AsyncConnection) {
    let listener = AsyncListener::bind_any(Family::Inet, options).unwrap();
    let Address::Inet { host, port } = listener.address() else {
        panic!()
    };
    let raw = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .unwrap();
    let conn = listener.accept().await.unwrap();
    (raw, conn)
}

#[tokio::test]
async fn tokio_hostile_frames_are_typed_errors() {
    // A negative length other than the -1 marker.
    let (mut raw, mut conn) = raw_pair(ListenerOptions::new()).await;
    raw.write_all(&[0xff, 0xff, 0xff, 0xfe, 1, 2])
        .await
        .unwrap();
    assert!(matches!(conn.recv_bytes().await, Err(Error::Io(_))));
    assert!(matches!(conn.recv_bytes().await, Err(Error::Closed(_))));

    // The 64-bit header is accepted for any length.
    let (mut raw, mut conn) = raw_pair(ListenerOptions::new()).await;
    raw.write_all(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 2, b'h', b'i'])
        .await
        .unwrap();
    assert_eq!(conn.recv_bytes().await.unwrap(), b"hi");

    // EOF inside a header, then inside a payload.
    let (mut raw, mut conn) = raw_pair(ListenerOptions::new()).await;
    raw.write_all(&[0, 0]).await.unwrap();
    drop(raw);
    let r = conn.recv_bytes().await;
    assert!(
        matches!(
            r,
            Err(Error::Truncated {
                expected: 4,
                received: 2
            })
        ),
        "{r:?}"
    );
    assert!(matches!(conn.recv_bytes().await, Err(Error::Closed(_))));

    // A header announcing nearly 1 GiB followed by 10 bytes and EOF: the receiver
    // reserved only a bounded amount and reports how much arrived.
    let (mut raw, mut conn) = raw_pair(ListenerOptions::new()).await;
    raw.write_all(&((1u32 << 30) - 1).to_be_bytes())
        .await
        .unwrap();
    raw.write_all(&[9; 10]).await.unwrap();
    drop(raw);
    let r = conn.recv_bytes().await;
    assert!(
        matches!(
            r,
            Err(Error::Truncated {
                expected: 1073741823,
                received: 10
            })
        ),
        "{r:?}"
    );

    // EOF at a boundary is a clean EOF, and stays one.
    let (raw, mut conn) = raw_pair(ListenerOptions::new()).await;
    drop(raw);
    assert!(matches!(conn.recv_bytes().await, Err(Error::Eof)));
    assert!(matches!(conn.recv_bytes().await, Err(Error::Eof)));
}

#[tokio::test]
async fn tokio_oversized_handshake_message_is_an_authentication_error() {
    let listener =
        AsyncListener::bind_any(Family::Inet, ListenerOptions::new().authkey(b"k")).unwrap();
    let Address::Inet { host, port } = listener.address() else {
        panic!()
    };
    let mut raw = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .unwrap();
    let mut frame = 300u32.to_be_bytes().to_vec();
    frame.extend_from_slice(&[b'x'; 300]);
    raw.write_all(&frame).await.unwrap();
    let r = listener.accept().await;
    assert!(matches!(r, Err(Error::Authentication(_))), "{r:?}");
}

#[tokio::test]
async fn tokio_cancelled_recv_bytes_into_mid_payload_loses_nothing() {
    let (raw, mut conn) = raw_pair(ListenerOptions::new()).await;
    // A writer task, so that a write never waits on this task's receives.
    let (chunks, mut chunks_rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(async move {
        let mut raw = raw;
        while let Some(chunk) = chunks_rx.recv().await {
            raw.write_all(&chunk).await.unwrap();
        }
    });
    let mut buf = vec![0u8; 4 << 20];
    for (size, finish_with_into) in [(100_000usize, true), (3_000_000, false), (5, true)] {
        let msg = pattern(size, size);
        let mut frame = (size as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(&msg);
        let cut = 4 + size / 2;
        chunks.send(frame[..cut].to_vec()).unwrap();
        // Each cancelled receive read some of the payload straight into `buf`; dropping
        // it handed those bytes back to the connection.
        let half = (size / 2) as u64;
        while conn.partial_message() != Some((half, size as u64)) {
            let r =
                tokio::time::timeout(Duration::from_millis(5), conn.recv_bytes_into(&mut buf, 3))
                    .await;
            assert!(r.is_err(), "completed early");
        }
        chunks.send(frame[cut..].to_vec()).unwrap();
        if finish_with_into {
            let n = completes(conn.recv_bytes_into(&mut buf, 3)).await.unwrap();
            assert_eq!(&buf[3..3 + n], &msg[..], "{size}");
        } else {
            assert_eq!(completes(conn.recv_bytes()).await.unwrap(), msg, "{size}");
        }
    }
    // Too long for the buffer: the whole message comes back in the error.
    let msg = pattern(50_000, 5);
    let mut frame = (50_000u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&msg);
    chunks.send(frame.clone()).unwrap();
    match conn.recv_bytes_into(&mut buf[..40_000], 0).await {
        Err(Error::BufferTooShort(m)) => assert_eq!(m, msg),
        other => panic!("{other:?}"),
    }
    // EOF in the middle of a payload read straight into the buffer.
    chunks.send(frame[..30_000].to_vec()).unwrap();
    drop(chunks);
    writer.await.unwrap();
    let r = conn.recv_bytes_into(&mut buf, 0).await;
    assert!(
        matches!(
            r,
            Err(Error::Truncated {
                expected: 50_000,
                received: 29_996
            })
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn tokio_borrowed_split_receives_and_sends_in_one_select() {
    let listener = AsyncListener::bind_any(LOCAL, ListenerOptions::new()).unwrap();
    let mut client = AsyncClient::connect(&listener.address(), None)
        .await
        .unwrap();
    let server = listener.accept().await.unwrap();
    let echo = tokio::spawn(echo_server(server));
    // Messages to send come from a channel; echoes are received in the same loop. (All
    // 20 kB fit in the socket buffers: a send inside a select! body does not receive.)
    let (outbox_tx, mut outbox) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let feeder = tokio::spawn(async move {
        for i in 0..20 {
            outbox_tx.send(pattern(1000, i)).await.unwrap();
        }
    });
    let (rx, tx) = client.split();
    let mut echoed = Vec::new();
    completes(async {
        while echoed.len() < 20 {
            tokio::select! {
                m = rx.recv_bytes() => echoed.push(m.unwrap()),
                Some(out) = outbox.recv() => tx.send_bytes(&out).await.unwrap(),
            }
        }
    })
    .await;
    feeder.await.unwrap();
    for (i, m) in echoed.iter().enumerate() {
        assert_eq!(m, &pattern(1000, i), "{i}");
    }
    drop(client);
    echo.await.unwrap();
}
