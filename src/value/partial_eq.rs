//! Equality, following Python's `==`.
//!
//! - Numbers compare by value across kinds, exactly: `1 == 1.0 == True`, `Int` vs `BigInt`,
//!   `2**64 == 18446744073709551616.0`; `nan != nan` (floats have no identity here, so
//!   `[nan] != [nan]` even where Python's identity shortcut would say equal).
//! - `str` by code points; `bytes == bytearray` by content; `str != bytes`.
//! - `list` and `tuple` by items, but a list never equals a tuple.
//! - `dict` by key set and values, regardless of order (as Python); `set`/`frozenset` by
//!   members regardless of order, and a set may equal a frozenset.
//! - Two containers sharing one allocation are equal (Python's identity shortcut).
//! - `Global` by module and name; `Object` by construction kind, callable, args, kwargs,
//!   state, list items and dict items (dict items in order).
//! - An `Anchor` compares by its container; `Ref(a) == Ref(b)` when `a` and `b` belong to
//!   anchors met at the same place in both values (or, outside any anchor, when `a == b`).
//! - `Effects` equal `Effects` with an equal target and equal steps of the same kinds; a
//!   value with effects never equals one without (`PartialEq` with Rust values looks
//!   through them).
//!
//! Comparison uses an explicit stack, so nesting depth is not limited by the thread's
//! stack. Finding a dict key or set member in the other container compares candidates with
//! a nested comparison; keys nested inside keys more than [`KEY_NESTING`] levels deep are
//! matched by position instead.
//!
//! `PartialEq` with Rust values (`str`, `&str`, `String`, `i64`, `f64`, `bool`) uses the
//! same rules: `Value::Float(1.0) == 1`, `Value::Int(1) == true`.

use std::collections::HashMap;
use std::sync::Arc;

use num_bigint::BigInt;
use num_traits::FromPrimitive;

use super::{Effect, Effects, Object, Value};

/// How many levels of dict keys / set members inside dict keys / set members are matched
/// order-insensitively before falling back to matching by position.
const KEY_NESTING: usize = 64;

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        values_eq(self, other, 0)
    }
}

/// 2**63, exactly.
const TWO_63: f64 = (1u64 << 63) as f64;

/// A number, as Python's numeric tower sees it.
enum Num<'a> {
    Small(i64),
    Big(&'a BigInt),
    Float(f64),
}

fn as_num(v: &Value) -> Option<Num<'_>> {
    match v {
        Value::Bool(b) => Some(Num::Small(i64::from(*b))),
        Value::Int(i) => Some(Num::Small(*i)),
        Value::BigInt(b) => Some(Num::Big(b)),
        Value::Float(x) => Some(Num::Float(*x)),
        _ => None,
    }
}

fn num_eq(a: Num<'_>, b: Num<'_>) -> bool {
    match (a, b) {
        (Num::Small(x), Num::Small(y)) => x == y,
        (Num::Float(x), Num::Float(y)) => x == y,
        (Num::Big(x), Num::Big(y)) => x == y,
        (Num::Small(i), Num::Big(b)) | (Num::Big(b), Num::Small(i)) => *b == BigInt::from(i),
        (Num::Small(i), Num::Float(x)) | (Num::Float(x), Num::Small(i)) => {
            // Exact: every integral float in [-2**63, 2**63) converts to i64 without loss.
            x.is_finite() && x.fract() == 0.0 && (-TWO_63..TWO_63).contains(&x) && x as i64 == i
        }
        (Num::Big(b), Num::Float(x)) | (Num::Float(x), Num::Big(b)) => {
            x.is_finite() && x.fract() == 0.0 && BigInt::from_f64(x).is_some_and(|y| y == *b)
        }
    }
}

fn same<T>(a: &Arc<T>, b: &Arc<T>) -> bool {
    Arc::ptr_eq(a, b)
}

