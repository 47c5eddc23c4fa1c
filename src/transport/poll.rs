//! Waiting for readiness with a timeout: one retry loop for `poll(2)` and `WSAPoll`.
use std::io;
use std::time::{Duration, Instant};

/// Calls `wait` with the milliseconds left of `timeout` (-1: block; rounded up, so a
/// short timeout does not become a busy poll) until it returns something other than an
/// EINTR error; returns what it returned (a count of ready entries).
fn retry(
    timeout: Option<Duration>,
    mut wait: impl FnMut(i32) -> io::Result<usize>,
) -> io::Result<usize> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let ms = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                left.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32
            }
        };
        match wait(ms) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// `poll(2)` over `fds`; returns how many entries have events. `None` blocks, zero polls.
#[cfg(unix)]
pub(crate) fn poll_fds(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<usize> {
    retry(timeout, |ms| {
        // SAFETY: `fds` is a valid, exclusively borrowed slice of pollfd structs and its
        // length is passed with it; poll(2) writes only their `revents` fields.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    })
}

/// Whether the socket is readable (or closed) within `timeout`, by `WSAPoll`.
#[cfg(windows)]
pub(crate) fn poll_socket(s: &std::net::TcpStream, timeout: Option<Duration>) -> io::Result<bool> {
    use std::os::windows::io::AsRawSocket;
    use windows_sys::Win32::Networking::WinSock::{WSAPoll, POLLRDNORM, WSAPOLLFD};
    let n = retry(timeout, |ms| {
        let mut fd = WSAPOLLFD {
            fd: s.as_raw_socket() as usize,
            events: POLLRDNORM,
            revents: 0,
        };
        // SAFETY: one valid WSAPOLLFD, exclusively borrowed for the call.
        let n = unsafe { WSAPoll(&mut fd, 1, ms) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    })?;
    Ok(n > 0)
}
