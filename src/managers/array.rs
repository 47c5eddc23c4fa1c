//! `SyncManager.Array(typecode, sequence)`: an `array.array` served by Rust.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use num_traits::ToPrimitive;

use super::server::Args;
use super::{as_int, as_items, as_str, global_of, ManagedObject, Outcome, PyException};
use crate::value::Object;
use crate::Value;

/// What one item of an array is, from its typecode.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// A C integer with this range.
    Int {
        min: i128,
        max: i128,
        c_name: &'static str,
    },
    /// `'f'`: stored rounded to `f32`.
    Float32,
    /// `'d'`.
    Float64,
    /// `'u'` / `'w'`: one character.
    Char,
}

fn kind_of(typecode: &str) -> Option<Kind> {
    let int = |bits: u32, signed: bool, c_name| {
        let (min, max) = if signed {
            (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
        } else {
            (0, (1i128 << bits) - 1)
        };
        Some(Kind::Int { min, max, c_name })
    };
    match typecode {
        "b" => int(8, true, "signed char"),
        "B" => int(8, false, "unsigned byte integer"),
        "h" => int(16, true, "signed short integer"),
        "H" => int(16, false, "unsigned short"),
        "i" => int(32, true, "signed integer"),
        "I" => int(32, false, "unsigned int"),
        // LP64: C long is 64 bits on the platforms a manager runs on (not Windows, where
        // it is 32; an out-of-range value there is refused by the client's own checks).
        "l" => int(64, true, "signed long integer"),
        "L" => int(64, false, "unsigned long"),
        "q" => int(64, true, "signed long long integer"),
        "Q" => int(64, false, "unsigned long long"),
        "f" => Some(Kind::Float32),
        "d" => Some(Kind::Float64),
        "u" | "w" => Some(Kind::Char),
        _ => None,
    }
}

/// An `array.array` of a manager (`m.Array('i', [1, 2, 3])`): `ArrayProxy` calls
/// `__len__`, `__getitem__` (an index or a slice) and `__setitem__` (an index). Items
/// are checked and converted as `array.array` does (integer ranges, `'f'` rounded to
/// single precision, one character for `'u'`/`'w'`).
#[derive(Debug)]
pub struct SharedArray {
    typecode: String,
    kind: Kind,
    items: Mutex<Vec<Value>>,
}

impl SharedArray {
    /// `array.array(typecode, items)`, or the `TypeError` / `ValueError` /
    /// `OverflowError` Python raises for a bad typecode or item.
    pub fn new(typecode: &str, items: &[Value]) -> Result<Arc<SharedArray>, PyException> {
        let kind = kind_of(typecode).ok_or_else(|| {
            PyException::value_error(
                "bad typecode (must be b, B, u, w, h, H, i, I, l, L, q, Q, f or d)",
            )
        })?;
        let items = items
            .iter()
            .map(|v| convert(kind, v))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Arc::new(SharedArray {
            typecode: typecode.to_string(),
            kind,
            items: Mutex::new(items),
        }))
    }

    fn items(&self) -> MutexGuard<'_, Vec<Value>> {
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The typecode.
    pub fn typecode(&self) -> &str {
        &self.typecode
    }

    /// The items, as Python values.
    pub fn to_vec(&self) -> Vec<Value> {
        self.items().clone()
    }

    /// `array.array(typecode, [items])`, as a value CPython unpickles to an equal array.
    fn array_value(&self, items: Vec<Value>) -> Value {
        Value::Object(Arc::new(Object::reduce(
            Value::global("array", "array"),
            vec![Value::from(self.typecode.as_str()), Value::list(items)],
        )))
    }
}

