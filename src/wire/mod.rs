//! The wire protocol with no I/O: frames, the digest challenge, and the receiving and
//! sending sides of a connection.
//!
//! Everything here works on byte slices only, so the blocking sockets, the tokio shell and
//! the fuzzers all drive the same code.

mod broken;
pub(crate) mod drive;
pub mod frame;
pub mod handshake;
pub mod receive;
pub mod send;

pub use crate::error::{AuthError, FrameError};
pub use broken::Broken;
