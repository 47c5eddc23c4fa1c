//! [`AsyncConnection`] and its halves [`AsyncRecvHalf`] / [`AsyncSendHalf`].
use std::fmt;
use std::time::Duration;

use ::tokio::io::{AsyncReadExt, AsyncWriteExt};
use ::tokio::net::TcpStream;
#[cfg(unix)]
use ::tokio::net::UnixStream;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::stream::{self, ReadStream, WriteStream};
use crate::pickle::{DecodeOptions, EncodeOptions};
use crate::wire::drive::{drive, MessageIo};
use crate::wire::handshake::{Digest, Handshake};
use crate::wire::receive::{copy_message, dest_at, move_message, Event, ReadInto, Receiver};
use crate::wire::send::{Framing, Outgoing, Sender};
use crate::wire::Broken;
use crate::{Address, Error, Result, Value};

/// Size of a connection's read buffer. Bytes of several small messages arriving together
/// are read at once; a payload with at least this much still to come is read straight
/// into its own vector.
const READ_BUFFER: usize = 16 * 1024;

/// The receiving half of an [`AsyncConnection`] (see [`AsyncConnection::into_split`]).
///
/// Every receive method is **cancel-safe**: the partial frame (header bytes, payload
/// received so far) is kept inside the half, never in the future, so dropping a pending
/// receive (a `tokio::time::timeout` that expired, a `select!` branch that lost) loses
/// nothing, and the next receive returns the whole message.
pub struct AsyncRecvHalf {
    stream: ReadStream,
    recv: Receiver,
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
    send: Sender,
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
            .field("id", &self.stream.id())
            .field("buffered", &self.recv.has_buffered_data())
            .field("partial_message", &self.recv.partial_message())
            .field("max_message_size", &self.recv.max_message_size())
            .field("broken", &self.recv.broken())
            .finish()
    }
}

impl fmt::Debug for AsyncSendHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncSendHalf")
            .field("id", &self.stream.id())
            .field("send", &self.send)
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

// ----- receiving -----

impl AsyncRecvHalf {
    fn new(stream: ReadStream) -> AsyncRecvHalf {
        AsyncRecvHalf {
            stream,
            recv: Receiver::new(READ_BUFFER),
        }
    }

    /// Moves bytes until the receiver has the next message no longer than `max` (or,
    /// with `header_only`, the header of a large one). Cancel-safe: every byte read is
    /// in the receiver before the next await.
    async fn receive(&mut self, max: Option<usize>, header_only: bool) -> Result<Event> {
        loop {
            match self.recv.next(max, header_only) {
                Ok(Event::Read) => {}
                Ok(event) => return Ok(event),
                Err(e) => {
                    if let Error::MessageTooLong { .. } = e {
                        // As CPython: close without reading the payload.
                        self.stream.shutdown();
                    }
                    return Err(e);
                }
            }
            let read = match self.recv.read_into() {
                ReadInto::Buffer(buf) => self.stream.read(buf).await,
                ReadInto::Payload { payload, lacking } => {
                    (&mut self.stream)
                        .take(lacking as u64)
                        .read_buf(payload)
                        .await
                }
            };
            self.recv.after_read(read)?;
        }
    }

    /// Receives the next whole message into a vector.
    async fn receive_vec(&mut self, max: Option<usize>) -> Result<Vec<u8>> {
        match self.receive(max, false).await? {
            Event::Buffered(range) => Ok(self.recv.message(range).to_vec()),
            Event::Owned(message) => Ok(message),
            event => unreachable!("not asked for: {event:?}"),
        }
    }

    /// Receives one message, refusing (and closing on) one longer than the maximum
    /// message size. Cancel-safe.
    pub async fn recv_bytes(&mut self) -> Result<Vec<u8>> {
        self.receive_vec(self.recv.max_message_size()).await
    }

