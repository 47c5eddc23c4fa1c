//! [`Listener`] (stub: being written).
use crate::{Address, Connection, Digest, Result};

/// Options for [`Listener::bind_with`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ListenerOptions {
    /// The key every accepted connection must prove it knows (`None`: no handshake).
    pub authkey: Option<Vec<u8>>,
    /// The digest the challenge uses (default `{sha256}`; `Digest::Legacy` for 3.11 peers' form).
    pub digest: Digest,
    /// The listen backlog.
    pub backlog: i32,
    /// How long the handshake may take.
    pub handshake_timeout: Option<std::time::Duration>,
    /// The largest message `recv_bytes` accepts on accepted connections.
    pub max_message_size: Option<usize>,
}

impl ListenerOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the authkey.
    pub fn authkey(mut self, key: &[u8]) -> Self {
        self.authkey = Some(key.to_vec());
        self
    }
    /// Sets the challenge digest.
    pub fn digest(mut self, digest: Digest) -> Self {
        self.digest = digest;
        self
    }
}

/// Python's `Listener`: binds, accepts, authenticates.
#[derive(Debug)]
pub struct Listener {
    _private: (),
}

impl Listener {
    /// Binds `address`; with `authkey`, every accepted connection runs the digest challenge.
    pub fn bind(_address: &Address, _authkey: Option<&[u8]>) -> Result<Listener> {
        todo!()
    }
    /// Binds `address` with `options`.
    pub fn bind_with(_address: &Address, _options: ListenerOptions) -> Result<Listener> {
        todo!()
    }
    /// Accepts one connection and authenticates it.
    pub fn accept(&self) -> Result<Connection> {
        todo!()
    }
    /// The bound address (port 0 resolved).
    pub fn address(&self) -> Address {
        todo!()
    }
}
