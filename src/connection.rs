//! [`Connection`]: one end of a link, Python's `multiprocessing.connection.Connection`.
//!
//! A thin blocking shell over [`crate::wire::frame`] and [`crate::wire::handshake`]: it
//! owns a socket (or another descriptor), a read buffer so that a small message costs one
//! `recv` system call, and a write buffer so that a small message leaves in one `send`.
use std::fmt;
use std::io::{self, IoSlice, Read, Write};
#[cfg(unix)]
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::pickle::{DecodeOptions, EncodeOptions};
#[cfg(unix)]
use crate::stream::poll_fds;
use crate::stream::Stream;
use crate::wire::frame::{
    self, check_length, encode_header, next_reserve, parse_header, HeaderStatus, LONG_HEADER_LEN,
};
use crate::wire::handshake::{Digest, Handshake, Step, MAX_HANDSHAKE_MESSAGE};
use crate::{Address, Error, Result, Value};

#[cfg(windows)]
mod pipe;

/// The default maximum message size (1 GiB) a connection accepts; see
/// [`Connection::set_max_message_size`].
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 1 << 30;

/// Size of the internal read buffer; whole frames up to this size are buffered before
/// they are consumed, so a read timeout never leaves such a frame half-read.
const READ_BUFFER: usize = 64 * 1024;
/// A write buffer that grew beyond this is released after use.
const KEEP_WRITE_BUFFER: usize = 1 << 20;

/// One end of a `multiprocessing.connection` link: Python's `Connection`.
///
/// `Drop` closes it. Methods take `&mut self`; use [`Connection::try_clone`] to send from one
/// thread while another receives.
///
/// After a failure inside a message (a timeout or an I/O error mid-frame, or a message
/// over the maximum size) the connection refuses further use with [`Error::Closed`]:
/// the position in the byte stream is lost. A read timeout before a message starts, or
/// while a message of at most 64 KiB is still arriving, leaves the connection usable.
pub struct Connection {
    stream: Stream,
    rbuf: Vec<u8>,
    rstart: usize,
    rend: usize,
    wbuf: Vec<u8>,
    max_message_size: Option<usize>,
    broken: Option<&'static str>,
    readable: bool,
    writable: bool,
    /// During a handshake: the time by which it must be complete (each read's timeout
    /// is set to what remains, so a peer dribbling bytes cannot stretch it).
    deadline: Option<Instant>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Connection");
        d.field("kind", &self.stream.kind());
        #[cfg(unix)]
        d.field("fd", &self.stream.as_raw_fd());
        d.field("buffered", &(self.rend - self.rstart))
            .field("max_message_size", &self.max_message_size)
            .field("broken", &self.broken)
            .field("readable", &self.readable)
            .field("writable", &self.writable)
            .finish()
    }
}

fn io_error(e: io::Error, what: &str) -> Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::Timeout(what.to_string()),
        _ => Error::Io(e),
    }
}

impl Connection {
    pub(crate) fn new(stream: Stream) -> Connection {
        Connection {
            stream,
            rbuf: Vec::new(),
            rstart: 0,
            rend: 0,
            wbuf: Vec::new(),
            max_message_size: Some(DEFAULT_MAX_MESSAGE_SIZE),
            broken: None,
            readable: true,
            writable: true,
            deadline: None,
        }
    }

    /// Wraps an inherited descriptor: a TCP or AF_UNIX socket, or an OS pipe end (Python's
    /// `Connection(fd)`). No handshake is run; see [`Connection::answer_challenge`].
    #[cfg(unix)]
    pub fn from_owned_fd(fd: OwnedFd) -> Result<Connection> {
        Ok(Connection::new(Stream::from_owned_fd(fd)?))
    }

    /// Wraps a connected TCP stream (sets `TCP_NODELAY`).
    pub fn from_tcp(stream: std::net::TcpStream) -> Connection {
        let _ = stream.set_nodelay(true);
        Connection::new(Stream::Tcp(stream))
    }

    /// Wraps a connected AF_UNIX stream.
    #[cfg(unix)]
    pub fn from_unix(stream: std::os::unix::net::UnixStream) -> Connection {
        Connection::new(Stream::Unix(stream))
    }

    /// Gives up the descriptor without closing it (Python's `detach`). Bytes already read
    /// into the connection's buffer and not yet returned are lost.
    #[cfg(unix)]
    pub fn into_owned_fd(self) -> OwnedFd {
        self.stream.into_owned_fd()
    }

    /// The peer's address, when the socket has one (an unnamed AF_UNIX peer has none).
    pub fn peer_address(&self) -> Option<Address> {
        self.stream.peer()
    }

