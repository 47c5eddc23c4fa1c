//! The client for the `x + y` server: sends pairs and prints each sum as Python's `repr`
//! (authkey `b"secret password"`).
//!
//! The Rust twin of `python_interop/seeds/add_client.py`.
use mpconn::{Address, Client, Value};

/// The pairs the Python client sends, as Python literals.
const PAIRS: &[&str] = &[
    "(1, 2)",
    "(-7, 7)",
    "(2.5, 0.25)",
    "(1, 0.5)",
    "('abc', 'def')",
    "(b'ab', b'cd')",
    "([1], [2, 3])",
    "((1,), (2,))",
    "(4611686018427387904, 4611686018427387904)",
    "(1267650600228229401496703205376, -1267650600228229401496703205376)",
];

fn main() -> mpconn::Result<()> {
    let address: Address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "localhost:6000".to_string())
        .parse()?;
    let mut conn = Client::connect(&address, Some(b"secret password"))?;
    for text in PAIRS {
        conn.send(&text.parse::<Value>()?)?;
        println!("{}", conn.recv()?);
    }
    conn.close()
}
