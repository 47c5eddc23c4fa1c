//! [`Value`] → Rust values through serde.
//!
//! The inverse of [`to_value`](crate::to_value), and lenient where Python is loose:
//! a sequence may be a `list`, `tuple`, `set` or `frozenset`; a float field accepts an
//! `int`; `Vec<u8>` accepts `bytes`; a struct also accepts an object whose state is a dict
//! (a pickled dataclass or `SimpleNamespace` carries its fields that way). Enums are
//! externally tagged: `'Variant'` or `{'Variant': value}`.
//!
//! A mismatch is an [`Error::Value`] saying where it happened, e.g.
//! `at .jobs[2].id: invalid type: str "x", expected u32`.

use std::fmt;

use num_traits::ToPrimitive;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, MapAccess, SeqAccess, Unexpected,
    VariantAccess, Visitor,
};

use crate::{Error, Result, Value};

/// Converts a [`Value`] to any `Deserialize` type (dict → struct, list/tuple → Vec or tuple,
/// None → `Option::None`, bytes → `serde_bytes`; see the module documentation).
///
/// ```
/// # use mpconn::{from_value, Value};
/// let v = Value::tuple(vec![Value::Int(1), Value::Float(2.5)]);
/// let (a, b): (u8, f64) = from_value(v).unwrap();
/// assert_eq!((a, b), (1, 2.5));
/// ```
///
/// # Errors
/// [`Error::Value`] when the value does not fit the type; the message names the place.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T> {
    T::deserialize(Deserializer(&value)).map_err(|e| Error::Value(e.to_string()))
}

/// [`from_value`] for any `Deserialize` type, from a borrowed value (the fallback of
/// [`crate::pickle::from_slice`]; a type borrowing `&str` from its input gets an error).
pub(crate) fn from_value_ref<'de, T: serde::Deserialize<'de>>(value: &Value) -> Result<T> {
    T::deserialize(Deserializer(value)).map_err(|e| Error::Value(e.to_string()))
}

/// The error of [`Deserializer`]: a message and the path to the offending part, built up
/// (innermost first) as the error travels out.
#[derive(Debug)]
struct DeError {
    msg: String,
    path: Vec<String>,
}

impl DeError {
    fn at(mut self, segment: impl FnOnce() -> String) -> DeError {
        self.path.push(segment());
        self
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            return f.write_str(&self.msg);
        }
        f.write_str("at ")?;
        for seg in self.path.iter().rev() {
            f.write_str(seg)?;
        }
        write!(f, ": {}", self.msg)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            msg: msg.to_string(),
            path: Vec::new(),
        }
    }
}

type R<T> = std::result::Result<T, DeError>;

/// How a value shows up in "invalid type" messages.
fn unexpected(v: &Value) -> Unexpected<'_> {
    match v {
        Value::None => Unexpected::Other("None"),
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Int(i) => Unexpected::Signed(*i),
        Value::BigInt(_) => Unexpected::Other("big int"),
        Value::Float(f) => Unexpected::Float(*f),
        Value::Str(s) => match s.as_str() {
            Some(t) => Unexpected::Str(t),
            None => Unexpected::Other("str with lone surrogates"),
        },
        Value::Bytes(b) => Unexpected::Bytes(b),
        Value::ByteArray(b) => Unexpected::Bytes(b),
        Value::List(_) => Unexpected::Other("list"),
        Value::Tuple(_) => Unexpected::Other("tuple"),
        Value::Dict(_) => Unexpected::Other("dict"),
        Value::Set(_) => Unexpected::Other("set"),
        Value::FrozenSet(_) => Unexpected::Other("frozenset"),
        Value::Global(_) => Unexpected::Other("global name"),
        Value::Object(_) => Unexpected::Other("object"),
        Value::Anchor(..) => Unexpected::Other("self-referencing container"),
        Value::Ref(_) => Unexpected::Other("reference to an enclosing container"),
        Value::Effects(e) => unexpected(&e.target),
    }
}

/// A path segment for a dict key: `.name` for identifier-like str keys, `[repr]` otherwise.
fn key_segment(k: &Value) -> String {
    match k {
        Value::Str(s) => match s.as_str() {
            Some(t) if !t.is_empty() && t.chars().all(|c| c.is_alphanumeric() || c == '_') => {
                format!(".{t}")
            }
            _ => format!("[{:?}]", s.to_string_lossy()),
        },
        Value::Int(i) => format!("[{i}]"),
        other => format!("[<{}>]", other.type_name()),
    }
}

