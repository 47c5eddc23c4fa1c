//! Addresses: where a listener listens or a client connects.
//!
//! | Python | [`Address`] | text form |
//! |---|---|---|
//! | `('localhost', 6000)` | `Inet { host: "localhost", port: 6000 }` | `localhost:6000` |
//! | `('::1', 6000)` | `Inet { host: "::1", port: 6000 }` | `[::1]:6000` |
//! | `'/tmp/sock'` | `Unix("/tmp/sock")` | `/tmp/sock` |
//! | `'\0name'` | `Abstract(b"name")` | `@name` |
//! | `r'\\.\pipe\name'` | `Pipe(r"\\.\pipe\name")` | `\\.\pipe\name` |
//!
//! ```
//! use mpconn::Address;
//! let a: Address = "[::1]:6000".parse().unwrap();
//! assert_eq!(a, Address::Inet { host: "::1".into(), port: 6000 });
//! assert_eq!(a.to_string(), "[::1]:6000");
//! assert_eq!("@mp".parse::<Address>().unwrap(), Address::Abstract(b"mp".to_vec()));
//! ```
use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use crate::{Error, Result};

/// Where a listener listens or a client connects, in the forms CPython accepts.
///
/// Parses and prints `host:port`, `[v6]:port`, a filesystem path (contains `/`) and
/// `@name` for the Linux abstract namespace (a leading NUL byte in Python). Non-printable
/// bytes of an abstract name print as `\xNN` escapes, which parse back.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Address {
    /// `(host, port)`: AF_INET or AF_INET6. `host` is a name or an IP literal.
    Inet {
        /// Host name or IP literal (no brackets).
        host: String,
        /// Port; 0 asks the system for a free one.
        port: u16,
    },
    /// A filesystem AF_UNIX path.
    Unix(PathBuf),
    /// A Linux abstract AF_UNIX name (without the leading NUL).
    Abstract(Vec<u8>),
    /// A Windows named pipe (AF_PIPE), `\\.\pipe\NAME` (or `\\server\pipe\NAME` for a
    /// client). Any text starting with two backslashes, as in CPython. Binding or
    /// connecting one off Windows gives [`Error::Address`].
    Pipe(String),
}

/// The address families, for [`crate::Listener::bind_any`] (Python's `family=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Family {
    /// `AF_INET`: `127.0.0.1` on a free port.
    Inet,
    /// `AF_UNIX` with a path in a fresh private temporary directory.
    Unix,
    /// `AF_UNIX` in the Linux abstract namespace, with a random name.
    Abstract,
    /// `AF_PIPE` (Windows named pipes), `\\.\pipe\mpconn-<random>`.
    Pipe,
}

impl Address {
    /// The family of this address.
    pub fn family(&self) -> Family {
        match self {
            Address::Inet { .. } => Family::Inet,
            Address::Unix(_) => Family::Unix,
            Address::Abstract(_) => Family::Abstract,
            Address::Pipe(_) => Family::Pipe,
        }
    }

    /// Resolves an [`Address::Inet`] to socket addresses (name lookup for host names).
    pub fn resolve(&self) -> Result<Vec<SocketAddr>> {
        match self {
            Address::Inet { host, port } => {
                let addrs: Vec<SocketAddr> = (host.as_str(), *port)
                    .to_socket_addrs()
                    .map_err(|e| self.error(&e.to_string()))?
                    .collect();
                if addrs.is_empty() {
                    return Err(self.error("the name resolved to no address"));
                }
                Ok(addrs)
            }
            _ => Err(self.error("not an internet address")),
        }
    }

    pub(crate) fn error(&self, reason: &str) -> Error {
        Error::Address {
            address: self.to_string(),
            reason: reason.to_string(),
        }
    }

    /// The socket2 address of a Unix or abstract address.
    #[cfg(unix)]
    pub(crate) fn unix_sockaddr(&self) -> Result<socket2::SockAddr> {
        let sockaddr = match self {
            Address::Unix(path) => socket2::SockAddr::unix(path),
            Address::Abstract(name) => {
                use std::os::unix::ffi::OsStrExt;
                let mut bytes = vec![0u8];
                bytes.extend_from_slice(name);
                socket2::SockAddr::unix(std::ffi::OsStr::from_bytes(&bytes))
            }
            Address::Inet { .. } | Address::Pipe(_) => return Err(self.error("not a unix address")),
        };
        sockaddr.map_err(|e| self.error(&e.to_string()))
    }

