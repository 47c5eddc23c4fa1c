//! [`pipe`]: Python's `multiprocessing.Pipe(duplex)`.
#[cfg(unix)]
use std::os::fd::{FromRawFd, OwnedFd};
#[cfg(unix)]
use std::os::unix::net::UnixStream;

use crate::transport::Stream;
use crate::{Connection, Result};

/// A pair of connected ends (Python's `Pipe(duplex)`).
///
/// * `duplex = true`: both ends send and receive, over a socket pair.
/// * `duplex = false`: `(reader, writer)` over an OS pipe; the reader cannot send and the
///   writer cannot receive (both give [`crate::Error::Closed`]), as in CPython.
///
/// Both descriptors are close-on-exec; pass one to a child process explicitly and wrap
/// it there:
///
/// * a Python child: `subprocess.Popen([...], pass_fds=[fd])`, then
///   `multiprocessing.connection.Connection(fd)` in the child;
/// * a Rust child: [`Connection::set_inheritable`] on the end, its number on the command
///   line of a [`std::process::Command`], then [`Connection::from_owned_fd`] in the
///   child (the example is on [`Connection::set_inheritable`]).
///
/// ```
/// let (mut reader, mut writer) = mpconn::pipe(false).unwrap();
/// writer.send_bytes(b"one way").unwrap();
/// assert_eq!(reader.recv_bytes().unwrap(), b"one way");
/// assert!(reader.send_bytes(b"no").is_err());
/// ```
///
/// On Windows both ends are a connected pair of named pipe handles with a random name,
/// as in CPython (a one-way pair restricts each end's direction).
pub fn pipe(duplex: bool) -> Result<(Connection, Connection)> {
    #[cfg(windows)]
    {
        let (a, b) = crate::transport::windows_pipe::pair()?;
        let mut a = Connection::new(Stream::Pipe(a));
        let mut b = Connection::new(Stream::Pipe(b));
        if !duplex {
            a.set_direction(true, false);
            b.set_direction(false, true);
        }
        Ok((a, b))
    }
    #[cfg(unix)]
    {
        unix_pair(duplex)
    }
}

#[cfg(unix)]
fn unix_pair(duplex: bool) -> Result<(Connection, Connection)> {
    if duplex {
        let (a, b) = UnixStream::pair()?;
        return Ok((Connection::from_unix(a), Connection::from_unix(b)));
    }
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2(2) writes two new descriptors into the two-element array we pass.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    // SAFETY: both descriptors were just created by pipe2 and are owned by nobody else.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let mut reader = Connection::new(Stream::Fd(r.into()));
    let mut writer = Connection::new(Stream::Fd(w.into()));
    reader.set_direction(true, false);
    writer.set_direction(false, true);
    Ok((reader, writer))
}
