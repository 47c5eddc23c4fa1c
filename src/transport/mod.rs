//! The byte streams under a connection, and waiting on them: the transport layer.
//!
//! * [`stream`]: one [`Stream`] type over TCP, AF_UNIX, an inherited descriptor (an OS
//!   pipe end) and, on Windows, a named pipe; it says how it delimits messages
//!   ([`crate::wire::send::Framing`]), so the connection above needs no platform branches;
//! * `windows_pipe` (Windows only): named pipes in message mode, as CPython's
//!   `PipeListener`, `PipeClient` and `PipeConnection` use them;
//! * [`listen`]: a bound listening socket, and the clean-up (socket file, private
//!   directory) it owes on drop;
//! * [`poll`]: readiness with a timeout (`poll(2)`, `WSAPoll`), retried on EINTR.
//!
//! Nothing here builds API objects ([`crate::Connection`], [`crate::Listener`]); the
//! API layer builds them from these streams.

pub(crate) mod listen;
pub(crate) mod poll;
pub(crate) mod stream;
#[cfg(windows)]
pub(crate) mod windows_pipe;

pub(crate) use stream::Stream;

use crate::{Address, Result};

/// Refuses an address this platform has no transport for, as CPython does: AF_UNIX
/// needs a Unix system, named pipes (AF_PIPE) exist only on Windows.
pub(crate) fn check_family(address: &Address) -> Result<()> {
    match address {
        Address::Unix(_) | Address::Abstract(_) if !cfg!(unix) => {
            Err(address.error("AF_UNIX addresses need a Unix system"))
        }
        Address::Pipe(_) if !cfg!(windows) => {
            Err(address.error("named pipes (AF_PIPE) exist only on Windows"))
        }
        _ => Ok(()),
    }
}

/// `AsFd` and `AsRawFd` (Unix) for a type, given how to borrow its descriptor:
/// `impl_fd!(Connection, |c| c.stream.as_fd());`
macro_rules! impl_fd {
    ($ty:ty, |$this:ident| $fd:expr) => {
        #[cfg(unix)]
        impl std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                let $this = self;
                $fd
            }
        }

        #[cfg(unix)]
        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                std::os::fd::AsRawFd::as_raw_fd(&std::os::fd::AsFd::as_fd(self))
            }
        }
    };
}
pub(crate) use impl_fd;
