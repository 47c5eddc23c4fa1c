//! [`Connection`]: one end of a link, Python's `multiprocessing.connection.Connection`.
//!
//! A thin blocking shell over [`crate::wire::frame`] and [`crate::wire::handshake`]: it
//! owns a socket (or another descriptor), a read buffer so that a small message costs one
//! `recv` system call, and a write buffer so that a small message leaves in one `send`.
use std::fmt;
#[cfg(all(unix, doc))]
use std::os::fd::AsRawFd;
#[cfg(unix)]
use std::os::fd::{IntoRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::pickle::{DecodeOptions, EncodeOptions};
use crate::transport::Stream;
use crate::wire::drive::{block_on_ready, drive, MessageIo};
use crate::wire::handshake::{Digest, Handshake};
use crate::wire::receive::{Event, ReadInto, Receiver};
use crate::wire::send::{Framing, Outgoing, Sender};
use crate::wire::Broken;
use crate::{Address, Error, Result, Value};

pub use crate::wire::receive::DEFAULT_MAX_MESSAGE_SIZE;

/// Size of the internal read buffer; whole frames up to this size are buffered before
/// they are consumed, so a read timeout never leaves such a frame half-read.
const READ_BUFFER: usize = 64 * 1024;

/// One end of a `multiprocessing.connection` link: Python's `Connection`.
///
/// `Drop` closes it. Methods take `&mut self`; use [`Connection::try_clone`] to send from one
/// thread while another receives.
///
/// After a failure inside a message (a timeout or an I/O error mid-frame, or a message
/// over the maximum size) the connection refuses further use with [`Error::Closed`]:
/// the position in the byte stream is lost. A read timeout before a message starts, or
/// while a message of at most 64 KiB is still arriving, leaves the connection usable.
///
/// The frames, the read buffer and the broken state live in the sans-IO
/// [`Receiver`] and [`Sender`] of [`crate::wire`]; this type only moves bytes.
pub struct Connection {
    stream: Stream,
    recv: Receiver,
    send: Sender,
    readable: bool,
    writable: bool,
    /// During a handshake: the time by which it must be complete (each read's timeout
    /// is set to what remains, so a peer dribbling bytes cannot stretch it).
    deadline: Option<Instant>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("stream", &self.stream)
            .field("buffered", &self.recv.has_buffered_data())
            .field("max_message_size", &self.recv.max_message_size())
            .field("broken", &self.recv.broken())
            .field("readable", &self.readable)
            .field("writable", &self.writable)
            .finish()
    }
}