/// Python `==` between two values, without recursion on nesting depth. `depth` counts
/// nested key lookups (see [`KEY_NESTING`]).
fn values_eq(a: &Value, b: &Value, depth: usize) -> bool {
    let mut stack: Vec<(&Value, &Value)> = vec![(a, b)];
    // Anchor ids on the left mapped to the anchor ids met at the same place on the right.
    let mut anchors: HashMap<u32, u32> = HashMap::new();
    while let Some((a, b)) = stack.pop() {
        if let (Some(x), Some(y)) = (as_num(a), as_num(b)) {
            if num_eq(x, y) {
                continue;
            }
            return false;
        }
        match (a, b) {
            (Value::Anchor(i, x), Value::Anchor(j, y)) => {
                anchors.insert(*i, *j);
                stack.push((x, y));
            }
            (Value::Effects(x), Value::Effects(y)) => {
                if !push_effects(x, y, &mut stack) {
                    return false;
                }
            }
            (Value::Anchor(_, x), y) => stack.push((x, y)),
            (x, Value::Anchor(_, y)) => stack.push((x, y)),
            (Value::Ref(i), Value::Ref(j)) => {
                let matched = anchors.get(i).map_or(i == j, |m| m == j);
                if !matched {
                    return false;
                }
            }
            (Value::None, Value::None) => {}
            (Value::Str(x), Value::Str(y)) => {
                if x != y {
                    return false;
                }
            }
            (Value::Bytes(_) | Value::ByteArray(_), Value::Bytes(_) | Value::ByteArray(_)) => {
                if a.as_bytes() != b.as_bytes() {
                    return false;
                }
            }
            (Value::List(x), Value::List(y)) | (Value::Tuple(x), Value::Tuple(y)) => {
                if same(x, y) {
                    continue;
                }
                if x.len() != y.len() {
                    return false;
                }
                stack.extend(x.iter().zip(y.iter()).rev());
            }
            (Value::Dict(x), Value::Dict(y)) => {
                if same(x, y) {
                    continue;
                }
                if x.len() != y.len() {
                    return false;
                }
                if depth >= KEY_NESTING {
                    for ((k1, v1), (k2, v2)) in x.iter().zip(y.iter()).rev() {
                        stack.push((v1, v2));
                        stack.push((k1, k2));
                    }
                    continue;
                }
                for (i, (k, v)) in x.iter().enumerate() {
                    match find_key(y, i, k, depth) {
                        Some(found) => stack.push((v, found)),
                        None => return false,
                    }
                }
            }
            (Value::Set(x) | Value::FrozenSet(x), Value::Set(y) | Value::FrozenSet(y)) => {
                if same(x, y) {
                    continue;
                }
                if x.len() != y.len() {
                    return false;
                }
                if depth >= KEY_NESTING {
                    stack.extend(x.iter().zip(y.iter()).rev());
                    continue;
                }
                for (i, m) in x.iter().enumerate() {
                    let hit = y.get(i).is_some_and(|c| values_eq(m, c, depth + 1))
                        || y.iter().any(|c| values_eq(m, c, depth + 1));
                    if !hit {
                        return false;
                    }
                }
            }
            (Value::Global(g), Value::Global(h)) => {
                if g != h {
                    return false;
                }
            }
            (Value::Object(o), Value::Object(p)) => {
                if same(o, p) {
                    continue;
                }
                if !push_object(o, p, &mut stack) {
                    return false;
                }
            }
            _ => return false,
        }
    }
    true
}

/// The value for key `k` in `pairs`, trying position `hint` first.
fn find_key<'a>(
    pairs: &'a [(Value, Value)],
    hint: usize,
    k: &Value,
    depth: usize,
) -> Option<&'a Value> {
    if let Some((k2, v2)) = pairs.get(hint) {
        if values_eq(k, k2, depth + 1) {
            return Some(v2);
        }
    }
    pairs
        .iter()
        .find(|(k2, _)| values_eq(k, k2, depth + 1))
        .map(|(_, v)| v)
}

