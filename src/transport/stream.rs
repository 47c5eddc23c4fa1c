//! [`Stream`]: the byte stream under a blocking connection: TCP, AF_UNIX (path or
//! abstract) and any other inherited descriptor (an OS pipe end); on Windows, TCP and
//! named pipes (which keep message boundaries themselves, see [`Stream::framing`]).

#[cfg(unix)]
use std::fs::File;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
#[cfg(unix)]
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::time::Duration;

use crate::wire::send::Framing;
use crate::{Address, Result};

/// One stream a [`crate::Connection`] runs over.
#[derive(Debug)]
pub(crate) enum Stream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
    /// A descriptor that is not a socket (a pipe end): no timeouts, no shutdown.
    #[cfg(unix)]
    Fd(File),
    /// A Windows named pipe in message mode: [`crate::Connection`] sends and receives
    /// whole messages through it (no length header), never through `Read`/`Write`.
    #[cfg(windows)]
    Pipe(super::windows_pipe::PipeStream),
}

impl Stream {
    /// Connects to `address` (Python's `SocketClient` / `PipeClient`); `timeout` bounds
    /// the connect (and, for a named pipe, the wait for a free instance).
    pub(crate) fn connect(address: &Address, timeout: Option<Duration>) -> Result<Stream> {
        super::check_family(address)?;
        match address {
            Address::Inet { .. } => {
                let mut last = None;
                for addr in address.resolve()? {
                    let r = match timeout {
                        Some(t) => TcpStream::connect_timeout(&addr, t),
                        None => TcpStream::connect(addr),
                    };
                    match r {
                        Ok(s) => {
                            s.set_nodelay(true)?;
                            return Ok(Stream::Tcp(s));
                        }
                        Err(e) => last = Some(e),
                    }
                }
                Err(last
                    .map(crate::Error::Io)
                    .unwrap_or_else(|| address.error("no address")))
            }
            #[cfg(windows)]
            Address::Pipe(name) => Ok(Stream::Pipe(super::windows_pipe::connect(name, timeout)?)),
            #[cfg(unix)]
            Address::Unix(_) | Address::Abstract(_) => {
                use socket2::{Domain, Socket, Type};
                let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
                socket.connect(&address.unix_sockaddr()?)?;
                Ok(Stream::Unix(UnixStream::from(OwnedFd::from(socket))))
            }
            _ => unreachable!("check_family refused it"),
        }
    }

