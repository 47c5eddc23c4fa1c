//! The client for `send_objects`: `recv`, `recv_bytes`, then `recv_bytes_into` a buffer the
//! size of `array('i', [0, 0, 0, 0, 0])` (authkey `b"secret password"`).
//!
//! The Rust twin of `python_interop/seeds/recv_objects_client.py`; prints the same lines.
use mpconn::{Address, Client, Value};

fn main() -> mpconn::Result<()> {
    let address: Address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "localhost:6000".to_string())
        .parse()?;
    let mut conn = Client::connect(&address, Some(b"secret password"))?;
    println!("{}", conn.recv()?); // => [2.25, None, 'junk', <class 'float'>]

    println!("{}", Value::bytes(&conn.recv_bytes()?)); // => b'hello'

    let mut arr = [0u8; 5 * 4]; // five C ints
    let n = conn.recv_bytes_into(&mut arr, 0)?;
    println!("{n}"); // => 8
    let ints: Vec<String> = arr
        .chunks_exact(4)
        .map(|c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]]).to_string())
        .collect();
    println!("array('i', [{}])", ints.join(", ")); // => array('i', [12, 33, 0, 0, 0])
    conn.close()
}
