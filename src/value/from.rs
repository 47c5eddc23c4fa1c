//! Conversions between Rust values and [`Value`].
//!
//! | Rust | Python |
//! |---|---|
//! | `bool` | `bool` |
//! | `i8` … `i128`, `u8` … `u128`, `isize`, `usize` | `int` (big ones as [`Value::BigInt`]) |
//! | `f32`, `f64` | `float` |
//! | `&str`, `String`, `char`, [`PyStr`] | `str` |
//! | `Vec<u8>`, `&[u8]` | **`bytes`** (not a list of ints) |
//! | `Vec<T>`, `&[T]` for other `T` | `list` |
//! | `Option<T>` | `None` or the value |
//! | `()`, `(A,)` … `(A, B, C, D, E, F)` | `tuple` (`()` is the empty tuple) |
//! | `HashMap<K, V>`, `BTreeMap<K, V>` | `dict` (in the map's iteration order) |
//! | [`BigInt`], [`Global`], [`Object`] | `int`, a global, an object |
//!
//! Back again, `TryFrom<&Value>` (and `TryFrom<Value>`) exists for `i64`, `u64`, `f64`,
//! `bool`, `String` and `Vec<u8>`, with the rules of the `as_*` accessors; a mismatch is
//! [`Error::Value`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use num_bigint::BigInt;

use super::{Global, Object, PyStr, Value};
use crate::Error;

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

macro_rules! from_small_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(i: $t) -> Value {
                Value::Int(i64::from(i))
            }
        }
    )*};
}
from_small_int!(i8, i16, i32, i64, u8, u16, u32);

macro_rules! from_big_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(i: $t) -> Value {
                match i64::try_from(i) {
                    Ok(i) => Value::Int(i),
                    Err(_) => Value::BigInt(Arc::new(BigInt::from(i))),
                }
            }
        }
    )*};
}
from_big_int!(u64, i128, u128, isize, usize);

