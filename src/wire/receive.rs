//! [`Receiver`]: the receiving side of a connection, with no I/O.
//!
//! It owns the read buffer, cuts frames out of it (through [`super::frame`]), keeps a
//! partial frame between reads, checks the maximum size on every header before anything
//! is allocated for it, and records why the connection broke. The blocking
//! [`crate::Connection`] and the tokio shell only move bytes between a stream and it:
//!
//! ```
//! use mpconn::wire::receive::{Event, ReadInto, Receiver};
//! let mut recv = Receiver::new(1024);
//! let mut input: &[u8] = &[0, 0, 0, 2, b'h', b'i'];
//! let message = loop {
//!     match recv.next(None, false).unwrap() {
//!         Event::Buffered(range) => break recv.message(range).to_vec(),
//!         Event::Owned(message) => break message,
//!         Event::Header { .. } => unreachable!("only with header_only"),
//!         Event::Read => {
//!             let n = match recv.read_into() {
//!                 ReadInto::Buffer(buf) => std::io::Read::read(&mut input, buf),
//!                 ReadInto::Payload { .. } => unreachable!("small message"),
//!             };
//!             recv.after_read(n).unwrap();
//!         }
//!     }
//! };
//! assert_eq!(message, b"hi");
//! ```
use std::io;
use std::ops::Range;

use super::broken::Broken;
use super::frame::{check_length, parse_header, FrameDecoder, HeaderStatus};
use crate::{Error, Result};

/// The default maximum message size (1 GiB) a connection accepts; see
/// [`crate::Connection::set_max_message_size`].
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 1 << 30;

/// What [`Receiver::next`] found.
#[derive(Debug)]
#[must_use]
pub enum Event {
    /// A whole message, already consumed, at `range` of the read buffer: read it with
    /// [`Receiver::message`] before the next call to `next` or `read_into`.
    Buffered(Range<usize>),
    /// A whole message in a vector of its own.
    Owned(Vec<u8>),
    /// (Only when asked for with `header_only`.) A header announced a payload of `length`
    /// bytes too large to wait for in the read buffer; some of it may have arrived. Take
    /// it over with [`Receiver::fill_directly`] or keep calling `next`.
    Header {
        /// The announced payload length.
        length: u64,
    },
    /// More bytes are needed: read into [`Receiver::read_into`], then call
    /// [`Receiver::after_read`] with the read's result.
    Read,
}

/// Where the next read MUST go (see [`Receiver::read_into`]).
#[derive(Debug)]
pub enum ReadInto<'a> {
    /// Into this free part of the read buffer.
    Buffer(&'a mut [u8]),
    /// Into the spare capacity of the pending payload (reserved already), appending at
    /// most `lacking` bytes.
    Payload {
        /// The payload received so far.
        payload: &'a mut Vec<u8>,
        /// The most bytes the read may append.
        lacking: usize,
    },
}

/// The receiving side of a connection: read buffer, frame decoder, maximum message size
/// and broken state. Small frames (header and payload within the read buffer) wait in
/// the buffer until whole, so a read that fails or times out before then leaves the
/// connection usable; a larger payload is read straight into its own vector.
#[derive(Debug)]
pub struct Receiver {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    buffer_size: usize,
    decoder: FrameDecoder,
    max_message_size: Option<usize>,
    broken: Option<Broken>,
    into_buffer: bool,
}

/// The crate's error for a failed read or write: a timeout (`WouldBlock`, `TimedOut`)
/// becomes [`Error::Timeout`] saying `what` was going on, anything else [`Error::Io`].
pub fn io_error(e: io::Error, what: &str) -> Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::Timeout(what.to_string()),
        _ => Error::Io(e),
    }
}