/// An item converted as `array.array.__setitem__` converts it.
fn convert(kind: Kind, v: &Value) -> Result<Value, PyException> {
    let v = v.unanchored();
    match kind {
        Kind::Int { min, max, c_name } => {
            let n: i128 = match v {
                Value::Int(i) => i128::from(*i),
                Value::Bool(b) => i128::from(*b),
                Value::BigInt(b) => b
                    .to_i128()
                    .unwrap_or(if b.sign() == num_bigint::Sign::Minus {
                        i128::MIN
                    } else {
                        i128::MAX
                    }),
                other => {
                    return Err(PyException::type_error(&format!(
                        "'{}' object cannot be interpreted as an integer",
                        other.type_name()
                    )))
                }
            };
            if n < min {
                return Err(PyException::builtin(
                    "OverflowError",
                    &format!("{c_name} is less than minimum"),
                ));
            }
            if n > max {
                return Err(PyException::builtin(
                    "OverflowError",
                    &format!("{c_name} is greater than maximum"),
                ));
            }
            Ok(match i64::try_from(n) {
                Ok(i) => Value::Int(i),
                Err(_) => Value::int(num_bigint::BigInt::from(n)),
            })
        }
        Kind::Float32 | Kind::Float64 => {
            let f = match v {
                Value::Float(f) => *f,
                Value::Int(i) => *i as f64,
                Value::Bool(b) => f64::from(u8::from(*b)),
                Value::BigInt(b) => b.to_f64().unwrap_or(f64::INFINITY),
                other => {
                    return Err(PyException::type_error(&format!(
                        "must be real number, not {}",
                        other.type_name()
                    )))
                }
            };
            Ok(Value::Float(if kind == Kind::Float32 {
                f64::from(f as f32)
            } else {
                f
            }))
        }
        Kind::Char => match as_str(v) {
            Some(text) if text.chars().count() == 1 => Ok(v.clone()),
            _ => Err(PyException::type_error(&format!(
                "array item must be a unicode character, not {}",
                v.type_name()
            ))),
        },
    }
}

/// `slice(start, stop, step)` as pickled, if `v` is one.
fn slice_of(v: &Value) -> Option<[Option<i64>; 3]> {
    let Value::Object(o) = v.unanchored() else {
        return None;
    };
    let g = global_of(&o.callable)?;
    if g.module != "builtins" || g.name != "slice" {
        return None;
    }
    let part = |i: usize| match o.args.get(i).map(Value::unanchored) {
        None | Some(Value::None) => Some(None),
        Some(x) => as_int(x).map(Some),
    };
    match o.args.len() {
        3 => Some([part(0)?, part(1)?, part(2)?]),
        _ => None,
    }
}

/// The indices a slice selects in a sequence of `len` items (Python's `slice.indices`).
pub(crate) fn slice_indices(
    [start, stop, step]: [Option<i64>; 3],
    len: usize,
) -> Result<Vec<usize>, PyException> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err(PyException::value_error("slice step cannot be zero"));
    }
    let clamp = |i: Option<i64>, default: i64, lo: i64, hi: i64| match i {
        None => default,
        Some(i) if i < 0 => (i.saturating_add(len)).max(lo),
        Some(i) => i.min(hi),
    };
    let mut out = Vec::new();
    if step > 0 {
        let (a, b) = (clamp(start, 0, 0, len), clamp(stop, len, 0, len));
        let mut i = a;
        while i < b {
            out.push(i as usize);
            i = i.saturating_add(step);
        }
    } else {
        let (a, b) = (
            clamp(start, len - 1, -1, len - 1),
            clamp(stop, -1, -1, len - 1),
        );
        let mut i = a;
        while i > b {
            out.push(i as usize);
            i = i.saturating_add(step);
        }
    }
    Ok(out)
}

/// A Python index into `len` array items, or `IndexError(message)`.
fn item_index(i: &Value, len: usize, message: &str) -> Result<usize, PyException> {
    super::collections::sequence_index(i, len, "array indices must be integers", message)
}

impl ManagedObject for SharedArray {
    fn exposed(&self) -> Vec<String> {
        ["__getitem__", "__len__", "__setitem__"]
            .map(String::from)
            .to_vec()
    }