impl From<BigInt> for Value {
    fn from(n: BigInt) -> Value {
        Value::int(n)
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Value {
        Value::Float(x)
    }
}

impl From<f32> for Value {
    fn from(x: f32) -> Value {
        Value::Float(f64::from(x))
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(PyStr::from(s))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(PyStr::from(s))
    }
}

impl From<&String> for Value {
    fn from(s: &String) -> Value {
        Value::Str(PyStr::from(s.as_str()))
    }
}

impl From<char> for Value {
    fn from(c: char) -> Value {
        Value::Str(PyStr::from(c.encode_utf8(&mut [0; 4]) as &str))
    }
}

impl From<PyStr> for Value {
    fn from(s: PyStr) -> Value {
        Value::Str(s)
    }
}

impl From<Vec<u8>> for Value {
    /// `bytes` (not a list of ints).
    fn from(b: Vec<u8>) -> Value {
        Value::Bytes(Arc::from(b))
    }
}

impl From<&[u8]> for Value {
    /// `bytes` (not a list of ints).
    fn from(b: &[u8]) -> Value {
        Value::Bytes(Arc::from(b))
    }
}

impl From<Global> for Value {
    fn from(g: Global) -> Value {
        Value::Global(Arc::new(g))
    }
}

impl From<Object> for Value {
    fn from(o: Object) -> Value {
        Value::Object(Arc::new(o))
    }
}

impl From<()> for Value {
    /// The empty tuple `()`.
    fn from(_: ()) -> Value {
        Value::tuple(Vec::new())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Value {
        o.map_or(Value::None, Into::into)
    }
}

/// Types that become list items in `Vec<T>` → `list`: everything that converts into
/// [`Value`] except `u8`, because `Vec<u8>` and `&[u8]` become `bytes`.
pub trait ListItem: Into<Value> {}

macro_rules! list_item {
    ($($t:ty),*) => {$( impl ListItem for $t {} )*};
}
list_item!(
    bool,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    u16,
    u32,
    u64,
    u128,
    usize,
    f32,
    f64,
    String,
    char,
    PyStr,
    BigInt,
    Global,
    Object,
    Value,
    ()
);
impl ListItem for &str {}
impl ListItem for &String {}
impl ListItem for &[u8] {}
impl<T: Into<Value>> ListItem for Option<T> {}
impl<T: ListItem> ListItem for Vec<T> {}
impl ListItem for Vec<u8> {}
impl<K: Into<Value>, V: Into<Value>> ListItem for HashMap<K, V> {}
impl<K: Into<Value>, V: Into<Value>> ListItem for BTreeMap<K, V> {}

impl<T: ListItem> From<Vec<T>> for Value {
    fn from(items: Vec<T>) -> Value {
        Value::list(items.into_iter().map(Into::into).collect())
    }
}

impl<T: ListItem + Clone> From<&[T]> for Value {
    fn from(items: &[T]) -> Value {
        Value::list(items.iter().cloned().map(Into::into).collect())
    }
}

impl<K: Into<Value>, V: Into<Value>, S> From<HashMap<K, V, S>> for Value {
    fn from(map: HashMap<K, V, S>) -> Value {
        Value::dict(map.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

impl<K: Into<Value>, V: Into<Value>> From<BTreeMap<K, V>> for Value {
    fn from(map: BTreeMap<K, V>) -> Value {
        Value::dict(map.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

macro_rules! from_tuple {
    ($($name:ident)+) => {
        impl<$($name: Into<Value>),+> From<($($name,)+)> for Value {
            #[allow(non_snake_case)]
            fn from(($($name,)+): ($($name,)+)) -> Value {
                Value::tuple(vec![$($name.into()),+])
            }
        }
        impl<$($name: Into<Value>),+> ListItem for ($($name,)+) {}
    };
}
from_tuple!(A);
from_tuple!(A B);
from_tuple!(A B C);
from_tuple!(A B C D);
from_tuple!(A B C D E);
from_tuple!(A B C D E F);

fn mismatch(want: &str, got: &Value) -> Error {
    Error::Value(format!("expected {want}, found {}", got.type_name()))
}

macro_rules! try_from_value {
    ($t:ty, $want:expr, |$v:ident| $get:expr) => {
        impl TryFrom<&Value> for $t {
            type Error = Error;
            fn try_from($v: &Value) -> Result<$t, Error> {
                $get.ok_or_else(|| mismatch($want, $v))
            }
        }
        impl TryFrom<Value> for $t {
            type Error = Error;
            fn try_from(v: Value) -> Result<$t, Error> {
                <$t>::try_from(&v)
            }
        }
    };
}
try_from_value!(i64, "an int that fits in i64", |v| v.as_i64());
try_from_value!(u64, "an int that fits in u64", |v| v.as_u64());
try_from_value!(f64, "a float or an int", |v| v.as_f64());
try_from_value!(bool, "a bool", |v| v.as_bool());
try_from_value!(String, "a str without lone surrogates", |v| v
    .as_str()
    .map(str::to_owned));
try_from_value!(Vec<u8>, "bytes or bytearray", |v| v
    .as_bytes()
    .map(<[u8]>::to_vec));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert!(matches!(Value::from(u64::MAX), Value::BigInt(_)));
        assert!(matches!(Value::from(7u64), Value::Int(7)));
        assert!(matches!(Value::from(vec![1u8, 2]), Value::Bytes(_)));
        assert!(matches!(Value::from(vec![1i32, 2]), Value::List(_)));
        assert!(matches!(Value::from(()), Value::Tuple(t) if t.is_empty()));
        assert_eq!(
            Value::from((1, "a", None::<i32>)).to_string(),
            "(1, 'a', None)"
        );
        assert_eq!(i64::try_from(Value::from(5)).unwrap(), 5);
        assert!(String::try_from(&Value::from(5)).is_err());
    }
}
