//! [`AsyncConnection`] and its halves [`AsyncRecvHalf`] / [`AsyncSendHalf`].
use std::fmt;
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use ::tokio::io::{AsyncReadExt, AsyncWriteExt};
use ::tokio::net::{TcpStream, UnixStream};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::stream::{self, ReadStream, WriteStream};
use crate::pickle::{DecodeOptions, EncodeOptions};
use crate::wire::frame::{
    self, check_length, encode_header, parse_header, FrameDecoder, HeaderStatus, LONG_HEADER_LEN,
};
use crate::wire::handshake::{Digest, Handshake, Step, MAX_HANDSHAKE_MESSAGE};
use crate::{Address, Error, Result, Value, DEFAULT_MAX_MESSAGE_SIZE};

/// Size of a connection's read buffer. Bytes of several small messages arriving together
/// are read at once; a payload with at least this much still to come is read straight
/// into its own vector.
const READ_BUFFER: usize = 16 * 1024;
/// A write buffer that grew beyond this is released after use.
const KEEP_WRITE_BUFFER: usize = 1 << 20;
/// Why a send half refuses further use after a partial write.
const MID_SEND: &str = "a previous send failed or was cancelled mid-message";

/// Where a received message is: in the read buffer, or in a vector of its own; or, when
/// asked for, only its header has been read and the payload is pending in the decoder.
enum Got {
    Range(usize, usize),
    Owned(Vec<u8>),
    Pending,
}

/// A payload being read straight into a caller's buffer. If the receive is dropped
/// before the payload is complete, the bytes read so far go back to the decoder, so
/// cancelling loses nothing.
struct DirectFill<'a> {
    decoder: &'a mut FrameDecoder,
    dest: &'a mut [u8],
    filled: usize,
    done: bool,
}

impl Drop for DirectFill<'_> {
    fn drop(&mut self) {
        if !self.done {
            let received = self.dest[..self.filled].to_vec();
            self.decoder
                .resume_payload(self.dest.len() as u64, received);
        }
    }
}

/// The receiving half of an [`AsyncConnection`] (see [`AsyncConnection::into_split`]).
///
/// Every receive method is **cancel-safe**: the partial frame (header bytes, payload
/// received so far) is kept inside the half, never in the future, so dropping a pending
/// receive (a `tokio::time::timeout` that expired, a `select!` branch that lost) loses
/// nothing, and the next receive returns the whole message.
pub struct AsyncRecvHalf {
    stream: ReadStream,
    rbuf: Vec<u8>,
    rstart: usize,
    rend: usize,
    decoder: FrameDecoder,
    max_message_size: Option<usize>,
    broken: Option<&'static str>,
}

/// The sending half of an [`AsyncConnection`] (see [`AsyncConnection::into_split`]).
///
/// Send methods are **not** cancel-safe: a send dropped after part of its frame was
/// written leaves the byte stream mid-message, and the half then refuses further use
/// with [`Error::Closed`]. A send dropped before any byte left sends nothing and leaves
/// the half usable. Dropping the half shuts the socket down for writing (the peer sees
/// EOF) even while the receiving half lives on.
pub struct AsyncSendHalf {
    stream: WriteStream,
    wbuf: Vec<u8>,
    broken: Option<&'static str>,
}

/// One end of a `multiprocessing.connection` link, driven by tokio: the async twin of
/// [`crate::Connection`], with the same frames, handshake and pickle code underneath.
///
/// Methods take `&mut self`. To receive in one task while another sends, split it with
/// [`AsyncConnection::into_split`]; to do both in one task, borrow both halves with
/// [`AsyncConnection::split`].
///
/// | method | cancel-safe? |
/// |---|---|
/// | [`recv_bytes`](AsyncConnection::recv_bytes), [`recv_bytes_max`](AsyncConnection::recv_bytes_max), [`recv_bytes_into`](AsyncConnection::recv_bytes_into) | yes: the partial frame stays in the connection |
/// | [`recv`](AsyncConnection::recv), [`recv_with`](AsyncConnection::recv_with), [`recv_obj`](AsyncConnection::recv_obj) | yes (a receive, then pure decoding) |
/// | [`send_bytes`](AsyncConnection::send_bytes), [`send`](AsyncConnection::send), [`send_with`](AsyncConnection::send_with), [`send_obj`](AsyncConnection::send_obj) | no: cancelled mid-frame, sending refuses further use |
/// | [`deliver_challenge`](AsyncConnection::deliver_challenge), [`answer_challenge`](AsyncConnection::answer_challenge) | no: drop the connection |
pub struct AsyncConnection {
    recv: AsyncRecvHalf,
    send: AsyncSendHalf,
}

