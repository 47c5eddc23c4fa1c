//! # mpconn
//!
//! CPython's `multiprocessing.connection` protocol, byte for byte, in Rust.
//!
//! A Rust program can be a real `Client` of a Python `Listener`, a real `Listener` for
//! Python `Client`s, or replace a Python endpoint outright. The crate is layered:
//!
//! | layer | module | does I/O? |
//! |---|---|---|
//! | errors (one public [`Error`]; the codec's and the wire's narrow errors) | [`error`] | no |
//! | frames (length prefixes) | [`wire::frame`] | no |
//! | digest challenge (both generations) | [`wire::handshake`] | no |
//! | connection core: read buffer, frame cutting, send-header placement, broken state | [`wire::receive`], [`wire::send`] | no |
//! | pickle ⇄ [`Value`] | [`pickle`], [`value`] | no |
//! | addresses | [`address`] | resolves names only |
//! | transport: sockets, OS pipes, Windows named pipes, readiness | `transport` (internal) | yes |
//! | blocking endpoints | [`Listener`], [`Client`], [`Connection`], [`pipe()`], [`wait()`] | yes |
//! | async endpoints (feature `tokio`) | `tokio::AsyncListener`, `AsyncClient`, `AsyncConnection` | yes |
//! | debugging: relay/proxy, recordings, replay, pickle disassembly | `relay`, `recording`, `replay`, [`pickle::dis`] | yes (but `dis`) |
//!
//! Each layer uses only the ones above it in this table (`scripts/module-cycles.py`
//! checks that no module leads back to itself); the blocking and async endpoints are
//! thin shells that move bytes between a stream and the connection core.
//!
//! ```no_run
//! use mpconn::{Client, Value};
//! # fn main() -> mpconn::Result<()> {
//! let mut conn = Client::connect(&"127.0.0.1:6000".parse()?, Some(b"secret"))?;
//! conn.send(&Value::from("hello"))?;
//! let reply = conn.recv()?;
//! println!("{reply}"); // printed as Python's repr
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod address;
pub mod client;
pub mod connection;
pub mod error;
pub mod listener;
pub mod managers;
pub mod pickle;
pub mod pipe;
#[cfg(unix)]
pub mod recording;
#[cfg(unix)]
pub mod relay;
#[cfg(unix)]
pub mod replay;
#[cfg(unix)]
pub mod server;
pub mod shared_memory;
#[cfg(feature = "tokio")]
pub mod tokio;
mod transport;
pub mod value;
#[cfg(unix)]
pub mod wait;
pub mod wire;

pub use address::{Address, Family};
pub use client::{Client, ClientOptions};
pub use connection::{Connection, DEFAULT_MAX_MESSAGE_SIZE};
pub use error::{Error, Result};
pub use listener::{Listener, ListenerOptions, PendingConnection};
pub use pickle::{dumps, from_slice, loads, to_vec, DecodeOptions, EncodeOptions, PickleError};
pub use pipe::pipe;
pub use value::{from_value, to_value, Value};
#[cfg(unix)]
pub use wait::{wait, Waitable};
pub use wire::handshake::Digest;

/// The README's Rust examples, compiled by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