/// A serde `Deserializer` reading a borrowed [`Value`].
struct Deserializer<'a>(&'a Value);

impl<'a> Deserializer<'a> {
    /// The value with anchors looked through; a `Ref` (a cycle) cannot become a Rust value.
    fn value(&self) -> R<&'a Value> {
        match self.0.unanchored() {
            Value::Ref(_) => Err(de::Error::custom(
                "a self-referencing value (cycle) cannot be deserialized into a Rust type",
            )),
            v => Ok(v),
        }
    }

    fn invalid<T>(&self, v: &Value, exp: &dyn de::Expected) -> R<T> {
        Err(de::Error::invalid_type(unexpected(v), exp))
    }

    fn visit_big<'de, V: Visitor<'de>>(n: &num_bigint::BigInt, visitor: V) -> R<V::Value> {
        if let Some(u) = n.to_u64() {
            visitor.visit_u64(u)
        } else if let Some(i) = n.to_i128() {
            visitor.visit_i128(i)
        } else if let Some(u) = n.to_u128() {
            visitor.visit_u128(u)
        } else {
            Err(de::Error::custom(format!(
                "int {n} does not fit in 128 bits"
            )))
        }
    }

    /// A struct's fields: a dict, or an object whose BUILD state is a dict.
    fn struct_fields(v: &'a Value) -> Option<&'a [(Value, Value)]> {
        match v {
            Value::Dict(d) => Some(d),
            Value::Object(o) => match o.state.as_ref().map(Value::unanchored) {
                Some(Value::Dict(d)) => Some(d),
                _ => None,
            },
            _ => None,
        }
    }
}

fn seq_items(v: &Value) -> Option<&[Value]> {
    match v {
        Value::List(x) | Value::Tuple(x) | Value::Set(x) | Value::FrozenSet(x) => Some(x),
        _ => None,
    }
}