impl fmt::Debug for AsyncRecvHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncRecvHalf")
            .field("kind", &self.stream.kind())
            .field("fd", &self.stream.raw_fd())
            .field("buffered", &(self.rend - self.rstart))
            .field("mid_message", &!self.decoder.at_boundary())
            .field("max_message_size", &self.max_message_size)
            .field("broken", &self.broken)
            .finish()
    }
}

impl fmt::Debug for AsyncSendHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncSendHalf")
            .field("fd", &self.as_raw_fd())
            .field("broken", &self.broken)
            .finish()
    }
}

impl fmt::Debug for AsyncConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncConnection")
            .field("recv", &self.recv)
            .field("send", &self.send)
            .finish()
    }
}

fn io_error(e: io::Error, what: &str) -> Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::Timeout(what.to_string()),
        _ => Error::Io(e),
    }
}

// ----- receiving -----

impl AsyncRecvHalf {
    fn new(stream: ReadStream) -> AsyncRecvHalf {
        AsyncRecvHalf {
            stream,
            rbuf: Vec::new(),
            rstart: 0,
            rend: 0,
            decoder: FrameDecoder::new(Some(DEFAULT_MAX_MESSAGE_SIZE)),
            max_message_size: Some(DEFAULT_MAX_MESSAGE_SIZE),
            broken: None,
        }
    }

    fn break_with(&mut self, why: &'static str) {
        self.broken = Some(why);
        self.rstart = 0;
        self.rend = 0;
    }

    /// A header announced too much: as CPython, close without reading the payload.
    fn refuse(&mut self, e: Error) -> Error {
        stream::shutdown(self.stream.as_fd());
        self.break_with("closed after a message over the maximum size");
        e
    }