impl Receiver {
    /// A receiver with a read buffer of `buffer_size` bytes (allocated on the first
    /// read) and the default maximum message size.
    ///
    /// # Panics
    /// When `buffer_size` is below 12 (the longest header must fit).
    pub fn new(buffer_size: usize) -> Receiver {
        assert!(buffer_size >= super::frame::LONG_HEADER_LEN);
        let max = Some(DEFAULT_MAX_MESSAGE_SIZE);
        Receiver {
            buf: Vec::new(),
            start: 0,
            end: 0,
            buffer_size,
            decoder: FrameDecoder::new(max),
            max_message_size: max,
            broken: None,
            into_buffer: true,
        }
    }

    /// The largest message accepted (`None`: no limit but memory).
    pub fn max_message_size(&self) -> Option<usize> {
        self.max_message_size
    }

    /// Sets the largest message accepted.
    pub fn set_max_message_size(&mut self, max: Option<usize>) {
        self.max_message_size = max;
    }

    /// The smaller of `max` and the maximum message size.
    pub fn limit(&self, max: usize) -> Option<usize> {
        Some(self.max_message_size.map_or(max, |m| m.min(max)))
    }

    /// [`Error::Closed`] once the receiver is broken.
    pub fn check(&self) -> Result<()> {
        match self.broken {
            Some(why) => Err(Error::Closed(why.reason())),
            None => Ok(()),
        }
    }

    /// Why the receiver refuses further use, if it does.
    pub fn broken(&self) -> Option<Broken> {
        self.broken
    }

    /// Refuses further use (`why` becomes the text of [`Error::Closed`]); drops what is
    /// buffered.
    pub fn break_with(&mut self, why: Broken) {
        self.broken = Some(why);
        self.start = 0;
        self.end = 0;
        self.decoder = FrameDecoder::new(self.max_message_size);
    }

    fn fail(&mut self, why: Broken, e: Error) -> Error {
        self.break_with(why);
        e
    }

    /// The next step towards a message no longer than `max`. With `header_only`, a
    /// payload that does not wait in the read buffer is announced as soon as its header
    /// is in ([`Event::Header`]).
    ///
    /// A header over `max` gives [`Error::MessageTooLong`] and breaks the receiver; the
    /// caller MUST then shut the stream down, as CPython closes without reading the
    /// payload. An impossible header gives an I/O error and breaks the receiver too.
    pub fn next(&mut self, max: Option<usize>, header_only: bool) -> Result<Event> {
        self.check()?;
        if let Some(message) = self.decoder.take_message() {
            return Ok(Event::Owned(message));
        }
        if self.decoder.at_boundary() {
            let buffered = &self.buf[self.start..self.end];
            let (length, header_len) = match parse_header(buffered) {
                Ok(HeaderStatus::Complete { length, header_len }) => (length, header_len),
                Ok(HeaderStatus::Incomplete { .. }) => return Ok(Event::Read),
                Err(e) => return Err(self.fail(Broken::InvalidHeader, e.into())),
            };
            if let Err(e) = check_length(length, max) {
                return Err(self.fail(Broken::MessageTooLong, e.into()));
            }
            let total = header_len as u64 + length;
            if total <= buffered.len() as u64 {
                let start = self.start + header_len;
                self.start += total as usize;
                return Ok(Event::Buffered(start..self.start));
            }
            if total <= self.buffer_size as u64 {
                return Ok(Event::Read);
            }
            // Too large to wait for in the buffer: the decoder takes the header and
            // what is buffered of the payload.
            self.decoder.set_max(max);
            if header_only {
                // Only the header: the buffered payload bytes go straight to the
                // caller's buffer in `fill_directly`, with no vector of their own.
                let header = self.start..self.start + header_len;
                let fed = self.decoder.feed(&self.buf[header]);
                debug_assert!(matches!(fed, Ok((n, None)) if n == header_len));
                self.start += header_len;
                return Ok(Event::Header { length });
            }
        }
        if self.end > self.start {
            let fed = self.decoder.feed(&self.buf[self.start..self.end]);
            let (used, message) = match fed {
                Ok(r) => r,
                Err(e) => return Err(self.fail(Broken::InvalidHeader, e.into())),
            };
            self.start += used;
            if let Some(message) = message {
                return Ok(Event::Owned(message));
            }
        }
        match self.decoder.progress() {
            Some((_, length)) if header_only => Ok(Event::Header { length }),
            _ => Ok(Event::Read),
        }
    }

