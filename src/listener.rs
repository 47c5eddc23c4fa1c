//! [`Listener`]: Python's `multiprocessing.connection.Listener`.
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use crate::address::Family;
use crate::transport::listen::Bound;
#[cfg(unix)]
use crate::transport::listen::ListenSocket;
use crate::wire::handshake::AuthKey;
use crate::{Address, Connection, Digest, Result};

pub use crate::connection::DEFAULT_MAX_MESSAGE_SIZE;

/// Default listen backlog. CPython's default is 1; a server that wants to keep up with
/// bursts of clients needs more, and 128 is what the Linux kernel long used as SOMAXCONN.
pub const DEFAULT_BACKLOG: i32 = 128;
/// Default time a peer has to complete the digest challenge in [`Listener::accept`].
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Options for [`Listener::bind_with`]. `Debug` never shows the authkey.
#[derive(Clone)]
#[non_exhaustive]
pub struct ListenerOptions {
    /// The key for the digest challenge; `None` skips it (an empty key still runs it).
    pub authkey: Option<Vec<u8>>,
    /// The digest the challenge uses (default `{sha256}`; [`Digest::Legacy`] sends the
    /// 20-byte challenge of Python ≤ 3.11).
    pub digest: Digest,
    /// Listen backlog (default [`DEFAULT_BACKLOG`], 128).
    pub backlog: i32,
    /// Time limit on each read and write of the handshake in [`Listener::accept`]
    /// (default [`DEFAULT_HANDSHAKE_TIMEOUT`], 10 s; `None`: no limit).
    pub handshake_timeout: Option<Duration>,
    /// Largest message accepted connections receive (default
    /// [`DEFAULT_MAX_MESSAGE_SIZE`]; `None`: no limit but memory).
    pub max_message_size: Option<usize>,
}

impl Default for ListenerOptions {
    fn default() -> Self {
        ListenerOptions::new()
    }
}

impl fmt::Debug for ListenerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListenerOptions")
            .field("authkey", &self.authkey.as_ref().map(|_| "<redacted>"))
            .field("digest", &self.digest)
            .field("backlog", &self.backlog)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("max_message_size", &self.max_message_size)
            .finish()
    }
}

impl ListenerOptions {
    /// The defaults: no authkey, `{sha256}`, backlog 128, 10 s handshake, 1 GiB messages.
    pub fn new() -> Self {
        ListenerOptions {
            authkey: None,
            digest: Digest::default(),
            backlog: DEFAULT_BACKLOG,
            handshake_timeout: Some(DEFAULT_HANDSHAKE_TIMEOUT),
            max_message_size: Some(DEFAULT_MAX_MESSAGE_SIZE),
        }
    }
    /// Sets the authkey (every accepted connection runs the digest challenge).
    pub fn authkey(mut self, key: &[u8]) -> Self {
        self.authkey = Some(key.to_vec());
        self
    }
    /// Sets the digest the challenge uses.
    pub fn digest(mut self, digest: Digest) -> Self {
        self.digest = digest;
        self
    }
    /// Sets the listen backlog.
    pub fn backlog(mut self, backlog: i32) -> Self {
        self.backlog = backlog;
        self
    }
    /// Sets (or with `None` removes) the handshake time limit.
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.handshake_timeout = timeout;
        self
    }
    /// Sets (or with `None` removes) the maximum message size of accepted connections.
    pub fn max_message_size(mut self, max: Option<usize>) -> Self {
        self.max_message_size = max;
        self
    }
}

/// Python's `Listener`: binds, accepts, authenticates.
///
/// `accept` takes `&self`, so one listener can be shared between threads. Dropping it
/// closes the socket and removes a filesystem socket file (and the private directory
/// [`Listener::bind_any`] made for it), as CPython's `close` does.
pub struct Listener {
    bound: Bound,
    key: Option<AuthKey>,
    options: ListenerOptions,
    last_accepted: Mutex<Option<Address>>,
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("address", self.bound.address())
            .field("options", &self.options)
            .finish()
    }
}

/// An accepted connection whose digest challenge has not run yet (see
/// [`Listener::accept_pending`]). Dropping it closes the connection.
#[derive(Debug)]
#[must_use = "call authenticate() to run the handshake and get the connection"]
pub struct PendingConnection {
    conn: Connection,
    key: Option<AuthKey>,
    digest: Digest,
    timeout: Option<Duration>,
    peer: Option<Address>,
}

