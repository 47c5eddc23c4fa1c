//! The one error type of the crate.
//!
//! Every failure is a variant a caller can match on; messages are for people, the variants
//! are for programs. The authkey never appears in any error.
//!
//! The error types sit at the bottom of the crate, below every module that returns them:
//! the pickle codec's own error ([`PickleError`], also at [`crate::pickle::PickleError`])
//! and the wire protocol's narrow errors ([`FrameError`], [`AuthError`], also in
//! [`crate::wire`]) live here, so that `pickle`, `value` and `wire` all build on this
//! module and none leads back to another through it.

mod pickle;
mod wire;

pub use pickle::{PickleError, PickleErrorKind};
pub use wire::{AuthError, FrameError};

/// Shorthand for `std::result::Result<T, mpconn::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking `multiprocessing.connection`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer closed the connection cleanly at a message boundary (Python's `EOFError`).
    #[error("connection closed by peer (EOF)")]
    Eof,
    /// The peer closed the connection inside a length header or a payload.
    #[error("truncated message: the peer closed after {received} of {expected} bytes")]
    Truncated {
        /// Bytes the header (or the header itself) announced.
        expected: u64,
        /// Bytes that actually arrived before EOF.
        received: u64,
    },
    /// A message announced a length over the allowed maximum (Python's `OSError("bad message
    /// length")`). The payload was not read and the connection is closed.
    #[error("bad message length: {length} bytes announced, the maximum is {max}")]
    MessageTooLong {
        /// The announced length.
        length: u64,
        /// The maximum in force.
        max: u64,
    },
    /// The digest challenge failed: wrong key, or a malformed challenge or answer.
    #[error("authentication failed: {0}")]
    Authentication(String),
    /// `recv_bytes_into` was given a buffer too short for the message; the whole message is
    /// carried here, as Python's `BufferTooShort` carries it.
    #[error("buffer too short: the message has {} bytes", .0.len())]
    BufferTooShort(Vec<u8>),
    /// A pickle could not be decoded or a value could not be encoded.
    #[error(transparent)]
    Pickle(#[from] PickleError),
    /// A value could not be converted to or from a Rust type (serde), or a literal could
    /// not be parsed.
    #[error("value error: {0}")]
    Value(String),
    /// An address could not be parsed or resolved.
    #[error("invalid address {address:?}: {reason}")]
    Address {
        /// The address as given.
        address: String,
        /// Why it was refused.
        reason: String,
    },
    /// A read, write or handshake did not complete within its timeout.
    #[error("timed out {0}")]
    Timeout(String),
    /// The operation needs a connection that is still open (or readable / writable).
    #[error("connection is closed or not usable for this: {0}")]
    Closed(&'static str),
    /// Any other operating-system error.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl From<FrameError> for Error {
    fn from(e: FrameError) -> Error {
        match e {
            FrameError::Eof => Error::Eof,
            FrameError::Truncated { expected, received } => Error::Truncated { expected, received },
            FrameError::TooLong { length, max } => Error::MessageTooLong { length, max },
            e @ FrameError::InvalidLength(_) => Error::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                e.to_string(),
            )),
        }
    }
}

impl From<AuthError> for Error {
    fn from(e: AuthError) -> Error {
        match e {
            AuthError::Failed(why) => Error::Authentication(why),
            AuthError::Misuse(why) => Error::Value(why),
            AuthError::Over => Error::Closed("the handshake is over"),
        }
    }
}

impl Error {
    /// True when the peer went away: a clean EOF or a truncated message.
    pub fn is_disconnect(&self) -> bool {
        matches!(self, Error::Eof | Error::Truncated { .. })
    }
}