/// Pushes the parts of two effect lists to compare (targets first out); false when their
/// steps differ in kind or length.
fn push_effects<'a>(
    x: &'a Effects,
    y: &'a Effects,
    stack: &mut Vec<(&'a Value, &'a Value)>,
) -> bool {
    if x.steps.len() != y.steps.len() {
        return false;
    }
    let mut pairs = vec![(&x.target, &y.target)];
    for (s, t) in x.steps.iter().zip(y.steps.iter()) {
        let same_kind = match (s, t) {
            (Effect::Append { marked: a, .. }, Effect::Append { marked: b, .. })
            | (Effect::SetItems { marked: a, .. }, Effect::SetItems { marked: b, .. }) => a == b,
            (Effect::AddItems(_), Effect::AddItems(_))
            | (Effect::Build(_), Effect::Build(_))
            | (Effect::SetState { .. }, Effect::SetState { .. })
            | (Effect::Discard(_), Effect::Discard(_)) => true,
            _ => false,
        };
        if !same_kind || s.len() != t.len() {
            return false;
        }
        pairs.extend(s.values().zip(t.values()));
    }
    stack.extend(pairs.into_iter().rev());
    true
}

/// Pushes the parts of two objects to compare; false when their shapes already differ.
fn push_object<'a>(o: &'a Object, p: &'a Object, stack: &mut Vec<(&'a Value, &'a Value)>) -> bool {
    if o.construct != p.construct
        || o.args.len() != p.args.len()
        || o.list_items.len() != p.list_items.len()
        || o.dict_items.len() != p.dict_items.len()
        || o.kwargs.is_some() != p.kwargs.is_some()
        || o.state.is_some() != p.state.is_some()
    {
        return false;
    }
    stack.push((&o.callable, &p.callable));
    stack.extend(o.args.iter().zip(p.args.iter()));
    if let (Some(x), Some(y)) = (&o.kwargs, &p.kwargs) {
        stack.push((x, y));
    }
    if let (Some(x), Some(y)) = (&o.state, &p.state) {
        stack.push((x, y));
    }
    stack.extend(o.list_items.iter().zip(p.list_items.iter()));
    for ((k1, v1), (k2, v2)) in o.dict_items.iter().zip(p.dict_items.iter()) {
        stack.push((k1, k2));
        stack.push((v1, v2));
    }
    true
}

impl PartialEq<str> for Value {
    fn eq(&self, other: &str) -> bool {
        self.as_pystr().is_some_and(|s| s == other)
    }
}

impl PartialEq<&str> for Value {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

impl PartialEq<String> for Value {
    fn eq(&self, other: &String) -> bool {
        *self == **other
    }
}

impl PartialEq<i64> for Value {
    fn eq(&self, other: &i64) -> bool {
        as_num(self.unanchored()).is_some_and(|n| num_eq(n, Num::Small(*other)))
    }
}

impl PartialEq<f64> for Value {
    fn eq(&self, other: &f64) -> bool {
        as_num(self.unanchored()).is_some_and(|n| num_eq(n, Num::Float(*other)))
    }
}

impl PartialEq<bool> for Value {
    fn eq(&self, other: &bool) -> bool {
        as_num(self.unanchored()).is_some_and(|n| num_eq(n, Num::Small(i64::from(*other))))
    }
}

macro_rules! reverse_eq {
    ($($t:ty),*) => {$(
        impl PartialEq<Value> for $t {
            fn eq(&self, other: &Value) -> bool {
                other == self
            }
        }
    )*};
}
reverse_eq!(str, &str, String, i64, f64, bool);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_cross_kinds() {
        assert_eq!(Value::Int(1), Value::Float(1.0));
        assert_eq!(Value::Bool(true), Value::Int(1));
        assert_ne!(Value::Float(f64::NAN), Value::Float(f64::NAN));
        let two64 = Value::int(BigInt::from(1u128 << 64));
        assert_eq!(two64, Value::Float(18446744073709551616.0));
        assert_ne!(Value::Int(i64::MAX), Value::Float(i64::MAX as f64));
        assert_eq!(Value::Int(i64::MIN), Value::Float(i64::MIN as f64));
    }
}
