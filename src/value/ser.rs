//! Rust values → [`Value`] through serde.
//!
//! The mapping follows what a Python peer expects to receive, and what serde_json does for
//! JSON:
//!
//! | Rust (serde data model) | Python |
//! |---|---|
//! | `bool`, integers, floats | `bool`, `int` (any size: `u64`/`i128` beyond 64 bits become big ints), `float` |
//! | `char`, `&str`, `String` | `str` |
//! | bytes (`serde_bytes`) | `bytes` |
//! | `None`, `()`, unit struct | `None` |
//! | `Some(x)`, newtype struct | `x` |
//! | `Vec`, slices, sets | `list` |
//! | tuples, tuple structs | `tuple` |
//! | maps | `dict` (keys of any kind) |
//! | structs | `dict` with `str` keys in field order |
//! | enum: unit variant | `'Variant'` |
//! | enum: other variants | `{'Variant': value}` (externally tagged) |

use std::fmt;

use num_bigint::BigInt;
use serde::ser::{self, Serialize};

use crate::value::PyStr;
use crate::{Error, Result, Value};

/// Converts any `Serialize` type to a [`Value`] (struct → dict, Vec → list, tuple → tuple,
/// `Option::None` → None, `serde_bytes` → bytes; see the module documentation).
///
/// ```
/// # use mpconn::{to_value, Value};
/// #[derive(serde::Serialize)]
/// struct Job { id: u32, tags: Vec<String> }
/// let v = to_value(&Job { id: 7, tags: vec!["a".into()] }).unwrap();
/// assert_eq!(v.type_name(), "dict");
/// ```
///
/// # Errors
/// [`Error::Value`] when the type's `Serialize` implementation reports an error.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value> {
    value.serialize(Serializer).map_err(|e| Error::Value(e.0))
}

/// The error of [`Serializer`]: only a type's own `Serialize` can fail.
#[derive(Debug)]
struct SerError(String);

impl fmt::Display for SerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SerError {}

impl ser::Error for SerError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        SerError(msg.to_string())
    }
}

type R = std::result::Result<Value, SerError>;

fn str_value(s: &str) -> Value {
    Value::Str(PyStr::from(s))
}

/// Wraps `inner` as `{variant: inner}` (externally tagged enum).
fn tagged(variant: &'static str, inner: Value) -> Value {
    Value::dict(vec![(str_value(variant), inner)])
}

/// A serde `Serializer` whose output is a [`Value`].
struct Serializer;

impl ser::Serializer for Serializer {
    type Ok = Value;
    type Error = SerError;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = SeqBuilder;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = MapBuilder;