    /// Receives one message, refusing (and closing) when it announces more than `max`
    /// bytes (Python's `recv_bytes(maxlength)`); the smaller of `max` and the maximum
    /// message size is in force. Cancel-safe; when a cancelled receive had already read a
    /// header, the limit it was checked against stays in force for that message.
    pub async fn recv_bytes_max(&mut self, max: usize) -> Result<Vec<u8>> {
        self.receive_vec(self.recv.limit(max)).await
    }

    /// Receives one message into `buf[offset..]`, returning its length; one that does not
    /// fit gives [`Error::BufferTooShort`] carrying the whole message. An `offset` past
    /// the end of `buf` gives [`Error::Value`] and reads nothing.
    ///
    /// Cancel-safe: a large payload is read straight into `buf`, and if the receive is
    /// dropped midway, the bytes it read are copied back into the connection, so the
    /// next receive returns the whole message (`buf` may then hold part of it).
    pub async fn recv_bytes_into(&mut self, buf: &mut [u8], offset: usize) -> Result<usize> {
        let dest = dest_at(buf, offset)?;
        let max = self.recv.max_message_size();
        match self.receive(max, true).await? {
            Event::Buffered(range) => copy_message(self.recv.message(range), dest),
            Event::Owned(message) => move_message(message, dest),
            Event::Header { length } if length > dest.len() as u64 => {
                Err(Error::BufferTooShort(self.receive_vec(max).await?))
            }
            Event::Header { length } => {
                let mut fill = self.recv.fill_directly(&mut dest[..length as usize]);
                while !fill.is_done() {
                    let read = self.stream.read(fill.remaining()).await;
                    fill.after_read(read)?;
                }
                Ok(fill.len())
            }
            Event::Read => unreachable!("receive() reads"),
        }
    }

    /// Receives one message and unpickles it (Python's `recv`). Cancel-safe.
    pub async fn recv(&mut self) -> Result<Value> {
        self.recv_with(&DecodeOptions::default()).await
    }

    /// Receives one message and unpickles it under `options` (decoder limits).
    /// Cancel-safe.
    pub async fn recv_with(&mut self, options: &DecodeOptions) -> Result<Value> {
        self.with_message(|data| Ok(crate::pickle::loads_with(data, options)?))
            .await
    }

    /// Receives one message and deserializes it with [`crate::from_slice`] (what
    /// [`crate::from_value`] gives on `recv`'s value). Cancel-safe.
    pub async fn recv_obj<T: DeserializeOwned>(&mut self) -> Result<T> {
        self.with_message(|data| crate::pickle::from_slice::<T>(data))
            .await
    }

    /// Receives one whole message and hands its bytes to `decode`. Cancel-safe.
    async fn with_message<R>(&mut self, decode: impl FnOnce(&[u8]) -> Result<R>) -> Result<R> {
        let event = self.receive(self.recv.max_message_size(), false).await?;
        let data = match &event {
            Event::Buffered(range) => self.recv.message(range.clone()),
            Event::Owned(message) => message,
            event => unreachable!("not asked for: {event:?}"),
        };
        decode(data)
    }

    /// True when bytes already read from the socket wait in this half (of a next message,
    /// or of a message a cancelled receive left half-received).
    pub fn has_buffered_data(&self) -> bool {
        self.recv.has_buffered_data()
    }

    /// While a message is partly received (a receive was cancelled after its header
    /// arrived): how many payload bytes are in and how many the header announced.
    pub fn partial_message(&self) -> Option<(u64, u64)> {
        self.recv.partial_message()
    }

    /// Sets the largest message [`AsyncRecvHalf::recv_bytes`] accepts (`None`: no limit
    /// but memory). Default [`crate::DEFAULT_MAX_MESSAGE_SIZE`].
    pub fn set_max_message_size(&mut self, max: Option<usize>) {
        self.recv.set_max_message_size(max);
    }

    /// The largest message accepted.
    pub fn max_message_size(&self) -> Option<usize> {
        self.recv.max_message_size()
    }

