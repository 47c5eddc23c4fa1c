//! Rust ⇄ Rust over Windows named pipes (AF_PIPE): message mode, no length header.
//!
//! Built for `x86_64-pc-windows-gnu` and run under wine by `make test-windows`
//! (scripts/test-windows.sh); on a real Windows machine `cargo test` runs them as well.
#![cfg(windows)]

use std::thread;
use std::time::Duration;

use mpconn::{
    pipe, Address, Client, ClientOptions, Connection, Digest, Error, Family, Listener,
    ListenerOptions, Value,
};

/// A listener on a fresh pipe name, serving `clients` connections one after another:
/// each echoes every message until the client closes.
fn echo_server(options: ListenerOptions, clients: usize) -> (Address, thread::JoinHandle<()>) {
    let listener = Listener::bind_any(Family::Pipe, options).unwrap();
    let address = listener.address();
    let server = thread::spawn(move || {
        for _ in 0..clients {
            let mut conn = listener.accept().unwrap();
            loop {
                match conn.recv_bytes() {
                    Ok(msg) => conn.send_bytes(&msg).unwrap(),
                    Err(Error::Eof) => break,
                    Err(e) => panic!("server: {e}"),
                }
            }
        }
    });
    (address, server)
}

/// Deterministic, non-repeating-looking content of `len` bytes.
fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

/// Sends `msg` from another thread: a write of a message larger than the pipe's buffer
/// (8 KiB) completes only once the reader has taken it, on Windows as under wine.
fn send_later(
    mut conn: Connection,
    msg: Vec<u8>,
) -> thread::JoinHandle<(Connection, mpconn::Result<()>)> {
    thread::spawn(move || {
        let sent = conn.send_bytes(&msg);
        (conn, sent)
    })
}

/// The connection of a `send_later` that succeeded.
fn sent(handle: thread::JoinHandle<(Connection, mpconn::Result<()>)>) -> Connection {
    let (conn, sent) = handle.join().unwrap();
    sent.unwrap();
    conn
}

/// True under wine (its ntdll exports `wine_get_version`).
fn under_wine() -> bool {
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
    // SAFETY: NUL-terminated names; GetProcAddress on the module handle just obtained.
    unsafe {
        let ntdll = GetModuleHandleA(c"ntdll.dll".as_ptr().cast());
        !ntdll.is_null() && GetProcAddress(ntdll, c"wine_get_version".as_ptr().cast()).is_some()
    }
}

const SIZES: [usize; 12] = [
    0,
    1,
    127,
    128,
    129,
    8191,
    8192,
    8193,
    65536,
    (1 << 20) + 3,
    16 << 20,
    64 << 20,
];

fn echo_all_sizes(conn: &mut Connection) {
    for (i, &size) in SIZES.iter().enumerate() {
        let msg = payload(size, i as u8);
        conn.send_bytes(&msg).unwrap();
        let back = conn.recv_bytes().unwrap();
        assert_eq!(back.len(), size);
        assert!(back == msg, "echo of {size} bytes differs");
    }
}

#[test]
fn address_is_a_pipe_name() {
    let listener = Listener::bind_any(Family::Pipe, ListenerOptions::new()).unwrap();
    let address = listener.address();
    let text = address.to_string();
    assert!(text.starts_with(r"\\.\pipe\mpconn-"), "{text}");
    assert_eq!(text.parse::<Address>().unwrap(), address);
    assert_eq!(address.family(), Family::Pipe);
}

#[test]
fn messages_0_bytes_to_64_mib_without_key() {
    let (address, server) = echo_server(ListenerOptions::new(), 1);
    let mut conn = Client::connect(&address, None).unwrap();
    echo_all_sizes(&mut conn);
    assert_eq!(conn.local_address(), Some(address));
    drop(conn);
    server.join().unwrap();
}

#[test]
fn messages_0_bytes_to_64_mib_with_key() {
    let (address, server) = echo_server(ListenerOptions::new().authkey(b"secret"), 1);
    let mut conn = Client::connect(&address, Some(b"secret")).unwrap();
    echo_all_sizes(&mut conn);
    drop(conn);
    server.join().unwrap();
}