    fn serialize_bool(self, v: bool) -> R {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> R {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> R {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> R {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> R {
        Ok(Value::Int(v))
    }
    fn serialize_i128(self, v: i128) -> R {
        Ok(Value::int(BigInt::from(v)))
    }
    fn serialize_u8(self, v: u8) -> R {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> R {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> R {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> R {
        Ok(Value::int(BigInt::from(v)))
    }
    fn serialize_u128(self, v: u128) -> R {
        Ok(Value::int(BigInt::from(v)))
    }
    fn serialize_f32(self, v: f32) -> R {
        Ok(Value::Float(v.into()))
    }
    fn serialize_f64(self, v: f64) -> R {
        Ok(Value::Float(v))
    }
    fn serialize_char(self, v: char) -> R {
        Ok(str_value(v.encode_utf8(&mut [0; 4])))
    }
    fn serialize_str(self, v: &str) -> R {
        Ok(str_value(v))
    }
    fn serialize_bytes(self, v: &[u8]) -> R {
        Ok(Value::bytes(v))
    }
    fn serialize_none(self) -> R {
        Ok(Value::None)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> R {
        value.serialize(self)
    }
    fn serialize_unit(self) -> R {
        Ok(Value::None)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> R {
        Ok(Value::None)
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> R {
        Ok(str_value(variant))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _name: &'static str, value: &T) -> R {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> R {
        Ok(tagged(variant, value.serialize(Serializer)?))
    }
    fn serialize_seq(self, len: Option<usize>) -> std::result::Result<SeqBuilder, SerError> {
        Ok(SeqBuilder::new(SeqKind::List, len.unwrap_or(0)))
    }
    fn serialize_tuple(self, len: usize) -> std::result::Result<SeqBuilder, SerError> {
        Ok(SeqBuilder::new(SeqKind::Tuple, len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> std::result::Result<SeqBuilder, SerError> {
        Ok(SeqBuilder::new(SeqKind::Tuple, len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> std::result::Result<SeqBuilder, SerError> {
        Ok(SeqBuilder::new(SeqKind::Variant(variant), len))
    }
    fn serialize_map(self, len: Option<usize>) -> std::result::Result<MapBuilder, SerError> {
        Ok(MapBuilder::new(None, len.unwrap_or(0)))
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> std::result::Result<MapBuilder, SerError> {
        Ok(MapBuilder::new(None, len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> std::result::Result<MapBuilder, SerError> {
        Ok(MapBuilder::new(Some(variant), len))
    }
}

enum SeqKind {
    List,
    Tuple,
    /// A tuple variant: `{variant: (items...)}`.
    Variant(&'static str),
}

/// Collects a list, a tuple or a tuple variant.
struct SeqBuilder {
    kind: SeqKind,
    items: Vec<Value>,
}

impl SeqBuilder {
    fn new(kind: SeqKind, len: usize) -> SeqBuilder {
        // `len` is the caller's own size hint, not a peer's: cap it anyway.
        SeqBuilder {
            kind,
            items: Vec::with_capacity(len.min(4096)),
        }
    }
    fn push<T: ?Sized + Serialize>(&mut self, value: &T) -> std::result::Result<(), SerError> {
        self.items.push(value.serialize(Serializer)?);
        Ok(())
    }
    fn finish(self) -> R {
        Ok(match self.kind {
            SeqKind::List => Value::list(self.items),
            SeqKind::Tuple => Value::tuple(self.items),
            SeqKind::Variant(name) => tagged(name, Value::tuple(self.items)),
        })
    }
}

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Value;
    type Error = SerError;
    fn serialize_element<T: ?Sized + Serialize>(
        &mut self,
        value: &T,
    ) -> std::result::Result<(), SerError> {
        self.push(value)
    }
    fn end(self) -> R {
        self.finish()
    }
}

impl ser::SerializeTuple for SeqBuilder {
    type Ok = Value;
    type Error = SerError;
    fn serialize_element<T: ?Sized + Serialize>(
        &mut self,
        value: &T,
    ) -> std::result::Result<(), SerError> {
        self.push(value)
    }
    fn end(self) -> R {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Value;
    type Error = SerError;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        value: &T,
    ) -> std::result::Result<(), SerError> {
        self.push(value)
    }
    fn end(self) -> R {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for SeqBuilder {
    type Ok = Value;
    type Error = SerError;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        value: &T,
    ) -> std::result::Result<(), SerError> {
        self.push(value)
    }
    fn end(self) -> R {
        self.finish()
    }
}

/// Collects a dict, a struct (str keys in field order) or a struct variant.
struct MapBuilder {
    variant: Option<&'static str>,
    pairs: Vec<(Value, Value)>,
    pending_key: Option<Value>,
}

impl MapBuilder {
    fn new(variant: Option<&'static str>, len: usize) -> MapBuilder {
        MapBuilder {
            variant,
            pairs: Vec::with_capacity(len.min(4096)),
            pending_key: None,
        }
    }
    fn field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> std::result::Result<(), SerError> {
        self.pairs
            .push((str_value(key), value.serialize(Serializer)?));
        Ok(())
    }
    fn finish(self) -> R {
        let dict = Value::dict(self.pairs);
        Ok(match self.variant {
            Some(name) => tagged(name, dict),
            None => dict,
        })
    }
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Value;
    type Error = SerError;
    fn serialize_key<T: ?Sized + Serialize>(
        &mut self,
        key: &T,
    ) -> std::result::Result<(), SerError> {
        self.pending_key = Some(key.serialize(Serializer)?);
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(
        &mut self,
        value: &T,
    ) -> std::result::Result<(), SerError> {
        let key = self
            .pending_key
            .take()
            .ok_or_else(|| SerError("serialize_value called before serialize_key".into()))?;
        self.pairs.push((key, value.serialize(Serializer)?));
        Ok(())
    }
    fn end(self) -> R {
        self.finish()
    }
}

impl ser::SerializeStruct for MapBuilder {
    type Ok = Value;
    type Error = SerError;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> std::result::Result<(), SerError> {
        self.field(key, value)
    }
    fn end(self) -> R {
        self.finish()
    }
}

impl ser::SerializeStructVariant for MapBuilder {
    type Ok = Value;
    type Error = SerError;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> std::result::Result<(), SerError> {
        self.field(key, value)
    }
    fn end(self) -> R {
        self.finish()
    }
}
