//! [`Connection`] (stub: being written).
use std::time::Duration;

use crate::{Result, Value};

/// The default largest message a connection receives (1 GiB).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 1 << 30;

/// One end of a `multiprocessing.connection` link: Python's `Connection`.
///
/// `Drop` closes it. Methods take `&mut self`; use [`Connection::try_clone`] to send from one
/// thread while another receives.
#[derive(Debug)]
pub struct Connection {
    _private: (),
}

impl Connection {
    /// Sends `buf` as one message (Python's `send_bytes`; for `send_bytes(buf, offset, size)`
    /// pass the slice `&buf[offset..offset + size]`).
    pub fn send_bytes(&mut self, _buf: &[u8]) -> Result<()> {
        todo!()
    }
    /// Receives one message, refusing one longer than the connection's maximum message size.
    pub fn recv_bytes(&mut self) -> Result<Vec<u8>> {
        todo!()
    }
    /// Receives one message, refusing (and closing) when it announces more than `max` bytes.
    pub fn recv_bytes_max(&mut self, _max: usize) -> Result<Vec<u8>> {
        todo!()
    }
    /// Receives one message into `buf[offset..]`, returning its length; a message that does
    /// not fit gives [`crate::Error::BufferTooShort`] carrying the whole message.
    pub fn recv_bytes_into(&mut self, _buf: &mut [u8], _offset: usize) -> Result<usize> {
        todo!()
    }
    /// Sends a value pickled with protocol 4 (Python's `send`).
    pub fn send(&mut self, _value: &Value) -> Result<()> {
        todo!()
    }
    /// Receives one message and unpickles it (Python's `recv`).
    pub fn recv(&mut self) -> Result<Value> {
        todo!()
    }
    /// Whether a message (or EOF) is ready within `timeout` (`None` blocks, zero polls).
    pub fn poll(&mut self, _timeout: Option<Duration>) -> Result<bool> {
        todo!()
    }
    /// Bounds each read.
    pub fn set_read_timeout(&mut self, _t: Option<Duration>) -> Result<()> {
        todo!()
    }
    /// Bounds each write.
    pub fn set_write_timeout(&mut self, _t: Option<Duration>) -> Result<()> {
        todo!()
    }
    /// Sets the largest message `recv_bytes` accepts.
    pub fn set_max_message_size(&mut self, _max: Option<usize>) {
        todo!()
    }
    /// Closes the connection.
    pub fn close(self) -> Result<()> {
        todo!()
    }
}
