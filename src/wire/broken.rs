//! [`Broken`]: why a connection (or one direction of it) refuses further use.
//!
//! Once the position in the byte stream is lost (part of a frame went missing, a peer
//! announced a message that is not read), nothing further can be received or sent
//! safely; every later call gives [`crate::Error::Closed`] with [`Broken::reason`].

/// Why a connection refuses further use. The blocking and async shells record the same
/// reasons; [`Broken::reason`] is the text [`crate::Error::Closed`] carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Broken {
    /// A send failed after part of its frame may have left.
    SendFailed,
    /// An async send was cancelled or failed after part of its frame left.
    SendInterrupted,
    /// The sending direction was shut down on purpose.
    ShutDownForWriting,
    /// A header announced more than the maximum; as in CPython, the payload is not read.
    MessageTooLong,
    /// The peer closed inside a header or a payload.
    PeerClosedMidMessage,
    /// A frame header that no CPython sender writes (a negative length).
    InvalidHeader,
    /// A receive failed (timeout, I/O error) after part of a message arrived.
    RecvFailed,
    /// The digest challenge failed; the connection was shut down.
    AuthenticationFailed,
}

impl Broken {
    /// The text [`crate::Error::Closed`] carries for this reason.
    pub fn reason(self) -> &'static str {
        match self {
            Broken::SendFailed => "a previous send failed mid-message",
            Broken::SendInterrupted => "a previous send failed or was cancelled mid-message",
            Broken::ShutDownForWriting => "shut down for writing",
            Broken::MessageTooLong => "closed after a message over the maximum size",
            Broken::PeerClosedMidMessage => "the peer closed inside a message",
            Broken::InvalidHeader => "received an invalid frame header",
            Broken::RecvFailed => "a previous receive failed mid-message",
            Broken::AuthenticationFailed => "authentication failed",
        }
    }
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason())
    }
}