impl PendingConnection {
    /// Runs the digest challenge (if the listener has a key) under the listener's
    /// handshake timeout: deliver, then answer. Returns the connection, ready for use.
    pub fn authenticate(self) -> Result<Connection> {
        let PendingConnection {
            mut conn,
            key,
            digest,
            timeout,
            ..
        } = self;
        if let Some(key) = key {
            conn.with_timeouts(timeout, |c| {
                c.deliver_challenge(key.expose(), digest)?;
                c.answer_challenge(key.expose())
            })?;
        }
        Ok(conn)
    }

    /// The peer's address (`None` for an unnamed AF_UNIX peer).
    pub fn peer(&self) -> Option<Address> {
        self.peer.clone()
    }
}

impl Listener {
    /// Binds `address`; with `authkey`, every accepted connection runs the digest challenge.
    pub fn bind(address: &Address, authkey: Option<&[u8]>) -> Result<Listener> {
        let mut options = ListenerOptions::new();
        options.authkey = authkey.map(<[u8]>::to_vec);
        Listener::bind_with(address, options)
    }

    /// Binds `address` with `options`. TCP sockets get `SO_REUSEADDR`, as in CPython.
    pub fn bind_with(address: &Address, options: ListenerOptions) -> Result<Listener> {
        Ok(Listener::from_bound(
            Bound::bind(address, options.backlog)?,
            options,
        ))
    }

    /// Binds an arbitrary free address of `family` (Python's `Listener(family=...)` with no
    /// address): `127.0.0.1` on a free port, a socket file in a fresh private (0700)
    /// temporary directory, a random abstract name, or a random named pipe
    /// `\\.\pipe\mpconn-<pid>-<random>` (Windows).
    pub fn bind_any(family: Family, options: ListenerOptions) -> Result<Listener> {
        Ok(Listener::from_bound(
            Bound::bind_any(family, options.backlog)?,
            options,
        ))
    }

    fn from_bound(bound: Bound, options: ListenerOptions) -> Listener {
        Listener {
            bound,
            key: options.authkey.as_deref().map(AuthKey::new),
            options,
            last_accepted: Mutex::new(None),
        }
    }

    /// The bound socket and the options, for the tokio listener to take over.
    #[cfg(feature = "tokio")]
    pub(crate) fn into_parts(self) -> (Bound, ListenerOptions) {
        (self.bound, self.options)
    }

    /// Accepts one connection without authenticating it; call
    /// [`PendingConnection::authenticate`] (e.g. in a worker thread, so that a slow peer
    /// never blocks the next accept).
    pub fn accept_pending(&self) -> Result<PendingConnection> {
        let stream = self.bound.accept()?;
        let peer = stream.peer();
        *self.last_accepted.lock().unwrap_or_else(|p| p.into_inner()) = peer.clone();
        let mut conn = Connection::new(stream);
        conn.set_max_message_size(self.options.max_message_size);
        Ok(PendingConnection {
            conn,
            key: self.key.clone(),
            digest: self.options.digest,
            timeout: self.options.handshake_timeout,
            peer,
        })
    }

    /// Accepts one connection and, with an authkey, runs the digest challenge under the
    /// handshake timeout (Python's `accept`).
    pub fn accept(&self) -> Result<Connection> {
        self.accept_pending()?.authenticate()
    }

    /// The bound address (port 0 resolved).
    pub fn address(&self) -> Address {
        self.bound.address().clone()
    }

    /// The peer of the last accepted connection (`None` before the first accept, or when
    /// that peer was an unnamed AF_UNIX socket, which CPython reports as `''`).
    pub fn last_accepted(&self) -> Option<Address> {
        self.last_accepted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The options the listener was bound with.
    pub fn options(&self) -> &ListenerOptions {
        &self.options
    }

    /// Closes the listener (dropping it does the same).
    pub fn close(self) -> Result<()> {
        drop(self);
        Ok(())
    }
}

crate::transport::impl_fd!(Listener, |l| match l.bound.socket() {
    ListenSocket::Tcp(s) => s.as_fd(),
    ListenSocket::Unix(s) => s.as_fd(),
});