    /// The bytes of a message [`Event::Buffered`] pointed at.
    pub fn message(&self, range: Range<usize>) -> &[u8] {
        &self.buf[range]
    }

    /// Where the next read goes, after [`Event::Read`].
    pub fn read_into(&mut self) -> ReadInto<'_> {
        let direct = matches!(self.decoder.progress(),
            Some((have, expected)) if expected - have >= self.buffer_size as u64);
        if direct {
            if let Some((payload, lacking)) = self.decoder.payload_buffer() {
                self.into_buffer = false;
                let lacking = lacking.min(usize::MAX as u64) as usize;
                return ReadInto::Payload { payload, lacking };
            }
        }
        self.into_buffer = true;
        if self.buf.is_empty() {
            self.buf = vec![0; self.buffer_size];
        }
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        ReadInto::Buffer(&mut self.buf[self.end..])
    }

    /// Takes the result of the read [`Receiver::read_into`] asked for: bytes read, EOF
    /// ([`Error::Eof`] at a message boundary, else [`Error::Truncated`], which breaks the
    /// receiver) or an error (breaking the receiver when part of a message is in).
    pub fn after_read(&mut self, result: io::Result<usize>) -> Result<()> {
        match result {
            Ok(0) => Err(self.eof()),
            Ok(n) => {
                if self.into_buffer {
                    self.end += n;
                }
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e) => {
                if !self.decoder.at_boundary() {
                    self.break_with(Broken::RecvFailed);
                }
                Err(io_error(e, "while receiving"))
            }
        }
    }

    /// The error for EOF now: [`Error::Eof`] at a message boundary, else
    /// [`Error::Truncated`] (and the receiver breaks).
    pub fn eof(&mut self) -> Error {
        let buffered = (self.end - self.start) as u64;
        let e = if !self.decoder.at_boundary() {
            self.decoder.eof_error().into()
        } else if buffered == 0 {
            Error::Eof
        } else {
            match parse_header(&self.buf[self.start..self.end]) {
                Ok(HeaderStatus::Complete { length, header_len }) => Error::Truncated {
                    expected: length,
                    received: buffered - header_len as u64,
                },
                Ok(HeaderStatus::Incomplete { needed }) => Error::Truncated {
                    expected: buffered + needed as u64,
                    received: buffered,
                },
                Err(e) => e.into(),
            }
        };
        if !matches!(e, Error::Eof) {
            self.break_with(Broken::PeerClosedMidMessage);
        }
        e
    }

    /// Takes the result of receiving a whole message from a stream that keeps message
    /// boundaries itself (a message-mode pipe): a message over the maximum breaks the
    /// receiver (its rest was not read), as does a failure inside a message; EOF and a
    /// timeout before the message started leave it usable.
    pub fn after_message(&mut self, result: Result<Vec<u8>>) -> Result<Vec<u8>> {
        match &result {
            Ok(_) | Err(Error::Eof) | Err(Error::Timeout(_)) => {}
            Err(Error::MessageTooLong { .. }) => self.break_with(Broken::MessageTooLong),
            Err(_) => self.break_with(Broken::RecvFailed),
        }
        result
    }

    /// True when bytes of a next message (or of a partly received one) wait here.
    pub fn has_buffered_data(&self) -> bool {
        self.end > self.start || !self.decoder.at_boundary()
    }

    /// While a message is partly received: how many payload bytes are in and how many
    /// its header announced. `None` at a boundary, inside a header, or when a whole
    /// message waits.
    pub fn partial_message(&self) -> Option<(u64, u64)> {
        if let Some((have, length)) = self.decoder.progress() {
            let buffered = ((self.end - self.start) as u64).min(length - have);
            return Some((have + buffered, length));
        }
        match parse_header(&self.buf[self.start..self.end]) {
            Ok(HeaderStatus::Complete { length, header_len }) => {
                let have = (self.end - self.start - header_len) as u64;
                (have < length).then_some((have, length))
            }
            _ => None,
        }
    }

    /// After [`Event::Header`]: takes the pending payload over, to be read straight
    /// into `dest`, which MUST be exactly as long as the payload. If the
    /// [`DirectFill`] is dropped before the payload is complete (a cancelled read), the
    /// bytes read so far go back to the receiver, so nothing is lost.
    ///
    /// # Panics
    /// When no payload is pending or `dest` has the wrong length (caller bugs).
    pub fn fill_directly<'a>(&'a mut self, dest: &'a mut [u8]) -> DirectFill<'a> {
        let (so_far, expected) = self.decoder.take_payload().expect("a payload is pending");
        assert_eq!(
            dest.len() as u64,
            expected,
            "dest must fit the payload exactly"
        );
        dest[..so_far.len()].copy_from_slice(&so_far);
        let mut filled = so_far.len();
        // Payload bytes still in the read buffer come next.
        let buffered = (self.end - self.start).min(dest.len() - filled);
        dest[filled..filled + buffered]
            .copy_from_slice(&self.buf[self.start..self.start + buffered]);
        self.start += buffered;
        filled += buffered;
        DirectFill {
            filled,
            done: filled == dest.len(),
            recv: self,
            dest,
        }
    }
}

