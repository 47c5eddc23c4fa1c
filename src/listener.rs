//! [`Listener`] (stub: being written).
use crate::{Address, Connection, Digest, Result};

/// Options for [`Listener::bind_with`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ListenerOptions {
    /// The digest the challenge uses (default `{sha256}`; `Digest::Legacy` for 3.11 peers' form).
    pub digest: Digest,
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
    /// Accepts one connection and authenticates it.
    pub fn accept(&self) -> Result<Connection> {
        todo!()
    }
    /// The bound address (port 0 resolved).
    pub fn address(&self) -> Address {
        todo!()
    }
}