impl Connection {
    pub(crate) fn new(stream: Stream) -> Connection {
        let send = Sender::new(stream.framing(), Broken::SendFailed);
        Connection {
            stream,
            recv: Receiver::new(READ_BUFFER),
            send,
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

    /// Lets a child process inherit this end's descriptor (`true`), or closes it on exec
    /// again (`false`, the default): Python's `os.set_inheritable(conn.fileno(), ...)`.
    ///
    /// This is how a Rust parent hands a [`crate::pipe()`] end to a Rust child it spawns
    /// with [`std::process::Command`]: make the end inheritable, pass its number
    /// ([`AsRawFd::as_raw_fd`]) on the command line, spawn, then drop the parent's copy.
    /// The child wraps the number with [`Connection::from_owned_fd`]. Any other child
    /// spawned while the end is inheritable inherits it too, so spawn right away (a
    /// Python child needs none of this: `subprocess.Popen(..., pass_fds=[fd])`).
    ///
    /// ```no_run
    /// use std::os::fd::AsRawFd;
    /// # fn main() -> mpconn::Result<()> {
    /// let (mut reader, writer) = mpconn::pipe(false)?;
    /// writer.set_inheritable(true)?;
    /// let mut child = std::process::Command::new("./worker")
    ///     .arg(writer.as_raw_fd().to_string())
    ///     .spawn()?;
    /// drop(writer); // the child holds the only write end now
    /// println!("{}", reader.recv()?);
    /// child.wait()?;
    /// # Ok(()) }
    /// ```
    ///
    /// and in `worker`:
    ///
    /// ```no_run
    /// use std::os::fd::{FromRawFd, OwnedFd};
    /// # fn main() -> mpconn::Result<()> {
    /// let fd: i32 = std::env::args().nth(1).unwrap().parse().unwrap();
    /// // SAFETY: the parent passed this descriptor to us and nothing else here owns it.
    /// let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    /// let mut conn = mpconn::Connection::from_owned_fd(fd)?;
    /// conn.send(&mpconn::Value::from("hello from the child"))?;
    /// # Ok(()) }
    /// ```
    #[cfg(unix)]
    pub fn set_inheritable(&self, inheritable: bool) -> Result<()> {
        Ok(self.stream.set_inheritable(inheritable)?)
    }

    /// The peer's address, when the socket has one (an unnamed AF_UNIX peer has none).
    pub fn peer_address(&self) -> Option<Address> {
        self.stream.peer()
    }

    /// This end's address, when the socket has one.
    pub fn local_address(&self) -> Option<Address> {
        self.stream.local()
    }

    /// A failure in either direction makes the whole connection refuse further use.
    fn usable(&self) -> Result<()> {
        self.recv.check()?;
        self.send.check()
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

    // ----- sending -----

    /// Sends `buf` as one message (Python's `send_bytes`; for `send_bytes(buf, offset, size)`
    /// pass the slice `&buf[offset..offset + size]`).
    ///
    /// Up to 16 KiB, header and payload leave in one write; larger payloads are written
    /// with the header in one vectored write, without copying them.
    pub fn send_bytes(&mut self, buf: &[u8]) -> Result<()> {
        self.check_writable()?;
        write_frame(&mut self.stream, self.send.frame(buf))
    }

    /// Sends a value pickled with protocol 4 (Python's `send`).
    pub fn send(&mut self, value: &Value) -> Result<()> {
        self.send_with(value, &EncodeOptions::default())
    }

    /// Sends a value pickled under `options` (e.g. protocol 5, what CPython 3.14+ sends).
    pub fn send_with(&mut self, value: &Value, options: &EncodeOptions) -> Result<()> {
        self.check_writable()?;
        if let Err(e) = crate::pickle::dumps_into(value, options, self.send.payload_buffer()) {
            self.send.release();
            return Err(e.into());
        }
        write_frame(&mut self.stream, self.send.framed_buffer())
    }

    /// Sends any serde-serializable value, pickled with [`crate::to_vec`] (what
    /// [`crate::to_value`] and [`Connection::send`] would send).
    pub fn send_obj<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let data = crate::pickle::to_vec(value)?;
        self.send_bytes(&data)
    }

    // ----- receiving -----

    /// Moves bytes until the receiver has the next message no longer than `max` (or,
    /// with `header_only`, the header of a large one).
    fn receive(&mut self, max: Option<usize>, header_only: bool) -> Result<Event> {
        self.check_readable()?;
        if self.stream.framing() == Framing::Message {
            let message = self.stream.recv_message(max, self.deadline);
            return self.recv.after_message(message).map(Event::Owned);
        }
        loop {
            match self.recv.next(max, header_only) {
                Ok(Event::Read) => self.fill()?,
                Ok(event) => return Ok(event),
                Err(e) => {
                    if let Error::MessageTooLong { .. } = e {
                        // As CPython: the payload is not read and the connection closes.
                        self.stream.shutdown();
                    }
                    return Err(e);
                }
            }
        }
    }

    /// One read into where the receiver wants it.
    fn fill(&mut self) -> Result<()> {
        if let Some(deadline) = self.deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Timeout("during the handshake".into()));
            }
            self.stream.set_read_timeout(Some(left))?;
        }
        let read = match self.recv.read_into() {
            ReadInto::Buffer(buf) => std::io::Read::read(&mut self.stream, buf),
            ReadInto::Payload { payload, lacking } => self.stream.read_into_spare(payload, lacking),
        };
        self.recv.after_read(read)
    }

    fn receive_vec(&mut self, max: Option<usize>) -> Result<Vec<u8>> {
        match self.receive(max, false)? {
            Event::Buffered(range) => Ok(self.recv.message(range).to_vec()),
            Event::Owned(message) => Ok(message),
            event => unreachable!("not asked for: {event:?}"),
        }
    }

    /// Receives one message, refusing one longer than the connection's maximum message size.
    pub fn recv_bytes(&mut self) -> Result<Vec<u8>> {
        self.receive_vec(self.recv.max_message_size())
    }

    /// Receives one message, refusing (and closing) when it announces more than `max` bytes
    /// (Python's `recv_bytes(maxlength)`). The connection's own maximum still applies: the
    /// smaller of the two is in force.
    pub fn recv_bytes_max(&mut self, max: usize) -> Result<Vec<u8>> {
        self.receive_vec(self.recv.limit(max))
    }

    /// Receives one message into `buf[offset..]`, returning its length; a message that does
    /// not fit gives [`crate::Error::BufferTooShort`] carrying the whole message. An
    /// `offset` past the end of `buf` gives [`Error::Value`] and reads nothing.
    pub fn recv_bytes_into(&mut self, buf: &mut [u8], offset: usize) -> Result<usize> {
        let dest = crate::wire::receive::dest_at(buf, offset)?;
        let max = self.recv.max_message_size();
        match self.receive(max, true)? {
            Event::Buffered(range) => {
                crate::wire::receive::copy_message(self.recv.message(range), dest)
            }
            Event::Owned(message) => crate::wire::receive::move_message(message, dest),
            Event::Header { length } if length > dest.len() as u64 => {
                Err(Error::BufferTooShort(self.receive_vec(max)?))
            }
            Event::Header { length } => {
                let mut fill = self.recv.fill_directly(&mut dest[..length as usize]);
                while !fill.is_done() {
                    let read = std::io::Read::read(&mut self.stream, fill.remaining());
                    fill.after_read(read)?;
                }
                Ok(fill.len())
            }
            Event::Read => unreachable!("receive() reads"),
        }
    }

    /// Receives one message and unpickles it (Python's `recv`).
    pub fn recv(&mut self) -> Result<Value> {
        self.recv_with(&DecodeOptions::default())
    }

    /// Receives one message and unpickles it under `options` (decoder limits).
    pub fn recv_with(&mut self, options: &DecodeOptions) -> Result<Value> {
        let event = self.receive(self.recv.max_message_size(), false)?;
        let data = match &event {
            Event::Buffered(range) => self.recv.message(range.clone()),
            Event::Owned(message) => message,
            event => unreachable!("not asked for: {event:?}"),
        };
        Ok(crate::pickle::loads_with(data, options)?)
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
        self.stream.poll(timeout)
    }

    /// True when bytes already read from the socket wait in the connection's buffer (a
    /// readiness check on the descriptor alone would miss them).
    pub fn has_buffered_data(&self) -> bool {
        self.recv.has_buffered_data()
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
        self.recv.set_max_message_size(max);
    }

    /// The largest message accepted.
    pub fn max_message_size(&self) -> Option<usize> {
        self.recv.max_message_size()
    }

    /// A second handle on the same socket (for sending from one thread while another
    /// receives). The clone has its own, empty, read buffer.
    pub fn try_clone(&self) -> Result<Connection> {
        let mut c = Connection::new(self.stream.try_clone()?);
        c.set_max_message_size(self.max_message_size());
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
    pub(crate) fn run_handshake(&mut self, handshake: Handshake) -> Result<()> {
        block_on_ready(drive(self, handshake))
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

/// The blocking shell's handshake I/O: each future does its work when first polled.
impl MessageIo for Connection {
    async fn send_message(&mut self, message: &[u8]) -> Result<()> {
        self.send_bytes(message)
    }

    async fn recv_message(&mut self, max: usize) -> Result<Vec<u8>> {
        self.recv_bytes_max(max)
    }

    fn fail_authentication(&mut self) {
        self.stream.shutdown();
        self.recv.break_with(Broken::AuthenticationFailed);
    }
}

/// Writes one frame: a message-mode stream takes it whole, a byte stream in as many
/// (vectored) writes as it needs.
fn write_frame(stream: &mut Stream, mut out: Outgoing<'_>) -> Result<()> {
    if stream.framing() == Framing::Message {
        let sent = stream.send_message(out.message());
        return out.after_message(sent);
    }
    while !out.is_done() {
        let written = std::io::Write::write_vectored(stream, &out.slices());
        out.after_write(written)?;
    }
    Ok(())
}

crate::transport::impl_fd!(Connection, |c| c.stream.as_fd());

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