    /// Receives the next whole message, wherever it ends up; with `header_only`, returns
    /// [`Got::Pending`] as soon as a header is in and its payload not yet. Cancel-safe:
    /// every byte read is in `rbuf` or in the decoder before the next await.
    async fn next_message(&mut self, max: Option<usize>, header_only: bool) -> Result<Got> {
        if let Some(why) = self.broken {
            return Err(Error::Closed(why));
        }
        loop {
            if let Some(message) = self.decoder.take_message() {
                return Ok(Got::Owned(message));
            }
            if self.rend > self.rstart {
                let buffered = &self.rbuf[self.rstart..self.rend];
                if self.decoder.at_boundary() {
                    // A whole frame already buffered is handed out without a copy.
                    match parse_header(buffered) {
                        Ok(HeaderStatus::Complete { length, header_len }) => {
                            if let Err(e) = check_length(length, max) {
                                return Err(self.refuse(e));
                            }
                            if header_len as u64 + length <= buffered.len() as u64 {
                                let start = self.rstart + header_len;
                                let end = start + length as usize;
                                self.rstart = end;
                                return Ok(Got::Range(start, end));
                            }
                        }
                        Ok(HeaderStatus::Incomplete { .. }) => {}
                        Err(e) => {
                            self.break_with("received an invalid frame header");
                            return Err(e);
                        }
                    }
                }
                self.decoder.set_max(max);
                match self.decoder.feed(&self.rbuf[self.rstart..self.rend]) {
                    Ok((used, message)) => {
                        self.rstart += used;
                        if let Some(message) = message {
                            return Ok(Got::Owned(message));
                        }
                    }
                    Err(e @ Error::MessageTooLong { .. }) => return Err(self.refuse(e)),
                    Err(e) => {
                        self.break_with("received an invalid frame header");
                        return Err(e);
                    }
                }
                debug_assert_eq!(self.rstart, self.rend, "feed uses all it is given");
            }
            self.rstart = 0;
            self.rend = 0;
            if header_only && self.decoder.progress().is_some() {
                return Ok(Got::Pending);
            }
            let read = match self.decoder.payload_buffer() {
                Some((payload, lacking)) if lacking >= READ_BUFFER as u64 => {
                    (&mut self.stream).take(lacking).read_buf(payload).await
                }
                _ => {
                    if self.rbuf.is_empty() {
                        self.rbuf = vec![0; READ_BUFFER];
                    }
                    let r = self.stream.read(&mut self.rbuf).await;
                    if let Ok(n) = r {
                        self.rend = n;
                    }
                    r
                }
            };
            match read {
                Ok(0) => {
                    let e = self.decoder.eof_error();
                    if !matches!(e, Error::Eof) {
                        self.break_with("the peer closed inside a message");
                    }
                    return Err(e);
                }
                Ok(_) => {
                    if let Some(message) = self.decoder.take_message() {
                        return Ok(Got::Owned(message));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if !self.decoder.at_boundary() {
                        self.break_with("a previous receive failed mid-message");
                    }
                    return Err(io_error(e, "while receiving"));
                }
            }
        }
    }

    /// Receives the next whole message into a vector.
    async fn next_vec(&mut self, max: Option<usize>) -> Result<Vec<u8>> {
        match self.next_message(max, false).await? {
            Got::Range(start, end) => Ok(self.rbuf[start..end].to_vec()),
            Got::Owned(v) => Ok(v),
            Got::Pending => unreachable!("not asked for"),
        }
    }

    /// Receives one message, refusing (and closing on) one longer than the maximum
    /// message size. Cancel-safe.
    pub async fn recv_bytes(&mut self) -> Result<Vec<u8>> {
        self.next_vec(self.max_message_size).await
    }

    /// Receives one message, refusing (and closing) when it announces more than `max`
    /// bytes (Python's `recv_bytes(maxlength)`); the smaller of `max` and the maximum
    /// message size is in force. Cancel-safe; when a cancelled receive had already read a
    /// header, the limit it was checked against stays in force for that message.
    pub async fn recv_bytes_max(&mut self, max: usize) -> Result<Vec<u8>> {
        let max = Some(self.max_message_size.map_or(max, |m| m.min(max)));
        self.next_vec(max).await
    }

    /// Receives one message into `buf[offset..]`, returning its length; one that does not
    /// fit gives [`Error::BufferTooShort`] carrying the whole message. An `offset` past
    /// the end of `buf` gives [`Error::Value`] and reads nothing.
    ///
    /// Cancel-safe: a large payload is read straight into `buf`, and if the receive is
    /// dropped midway, the bytes it read are copied back into the connection, so the
    /// next receive returns the whole message (`buf` may then hold part of it).
    pub async fn recv_bytes_into(&mut self, buf: &mut [u8], offset: usize) -> Result<usize> {
        if offset > buf.len() {
            return Err(Error::Value(format!(
                "offset {offset} is past the end of a {}-byte buffer",
                buf.len()
            )));
        }
        let max = self.max_message_size;
        let room = buf.len() - offset;
        let message: &[u8] = match self.next_message(max, true).await? {
            Got::Range(start, end) => &self.rbuf[start..end],
            Got::Owned(v) if v.len() > room => return Err(Error::BufferTooShort(v)),
            Got::Owned(v) => {
                buf[offset..offset + v.len()].copy_from_slice(&v);
                return Ok(v.len());
            }
            Got::Pending => {
                let (_, expected) = self.decoder.progress().expect("a payload is pending");
                if expected > room as u64 {
                    return Err(Error::BufferTooShort(self.next_vec(max).await?));
                }
                return self
                    .fill_directly(&mut buf[offset..offset + expected as usize])
                    .await;
            }
        };
        if message.len() > room {
            return Err(Error::BufferTooShort(message.to_vec()));
        }
        buf[offset..offset + message.len()].copy_from_slice(message);
        Ok(message.len())
    }

    /// Reads the pending payload straight into `dest` (exactly its length).
    async fn fill_directly(&mut self, dest: &mut [u8]) -> Result<usize> {
        let (so_far, _) = self.decoder.take_payload().expect("a payload is pending");
        dest[..so_far.len()].copy_from_slice(&so_far);
        let length = dest.len();
        let mut fill = DirectFill {
            decoder: &mut self.decoder,
            dest,
            filled: so_far.len(),
            done: false,
        };
        let failure = loop {
            if fill.filled == length {
                fill.done = true;
                return Ok(length);
            }
            match self.stream.read(&mut fill.dest[fill.filled..]).await {
                Ok(0) => {
                    break Error::Truncated {
                        expected: length as u64,
                        received: fill.filled as u64,
                    }
                }
                Ok(n) => fill.filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break io_error(e, "while receiving"),
            }
        };
        fill.done = true;
        drop(fill);
        self.break_with(match failure {
            Error::Truncated { .. } => "the peer closed inside a message",
            _ => "a previous receive failed mid-message",
        });
        Err(failure)
    }

    /// Receives one message and unpickles it (Python's `recv`). Cancel-safe.
    pub async fn recv(&mut self) -> Result<Value> {
        self.recv_with(&DecodeOptions::default()).await
    }

    /// Receives one message and unpickles it under `options` (decoder limits).
    /// Cancel-safe.
    pub async fn recv_with(&mut self, options: &DecodeOptions) -> Result<Value> {
        let got = self.next_message(self.max_message_size, false).await?;
        let data = match &got {
            Got::Range(start, end) => &self.rbuf[*start..*end],
            Got::Owned(v) => v.as_slice(),
            Got::Pending => unreachable!("not asked for"),
        };
        Ok(crate::pickle::loads_with(data, options)?)
    }

    /// Receives one message and deserializes it with [`crate::from_slice`] (what
    /// [`crate::from_value`] gives on `recv`'s value). Cancel-safe.
    pub async fn recv_obj<T: DeserializeOwned>(&mut self) -> Result<T> {
        let got = self.next_message(self.max_message_size, false).await?;
        let data = match &got {
            Got::Range(start, end) => &self.rbuf[*start..*end],
            Got::Owned(v) => v.as_slice(),
            Got::Pending => unreachable!("not asked for"),
        };
        crate::pickle::from_slice(data)
    }

    /// True when bytes already read from the socket wait in this half (of a next message,
    /// or of a message a cancelled receive left half-received).
    pub fn has_buffered_data(&self) -> bool {
        self.rend > self.rstart || !self.decoder.at_boundary()
    }

    /// While a message is partly received (a receive was cancelled after its header
    /// arrived): how many payload bytes are in and how many the header announced.
    pub fn partial_message(&self) -> Option<(u64, u64)> {
        self.decoder.progress()
    }

    /// Sets the largest message [`AsyncRecvHalf::recv_bytes`] accepts (`None`: no limit
    /// but memory). Default [`DEFAULT_MAX_MESSAGE_SIZE`].
    pub fn set_max_message_size(&mut self, max: Option<usize>) {
        self.max_message_size = max;
    }

    /// The largest message accepted.
    pub fn max_message_size(&self) -> Option<usize> {
        self.max_message_size
    }

    /// The peer's address, when the socket has one.
    pub fn peer_address(&self) -> Option<Address> {
        stream::peer(self.stream.as_fd())
    }

    /// Puts the two halves of one connection back together; halves of different
    /// connections give [`Error::Value`] (and are dropped).
    pub fn reunite(self, send: AsyncSendHalf) -> Result<AsyncConnection> {
        if self.as_raw_fd() != send.as_raw_fd() {
            return Err(Error::Value(
                "the halves belong to different connections".into(),
            ));
        }
        Ok(AsyncConnection { recv: self, send })
    }
}

// ----- sending -----

/// Writes `header` then `payload`, vectored, marking `broken` as soon as part of the
/// frame has left and clearing it once all of it has.
async fn write_frame(
    stream: &mut WriteStream,
    broken: &mut Option<&'static str>,
    mut header: &[u8],
    mut payload: &[u8],
) -> Result<()> {
    while !header.is_empty() || !payload.is_empty() {
        let written = if header.is_empty() {
            stream.write(payload).await
        } else {
            stream
                .write_vectored(&[IoSlice::new(header), IoSlice::new(payload)])
                .await
        };
        match written {
            Ok(0) => {
                *broken = Some(MID_SEND);
                return Err(Error::Io(io::ErrorKind::WriteZero.into()));
            }
            Ok(n) => {
                *broken = Some(MID_SEND);
                if n < header.len() {
                    header = &header[n..];
                } else {
                    payload = &payload[n - header.len()..];
                    header = &[];
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                *broken = Some(MID_SEND);
                return Err(io_error(e, "while sending"));
            }
        }
    }
    *broken = None;
    Ok(())
}

impl AsyncSendHalf {
    fn new(stream: WriteStream) -> AsyncSendHalf {
        AsyncSendHalf {
            stream,
            wbuf: Vec::new(),
            broken: None,
        }
    }

    fn usable(&self) -> Result<()> {
        match self.broken {
            Some(why) => Err(Error::Closed(why)),
            None => Ok(()),
        }
    }

    /// Sends `buf` as one message (Python's `send_bytes`). Up to 16 KiB, header and
    /// payload leave in one write; larger payloads are written after the header in
    /// vectored writes, without copying. Not cancel-safe (see [`AsyncSendHalf`]).
    pub async fn send_bytes(&mut self, buf: &[u8]) -> Result<()> {
        self.usable()?;
        let header = encode_header(buf.len() as u64);
        if buf.len() <= frame::SMALL_MESSAGE {
            let mut out = std::mem::take(&mut self.wbuf);
            out.clear();
            out.extend_from_slice(header.as_bytes());
            out.extend_from_slice(buf);
            let result = write_frame(&mut self.stream, &mut self.broken, &out, &[]).await;
            self.wbuf = out;
            result
        } else {
            write_frame(&mut self.stream, &mut self.broken, header.as_bytes(), buf).await
        }
    }

    /// Sends a value pickled with protocol 4 (Python's `send`). Not cancel-safe.
    pub async fn send(&mut self, value: &Value) -> Result<()> {
        self.send_with(value, &EncodeOptions::default()).await
    }

    /// Sends a value pickled under `options` (e.g. protocol 5, what CPython 3.14+ sends).
    /// Not cancel-safe.
    pub async fn send_with(&mut self, value: &Value, options: &EncodeOptions) -> Result<()> {
        self.usable()?;
        let mut out = std::mem::take(&mut self.wbuf);
        out.clear();
        // Room for the longest header; the pickle is written right after it.
        out.resize(LONG_HEADER_LEN, 0);
        if let Err(e) = crate::pickle::dumps_into(value, options, &mut out) {
            self.wbuf = out;
            return Err(e.into());
        }
        let header = encode_header((out.len() - LONG_HEADER_LEN) as u64);
        let start = LONG_HEADER_LEN - header.as_bytes().len();
        out[start..LONG_HEADER_LEN].copy_from_slice(header.as_bytes());
        let result = write_frame(&mut self.stream, &mut self.broken, &out[start..], &[]).await;
        if out.capacity() <= KEEP_WRITE_BUFFER {
            self.wbuf = out;
        }
        result
    }

    /// Sends any serde-serializable value, pickled with [`crate::to_vec`] (what
    /// [`crate::to_value`] and `send` would send). Not cancel-safe.
    pub async fn send_obj<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let data = crate::pickle::to_vec(value)?;
        self.send_bytes(&data).await
    }

    /// Shuts the socket down for writing: the peer receives EOF after the messages
    /// already sent. The receiving half keeps working.
    pub async fn shutdown(&mut self) -> Result<()> {
        self.broken = Some("shut down for writing");
        Ok(self.stream.shutdown().await?)
    }
}

// ----- the whole connection -----

impl AsyncConnection {
    fn from_parts(r: ReadStream, w: WriteStream) -> AsyncConnection {
        AsyncConnection {
            recv: AsyncRecvHalf::new(r),
            send: AsyncSendHalf::new(w),
        }
    }