    /// This end's address, when the socket has one.
    pub fn local_address(&self) -> Option<Address> {
        self.stream.local()
    }

    fn usable(&self) -> Result<()> {
        match self.broken {
            Some(why) => Err(Error::Closed(why)),
            None => Ok(()),
        }
    }

    fn check_writable(&self) -> Result<()> {
        self.usable()?;
        if !self.writable {
            return Err(Error::Closed("connection is read-only"));
        }
        Ok(())
    }

    fn check_readable(&self) -> Result<()> {
        self.usable()?;
        if !self.readable {
            return Err(Error::Closed("connection is write-only"));
        }
        Ok(())
    }

    /// Restricts the directions this end may be used in (one-way pipes).
    pub(crate) fn set_direction(&mut self, readable: bool, writable: bool) {
        self.readable = readable;
        self.writable = writable;
    }

    /// Whether this end can receive (false for the write end of a one-way pipe).
    pub fn readable(&self) -> bool {
        self.readable
    }

    /// Whether this end can send (false for the read end of a one-way pipe).
    pub fn writable(&self) -> bool {
        self.writable
    }

    fn break_with(&mut self, why: &'static str) {
        self.broken = Some(why);
        self.rstart = 0;
        self.rend = 0;
    }

    // ----- sending -----

    /// Sends `buf` as one message (Python's `send_bytes`; for `send_bytes(buf, offset, size)`
    /// pass the slice `&buf[offset..offset + size]`).
    ///
    /// Up to 16 KiB, header and payload leave in one write; larger payloads are written
    /// with the header in one vectored write, without copying them.
    pub fn send_bytes(&mut self, buf: &[u8]) -> Result<()> {
        self.check_writable()?;
        #[cfg(windows)]
        if self.is_message_pipe() {
            return self.pipe_send(buf);
        }
        let header = encode_header(buf.len() as u64);
        let result = if buf.len() <= frame::SMALL_MESSAGE {
            let mut out = std::mem::take(&mut self.wbuf);
            out.clear();
            out.extend_from_slice(header.as_bytes());
            out.extend_from_slice(buf);
            let r = write_all(&mut self.stream, &out);
            self.wbuf = out;
            r
        } else {
            write_all_vectored(&mut self.stream, header.as_bytes(), buf)
        };
        self.after_send(result)
    }

    fn after_send(&mut self, result: Result<()>) -> Result<()> {
        if self.wbuf.capacity() > KEEP_WRITE_BUFFER {
            self.wbuf = Vec::new();
        }
        if result.is_err() {
            self.break_with("a previous send failed mid-message");
        }
        result
    }

    /// Sends a value pickled with protocol 4 (Python's `send`).
    pub fn send(&mut self, value: &Value) -> Result<()> {
        self.send_with(value, &EncodeOptions::default())
    }

    /// Sends a value pickled under `options` (e.g. protocol 5, what CPython 3.14+ sends).
    pub fn send_with(&mut self, value: &Value, options: &EncodeOptions) -> Result<()> {
        self.check_writable()?;
        let mut out = std::mem::take(&mut self.wbuf);
        out.clear();
        // Room for the longest header; the pickle is written right after it.
        out.resize(LONG_HEADER_LEN, 0);
        if let Err(e) = crate::pickle::dumps_into(value, options, &mut out) {
            self.wbuf = out;
            return Err(e.into());
        }
        #[cfg(windows)]
        if self.is_message_pipe() {
            let result = self.pipe_send(&out[LONG_HEADER_LEN..]);
            self.wbuf = out;
            return result;
        }
        let length = (out.len() - LONG_HEADER_LEN) as u64;
        let header = encode_header(length);
        let start = LONG_HEADER_LEN - header.as_bytes().len();
        out[start..LONG_HEADER_LEN].copy_from_slice(header.as_bytes());
        let result = write_all(&mut self.stream, &out[start..]);
        self.wbuf = out;
        self.after_send(result)
    }

