//! Rust values → [`Value`] through serde (stub: being written).
use crate::{Result, Value};

/// Converts any `Serialize` type to a [`Value`] (struct → dict, Vec → list, tuple → tuple,
/// `Option::None` → None, `serde_bytes` → bytes).
pub fn to_value<T: serde::Serialize + ?Sized>(_value: &T) -> Result<Value> {
    todo!()
}