    /// The peer's address, when the socket has one.
    pub fn peer_address(&self) -> Option<Address> {
        self.stream.peer()
    }

    /// Puts the two halves of one connection back together; halves of different
    /// connections give [`Error::Value`] (and are dropped).
    pub fn reunite(self, send: AsyncSendHalf) -> Result<AsyncConnection> {
        if self.stream.id() != send.stream.id() {
            return Err(Error::Value(
                "the halves belong to different connections".into(),
            ));
        }
        Ok(AsyncConnection { recv: self, send })
    }
}

// ----- sending -----

/// Writes one frame in as many (vectored) writes as it takes.
async fn write_frame(stream: &mut WriteStream, mut out: Outgoing<'_>) -> Result<()> {
    while !out.is_done() {
        let written = stream.write_vectored(&out.slices()).await;
        out.after_write(written)?;
    }
    Ok(())
}

impl AsyncSendHalf {
    fn new(stream: WriteStream) -> AsyncSendHalf {
        AsyncSendHalf {
            stream,
            send: Sender::new(Framing::LengthPrefixed, Broken::SendInterrupted),
        }
    }

    /// Sends `buf` as one message (Python's `send_bytes`). Up to 16 KiB, header and
    /// payload leave in one write; larger payloads are written after the header in
    /// vectored writes, without copying. Not cancel-safe (see [`AsyncSendHalf`]).
    pub async fn send_bytes(&mut self, buf: &[u8]) -> Result<()> {
        self.send.check()?;
        write_frame(&mut self.stream, self.send.frame(buf)).await
    }

    /// Sends a value pickled with protocol 4 (Python's `send`). Not cancel-safe.
    pub async fn send(&mut self, value: &Value) -> Result<()> {
        self.send_with(value, &EncodeOptions::default()).await
    }

    /// Sends a value pickled under `options` (e.g. protocol 5, what CPython 3.14+ sends).
    /// Not cancel-safe.
    pub async fn send_with(&mut self, value: &Value, options: &EncodeOptions) -> Result<()> {
        self.send.check()?;
        if let Err(e) = crate::pickle::dumps_into(value, options, self.send.payload_buffer()) {
            self.send.release();
            return Err(e.into());
        }
        write_frame(&mut self.stream, self.send.framed_buffer()).await
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
        self.send.break_with(Broken::ShutDownForWriting);
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
    #[cfg(unix)]
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
    /// [`crate::DEFAULT_MAX_MESSAGE_SIZE`].
    pub fn set_max_message_size(&mut self, max: Option<usize>) {
        self.recv.set_max_message_size(max);
    }

    /// The largest message accepted.
    pub fn max_message_size(&self) -> Option<usize> {
        self.recv.max_message_size()
    }

    /// The peer's address, when the socket has one (an unnamed AF_UNIX peer has none).
    pub fn peer_address(&self) -> Option<Address> {
        self.recv.stream.peer()
    }

    /// This end's address, when the socket has one.
    pub fn local_address(&self) -> Option<Address> {
        self.recv.stream.local()
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
    pub(crate) async fn run_handshake(&mut self, handshake: Handshake) -> Result<()> {
        drive(self, handshake).await
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
}

impl MessageIo for AsyncConnection {
    async fn send_message(&mut self, message: &[u8]) -> Result<()> {
        self.send_bytes(message).await
    }

    async fn recv_message(&mut self, max: usize) -> Result<Vec<u8>> {
        self.recv_bytes_max(max).await
    }

    fn fail_authentication(&mut self) {
        self.recv.stream.shutdown();
        self.recv.recv.break_with(Broken::AuthenticationFailed);
        self.send.send.break_with(Broken::AuthenticationFailed);
    }
}

crate::transport::impl_fd!(AsyncRecvHalf, |h| h.stream.as_fd());
crate::transport::impl_fd!(AsyncSendHalf, |h| h.stream.as_fd());
crate::transport::impl_fd!(AsyncConnection, |c| c.recv.stream.as_fd());
