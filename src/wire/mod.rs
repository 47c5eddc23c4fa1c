//! The wire protocol with no I/O: frames and the digest challenge.
//!
//! Both modules work on byte slices only, so the blocking sockets, the tokio shell and the
//! fuzzers all drive the same code.

pub mod frame;
pub mod handshake;
