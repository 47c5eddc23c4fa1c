//! [`Item`]: one value a `ShareableList` can hold.

use std::fmt;

use crate::Value;

/// A value a `ShareableList` stores: CPython's `ShareableList` accepts exactly `int`
/// (64-bit), `float`, `bool`, `str`, `bytes` and `None` (its `_types_mapping`).
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `int`, stored as a native 64-bit signed integer (struct format `q`).
    Int(i64),
    /// `float`, stored as a native double (`d`).
    Float(f64),
    /// `bool`, stored in the last byte of its 8 (`xxxxxxx?`).
    Bool(bool),
    /// `str`, stored UTF-8 encoded and NUL padded (`%ds`).
    Str(String),
    /// `bytes`, stored NUL padded (`%ds`).
    Bytes(Vec<u8>),
    /// `None` (`xxxxxx?x`).
    None,
}

impl Item {
    /// The Python type name (`int`, `float`, `bool`, `str`, `bytes`, `NoneType`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Item::Int(_) => "int",
            Item::Float(_) => "float",
            Item::Bool(_) => "bool",
            Item::Str(_) => "str",
            Item::Bytes(_) => "bytes",
            Item::None => "NoneType",
        }
    }

    /// The item as a [`Value`] (to send it over a connection or print its `repr`).
    pub fn to_value(&self) -> Value {
        match self {
            Item::Int(i) => Value::Int(*i),
            Item::Float(f) => Value::Float(*f),
            Item::Bool(b) => Value::Bool(*b),
            Item::Str(s) => Value::from(s.as_str()),
            Item::Bytes(b) => Value::bytes(b),
            Item::None => Value::None,
        }
    }

    /// The item a [`Value`] stands for, or `None` when a `ShareableList` cannot hold it
    /// (another type, an `int` beyond 64 bits, a `str` with lone surrogates).
    pub fn from_value(value: &Value) -> Option<Item> {
        Some(match value.unanchored() {
            Value::None => Item::None,
            Value::Bool(b) => Item::Bool(*b),
            Value::Float(f) => Item::Float(*f),
            Value::Bytes(b) => Item::Bytes(b.to_vec()),
            v => {
                if let Some(s) = v.as_str() {
                    Item::Str(s.to_string())
                } else {
                    Item::Int(v.as_i64()?)
                }
            }
        })
    }
}

/// Python's `repr` of the item.
impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_value(), f)
    }
}

impl From<i64> for Item {
    fn from(v: i64) -> Item {
        Item::Int(v)
    }
}

impl From<f64> for Item {
    fn from(v: f64) -> Item {
        Item::Float(v)
    }
}

impl From<bool> for Item {
    fn from(v: bool) -> Item {
        Item::Bool(v)
    }
}

impl From<&str> for Item {
    fn from(v: &str) -> Item {
        Item::Str(v.to_string())
    }
}

impl From<String> for Item {
    fn from(v: String) -> Item {
        Item::Str(v)
    }
}

impl From<&[u8]> for Item {
    fn from(v: &[u8]) -> Item {
        Item::Bytes(v.to_vec())
    }
}

impl From<Vec<u8>> for Item {
    fn from(v: Vec<u8>) -> Item {
        Item::Bytes(v)
    }
}

impl From<()> for Item {
    fn from((): ()) -> Item {
        Item::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_print_as_python_reprs_and_convert_to_values() {
        let items = [
            Item::Int(-3),
            Item::Float(2.5),
            Item::Bool(true),
            Item::from("hé"),
            Item::from(&b"a\x01"[..]),
            Item::None,
        ];
        let text: Vec<String> = items.iter().map(|i| i.to_string()).collect();
        assert_eq!(text, ["-3", "2.5", "True", "'hé'", "b'a\\x01'", "None"]);
        for item in &items {
            assert_eq!(Item::from_value(&item.to_value()).as_ref(), Some(item));
        }
        assert_eq!(Item::from_value(&Value::list(vec![])), None);
    }
}
