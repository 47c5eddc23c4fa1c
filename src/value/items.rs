//! [`Items`] and [`Pairs`]: the storage of containers, with a `Drop` that never recurses.
//!
//! A `Value` nested a million levels deep (a hostile pickle can describe one in a few
//! megabytes) would overflow the stack if dropped the ordinary, recursive way. These two
//! newtypes own a container's elements and tear nested containers down with an explicit
//! work list instead. They deref to the `Vec` inside, so they read like one.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, OnceLock};

use super::dict_index::{DictIndex, MIN_INDEXED};
use super::{Effects, Object, Value};

/// The elements of a list, tuple, set or frozenset. Derefs to `Vec<Value>`.
#[derive(Clone, Debug, Default)]
pub struct Items(pub(crate) Vec<Value>);

/// The entries of a dict, in insertion order. Derefs to `Vec<(Value, Value)>`.
///
/// Lookups by key ([`Value::get`], `value["key"]`) use a hash index built on the first
/// lookup and dropped by any mutable access (see `dict_index.rs`).
///
/// Entries are kept as the pickle wrote them. CPython never writes two equal keys into
/// one dict, but a hand-made pickle can (`{1: 'a'}` then `d[True] = 'b'`): Python ends
/// with one entry, `{1: 'b'}`; here both entries stay, so that encoding gives the same
/// bytes back, and a lookup finds the first (`'a'`). Compare the entry count with the
/// distinct keys if your peer may send such pickles.
///
/// (Crate code that changes `.0` directly must do so before any lookup, as the decoders
/// do while they build a dict; everything else goes through `DerefMut`.)
#[derive(Clone, Default)]
pub struct Pairs(pub(crate) Vec<(Value, Value)>, IndexCell);

impl std::fmt::Debug for Pairs {
    /// The entries, as before the index existed (the index is not shown).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Pairs").field(&self.0).finish()
    }
}

/// The lazily built lookup index of a [`Pairs`].
#[derive(Clone, Debug, Default)]
pub(crate) struct IndexCell(OnceLock<DictIndex>);

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
        Pairs::from(Vec::new())
    }
    /// An empty dict body with room for `n` entries.
    pub fn with_capacity(n: usize) -> Pairs {
        Pairs::from(Vec::with_capacity(n))
    }
    /// The entries as a `Vec`.
    pub fn into_vec(mut self) -> Vec<(Value, Value)> {
        std::mem::take(&mut self.0)
    }

    /// The position of the entry whose key equals `key` by Python's `==` (the first, if
    /// several do). O(1) on average from [`MIN_INDEXED`] entries up.
    pub(crate) fn position(&self, key: &Value) -> Option<usize> {
        if self.0.len() < MIN_INDEXED {
            return self.0.iter().position(|(k, _)| k == key);
        }
        match self.index() {
            Some(index) => index.find(&self.0, key),
            None => self.0.iter().position(|(k, _)| k == key),
        }
    }

    /// The position of the entry whose key is the `str` `key`.
    pub(crate) fn position_str(&self, key: &str) -> Option<usize> {
        if self.0.len() < MIN_INDEXED {
            return self
                .0
                .iter()
                .position(|(k, _)| matches!(k.unanchored(), Value::Str(s) if s == key));
        }
        match self.index() {
            Some(index) => index.find_str(&self.0, key),
            None => self
                .0
                .iter()
                .position(|(k, _)| matches!(k.unanchored(), Value::Str(s) if s == key)),
        }
    }

    /// The index, unless `.0` was changed in length behind it (then lookups scan).
    fn index(&self) -> Option<&DictIndex> {
        if self.0.len() >= u32::MAX as usize {
            return None;
        }
        let index = self.1 .0.get_or_init(|| DictIndex::build(&self.0));
        (index.len() == self.0.len()).then_some(index)
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
    /// The entries, for changing: the lookup index is dropped (rebuilt on next lookup).
    fn deref_mut(&mut self) -> &mut Vec<(Value, Value)> {
        self.1 = IndexCell::default();
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
        Pairs(v, IndexCell::default())
    }
}
impl FromIterator<Value> for Items {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Items {
        Items(iter.into_iter().collect())
    }
}
impl FromIterator<(Value, Value)> for Pairs {
    fn from_iter<I: IntoIterator<Item = (Value, Value)>>(iter: I) -> Pairs {
        Pairs::from(iter.into_iter().collect::<Vec<_>>())
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
