//! [`Connection`] over a Windows named pipe (and `poll` over TCP on Windows).
//!
//! A named pipe in message mode keeps message boundaries itself, so a message is sent as
//! one pipe message with no length header, as CPython's `PipeConnection` does. The digest
//! handshake runs unchanged on top (it only uses `send_bytes` and `recv_bytes_max`).
use std::time::Duration;

use super::Connection;
use crate::stream::Stream;
use crate::{Error, Result};

impl Connection {
    pub(super) fn is_message_pipe(&self) -> bool {
        matches!(self.stream, Stream::Pipe(_))
    }

    fn pipe_stream(&mut self) -> &mut crate::windows_pipe::PipeStream {
        match &mut self.stream {
            Stream::Pipe(p) => p,
            _ => unreachable!("is_message_pipe() was checked"),
        }
    }

    pub(super) fn pipe_send(&mut self, buf: &[u8]) -> Result<()> {
        let result = self.pipe_stream().send_message(buf);
        match result {
            // Nothing of the message was written: the connection stays usable.
            Err(Error::Value(_)) => result,
            other => self.after_send(other),
        }
    }

    pub(super) fn pipe_recv(&mut self, max: Option<usize>) -> Result<Vec<u8>> {
        self.check_readable()?;
        let deadline = self.deadline;
        let result = self.pipe_stream().recv_message(max, deadline);
        match &result {
            Ok(_) | Err(Error::Eof) => {}
            // Before the message started: nothing was consumed.
            Err(Error::Timeout(_)) => {}
            Err(Error::MessageTooLong { .. }) => {
                // As CPython: the rest is not read and the connection closes.
                self.break_with("closed after a message over the maximum size")
            }
            Err(_) => self.break_with("a previous receive failed mid-message"),
        }
        result
    }

    pub(super) fn pipe_recv_into(&mut self, max: Option<usize>, dest: &mut [u8]) -> Result<usize> {
        let message = self.pipe_recv(max)?;
        if message.len() > dest.len() {
            return Err(Error::BufferTooShort(message));
        }
        dest[..message.len()].copy_from_slice(&message);
        Ok(message.len())
    }

    /// `poll` on Windows: `PeekNamedPipe` and a zero-byte read for a pipe, `WSAPoll`
    /// for a TCP socket.
    pub(super) fn pipe_poll(&mut self, timeout: Option<Duration>) -> Result<bool> {
        match &mut self.stream {
            Stream::Pipe(p) => p.poll(timeout),
            Stream::Tcp(s) => Ok(poll_socket(s, timeout)?),
        }
    }
}

fn poll_socket(s: &std::net::TcpStream, timeout: Option<Duration>) -> std::io::Result<bool> {
    use std::os::windows::io::AsRawSocket;
    use windows_sys::Win32::Networking::WinSock::{WSAPoll, POLLRDNORM, WSAPOLLFD};
    let deadline = timeout.map(|t| std::time::Instant::now() + t);
    loop {
        let ms = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(std::time::Instant::now());
                left.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32
            }
        };
        let mut fd = WSAPOLLFD {
            fd: s.as_raw_socket() as usize,
            events: POLLRDNORM,
            revents: 0,
        };
        // SAFETY: one valid WSAPOLLFD, exclusively borrowed for the call.
        let n = unsafe { WSAPoll(&mut fd, 1, ms) };
        if n >= 0 {
            return Ok(n > 0);
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}
