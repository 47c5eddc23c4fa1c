//! [`Bound`]: a listening socket (TCP, AF_UNIX, or a Windows named pipe) bound as CPython's
//! `Listener` binds it, and the clean-up it owes on drop. The blocking [`crate::Listener`]
//! accepts on it; the tokio listener takes its socket over.
use std::net::TcpListener;
#[cfg(unix)]
use std::os::unix::net::UnixListener;
use std::path::PathBuf;

use socket2::{Domain, Socket, Type};

use super::Stream;
use crate::address::Family;
use crate::{Address, Error, Result};

/// The listening socket itself.
#[derive(Debug)]
pub(crate) enum ListenSocket {
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(UnixListener),
    #[cfg(windows)]
    Pipe(super::windows_pipe::PipeListener),
}

/// A bound, listening socket and its address (port 0 resolved). Dropping it closes the
/// socket and removes a filesystem socket file (and the private directory
/// [`Bound::bind_any`] made for it), as CPython's `Listener.close` does.
#[derive(Debug)]
pub(crate) struct Bound {
    socket: ListenSocket,
    address: Address,
    unlink: Option<PathBuf>,
    remove_dir: Option<PathBuf>,
}

impl Bound {
    /// Binds `address` and listens with `backlog`. TCP sockets get `SO_REUSEADDR`, as in
    /// CPython.
    pub(crate) fn bind(address: &Address, backlog: i32) -> Result<Bound> {
        super::check_family(address)?;
        let (socket, unlink) = match address {
            Address::Inet { .. } => {
                let mut last = None;
                let mut bound = None;
                for addr in address.resolve()? {
                    match bind_tcp(addr, backlog) {
                        Ok(l) => {
                            bound = Some(l);
                            break;
                        }
                        Err(e) => last = Some(e),
                    }
                }
                match bound {
                    Some(l) => (ListenSocket::Tcp(l), None),
                    None => {
                        return Err(last
                            .map(Error::Io)
                            .unwrap_or_else(|| address.error("no address")))
                    }
                }
            }
            #[cfg(windows)]
            Address::Pipe(name) => (
                ListenSocket::Pipe(super::windows_pipe::PipeListener::bind(name)?),
                None,
            ),
            #[cfg(unix)]
            Address::Unix(_) | Address::Abstract(_) => {
                let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
                socket.bind(&address.unix_sockaddr()?)?;
                socket.listen(backlog)?;
                let unlink = match address {
                    Address::Unix(p) => Some(p.clone()),
                    _ => None,
                };
                (
                    ListenSocket::Unix(UnixListener::from(std::os::fd::OwnedFd::from(socket))),
                    unlink,
                )
            }
            _ => unreachable!("check_family refused it"),
        };
        let address = match &socket {
            ListenSocket::Tcp(l) => Address::from(l.local_addr()?),
            #[cfg(unix)]
            ListenSocket::Unix(_) => address.clone(),
            #[cfg(windows)]
            ListenSocket::Pipe(_) => address.clone(),
        };
        Ok(Bound {
            socket,
            address,
            unlink,
            remove_dir: None,
        })
    }

    /// Binds an arbitrary free address of `family` (Python's `Listener(family=...)` with
    /// no address): `127.0.0.1` on a free port, a socket file in a fresh private (0700)
    /// temporary directory, a random abstract name, or a random named pipe
    /// `\\.\pipe\mpconn-<pid>-<random>` (Windows).
    pub(crate) fn bind_any(family: Family, backlog: i32) -> Result<Bound> {
        let tag = random_tag();
        match family {
            Family::Inet => Bound::bind(
                &Address::Inet {
                    host: "127.0.0.1".into(),
                    port: 0,
                },
                backlog,
            ),
            Family::Abstract => Bound::bind(
                &Address::Abstract(format!("mpconn-{tag}").into_bytes()),
                backlog,
            ),
            Family::Pipe => Bound::bind(
                &Address::Pipe(format!(r"\\.\pipe\mpconn-{}-{tag}", std::process::id())),
                backlog,
            ),
            #[cfg(not(unix))]
            Family::Unix => Err(Error::Address {
                address: "(a private temporary directory)".into(),
                reason: "AF_UNIX addresses need a Unix system".into(),
            }),
            #[cfg(unix)]
            Family::Unix => {
                use std::os::unix::fs::DirBuilderExt;
                let dir = std::env::temp_dir().join(format!("mpconn-{tag}"));
                std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
                match Bound::bind(&Address::Unix(dir.join("listener")), backlog) {
                    Ok(mut l) => {
                        l.remove_dir = Some(dir);
                        Ok(l)
                    }
                    Err(e) => {
                        let _ = std::fs::remove_dir(&dir);
                        Err(e)
                    }
                }
            }
        }
    }

    /// Waits for the next connection (blocking); returns its stream.
    pub(crate) fn accept(&self) -> Result<Stream> {
        loop {
            let r = match &self.socket {
                ListenSocket::Tcp(l) => l.accept().map(|(s, _)| {
                    let _ = s.set_nodelay(true);
                    Stream::Tcp(s)
                }),
                #[cfg(unix)]
                ListenSocket::Unix(l) => l.accept().map(|(s, _)| Stream::Unix(s)),
                #[cfg(windows)]
                ListenSocket::Pipe(l) => l.accept().map(Stream::Pipe),
            };
            match r {
                Ok(s) => return Ok(s),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The bound address (port 0 resolved).
    pub(crate) fn address(&self) -> &Address {
        &self.address
    }

    /// The listening socket.
    #[cfg(any(unix, feature = "tokio"))]
    pub(crate) fn socket(&self) -> &ListenSocket {
        &self.socket
    }
}

fn bind_tcp(addr: std::net::SocketAddr, backlog: i32) -> std::io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}

fn random_tag() -> String {
    let mut bytes = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Drop for Bound {
    fn drop(&mut self) {
        if let Some(path) = &self.unlink {
            let _ = std::fs::remove_file(path);
        }
        if let Some(dir) = &self.remove_dir {
            let _ = std::fs::remove_dir(dir);
        }
    }
}