    /// Sends any serde-serializable value, pickled with [`crate::to_vec`] (what
    /// [`crate::to_value`] and [`Connection::send`] would send).
    pub fn send_obj<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let data = crate::pickle::to_vec(value)?;
        self.send_bytes(&data)
    }

    // ----- receiving -----

    /// Reads more bytes into the read buffer; returns how many arrived (0 at EOF).
    fn fill(&mut self) -> Result<usize> {
        if let Some(deadline) = self.deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Timeout("during the handshake".into()));
            }
            self.stream.set_read_timeout(Some(left))?;
        }
        if self.rbuf.is_empty() {
            self.rbuf = vec![0; READ_BUFFER];
        }
        if self.rstart == self.rend {
            self.rstart = 0;
            self.rend = 0;
        } else if self.rend == self.rbuf.len() {
            self.rbuf.copy_within(self.rstart..self.rend, 0);
            self.rend -= self.rstart;
            self.rstart = 0;
        }
        loop {
            match self.stream.read(&mut self.rbuf[self.rend..]) {
                Ok(n) => {
                    self.rend += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_error(e, "while receiving")),
            }
        }
    }

    /// Waits for a whole header in the buffer (not consumed); returns (length, header_len).
    fn read_header(&mut self, max: Option<usize>) -> Result<(u64, usize)> {
        self.check_readable()?;
        loop {
            match parse_header(&self.rbuf[self.rstart..self.rend]) {
                Ok(HeaderStatus::Complete { length, header_len }) => {
                    if let Err(e) = check_length(length, max) {
                        // As CPython: the payload is not read and the connection closes.
                        self.stream.shutdown();
                        self.break_with("closed after a message over the maximum size");
                        return Err(e);
                    }
                    return Ok((length, header_len));
                }
                Ok(HeaderStatus::Incomplete { needed }) => {
                    if self.fill()? == 0 {
                        let received = (self.rend - self.rstart) as u64;
                        if received == 0 {
                            return Err(Error::Eof);
                        }
                        self.break_with("the peer closed inside a message");
                        return Err(Error::Truncated {
                            expected: received + needed as u64,
                            received,
                        });
                    }
                }
                Err(e) => {
                    self.break_with("received an invalid frame header");
                    return Err(e);
                }
            }
        }
    }

    /// Reads the payload of the frame whose header is at `rstart`.
    fn read_payload(&mut self, length: u64, header_len: usize) -> Result<Vec<u8>> {
        let total = header_len as u64 + length;
        if total <= READ_BUFFER as u64 {
            // Small: wait until the whole frame is buffered, then consume it at once.
            let total = total as usize;
            while self.rend - self.rstart < total {
                if self.fill()? == 0 {
                    let received = (self.rend - self.rstart - header_len) as u64;
                    self.break_with("the peer closed inside a message");
                    return Err(Error::Truncated {
                        expected: length,
                        received,
                    });
                }
            }
            let out = self.rbuf[self.rstart + header_len..self.rstart + total].to_vec();
            self.rstart += total;
            return Ok(out);
        }
        // Large: consume the header, take what is buffered, read the rest directly
        // into a vector that grows with the bytes that actually arrive.
        self.rstart += header_len;
        let mut out = Vec::with_capacity(next_reserve(length, 0));
        let buffered = (self.rend - self.rstart).min(length as usize);
        out.extend_from_slice(&self.rbuf[self.rstart..self.rstart + buffered]);
        self.rstart += buffered;
        while (out.len() as u64) < length {
            let remaining = length - out.len() as u64;
            if out.capacity() == out.len() {
                out.reserve(next_reserve(length, out.len()));
            }
            let max = remaining.min(usize::MAX as u64) as usize;
            match self.stream.read_into_spare(&mut out, max) {
                Ok(0) => {
                    self.break_with("the peer closed inside a message");
                    return Err(Error::Truncated {
                        expected: length,
                        received: out.len() as u64,
                    });
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.break_with("a previous receive failed mid-message");
                    return Err(io_error(e, "while receiving"));
                }
            }
        }
        Ok(out)
    }

    /// Receives one message, refusing one longer than the connection's maximum message size.
    pub fn recv_bytes(&mut self) -> Result<Vec<u8>> {
        let max = self.max_message_size;
        #[cfg(windows)]
        if self.is_message_pipe() {
            return self.pipe_recv(max);
        }
        let (length, header_len) = self.read_header(max)?;
        self.read_payload(length, header_len)
    }

    /// Receives one message, refusing (and closing) when it announces more than `max` bytes
    /// (Python's `recv_bytes(maxlength)`). The connection's own maximum still applies: the
    /// smaller of the two is in force.
    pub fn recv_bytes_max(&mut self, max: usize) -> Result<Vec<u8>> {
        let max = Some(self.max_message_size.map_or(max, |m| m.min(max)));
        #[cfg(windows)]
        if self.is_message_pipe() {
            return self.pipe_recv(max);
        }
        let (length, header_len) = self.read_header(max)?;
        self.read_payload(length, header_len)
    }

    /// Receives one message into `buf[offset..]`, returning its length; a message that does
    /// not fit gives [`crate::Error::BufferTooShort`] carrying the whole message. An
    /// `offset` past the end of `buf` gives [`Error::Value`] and reads nothing.
    pub fn recv_bytes_into(&mut self, buf: &mut [u8], offset: usize) -> Result<usize> {
        if offset > buf.len() {
            return Err(Error::Value(format!(
                "offset {offset} is past the end of a {}-byte buffer",
                buf.len()
            )));
        }
        let max = self.max_message_size;
        #[cfg(windows)]
        if self.is_message_pipe() {
            return self.pipe_recv_into(max, &mut buf[offset..]);
        }
        let (length, header_len) = self.read_header(max)?;
        let room = (buf.len() - offset) as u64;
        if length > room {
            return Err(Error::BufferTooShort(
                self.read_payload(length, header_len)?,
            ));
        }
        let length = length as usize;
        let dest = &mut buf[offset..offset + length];
        self.rstart += header_len;
        let buffered = (self.rend - self.rstart).min(length);
        dest[..buffered].copy_from_slice(&self.rbuf[self.rstart..self.rstart + buffered]);
        self.rstart += buffered;
        let mut filled = buffered;
        while filled < length {
            match self.stream.read(&mut dest[filled..]) {
                Ok(0) => {
                    self.break_with("the peer closed inside a message");
                    return Err(Error::Truncated {
                        expected: length as u64,
                        received: filled as u64,
                    });
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.break_with("a previous receive failed mid-message");
                    return Err(io_error(e, "while receiving"));
                }
            }
        }
        Ok(length)
    }

    /// Receives one message and unpickles it (Python's `recv`).
    pub fn recv(&mut self) -> Result<Value> {
        let data = self.recv_bytes()?;
        Ok(crate::pickle::loads(&data)?)
    }

    /// Receives one message and unpickles it under `options` (decoder limits).
    pub fn recv_with(&mut self, options: &DecodeOptions) -> Result<Value> {
        let data = self.recv_bytes()?;
        Ok(crate::pickle::loads_with(&data, options)?)
    }

    /// Receives one message and deserializes it with [`crate::from_slice`] (the result
    /// of [`crate::from_value`] on [`Connection::recv`]'s value, without building it).
    pub fn recv_obj<T: DeserializeOwned>(&mut self) -> Result<T> {
        let data = self.recv_bytes()?;
        crate::pickle::from_slice(&data)
    }

    /// Whether a message (or EOF) is ready within `timeout` (`None` blocks, zero polls).
    pub fn poll(&mut self, timeout: Option<Duration>) -> Result<bool> {
        self.check_readable()?;
        if self.has_buffered_data() {
            return Ok(true);
        }
        #[cfg(windows)]
        return self.pipe_poll(timeout);
        #[cfg(unix)]
        let mut fds = [libc::pollfd {
            fd: self.stream.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        #[cfg(unix)]
        Ok(poll_fds(&mut fds, timeout)? > 0)
    }

    /// True when bytes already read from the socket wait in the connection's buffer (a
    /// readiness check on the descriptor alone would miss them).
    pub fn has_buffered_data(&self) -> bool {
        self.rend > self.rstart
    }

    // ----- options -----

    /// Sets the read timeout (`None`: block). An expired timeout gives [`Error::Timeout`].
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) -> Result<()> {
        Ok(self.stream.set_read_timeout(timeout)?)
    }

    /// Sets the write timeout (`None`: block). An expired timeout gives [`Error::Timeout`]
    /// and leaves the connection unusable (part of a message may have been written).
    pub fn set_write_timeout(&mut self, timeout: Option<Duration>) -> Result<()> {
        Ok(self.stream.set_write_timeout(timeout)?)
    }

    /// Sets the largest message [`Connection::recv_bytes`] accepts (`None`: no limit but
    /// memory). Default [`DEFAULT_MAX_MESSAGE_SIZE`].
    pub fn set_max_message_size(&mut self, max: Option<usize>) {
        self.max_message_size = max;
    }

    /// The largest message accepted.
    pub fn max_message_size(&self) -> Option<usize> {
        self.max_message_size
    }

    /// A second handle on the same socket (for sending from one thread while another
    /// receives). The clone has its own, empty, read buffer.
    pub fn try_clone(&self) -> Result<Connection> {
        let mut c = Connection::new(self.stream.try_clone()?);
        c.max_message_size = self.max_message_size;
        c.set_direction(self.readable, self.writable);
        Ok(c)
    }

    /// Closes the connection (dropping it does the same).
    pub fn close(self) -> Result<()> {
        drop(self);
        Ok(())
    }

    // ----- handshake -----

    /// Delivers a digest challenge and checks the answer (Python's
    /// `deliver_challenge(conn, authkey, digest_name)`): what a listener does first. A
    /// wrong answer sends `#FAILURE#` and gives [`Error::Authentication`].
    pub fn deliver_challenge(&mut self, authkey: &[u8], digest: Digest) -> Result<()> {
        self.run_handshake(Handshake::deliver(authkey, digest))
    }

    /// Answers a digest challenge (Python's `answer_challenge(conn, authkey)`): what a
    /// client does first. Rejection gives [`Error::Authentication`].
    pub fn answer_challenge(&mut self, authkey: &[u8]) -> Result<()> {
        self.run_handshake(Handshake::answer(authkey))
    }

    /// Moves the bytes of a [`Handshake`] until it is done. An authentication failure
    /// closes the connection.
    pub(crate) fn run_handshake(&mut self, mut handshake: Handshake) -> Result<()> {
        let mut received: Option<Vec<u8>> = None;
        loop {
            let step = handshake.step(received.take().as_deref());
            match step {
                Ok(Step::Send(message)) => self.send_bytes(&message)?,
                Ok(Step::Receive) => received = Some(self.recv_handshake()?),
                Ok(Step::Done) => return Ok(()),
                Ok(Step::Reject { reply, error }) => {
                    let _ = self.send_bytes(reply);
                    self.fail_authentication();
                    return Err(error);
                }
                Err(e) => {
                    if let Error::Authentication(_) = e {
                        self.fail_authentication();
                    }
                    return Err(e);
                }
            }
        }
    }

    fn fail_authentication(&mut self) {
        self.stream.shutdown();
        self.break_with("authentication failed");
    }

    fn recv_handshake(&mut self) -> Result<Vec<u8>> {
        match self.recv_bytes_max(MAX_HANDSHAKE_MESSAGE) {
            Err(Error::MessageTooLong { length, .. }) => Err(Error::Authentication(format!(
                "handshake message of {length} bytes, the maximum is {MAX_HANDSHAKE_MESSAGE}"
            ))),
            other => other,
        }
    }

    /// Runs `f` with both timeouts set to `timeout`, then restores the previous ones.
    pub(crate) fn with_timeouts<T>(
        &mut self,
        timeout: Option<Duration>,
        f: impl FnOnce(&mut Connection) -> Result<T>,
    ) -> Result<T> {
        let Some(t) = timeout else { return f(self) };
        let (r, w) = (self.stream.read_timeout()?, self.stream.write_timeout()?);
        self.stream.set_read_timeout(Some(t))?;
        self.stream.set_write_timeout(Some(t))?;
        self.deadline = Some(Instant::now() + t);
        let result = f(self).map_err(|e| match e {
            Error::Timeout(_) => Error::Timeout(format!("during the handshake (limit {t:?})")),
            e => e,
        });
        self.deadline = None;
        self.stream.set_read_timeout(r)?;
        self.stream.set_write_timeout(w)?;
        result
    }
}

