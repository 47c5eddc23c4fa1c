//! An `x + y` server: every message is a pair `(x, y)`; the reply is `x + y`, with Python's
//! meaning of `+` for ints (of any size), floats, str, bytes, lists and tuples
//! (authkey `b"secret password"`).
//!
//! The Rust twin of `python_interop/seeds/add_server.py`:
//!
//! ```text
//! cargo run --example add_server -- 127.0.0.1:6000
//! python3 python_interop/seeds/add_client.py 127.0.0.1:6000
//! ```
use std::io::Write;

use mpconn::value::PyStr;
use mpconn::{Address, Connection, Error, Listener, Value};
use num_bigint::BigInt;
use num_traits::ToPrimitive;

/// An int of either representation, as a `BigInt`.
fn big(v: &Value) -> Option<BigInt> {
    match v {
        Value::Int(i) => Some(BigInt::from(*i)),
        Value::BigInt(b) => Some(b.as_ref().clone()),
        Value::Bool(b) => Some(BigInt::from(i64::from(*b))),
        _ => None,
    }
}

/// A number as a float (Python converts the int side of `int + float`).
fn float(v: &Value) -> Option<f64> {
    match v {
        Value::Float(f) => Some(*f),
        other => big(other).and_then(|b| b.to_f64()),
    }
}

/// Python's `x + y` for the types a pickle carries by value.
fn add(x: &Value, y: &Value) -> Result<Value, String> {
    Ok(match (x, y) {
        (Value::Float(_), _) | (_, Value::Float(_)) => match (float(x), float(y)) {
            (Some(a), Some(b)) => Value::Float(a + b),
            _ => return Err(unsupported(x, y)),
        },
        (Value::Str(a), Value::Str(b)) => {
            let mut joined = a.as_bytes().to_vec();
            joined.extend_from_slice(b.as_bytes());
            // Both halves are surrogatepass UTF-8, so their concatenation is too.
            Value::Str(PyStr::from_surrogatepass(&joined).ok_or("bad str")?)
        }
        (Value::Bytes(a), Value::Bytes(b)) => Value::bytes(&[a.as_ref(), b.as_ref()].concat()),
        (Value::List(a), Value::List(b)) => Value::list([a.as_slice(), b.as_slice()].concat()),
        (Value::Tuple(a), Value::Tuple(b)) => Value::tuple([a.as_slice(), b.as_slice()].concat()),
        _ => match (big(x), big(y)) {
            (Some(a), Some(b)) => Value::int(a + b),
            _ => return Err(unsupported(x, y)),
        },
    })
}

fn unsupported(x: &Value, y: &Value) -> String {
    format!(
        "unsupported operand type(s) for +: '{}' and '{}'",
        x.type_name(),
        y.type_name()
    )
}

/// Answers pairs until the client closes.
fn serve(conn: &mut Connection) -> mpconn::Result<()> {
    loop {
        let pair = match conn.recv() {
            Ok(pair) => pair,
            Err(Error::Eof) => return Ok(()),
            Err(e) => return Err(e),
        };
        let sum = match &pair {
            Value::Tuple(items) | Value::List(items) if items.len() == 2 => {
                add(&items[0], &items[1]).map_err(Error::Value)?
            }
            other => return Err(Error::Value(format!("expected a pair (x, y), got {other}"))),
        };
        conn.send(&sum)?;
    }
}

fn main() -> mpconn::Result<()> {
    let address: Address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "localhost:6000".to_string())
        .parse()?;
    let listener = Listener::bind(&address, Some(b"secret password"))?;
    println!("listening on {}", listener.address());
    std::io::stdout().flush()?;
    loop {
        let mut conn = match listener.accept() {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("refused: {e}");
                continue;
            }
        };
        if let Err(e) = serve(&mut conn) {
            // Python's server would die with a TypeError; this one drops the connection.
            eprintln!("dropping the connection: {e}");
        }
    }
}
