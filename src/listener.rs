//! [`Listener`] (stub: being written).
use std::time::Duration;

use crate::{Address, Connection, Digest, Result};

/// Options for [`Listener::bind_with`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ListenerOptions {
    /// The key for the digest challenge; `None` skips the handshake.
    pub authkey: Option<Vec<u8>>,
    /// The digest the challenge uses (default `{sha256}`; `Digest::Legacy` for 3.11 peers' form).
    pub digest: Digest,
    /// The listen backlog.
    pub backlog: i32,
    /// Bound on the handshake of each accepted connection.
    pub handshake_timeout: Option<Duration>,
    /// Largest message accepted connections receive.
    pub max_message_size: Option<usize>,
}

impl Default for ListenerOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl ListenerOptions {
    /// Default options.
    pub fn new() -> Self {
        ListenerOptions {
            authkey: None,
            digest: Digest::default(),
            backlog: 128,
            handshake_timeout: Some(Duration::from_secs(10)),
            max_message_size: Some(crate::connection::DEFAULT_MAX_MESSAGE_SIZE),
        }
    }
    /// Sets the authkey.
    pub fn authkey(mut self, key: &[u8]) -> Self {
        self.authkey = Some(key.to_vec());
        self
    }
    /// Sets the digest.
    pub fn digest(mut self, d: Digest) -> Self {
        self.digest = d;
        self
    }
}

/// Python's `Listener`: binds, accepts, authenticates.
#[derive(Debug)]
pub struct Listener {
    _private: (),
}

/// An accepted connection whose handshake has not run yet.
#[derive(Debug)]
pub struct PendingConnection {
    _private: (),
}

impl PendingConnection {
    /// Runs the handshake.
    pub fn authenticate(self) -> Result<Connection> {
        todo!()
    }
    /// The peer's address.
    pub fn peer(&self) -> Option<Address> {
        todo!()
    }
}

impl Listener {
    /// Binds `address`; with `authkey`, every accepted connection runs the digest challenge.
    pub fn bind(_address: &Address, _authkey: Option<&[u8]>) -> Result<Listener> {
        todo!()
    }
    /// Binds with options.
    pub fn bind_with(_address: &Address, _options: ListenerOptions) -> Result<Listener> {
        todo!()
    }
    /// Accepts one connection and authenticates it.
    pub fn accept(&self) -> Result<Connection> {
        todo!()
    }
    /// Accepts one connection without authenticating it.
    pub fn accept_pending(&self) -> Result<PendingConnection> {
        todo!()
    }
    /// The bound address (port 0 resolved).
    pub fn address(&self) -> Address {
        todo!()
    }
    /// The peer of the last accepted connection.
    pub fn last_accepted(&self) -> Option<Address> {
        todo!()
    }
}
