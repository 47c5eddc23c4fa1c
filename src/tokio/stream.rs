//! The two directions of a tokio TCP or (Unix) AF_UNIX stream, as one type each.
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::net::{tcp, TcpStream};
#[cfg(unix)]
use ::tokio::net::{unix, UnixStream};

use crate::Address;

/// The receiving direction.
#[derive(Debug)]
pub(crate) enum ReadStream {
    Tcp(tcp::OwnedReadHalf),
    #[cfg(unix)]
    Unix(unix::OwnedReadHalf),
}

/// The sending direction. Dropping it shuts the socket down for writing.
#[derive(Debug)]
pub(crate) enum WriteStream {
    Tcp(tcp::OwnedWriteHalf),
    #[cfg(unix)]
    Unix(unix::OwnedWriteHalf),
}

pub(crate) fn split_tcp(stream: TcpStream) -> (ReadStream, WriteStream) {
    let _ = stream.set_nodelay(true);
    let (r, w) = stream.into_split();
    (ReadStream::Tcp(r), WriteStream::Tcp(w))
}

#[cfg(unix)]
pub(crate) fn split_unix(stream: UnixStream) -> (ReadStream, WriteStream) {
    let (r, w) = stream.into_split();
    (ReadStream::Unix(r), WriteStream::Unix(w))
}

impl ReadStream {
    /// The socket under both directions.
    fn socket(&self) -> socket2::SockRef<'_> {
        match self {
            ReadStream::Tcp(h) => socket2::SockRef::from(h.as_ref()),
            #[cfg(unix)]
            ReadStream::Unix(h) => socket2::SockRef::from(h.as_ref()),
        }
    }

    pub(crate) fn kind(&self) -> &'static str {
        match self {
            ReadStream::Tcp(_) => "tcp",
            #[cfg(unix)]
            ReadStream::Unix(_) => "unix",
        }
    }

    /// The peer's address, `None` for an unnamed AF_UNIX peer.
    pub(crate) fn peer(&self) -> Option<Address> {
        match self {
            ReadStream::Tcp(h) => h.peer_addr().ok().map(Address::from),
            #[cfg(unix)]
            ReadStream::Unix(_) => self
                .socket()
                .peer_addr()
                .ok()
                .and_then(|a| Address::from_sockaddr(&a)),
        }
    }

    /// The local address, `None` for an unnamed AF_UNIX socket.
    pub(crate) fn local(&self) -> Option<Address> {
        match self {
            ReadStream::Tcp(h) => h.local_addr().ok().map(Address::from),
            #[cfg(unix)]
            ReadStream::Unix(_) => self
                .socket()
                .local_addr()
                .ok()
                .and_then(|a| Address::from_sockaddr(&a)),
        }
    }

    /// Shuts the socket down in both directions (the peer sees EOF, our reads end).
    pub(crate) fn shutdown(&self) {
        let _ = self.socket().shutdown(std::net::Shutdown::Both);
    }

    /// The descriptor (or Windows socket handle) number, to tell connections apart.
    pub(crate) fn id(&self) -> u64 {
        socket_id(&self.socket())
    }
}

impl WriteStream {
    /// The descriptor (or Windows socket handle) number, to tell connections apart.
    pub(crate) fn id(&self) -> u64 {
        let socket = match self {
            WriteStream::Tcp(h) => socket2::SockRef::from(h.as_ref()),
            #[cfg(unix)]
            WriteStream::Unix(h) => socket2::SockRef::from(h.as_ref()),
        };
        socket_id(&socket)
    }
}

fn socket_id(socket: &socket2::Socket) -> u64 {
    #[cfg(unix)]
    let id = std::os::fd::AsRawFd::as_raw_fd(socket) as u64;
    #[cfg(windows)]
    let id = std::os::windows::io::AsRawSocket::as_raw_socket(socket);
    id
}

#[cfg(unix)]
impl std::os::fd::AsFd for ReadStream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            ReadStream::Tcp(h) => h.as_ref().as_fd(),
            ReadStream::Unix(h) => h.as_ref().as_fd(),
        }
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for WriteStream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            WriteStream::Tcp(h) => h.as_ref().as_fd(),
            WriteStream::Unix(h) => h.as_ref().as_fd(),
        }
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
            #[cfg(unix)]
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
            #[cfg(unix)]
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
            #[cfg(unix)]
            WriteStream::Unix(h) => Pin::new(h).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteStream::Tcp(h) => Pin::new(h).poll_flush(cx),
            #[cfg(unix)]
            WriteStream::Unix(h) => Pin::new(h).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteStream::Tcp(h) => Pin::new(h).poll_shutdown(cx),
            #[cfg(unix)]
            WriteStream::Unix(h) => Pin::new(h).poll_shutdown(cx),
        }
    }
}