/// Copies a received message into `dest`, or gives [`Error::BufferTooShort`] carrying it.
pub fn copy_message(message: &[u8], dest: &mut [u8]) -> Result<usize> {
    if message.len() > dest.len() {
        return Err(Error::BufferTooShort(message.to_vec()));
    }
    dest[..message.len()].copy_from_slice(message);
    Ok(message.len())
}

/// Moves a received message into `dest`, or gives [`Error::BufferTooShort`] carrying it.
pub fn move_message(message: Vec<u8>, dest: &mut [u8]) -> Result<usize> {
    if message.len() > dest.len() {
        return Err(Error::BufferTooShort(message));
    }
    dest[..message.len()].copy_from_slice(&message);
    Ok(message.len())
}

/// `buf[offset..]`, or [`Error::Value`] for an `offset` past the end of `buf` (Python's
/// `recv_bytes_into(buf, offset)` checks the same before reading).
pub fn dest_at(buf: &mut [u8], offset: usize) -> Result<&mut [u8]> {
    let len = buf.len();
    buf.get_mut(offset..).ok_or_else(|| {
        Error::Value(format!(
            "offset {offset} is past the end of a {len}-byte buffer"
        ))
    })
}

/// A payload being read straight into a caller's buffer (see
/// [`Receiver::fill_directly`]).
#[derive(Debug)]
pub struct DirectFill<'a> {
    recv: &'a mut Receiver,
    dest: &'a mut [u8],
    filled: usize,
    done: bool,
}

impl DirectFill<'_> {
    /// True once the whole payload is in `dest` (or the fill failed).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The part of `dest` the next read goes into.
    pub fn remaining(&mut self) -> &mut [u8] {
        &mut self.dest[self.filled..]
    }

    /// The payload's length.
    pub fn len(&self) -> usize {
        self.dest.len()
    }

    /// True for an empty payload.
    pub fn is_empty(&self) -> bool {
        self.dest.is_empty()
    }

    /// Takes the result of a read into [`DirectFill::remaining`]; EOF or an error breaks
    /// the receiver (the message is lost).
    pub fn after_read(&mut self, result: io::Result<usize>) -> Result<()> {
        let (why, e) = match result {
            Ok(0) => (
                Broken::PeerClosedMidMessage,
                Error::Truncated {
                    expected: self.dest.len() as u64,
                    received: self.filled as u64,
                },
            ),
            Ok(n) => {
                self.filled += n;
                self.done = self.filled == self.dest.len();
                return Ok(());
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => (Broken::RecvFailed, io_error(e, "while receiving")),
        };
        self.done = true;
        self.recv.break_with(why);
        Err(e)
    }
}