    fn call(&self, method: &str, args: Args<'_>) -> Result<Outcome, PyException> {
        let mut items = self.items();
        match method {
            "__len__" => {
                args.none()?;
                Ok(Value::Int(items.len() as i64).into())
            }
            "__getitem__" => {
                let [i] = args.bind(["index"], 1)?;
                let i = i.unwrap_or(Value::None);
                if let Some(slice) = slice_of(&i) {
                    let picked = slice_indices(slice, items.len())?
                        .into_iter()
                        .map(|k| items[k].clone())
                        .collect();
                    drop(items);
                    return Ok(self.array_value(picked).into());
                }
                let k = item_index(&i, items.len(), "array index out of range")?;
                Ok(items[k].clone().into())
            }
            "__setitem__" => {
                let [i, v] = args.bind(["index", "value"], 2)?;
                let i = i.unwrap_or(Value::None);
                let v = v.unwrap_or(Value::None);
                if let Some(slice) = slice_of(&i) {
                    // `a[i:j] = array(...)`: only an equal-length replacement by a
                    // sequence of items (the array cannot grow through a proxy here).
                    let targets = slice_indices(slice, items.len())?;
                    let new = match v.unanchored() {
                        Value::Object(o) if super::is_global(&o.callable, "array", "array") => {
                            o.args.get(1).and_then(as_items).map(<[Value]>::to_vec)
                        }
                        _ => None,
                    }
                    .ok_or_else(|| {
                        PyException::type_error(&format!(
                            "can only assign array (not \"{}\") to array slice",
                            v.type_name()
                        ))
                    })?;
                    if new.len() != targets.len() {
                        return Err(PyException::value_error(&format!(
                            "attempt to assign array of size {} to extended slice of size {}",
                            new.len(),
                            targets.len()
                        )));
                    }
                    let new = new
                        .iter()
                        .map(|x| convert(self.kind, x))
                        .collect::<Result<Vec<_>, _>>()?;
                    for (k, x) in targets.into_iter().zip(new) {
                        items[k] = x;
                    }
                    return Ok(Value::None.into());
                }
                let k = item_index(&i, items.len(), "array assignment index out of range")?;
                items[k] = convert(self.kind, &v)?;
                Ok(Value::None.into())
            }
            other => Err(PyException::attribute_error(other)),
        }
    }

    fn get_value(&self) -> Result<Value, PyException> {
        Ok(self.array_value(self.to_vec()))
    }

    fn repr(&self) -> String {
        let items = self.items();
        if items.is_empty() {
            return format!("array('{}')", self.typecode);
        }
        if self.kind == Kind::Char {
            let text: String = items.iter().filter_map(as_str).collect();
            return format!("array('{}', {})", self.typecode, Value::from(text.as_str()));
        }
        format!("array('{}', {})", self.typecode, Value::list(items.clone()))
    }
}

/// The factory `Array(typecode, sequence, lock=True)` (`lock` is ignored, as CPython's
/// manager ignores it).
pub(crate) fn array_from_args(args: Args<'_>) -> Result<Arc<SharedArray>, PyException> {
    let [typecode, sequence, _lock] = args.bind(["typecode", "sequence", "lock"], 2)?;
    let typecode = typecode.unwrap_or(Value::None);
    let typecode = as_str(&typecode).ok_or_else(|| {
        PyException::type_error(&format!(
            "array() argument 1 must be a unicode character, not {}",
            typecode.type_name()
        ))
    })?;
    let sequence = sequence.unwrap_or(Value::None);
    let items: Vec<Value> = match sequence.unanchored() {
        Value::Str(text) if kind_of(typecode) == Some(Kind::Char) => text
            .as_str()
            .unwrap_or("")
            .chars()
            .map(|c| Value::from(c.to_string().as_str()))
            .collect(),
        // CPython reads bytes as machine-format items (`frombytes`).
        Value::Bytes(_) | Value::ByteArray(_) => {
            return Err(PyException::type_error(
                "Array(typecode, bytes): a Rust manager takes a sequence of items",
            ))
        }
        other => match as_items(other) {
            Some(items) => items.to_vec(),
            None => {
                return Err(PyException::type_error(&format!(
                    "'{}' object is not iterable",
                    other.type_name()
                )))
            }
        },
    };
    SharedArray::new(typecode, &items)
}
