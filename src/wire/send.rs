//! [`Sender`]: the sending side of a connection, with no I/O.
//!
//! It places the frame header (CPython's rule: header and payload in one write up to
//! 16 KiB, else the header then the payload, never copied), keeps a reusable write
//! buffer, and records a send that stopped part-way. The shells write what an
//! [`Outgoing`] holds and report each write back to it.
//!
//! ```
//! use mpconn::wire::send::{Framing, Sender};
//! use mpconn::wire::Broken;
//! let mut send = Sender::new(Framing::LengthPrefixed, Broken::SendFailed);
//! let mut wire = Vec::new();
//! let mut out = send.frame(b"hi");
//! while !out.is_done() {
//!     let n = std::io::Write::write_vectored(&mut wire, &out.slices());
//!     out.after_write(n).unwrap();
//! }
//! assert_eq!(wire, [0, 0, 0, 2, b'h', b'i']);
//! ```
use std::io::{self, IoSlice};
use std::ops::Range;

use super::broken::Broken;
use super::frame::{encode_header, LONG_HEADER_LEN, SMALL_MESSAGE};
use super::receive::io_error;
use crate::{Error, Result};

/// A write buffer that grew beyond this is released after use.
const KEEP_WRITE_BUFFER: usize = 1 << 20;

/// How a stream delimits messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Framing {
    /// A byte stream (socket, OS pipe): each message is preceded by its length header.
    LengthPrefixed,
    /// A stream that keeps message boundaries itself (a Windows named pipe in message
    /// mode): one message is one write, with no header.
    Message,
}

/// The sending side of a connection: framing, write buffer and broken state.
#[derive(Debug)]
pub struct Sender {
    buf: Vec<u8>,
    framing: Framing,
    broken: Option<Broken>,
    partial: Broken,
}

impl Sender {
    /// A sender for a stream framed as `framing`; a send that stops after part of its
    /// frame left breaks it with `partial`.
    pub fn new(framing: Framing, partial: Broken) -> Sender {
        Sender {
            buf: Vec::new(),
            framing,
            broken: None,
            partial,
        }
    }

    /// How the stream delimits messages.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// [`Error::Closed`] once the sender is broken.
    pub fn check(&self) -> Result<()> {
        match self.broken {
            Some(why) => Err(Error::Closed(why.reason())),
            None => Ok(()),
        }
    }

    /// Refuses further use (`why` becomes the text of [`Error::Closed`]).
    pub fn break_with(&mut self, why: Broken) {
        self.broken = Some(why);
    }

    /// The frame for `payload`: up to 16 KiB copied behind its header into the write
    /// buffer (one write), else the header alone followed by `payload` itself.
    pub fn frame<'a>(&'a mut self, payload: &'a [u8]) -> Outgoing<'a> {
        self.buf.clear();
        let (head, tail) = match self.framing {
            Framing::Message => (0..0, payload),
            Framing::LengthPrefixed => {
                self.buf
                    .extend_from_slice(encode_header(payload.len() as u64).as_bytes());
                if payload.len() <= SMALL_MESSAGE {
                    self.buf.extend_from_slice(payload);
                    (0..self.buf.len(), &[][..])
                } else {
                    (0..self.buf.len(), payload)
                }
            }
        };
        self.outgoing(head, tail)
    }

    /// The write buffer, emptied, with room for the longest header in front: write a
    /// payload (a pickle) after it, then call [`Sender::framed_buffer`].
    pub fn payload_buffer(&mut self) -> &mut Vec<u8> {
        self.buf.clear();
        self.buf.resize(LONG_HEADER_LEN, 0);
        &mut self.buf
    }

    /// The frame for what was written into [`Sender::payload_buffer`], its header placed
    /// right in front of it (one write, no copy).
    pub fn framed_buffer(&mut self) -> Outgoing<'_> {
        let end = self.buf.len();
        let start = match self.framing {
            Framing::Message => LONG_HEADER_LEN,
            Framing::LengthPrefixed => {
                let header = encode_header((end - LONG_HEADER_LEN) as u64);
                let start = LONG_HEADER_LEN - header.as_bytes().len();
                self.buf[start..LONG_HEADER_LEN].copy_from_slice(header.as_bytes());
                start
            }
        };
        self.outgoing(start..end, &[])
    }

    /// Releases a write buffer that grew large (a payload that failed to encode).
    pub fn release(&mut self) {
        if self.buf.capacity() > KEEP_WRITE_BUFFER {
            self.buf = Vec::new();
        }
    }

    fn outgoing<'a>(&'a mut self, head: Range<usize>, tail: &'a [u8]) -> Outgoing<'a> {
        Outgoing {
            buf: &mut self.buf,
            head,
            tail,
            broken: &mut self.broken,
            partial: self.partial,
        }
    }
}

