//! Addresses (stub: being written).
use std::path::PathBuf;

/// Where a listener listens or a client connects, in the forms CPython accepts.
///
/// Parses and prints `host:port`, `[v6]:port`, a filesystem path (contains `/`) and
/// `@name` for the Linux abstract namespace (a leading NUL byte in Python).
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
}

impl std::str::FromStr for Address {
    type Err = crate::Error;
    fn from_str(_s: &str) -> crate::Result<Address> {
        todo!()
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, _f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        todo!()
    }
}
