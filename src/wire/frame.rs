//! Length-prefixed frames, with no I/O.
//!
//! A message on a POSIX socket or pipe is a 4-byte big-endian *signed* length followed by
//! that many bytes. A payload longer than `0x7fffffff` bytes is announced by the marker
//! `ff ff ff ff` (-1) followed by an 8-byte big-endian unsigned length.
//!
//! This module only turns lengths into header bytes and bytes into lengths:
//!
//! * [`encode_header`] gives the header to put in front of a payload;
//! * [`parse_header`] reads a header from the start of a buffer, or says how many more
//!   bytes it needs;
//! * [`FrameDecoder`] is an incremental decoder for callers that receive bytes in pieces
//!   (an async shell, a fuzzer): feed it bytes, it hands back whole messages, checking the
//!   maximum size on the header before it allocates anything and growing the payload
//!   buffer only with bytes that actually arrived.
//!
//! ```
//! use mpconn::wire::frame::{encode_header, parse_header, HeaderStatus};
//! assert_eq!(encode_header(5).as_bytes(), &[0, 0, 0, 5]);
//! let status = parse_header(&[0, 0, 0, 5, b'h']).unwrap();
//! assert_eq!(status, HeaderStatus::Complete { length: 5, header_len: 4 });
//! ```

use crate::error::FrameError;

/// Shorthand for results of frame parsing.
type Result<T, E = FrameError> = std::result::Result<T, E>;

/// Length of the ordinary header.
pub const HEADER_LEN: usize = 4;
/// Length of the 64-bit header: the -1 marker and an 8-byte length.
pub const LONG_HEADER_LEN: usize = 12;
/// Longest payload announced by the ordinary 4-byte header.
pub const MAX_SHORT_LENGTH: u64 = 0x7fff_ffff;
/// CPython sends header and payload in one write up to this payload size, and in two
/// writes above it. Receivers must not depend on either.
pub const SMALL_MESSAGE: usize = 16384;
/// The most a [`FrameDecoder`] reserves for a payload before its bytes arrive.
pub const INITIAL_RESERVE: usize = 1 << 20;

/// A frame header ready to be written: 4 or 12 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    bytes: [u8; LONG_HEADER_LEN],
    len: u8,
}

impl Header {
    /// The header bytes to write in front of the payload.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

/// The header announcing a payload of `length` bytes: 4 bytes up to `0x7fffffff`, else
/// the -1 marker and an 8-byte length, as CPython writes them.
pub fn encode_header(length: u64) -> Header {
    let mut bytes = [0u8; LONG_HEADER_LEN];
    if length <= MAX_SHORT_LENGTH {
        bytes[..4].copy_from_slice(&(length as u32).to_be_bytes());
        Header { bytes, len: 4 }
    } else {
        bytes[..4].copy_from_slice(&(-1i32).to_be_bytes());
        bytes[4..].copy_from_slice(&length.to_be_bytes());
        Header { bytes, len: 12 }
    }
}

/// How long the header for a payload of `length` bytes is (4 or 12).
pub fn header_len(length: u64) -> usize {
    if length <= MAX_SHORT_LENGTH {
        HEADER_LEN
    } else {
        LONG_HEADER_LEN
    }
}

/// The result of [`parse_header`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum HeaderStatus {
    /// The buffer holds a whole header: the payload is `length` bytes long and starts
    /// at `header_len`.
    Complete {
        /// Announced payload length.
        length: u64,
        /// Bytes the header itself took (4 or 12).
        header_len: usize,
    },
    /// The buffer holds only part of a header: at least `needed` more bytes must arrive.
    Incomplete {
        /// Bytes still missing from the header.
        needed: usize,
    },
}

/// Reads a header from the start of `buf`.
///
/// A negative length other than the -1 marker is refused with
/// [`FrameError::InvalidLength`] (CPython silently treats it as an empty message; no
/// CPython sender ever writes one).
pub fn parse_header(buf: &[u8]) -> Result<HeaderStatus> {
    if buf.len() < HEADER_LEN {
        return Ok(HeaderStatus::Incomplete {
            needed: HEADER_LEN - buf.len(),
        });
    }
    let short = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if short >= 0 {
        return Ok(HeaderStatus::Complete {
            length: short as u64,
            header_len: HEADER_LEN,
        });
    }
    if short != -1 {
        return Err(FrameError::InvalidLength(short as i64));
    }
    if buf.len() < LONG_HEADER_LEN {
        return Ok(HeaderStatus::Incomplete {
            needed: LONG_HEADER_LEN - buf.len(),
        });
    }
    let mut long = [0u8; 8];
    long.copy_from_slice(&buf[4..12]);
    Ok(HeaderStatus::Complete {
        length: u64::from_be_bytes(long),
        header_len: LONG_HEADER_LEN,
    })
}

