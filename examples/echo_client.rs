//! Echo client: sends a few objects to an echo server and prints each reply as Python's
//! `repr` (authkey `b"peekaboo"`).
//!
//! The Rust twin of `python_interop/seeds/echo_client.py`:
//!
//! ```text
//! python3 python_interop/seeds/echo_server.py 127.0.0.1:6000
//! cargo run --example echo_client -- 127.0.0.1:6000
//! ```
use mpconn::{Address, Client, Value};

/// The objects the Python client sends, as Python literals.
const LITERALS: &[&str] = &[
    "'hello'",
    "42",
    "2.25",
    "None",
    "True",
    "b'\\x00bytes'",
    "[1, 2]",
    "('a', (1,))",
    "{'k': [True, False]}",
    "1267650600228229401496703205376",
];

fn main() -> mpconn::Result<()> {
    let address: Address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "localhost:6000".to_string())
        .parse()?;
    let mut values = LITERALS
        .iter()
        .map(|text| text.parse::<Value>())
        .collect::<mpconn::Result<Vec<_>>>()?;
    // [2.25, None, 'junk', float]: `float` travels as the global builtins.float.
    let literal: Value = "[2.25, None, 'junk']".parse()?;
    let mut seed = literal.as_list().unwrap_or_default().to_vec();
    seed.push(Value::global("builtins", "float"));
    values.push(Value::list(seed));

    let mut conn = Client::connect(&address, Some(b"peekaboo"))?;
    for value in &values {
        conn.send(value)?;
        let reply = conn.recv()?;
        println!("{reply}");
    }
    conn.close()
}
