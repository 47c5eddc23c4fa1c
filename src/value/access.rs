//! Accessors: `as_str`, `as_i64`, `as_list`, `len`, ...
//!
//! Every accessor looks through [`Value::Anchor`]. Numeric accessors do not treat `bool`
//! as an integer (use [`Value::as_bool`]), although Python's `bool` is an `int` subclass.

use std::borrow::Cow;

use num_bigint::BigInt;
use num_traits::ToPrimitive;

use super::{PyStr, Value};

impl Value {
    /// The text of a `str`; `None` for other kinds and for strings holding lone surrogates
    /// (use [`Value::as_pystr`] for those).
    pub fn as_str(&self) -> Option<&str> {
        match self.unanchored() {
            Value::Str(s) => s.as_str(),
            _ => None,
        }
    }

    /// A `str` as [`PyStr`] (lone surrogates included).
    pub fn as_pystr(&self) -> Option<&PyStr> {
        match self.unanchored() {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// An `int` that fits in `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match self.unanchored() {
            Value::Int(i) => Some(*i),
            Value::BigInt(b) => b.to_i64(),
            _ => None,
        }
    }

    /// An `int` that fits in `u64`.
    pub fn as_u64(&self) -> Option<u64> {
        match self.unanchored() {
            Value::Int(i) => u64::try_from(*i).ok(),
            Value::BigInt(b) => b.to_u64(),
            _ => None,
        }
    }

    /// Any `int`, as a [`BigInt`] (borrowed when it is stored as one).
    pub fn as_bigint(&self) -> Option<Cow<'_, BigInt>> {
        match self.unanchored() {
            Value::Int(i) => Some(Cow::Owned(BigInt::from(*i))),
            Value::BigInt(b) => Some(Cow::Borrowed(b)),
            _ => None,
        }
    }

    /// A `float`, or an `int` converted as Python's `float()` does (`None` when the int is
    /// too large for a float, where Python raises `OverflowError`).
    pub fn as_f64(&self) -> Option<f64> {
        match self.unanchored() {
            Value::Float(x) => Some(*x),
            Value::Int(i) => Some(*i as f64),
            Value::BigInt(b) => b.to_f64().filter(|x| x.is_finite()),
            _ => None,
        }
    }

    /// A `bool`.
    pub fn as_bool(&self) -> Option<bool> {
        match self.unanchored() {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The contents of `bytes` or `bytearray`.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self.unanchored() {
            Value::Bytes(b) => Some(b),
            Value::ByteArray(b) => Some(b),
            _ => None,
        }
    }

    /// The items of a `list`.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self.unanchored() {
            Value::List(items) => Some(items),
            _ => None,
        }
    }

    /// The items of a `tuple`.
    pub fn as_tuple(&self) -> Option<&[Value]> {
        match self.unanchored() {
            Value::Tuple(items) => Some(items),
            _ => None,
        }
    }

    /// The items of a `list`, `tuple`, `set` or `frozenset`.
    pub fn as_slice(&self) -> Option<&[Value]> {
        match self.unanchored() {
            Value::List(items)
            | Value::Tuple(items)
            | Value::Set(items)
            | Value::FrozenSet(items) => Some(items),
            _ => None,
        }
    }

    /// The `(key, value)` pairs of a `dict`, in insertion order.
    pub fn as_dict(&self) -> Option<&[(Value, Value)]> {
        match self.unanchored() {
            Value::Dict(pairs) => Some(pairs),
            _ => None,
        }
    }

    /// True for `None`.
    pub fn is_none(&self) -> bool {
        matches!(self.unanchored(), Value::None)
    }

    /// Python's `len()`: code points of a `str`, bytes of `bytes`/`bytearray`, items of a
    /// container. `None` for kinds Python's `len()` refuses (numbers, `None`, globals,
    /// objects, references).
    pub fn len(&self) -> Option<usize> {
        match self.unanchored() {
            Value::Str(s) => Some(s.len_chars()),
            Value::Bytes(b) => Some(b.len()),
            Value::ByteArray(b) => Some(b.len()),
            Value::List(items)
            | Value::Tuple(items)
            | Value::Set(items)
            | Value::FrozenSet(items) => Some(items.len()),
            Value::Dict(pairs) => Some(pairs.len()),
            _ => None,
        }
    }

    /// True when [`Value::len`] is `Some(0)`.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_look_through_anchors() {
        let v = Value::Anchor(1, Box::new(Value::list(vec![Value::Ref(1)])));
        assert_eq!(v.as_list().map(<[Value]>::len), Some(1));
        assert_eq!(v.len(), Some(1));
        assert!(!v.is_empty());
    }

    #[test]
    fn numbers() {
        assert_eq!(Value::Int(-3).as_i64(), Some(-3));
        assert_eq!(Value::Int(-3).as_u64(), None);
        assert_eq!(Value::Int(2).as_f64(), Some(2.0));
        assert_eq!(Value::Bool(true).as_i64(), None);
        let big = Value::int(BigInt::from(u64::MAX));
        assert_eq!(big.as_u64(), Some(u64::MAX));
        assert_eq!(big.as_i64(), None);
    }
}