    /// Wraps an inherited descriptor, choosing the kind from the socket's family.
    #[cfg(unix)]
    pub(crate) fn from_owned_fd(fd: OwnedFd) -> io::Result<Stream> {
        let socket = socket2::SockRef::from(&fd);
        match socket.local_addr() {
            Ok(addr) if addr.is_ipv4() || addr.is_ipv6() => {
                let s = TcpStream::from(fd);
                let _ = s.set_nodelay(true);
                Ok(Stream::Tcp(s))
            }
            Ok(addr) if addr.family() == libc::AF_UNIX as libc::sa_family_t => {
                Ok(Stream::Unix(UnixStream::from(fd)))
            }
            Ok(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "unsupported socket family",
            )),
            // Not a socket (ENOTSOCK): a pipe or another file.
            Err(e) if e.raw_os_error() == Some(libc::ENOTSOCK) => Ok(Stream::Fd(File::from(fd))),
            Err(e) => Err(e),
        }
    }

    /// Sets or clears close-on-exec: an inheritable descriptor stays open in a child
    /// process (Python's `os.set_inheritable`).
    #[cfg(unix)]
    pub(crate) fn set_inheritable(&self, inheritable: bool) -> io::Result<()> {
        let fd = self.as_raw_fd();
        // SAFETY: F_GETFD/F_SETFD on a descriptor we own; no pointers are passed.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags < 0 {
            return Err(io::Error::last_os_error());
        }
        let flags = if inheritable {
            flags & !libc::FD_CLOEXEC
        } else {
            flags | libc::FD_CLOEXEC
        };
        // SAFETY: as above.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, flags) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    #[cfg(unix)]
    pub(crate) fn into_owned_fd(self) -> OwnedFd {
        match self {
            Stream::Tcp(s) => s.into(),
            Stream::Unix(s) => s.into(),
            Stream::Fd(f) => f.into(),
        }
    }

    pub(crate) fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_read_timeout(t),
            #[cfg(unix)]
            Stream::Unix(s) => s.set_read_timeout(t),
            #[cfg(unix)]
            Stream::Fd(_) => unsupported_timeout(t),
            #[cfg(windows)]
            Stream::Pipe(p) => p.set_read_timeout(t),
        }
    }

    pub(crate) fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_write_timeout(t),
            #[cfg(unix)]
            Stream::Unix(s) => s.set_write_timeout(t),
            #[cfg(unix)]
            Stream::Fd(_) => unsupported_timeout(t),
            #[cfg(windows)]
            Stream::Pipe(p) => p.set_write_timeout(t),
        }
    }

    pub(crate) fn read_timeout(&self) -> io::Result<Option<Duration>> {
        match self {
            Stream::Tcp(s) => s.read_timeout(),
            #[cfg(unix)]
            Stream::Unix(s) => s.read_timeout(),
            #[cfg(unix)]
            Stream::Fd(_) => Ok(None),
            #[cfg(windows)]
            Stream::Pipe(p) => Ok(p.read_timeout()),
        }
    }

    pub(crate) fn write_timeout(&self) -> io::Result<Option<Duration>> {
        match self {
            Stream::Tcp(s) => s.write_timeout(),
            #[cfg(unix)]
            Stream::Unix(s) => s.write_timeout(),
            #[cfg(unix)]
            Stream::Fd(_) => Ok(None),
            #[cfg(windows)]
            Stream::Pipe(p) => Ok(p.write_timeout()),
        }
    }

    pub(crate) fn try_clone(&self) -> io::Result<Stream> {
        Ok(match self {
            Stream::Tcp(s) => Stream::Tcp(s.try_clone()?),
            #[cfg(unix)]
            Stream::Unix(s) => Stream::Unix(s.try_clone()?),
            #[cfg(unix)]
            Stream::Fd(f) => Stream::Fd(f.try_clone()?),
            #[cfg(windows)]
            Stream::Pipe(p) => Stream::Pipe(p.try_clone()?),
        })
    }

    pub(crate) fn shutdown(&self) {
        let _ = match self {
            Stream::Tcp(s) => s.shutdown(Shutdown::Both),
            #[cfg(unix)]
            Stream::Unix(s) => s.shutdown(Shutdown::Both),
            #[cfg(unix)]
            Stream::Fd(_) => Ok(()),
            #[cfg(windows)]
            Stream::Pipe(_) => Ok(()),
        };
    }

    #[cfg(unix)]
    pub(crate) fn peer(&self) -> Option<Address> {
        socket2::SockRef::from(self)
            .peer_addr()
            .ok()
            .and_then(|a| Address::from_sockaddr(&a))
    }

    #[cfg(unix)]
    pub(crate) fn local(&self) -> Option<Address> {
        socket2::SockRef::from(self)
            .local_addr()
            .ok()
            .and_then(|a| Address::from_sockaddr(&a))
    }

    #[cfg(windows)]
    pub(crate) fn peer(&self) -> Option<Address> {
        match self {
            Stream::Tcp(s) => s.peer_addr().ok().map(Address::from),
            // CPython's PipeListener reports no peer (last_accepted is None).
            Stream::Pipe(_) => None,
        }
    }

    #[cfg(windows)]
    pub(crate) fn local(&self) -> Option<Address> {
        match self {
            Stream::Tcp(s) => s.local_addr().ok().map(Address::from),
            Stream::Pipe(p) => p.address(),
        }
    }

    /// Reads at most `max` bytes into the spare capacity of `out` (which the caller
    /// reserved), extending its length; no zero-filling for sockets. Returns 0 at EOF.
    pub(crate) fn read_into_spare(&mut self, out: &mut Vec<u8>, max: usize) -> io::Result<usize> {
        let start = out.len();
        let spare = out.spare_capacity_mut();
        let want = spare.len().min(max);
        let n = match self {
            Stream::Tcp(s) => socket2::SockRef::from(&*s).recv(&mut spare[..want])?,
            #[cfg(unix)]
            Stream::Unix(s) => socket2::SockRef::from(&*s).recv(&mut spare[..want])?,
            #[cfg(windows)]
            Stream::Pipe(_) => return Err(message_pipe()),
            #[cfg(unix)]
            Stream::Fd(f) => {
                out.resize(start + want, 0);
                let r = f.read(&mut out[start..]);
                out.truncate(start + *r.as_ref().unwrap_or(&0));
                return r;
            }
        };
        assert!(n <= want, "recv(2) returned more than asked");
        // SAFETY: recv(2) initialised the first `n` (<= want) bytes of the spare capacity.
        unsafe { out.set_len(start + n) };
        Ok(n)
    }

    /// How this stream delimits messages: a named pipe in message mode keeps the
    /// boundaries itself; everything else is a byte stream with length headers.
    pub(crate) fn framing(&self) -> Framing {
        match self {
            #[cfg(windows)]
            Stream::Pipe(_) => Framing::Message,
            _ => Framing::LengthPrefixed,
        }
    }

    /// Receives one whole message from a [`Framing::Message`] stream; `deadline`, when
    /// set, bounds the wait for it to start.
    #[allow(unused_variables)]
    pub(crate) fn recv_message(
        &mut self,
        max: Option<usize>,
        deadline: Option<std::time::Instant>,
    ) -> Result<Vec<u8>> {
        match self {
            #[cfg(windows)]
            Stream::Pipe(p) => p.recv_message(max, deadline),
            _ => Err(not_message_mode().into()),
        }
    }

    /// Sends one whole message on a [`Framing::Message`] stream.
    #[allow(unused_variables)]
    pub(crate) fn send_message(&mut self, buf: &[u8]) -> Result<()> {
        match self {
            #[cfg(windows)]
            Stream::Pipe(p) => p.send_message(buf),
            _ => Err(not_message_mode().into()),
        }
    }

    /// Whether bytes (or EOF) are ready within `timeout` (`None` blocks, zero polls).
    #[cfg(unix)]
    pub(crate) fn poll(&mut self, timeout: Option<Duration>) -> Result<bool> {
        let mut fds = [libc::pollfd {
            fd: self.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        Ok(super::poll::poll_fds(&mut fds, timeout)? > 0)
    }

    /// Whether a message (or EOF) is ready within `timeout`: `PeekNamedPipe` and a
    /// zero-byte read for a pipe, `WSAPoll` for a TCP socket.
    #[cfg(windows)]
    pub(crate) fn poll(&mut self, timeout: Option<Duration>) -> Result<bool> {
        match self {
            Stream::Pipe(p) => p.poll(timeout),
            Stream::Tcp(s) => Ok(super::poll::poll_socket(s, timeout)?),
        }
    }
}

fn not_message_mode() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "a byte stream has no message boundaries of its own",
    )
}