impl<'de, 'a> de::Deserializer<'de> for Deserializer<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        let v = self.value()?;
        match v {
            Value::None => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::BigInt(n) => Self::visit_big(n, visitor),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Str(s) => match s.as_str() {
                Some(t) => visitor.visit_str(t),
                None => self.invalid(v, &visitor),
            },
            Value::Bytes(b) => visitor.visit_bytes(b),
            Value::ByteArray(b) => visitor.visit_bytes(b),
            Value::List(x) | Value::Tuple(x) | Value::Set(x) | Value::FrozenSet(x) => {
                visit_items(x, visitor)
            }
            Value::Dict(d) => visitor.visit_map(Map::new(d)),
            _ => self.invalid(v, &visitor),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.value()? {
            Value::Float(f) => visitor.visit_f64(*f),
            // An int where a float is wanted is harmless in Python (`1` for `1.0`).
            Value::Int(i) => visitor.visit_f64(*i as f64),
            Value::BigInt(n) => visitor.visit_f64(n.to_f64().unwrap_or(f64::NAN)),
            v => self.invalid(v, &visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.value()? {
            Value::None => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.value()? {
            Value::None => visitor.visit_unit(),
            v => self.invalid(v, &visitor),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> R<V::Value> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> R<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.value()? {
            Value::Bytes(b) => visitor.visit_bytes(b),
            Value::ByteArray(b) => visitor.visit_bytes(b),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        let v = self.value()?;
        match v {
            // `bytes` into `Vec<u8>` (and the like): a sequence of small ints.
            Value::Bytes(b) => visit_bytes_seq(b, visitor),
            Value::ByteArray(b) => visit_bytes_seq(b, visitor),
            _ => match seq_items(v) {
                Some(items) => visit_items(items, visitor),
                None => self.invalid(v, &visitor),
            },
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> R<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> R<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.value()? {
            Value::Dict(d) => visitor.visit_map(Map::new(d)),
            v => self.invalid(v, &visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> R<V::Value> {
        let v = self.value()?;
        match Self::struct_fields(v) {
            Some(d) => visitor.visit_map(Map::new(d)),
            None => match seq_items(v) {
                // serde's derived visitors also take a struct as a sequence of fields.
                Some(items) => visit_items(items, visitor),
                None => self.invalid(v, &visitor),
            },
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> R<V::Value> {
        let v = self.value()?;
        match v {
            Value::Str(_) => visitor.visit_enum(Enum {
                variant: v,
                content: None,
            }),
            Value::Dict(d) if d.len() == 1 => visitor.visit_enum(Enum {
                variant: &d[0].0,
                content: Some(&d[0].1),
            }),
            _ => Err(de::Error::invalid_type(
                unexpected(v),
                &"a variant name (str) or a one-item dict {variant: value}",
            )),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 char str string identifier
    }
}

/// Visits bytes as a sequence of ints (all of them, or an error).
fn visit_bytes_seq<'de, V: Visitor<'de>>(b: &[u8], visitor: V) -> R<V::Value> {
    let mut seq = de::value::SeqDeserializer::new(b.iter().copied());
    let v = visitor.visit_seq(&mut seq)?;
    seq.end()?;
    Ok(v)
}

/// Visits `items` as a sequence; items the visitor leaves (a 3-item list read as a
/// 2-tuple) are an error, never dropped.
fn visit_items<'de, V: Visitor<'de>>(items: &[Value], visitor: V) -> R<V::Value> {
    let mut seq = Seq { items, pos: 0 };
    let v = visitor.visit_seq(&mut seq)?;
    if seq.pos != items.len() {
        return Err(de::Error::invalid_length(items.len(), &"fewer items"));
    }
    Ok(v)
}

/// The items of a list, tuple, set or frozenset.
struct Seq<'a> {
    items: &'a [Value],
    pos: usize,
}

impl<'de> SeqAccess<'de> for &mut Seq<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> R<Option<T::Value>> {
        let Some(item) = self.items.get(self.pos) else {
            return Ok(None);
        };
        let i = self.pos;
        self.pos += 1;
        seed.deserialize(Deserializer(item))
            .map(Some)
            .map_err(|e| e.at(|| format!("[{i}]")))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len() - self.pos)
    }
}

/// The pairs of a dict.
struct Map<'a> {
    pairs: &'a [(Value, Value)],
    pos: usize,
}

impl<'a> Map<'a> {
    fn new(pairs: &'a [(Value, Value)]) -> Map<'a> {
        Map { pairs, pos: 0 }
    }
}

impl<'de> MapAccess<'de> for Map<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> R<Option<K::Value>> {
        let Some((k, _)) = self.pairs.get(self.pos) else {
            return Ok(None);
        };
        seed.deserialize(Deserializer(k))
            .map(Some)
            .map_err(|e| e.at(|| format!("{} (key)", key_segment(k))))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> R<V::Value> {
        let (k, v) = &self.pairs[self.pos];
        self.pos += 1;
        seed.deserialize(Deserializer(v))
            .map_err(|e| e.at(|| key_segment(k)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.pairs.len() - self.pos)
    }
}

/// An externally tagged enum: the variant name and, unless a unit variant, its content.
struct Enum<'a> {
    variant: &'a Value,
    content: Option<&'a Value>,
}

impl<'de, 'a> EnumAccess<'de> for Enum<'a> {
    type Error = DeError;
    type Variant = Variant<'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> R<(V::Value, Variant<'a>)> {
        let name = seed.deserialize(Deserializer(self.variant))?;
        let segment = key_segment(self.variant);
        Ok((
            name,
            Variant {
                content: self.content,
                segment,
            },
        ))
    }
}

struct Variant<'a> {
    content: Option<&'a Value>,
    segment: String,
}

impl Variant<'_> {
    fn content(&self) -> R<&Value> {
        self.content.ok_or_else(|| {
            de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"a variant with content ({variant: value})",
            )
        })
    }
}

impl<'de> VariantAccess<'de> for Variant<'_> {
    type Error = DeError;

    fn unit_variant(self) -> R<()> {
        match self.content {
            None | Some(Value::None) => Ok(()),
            Some(v) => Err(de::Error::invalid_type(unexpected(v), &"a unit variant")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> R<T::Value> {
        let seg = self.segment.clone();
        seed.deserialize(Deserializer(self.content()?))
            .map_err(|e| e.at(|| seg))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> R<V::Value> {
        let seg = self.segment.clone();
        de::Deserializer::deserialize_tuple(Deserializer(self.content()?), len, visitor)
            .map_err(|e| e.at(|| seg))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> R<V::Value> {
        let seg = self.segment.clone();
        de::Deserializer::deserialize_struct(Deserializer(self.content()?), "", fields, visitor)
            .map_err(|e| e.at(|| seg))
    }
}
