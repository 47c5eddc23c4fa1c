//! wait, pipe and fd passing: Rust ends, CPython children on inherited descriptors.
#![cfg(unix)]
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::thread;
use std::time::Duration;

#[path = "common/cpython.rs"]
mod cpython;

use cpython::interpreters;
use mpconn::{pipe, wait, Connection, Error, Family, Listener, ListenerOptions, Waitable};

/// Runs `python -c script` with `fd` inherited as descriptor 3.
fn spawn_with_fd(python: &str, script: &str, args: &[&str], fd: RawFd) -> Child {
    let mut cmd = Command::new(python);
    cmd.arg("-c").arg(script).args(args);
    // SAFETY: only async-signal-safe calls (dup2, fcntl) run between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if fd == 3 {
                if libc::fcntl(3, libc::F_SETFD, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if libc::dup2(fd, 3) != 3 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn().expect("spawn python")
}

const ECHO: &str = "
from multiprocessing.connection import Connection
c = Connection(3)
try:
    while True:
        c.send_bytes(c.recv_bytes())
except EOFError:
    pass
";

#[test]
fn fd_passed_to_a_cpython_child_carries_messages_both_ways() {
    for python in interpreters() {
        let (mut ours, theirs) = pipe(true).unwrap();
        let mut child = spawn_with_fd(&python, ECHO, &[], theirs.as_raw_fd());
        drop(theirs);
        for size in [0usize, 1, 16384, 16385, 1 << 20] {
            let msg: Vec<u8> = (0..size).map(|i| (i % 249) as u8).collect();
            ours.send_bytes(&msg).unwrap();
            assert_eq!(ours.recv_bytes().unwrap(), msg, "{python}: {size} bytes");
        }
        drop(ours);
        assert!(child.wait().unwrap().success(), "{python}");
    }
}

#[test]
fn one_way_pipe_ends_refuse_the_wrong_direction() {
    let (mut reader, mut writer) = pipe(false).unwrap();
    assert!(reader.readable() && !reader.writable());
    assert!(writer.writable() && !writer.readable());
    assert!(matches!(reader.send_bytes(b"x"), Err(Error::Closed(_))));
    assert!(matches!(writer.recv_bytes(), Err(Error::Closed(_))));
    writer.send_bytes(b"ok").unwrap();
    assert_eq!(reader.recv_bytes().unwrap(), b"ok");
}

#[test]
fn wait_returns_ready_pipes_and_closed_peers() {
    let (mut a1, b1) = pipe(true).unwrap();
    let (a2, b2) = pipe(true).unwrap();
    let objects = [&b1, &b2];
    assert!(wait(&objects, Some(Duration::ZERO)).unwrap().is_empty());
    a1.send_bytes(b"x").unwrap();
    assert_eq!(wait(&objects, None).unwrap(), vec![0]);
    drop(a2);
    assert_eq!(wait(&objects, None).unwrap(), vec![0, 1]);
    let mut b2 = b2;
    assert!(matches!(b2.recv_bytes(), Err(Error::Eof)));
}

#[test]
fn wait_counts_buffered_messages_as_ready() {
    let (mut a, mut b) = pipe(true).unwrap();
    // Two small messages arrive in one read; the second then sits in b's buffer.
    a.send_bytes(b"one").unwrap();
    a.send_bytes(b"two").unwrap();
    while !b.poll(Some(Duration::ZERO)).unwrap() {}
    assert_eq!(b.recv_bytes().unwrap(), b"one");
    if b.has_buffered_data() {
        assert_eq!(wait(&[&b], Some(Duration::ZERO)).unwrap(), vec![0]);
    }
    assert_eq!(b.recv_bytes().unwrap(), b"two");
}

#[test]
fn wait_over_listeners_and_connections() {
    let listener = Listener::bind_any(Family::Abstract, ListenerOptions::new()).unwrap();
    let (_a, b) = pipe(true).unwrap();
    let address = listener.address();
    assert!(
        wait(&[&listener as &dyn Waitable, &b], Some(Duration::ZERO))
            .unwrap()
            .is_empty()
    );
    let _client = mpconn::Client::connect(&address, None).unwrap();
    assert_eq!(
        wait(&[&listener as &dyn Waitable, &b], None).unwrap(),
        vec![0]
    );
    listener.accept().unwrap();
}

const PRODUCER: &str = "
import sys
from multiprocessing.connection import Connection
c = Connection(3, readable=False)
for i in range(10):
    c.send_bytes(('%d,%s' % (i, sys.argv[1])).encode())
c.close()
";

#[test]
fn wait_demo_four_producers_rust_threads_and_cpython_children() {
    let pythons = interpreters();
    let mut readers: Vec<Connection> = Vec::new();
    let mut children = Vec::new();
    let mut threads = Vec::new();
    for p in 0..4 {
        let (reader, mut writer) = pipe(false).unwrap();
        readers.push(reader);
        let name = format!("producer{p}");
        if p % 2 == 1 && !pythons.is_empty() {
            let python = &pythons[p / 2 % pythons.len()];
            children.push(spawn_with_fd(
                python,
                PRODUCER,
                &[&name],
                writer.as_raw_fd(),
            ));
            drop(writer);
        } else {
            threads.push(thread::spawn(move || {
                for i in 0..10 {
                    writer.send_bytes(format!("{i},{name}").as_bytes()).unwrap();
                }
            }));
        }
    }
    let mut received = Vec::new();
    let mut eofs = 0;
    while !readers.is_empty() {
        let ready = wait(&readers, None).unwrap();
        for &i in ready.iter().rev() {
            match readers[i].recv_bytes() {
                Ok(msg) => received.push(String::from_utf8(msg).unwrap()),
                Err(Error::Eof) => {
                    eofs += 1;
                    readers.remove(i);
                }
                Err(e) => panic!("{e}"),
            }
        }
    }
    for t in threads {
        t.join().unwrap();
    }
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    assert_eq!(eofs, 4);
    received.sort();
    assert_eq!(received.len(), 40, "{received:?}");
    for p in 0..4 {
        for i in 0..10 {
            assert!(received.contains(&format!("{i},producer{p}")));
        }
    }
}
