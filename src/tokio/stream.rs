//! The two directions of a tokio TCP or AF_UNIX stream, as one type each.
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::net::{tcp, unix, TcpStream, UnixStream};

use crate::Address;

/// The receiving direction.
#[derive(Debug)]
pub(crate) enum ReadStream {
    Tcp(tcp::OwnedReadHalf),
    Unix(unix::OwnedReadHalf),
}

/// The sending direction. Dropping it shuts the socket down for writing.
#[derive(Debug)]
pub(crate) enum WriteStream {
    Tcp(tcp::OwnedWriteHalf),
    Unix(unix::OwnedWriteHalf),
}

pub(crate) fn split_tcp(stream: TcpStream) -> (ReadStream, WriteStream) {
    let _ = stream.set_nodelay(true);
    let (r, w) = stream.into_split();
    (ReadStream::Tcp(r), WriteStream::Tcp(w))
}

pub(crate) fn split_unix(stream: UnixStream) -> (ReadStream, WriteStream) {
    let (r, w) = stream.into_split();
    (ReadStream::Unix(r), WriteStream::Unix(w))
}

impl AsFd for ReadStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            ReadStream::Tcp(h) => h.as_ref().as_fd(),
            ReadStream::Unix(h) => h.as_ref().as_fd(),
        }
    }
}

impl AsFd for WriteStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            WriteStream::Tcp(h) => h.as_ref().as_fd(),
            WriteStream::Unix(h) => h.as_ref().as_fd(),
        }
    }
}

/// The peer's address of a socket, `None` for an unnamed AF_UNIX peer.
pub(crate) fn peer(fd: BorrowedFd<'_>) -> Option<Address> {
    socket2::SockRef::from(&fd)
        .peer_addr()
        .ok()
        .and_then(|a| Address::from_sockaddr(&a))
}

/// The local address of a socket, `None` for an unnamed AF_UNIX socket.
pub(crate) fn local(fd: BorrowedFd<'_>) -> Option<Address> {
    socket2::SockRef::from(&fd)
        .local_addr()
        .ok()
        .and_then(|a| Address::from_sockaddr(&a))
}

/// Shuts the socket down in both directions (the peer sees EOF, our reads end).
pub(crate) fn shutdown(fd: BorrowedFd<'_>) {
    let _ = socket2::SockRef::from(&fd).shutdown(std::net::Shutdown::Both);
}

impl ReadStream {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            ReadStream::Tcp(_) => "tcp",
            ReadStream::Unix(_) => "unix",
        }
    }

    pub(crate) fn raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

impl AsyncRead for ReadStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ReadStream::Tcp(h) => Pin::new(h).poll_read(cx, buf),
            ReadStream::Unix(h) => Pin::new(h).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for WriteStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WriteStream::Tcp(h) => Pin::new(h).poll_write(cx, buf),
            WriteStream::Unix(h) => Pin::new(h).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WriteStream::Tcp(h) => Pin::new(h).poll_write_vectored(cx, bufs),
            WriteStream::Unix(h) => Pin::new(h).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteStream::Tcp(h) => Pin::new(h).poll_flush(cx),
            WriteStream::Unix(h) => Pin::new(h).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteStream::Tcp(h) => Pin::new(h).poll_shutdown(cx),
            WriteStream::Unix(h) => Pin::new(h).poll_shutdown(cx),
        }
    }
}