    /// Wraps a connected tokio TCP stream (sets `TCP_NODELAY`). No handshake is run; see
    /// [`AsyncConnection::answer_challenge`].
    pub fn from_tcp(stream: TcpStream) -> AsyncConnection {
        let (r, w) = stream::split_tcp(stream);
        AsyncConnection::from_parts(r, w)
    }

    /// Wraps a connected tokio AF_UNIX stream. No handshake is run.
    pub fn from_unix(stream: UnixStream) -> AsyncConnection {
        let (r, w) = stream::split_unix(stream);
        AsyncConnection::from_parts(r, w)
    }

    /// Splits into a receiving and a sending half, each usable from its own task.
    /// Bytes of a partly received message stay with the receiving half.
    pub fn into_split(self) -> (AsyncRecvHalf, AsyncSendHalf) {
        (self.recv, self.send)
    }

    /// Both halves, borrowed: receive and send at once within one task, e.g. in the
    /// branches of one `tokio::select!`.
    pub fn split(&mut self) -> (&mut AsyncRecvHalf, &mut AsyncSendHalf) {
        (&mut self.recv, &mut self.send)
    }

    /// Sends `buf` as one message (Python's `send_bytes`; for `send_bytes(buf, offset,
    /// size)` pass the slice). Not cancel-safe: see [`AsyncSendHalf`].
    pub async fn send_bytes(&mut self, buf: &[u8]) -> Result<()> {
        self.send.send_bytes(buf).await
    }

