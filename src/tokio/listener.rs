//! [`AsyncListener`]: Python's `Listener` on tokio.
use std::fmt;
use std::io;
use std::sync::Mutex;
use std::time::Duration;

use ::tokio::net::TcpListener;
#[cfg(unix)]
use ::tokio::net::UnixListener;

use super::AsyncConnection;
use crate::address::Family;
use crate::transport::listen::{Bound, ListenSocket};
use crate::wire::handshake::{AuthKey, Handshake};
use crate::{Address, Digest, Error, Listener, ListenerOptions, Result};

/// Python's `Listener` on tokio: binds, accepts, authenticates.
///
/// Binding is the blocking [`Listener`]'s (same options, `SO_REUSEADDR`, socket file
/// removed on drop: one transport-layer socket under both); accepting waits on tokio's
/// reactor. `accept` takes `&self`, so one
/// listener can be shared between tasks (in an `Arc`).
///
/// | method | cancel-safe? |
/// |---|---|
/// | [`accept_pending`](AsyncListener::accept_pending) | yes: no connection is taken until it returns |
/// | [`accept`](AsyncListener::accept) | no: cancelled during the handshake, that connection is dropped |
/// | [`AsyncPendingConnection::authenticate`] | no: cancelled, the connection is dropped |
///
/// [`AsyncListener::accept`] runs the handshake inside the accepting future, so one slow
/// peer delays the next accept; a server accepts with
/// [`AsyncListener::accept_pending`] and spawns [`AsyncPendingConnection::authenticate`].
pub struct AsyncListener {
    /// A second descriptor of the listening socket, registered with tokio.
    socket: Socket,
    /// The bound socket: address, socket file removal on drop.
    bound: Bound,
    options: ListenerOptions,
    key: Option<AuthKey>,
    last_accepted: Mutex<Option<Address>>,
}

#[derive(Debug)]
enum Socket {
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(UnixListener),
}

impl fmt::Debug for AsyncListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncListener")
            .field("address", self.bound.address())
            .field("options", &self.options)
            .finish()
    }
}

/// An accepted connection whose digest challenge has not run yet (see
/// [`AsyncListener::accept_pending`]). Dropping it closes the connection.
#[derive(Debug)]
#[must_use = "call authenticate() to run the handshake and get the connection"]
pub struct AsyncPendingConnection {
    conn: AsyncConnection,
    key: Option<AuthKey>,
    digest: Digest,
    timeout: Option<Duration>,
    peer: Option<Address>,
}

impl AsyncPendingConnection {
    /// Runs the digest challenge (if the listener has a key) under the listener's
    /// handshake timeout: deliver, then answer. Returns the connection, ready for use.
    pub async fn authenticate(self) -> Result<AsyncConnection> {
        let AsyncPendingConnection {
            mut conn,
            key,
            digest,
            timeout,
            ..
        } = self;
        if let Some(key) = key {
            conn.run_handshake_within(Handshake::listener(key.expose(), digest), timeout)
                .await?;
        }
        Ok(conn)
    }

    /// The peer's address (`None` for an unnamed AF_UNIX peer).
    pub fn peer(&self) -> Option<Address> {
        self.peer.clone()
    }
}

impl AsyncListener {
    /// Binds `address`; with `authkey`, every accepted connection runs the digest
    /// challenge. Must be called within a tokio runtime (else an [`Error::Io`]).
    pub fn bind(address: &Address, authkey: Option<&[u8]>) -> Result<AsyncListener> {
        let mut options = ListenerOptions::new();
        options.authkey = authkey.map(<[u8]>::to_vec);
        AsyncListener::bind_with(address, options)
    }

    /// Binds `address` with `options` (see [`ListenerOptions`]).
    pub fn bind_with(address: &Address, options: ListenerOptions) -> Result<AsyncListener> {
        AsyncListener::from_bound(Bound::bind(address, options.backlog)?, options)
    }

    /// Binds an arbitrary free address of `family` (see [`Listener::bind_any`]).
    pub fn bind_any(family: Family, options: ListenerOptions) -> Result<AsyncListener> {
        AsyncListener::from_bound(Bound::bind_any(family, options.backlog)?, options)
    }

    /// Moves a bound blocking [`Listener`] onto tokio (its socket becomes non-blocking).
    pub fn from_listener(listener: Listener) -> Result<AsyncListener> {
        let (bound, options) = listener.into_parts();
        AsyncListener::from_bound(bound, options)
    }

    fn from_bound(bound: Bound, options: ListenerOptions) -> Result<AsyncListener> {
        if ::tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::Io(io::Error::other(
                "AsyncListener needs a tokio runtime with I/O enabled",
            )));
        }
        let socket = match bound.socket() {
            ListenSocket::Tcp(l) => {
                let std = l.try_clone()?;
                std.set_nonblocking(true)?;
                Socket::Tcp(TcpListener::from_std(std)?)
            }
            #[cfg(unix)]
            ListenSocket::Unix(l) => {
                let std = l.try_clone()?;
                std.set_nonblocking(true)?;
                Socket::Unix(UnixListener::from_std(std)?)
            }
            #[cfg(windows)]
            ListenSocket::Pipe(_) => {
                return Err(bound
                    .address()
                    .error("named pipes are not supported by the async API"))
            }
        };
        Ok(AsyncListener {
            socket,
            key: options.authkey.as_deref().map(AuthKey::new),
            bound,
            options,
            last_accepted: Mutex::new(None),
        })
    }

    /// Accepts one connection without authenticating it; call
    /// [`AsyncPendingConnection::authenticate`] (e.g. in a spawned task). Cancel-safe.
    pub async fn accept_pending(&self) -> Result<AsyncPendingConnection> {
        let (mut conn, peer) = loop {
            let accepted = match &self.socket {
                Socket::Tcp(l) => l
                    .accept()
                    .await
                    .map(|(s, peer)| (AsyncConnection::from_tcp(s), Some(Address::from(peer)))),
                #[cfg(unix)]
                Socket::Unix(l) => l.accept().await.map(|(s, _)| {
                    let conn = AsyncConnection::from_unix(s);
                    let peer = conn.peer_address();
                    (conn, peer)
                }),
            };
            match accepted {
                Ok(pair) => break pair,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                    ) => {}
                Err(e) => return Err(e.into()),
            }
        };
        *self.last_accepted.lock().unwrap_or_else(|p| p.into_inner()) = peer.clone();
        let options = &self.options;
        conn.set_max_message_size(options.max_message_size);
        Ok(AsyncPendingConnection {
            conn,
            key: self.key.clone(),
            digest: options.digest,
            timeout: options.handshake_timeout,
            peer,
        })
    }

    /// Accepts one connection and, with an authkey, runs the digest challenge under the
    /// handshake timeout (Python's `accept`). Not cancel-safe during the handshake.
    pub async fn accept(&self) -> Result<AsyncConnection> {
        self.accept_pending().await?.authenticate().await
    }

    /// The bound address (port 0 resolved).
    pub fn address(&self) -> Address {
        self.bound.address().clone()
    }

    /// The peer of the last accepted connection (`None` before the first accept, or when
    /// that peer was an unnamed AF_UNIX socket).
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

    /// Closes the listener (dropping it does the same, removing a socket file).
    pub fn close(self) -> Result<()> {
        drop(self);
        Ok(())
    }
}

crate::transport::impl_fd!(AsyncListener, |l| match &l.socket {
    Socket::Tcp(s) => s.as_fd(),
    Socket::Unix(s) => s.as_fd(),
});