fn write_all(stream: &mut Stream, mut buf: &[u8]) -> Result<()> {
    while !buf.is_empty() {
        match stream.write(buf) {
            Ok(0) => return Err(Error::Io(io::ErrorKind::WriteZero.into())),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(e, "while sending")),
        }
    }
    Ok(())
}

fn write_all_vectored(stream: &mut Stream, mut header: &[u8], mut payload: &[u8]) -> Result<()> {
    while !header.is_empty() {
        match stream.write_vectored(&[IoSlice::new(header), IoSlice::new(payload)]) {
            Ok(0) => return Err(Error::Io(io::ErrorKind::WriteZero.into())),
            Ok(n) if n < header.len() => header = &header[n..],
            Ok(n) => {
                payload = &payload[n - header.len()..];
                header = &[];
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(e, "while sending")),
        }
    }
    write_all(stream, payload)
}

#[cfg(unix)]
impl AsFd for Connection {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }
}

#[cfg(unix)]
impl AsRawFd for Connection {
    fn as_raw_fd(&self) -> RawFd {
        self.stream.as_raw_fd()
    }
}

#[cfg(unix)]
impl IntoRawFd for Connection {
    fn into_raw_fd(self) -> RawFd {
        self.into_owned_fd().into_raw_fd()
    }
}

#[cfg(unix)]
impl From<Connection> for OwnedFd {
    fn from(c: Connection) -> OwnedFd {
        c.into_owned_fd()
    }
}
