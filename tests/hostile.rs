#![cfg(unix)]
//! Hostile peers against [`mpconn::server::Server`]: silent, wrong-key, oversize,
//! truncating, killed, random and bomb-throwing peers, and 200 honest clients at once.
//!
//! Every test runs its own server in this process (echo handler decoding with `recv()`),
//! then checks that:
//! * each hostile connection ended with the expected typed error in the server's reports
//!   and was closed by the server;
//! * a legitimate Rust client and a legitimate CPython client are still served (each
//!   with a generous bound on its handshake and reply, so a stuck server fails the test
//!   instead of hanging it; nothing asserts on how fast);
//! * the process's peak RSS (`VmHWM`) stayed under [`RSS_BOUND`], and no single heap
//!   allocation (counted by a tracking allocator, so even untouched reserved capacity
//!   counts) exceeded [`LARGEST_ALLOCATION_BOUND`]: a header announcing 2 GiB or 2^62
//!   bytes must not make the server reserve it.
//!
//! The bounds are process-wide (the tests of this file run in parallel threads), and the
//! authkey never appears in any report, error or `Debug` output.
#[path = "common/cpython.rs"]
mod cpython;

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Barrier, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use mpconn::pickle::PickleErrorKind as K;
use mpconn::server::{Report, Server, Stage, StopHandle};
use mpconn::{
    Address, Client, ClientOptions, Connection, Error, Family, Listener, ListenerOptions,
    PickleError, Value,
};

/// The authkey of every server here; it must never show up in any text the crate makes.
const KEY: &[u8] = b"hostile-s3cret-key";
/// Peak resident set of the whole test process (all tests of this file together).
const RSS_BOUND: u64 = 512 << 20;
/// Largest single heap allocation anywhere in the process: the 64 MiB message of the
/// killed CPython peer (whose receive buffer may round up to 64 MiB) fits, a reserve
/// for an announced 2 GiB does not.
const LARGEST_ALLOCATION_BOUND: usize = 128 << 20;
/// Safety net on waits for reports and replies: a broken server fails the test instead
/// of hanging it. Not a performance assertion.
const PATIENCE: Duration = Duration::from_secs(120);

// ----- allocation tracking -----

/// Forwards to the system allocator and records the largest single request.
struct Tracking;

static LARGEST_ALLOCATION: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the only addition is an atomic counter update. A global
// allocator cannot be written without `unsafe`.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST_ALLOCATION.fetch_max(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST_ALLOCATION.fetch_max(layout.size(), Ordering::Relaxed);
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST_ALLOCATION.fetch_max(new_size, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Tracking = Tracking;

/// `VmHWM` of this process, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/self/status");
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("a number of kB");
    kb * 1024
}

fn assert_memory_bounded() {
    let rss = peak_rss();
    assert!(
        rss < RSS_BOUND,
        "peak RSS {} MiB over the bound of {} MiB",
        rss >> 20,
        RSS_BOUND >> 20
    );
    let largest = LARGEST_ALLOCATION.load(Ordering::Relaxed);
    assert!(
        largest < LARGEST_ALLOCATION_BOUND,
        "an allocation of {} MiB",
        largest >> 20
    );
}

// ----- the server under test -----

