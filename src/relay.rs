//! A relay between a client and a server: every message forwarded unchanged, both ways,
//! and shown to an [`Observer`] as it passes. What `mpconn proxy` is made of.
//!
//! * [`relay`] joins two authenticated [`Connection`]s until one side closes, then closes
//!   the other. Messages are taken with [`Connection::recv_bytes`] and passed on with
//!   [`Connection::send_bytes`]: never decoded, never re-encoded, so the bytes the server
//!   receives are the bytes the client sent (the frame header is a function of the length).
//! * [`Proxy`] accepts clients on a [`Listener`] (which challenges them with its own key
//!   and digest), connects each one to the upstream with [`ClientOptions`] (its own key,
//!   answering whatever digest the upstream challenges with) and relays, one pair of
//!   threads per client.
//!
//! Limits: each side keeps the maximum message size of its options (a message over it
//! closes that pair and is reported); the listener's handshake timeout bounds a client that
//! never authenticates; [`Proxy::max_connections`] bounds the pairs relayed at once. One
//! message per direction is held in memory at a time.
//!
//! ```no_run
//! use std::sync::Arc;
//! use mpconn::relay::{Event, Proxy};
//! use mpconn::{ClientOptions, Listener, ListenerOptions};
//! # fn main() -> mpconn::Result<()> {
//! let listener = Listener::bind_with(&"127.0.0.1:6001".parse()?,
//!                                    ListenerOptions::new().authkey(b"front"))?;
//! let upstream = ClientOptions::new().authkey(b"back");
//! let proxy = Proxy::new(listener, "127.0.0.1:6000".parse()?, upstream);
//! proxy.serve(Arc::new(|event: &Event<'_>| {
//!     if let Event::Message(m) = event {
//!         println!("#{} {} {} bytes", m.connection, m.direction, m.data.len());
//!     }
//! }))?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::net::Shutdown;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use socket2::SockRef;

use crate::server::ActiveGuard;
use crate::{Address, Client, ClientOptions, Connection, Error, Listener, Result};

/// Which way a message travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client (the proxy's accepted peer) to the server (the upstream).
    ToServer,
    /// From the server (the upstream) to the client.
    ToClient,
}

impl Direction {
    /// `client->server` or `server->client`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::ToServer => "client->server",
            Direction::ToClient => "server->client",
        }
    }

    /// The side that sends in this direction: `client` or `server`.
    pub fn sender(self) -> &'static str {
        match self {
            Direction::ToServer => "client",
            Direction::ToClient => "server",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One message on its way, as received (before it is passed on).
#[derive(Debug)]
pub struct Message<'a> {
    /// The relayed pair it belongs to (numbered from 1 in accept order).
    pub connection: u64,
    /// Which way it goes.
    pub direction: Direction,
    /// When it was received.
    pub time: SystemTime,
    /// The message, exactly as framed by the sender (without the length header).
    pub data: &'a [u8],
}

/// What a relay reports.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A client authenticated and its upstream connection is established.
    Opened {
        /// The pair's number.
        connection: u64,
        /// The client's address, when it has one.
        client: Option<Address>,
        /// When.
        time: SystemTime,
    },
    /// A message is about to be forwarded.
    Message(Message<'a>),
    /// The pair ended: `by` is the side whose receive ended first (`ToServer`: the client
    /// closed or failed); `error` is `None` for a clean close at a message boundary.
    Closed {
        /// The pair's number.
        connection: u64,
        /// The direction whose receive ended first.
        by: Direction,
        /// Why, unless it was a clean EOF.
        error: Option<&'a Error>,
        /// When.
        time: SystemTime,
    },
    /// A client was refused before any relaying: failed handshake, unreachable upstream,
    /// too many connections.
    Refused {
        /// The number the pair would have had.
        connection: u64,
        /// The client's address, when it has one.
        client: Option<Address>,
        /// Why.
        reason: String,
    },
}

