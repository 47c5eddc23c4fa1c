//! Pickle ⇄ [`Value`], protocols 0–5, with no import and no execution of anything.
//!
//! * [`loads`] / [`loads_with`] decode every opcode CPython writes (protocols 0–5) into a
//!   [`Value`], under [`DecodeOptions`] limits so that a hostile peer cannot exhaust memory
//!   or the stack.
//! * [`dumps`] / [`dumps_with`] encode protocols 2–5 (default 4 with framing and
//!   memoization, what CPython 3.8–3.13 send by default).
//!
//! * [`from_slice`] / [`to_vec`] (and their `_with` forms) read and write typed Rust
//!   values through serde directly, without a `Value` in between (see `typed/`).
//! * [`loads_view`] / [`loads_view_with`] read a message without building an owned
//!   [`Value`]: one arena of nodes, strings and bytes borrowed from the message, the same
//!   accessors ([`view`]). For messages that are only read, the fastest way in.
//!
//! Why not serde-pickle alone: it cannot hold globals such as `float` or `sum`, and it
//! loses shared references (a tuple referenced twice). [`crate::to_value`] and
//! [`crate::from_value`] convert between typed values and `Value`.

mod decode;
pub mod dis;
mod encode;
pub mod opcodes;
mod reader;
mod typed;
pub mod view;

pub use crate::error::{PickleError, PickleErrorKind};
pub use typed::{from_slice, from_slice_with, to_vec, to_vec_into, to_vec_with};
pub use view::{loads_view, loads_view_with, View, ViewRef};

use crate::value::Value;

/// Limits and choices for [`loads_with`]. The defaults are safe for untrusted peers.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DecodeOptions {
    /// Deepest container nesting accepted (default 10 000).
    pub max_depth: usize,
    /// Most memo entries accepted (default 4 194 304).
    pub max_memo: usize,
    /// Upper bound on the bytes the decoded value may take (default 2 GiB); counts what
    /// the decoder allocates, so bombs built from short opcodes are refused too.
    pub max_alloc: usize,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            max_depth: 10_000,
            max_memo: 4 * 1024 * 1024,
            max_alloc: 2 << 30,
        }
    }
}

impl DecodeOptions {
    /// The default (safe) limits.
    pub fn new() -> DecodeOptions {
        DecodeOptions::default()
    }
    /// Sets the deepest container nesting accepted.
    pub fn max_depth(mut self, depth: usize) -> DecodeOptions {
        self.max_depth = depth;
        self
    }
    /// Sets the most memo entries accepted.
    pub fn max_memo(mut self, entries: usize) -> DecodeOptions {
        self.max_memo = entries;
        self
    }
    /// Sets the upper bound on the bytes the decoded value may take.
    pub fn max_alloc(mut self, bytes: usize) -> DecodeOptions {
        self.max_alloc = bytes;
        self
    }
}

/// Choices for [`dumps_with`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EncodeOptions {
    /// Pickle protocol, 2 to 5 (default 4).
    pub protocol: u8,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions { protocol: 4 }
    }
}

impl EncodeOptions {
    /// Options for a given protocol (2–5).
    pub fn protocol(protocol: u8) -> EncodeOptions {
        EncodeOptions { protocol }
    }
}

/// Decodes one pickle with the default limits.
pub fn loads(data: &[u8]) -> Result<Value, PickleError> {
    decode::decode(data, &DecodeOptions::default())
}

/// Decodes one pickle under `options`.
pub fn loads_with(data: &[u8], options: &DecodeOptions) -> Result<Value, PickleError> {
    decode::decode(data, options)
}

/// Encodes `value` with protocol 4.
pub fn dumps(value: &Value) -> Result<Vec<u8>, PickleError> {
    dumps_with(value, &EncodeOptions::default())
}

/// Encodes `value` under `options`.
pub fn dumps_with(value: &Value, options: &EncodeOptions) -> Result<Vec<u8>, PickleError> {
    let mut out = Vec::new();
    encode::encode(value, options, &mut out)?;
    Ok(out)
}

/// Encodes `value` under `options`, appending to `out` (lets a caller reserve room for a
/// frame header in front).
pub fn dumps_into(
    value: &Value,
    options: &EncodeOptions,
    out: &mut Vec<u8>,
) -> Result<(), PickleError> {
    encode::encode(value, options, out)
}
