//! `mpconn listen`: serve CPython clients, a thread per connection.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mpconn::listener::PendingConnection;
use mpconn::{loads, Connection, Error, Listener, ListenerOptions};

use crate::args::ListenArgs;
use crate::fail::{self, describe, failure, Doing, Failure};
use crate::out;

/// What the listener does with each message.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// Print its repr on stdout.
    Print,
    /// Send back the decoded value, re-encoded.
    Echo,
    /// Send back the same bytes.
    EchoBytes,
}

/// What every connection's worker needs.
#[derive(Debug)]
struct Shared {
    mode: Mode,
    once: bool,
    read_timeout: Option<Duration>,
    /// Set by the first connection to authenticate (it is the one `--once` waits for).
    claimed: AtomicBool,
    /// Numbers connections for stderr reports.
    counter: AtomicU64,
    /// Connections being served now (each holds a thread).
    active: AtomicUsize,
    /// `--max-connections`: past it, new connections are closed at once, so a peer opening
    /// connections without end cannot exhaust threads or memory.
    max_connections: usize,
}

/// Gives a connection's slot back when its worker ends, however it ends.
struct Slot<'a>(&'a AtomicUsize);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Accept errors in a row after which the listener gives up (a broken socket would spin).
const MAX_ACCEPT_ERRORS_IN_A_ROW: u32 = 100;

/// Binds, reports `listening on ADDRESS` on stderr, and serves until killed (or `--once`).
pub fn run(a: ListenArgs) -> Result<(), Failure> {
    let common = &a.common;
    let address = common.address()?;
    let mut options = ListenerOptions::new();
    options.authkey = common.authkey()?;
    options.digest = common.digest;
    if common.timeout.is_some() {
        options.handshake_timeout = common.timeout;
    }
    options.max_message_size = Some(common.max_message_size);
    let listener = Listener::bind_with(&address, options)
        .map_err(|e| failure(&e, Doing::Bind(&common.address)))?;
    fail::report(&format!("listening on {}", listener.address()));

    let shared = Arc::new(Shared {
        mode: if a.echo {
            Mode::Echo
        } else if a.echo_bytes {
            Mode::EchoBytes
        } else {
            Mode::Print
        },
        once: a.once,
        read_timeout: common.timeout,
        claimed: AtomicBool::new(false),
        counter: AtomicU64::new(0),
        active: AtomicUsize::new(0),
        max_connections: a.max_connections as usize,
    });
    let mut errors_in_a_row = 0;
    loop {
        match listener.accept_pending() {
            Ok(pending) => {
                errors_in_a_row = 0;
                let number = shared.counter.fetch_add(1, Ordering::Relaxed) + 1;
                if shared.active.fetch_add(1, Ordering::SeqCst) >= shared.max_connections {
                    shared.active.fetch_sub(1, Ordering::SeqCst);
                    fail::report(&format!(
                        "connection #{number}: refused: {} connections already being served (--max-connections)",
                        shared.max_connections
                    ));
                    drop(pending);
                    continue;
                }
                let worker = Arc::clone(&shared);
                let spawned = std::thread::Builder::new()
                    .name(format!("conn-{number}"))
                    .spawn(move || serve(pending, number, &worker));
                if let Err(e) = spawned {
                    // The closure (and its slot guard) never ran: give the slot back.
                    shared.active.fetch_sub(1, Ordering::SeqCst);
                    fail::report(&format!("connection #{number}: cannot start a thread: {e}"));
                }
            }
            Err(e) => {
                errors_in_a_row += 1;
                let line = format!("accepting on {}: {e}", listener.address());
                if errors_in_a_row >= MAX_ACCEPT_ERRORS_IN_A_ROW {
                    return Err(Failure::runtime(line));
                }
                fail::report(&line);
            }
        }
    }
}

/// One connection: handshake, then the mode's loop until the peer closes.
fn serve(pending: PendingConnection, number: u64, shared: &Shared) {
    let _slot = Slot(&shared.active);
    let who = pending
        .peer()
        .map(|addr| addr.to_string())
        .filter(|shown| !shown.is_empty())
        .unwrap_or_else(|| "an unnamed peer".to_string());
    let tag = format!("connection #{number}");
    let mut conn = match pending.authenticate() {
        Ok(conn) => conn,
        Err(e) => {
            fail::report(&format!("{tag}: {}", describe(&e, Doing::Handshake(&who))));
            return;
        }
    };
    let first = shared.once && !shared.claimed.swap(true, Ordering::SeqCst);
    let outcome = conn
        .set_read_timeout(shared.read_timeout)
        .and_then(|()| match shared.mode {
            Mode::Print => print_loop(&mut conn, &tag),
            Mode::Echo => echo_loop(&mut conn),
            Mode::EchoBytes => echo_bytes_loop(&mut conn),
        });
    let clean = match outcome {
        Ok(()) | Err(Error::Eof) => true,
        Err(e) => {
            fail::report(&format!("{tag}: {}", describe(&e, Doing::Recv(&who))));
            false
        }
    };
    if first {
        std::process::exit(if clean { 0 } else { i32::from(fail::RUNTIME) });
    }
}

/// Prints each message's repr; an undecodable message is reported and skipped (the frames
/// stay in step).
fn print_loop(conn: &mut Connection, tag: &str) -> mpconn::Result<()> {
    loop {
        let message = conn.recv_bytes()?;
        match loads(&message) {
            Ok(value) => match out::bounded(&value, out::repr_budget(message.len())) {
                Ok(repr) => out::line(&repr),
                Err(_) => fail::report(&format!(
                    "{tag}: message of {} bytes not printed: its repr exceeds {} characters \
                     (shared references repeated)",
                    message.len(),
                    out::repr_budget(message.len())
                )),
            },
            Err(e) => fail::report(&format!("{tag}: undecodable message skipped: {e}")),
        }
    }
}

/// Sends back each message decoded and re-encoded; an undecodable message ends the
/// connection (there is nothing to answer with).
fn echo_loop(conn: &mut Connection) -> mpconn::Result<()> {
    loop {
        let message = conn.recv_bytes()?;
        let value = loads(&message)?;
        conn.send(&value)?;
    }
}

/// Sends back each message as it came.
fn echo_bytes_loop(conn: &mut Connection) -> mpconn::Result<()> {
    loop {
        let message = conn.recv_bytes()?;
        conn.send_bytes(&message)?;
    }
}