impl Drop for DirectFill<'_> {
    fn drop(&mut self) {
        if !self.done {
            let received = self.dest[..self.filled].to_vec();
            self.recv
                .decoder
                .resume_payload(self.dest.len() as u64, received);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `step` bytes; returns the messages and the final error.
    fn run(recv: &mut Receiver, mut input: &[u8], step: usize) -> (Vec<Vec<u8>>, Error) {
        let mut out = Vec::new();
        loop {
            let event = match recv.next(None, false) {
                Ok(e) => e,
                Err(e) => return (out, e),
            };
            match event {
                Event::Buffered(r) => out.push(recv.message(r).to_vec()),
                Event::Owned(m) => out.push(m),
                Event::Header { .. } => unreachable!(),
                Event::Read => {
                    let take = step.min(input.len());
                    let n = match recv.read_into() {
                        ReadInto::Buffer(b) => {
                            let take = take.min(b.len());
                            b[..take].copy_from_slice(&input[..take]);
                            take
                        }
                        ReadInto::Payload { payload, lacking } => {
                            let take = take.min(lacking);
                            payload.extend_from_slice(&input[..take]);
                            take
                        }
                    };
                    input = &input[n..];
                    if let Err(e) = recv.after_read(Ok(n)) {
                        return (out, e);
                    }
                }
            }
        }
    }

    #[test]
    fn messages_of_every_size_arrive_whole_in_any_pieces() {
        let sizes = [0usize, 1, 5, 12, 20, 50, 200];
        let mut input = Vec::new();
        for &s in &sizes {
            input.extend_from_slice(&(s as u32).to_be_bytes());
            input.extend((0..s).map(|i| i as u8));
        }
        for step in [1, 3, 7, 64, 1000] {
            let mut recv = Receiver::new(16);
            let (messages, e) = run(&mut recv, &input, step);
            assert!(matches!(e, Error::Eof), "{e:?}");
            let lens: Vec<usize> = messages.iter().map(Vec::len).collect();
            assert_eq!(lens, sizes, "step {step}");
        }
    }

    #[test]
    fn eof_inside_a_frame_is_truncated_and_breaks() {
        for (input, expected, received) in [
            (&[0u8, 0][..], 4, 2),
            (&[0xff, 0xff, 0xff, 0xff, 0][..], 12, 5),
            (&[0, 0, 0, 5, b'a'][..], 5, 1),
            (&[0, 0, 0, 40, b'a', b'b'][..], 40, 2),
        ] {
            let mut recv = Receiver::new(16);
            let (_, e) = run(&mut recv, input, 100);
            assert!(
                matches!(e, Error::Truncated { expected: x, received: r } if x == expected && r == received),
                "{input:?}: {e:?}"
            );
            assert!(matches!(recv.next(None, false), Err(Error::Closed(_))));
        }
    }

    #[test]
    fn a_payload_taken_over_and_dropped_half_way_is_kept() {
        let mut recv = Receiver::new(16);
        let mut input = vec![0, 0, 0, 40];
        input.extend(0..40u8);
        if let ReadInto::Buffer(b) = recv.read_into() {
            b[..10].copy_from_slice(&input[..10]);
        }
        recv.after_read(Ok(10)).unwrap();
        assert!(matches!(
            recv.next(None, true),
            Ok(Event::Header { length: 40 })
        ));
        let mut dest = [0u8; 40];
        {
            let mut fill = recv.fill_directly(&mut dest);
            fill.remaining()[..4].copy_from_slice(&input[10..14]);
            fill.after_read(Ok(4)).unwrap();
        }
        assert_eq!(recv.partial_message(), Some((10, 40)));
        let (messages, _) = run(&mut recv, &input[14..], 100);
        assert_eq!(messages, vec![input[4..].to_vec()]);
    }
}
