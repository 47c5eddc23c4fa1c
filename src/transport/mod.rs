//! The byte streams under a connection, and waiting on them: the transport layer.
//!
//! * [`stream`]: one [`Stream`] type over TCP, AF_UNIX, an inherited descriptor (an OS
//!   pipe end) and, on Windows, a named pipe; it says how it delimits messages
//!   ([`crate::wire::send::Framing`]), so the connection above needs no platform branches;
//! * `windows_pipe` (Windows only): named pipes in message mode, as CPython's
//!   `PipeListener`, `PipeClient` and `PipeConnection` use them;
//! * [`poll`]: readiness with a timeout (`poll(2)`, `WSAPoll`), retried on EINTR.
//!
//! Nothing here builds API objects ([`crate::Connection`], [`crate::Listener`]); the
//! API layer builds them from these streams.

pub(crate) mod poll;
pub(crate) mod stream;
#[cfg(windows)]
pub(crate) mod windows_pipe;

pub(crate) use stream::Stream;
