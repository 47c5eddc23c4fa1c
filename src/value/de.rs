//! [`Value`] → Rust values through serde (stub: being written).
use crate::{Result, Value};

/// Converts a [`Value`] to any `Deserialize` type (dict → struct, list/tuple → Vec or tuple,
/// None → `Option::None`, bytes → `serde_bytes`).
pub fn from_value<T: serde::de::DeserializeOwned>(_value: Value) -> Result<T> {
    todo!()
}