    /// The address of a socket2 address, `None` for an unnamed AF_UNIX socket.
    #[cfg(unix)]
    pub(crate) fn from_sockaddr(addr: &socket2::SockAddr) -> Option<Address> {
        if let Some(inet) = addr.as_socket() {
            return Some(Address::from(inet));
        }
        if let Some(name) = addr.as_abstract_namespace() {
            return Some(Address::Abstract(name.to_vec()));
        }
        addr.as_pathname()
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| Address::Unix(p.to_path_buf()))
    }
}

impl From<SocketAddr> for Address {
    fn from(addr: SocketAddr) -> Address {
        Address::Inet {
            host: addr.ip().to_string(),
            port: addr.port(),
        }
    }
}

impl std::str::FromStr for Address {
    type Err = Error;
    fn from_str(s: &str) -> Result<Address> {
        let bad = |reason: &str| Error::Address {
            address: s.to_string(),
            reason: reason.to_string(),
        };
        if s.starts_with(r"\\") {
            return Ok(Address::Pipe(s.to_string()));
        }
        if let Some(name) = s.strip_prefix('@') {
            return unescape(name)
                .map(Address::Abstract)
                .ok_or_else(|| bad("bad escape"));
        }
        if s.contains('/') {
            return Ok(Address::Unix(PathBuf::from(s)));
        }
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (host, port) = rest
                .split_once("]:")
                .ok_or_else(|| bad("expected [v6-address]:port"))?;
            (host, port)
        } else {
            let (host, port) = s
                .rsplit_once(':')
                .ok_or_else(|| bad("expected host:port, [v6]:port, a path with '/' or @name"))?;
            if host.contains(':') {
                return Err(bad("an IPv6 address needs brackets: [v6]:port"));
            }
            (host, port)
        };
        if host.is_empty() {
            return Err(bad("empty host"));
        }
        let port = port
            .parse::<u16>()
            .map_err(|_| bad("the port must be a number from 0 to 65535"))?;
        Ok(Address::Inet {
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Inet { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Address::Inet { host, port } => write!(f, "{host}:{port}"),
            // A path must contain '/' to parse back as one: `sock` prints as `./sock`.
            Address::Unix(path) if !path.as_os_str().as_encoded_bytes().contains(&b'/') => {
                write!(f, "./{}", path.display())
            }
            Address::Unix(path) => write!(f, "{}", path.display()),
            Address::Abstract(name) => write!(f, "@{}", name.escape_ascii()),
            Address::Pipe(name) => f.write_str(name),
        }
    }
}

/// Reverses `<[u8]>::escape_ascii`.
fn unescape(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let c = *bytes.get(i + 1)?;
        i += 2;
        out.push(match c {
            b'n' => b'\n',
            b't' => b'\t',
            b'r' => b'\r',
            b'\\' | b'\'' | b'"' => c,
            b'x' => {
                let hex = s.get(i..i + 2)?;
                i += 2;
                u8::from_str_radix(hex, 16).ok()?
            }
            _ => return None,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_round_trip() {
        for text in [
            "localhost:6000",
            "127.0.0.1:0",
            "[::1]:6000",
            "/tmp/x.sock",
            "./rel/sock",
            "@name",
            "@\\x00\\xffa\\n",
            r"\\.\pipe\mpconn",
            r"\\server\pipe\a/b:1",
        ] {
            let a: Address = text.parse().unwrap();
            assert_eq!(a.to_string(), text);
        }
        assert_eq!(Address::Unix("sock".into()).to_string(), "./sock");
        assert_eq!(
            r"\\.\pipe\x".parse::<Address>().unwrap(),
            Address::Pipe(r"\\.\pipe\x".into())
        );
        assert_eq!(
            "@\\x00a".parse::<Address>().unwrap(),
            Address::Abstract(vec![0, b'a'])
        );
    }

    #[cfg(not(windows))]
    #[test]
    fn pipe_addresses_need_windows() {
        let a: Address = r"\\.\pipe\x".parse().unwrap();
        let bound = crate::Listener::bind(&a, None);
        assert!(matches!(bound, Err(Error::Address { .. })), "{bound:?}");
        let connected = crate::Client::connect(&a, None);
        assert!(
            matches!(connected, Err(Error::Address { .. })),
            "{connected:?}"
        );
    }

    #[test]
    fn bad_forms_are_refused() {
        for text in ["", "host", "::1:80", "h:99999", ":80", "[::1]80", "@\\q"] {
            assert!(
                matches!(text.parse::<Address>(), Err(Error::Address { .. })),
                "{text}"
            );
        }
    }
}
