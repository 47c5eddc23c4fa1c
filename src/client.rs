//! [`Client`] (stub: being written).
use std::time::Duration;

use crate::{Address, Connection, Digest, Result};

/// Options for [`Client::connect_with`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ClientOptions {
    /// The key for the digest challenge; `None` skips the handshake.
    pub authkey: Option<Vec<u8>>,
    /// The digest this side challenges with.
    pub digest: Digest,
    /// Bound on connect and handshake.
    pub timeout: Option<Duration>,
    /// Largest message the connection receives.
    pub max_message_size: Option<usize>,
}

impl ClientOptions {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
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
    /// Sets the timeout.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }
}

/// Python's `Client(address, authkey=...)`.
#[derive(Debug)]
pub struct Client;

impl Client {
    /// Connects to `address`; with `authkey`, answers and then delivers the digest challenge.
    pub fn connect(_address: &Address, _authkey: Option<&[u8]>) -> Result<Connection> {
        todo!()
    }
    /// Connects with options.
    pub fn connect_with(_address: &Address, _options: &ClientOptions) -> Result<Connection> {
        todo!()
    }
}