/// Told of every [`Event`]; called from the relay's threads, so it must be `Send + Sync`.
/// A closure `Fn(&Event)` is an observer.
pub trait Observer: Send + Sync {
    /// Called once per event, in order within one direction of one pair. A message is
    /// reported before it is forwarded.
    fn event(&self, event: &Event<'_>);
}

impl<F: Fn(&Event<'_>) + Send + Sync> Observer for F {
    fn event(&self, event: &Event<'_>) {
        self(event)
    }
}

/// Closes both directions of the socket under `conn` (every handle on it sees EOF).
fn shut(conn: &Connection) {
    let _ = SockRef::from(conn).shutdown(Shutdown::Both);
}

/// Forwards messages between `client` and `server` (both already authenticated) until
/// either side closes or fails, then closes the other; reports each message and the end to
/// `observer` under the number `connection`. Returns how the pair ended (`Ok` for a clean
/// close by either side).
///
/// # Errors
/// The error that ended the pair, when it was not a clean EOF; or [`Error::Io`] when a
/// second handle on a socket cannot be made.
pub fn relay(
    client: Connection,
    server: Connection,
    connection: u64,
    observer: &dyn Observer,
) -> Result<()> {
    let client_out = client.try_clone()?;
    let server_out = server.try_clone()?;
    // Which direction ended first (1: to the server, 2: to the client): its end is the
    // pair's end; the other direction only saw the shutdown that followed.
    let first = AtomicU8::new(0);
    let run = |mut from: Connection, mut to: Connection, direction: Direction, mark: u8| {
        let r = pump(&mut from, &mut to, direction, connection, observer);
        let was_first = first
            .compare_exchange(0, mark, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        shut(&from);
        shut(&to);
        (r, was_first)
    };
    let (to_server, to_client) = std::thread::scope(|scope| {
        let to_client = scope.spawn(|| run(server, client_out, Direction::ToClient, 2));
        let to_server = run(client, server_out, Direction::ToServer, 1);
        let to_client = to_client
            .join()
            .unwrap_or((Err(Error::Closed("relay thread panicked")), false));
        (to_server, to_client)
    });
    let (by, outcome) = if to_client.1 {
        (Direction::ToClient, to_client.0)
    } else {
        (Direction::ToServer, to_server.0)
    };
    let error = match &outcome {
        Err(e) if !matches!(e, Error::Eof) => Some(e),
        _ => None,
    };
    observer.event(&Event::Closed {
        connection,
        by,
        error,
        time: SystemTime::now(),
    });
    match outcome {
        Err(Error::Eof) => Ok(()),
        other => other,
    }
}

/// One direction: receive, report, forward, until the receive or the forward fails.
fn pump(
    from: &mut Connection,
    to: &mut Connection,
    direction: Direction,
    connection: u64,
    observer: &dyn Observer,
) -> Result<()> {
    loop {
        let data = from.recv_bytes()?;
        observer.event(&Event::Message(Message {
            connection,
            direction,
            time: SystemTime::now(),
            data: &data,
        }));
        to.send_bytes(&data)?;
    }
}

/// The thread relaying one pair; joining it gives how the pair ended.
pub type PairHandle = std::thread::JoinHandle<Result<()>>;

/// Accepts clients and relays each one to its own upstream connection.
#[derive(Debug)]
pub struct Proxy {
    listener: Listener,
    upstream: Address,
    options: ClientOptions,
    max_connections: usize,
    counter: AtomicU64,
    active: Arc<AtomicUsize>,
}

/// Accept errors in a row after which [`Proxy::serve`] gives up (a broken socket would spin).
const MAX_ACCEPT_ERRORS_IN_A_ROW: u32 = 100;

impl Proxy {
    /// A proxy accepting on `listener` (its key, digest, handshake timeout and maximum
    /// message size apply to clients) and connecting to `upstream` with `options`.
    /// At most 1024 pairs at once by default.
    pub fn new(listener: Listener, upstream: Address, options: ClientOptions) -> Proxy {
        Proxy {
            listener,
            upstream,
            options,
            max_connections: 1024,
            counter: AtomicU64::new(0),
            active: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Sets how many pairs are relayed at once; a client past it is closed at once and
    /// reported as [`Event::Refused`].
    pub fn max_connections(mut self, n: usize) -> Proxy {
        self.max_connections = n.max(1);
        self
    }

    /// The address clients connect to (port 0 resolved).
    pub fn address(&self) -> Address {
        self.listener.address()
    }

    /// Accepts one client and relays it on a new thread; returns the thread's handle
    /// (joining it waits for the pair to end), or `None` when the client was refused for
    /// being over [`Proxy::max_connections`].
    ///
    /// # Errors
    /// An error accepting (the client is not reported then).
    pub fn accept_one(&self, observer: Arc<dyn Observer>) -> Result<Option<PairHandle>> {
        let pending = self.listener.accept_pending()?;
        let number = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        let peer = pending.peer();
        if self.active.fetch_add(1, Ordering::SeqCst) >= self.max_connections {
            self.active.fetch_sub(1, Ordering::SeqCst);
            drop(pending);
            let reason = format!(
                "{} connections already being relayed (max connections)",
                self.max_connections
            );
            observer.event(&Event::Refused {
                connection: number,
                client: peer,
                reason,
            });
            return Ok(None);
        }
        let slot = ActiveGuard(Arc::clone(&self.active));
        let upstream = self.upstream.clone();
        let options = self.options.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("relay-{number}"))
            .spawn(move || {
                let _slot = slot;
                let refuse = |reason: String| {
                    observer.event(&Event::Refused {
                        connection: number,
                        client: peer.clone(),
                        reason,
                    });
                };
                let client = match pending.authenticate() {
                    Ok(c) => c,
                    Err(e) => {
                        refuse(format!("client handshake: {e}"));
                        return Err(e);
                    }
                };
                let server = match Client::connect_with(&upstream, &options) {
                    Ok(s) => s,
                    Err(e) => {
                        refuse(format!("connecting to the upstream {upstream}: {e}"));
                        return Err(e);
                    }
                };
                observer.event(&Event::Opened {
                    connection: number,
                    client: peer,
                    time: SystemTime::now(),
                });
                relay(client, server, number, &*observer)
            });
        spawned.map(Some).map_err(Error::Io)
    }

    /// Accepts and relays clients until accepting fails 100 times in a row.
    ///
    /// # Errors
    /// The last accept error.
    pub fn serve(&self, observer: Arc<dyn Observer>) -> Result<()> {
        let mut errors_in_a_row = 0;
        loop {
            match self.accept_one(Arc::clone(&observer)) {
                Ok(_) => errors_in_a_row = 0,
                Err(e) => {
                    errors_in_a_row += 1;
                    if errors_in_a_row >= MAX_ACCEPT_ERRORS_IN_A_ROW {
                        return Err(e);
                    }
                }
            }
        }
    }
}
