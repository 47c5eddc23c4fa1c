//! The wire protocol's own errors: [`FrameError`] for frames, [`AuthError`] for the digest
//! challenge. They know nothing of sockets, pickles or addresses; [`crate::Error`] takes
//! each of them in with `From`, as the variants users already match on
//! ([`crate::Error::Eof`], [`crate::Error::Truncated`], [`crate::Error::MessageTooLong`],
//! [`crate::Error::Authentication`], ...).

/// A frame that cannot be received.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The stream ended at a message boundary (a clean close).
    #[error("connection closed by peer (EOF)")]
    Eof,
    /// The stream ended inside a header or a payload.
    #[error("truncated message: the peer closed after {received} of {expected} bytes")]
    Truncated {
        /// Bytes the header (or the header itself) announced.
        expected: u64,
        /// Bytes that actually arrived.
        received: u64,
    },
    /// A header announced more than the maximum; the payload is not read.
    #[error("bad message length: {length} bytes announced, the maximum is {max}")]
    TooLong {
        /// The announced length.
        length: u64,
        /// The maximum in force.
        max: u64,
    },
    /// A negative length other than the -1 marker (CPython treats it as an empty message;
    /// no CPython sender writes one). [`crate::Error`] reports it as an
    /// [`std::io::ErrorKind::InvalidData`] I/O error.
    #[error("invalid message length {0} in frame header")]
    InvalidLength(i64),
}

/// The digest challenge failed, or a [`crate::wire::handshake::Handshake`] was driven
/// wrongly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Wrong key, or a malformed challenge or answer ([`crate::Error::Authentication`]).
    #[error("authentication failed: {0}")]
    Failed(String),
    /// A caller bug: a message passed where none was asked for, or the other way round,
    /// or an unknown digest name ([`crate::Error::Value`]).
    #[error("{0}")]
    Misuse(String),
    /// The handshake already ended ([`crate::Error::Closed`]).
    #[error("the handshake is over")]
    Over,
}
