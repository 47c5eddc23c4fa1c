//! [`Client`]: Python's `multiprocessing.connection.Client`.
use std::fmt;
use std::time::Duration;

use crate::transport::Stream;
use crate::{Address, Connection, Digest, Result, DEFAULT_MAX_MESSAGE_SIZE};

/// Options for [`Client::connect_with`]. `Debug` never shows the authkey.
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientOptions {
    /// The key for the digest challenge; `None` skips it (an empty key still runs it).
    pub authkey: Option<Vec<u8>>,
    /// The digest this side challenges the listener with after answering (default
    /// `{sha256}`, as CPython 3.12+; [`Digest::Legacy`] for the 3.11 form).
    pub digest: Digest,
    /// Time limit on connecting and on each read and write of the handshake (`None`, the
    /// default: no limit). The connection returned has no timeouts.
    pub timeout: Option<Duration>,
    /// Largest message the connection receives (default [`DEFAULT_MAX_MESSAGE_SIZE`];
    /// `None`: no limit but memory).
    pub max_message_size: Option<usize>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions::new()
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("authkey", &self.authkey.as_ref().map(|_| "<redacted>"))
            .field("digest", &self.digest)
            .field("timeout", &self.timeout)
            .field("max_message_size", &self.max_message_size)
            .finish()
    }
}

impl ClientOptions {
    /// The defaults: no authkey, `{sha256}`, no timeout, 1 GiB messages.
    pub fn new() -> Self {
        ClientOptions {
            authkey: None,
            digest: Digest::default(),
            timeout: None,
            max_message_size: Some(DEFAULT_MAX_MESSAGE_SIZE),
        }
    }
    /// Sets the authkey (the connection runs the digest challenge).
    pub fn authkey(mut self, key: &[u8]) -> Self {
        self.authkey = Some(key.to_vec());
        self
    }
    /// Sets the digest this side challenges with.
    pub fn digest(mut self, digest: Digest) -> Self {
        self.digest = digest;
        self
    }
    /// Sets the connect and handshake time limit.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
    /// Sets (or with `None` removes) the maximum message size.
    pub fn max_message_size(mut self, max: Option<usize>) -> Self {
        self.max_message_size = max;
        self
    }
}

/// Python's `Client(address, authkey=...)`.
#[derive(Debug)]
pub struct Client;

impl Client {
    /// Connects to `address`; with `authkey`, answers and then delivers the digest challenge.
    pub fn connect(address: &Address, authkey: Option<&[u8]>) -> Result<Connection> {
        let mut options = ClientOptions::new();
        options.authkey = authkey.map(<[u8]>::to_vec);
        Client::connect_with(address, &options)
    }

    /// Connects with `options`.
    pub fn connect_with(address: &Address, options: &ClientOptions) -> Result<Connection> {
        let stream = Stream::connect(address, options.timeout)?;
        let mut conn = Connection::new(stream);
        conn.set_max_message_size(options.max_message_size);
        if let Some(key) = &options.authkey {
            let digest = options.digest;
            conn.with_timeouts(options.timeout, |c| {
                c.answer_challenge(key)?;
                c.deliver_challenge(key, digest)
            })?;
        }
        Ok(conn)
    }
}
