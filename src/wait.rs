//! [`wait`]: Python's `multiprocessing.connection.wait`.
//!
//! ```
//! use mpconn::{pipe, wait, Waitable};
//! use std::time::Duration;
//! let (mut a, b) = pipe(true).unwrap();
//! let (c, _d) = pipe(true).unwrap();
//! a.send_bytes(b"hi").unwrap();
//! // Python: wait([b, c], timeout=0)
//! let ready = wait(&[&b as &dyn Waitable, &c], Some(Duration::ZERO)).unwrap();
//! assert_eq!(ready, vec![0]);
//! ```
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use crate::transport::poll::poll_fds;
use crate::{Connection, Listener, Result};

/// Something [`wait`] can wait on: a [`Connection`] (readable data, or the peer closed),
/// a [`Listener`] (a connection to accept), or any descriptor.
pub trait Waitable {
    /// The descriptor to watch for readability.
    fn wait_fd(&self) -> RawFd;
    /// True when the object is ready without looking at the descriptor (a connection
    /// with bytes already in its buffer).
    fn ready_now(&self) -> bool {
        false
    }
}

impl Waitable for Connection {
    fn wait_fd(&self) -> RawFd {
        self.as_raw_fd()
    }
    fn ready_now(&self) -> bool {
        self.has_buffered_data()
    }
}

impl Waitable for Listener {
    fn wait_fd(&self) -> RawFd {
        self.as_raw_fd()
    }
}

impl Waitable for BorrowedFd<'_> {
    fn wait_fd(&self) -> RawFd {
        self.as_raw_fd()
    }
}

impl<T: Waitable + ?Sized> Waitable for &T {
    fn wait_fd(&self) -> RawFd {
        (**self).wait_fd()
    }
    fn ready_now(&self) -> bool {
        (**self).ready_now()
    }
}

impl<T: Waitable + ?Sized> Waitable for &mut T {
    fn wait_fd(&self) -> RawFd {
        (**self).wait_fd()
    }
    fn ready_now(&self) -> bool {
        (**self).ready_now()
    }
}

/// Waits until at least one of `objects` is ready, or `timeout` passes (`None` blocks,
/// zero polls), and returns the indices of the ready ones, in order (empty on timeout).
///
/// A connection is ready when a message (or part of one) can be read, or when the peer
/// closed: the next receive then gives [`crate::Error::Eof`]. A listener is ready when
/// a connection waits to be accepted.
pub fn wait<T: Waitable>(objects: &[T], timeout: Option<Duration>) -> Result<Vec<usize>> {
    let mut fds: Vec<libc::pollfd> = objects
        .iter()
        .map(|o| libc::pollfd {
            fd: o.wait_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // Buffered bytes make an object ready now; still look at the others without blocking.
    let any_now = objects.iter().any(Waitable::ready_now);
    let timeout = if any_now {
        Some(Duration::ZERO)
    } else {
        timeout
    };
    poll_fds(&mut fds, timeout)?;
    Ok(objects
        .iter()
        .zip(&fds)
        .enumerate()
        .filter(|(_, (o, fd))| o.ready_now() || fd.revents != 0)
        .map(|(i, _)| i)
        .collect())
}
