//! Errors of the pickle codec.

use std::fmt;

/// A pickle that could not be decoded, or a value that could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickleError {
    /// Byte offset in the input where decoding failed (the opcode's position); `0` for
    /// encoding errors.
    pub offset: usize,
    /// What went wrong.
    pub kind: PickleErrorKind,
}

/// What went wrong in a [`PickleError`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PickleErrorKind {
    /// The input ended inside an opcode or before STOP.
    UnexpectedEof,
    /// An opcode byte this decoder does not know.
    UnknownOpcode(u8),
    /// The stack held too few items, or no MARK, for an opcode.
    StackUnderflow,
    /// An item on the stack had the wrong kind for an opcode (e.g. APPENDS onto an int).
    WrongType(String),
    /// A memo index that was never stored.
    MissingMemo(u64),
    /// A string, integer or float argument that does not parse.
    BadArgument(String),
    /// The protocol number is not 0–5.
    UnsupportedProtocol(u8),
    /// Nesting deeper than `DecodeOptions::max_depth`.
    TooDeep(usize),
    /// More memo entries than `DecodeOptions::max_memo`.
    MemoLimit(usize),
    /// The decoded value would take more than `DecodeOptions::max_alloc` bytes.
    AllocLimit(usize),
    /// STOP was reached with more or less than one value on the stack, or bytes followed it.
    BadStop(String),
    /// Out-of-band buffers (protocol 5 NEXT_BUFFER / READONLY_BUFFER) were used without
    /// any being supplied.
    OutOfBandBuffer,
    /// A value that cannot be encoded (e.g. a `Ref` with no enclosing `Anchor`).
    Unencodable(String),
    /// A pickle CPython may load, doing something a [`Value`](crate::Value) cannot hold
    /// without changing what it loads into (e.g. a call whose result is discarded before
    /// any other value was built). Refused rather than dropped.
    Unrepresentable(String),
}

impl fmt::Display for PickleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use PickleErrorKind::*;
        write!(f, "pickle error at offset {}: ", self.offset)?;
        match &self.kind {
            UnexpectedEof => write!(f, "pickle data was truncated"),
            UnknownOpcode(op) => write!(f, "invalid load key {:#04x}", op),
            StackUnderflow => write!(f, "stack underflow (or missing MARK)"),
            WrongType(s) => write!(f, "wrong kind of object: {s}"),
            MissingMemo(i) => write!(f, "memo key {i} not found"),
            BadArgument(s) => write!(f, "bad argument: {s}"),
            UnsupportedProtocol(p) => write!(f, "unsupported pickle protocol {p}"),
            TooDeep(d) => write!(f, "nesting deeper than {d}"),
            MemoLimit(n) => write!(f, "more than {n} memo entries"),
            AllocLimit(n) => write!(f, "decoded value would exceed {n} bytes"),
            BadStop(s) => write!(f, "bad end of pickle: {s}"),
            OutOfBandBuffer => write!(f, "out-of-band buffer requested but none supplied"),
            Unencodable(s) => write!(f, "cannot encode: {s}"),
            Unrepresentable(s) => write!(f, "cannot be represented without loss: {s}"),
        }
    }
}

impl std::error::Error for PickleError {}

impl PickleError {
    /// An error of `kind` at `offset`.
    pub fn new(offset: usize, kind: PickleErrorKind) -> PickleError {
        PickleError { offset, kind }
    }
}
