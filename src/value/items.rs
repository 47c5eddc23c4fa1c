//! [`Items`] and [`Pairs`]: the storage of containers, with a `Drop` that never recurses.
//!
//! A `Value` nested a million levels deep (a hostile pickle can describe one in a few
//! megabytes) would overflow the stack if dropped the ordinary, recursive way. These two
//! newtypes own a container's elements and tear nested containers down with an explicit
//! work list instead. They deref to the `Vec` inside, so they read like one.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use super::{Effects, Object, Value};

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

/// Moves the container children of `v` onto `work` when `v` is the last owner of its
/// container, so the container itself is dropped holding only scalars (no recursion).
/// Scalar children are dropped in place: their drop never recurses.
fn detach(v: Value, work: &mut Vec<Value>) {
    match v {
        Value::List(a) | Value::Tuple(a) | Value::Set(a) | Value::FrozenSet(a) => {
            if let Ok(mut items) = Arc::try_unwrap(a) {
                take_containers(&mut items.0, work);
            }
        }
        Value::Dict(a) => {
            if let Ok(mut pairs) = Arc::try_unwrap(a) {
                take_pair_containers(&mut pairs.0, work);
            }
        }
        Value::Object(a) => {
            if let Ok(mut obj) = Arc::try_unwrap(a) {
                obj.take_children(work);
            }
        }
        Value::Anchor(_, inner) => work.push(*inner),
        Value::Effects(a) => {
            if let Ok(mut e) = Arc::try_unwrap(a) {
                e.take_children(work);
            }
        }
        _ => {}
    }
}

/// Moves every container in `items` onto `work`, leaving `Value::None` in its place.
#[inline]
fn take_containers(items: &mut [Value], work: &mut Vec<Value>) {
    for x in items {
        if is_container(x) {
            work.push(std::mem::replace(x, Value::None));
        }
    }
}

/// [`take_containers`] for dict entries.
#[inline]
fn take_pair_containers(pairs: &mut [(Value, Value)], work: &mut Vec<Value>) {
    for (k, v) in pairs {
        if is_container(k) {
            work.push(std::mem::replace(k, Value::None));
        }
        if is_container(v) {
            work.push(std::mem::replace(v, Value::None));
        }
    }
}

/// Drops each container in `items` (leaving `Value::None`), one subtree at a time, so
/// that the work list only ever holds the pending containers of one subtree.
fn drop_containers(items: &mut [Value], work: &mut Vec<Value>) {
    for x in items {
        if is_container(x) {
            detach(std::mem::replace(x, Value::None), work);
            while let Some(v) = work.pop() {
                detach(v, work);
            }
        }
    }
}

impl Drop for Items {
    fn drop(&mut self) {
        if self.0.iter().any(is_container) {
            drop_containers(&mut self.0, &mut Vec::new());
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
            let mut work = Vec::new();
            for (k, v) in self.0.iter_mut() {
                drop_containers(std::slice::from_mut(k), &mut work);
                drop_containers(std::slice::from_mut(v), &mut work);
            }
        }
    }
}

impl Drop for Object {
    fn drop(&mut self) {
        let mut work = Vec::new();
        self.take_children(&mut work);
        while let Some(v) = work.pop() {
            detach(v, &mut work);
        }
    }
}

impl Object {
    fn take_children(&mut self, work: &mut Vec<Value>) {
        if is_container(&self.callable) {
            work.push(std::mem::replace(&mut self.callable, Value::None));
        }
        take_containers(&mut self.args, work);
        if let Some(k) = self.kwargs.as_mut() {
            take_containers(std::slice::from_mut(k), work);
        }
        if let Some(s) = self.state.as_mut() {
            take_containers(std::slice::from_mut(s), work);
        }
        take_containers(&mut self.list_items, work);
        take_pair_containers(&mut self.dict_items, work);
    }
}

impl Drop for Effects {
    fn drop(&mut self) {
        let mut work = Vec::new();
        self.take_children(&mut work);
        while let Some(v) = work.pop() {
            detach(v, &mut work);
        }
    }
}

impl Effects {
    fn take_children(&mut self, work: &mut Vec<Value>) {
        take_containers(std::slice::from_mut(&mut self.target), work);
        for step in &mut self.steps {
            for v in step.values_mut() {
                take_containers(std::slice::from_mut(v), work);
            }
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
            | Value::Effects(_)
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