/// One frame on its way out: the part in the write buffer, then the caller's payload.
/// Write [`Outgoing::slices`] until [`Outgoing::is_done`], passing each write's result
/// to [`Outgoing::after_write`]. Dropped after part of it left (a cancelled async
/// send), the sender stays broken.
#[derive(Debug)]
#[must_use = "an outgoing frame does nothing until it is written"]
pub struct Outgoing<'a> {
    buf: &'a mut Vec<u8>,
    head: Range<usize>,
    tail: &'a [u8],
    broken: &'a mut Option<Broken>,
    partial: Broken,
}

impl Outgoing<'_> {
    /// True once every byte left.
    pub fn is_done(&self) -> bool {
        self.head.is_empty() && self.tail.is_empty()
    }

    /// What is left to write, in order.
    pub fn slices(&self) -> [IoSlice<'_>; 2] {
        [
            IoSlice::new(&self.buf[self.head.clone()]),
            IoSlice::new(self.tail),
        ]
    }

    /// The whole message, for a stream that writes one message at once
    /// ([`Framing::Message`]: there is no header, so it is one piece).
    pub fn message(&self) -> &[u8] {
        if self.head.is_empty() {
            self.tail
        } else {
            &self.buf[self.head.clone()]
        }
    }

    /// Takes the result of one (vectored) write of [`Outgoing::slices`]. The sender is
    /// broken from the first byte written until the last; an error breaks it for good.
    pub fn after_write(&mut self, result: io::Result<usize>) -> Result<()> {
        match result {
            Ok(0) => Err(self.fail(Error::Io(io::ErrorKind::WriteZero.into()))),
            Ok(mut n) => {
                let from_head = n.min(self.head.len());
                self.head.start += from_head;
                n -= from_head;
                self.tail = &self.tail[n.min(self.tail.len())..];
                *self.broken = (!self.is_done()).then_some(self.partial);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(self.fail(io_error(e, "while sending"))),
        }
    }

    /// Takes the result of writing [`Outgoing::message`] whole. An
    /// [`Error::Value`] means nothing was written (the sender stays usable); another
    /// error breaks it.
    pub fn after_message(&mut self, result: Result<()>) -> Result<()> {
        match result {
            Ok(()) => {
                self.head.start = self.head.end;
                self.tail = &[];
                Ok(())
            }
            Err(e @ Error::Value(_)) => Err(e),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn fail(&mut self, e: Error) -> Error {
        *self.broken = Some(self.partial);
        e
    }
}

impl Drop for Outgoing<'_> {
    fn drop(&mut self) {
        if self.buf.capacity() > KEEP_WRITE_BUFFER {
            *self.buf = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_frames_leave_in_one_piece_large_ones_after_their_header() {
        let mut send = Sender::new(Framing::LengthPrefixed, Broken::SendFailed);
        let out = send.frame(b"abc");
        assert_eq!(out.slices()[0].len(), 7);
        assert_eq!(out.slices()[1].len(), 0);
        drop(out);
        let big = vec![7u8; SMALL_MESSAGE + 1];
        let out = send.frame(&big);
        assert_eq!(&*out.slices()[0], &(big.len() as u32).to_be_bytes());
        assert_eq!(out.slices()[1].len(), big.len());
    }

    #[test]
    fn a_partial_write_breaks_until_the_frame_is_out() {
        let mut send = Sender::new(Framing::LengthPrefixed, Broken::SendInterrupted);
        let mut out = send.frame(b"abc");
        out.after_write(Ok(2)).unwrap();
        drop(out);
        assert!(matches!(send.check(), Err(Error::Closed(_))));
        let mut send = Sender::new(Framing::LengthPrefixed, Broken::SendInterrupted);
        let mut out = send.frame(b"abc");
        out.after_write(Ok(2)).unwrap();
        out.after_write(Ok(5)).unwrap();
        assert!(out.is_done());
        drop(out);
        send.check().unwrap();
    }

    #[test]
    fn the_header_goes_right_before_a_payload_written_in_place() {
        let mut send = Sender::new(Framing::LengthPrefixed, Broken::SendFailed);
        send.payload_buffer().extend_from_slice(b"xyz");
        let out = send.framed_buffer();
        assert_eq!(out.message(), [0, 0, 0, 3, b'x', b'y', b'z']);
        drop(out);
        let mut send = Sender::new(Framing::Message, Broken::SendFailed);
        send.payload_buffer().extend_from_slice(b"xyz");
        assert_eq!(send.framed_buffer().message(), b"xyz");
        assert_eq!(send.frame(b"ab").message(), b"ab");
    }
}