#[test]
fn every_digest_and_an_empty_key() {
    for digest in [
        Digest::Legacy,
        Digest::Md5,
        Digest::Sha256,
        Digest::Sha3_384,
    ] {
        for key in [&b"k"[..], b""] {
            let options = ListenerOptions::new().authkey(key).digest(digest);
            let (address, server) = echo_server(options, 1);
            let client = ClientOptions::new().authkey(key).digest(digest);
            let mut conn = Client::connect_with(&address, &client).unwrap();
            conn.send_bytes(b"after the handshake").unwrap();
            assert_eq!(conn.recv_bytes().unwrap(), b"after the handshake");
            drop(conn);
            server.join().unwrap();
        }
    }
}

#[test]
fn wrong_key_is_refused_on_both_sides() {
    let listener =
        Listener::bind_any(Family::Pipe, ListenerOptions::new().authkey(b"right")).unwrap();
    let address = listener.address();
    let server = thread::spawn(move || listener.accept().map(|_| ()));
    let client = Client::connect(&address, Some(b"wrong"));
    assert!(
        matches!(client, Err(Error::Authentication(_))),
        "client: {client:?}"
    );
    let server = server.join().unwrap();
    assert!(
        matches!(server, Err(Error::Authentication(_))),
        "server: {server:?}"
    );
}

#[test]
fn a_key_against_no_key_fails() {
    // The listener wants a key; the client has none: the client reads the challenge as
    // its first message and the listener's handshake does not get an answer it accepts.
    let listener = Listener::bind_any(
        Family::Pipe,
        ListenerOptions::new()
            .authkey(b"k")
            .handshake_timeout(Some(Duration::from_secs(30))),
    )
    .unwrap();
    let address = listener.address();
    let server = thread::spawn(move || listener.accept().map(|_| ()));
    let mut conn = Client::connect(&address, None).unwrap();
    let challenge = conn.recv_bytes().unwrap();
    assert!(challenge.starts_with(b"#CHALLENGE#"));
    conn.send_bytes(b"not an answer").unwrap();
    assert_eq!(conn.recv_bytes().unwrap(), b"#FAILURE#");
    assert!(matches!(
        server.join().unwrap(),
        Err(Error::Authentication(_))
    ));
}

#[test]
fn oversized_handshake_answer_is_refused() {
    // Handshake reads are capped at 256 bytes, on pipes as on sockets.
    let listener = Listener::bind_any(Family::Pipe, ListenerOptions::new().authkey(b"k")).unwrap();
    let address = listener.address();
    let server = thread::spawn(move || listener.accept().map(|_| ()));
    let mut conn = Client::connect(&address, None).unwrap();
    assert!(conn.recv_bytes().unwrap().starts_with(b"#CHALLENGE#"));
    let sender = send_later(conn, payload(100_000, 9));
    let refused = server.join().unwrap();
    assert!(
        matches!(&refused, Err(Error::Authentication(m)) if m.contains("256")),
        "{refused:?}"
    );
    // The listener closed its end without reading the rest, which releases the sender.
    let _ = sender.join().unwrap();
}

#[test]
fn several_clients_one_after_another() {
    let (address, server) = echo_server(ListenerOptions::new().authkey(b"k"), 5);
    for i in 0..5u8 {
        let mut conn = Client::connect(&address, Some(b"k")).unwrap();
        let msg = payload(1000 + usize::from(i) * 10_000, i);
        conn.send_bytes(&msg).unwrap();
        assert_eq!(conn.recv_bytes().unwrap(), msg);
        conn.send(&Value::from(format!("client {i}"))).unwrap();
        assert_eq!(conn.recv().unwrap(), Value::from(format!("client {i}")));
    }
    server.join().unwrap();
}

#[test]
fn several_clients_connected_at_once() {
    // Every accept leaves a fresh pipe instance, so a second client can connect while the
    // first is still being served.
    let listener = Listener::bind_any(Family::Pipe, ListenerOptions::new()).unwrap();
    let address = listener.address();
    let mut a = Client::connect(&address, None).unwrap();
    let mut sa = listener.accept().unwrap();
    let mut b = Client::connect(&address, None).unwrap();
    let mut sb = listener.accept().unwrap();
    a.send_bytes(b"a").unwrap();
    b.send_bytes(b"b").unwrap();
    assert_eq!(sb.recv_bytes().unwrap(), b"b");
    assert_eq!(sa.recv_bytes().unwrap(), b"a");
}

