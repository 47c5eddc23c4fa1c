//! Seed 003's `wait` demo in Rust: four producers, one consumer.
//!
//! Two producers are Rust threads and two are CPython child processes that inherit the
//! write end of a one-way pipe (Python's `pass_fds`) and wrap it with
//! `multiprocessing.connection.Connection(fd)`. Each sends ten `(i, name)` tuples and
//! closes. The consumer waits on the four read ends with [`mpconn::wait`] until every
//! producer has closed, printing each message and each EOF.
//!
//! ```text
//! cargo run --example wait_producers [PYTHON]      # PYTHON defaults to python3
//! ```
//! The Python it mirrors:
//! ```python
//! readers = []
//! for name in names:
//!     r, w = Pipe(duplex=False)
//!     readers.append(r)
//!     Process(target=produce, args=(w, name)).start()
//!     w.close()
//! while readers:
//!     for r in wait(readers):
//!         try:
//!             print(r.recv())
//!         except EOFError:
//!             readers.remove(r)
//! ```

#[cfg(unix)]
use std::os::fd::AsRawFd;
#[cfg(unix)]
use std::process::{Child, Command};

#[cfg(unix)]
use mpconn::{pipe, wait, Connection, Error, Value};

#[cfg(unix)]
const PRODUCER: &str = "
import sys
from multiprocessing.connection import Connection
c = Connection(int(sys.argv[1]), readable=False)
for i in range(10):
    c.send((i, sys.argv[2]))
c.close()
";

/// Starts `python` producing on `writer`'s descriptor (made inheritable for the spawn).
#[cfg(unix)]
fn spawn_python(python: &str, name: &str, writer: Connection) -> std::io::Result<Child> {
    let fd = writer.as_raw_fd();
    // The descriptor is close-on-exec; clear the flag so the child inherits it. The
    // parent's copy is closed right after the spawn (when `writer` drops).
    // SAFETY: fcntl on a descriptor this process owns.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Command::new(python)
        .args(["-c", PRODUCER, &fd.to_string(), name])
        .spawn()
}

#[cfg(not(unix))]
fn main() {
    eprintln!("wait_producers hands OS pipe descriptors to CPython children: Unix only");
}

#[cfg(unix)]
fn main() -> mpconn::Result<()> {
    let python = std::env::args().nth(1).unwrap_or_else(|| "python3".into());
    let mut readers: Vec<(String, Connection)> = Vec::new();
    let mut threads = Vec::new();
    let mut children = Vec::new();
    for (k, name) in ["rust-1", "python-1", "rust-2", "python-2"]
        .iter()
        .enumerate()
    {
        let (reader, mut writer) = pipe(false)?;
        readers.push((name.to_string(), reader));
        if k % 2 == 0 {
            let name = name.to_string();
            threads.push(std::thread::spawn(move || -> mpconn::Result<()> {
                for i in 0..10i64 {
                    writer.send(&Value::tuple(vec![
                        Value::Int(i),
                        Value::from(name.as_str()),
                    ]))?;
                }
                Ok(())
            }));
        } else {
            children.push(spawn_python(&python, name, writer)?);
        }
    }
    let mut received = 0;
    while !readers.is_empty() {
        let conns: Vec<&Connection> = readers.iter().map(|(_, c)| c).collect();
        let ready = wait(&conns, None)?;
        // Highest index first, so removing an entry leaves the others' indices valid.
        for &i in ready.iter().rev() {
            match readers[i].1.recv() {
                Ok(v) => {
                    received += 1;
                    println!("{v}");
                }
                Err(Error::Eof) => {
                    println!("EOF {}", readers[i].0);
                    readers.remove(i);
                }
                Err(e) => return Err(e),
            }
        }
    }
    for t in threads {
        t.join().expect("producer thread")?;
    }
    for mut c in children {
        let status = c.wait()?;
        if !status.success() {
            eprintln!("a CPython producer failed: {status}");
            std::process::exit(1);
        }
    }
    println!("received {received} messages from 4 producers");
    Ok(())
}
