//! A listener that sends `[2.25, None, 'junk', float]`, then `send_bytes(b'hello')`, then the
//! bytes of `array('i', [12, 33])`, and closes (authkey `b"secret password"`).
//!
//! The Rust twin of `python_interop/seeds/send_objects.py`; read it with
//! `recv_objects_client` (either language).
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

    let literal: Value = "[2.25, None, 'junk']".parse()?;
    let mut objects = literal.as_list().unwrap_or_default().to_vec();
    objects.push(Value::global("builtins", "float"));
    conn.send(&Value::list(objects))?;

    conn.send_bytes(b"hello")?;

    // array('i', [12, 33]).tobytes(): C ints in native order (little-endian here).
    let array: Vec<u8> = [12i32, 33].iter().flat_map(|i| i.to_ne_bytes()).collect();
    conn.send_bytes(&array)?;
    conn.close()
}
