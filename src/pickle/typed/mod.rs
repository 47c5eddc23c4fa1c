//! Typed Rust values ⇄ pickle bytes through serde, with no [`Value`] in between.
//!
//! The front door is named as serde_json's: [`from_slice`] and [`to_vec`] (also at the
//! crate root, `mpconn::from_slice` / `mpconn::to_vec`), plus `_with` forms taking the
//! codec options. [`Connection::send_obj`](crate::Connection::send_obj) and
//! [`recv_obj`](crate::Connection::recv_obj) (and the tokio ones) use them.
//!
//! The result is always the one of the `Value` path: `from_slice(b)` gives what
//! `from_value(loads(b))` gives (the same value, or the same error), and CPython loads
//! `to_vec(x)` into what it loads from `dumps(to_value(x))`. The mapping of Rust types to
//! Python ones is [`to_value`](crate::to_value)'s; see [`crate::value`].
//!
//! * Decoding reads opcodes as the type asks (`de.rs`, over `read.rs`), borrowing `&str`
//!   and `&[u8]` from the message, reading a memo `GET` by re-reading the memoized bytes.
//!   The memo's storage is kept per thread for the next message (bounded), so that a
//!   stream of messages does not map fresh pages for each one.
//!   What it does not handle directly (objects such as a dataclass whose state fills a
//!   struct, protocol 0 and 1 text opcodes, cycles, nesting beyond 128 levels, a tuple
//!   whose first item is a container, a value of a type that does not fit) is decoded
//!   through `Value`, so nothing is lost and every mismatch is the same typed error.
//! * Encoding (`ser.rs`) writes what CPython's pickler writes for the equal Python
//!   object: memo, batches of 1000, frames; struct field names repeated across records
//!   are written once and then fetched from the memo, as CPython does for shared keys.

mod de;
mod read;
mod ser;

use serde::{Deserialize, Serialize};

use super::{DecodeOptions, EncodeOptions};
#[cfg(doc)]
use crate::Value;
use crate::{Error, Result};

/// Deserializes a `T` from one pickle (as `serde_json::from_slice` does from JSON).
///
/// ```
/// #[derive(serde::Deserialize, Debug, PartialEq)]
/// struct Item<'a> { id: i64, name: &'a str }
/// // pickle.dumps({'id': 7, 'name': 'x'}, protocol=4)
/// let data = b"\x80\x04\x95\x15\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x02id\x94K\x07\x8c\x04name\x94\x8c\x01x\x94u.";
/// let item: Item = mpconn::from_slice(data).unwrap();
/// assert_eq!(item, Item { id: 7, name: "x" });
/// ```
///
/// # Errors
/// [`Error::Pickle`] when the bytes are not a pickle `loads` accepts; [`Error::Value`] when
/// the value does not fit `T` (the message names the place, as [`crate::from_value`]'s).
pub fn from_slice<'de, T: Deserialize<'de>>(data: &'de [u8]) -> Result<T> {
    from_slice_with(data, &DecodeOptions::default())
}

/// [`from_slice`] under decoder limits.
///
/// # Errors
/// As [`from_slice`]; a pickle beyond `options`' limits is [`Error::Pickle`].
pub fn from_slice_with<'de, T: Deserialize<'de>>(
    data: &'de [u8],
    options: &DecodeOptions,
) -> Result<T> {
    let mut reader = read::Reader::new(data, options.max_alloc, options.max_memo);
    match de::read(&mut reader) {
        Ok(v) => Ok(v),
        Err(read::Fail::Limit(e)) => Err(Error::Pickle(e)),
        Err(read::Fail::Bail | read::Fail::Custom(_)) => {
            let value = super::loads_with(data, options)?;
            crate::value::from_value_ref(&value)
        }
    }
}

/// Serializes `value` to a pickle, protocol 4 (as `serde_json::to_vec` does to JSON).
///
/// ```
/// #[derive(serde::Serialize)]
/// struct Item { id: i64, name: String }
/// let bytes = mpconn::to_vec(&Item { id: 7, name: "x".into() }).unwrap();
/// assert_eq!(mpconn::loads(&bytes).unwrap().to_string(), "{'id': 7, 'name': 'x'}");
/// ```
///
/// # Errors
/// [`Error::Value`] when the type's `Serialize` implementation reports an error.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    to_vec_with(value, &EncodeOptions::default())
}

/// [`to_vec`] under `options` (protocol 2–5).
///
/// # Errors
/// As [`to_vec`]; [`Error::Pickle`] for a protocol outside 2–5.
pub fn to_vec_with<T: Serialize + ?Sized>(value: &T, options: &EncodeOptions) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    to_vec_into(value, options, &mut out)?;
    Ok(out)
}

/// [`to_vec_with`], appending to `out` (lets a caller keep room for a frame header).
///
/// # Errors
/// As [`to_vec_with`].
pub fn to_vec_into<T: Serialize + ?Sized>(
    value: &T,
    options: &EncodeOptions,
    out: &mut Vec<u8>,
) -> Result<()> {
    if !(3..=5).contains(&options.protocol) {
        // Protocol 2 spells bytes as a `_codecs.encode` call: the `Value` encoder knows
        // how (and refuses protocols it does not write).
        let v = crate::to_value(value)?;
        return Ok(super::dumps_into(&v, options, out)?);
    }
    ser::encode(value, options.protocol, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Item<'a> {
        id: i64,
        name: &'a str,
        price: f64,
        tags: (i64, i64, i64),
    }

    /// CPython 3.11: `pickle.dumps([{'id': i, 'name': 'item%d' % i, 'price': i * 0.5,
    /// 'tags': t} for i in range(3)], protocol=4)` with one shared `t = (1, 2, 3)`.
    const RECORDS: &str = "80049581000000000000005d94287d94288c026964944b008c046e616d65948c056974656d30948c057072696365944700000000000000008c0474616773944b014b024b038794757d942868024b0168038c056974656d31946805473fe000000000000068066807757d942868024b0268038c056974656d32946805473ff00000000000006806680775652e";

    #[test]
    fn records_with_shared_keys_and_tuple_are_read_directly() {
        let data = hex(RECORDS);
        let mut r = read::Reader::new(&data, usize::MAX, usize::MAX);
        let items: Vec<Item> = de::read(&mut r).unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(
            items[2],
            Item {
                id: 2,
                name: "item2",
                price: 1.0,
                tags: (1, 2, 3)
            }
        );
    }
}