    /// Sends a value pickled with protocol 4 (Python's `send`). Not cancel-safe.
    pub async fn send(&mut self, value: &Value) -> Result<()> {
        self.send.send(value).await
    }

    /// Sends a value pickled under `options`. Not cancel-safe.
    pub async fn send_with(&mut self, value: &Value, options: &EncodeOptions) -> Result<()> {
        self.send.send_with(value, options).await
    }

    /// Sends any serde-serializable value. Not cancel-safe.
    pub async fn send_obj<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.send.send_obj(value).await
    }

    /// Receives one message (see [`AsyncRecvHalf::recv_bytes`]). Cancel-safe.
    pub async fn recv_bytes(&mut self) -> Result<Vec<u8>> {
        self.recv.recv_bytes().await
    }

    /// Receives one message of at most `max` bytes (see
    /// [`AsyncRecvHalf::recv_bytes_max`]). Cancel-safe.
    pub async fn recv_bytes_max(&mut self, max: usize) -> Result<Vec<u8>> {
        self.recv.recv_bytes_max(max).await
    }

    /// Receives one message into `buf[offset..]` (see
    /// [`AsyncRecvHalf::recv_bytes_into`]). Cancel-safe.
    pub async fn recv_bytes_into(&mut self, buf: &mut [u8], offset: usize) -> Result<usize> {
        self.recv.recv_bytes_into(buf, offset).await
    }