/// Checks an announced `length` against an optional maximum, as CPython's
/// `recv_bytes(maxlength)` does, before anything is allocated for it.
pub fn check_length(length: u64, max: Option<usize>) -> Result<()> {
    match max {
        Some(max) if length > max as u64 => Err(FrameError::TooLong {
            length,
            max: max as u64,
        }),
        // A length that does not fit in memory's address space cannot be received.
        None if length > isize::MAX as u64 => Err(FrameError::TooLong {
            length,
            max: isize::MAX as u64,
        }),
        _ => Ok(()),
    }
}

/// How much to reserve next for a payload of `expected` bytes of which `have` arrived:
/// at most [`INITIAL_RESERVE`] up front, then doubling with what actually arrived.
pub fn next_reserve(expected: u64, have: usize) -> usize {
    let remaining = expected.saturating_sub(have as u64);
    let step = have.max(INITIAL_RESERVE) as u64;
    remaining.min(step) as usize
}

/// Incremental frame decoder: feed it bytes as they arrive, it returns whole messages.
///
/// ```
/// use mpconn::wire::frame::FrameDecoder;
/// let mut dec = FrameDecoder::new(Some(1024));
/// let (used, msg) = dec.feed(&[0, 0, 0, 2, b'h']).unwrap();
/// assert_eq!((used, msg), (5, None));
/// let (used, msg) = dec.feed(b"i").unwrap();
/// assert_eq!((used, msg), (1, Some(b"hi".to_vec())));
/// assert!(dec.at_boundary());
/// ```
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    max: Option<usize>,
    header: [u8; LONG_HEADER_LEN],
    header_have: usize,
    payload: Option<(u64, Vec<u8>)>,
}

impl FrameDecoder {
    /// A decoder refusing messages longer than `max` bytes (`None`: no limit but memory).
    pub fn new(max: Option<usize>) -> FrameDecoder {
        FrameDecoder {
            max,
            header: [0; LONG_HEADER_LEN],
            header_have: 0,
            payload: None,
        }
    }

    /// True when no part of a message is pending: EOF now is a clean close.
    pub fn at_boundary(&self) -> bool {
        self.header_have == 0 && self.payload.is_none()
    }

    /// Feeds `input`; returns how many bytes were used and, when a message completed,
    /// the message. Bytes after a completed message are not used: feed them again.
    ///
    /// A header over the maximum gives [`FrameError::TooLong`]; the caller MUST then
    /// close the connection, as the payload was not read.
    pub fn feed(&mut self, input: &[u8]) -> Result<(usize, Option<Vec<u8>>)> {
        let mut used = 0;
        if self.payload.is_none() {
            // Copy at most what the header can still need, then parse.
            loop {
                let status = parse_header(&self.header[..self.header_have])?;
                match status {
                    HeaderStatus::Complete { length, .. } => {
                        check_length(length, self.max)?;
                        // Room is reserved when payload bytes arrive (a caller may
                        // also take the payload over, see `take_payload`).
                        self.payload = Some((length, Vec::new()));
                        self.header_have = 0;
                        break;
                    }
                    HeaderStatus::Incomplete { needed } => {
                        let take = needed.min(input.len() - used);
                        if take == 0 {
                            return Ok((used, None));
                        }
                        self.header[self.header_have..self.header_have + take]
                            .copy_from_slice(&input[used..used + take]);
                        self.header_have += take;
                        used += take;
                    }
                }
            }
        }
        let (expected, data) = self.payload.as_mut().expect("payload state set above");
        let remaining = (*expected - data.len() as u64).min((input.len() - used) as u64) as usize;
        if data.capacity() - data.len() < remaining {
            let more = next_reserve(*expected, data.len()).max(remaining);
            data.reserve(more);
        }
        data.extend_from_slice(&input[used..used + remaining]);
        used += remaining;
        if data.len() as u64 == *expected {
            let (_, data) = self.payload.take().expect("payload state set above");
            return Ok((used, Some(data)));
        }
        Ok((used, None))
    }

    /// While a payload is arriving: how many of its bytes arrived and how many the header
    /// announced. `None` at a boundary or inside a header.
    pub fn progress(&self) -> Option<(u64, u64)> {
        self.payload
            .as_ref()
            .map(|(expected, data)| (data.len() as u64, *expected))
    }

    /// Changes the maximum message size; it applies to the next header to complete (a
    /// payload already announced keeps the limit it was checked against).
    pub fn set_max(&mut self, max: Option<usize>) {
        self.max = max;
    }

    /// The maximum message size in force.
    pub fn max(&self) -> Option<usize> {
        self.max
    }

