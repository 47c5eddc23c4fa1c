//! The client for `print_until_close`: sends `['a', 2.5, None, int, sum]`, then `'close'`
//! (authkey `b"secret password"`).
//!
//! The Rust twin of `python_interop/seeds/close_client.py`.
use mpconn::{Address, Client, Value};

fn main() -> mpconn::Result<()> {
    let address: Address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "localhost:6000".to_string())
        .parse()?;
    let mut conn = Client::connect(&address, Some(b"secret password"))?;
    // can also send arbitrary objects: `int` and `sum` travel as globals of builtins.
    let literal: Value = "['a', 2.5, None]".parse()?;
    let mut objects = literal.as_list().unwrap_or_default().to_vec();
    objects.push(Value::global("builtins", "int"));
    objects.push(Value::global("builtins", "sum"));
    conn.send(&Value::list(objects))?;
    conn.send(&"'close'".parse::<Value>()?)?;
    conn.close()
}