    /// Receives one message and unpickles it (Python's `recv`). Cancel-safe.
    pub async fn recv(&mut self) -> Result<Value> {
        self.recv.recv().await
    }

    /// Receives and unpickles under `options`. Cancel-safe.
    pub async fn recv_with(&mut self, options: &DecodeOptions) -> Result<Value> {
        self.recv.recv_with(options).await
    }

    /// Receives, unpickles and converts with [`crate::from_value`]. Cancel-safe.
    pub async fn recv_obj<T: DeserializeOwned>(&mut self) -> Result<T> {
        self.recv.recv_obj().await
    }

    /// See [`AsyncRecvHalf::has_buffered_data`].
    pub fn has_buffered_data(&self) -> bool {
        self.recv.has_buffered_data()
    }

    /// See [`AsyncRecvHalf::partial_message`].
    pub fn partial_message(&self) -> Option<(u64, u64)> {
        self.recv.partial_message()
    }

    /// Sets the largest message received (`None`: no limit but memory). Default
    /// [`DEFAULT_MAX_MESSAGE_SIZE`].
    pub fn set_max_message_size(&mut self, max: Option<usize>) {
        self.recv.set_max_message_size(max);
    }

    /// The largest message accepted.
    pub fn max_message_size(&self) -> Option<usize> {
        self.recv.max_message_size()
    }

