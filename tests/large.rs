//! One message over 2 GiB each way with a CPython child (the 64-bit header on the wire).
//! Slow and memory-hungry (about 8 GB at peak): run with `cargo test --test large -- --ignored`.
#![cfg(unix)]
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::Command;

const ECHO_LEN: &str = "
from multiprocessing.connection import Connection
c = Connection(3)
m = c.recv_bytes()
c.send_bytes(str(len(m)).encode() + b',' + m[:3] + m[-3:])
del m
c.send_bytes(b'y' * (2**31 + 7))
";

#[test]
#[ignore = "slow: over 2 GiB each way; run with --ignored"]
fn a_message_over_2_gib_each_way_with_cpython() {
    let (mut ours, theirs) = mpconn::pipe(true).unwrap();
    let fd = theirs.as_raw_fd();
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(ECHO_LEN);
    // SAFETY: only async-signal-safe calls (dup2, fcntl) run between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0);
            } else if libc::dup2(fd, 3) != 3 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    drop(theirs);
    let n = (1usize << 31) + 5;
    let mut big = vec![b'x'; n];
    big[0] = b'a';
    big[n - 1] = b'z';
    ours.send_bytes(&big).unwrap();
    drop(big);
    assert_eq!(
        ours.recv_bytes().unwrap(),
        format!("{n},axxxxz").into_bytes()
    );
    ours.set_max_message_size(None);
    let back = ours.recv_bytes().unwrap();
    assert_eq!(back.len(), (1 << 31) + 7);
    assert!(back.iter().all(|&b| b == b'y'));
    assert!(child.wait().unwrap().success());
}