#[test]
fn values_are_pickled_inside_pipe_messages() {
    let (mut a, mut b) = pipe(true).unwrap();
    let v: Value = "[1, 'two', b'three', (4.5, None), {'k': [True]}]"
        .parse()
        .unwrap();
    a.send(&v).unwrap();
    // One message, no length header: the message is exactly the pickle.
    let raw = b.recv_bytes().unwrap();
    assert_eq!(raw, mpconn::dumps(&v).unwrap());
    b.send(&v).unwrap();
    assert_eq!(a.recv().unwrap(), v);
}

#[test]
fn one_way_pipe() {
    let (mut reader, mut writer) = pipe(false).unwrap();
    writer.send_bytes(b"one way").unwrap();
    assert_eq!(reader.recv_bytes().unwrap(), b"one way");
    assert!(reader.send_bytes(b"no").is_err());
    assert!(writer.recv_bytes().is_err());
}

#[test]
fn message_over_the_maximum_is_refused_and_closes() {
    let (a, mut b) = pipe(true).unwrap();
    let sender = send_later(a, payload(100_000, 1));
    match b.recv_bytes_max(99_999) {
        Err(Error::MessageTooLong { length, max }) => {
            assert_eq!((length, max), (100_000, 99_999));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(b.recv_bytes(), Err(Error::Closed(_))));
    // Closing the refusing end releases the writer (its send fails: nobody reads).
    drop(b);
    let (_, result) = sender.join().unwrap();
    assert!(result.is_err());

    // A small maximum: refused from the first read already.
    let (mut a, mut b) = pipe(true).unwrap();
    a.send_bytes(b"0123456789").unwrap();
    assert!(matches!(
        b.recv_bytes_max(9),
        Err(Error::MessageTooLong { length: 10, max: 9 })
    ));

    // Exactly the maximum is fine, and so is the connection's own maximum.
    let (a, mut b) = pipe(true).unwrap();
    let sender = send_later(a, payload(20_000, 2));
    assert_eq!(b.recv_bytes_max(20_000).unwrap(), payload(20_000, 2));
    let mut a = sent(sender);
    b.set_max_message_size(Some(10));
    a.send_bytes(b"0123456789!").unwrap();
    assert!(matches!(
        b.recv_bytes(),
        Err(Error::MessageTooLong { length: 11, .. })
    ));
}

#[test]
fn recv_bytes_into() {
    let (mut a, mut b) = pipe(true).unwrap();
    let mut buf = [0u8; 16];
    a.send_bytes(b"hello").unwrap();
    assert_eq!(b.recv_bytes_into(&mut buf, 3).unwrap(), 5);
    assert_eq!(&buf[3..8], b"hello");
    let big = payload(50_000, 3);
    let sender = send_later(a, big.clone());
    match b.recv_bytes_into(&mut buf, 0) {
        Err(Error::BufferTooShort(whole)) => assert_eq!(whole, big),
        other => panic!("{other:?}"),
    }
    let mut a = sent(sender);
    // The connection goes on after BufferTooShort.
    a.send_bytes(b"").unwrap();
    assert_eq!(b.recv_bytes_into(&mut buf, 16).unwrap(), 0);
    assert!(matches!(
        b.recv_bytes_into(&mut buf, 17),
        Err(Error::Value(_))
    ));
}

#[test]
fn poll_sees_messages_empty_messages_and_close() {
    let (mut a, mut b) = pipe(true).unwrap();
    assert!(!b.poll(Some(Duration::ZERO)).unwrap());
    assert!(!b.poll(Some(Duration::from_millis(20))).unwrap());
    a.send_bytes(b"x").unwrap();
    assert!(b.poll(Some(Duration::ZERO)).unwrap());
    assert!(b.poll(None).unwrap());
    assert_eq!(b.recv_bytes().unwrap(), b"x");
    // An empty message is a message too.
    a.send_bytes(b"").unwrap();
    assert!(b.poll(None).unwrap());
    assert!(b.poll(Some(Duration::ZERO)).unwrap());
    assert_eq!(b.recv_bytes().unwrap(), b"");
    assert!(!b.poll(Some(Duration::ZERO)).unwrap());
    // A message that arrives while poll waits.
    let sender = thread::spawn(move || {
        a.send_bytes(b"later").unwrap();
        a
    });
    assert!(b.poll(None).unwrap());
    assert_eq!(b.recv_bytes().unwrap(), b"later");
    // The peer's close makes poll ready and recv give EOF.
    drop(sender.join().unwrap());
    assert!(b.poll(None).unwrap());
    assert!(matches!(b.recv_bytes(), Err(Error::Eof)));
}

#[test]
fn read_timeout_then_the_message() {
    let (mut a, mut b) = pipe(true).unwrap();
    b.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    assert!(matches!(b.recv_bytes(), Err(Error::Timeout(_))));
    // Nothing was consumed: the connection stays usable.
    a.send_bytes(b"after").unwrap();
    assert_eq!(b.recv_bytes().unwrap(), b"after");
}

#[test]
fn silent_client_hits_the_handshake_timeout() {
    let listener = Listener::bind_any(
        Family::Pipe,
        ListenerOptions::new()
            .authkey(b"k")
            .handshake_timeout(Some(Duration::from_millis(200))),
    )
    .unwrap();
    let address = listener.address();
    // Connected, but never answers the challenge.
    let silent = Client::connect(&address, None).unwrap();
    assert!(matches!(listener.accept(), Err(Error::Timeout(_))));
    drop(silent);
    // The listener serves the next client.
    let server = thread::spawn(move || {
        let mut c = listener.accept().unwrap();
        let m = c.recv_bytes().unwrap();
        c.send_bytes(&m).unwrap();
    });
    let mut conn = Client::connect(&address, Some(b"k")).unwrap();
    conn.send_bytes(b"ok").unwrap();
    assert_eq!(conn.recv_bytes().unwrap(), b"ok");
    server.join().unwrap();
}

#[test]
fn try_clone_sends_while_another_thread_receives() {
    let (mut a, mut b) = pipe(true).unwrap();
    let mut a2 = a.try_clone().unwrap();
    let receiver = thread::spawn(move || a.recv_bytes().unwrap());
    a2.send_bytes(b"from the clone").unwrap();
    assert_eq!(b.recv_bytes().unwrap(), b"from the clone");
    b.send_bytes(b"to the original").unwrap();
    assert_eq!(receiver.join().unwrap(), b"to the original");
}

#[test]
fn missing_pipe_and_taken_name() {
    let missing: Address = r"\\.\pipe\mpconn-test-no-such-pipe".parse().unwrap();
    assert!(matches!(Client::connect(&missing, None), Err(Error::Io(_))));
    let listener = Listener::bind_any(Family::Pipe, ListenerOptions::new()).unwrap();
    // A second listener on the same name is refused (FILE_FLAG_FIRST_PIPE_INSTANCE).
    // Wine 8 ignores that flag, so only real Windows checks it.
    if !under_wine() {
        assert!(Listener::bind(&listener.address(), None).is_err());
    }
    // AF_UNIX does not exist here.
    assert!(matches!(
        Listener::bind_any(Family::Unix, ListenerOptions::new()),
        Err(Error::Address { .. })
    ));
}

#[test]
fn tcp_still_works_with_poll() {
    let (address, server) = {
        let listener =
            Listener::bind_any(Family::Inet, ListenerOptions::new().authkey(b"k")).unwrap();
        let address = listener.address();
        let server = thread::spawn(move || {
            let mut c = listener.accept().unwrap();
            let m = c.recv_bytes().unwrap();
            c.send_bytes(&m).unwrap();
        });
        (address, server)
    };
    let mut conn = Client::connect(&address, Some(b"k")).unwrap();
    assert!(!conn.poll(Some(Duration::ZERO)).unwrap());
    conn.send_bytes(&payload(100_000, 4)).unwrap();
    assert!(conn.poll(None).unwrap());
    assert_eq!(conn.recv_bytes().unwrap(), payload(100_000, 4));
    server.join().unwrap();
}