/// crc32 as zlib computes it (IEEE, reflected), for the checksummed echo.
fn crc32(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *e = c;
        }
        t
    });
    !data.iter().fold(!0u32, |c, &b| {
        table[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

/// The handler: unpickle each message; `(id, seq, bytes)` is answered with
/// `(id, seq, crc32(bytes))`, anything else is echoed.
fn echo(conn: &mut Connection, echoed: &AtomicUsize) -> mpconn::Result<()> {
    loop {
        let v = conn.recv()?;
        let reply = match v.as_tuple() {
            Some([id, seq, payload]) if payload.as_bytes().is_some() => {
                let crc = crc32(payload.as_bytes().unwrap());
                Value::tuple(vec![id.clone(), seq.clone(), Value::from(i64::from(crc))])
            }
            _ => v,
        };
        conn.send(&reply)?;
        echoed.fetch_add(1, Ordering::Relaxed);
    }
}

struct TestServer {
    address: Address,
    port: u16,
    reports: Receiver<Report>,
    /// Reports received while waiting for another peer's.
    stash: Mutex<VecDeque<Report>>,
    /// `Debug` and `Display` text of every report, for the authkey check.
    texts: Arc<Mutex<Vec<String>>>,
    /// Messages the handler answered, all connections together.
    echoed: Arc<AtomicUsize>,
    stop: StopHandle,
    serving: Option<JoinHandle<mpconn::Result<()>>>,
}

impl TestServer {
    fn start(options: ListenerOptions) -> TestServer {
        let listener = Listener::bind_any(Family::Inet, options.authkey(KEY).backlog(512)).unwrap();
        let address = listener.address();
        let Address::Inet { port, .. } = address else {
            panic!("not an Inet address: {address}")
        };
        let server = Server::new(listener).unwrap();
        let stop = server.stop_handle();
        let (tx, reports) = mpsc::channel();
        let tx = Mutex::new(tx);
        let texts = Arc::new(Mutex::new(Vec::new()));
        let log = texts.clone();
        let echoed = Arc::new(AtomicUsize::new(0));
        let count = echoed.clone();
        let serving = thread::spawn(move || {
            server.serve(
                move |conn| echo(conn, &count),
                move |r| {
                    let mut text = format!("{r:?}");
                    if let Report::Failed { error, .. } = &r {
                        text.push_str(&format!(" / {error}"));
                    }
                    log.lock().unwrap().push(text);
                    let _ = tx.lock().unwrap().send(r);
                },
            )
        });
        TestServer {
            address,
            port,
            reports,
            stash: Mutex::new(VecDeque::new()),
            texts,
            echoed,
            stop,
            serving: Some(serving),
        }
    }

    /// Waits for the report that ends `peer`'s connection: `Ok` for a clean finish,
    /// the stage and error of a failure.
    fn outcome(&self, peer: &Address) -> Result<(), (Stage, Error)> {
        let ends = |r: &Report| match r {
            Report::Finished { peer: p } | Report::Failed { peer: p, .. } => {
                p.as_ref() == Some(peer)
            }
            _ => false,
        };
        let mut stash = self.stash.lock().unwrap();
        let report = match stash.iter().position(ends) {
            Some(i) => stash.remove(i).unwrap(),
            None => loop {
                let r = self
                    .reports
                    .recv_timeout(PATIENCE)
                    .unwrap_or_else(|_| panic!("no report for {peer}"));
                if ends(&r) {
                    break r;
                }
                stash.push_back(r);
            },
        };
        match report {
            Report::Finished { .. } => Ok(()),
            Report::Failed { stage, error, .. } => Err((stage, error)),
            _ => unreachable!(),
        }
    }

    /// `peer`'s connection finished cleanly.
    fn assert_finished(&self, peer: &Address) {
        if let Err((stage, e)) = self.outcome(peer) {
            panic!("{peer} failed at {stage:?}: {e:?}");
        }
    }

    /// The handshake error of `peer`'s connection.
    fn handshake_error(&self, peer: &Address) -> Error {
        match self.outcome(peer) {
            Err((Stage::Handshake, e)) => e,
            other => panic!("expected a handshake failure for {peer}, got {other:?}"),
        }
    }

    /// The handler error of `peer`'s connection.
    fn handler_error(&self, peer: &Address) -> Error {
        match self.outcome(peer) {
            Err((Stage::Handler, e)) => e,
            other => panic!("expected a handler failure for {peer}, got {other:?}"),
        }
    }

    /// A legitimate Rust client and a legitimate CPython client are served, then the
    /// memory bounds still hold.
    fn assert_still_serving(&self) {
        let options = ClientOptions::new().authkey(KEY).timeout(PATIENCE);
        let mut conn = Client::connect_with(&self.address, &options).expect("legit client");
        conn.set_read_timeout(Some(PATIENCE)).unwrap();
        let msg: Value = "[1, 'still serving', b'\\x00\\xff', None, 2.5]"
            .parse()
            .unwrap();
        conn.send(&msg).unwrap();
        assert_eq!(conn.recv().unwrap(), msg);
        let me = conn.local_address().unwrap();
        drop(conn);
        self.assert_finished(&me);

        let out = python(&[
            "python3",
            "-c",
            LEGIT_PY,
            "127.0.0.1",
            &self.port.to_string(),
        ])
        .output()
        .unwrap();
        assert!(
            out.status.success(),
            "CPython client: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        self.assert_finished(&inet(port));
        assert_memory_bounded();
    }

    /// Stops the server and checks that no report ever showed the key.
    fn finish(mut self) {
        self.stop.stop();
        self.serving.take().unwrap().join().unwrap().unwrap();
        for text in self.texts.lock().unwrap().iter() {
            assert_no_key(text);
        }
    }
}

fn inet(port: u16) -> Address {
    Address::Inet {
        host: "127.0.0.1".into(),
        port,
    }
}

fn assert_no_key(text: &str) {
    let key = std::str::from_utf8(KEY).unwrap();
    let hex: String = KEY.iter().map(|b| format!("{b:02x}")).collect();
    let list = format!("{KEY:?}");
    let list = list.trim_matches(|c| c == '[' || c == ']');
    for needle in [key, &hex, list, "s3cret"] {
        assert!(!text.contains(needle), "the authkey leaked into: {text}");
    }
}

/// A CPython child with the key in its environment (never on a command line).
fn python(args: &[&str]) -> Command {
    let mut cmd = Command::new(args[0]);
    cmd.args(&args[1..])
        .env("MPCONN_TEST_KEY", std::str::from_utf8(KEY).unwrap())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// CPython 3.14 (a second interpreter generation next to `python3`); under `CI=true` a
/// missing one fails (see `cpython::interpreters`), elsewhere `python3` stands in.
fn python314() -> String {
    cpython::interpreters();
    cpython::interpreter("3.14").unwrap_or_else(|| "python3".to_owned())
}

/// Prints its local port, then does one checked round trip.
const LEGIT_PY: &str = r#"
import os, signal, socket, sys
signal.alarm(120)
from multiprocessing.connection import Client
c = Client((sys.argv[1], int(sys.argv[2])), authkey=os.environb[b'MPCONN_TEST_KEY'])
msg = [1, 'still serving', b'\x00\xff', None, 2.5]
c.send(msg)
assert c.recv() == msg
port = socket.socket(fileno=os.dup(c.fileno())).getsockname()[1]
c.close()
print(port)
"#;

// ----- raw peers -----

/// A raw TCP peer that has not started the handshake.
fn raw(server: &TestServer) -> (TcpStream, Address) {
    let s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    let me = Address::from(s.local_addr().unwrap());
    (s, me)
}

/// A raw TCP peer past the handshake: what it writes next goes straight to the handler.
fn authenticated(server: &TestServer) -> (TcpStream, Address) {
    let options = ClientOptions::new().authkey(KEY).timeout(PATIENCE);
    let conn = Client::connect_with(&server.address, &options).unwrap();
    assert!(!conn.has_buffered_data());
    let s = TcpStream::from(OwnedFd::from(conn));
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    let me = Address::from(s.local_addr().unwrap());
    (s, me)
}

/// Reads one frame of at most 1 KiB (the challenge) from a raw peer.
fn read_frame(s: &mut TcpStream) -> Vec<u8> {
    let mut header = [0u8; 4];
    s.read_exact(&mut header).unwrap();
    let n = u32::from_be_bytes(header) as usize;
    assert!(n <= 1024, "frame of {n} bytes");
    let mut buf = vec![0; n];
    s.read_exact(&mut buf).unwrap();
    buf
}

/// The server closed this peer's connection: reading ends in EOF (or a reset), after
/// at most the bytes the server had already sent.
fn assert_closed_by_server(s: &mut TcpStream) {
    let mut rest = Vec::new();
    match s.read_to_end(&mut rest) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("expected the server to close the connection: {e}"),
    }
}

/// Closes with a TCP reset instead of a FIN.
fn reset(s: TcpStream) {
    socket2::SockRef::from(&s)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(s);
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

fn long_header(length: u64) -> Vec<u8> {
    let mut out = vec![0xff; 4];
    out.extend_from_slice(&length.to_be_bytes());
    out
}

/// xorshift64*: deterministic random bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn expect_pickle(e: Error, what: &str) -> PickleError {
    match e {
        Error::Pickle(p) => p,
        other => panic!("{what}: expected a pickle error, got {other:?}"),
    }
}

// ----- the tests -----

#[test]
fn twenty_idle_connections_time_out_and_others_are_served() {
    let server = TestServer::start(
        ListenerOptions::new().handshake_timeout(Some(Duration::from_millis(500))),
    );
    let mut idle: Vec<_> = (0..20).map(|_| raw(&server)).collect();
    // Served while the idle peers hold their sockets (and, most likely, their slots).
    server.assert_still_serving();
    for (s, me) in &mut idle {
        let e = server.handshake_error(me);
        assert!(matches!(e, Error::Timeout(_)), "{e:?}");
        let challenge = read_frame(s);
        assert!(challenge.starts_with(b"#CHALLENGE#"));
        assert_closed_by_server(s);
    }
    server.assert_still_serving();
    server.finish();
}

const WRONG_KEY_PY: &str = r#"
import signal, sys
signal.alarm(120)
from multiprocessing.connection import Client, AuthenticationError
failed = 0
for _ in range(int(sys.argv[2])):
    try:
        Client(('127.0.0.1', int(sys.argv[1])), authkey=b'not the key')
    except AuthenticationError:
        failed += 1
print(failed)
"#;

#[test]
fn fifty_wrong_key_clients_fail_and_others_are_served() {
    let server = TestServer::start(ListenerOptions::new());
    // 25 CPython clients, one after the other in a child process...
    let py = python(&[
        "python3",
        "-c",
        WRONG_KEY_PY,
        &server.port.to_string(),
        "25",
    ])
    .spawn()
    .unwrap();
    // ...while 25 Rust clients run in parallel threads.
    let address = server.address.clone();
    let rust: Vec<_> = (0..25)
        .map(|_| {
            let address = address.clone();
            thread::spawn(move || {
                let options = ClientOptions::new()
                    .authkey(b"not the key")
                    .timeout(PATIENCE);
                let e = Client::connect_with(&address, &options).unwrap_err();
                assert!(matches!(e, Error::Authentication(_)), "{e:?}");
                assert_no_key(&format!("{e:?} {e}"));
            })
        })
        .collect();
    for t in rust {
        t.join().unwrap();
    }
    let out = py.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "25");
    // 50 handshake failures reported, all authentication errors.
    let mut failures = 0;
    while failures < 50 {
        match server.reports.recv_timeout(PATIENCE).expect("a report") {
            Report::Failed {
                stage: Stage::Handshake,
                error: Error::Authentication(_),
                ..
            } => failures += 1,
            Report::Accepted { .. } => {}
            other => panic!("unexpected report {other:?}"),
        }
    }
    server.assert_still_serving();
    server.finish();
}

#[test]
fn bad_handshake_answers_fail_and_others_are_served() {
    let server = TestServer::start(ListenerOptions::new());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("an oversize answer (300 bytes)", frame(&[b'x'; 300])),
        ("an answer announcing 2 GiB, 10 bytes sent", {
            let mut b = long_header(2 << 30);
            b.extend_from_slice(&[0; 10]);
            b
        }),
        ("an answer announcing 2^62", long_header(1 << 62)),
        ("a garbage answer", frame(b"garbage that is no MAC")),
    ];
    for (what, bytes) in cases {
        let (mut s, me) = raw(&server);
        let challenge = read_frame(&mut s);
        assert!(challenge.starts_with(b"#CHALLENGE#"), "{what}");
        s.write_all(&bytes).unwrap();
        let e = server.handshake_error(&me);
        assert!(matches!(e, Error::Authentication(_)), "{what}: {e:?}");
        assert_closed_by_server(&mut s);
    }
    // A peer that resets the connection (SO_LINGER 0) after reading the challenge.
    let (mut s, me) = raw(&server);
    read_frame(&mut s);
    reset(s);
    let e = server.handshake_error(&me);
    assert!(
        matches!(&e, Error::Io(_) | Error::Eof | Error::Truncated { .. }),
        "{e:?}"
    );
    // An answer cut off mid-message.
    let (mut s, me) = raw(&server);
    read_frame(&mut s);
    s.write_all(&[0, 0, 0, 40, 1, 2, 3]).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let e = server.handshake_error(&me);
    assert!(
        matches!(
            e,
            Error::Truncated {
                expected: 40,
                received: 3
            }
        ),
        "{e:?}"
    );
    server.assert_still_serving();
    server.finish();
}

#[test]
fn oversize_and_truncated_messages_close_only_that_connection() {
    // The default maximum message size (1 GiB).
    let server = TestServer::start(ListenerOptions::new());

    // A 64-bit header announcing 2 GiB, then 10 bytes, and the peer stays: refused on
    // the header, the payload never read.
    let (mut s, me) = authenticated(&server);
    s.write_all(&long_header(2 << 30)).unwrap();
    s.write_all(&[7; 10]).unwrap();
    let e = server.handler_error(&me);
    assert!(
        matches!(e, Error::MessageTooLong { length, max } if length == 2 << 30 && max == 1 << 30),
        "{e:?}"
    );
    assert_closed_by_server(&mut s);

    // A 64-bit header announcing 2^62.
    let (mut s, me) = authenticated(&server);
    s.write_all(&long_header(1 << 62)).unwrap();
    let e = server.handler_error(&me);
    assert!(
        matches!(e, Error::MessageTooLong { length, .. } if length == 1 << 62),
        "{e:?}"
    );
    assert_closed_by_server(&mut s);

    // The largest 32-bit header, 10 bytes sent.
    let (mut s, me) = authenticated(&server);
    s.write_all(&0x7fff_ffffu32.to_be_bytes()).unwrap();
    s.write_all(&[7; 10]).unwrap();
    let e = server.handler_error(&me);
    assert!(matches!(e, Error::MessageTooLong { .. }), "{e:?}");
    assert_closed_by_server(&mut s);

    // A negative length other than the -1 marker.
    let (mut s, me) = authenticated(&server);
    s.write_all(&[0x80, 0, 0, 0]).unwrap();
    let e = server.handler_error(&me);
    assert!(
        matches!(&e, Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidData),
        "{e:?}"
    );
    assert_closed_by_server(&mut s);

    // A message cut off mid-payload.
    let (mut s, me) = authenticated(&server);
    s.write_all(&1000u32.to_be_bytes()).unwrap();
    s.write_all(&[0x80; 500]).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let e = server.handler_error(&me);
    assert!(
        matches!(
            e,
            Error::Truncated {
                expected: 1000,
                received: 500
            }
        ),
        "{e:?}"
    );
    assert_closed_by_server(&mut s);

    // A reset mid-payload.
    let (mut s, me) = authenticated(&server);
    s.write_all(&1000u32.to_be_bytes()).unwrap();
    s.write_all(&[0x80; 500]).unwrap();
    reset(s);
    let e = server.handler_error(&me);
    assert!(
        matches!(&e, Error::Io(_) | Error::Truncated { expected: 1000, .. }),
        "{e:?}"
    );

    // A header cut off.
    let (mut s, me) = authenticated(&server);
    s.write_all(&[0xff, 0xff, 0xff, 0xff, 0, 0]).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let e = server.handler_error(&me);
    assert!(matches!(e, Error::Truncated { .. }), "{e:?}");
    assert_closed_by_server(&mut s);

    server.assert_still_serving();
    server.finish();
}

#[test]
fn huge_announced_lengths_reserve_nothing_without_a_limit() {
    // No maximum message size: a header is believed, but the receive buffer grows only
    // with bytes that arrive (the allocation bound checks nothing near 2 GiB was
    // reserved).
    let server = TestServer::start(ListenerOptions::new().max_message_size(None));
    for length in [2u64 << 30, 1 << 62] {
        let (mut s, me) = authenticated(&server);
        s.write_all(&long_header(length)).unwrap();
        s.write_all(&[7; 10]).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let e = server.handler_error(&me);
        assert!(
            matches!(e, Error::Truncated { expected, received: 10 } if expected == length),
            "{e:?}"
        );
        assert_closed_by_server(&mut s);
        assert_memory_bounded();
    }
    server.assert_still_serving();
    server.finish();
}

/// Connects, then sends a 64 MiB message whose payload write stops halfway: prints its
/// local port and waits on stdin to be killed.
const KILLED_PY: &str = r#"
import os, signal, socket, sys
signal.alarm(120)
from multiprocessing.connection import Client
c = Client(('127.0.0.1', int(sys.argv[1])), authkey=os.environb[b'MPCONN_TEST_KEY'])
port = socket.socket(fileno=os.dup(c.fileno())).getsockname()[1]
send = c._send
calls = []
def halfway(buf):
    calls.append(len(buf))
    if len(calls) == 2:  # the payload (the 4-byte header went first)
        send(memoryview(buf)[: len(buf) // 2])
        print(port, flush=True)
        sys.stdin.read()  # until killed
    send(buf)
c._send = halfway
c.send_bytes(bytes(64 << 20))
"#;

#[test]
fn a_cpython_peer_killed_mid_message_is_a_truncated_message() {
    let server = TestServer::start(ListenerOptions::new());
    let mut child: Child = python(&["python3", "-c", KILLED_PY, &server.port.to_string()])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("child said {line:?}"));
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());
    let e = server.handler_error(&inet(port));
    // Everything written before the kill arrives before the close (a FIN: the child had
    // read all the server sent, so no reset).
    assert!(
        matches!(e, Error::Truncated { expected, received } if expected == 64 << 20 && received == 32 << 20),
        "{e:?}"
    );
    server.assert_still_serving();
    server.finish();
}

#[test]
fn random_bytes_give_typed_errors() {
    let server = TestServer::start(ListenerOptions::new());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..20 {
        // Random bytes where a frame header should be, then the peer closes.
        let (mut s, me) = authenticated(&server);
        let n = 1 + (rng.next() % 4096) as usize;
        s.write_all(&rng.bytes(n)).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        match server.outcome(&me) {
            Err((Stage::Handler, e)) => assert!(
                matches!(
                    &e,
                    Error::MessageTooLong { .. }
                        | Error::Truncated { .. }
                        | Error::Pickle(_)
                        | Error::Io(_)
                ),
                "round {round}: {e:?}"
            ),
            other => panic!("round {round}: {other:?}"),
        }
        assert_closed_by_server(&mut s);

        // A well-formed frame carrying random bytes: a pickle error, then closed.
        let (mut s, me) = authenticated(&server);
        let n = 1 + (rng.next() % 4096) as usize;
        s.write_all(&frame(&rng.bytes(n))).unwrap();
        let e = server.handler_error(&me);
        expect_pickle(e, "random payload");
        assert_closed_by_server(&mut s);
    }
    // Random bytes instead of a handshake answer.
    for _ in 0..10 {
        let (mut s, me) = raw(&server);
        let n = 1 + (rng.next() % 512) as usize;
        s.write_all(&rng.bytes(n)).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let e = server.handshake_error(&me);
        assert!(
            matches!(
                &e,
                Error::Authentication(_) | Error::Truncated { .. } | Error::Io(_)
            ),
            "{e:?}"
        );
        assert_closed_by_server(&mut s);
    }
    server.assert_still_serving();
    server.finish();
}

/// Pickles built to exhaust memory or the stack, and what each must give.
/// A bomb: what it is, its bytes, and a check of the error kind it must give.
type Bomb = (&'static str, Vec<u8>, fn(&K) -> bool);

fn bombs() -> Vec<Bomb> {
    const N: usize = 1_000_000;
    let proto4 = |body: &[u8]| {
        let mut p = vec![0x80, 4];
        p.extend_from_slice(body);
        p
    };
    let with_u64 = |op: u8, n: u64| {
        let mut b = vec![op];
        b.extend_from_slice(&n.to_le_bytes());
        b.extend_from_slice(b"abc.");
        proto4(&b)
    };
    let with_u32 = |op: u8, n: u32| {
        let mut b = vec![op];
        b.extend_from_slice(&n.to_le_bytes());
        b.extend_from_slice(b"abc.");
        proto4(&b)
    };
    let eof = |k: &K| *k == K::UnexpectedEof;
    let too_deep = |k: &K| matches!(k, K::TooDeep(_));
    let mut nested_marks = vec![b'('; N];
    nested_marks.push(b'.');
    let mut nested_tuples = vec![b'('; N];
    nested_tuples.extend(std::iter::repeat(b't').take(N));
    nested_tuples.push(b'.');
    let mut nested_lists = vec![b']'; N];
    nested_lists.extend(std::iter::repeat(b'a').take(N - 1));
    nested_lists.push(b'.');
    let mut nested_dicts = Vec::new();
    for _ in 0..N {
        nested_dicts.extend_from_slice(b"}K\x01");
    }
    nested_dicts.push(b'}');
    nested_dicts.extend(std::iter::repeat(b's').take(N));
    nested_dicts.push(b'.');
    vec![
        ("BINUNICODE8 of 2^62 bytes", with_u64(0x8d, 1 << 62), eof),
        ("BINBYTES8 of 2^64-1 bytes", with_u64(0x8e, u64::MAX), eof),
        ("BYTEARRAY8 of 2^63 bytes", with_u64(0x96, 1 << 63), eof),
        ("FRAME of 2^62 bytes", with_u64(0x95, 1 << 62), eof),
        ("BINUNICODE of 4 GiB", with_u32(b'X', u32::MAX), eof),
        ("BINBYTES of 4 GiB", with_u32(b'B', u32::MAX), eof),
        ("LONG4 of 2 GiB", with_u32(0x8b, 0x7fff_ffff), eof),
        ("BINSTRING of 2 GiB", with_u32(b'T', 0x7fff_ffff), eof),
        ("1M nested MARKs", nested_marks, |k: &K| {
            matches!(k, K::BadStop(_))
        }),
        ("1M nested tuples", nested_tuples, too_deep),
        ("1M nested lists", nested_lists, too_deep),
        ("1M nested dicts", nested_dicts, too_deep),
    ]
}

#[test]
fn bomb_pickles_give_typed_errors() {
    let server = TestServer::start(ListenerOptions::new());
    for (what, pickle, expected) in bombs() {
        let (mut s, me) = authenticated(&server);
        s.write_all(&frame(&pickle)).unwrap();
        let e = expect_pickle(server.handler_error(&me), what);
        assert!(expected(&e.kind), "{what}: {e:?}");
        assert_closed_by_server(&mut s);
        assert_memory_bounded();
    }

    // A "billion laughs" made of shared references decodes to a small shared graph and
    // is echoed back as a small pickle (the encoder memoizes shared containers).
    let mut laughs = vec![0x80, 4, b']', 0x94, b'0']; // [] memoized as 0, popped
    for i in 0..40u8 {
        // [m[i], m[i]] memoized as i + 1, popped
        laughs.extend_from_slice(&[b'(', b'h', i, b'h', i, b'l', 0x94, b'0']);
    }
    laughs.extend_from_slice(&[b'h', 40]);
    laughs.push(b'.');
    let options = ClientOptions::new().authkey(KEY).timeout(PATIENCE);
    let mut conn = Client::connect_with(&server.address, &options).unwrap();
    conn.set_read_timeout(Some(PATIENCE)).unwrap();
    conn.send_bytes(&laughs).unwrap();
    let reply = conn.recv_bytes().unwrap();
    assert!(reply.len() < 4096, "echo of {} bytes", reply.len());
    let v = mpconn::loads(&reply).unwrap();
    assert_eq!(v.as_list().map(<[Value]>::len), Some(2));
    drop(conn);

    server.assert_still_serving();
    server.finish();
}

/// `nthreads` clients in threads; all connect, print "connected", wait for a line on
/// stdin, then each sends `nmsgs` `(id, seq, bytes)` messages (a window of 32 in
/// flight) and checks every reply is `(id, seq, crc32(bytes))`.
const CONCURRENT_PY: &str = r#"
import os, random, signal, sys, threading, zlib
signal.alarm(300)
from multiprocessing.connection import Client
port, base, nthreads, nmsgs = map(int, sys.argv[1:5])
key = os.environb[b'MPCONN_TEST_KEY']
errors = []
conns = [Client(('127.0.0.1', port), authkey=key) for _ in range(nthreads)]
print('connected', flush=True)
sys.stdin.readline()
def worker(i):
    cid, c, rng = base + i, conns[i], random.Random(base + i)
    sent = {}
    def send(seq):
        payload = rng.randbytes(rng.randrange(1, 200))
        sent[seq] = zlib.crc32(payload)
        c.send((cid, seq, payload))
    try:
        nxt = 0
        while nxt < min(32, nmsgs):
            send(nxt); nxt += 1
        for seq in range(nmsgs):
            r = c.recv()
            if r != (cid, seq, sent.pop(seq)):
                errors.append((cid, seq, r)); return
            if nxt < nmsgs:
                send(nxt); nxt += 1
        c.close()
    except Exception as e:
        errors.append((cid, repr(e)))
threads = [threading.Thread(target=worker, args=(i,)) for i in range(nthreads)]
for t in threads: t.start()
for t in threads: t.join()
print('ok' if not errors else errors[:5], flush=True)
sys.exit(1 if errors else 0)
"#;

#[test]
fn two_hundred_concurrent_clients_lose_nothing_and_never_cross() {
    const PER_PYTHON: usize = 50;
    const RUST: usize = 100;
    const MESSAGES: usize = 1000;
    const WINDOW: usize = 32;
    let server = TestServer::start(ListenerOptions::new());
    let port = server.port.to_string();
    let (per, msgs) = (PER_PYTHON.to_string(), MESSAGES.to_string());
    let py314 = python314();
    let mut pythons: Vec<Child> = [("python3", "0"), (py314.as_str(), "50")]
        .iter()
        .map(|(exe, base)| {
            python(&[exe, "-c", CONCURRENT_PY, &port, base, &per, &msgs])
                .stdin(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Rust clients: connect, wait for everyone, then run.
    let go = Arc::new(Barrier::new(RUST + 1));
    let rust: Vec<_> = (0..RUST)
        .map(|i| {
            let (address, go) = (server.address.clone(), go.clone());
            thread::spawn(move || {
                let cid = (2 * PER_PYTHON + i) as i64;
                let options = ClientOptions::new().authkey(KEY).timeout(PATIENCE);
                let mut conn = Client::connect_with(&address, &options).unwrap();
                conn.set_read_timeout(Some(PATIENCE)).unwrap();
                go.wait();
                let mut rng = Rng(0x1234_5678 + cid as u64);
                let mut sent = VecDeque::new();
                let send =
                    |conn: &mut Connection, rng: &mut Rng, sent: &mut VecDeque<i64>, seq: usize| {
                        let n = 1 + (rng.next() % 199) as usize;
                        let payload = rng.bytes(n);
                        sent.push_back(i64::from(crc32(&payload)));
                        let msg = Value::tuple(vec![
                            Value::from(cid),
                            Value::from(seq as i64),
                            Value::bytes(&payload),
                        ]);
                        conn.send(&msg).unwrap();
                    };
                let mut next = 0;
                while next < WINDOW.min(MESSAGES) {
                    send(&mut conn, &mut rng, &mut sent, next);
                    next += 1;
                }
                for seq in 0..MESSAGES {
                    let reply = conn.recv().unwrap();
                    let crc = sent.pop_front().unwrap();
                    let expected = Value::tuple(vec![
                        Value::from(cid),
                        Value::from(seq as i64),
                        Value::from(crc),
                    ]);
                    assert_eq!(reply, expected, "client {cid}");
                    if next < MESSAGES {
                        send(&mut conn, &mut rng, &mut sent, next);
                        next += 1;
                    }
                }
                conn.local_address().unwrap()
            })
        })
        .collect();
    // Everyone connected and authenticated: 200 connections at once.
    for p in &mut pythons {
        let mut line = String::new();
        BufReader::new(p.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "connected");
    }
    let mut authenticated = 0;
    let mut stash = server.stash.lock().unwrap();
    while authenticated < 2 * PER_PYTHON + RUST {
        let r = server.reports.recv_timeout(PATIENCE).expect("a report");
        match &r {
            Report::Authenticated { .. } => authenticated += 1,
            Report::Accepted { .. } => {}
            other => panic!("unexpected report {other:?}"),
        }
        stash.push_back(r);
    }
    drop(stash);
    go.wait();
    for p in &mut pythons {
        p.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
    }
    let mut finished = Vec::new();
    for t in rust {
        finished.push(t.join().unwrap());
    }
    for p in pythons {
        let out = p.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
    }
    for me in &finished {
        server.assert_finished(me);
    }
    assert_eq!(
        server.echoed.load(Ordering::Relaxed),
        (2 * PER_PYTHON + RUST) * MESSAGES
    );
    server.assert_still_serving();
    server.finish();
}

#[test]
fn the_authkey_never_shows() {
    let options = ListenerOptions::new().authkey(KEY);
    assert_no_key(&format!("{options:?}"));
    let client_options = ClientOptions::new().authkey(KEY);
    assert_no_key(&format!("{client_options:?}"));
    let listener = Listener::bind_any(Family::Unix, options).unwrap();
    assert_no_key(&format!("{listener:?}"));
    let address = listener.address();
    let accepting = thread::spawn(move || {
        let pending = listener.accept_pending().unwrap();
        assert_no_key(&format!("{pending:?}"));
        let conn = pending.authenticate().unwrap();
        assert_no_key(&format!("{conn:?}"));
        // The second client has the wrong key.
        let e = listener.accept().unwrap_err();
        assert_no_key(&format!("{e:?} {e}"));
        let server = Server::new(listener).unwrap();
        assert_no_key(&format!("{server:?} {:?}", server.stop_handle()));
    });
    let conn = Client::connect_with(&address, &client_options).unwrap();
    assert_no_key(&format!("{conn:?}"));
    let e = Client::connect(&address, Some(b"wrong")).unwrap_err();
    assert_no_key(&format!("{e:?} {e}"));
    accepting.join().unwrap();
    let d = mpconn::wire::handshake::ChallengeDeliverer::new(KEY, mpconn::Digest::Legacy);
    let a = mpconn::wire::handshake::ChallengeAnswerer::new(KEY);
    assert_no_key(&format!("{d:?} {a:?}"));
    // Handshake errors with every digest say nothing about the key either.
    for digest in mpconn::Digest::ALL {
        let d = mpconn::wire::handshake::ChallengeDeliverer::new(KEY, digest);
        let bad = mpconn::wire::handshake::ChallengeAnswerer::new(b"other")
            .answer(d.challenge())
            .unwrap();
        let (_, outcome) = d.verify(&bad);
        let e = outcome.unwrap_err();
        assert_no_key(&format!("{e:?} {e}"));
    }
}

/// `VmRSS` of this process, in bytes.
fn current_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// The limit the decoder-memory test decodes under.
const DECODE_LIMIT: usize = 64 << 20;

/// Node-heavy pickles (a few bytes of input per container), sized so that their
/// decoded form is around [`DECODE_LIMIT`].
fn node_bomb(which: &str) -> Vec<u8> {
    const N: usize = 700_000;
    match which {
        "nested lists" => {
            let mut p = vec![b']'; N];
            p.extend(std::iter::repeat(b'a').take(N - 1));
            p.push(b'.');
            p
        }
        "nested dicts" => {
            let mut p = Vec::new();
            for _ in 0..N {
                p.extend_from_slice(b"}K\x01");
            }
            p.push(b'}');
            p.extend(std::iter::repeat(b's').take(N));
            p.push(b'.');
            p
        }
        "empty lists in a list" => {
            let mut p = vec![b'('];
            p.extend(std::iter::repeat(b']').take(N));
            p.extend_from_slice(b"l.");
            p
        }
        "empty tuples in a list" => {
            let mut p = vec![b'('];
            p.extend(std::iter::repeat(b')').take(N));
            p.extend_from_slice(b"l.");
            p
        }
        "pairs in a list" => {
            let mut p = vec![b'('];
            for _ in 0..N {
                p.extend_from_slice(b"NN\x86");
            }
            p.extend_from_slice(b"l.");
            p
        }
        // No container at all: 7 million Nones left on the stack (STOP then fails).
        "Nones on the stack" => {
            let mut p = vec![b'N'; 10 * N];
            p.push(b'.');
            p
        }
        other => panic!("{other}"),
    }
}

const NODE_BOMBS: [&str; 6] = [
    "Nones on the stack",
    "nested lists",
    "nested dicts",
    "empty lists in a list",
    "empty tuples in a list",
    "pairs in a list",
];

/// `max_alloc` bounds what decoding really takes: a pickle made of many tiny containers
/// decodes, or is refused, without the decoder's memory growing much past the limit. Each
/// bomb is decoded in a child process (this test binary, re-run) so that the peak RSS
/// measured is the decoder's alone.
#[test]
fn decoder_memory_stays_near_max_alloc() {
    if let Ok(which) = std::env::var("MPCONN_HOSTILE_NODE_BOMB") {
        let pickle = node_bomb(&which);
        let base = current_rss();
        let options = mpconn::DecodeOptions::new().max_alloc(DECODE_LIMIT);
        let r = mpconn::pickle::loads_with(&pickle, &options).map(|_| ());
        println!("GROWTH {} {:?}", peak_rss().saturating_sub(base), r);
        return;
    }
    let mut over = Vec::new();
    for which in NODE_BOMBS {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "decoder_memory_stays_near_max_alloc",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("MPCONN_HOSTILE_NODE_BOMB", which)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{which}: {stdout}");
        let line = stdout
            .lines()
            .find_map(|l| l.split_once("GROWTH ").map(|(_, rest)| rest))
            .unwrap_or_else(|| panic!("{which}: {stdout}"));
        let (growth, result) = line.split_once(' ').unwrap();
        let growth: u64 = growth.parse().unwrap();
        eprintln!("{which}: {} MiB, {result}", growth >> 20);
        assert!(
            result == "Ok(())" || result.contains("AllocLimit") || result.contains("TooDeep"),
            "{which}: {result}"
        );
        if growth > DECODE_LIMIT as u64 * 5 / 4 {
            over.push(format!("{which}: {} MiB", growth >> 20));
        }
    }
    assert!(
        over.is_empty(),
        "the decoder's peak grew past max_alloc = {} MiB (+25%): {over:?}",
        DECODE_LIMIT >> 20
    );
}

// ----- fuzz regressions -----

/// Found by `fuzz/pickle_roundtrip` on a seed (CPython 3.14's protocol 5 pickle of an
/// object built with keyword-only `__new__` arguments): protocols 2-3 have no NEWOBJ_EX,
/// so the encoder writes `copyreg.__newobj_ex__(cls, args, kwargs)`, and decoding that
/// must give back the NEWOBJ_EX object, not a call of `copyreg.__newobj_ex__`.
#[test]
fn fuzz_regression_newobj_ex_round_trips_through_protocols_2_and_3() {
    let pickle = b"\x80\x05\x95\x2c\x00\x00\x00\x00\x00\x00\x00\x8c\x0dfixture_types\x94\
\x8c\x06KwOnly\x94\x93\x94)}\x94\x8c\x03key\x94\x8c\x01k\x94s\x92\x94.";
    let v = mpconn::loads(pickle).unwrap();
    let text = v.to_string();
    for protocol in 2..=5u8 {
        let bytes =
            mpconn::pickle::dumps_with(&v, &mpconn::EncodeOptions::protocol(protocol)).unwrap();
        let back = mpconn::loads(&bytes).unwrap();
        assert_eq!(back.to_string(), text, "protocol {protocol}");
        assert_eq!(back, v, "protocol {protocol}");
    }
}

/// Seen in the failure above: the repr of a NEWOBJ_EX object with keyword arguments only
/// lacked the comma after the class (`KwOnly.__new__(KwOnly**{...})`).
#[test]
fn newobj_ex_repr_separates_the_class_from_keyword_arguments() {
    let pickle = b"\x80\x05\x95\x2c\x00\x00\x00\x00\x00\x00\x00\x8c\x0dfixture_types\x94\
\x8c\x06KwOnly\x94\x93\x94)}\x94\x8c\x03key\x94\x8c\x01k\x94s\x92\x94.";
    let v = mpconn::loads(pickle).unwrap();
    assert_eq!(
        v.to_string(),
        "fixture_types.KwOnly.__new__(fixture_types.KwOnly, **{'key': 'k'})"
    );
}

/// Found by `fuzz/pickle_roundtrip`: below protocol 4 a dotted qualified name is written
/// as `getattr(module.Outer, 'Inner')` (by CPython and by our encoder); it must load back
/// as the global `module.Outer.Inner`, as protocol 4's STACK_GLOBAL does. CPython writes
/// a method of a class (`datetime.datetime.now`) the same way, at every protocol.
#[test]
fn fuzz_regression_dotted_globals_round_trip_below_protocol_4() {
    let nested = Value::global("fixture_types", "Outer.Inner.Deeper");
    for protocol in 2..=5u8 {
        let bytes = mpconn::pickle::dumps_with(&nested, &mpconn::EncodeOptions::protocol(protocol))
            .unwrap();
        assert_eq!(
            mpconn::loads(&bytes).unwrap(),
            nested,
            "protocol {protocol}"
        );
    }
    // CPython 3.11: pickle.dumps(datetime.datetime.now, 2) and (..., 4).
    let now = Value::global("datetime", "datetime.now");
    for hex in [
        "8002635f5f6275696c74696e5f5f0a676574617474720a7100636461746574696d650a6461746574696d650a710158030000006e6f7771028671035271042e",
        "8004953a000000000000008c086275696c74696e73948c07676574617474729493948c086461746574696d65948c086461746574696d659493948c036e6f7794869452942e",
    ] {
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        assert_eq!(mpconn::loads(&bytes).unwrap(), now, "{hex}");
    }
}

/// Found by `fuzz/pickle_roundtrip`: a protocol 0 GLOBAL whose module name is not ASCII
/// decodes, cannot be written with protocol 2 (ASCII GLOBAL lines; CPython refuses it
/// too) and gives a typed error there, and round trips with protocols 3-5.
#[test]
fn fuzz_regression_non_ascii_global_is_unencodable_below_protocol_4() {
    let pickle = b"c\0\0\0\0\0\0\0\0\0\0\0\0\0\x02X\t\0\0\0\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9eq\0\0\0\0\0\0fixture_types\nCzolor\nq\0(K\x01tq\x01Rq\x02.";
    let v = mpconn::loads(pickle).unwrap();
    let e = mpconn::pickle::dumps_with(&v, &mpconn::EncodeOptions::protocol(2)).unwrap_err();
    assert!(matches!(e.kind, K::Unencodable(_)), "{e:?}");
    for protocol in 3..=5u8 {
        let bytes =
            mpconn::pickle::dumps_with(&v, &mpconn::EncodeOptions::protocol(protocol)).unwrap();
        assert_eq!(mpconn::loads(&bytes).unwrap(), v, "protocol {protocol}");
    }
}
