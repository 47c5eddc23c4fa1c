//! A pipe end handed to a Rust child process: `set_inheritable` in the parent, the
//! descriptor number on the child's command line, `from_owned_fd` in the child. The
//! child is this test executable run again on `inherited_end_child` only.
#![cfg(unix)]

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::Command;

use mpconn::{pipe, Connection, Value};

const CHILD_FD: &str = "MPCONN_TEST_CHILD_FD";
/// The child's exit status when the descriptor it was given is not open.
const NOT_INHERITED: i32 = 3;

/// Runs only as the child: sends one value and one reply to what it receives.
#[test]
fn inherited_end_child() {
    let Ok(fd) = std::env::var(CHILD_FD) else {
        return; // run as an ordinary test: nothing to do
    };
    let fd: i32 = fd.parse().unwrap();
    // SAFETY: F_GETFD on a descriptor number; no pointers are passed.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        std::process::exit(NOT_INHERITED);
    }
    // SAFETY: the parent passed this descriptor to this process for it alone.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut conn = Connection::from_owned_fd(fd).unwrap();
    conn.send(&Value::from("hello from the child")).unwrap();
    let got = conn.recv_bytes().unwrap();
    conn.send_bytes(&[got.as_slice(), b" back"].concat())
        .unwrap();
}

fn spawn_child(fd: i32) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "inherited_end_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_FD, fd.to_string())
        .spawn()
        .unwrap()
}

#[test]
fn a_rust_child_talks_over_an_inherited_duplex_end() {
    let (mut ours, theirs) = pipe(true).unwrap();
    theirs.set_inheritable(true).unwrap();
    let mut child = spawn_child(theirs.as_raw_fd());
    drop(theirs);
    assert_eq!(ours.recv().unwrap(), Value::from("hello from the child"));
    ours.send_bytes(b"ping").unwrap();
    assert_eq!(ours.recv_bytes().unwrap(), b"ping back");
    assert!(child.wait().unwrap().success());
    // The child held the only other end: it is gone.
    assert!(matches!(ours.recv_bytes(), Err(mpconn::Error::Eof)));
}

#[test]
fn an_end_left_close_on_exec_does_not_reach_the_child() {
    let (mut ours, theirs) = pipe(true).unwrap();
    theirs.set_inheritable(true).unwrap();
    theirs.set_inheritable(false).unwrap();
    let mut child = spawn_child(theirs.as_raw_fd());
    drop(theirs);
    // The descriptor was closed on exec: the child found nothing to wrap, and the
    // only other end is gone.
    assert_eq!(child.wait().unwrap().code(), Some(NOT_INHERITED));
    assert!(matches!(ours.recv_bytes(), Err(mpconn::Error::Eof)));
}