    /// The peer's address, when the socket has one (an unnamed AF_UNIX peer has none).
    pub fn peer_address(&self) -> Option<Address> {
        stream::peer(self.as_fd())
    }

    /// This end's address, when the socket has one.
    pub fn local_address(&self) -> Option<Address> {
        stream::local(self.as_fd())
    }

    /// Closes the connection (dropping it does the same).
    pub fn close(self) -> Result<()> {
        drop(self);
        Ok(())
    }

    // ----- handshake -----

    /// Delivers a digest challenge and checks the answer (Python's `deliver_challenge`).
    /// A wrong answer sends `#FAILURE#`, closes, and gives [`Error::Authentication`].
    pub async fn deliver_challenge(&mut self, authkey: &[u8], digest: Digest) -> Result<()> {
        self.run_handshake(Handshake::deliver(authkey, digest))
            .await
    }

    /// Answers a digest challenge (Python's `answer_challenge`). Rejection closes and
    /// gives [`Error::Authentication`].
    pub async fn answer_challenge(&mut self, authkey: &[u8]) -> Result<()> {
        self.run_handshake(Handshake::answer(authkey)).await
    }

    /// Moves the bytes of a [`Handshake`] until it is done; an authentication failure
    /// closes the connection.
    pub(crate) async fn run_handshake(&mut self, mut handshake: Handshake) -> Result<()> {
        let mut received: Option<Vec<u8>> = None;
        loop {
            match handshake.step(received.take().as_deref()) {
                Ok(Step::Send(message)) => self.send_bytes(&message).await?,
                Ok(Step::Receive) => received = Some(self.recv_handshake().await?),
                Ok(Step::Done) => return Ok(()),
                Ok(Step::Reject { reply, error }) => {
                    let _ = self.send_bytes(reply).await;
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

    /// Runs `handshake` within `timeout` (`None`: no limit).
    pub(crate) async fn run_handshake_within(
        &mut self,
        handshake: Handshake,
        timeout: Option<Duration>,
    ) -> Result<()> {
        match timeout {
            None => self.run_handshake(handshake).await,
            Some(t) => match ::tokio::time::timeout(t, self.run_handshake(handshake)).await {
                Ok(result) => result,
                Err(_) => Err(Error::Timeout(format!(
                    "during the handshake (limit {t:?})"
                ))),
            },
        }
    }

    fn fail_authentication(&mut self) {
        stream::shutdown(self.as_fd());
        self.recv.break_with("authentication failed");
        self.send.broken = Some("authentication failed");
    }

    async fn recv_handshake(&mut self) -> Result<Vec<u8>> {
        match self.recv.recv_bytes_max(MAX_HANDSHAKE_MESSAGE).await {
            Err(Error::MessageTooLong { length, .. }) => Err(Error::Authentication(format!(
                "handshake message of {length} bytes, the maximum is {MAX_HANDSHAKE_MESSAGE}"
            ))),
            other => other,
        }
    }
}

impl AsFd for AsyncRecvHalf {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }
}

impl AsRawFd for AsyncRecvHalf {
    fn as_raw_fd(&self) -> RawFd {
        self.stream.raw_fd()
    }
}

impl AsFd for AsyncSendHalf {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }
}

impl AsRawFd for AsyncSendHalf {
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

impl AsFd for AsyncConnection {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.recv.as_fd()
    }
}

impl AsRawFd for AsyncConnection {
    fn as_raw_fd(&self) -> RawFd {
        self.recv.as_raw_fd()
    }
}
