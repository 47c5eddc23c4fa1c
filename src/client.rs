//! [`Client`] (stub: being written).
use crate::{Address, Connection, Result};

/// Options for [`Client::connect_with`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ClientOptions {
    /// The shared key (`None`: no handshake).
    pub authkey: Option<Vec<u8>>,
    /// The digest of the challenge this side delivers.
    pub digest: crate::Digest,
    /// Connect and handshake timeout.
    pub timeout: Option<std::time::Duration>,
    /// The largest message `recv_bytes` accepts.
    pub max_message_size: Option<usize>,
}

impl ClientOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the authkey.
    pub fn authkey(mut self, key: &[u8]) -> Self {
        self.authkey = Some(key.to_vec());
        self
    }
    /// Sets the digest of the challenge this side delivers.
    pub fn digest(mut self, digest: crate::Digest) -> Self {
        self.digest = digest;
        self
    }
    /// Sets the timeout.
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = Some(timeout);
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
    /// Connects with `options`.
    pub fn connect_with(_address: &Address, _options: &ClientOptions) -> Result<Connection> {
        todo!()
    }
}