#[cfg(windows)]
fn message_pipe() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "a message-mode named pipe is read and written by whole messages",
    )
}

#[cfg(unix)]
fn unsupported_timeout(t: Option<Duration>) -> io::Result<()> {
    match t {
        None => Ok(()),
        Some(_) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "timeouts need a socket; this connection runs over another descriptor",
        )),
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.read(buf),
            #[cfg(unix)]
            Stream::Fd(f) => f.read(buf),
            #[cfg(windows)]
            Stream::Pipe(_) => Err(message_pipe()),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.write(buf),
            #[cfg(unix)]
            Stream::Fd(f) => f.write(buf),
            #[cfg(windows)]
            Stream::Pipe(_) => Err(message_pipe()),
        }
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_vectored(bufs),
            #[cfg(unix)]
            Stream::Unix(s) => s.write_vectored(bufs),
            #[cfg(unix)]
            Stream::Fd(f) => f.write_vectored(bufs),
            #[cfg(windows)]
            Stream::Pipe(_) => Err(message_pipe()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(unix)]
impl AsFd for Stream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Stream::Tcp(s) => s.as_fd(),
            Stream::Unix(s) => s.as_fd(),
            Stream::Fd(f) => f.as_fd(),
        }
    }
}

#[cfg(unix)]
impl AsRawFd for Stream {
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}
