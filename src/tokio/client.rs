//! [`AsyncClient`]: Python's `Client` on tokio.
use ::tokio::net::TcpStream;

use super::AsyncConnection;
use crate::wire::handshake::Handshake;
use crate::{Address, ClientOptions, Error, Result};

/// Python's `Client(address, authkey=...)` on tokio.
///
/// Connecting is not cancel-safe in the sense that a cancelled connect drops the
/// half-made connection; nothing else is affected.
#[derive(Debug)]
pub struct AsyncClient;

impl AsyncClient {
    /// Connects to `address`; with `authkey`, answers and then delivers the digest
    /// challenge (`{sha256}`).
    pub async fn connect(address: &Address, authkey: Option<&[u8]>) -> Result<AsyncConnection> {
        let mut options = ClientOptions::new();
        options.authkey = authkey.map(<[u8]>::to_vec);
        AsyncClient::connect_with(address, &options).await
    }

    /// Connects with `options`; `options.timeout` bounds the connect and the handshake
    /// together (an expired limit gives [`Error::Timeout`]).
    pub async fn connect_with(
        address: &Address,
        options: &ClientOptions,
    ) -> Result<AsyncConnection> {
        let work = async {
            let mut conn = open(address).await?;
            conn.set_max_message_size(options.max_message_size);
            if let Some(key) = &options.authkey {
                conn.run_handshake(Handshake::client(key, options.digest))
                    .await?;
            }
            Ok(conn)
        };
        match options.timeout {
            None => work.await,
            Some(t) => match ::tokio::time::timeout(t, work).await {
                Ok(result) => result,
                Err(_) => Err(Error::Timeout(format!(
                    "connecting to {address} (limit {t:?})"
                ))),
            },
        }
    }
}

async fn open(address: &Address) -> Result<AsyncConnection> {
    match address {
        Address::Inet { host, port } => {
            let mut last = None;
            for addr in ::tokio::net::lookup_host((host.as_str(), *port))
                .await
                .map_err(|e| address.error(&e.to_string()))?
            {
                match TcpStream::connect(addr).await {
                    Ok(s) => return Ok(AsyncConnection::from_tcp(s)),
                    Err(e) => last = Some(e),
                }
            }
            Err(last
                .map(Error::Io)
                .unwrap_or_else(|| address.error("the name resolved to no address")))
        }
        Address::Pipe(_) => Err(address.error("named pipes are not supported by the async API")),
        #[cfg(not(unix))]
        Address::Unix(_) | Address::Abstract(_) => {
            Err(address.error("AF_UNIX addresses need a Unix system"))
        }
        #[cfg(unix)]
        Address::Unix(_) | Address::Abstract(_) => open_unix(address).await,
    }
}

/// Connects an AF_UNIX stream socket.
#[cfg(unix)]
async fn open_unix(address: &Address) -> Result<AsyncConnection> {
    use std::io;
    use std::os::fd::OwnedFd;
    use std::time::Duration;

    use ::tokio::net::UnixStream;
    use socket2::{Domain, Socket, Type};

    let sockaddr = address.unix_sockaddr()?;
    // A non-blocking AF_UNIX connect fails with EAGAIN while the listener's backlog is
    // full, where a blocking one would wait: wait too, backing off.
    let mut pause = Duration::from_millis(1);
    loop {
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        match socket.connect(&sockaddr) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                ::tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(50));
                continue;
            }
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(e.into()),
        }
        let std = std::os::unix::net::UnixStream::from(OwnedFd::from(socket));
        let stream = UnixStream::from_std(std)?;
        stream.writable().await?;
        if let Some(e) = stream.take_error()? {
            return Err(e.into());
        }
        return Ok(AsyncConnection::from_unix(stream));
    }
}
