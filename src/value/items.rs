//! [`Items`] and [`Pairs`]: the storage of containers, with a `Drop` that never recurses.
//!
//! A `Value` nested a million levels deep (a hostile pickle can describe one in a few
//! megabytes) would overflow the stack if dropped the ordinary, recursive way. These two
//! newtypes own a container's elements and tear nested containers down with an explicit
//! work list instead. They deref to the `Vec` inside, so they read like one.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use super::{Object, Value};

/// The elements of a list, tuple, set or frozenset. Derefs to `Vec<Value>`.
#[derive(Clone, Debug, Default)]
pub struct Items(pub(crate) Vec<Value>);

/// The entries of a dict, in insertion order. Derefs to `Vec<(Value, Value)>`.
#[derive(Clone, Debug, Default)]
pub struct Pairs(pub(crate) Vec<(Value, Value)>);

impl Items {
    /// An empty sequence.
    pub fn new() -> Items {
        Items(Vec::new())
    }
    /// An empty sequence with room for `n` elements.
    pub fn with_capacity(n: usize) -> Items {
        Items(Vec::with_capacity(n))
    }
    /// The elements as a `Vec`.
    pub fn into_vec(mut self) -> Vec<Value> {
        std::mem::take(&mut self.0)
    }
}

impl Pairs {
    /// An empty dict body.
    pub fn new() -> Pairs {
        Pairs(Vec::new())
    }
    /// An empty dict body with room for `n` entries.
    pub fn with_capacity(n: usize) -> Pairs {
        Pairs(Vec::with_capacity(n))
    }
    /// The entries as a `Vec`.
    pub fn into_vec(mut self) -> Vec<(Value, Value)> {
        std::mem::take(&mut self.0)
    }
}

impl Deref for Items {
    type Target = Vec<Value>;
    fn deref(&self) -> &Vec<Value> {
        &self.0
    }
}
impl DerefMut for Items {
    fn deref_mut(&mut self) -> &mut Vec<Value> {
        &mut self.0
    }
}
impl Deref for Pairs {
    type Target = Vec<(Value, Value)>;
    fn deref(&self) -> &Vec<(Value, Value)> {
        &self.0
    }
}
impl DerefMut for Pairs {
    fn deref_mut(&mut self) -> &mut Vec<(Value, Value)> {
        &mut self.0
    }
}
impl From<Vec<Value>> for Items {
    fn from(v: Vec<Value>) -> Items {
        Items(v)
    }
}
impl From<Vec<(Value, Value)>> for Pairs {
    fn from(v: Vec<(Value, Value)>) -> Pairs {
        Pairs(v)
    }
}
impl FromIterator<Value> for Items {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Items {
        Items(iter.into_iter().collect())
    }
}
impl FromIterator<(Value, Value)> for Pairs {
    fn from_iter<I: IntoIterator<Item = (Value, Value)>>(iter: I) -> Pairs {
        Pairs(iter.into_iter().collect())
    }
}
impl<'a> IntoIterator for &'a Items {
    type Item = &'a Value;
    type IntoIter = std::slice::Iter<'a, Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
impl<'a> IntoIterator for &'a Pairs {
    type Item = &'a (Value, Value);
    type IntoIter = std::slice::Iter<'a, (Value, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Moves the children of `v` onto `work` when `v` is the last owner of its container, so
/// the container itself is dropped empty (no recursion).
fn detach(v: Value, work: &mut Vec<Value>) {
    match v {
        Value::List(a) | Value::Tuple(a) | Value::Set(a) | Value::FrozenSet(a) => {
            if let Ok(mut items) = Arc::try_unwrap(a) {
                work.append(&mut items.0);
            }
        }
        Value::Dict(a) => {
            if let Ok(mut pairs) = Arc::try_unwrap(a) {
                for (k, v) in pairs.0.drain(..) {
                    work.push(k);
                    work.push(v);
                }
            }
        }
        Value::Object(a) => {
            if let Ok(mut obj) = Arc::try_unwrap(a) {
                obj.take_children(work);
            }
        }
        Value::Anchor(_, inner) => work.push(*inner),
        _ => {}
    }
}

fn drain_all(mut work: Vec<Value>) {
    while let Some(v) = work.pop() {
        detach(v, &mut work);
    }
}

impl Drop for Items {
    fn drop(&mut self) {
        if self.0.iter().any(is_container) {
            drain_all(std::mem::take(&mut self.0));
        }
    }
}

impl Drop for Pairs {
    fn drop(&mut self) {
        if self
            .0
            .iter()
            .any(|(k, v)| is_container(k) || is_container(v))
        {
            let mut work = Vec::with_capacity(self.0.len() * 2);
            for (k, v) in self.0.drain(..) {
                work.push(k);
                work.push(v);
            }
            drain_all(work);
        }
    }
}

impl Drop for Object {
    fn drop(&mut self) {
        let mut work = Vec::new();
        self.take_children(&mut work);
        drain_all(work);
    }
}

impl Object {
    fn take_children(&mut self, work: &mut Vec<Value>) {
        work.push(std::mem::replace(&mut self.callable, Value::None));
        work.append(&mut self.args);
        if let Some(k) = self.kwargs.take() {
            work.push(k);
        }
        if let Some(s) = self.state.take() {
            work.push(s);
        }
        work.append(&mut self.list_items);
        for (k, v) in self.dict_items.drain(..) {
            work.push(k);
            work.push(v);
        }
    }
}

fn is_container(v: &Value) -> bool {
    matches!(
        v,
        Value::List(_)
            | Value::Tuple(_)
            | Value::Set(_)
            | Value::FrozenSet(_)
            | Value::Dict(_)
            | Value::Object(_)
            | Value::Anchor(..)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_a_million_levels_does_not_overflow_a_small_stack() {
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| {
                let mut v = Value::None;
                for _ in 0..1_000_000 {
                    v = Value::list(vec![v]);
                }
                let mut d = Value::None;
                for _ in 0..100_000 {
                    d = Value::dict(vec![(Value::Int(1), d)]);
                }
                drop(v);
                drop(d);
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