    /// While a payload is arriving: the payload received so far and how many bytes it
    /// still lacks, with room reserved for the next read (bounded as [`FrameDecoder::feed`]
    /// bounds it). A caller may read straight into the vector's spare capacity instead of
    /// going through `feed`, appending at most the bytes lacking, then call
    /// [`FrameDecoder::take_message`]. `None` while no payload is pending.
    pub fn payload_buffer(&mut self) -> Option<(&mut Vec<u8>, u64)> {
        let (expected, data) = self.payload.as_mut()?;
        let lacking = *expected - data.len() as u64;
        if data.capacity() == data.len() && lacking > 0 {
            data.reserve(next_reserve(*expected, data.len()));
        }
        Some((data, lacking))
    }

    /// The message, once all its bytes arrived through [`FrameDecoder::payload_buffer`];
    /// `None` while bytes are still lacking.
    ///
    /// # Panics
    /// When the caller appended more bytes than the payload lacked (a caller bug; nothing
    /// a peer sends can cause it).
    pub fn take_message(&mut self) -> Option<Vec<u8>> {
        let (expected, data) = self.payload.as_ref()?;
        assert!(
            data.len() as u64 <= *expected,
            "more bytes appended than the payload lacked"
        );
        if data.len() as u64 == *expected {
            self.payload.take().map(|(_, data)| data)
        } else {
            None
        }
    }

    /// Hands a pending payload over to a caller that reads the rest of it into a buffer
    /// of its own: returns the bytes received so far and the announced length, and
    /// leaves the decoder at a boundary. `None` while no payload is pending.
    pub fn take_payload(&mut self) -> Option<(Vec<u8>, u64)> {
        self.payload.take().map(|(expected, data)| (data, expected))
    }

    /// Gives back a payload taken with [`FrameDecoder::take_payload`] that the caller
    /// could not finish (its read was interrupted or cancelled): the `received` bytes of
    /// a payload announced as `expected` bytes. The decoder goes on as if it had received
    /// them itself.
    ///
    /// # Panics
    /// When the decoder is not at a boundary or `received` is longer than `expected`
    /// (caller bugs; nothing a peer sends can cause them).
    pub fn resume_payload(&mut self, expected: u64, received: Vec<u8>) {
        assert!(
            self.at_boundary(),
            "resume_payload needs a decoder at a boundary"
        );
        assert!(
            received.len() as u64 <= expected,
            "more bytes than announced"
        );
        self.payload = Some((expected, received));
    }

    /// The error for EOF now: [`FrameError::Eof`] at a boundary, else
    /// [`FrameError::Truncated`].
    pub fn eof_error(&self) -> FrameError {
        match &self.payload {
            Some((expected, data)) => FrameError::Truncated {
                expected: *expected,
                received: data.len() as u64,
            },
            None if self.header_have == 0 => FrameError::Eof,
            None => {
                let expected = if self.header_have >= 4 && self.header[..4] == [0xff; 4] {
                    LONG_HEADER_LEN
                } else {
                    HEADER_LEN
                };
                FrameError::Truncated {
                    expected: expected as u64,
                    received: self.header_have as u64,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_buffer_takes_bytes_read_directly() {
        let mut dec = FrameDecoder::new(Some(100));
        assert!(dec.payload_buffer().is_none());
        assert_eq!(dec.feed(&[0, 0, 0, 5, b'a']).unwrap(), (5, None));
        let (buf, lacking) = dec.payload_buffer().unwrap();
        assert_eq!(lacking, 4);
        buf.extend_from_slice(b"bc");
        assert_eq!(dec.take_message(), None);
        dec.payload_buffer().unwrap().0.extend_from_slice(b"de");
        assert_eq!(dec.take_message(), Some(b"abcde".to_vec()));
        assert!(dec.at_boundary());
        dec.set_max(Some(3));
        assert!(matches!(
            dec.feed(&[0, 0, 0, 5]),
            Err(FrameError::TooLong { length: 5, max: 3 })
        ));
    }

    #[test]
    fn a_payload_taken_over_and_given_back_completes() {
        let mut dec = FrameDecoder::new(None);
        assert_eq!(dec.feed(&[0, 0, 0, 4, b'a']).unwrap(), (5, None));
        let (so_far, expected) = dec.take_payload().unwrap();
        assert_eq!((so_far.as_slice(), expected), (&b"a"[..], 4));
        assert!(dec.at_boundary());
        dec.resume_payload(4, b"ab".to_vec());
        assert_eq!(dec.progress(), Some((2, 4)));
        assert_eq!(dec.feed(b"cdX").unwrap(), (2, Some(b"abcd".to_vec())));
    }

    #[test]
    fn reserve_is_bounded_then_doubles() {
        assert_eq!(next_reserve(10, 0), 10);
        assert_eq!(next_reserve(1 << 40, 0), INITIAL_RESERVE);
        assert_eq!(next_reserve(1 << 40, 4 << 20), 4 << 20);
    }
}
