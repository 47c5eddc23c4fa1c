//! A listener that prints every message (as Python's `repr`) until it receives `'close'`
//! (authkey `b"secret password"`).
//!
//! The Rust twin of `python_interop/seeds/print_until_close.py`:
//!
//! ```text
//! cargo run --example print_until_close -- 127.0.0.1:6000
//! python3 python_interop/seeds/close_client.py 127.0.0.1:6000
//! ```
use std::io::Write;

use mpconn::{Address, Listener, Value};

fn main() -> mpconn::Result<()> {
    let address: Address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "localhost:6000".to_string())
        .parse()?;
    let listener = Listener::bind(&address, Some(b"secret password"))?;
    println!("listening on {}", listener.address());
    std::io::stdout().flush()?;
    let mut conn = listener.accept()?;
    match listener.last_accepted() {
        Some(peer) => println!("connection accepted from {peer}"),
        None => println!("connection accepted from "),
    }
    loop {
        let msg = conn.recv()?;
        // do something with msg
        println!("{msg}");
        std::io::stdout().flush()?;
        if matches!(&msg, Value::Str(s) if *s == "close") {
            conn.close()?;
            break;
        }
    }
    Ok(())
}
