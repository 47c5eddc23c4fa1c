//! [`Client`] (stub: being written).
use crate::{Address, Connection, Result};

/// Options for [`Client::connect_with`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ClientOptions {}

/// Python's `Client(address, authkey=...)`.
#[derive(Debug)]
pub struct Client;

impl Client {
    /// Connects to `address`; with `authkey`, answers and then delivers the digest challenge.
    pub fn connect(_address: &Address, _authkey: Option<&[u8]>) -> Result<Connection> {
        todo!()
    }
}
