//! Echo server: answers every message with the same object (authkey `b"peekaboo"`).
//!
//! The Rust twin of `python_interop/seeds/echo_server.py`. Run it, then a client of either
//! language:
//!
//! ```text
//! cargo run --example echo_server -- 127.0.0.1:6000
//! python3 python_interop/seeds/echo_client.py 127.0.0.1:6000
//! ```
use std::io::Write;

use mpconn::{Address, Error, Listener};

fn main() -> mpconn::Result<()> {
    let address: Address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "localhost:6000".to_string())
        .parse()?;
    let listener = Listener::bind(&address, Some(b"peekaboo"))?;
    println!("listening on {}", listener.address());
    std::io::stdout().flush()?;
    loop {
        let mut conn = match listener.accept() {
            Ok(conn) => conn,
            Err(e) => {
                println!("refused: {e}");
                continue;
            }
        };
        match listener.last_accepted() {
            Some(peer) => println!("connection accepted from {peer}"),
            None => println!("connection accepted"),
        }
        std::io::stdout().flush()?;
        loop {
            match conn.recv() {
                Ok(value) => conn.send(&value)?,
                Err(Error::Eof) => break,
                Err(e) => {
                    eprintln!("dropping the connection: {e}");
                    break;
                }
            }
        }
    }
}
