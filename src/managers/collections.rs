//! Ready-made `dict`, `list` and `Value` shared objects, and the iterator their
//! `__iter__` hands out (CPython's `SyncManager` `dict` / `list` / `Value` / `Iterator`).
//!
//! Keys and items compare with Python's `==` ([`Value`]'s `PartialEq`); lookups are linear
//! scans, which suits the small shared tables managers usually hold.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::server::Args;
use super::{as_int, as_items, as_pairs, ManagedObject, Outcome, PyException};
use crate::Value;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|m| m.to_string()).collect()
}

fn ret(v: Value) -> Result<Outcome, PyException> {
    Ok(Outcome::Return(v))
}

/// `TypeError: unhashable type: 'list'` when `key` could not be a Python dict key.
pub(crate) fn check_hashable(key: &Value) -> Result<(), PyException> {
    let mut stack = vec![key];
    while let Some(v) = stack.pop() {
        match v.unanchored() {
            Value::List(_) | Value::Dict(_) | Value::Set(_) | Value::ByteArray(_) => {
                return Err(PyException::type_error(&format!(
                    "unhashable type: '{}'",
                    v.type_name()
                )))
            }
            Value::Tuple(items) => stack.extend(items.iter()),
            _ => {}
        }
    }
    Ok(())
}

/// The items of any iterable argument a Rust manager can iterate: a list, tuple, set,
/// frozenset, dict (its keys), str (its characters) or bytes (its ints).
pub(crate) fn iter_of(v: &Value) -> Result<Vec<Value>, PyException> {
    match v.unanchored() {
        Value::List(i) | Value::Tuple(i) | Value::Set(i) | Value::FrozenSet(i) => Ok(i.to_vec()),
        Value::Dict(p) => Ok(p.iter().map(|(k, _)| k.clone()).collect()),
        Value::Str(text) => Ok(text
            .as_str()
            .unwrap_or("")
            .chars()
            .map(|c| Value::from(c.to_string().as_str()))
            .collect()),
        Value::Bytes(b) => Ok(b.iter().map(|x| Value::Int(i64::from(*x))).collect()),
        Value::Object(o) if super::is_global(&o.callable, "builtins", "range") => {
            range_items(&o.args)
        }
        other => Err(PyException::type_error(&format!(
            "'{}' object is not iterable",
            other.type_name()
        ))),
    }
}

/// The items of a pickled `range(start, stop, step)` (at most [`MAX_REPEATED_ITEMS`]).
fn range_items(args: &[Value]) -> Result<Vec<Value>, PyException> {
    let ints: Option<Vec<i64>> = args.iter().map(as_int).collect();
    let (start, stop, step) = match ints.as_deref() {
        Some([stop]) => (0, *stop, 1),
        Some([start, stop]) => (*start, *stop, 1),
        Some([start, stop, step]) if *step != 0 => (*start, *stop, *step),
        _ => {
            return Err(PyException::type_error(
                "a range of small ints was expected",
            ))
        }
    };
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        if out.len() >= MAX_REPEATED_ITEMS {
            return Err(PyException::builtin(
                "MemoryError",
                "a Rust manager iterates ranges of at most 2**20 items",
            ));
        }
        out.push(Value::Int(i));
        i = match i.checked_add(step) {
            Some(next) => next,
            None => break,
        };
    }
    Ok(out)
}

/// `iter([items])`: how CPython pickles a set iterator or a dict's reversed-key
/// iterator, and so what a manager sends for `__iter__` / `__reversed__` without an
/// `Iterator` proxy.
pub(crate) fn iterator_value(items: Vec<Value>) -> Value {
    Value::Object(Arc::new(crate::value::Object::reduce(
        Value::global("builtins", "iter"),
        vec![Value::list(items)],
    )))
}

/// The most items `*` / `*=` on a shared list may produce (a peer must not make the
/// server allocate without bound): above it, `MemoryError`.
const MAX_REPEATED_ITEMS: usize = 1 << 20;

/// A Python index into a list of `len` items (negative counts from the end).
fn index(i: &Value, len: usize, what: &str) -> Result<usize, PyException> {
    sequence_index(i, len, "list indices must be integers or slices", what)
}

/// A Python index into a sequence of `len` items (negative counts from the end): a
/// non-integer is `TypeError("{not_int}, not {type}")`, one out of range
/// `IndexError(out_of_range)`, each in the words of the sequence's own type.
pub(super) fn sequence_index(
    i: &Value,
    len: usize,
    not_int: &str,
    out_of_range: &str,
) -> Result<usize, PyException> {
    let i = as_int(i)
        .ok_or_else(|| PyException::type_error(&format!("{not_int}, not {}", i.type_name())))?;
    let len_i = i64::try_from(len).unwrap_or(i64::MAX);
    let j = if i < 0 { i.saturating_add(len_i) } else { i };
    if (0..len_i).contains(&j) {
        Ok(j as usize)
    } else {
        Err(PyException::index_error(out_of_range))
    }
}

/// An iterator shared under the typeid `"Iterator"`: what `SyncManager` returns for a
/// dict's `__iter__`. Exposes `__next__`, which raises `StopIteration` at the end.
#[derive(Debug)]
pub struct SharedIterator {
    items: Mutex<std::vec::IntoIter<Value>>,
}

impl SharedIterator {
    /// An iterator over `items`.
    pub fn new(items: Vec<Value>) -> Arc<SharedIterator> {
        Arc::new(SharedIterator {
            items: Mutex::new(items.into_iter()),
        })
    }
}

impl ManagedObject for SharedIterator {
    fn exposed(&self) -> Vec<String> {
        names(&["__next__"])
    }

    fn call(&self, method: &str, args: Args<'_>) -> Result<Outcome, PyException> {
        match method {
            "__next__" => {
                args.none()?;
                match lock(&self.items).next() {
                    Some(v) => ret(v),
                    None => Err(PyException::new("builtins", "StopIteration", Vec::new())),
                }
            }
            other => Err(PyException::attribute_error(other)),
        }
    }

    fn repr(&self) -> String {
        "<mpconn SharedIterator>".into()
    }
}

/// A `dict` served by a Rust manager, with the methods of CPython's `DictProxy`.
///
/// `__iter__` answers with an [`Outcome::Proxy`] of typeid `"Iterator"` (as CPython's
/// `SyncManager` does), so a CPython client iterating over it needs that typeid
/// registered (`SyncManager` has it; a `BaseManager` subclass needs
/// `register('Iterator', proxytype=IteratorProxy, create_method=False)`).
#[derive(Debug, Default)]
pub struct SharedDict {
    pairs: Mutex<Vec<(Value, Value)>>,
}

/// `DictProxy`'s methods: 3.11's, and 3.14's `|`, `|=`, `reversed()` and `fromkeys`.
const DICT_METHODS: &[&str] = &[
    "__contains__",
    "__delitem__",
    "__getitem__",
    "__ior__",
    "__iter__",
    "__len__",
    "__or__",
    "__reversed__",
    "__ror__",
    "__setitem__",
    "clear",
    "copy",
    "fromkeys",
    "get",
    "items",
    "keys",
    "pop",
    "popitem",
    "setdefault",
    "update",
    "values",
];

impl SharedDict {
    /// An empty dict.
    pub fn new() -> Arc<SharedDict> {
        Arc::new(SharedDict::default())
    }

    /// A dict holding `pairs` (later duplicates replace earlier ones, as in Python).
    pub fn from_pairs(pairs: Vec<(Value, Value)>) -> Result<Arc<SharedDict>, PyException> {
        let d = SharedDict::default();
        for (k, v) in pairs {
            d.insert(k, v)?;
        }
        Ok(Arc::new(d))
    }

    /// `d[key] = value`.
    pub fn insert(&self, key: Value, value: Value) -> Result<(), PyException> {
        check_hashable(&key)?;
        let mut pairs = lock(&self.pairs);
        match pairs.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => pairs.push((key, value)),
        }
        Ok(())
    }

    /// `d.get(key)`.
    pub fn get(&self, key: &Value) -> Option<Value> {
        lock(&self.pairs)
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    /// `d.pop(key, None)`.
    pub fn remove(&self, key: &Value) -> Option<Value> {
        let mut pairs = lock(&self.pairs);
        let at = pairs.iter().position(|(k, _)| k == key)?;
        Some(pairs.remove(at).1)
    }

    /// `len(d)`.
    pub fn len(&self) -> usize {
        lock(&self.pairs).len()
    }

    /// `len(d) == 0`.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole dict as a value.
    pub fn to_value(&self) -> Value {
        Value::dict(lock(&self.pairs).clone())
    }

    /// `update(other)`: a dict, or any sequence of pairs.
    pub(crate) fn update_from(&self, other: &Value) -> Result<(), PyException> {
        if let Some(pairs) = as_pairs(other) {
            for (k, v) in pairs {
                self.insert(k.clone(), v.clone())?;
            }
            return Ok(());
        }
        let items = as_items(other).ok_or_else(|| {
            PyException::type_error(&format!("'{}' object is not iterable", other.type_name()))
        })?;
        for (n, item) in items.iter().enumerate() {
            match as_items(item) {
                Some([k, v]) => self.insert(k.clone(), v.clone())?,
                _ => {
                    return Err(PyException::value_error(&format!(
                        "dictionary update sequence element #{n} has the wrong length"
                    )))
                }
            }
        }
        Ok(())
    }
}

impl ManagedObject for SharedDict {
    fn exposed(&self) -> Vec<String> {
        names(DICT_METHODS)
    }

    fn call(&self, method: &str, args: Args<'_>) -> Result<Outcome, PyException> {
        match method {
            "__getitem__" => {
                let [key] = args.bind(["key"], 1)?;
                let key = key.unwrap_or(Value::None);
                check_hashable(&key)?;
                match self.get(&key) {
                    Some(v) => ret(v),
                    None => Err(PyException::key_error(key)),
                }
            }
            "__setitem__" => {
                let [key, value] = args.bind(["key", "value"], 2)?;
                self.insert(key.unwrap_or(Value::None), value.unwrap_or(Value::None))?;
                ret(Value::None)
            }
            "__delitem__" => {
                let [key] = args.bind(["key"], 1)?;
                let key = key.unwrap_or(Value::None);
                check_hashable(&key)?;
                match self.remove(&key) {
                    Some(_) => ret(Value::None),
                    None => Err(PyException::key_error(key)),
                }
            }
            "__contains__" => {
                let [key] = args.bind(["key"], 1)?;
                let key = key.unwrap_or(Value::None);
                check_hashable(&key)?;
                ret(Value::Bool(self.get(&key).is_some()))
            }
            "__len__" => {
                args.none()?;
                ret(Value::Int(self.len() as i64))
            }
            "__iter__" => {
                args.none()?;
                let keys = lock(&self.pairs).iter().map(|(k, _)| k.clone()).collect();
                Ok(Outcome::Proxy {
                    typeid: "Iterator".into(),
                    object: SharedIterator::new(keys),
                })
            }
            "get" => {
                let [key, default] = args.bind(["key", "default"], 1)?;
                let key = key.unwrap_or(Value::None);
                check_hashable(&key)?;
                ret(self
                    .get(&key)
                    .unwrap_or_else(|| default.unwrap_or(Value::None)))
            }
            "setdefault" => {
                let [key, default] = args.bind(["key", "default"], 1)?;
                let key = key.unwrap_or(Value::None);
                check_hashable(&key)?;
                let mut pairs = lock(&self.pairs);
                if let Some((_, v)) = pairs.iter().find(|(k, _)| *k == key) {
                    return ret(v.clone());
                }
                let v = default.unwrap_or(Value::None);
                pairs.push((key, v.clone()));
                ret(v)
            }
            "pop" => {
                let [key, default] = args.bind(["key", "default"], 1)?;
                let key = key.unwrap_or(Value::None);
                check_hashable(&key)?;
                match (self.remove(&key), default) {
                    (Some(v), _) | (None, Some(v)) => ret(v),
                    (None, None) => Err(PyException::key_error(key)),
                }
            }
            "popitem" => {
                args.none()?;
                match lock(&self.pairs).pop() {
                    Some((k, v)) => ret(Value::tuple(vec![k, v])),
                    None => Err(PyException::key_error(Value::from(
                        "popitem(): dictionary is empty",
                    ))),
                }
            }
            "keys" | "values" | "items" => {
                args.none()?;
                let pairs = lock(&self.pairs);
                let out = pairs
                    .iter()
                    .map(|(k, v)| match method {
                        "keys" => k.clone(),
                        "values" => v.clone(),
                        _ => Value::tuple(vec![k.clone(), v.clone()]),
                    })
                    .collect();
                ret(Value::list(out))
            }
            "update" => {
                if args.positional.len() > 1 {
                    return Err(PyException::type_error(&format!(
                        "update expected at most 1 argument, got {}",
                        args.positional.len()
                    )));
                }
                if let Some(other) = args.positional.first() {
                    self.update_from(other)?;
                }
                for (k, v) in args.keywords {
                    self.insert(k.clone(), v.clone())?;
                }
                ret(Value::None)
            }
            "clear" => {
                args.none()?;
                lock(&self.pairs).clear();
                ret(Value::None)
            }
            "copy" => {
                args.none()?;
                ret(self.to_value())
            }
            "__or__" | "__ror__" => {
                let [other] = args.bind(["value"], 1)?;
                let other = other.unwrap_or(Value::None);
                let Some(other) = as_pairs(&other) else {
                    return ret(Value::global("builtins", "NotImplemented"));
                };
                let mine = lock(&self.pairs).clone();
                let (first, second) = if method == "__or__" {
                    (mine, other.to_vec())
                } else {
                    (other.to_vec(), mine)
                };
                let merged = SharedDict::from_pairs(first)?;
                for (k, v) in second {
                    merged.insert(k, v)?;
                }
                ret(merged.to_value())
            }
            "__ior__" => {
                let [other] = args.bind(["value"], 1)?;
                self.update_from(&other.unwrap_or(Value::None))?;
                // The dict itself is the result (the proxy returns itself instead).
                ret(self.to_value())
            }
            "__reversed__" => {
                args.none()?;
                let mut keys: Vec<Value> =
                    lock(&self.pairs).iter().map(|(k, _)| k.clone()).collect();
                keys.reverse();
                ret(iterator_value(keys))
            }
            "fromkeys" => {
                let [keys, value] = args.bind(["iterable", "value"], 1)?;
                let value = value.unwrap_or(Value::None);
                let out = SharedDict::default();
                for k in iter_of(&keys.unwrap_or(Value::None))? {
                    out.insert(k, value.clone())?;
                }
                ret(out.to_value())
            }
            other => Err(PyException::attribute_error(other)),
        }
    }

    fn get_value(&self) -> Result<Value, PyException> {
        Ok(self.to_value())
    }

    fn repr(&self) -> String {
        self.to_value().to_string()
    }
}

/// A `list` served by a Rust manager, with the methods of CPython's `ListProxy`.
///
/// Differences: `sort()` compares numbers, strings, bytes and tuples/lists of them
/// (other mixes are the `TypeError` Python raises for them too; a `key` function would
/// be Python code and is refused with a `TypeError`); `*` and `*=` stop at 2**20 items
/// with `MemoryError` (a peer must not make the server allocate without bound); indices
/// are integers (no slices); `reversed()` gives an iterator over a copy.
#[derive(Debug, Default)]
pub struct SharedList {
    items: Mutex<Vec<Value>>,
}

const LIST_METHODS: &[&str] = &[
    "__add__",
    "__contains__",
    "__delitem__",
    "__getitem__",
    "__imul__",
    "__len__",
    "__mul__",
    "__reversed__",
    "__rmul__",
    "__setitem__",
    "append",
    "clear",
    "copy",
    "count",
    "extend",
    "index",
    "insert",
    "pop",
    "remove",
    "reverse",
    "sort",
];

impl SharedList {
    /// An empty list.
    pub fn new() -> Arc<SharedList> {
        Arc::new(SharedList::default())
    }

    /// A list holding `items`.
    pub fn from_items(items: Vec<Value>) -> Arc<SharedList> {
        Arc::new(SharedList {
            items: Mutex::new(items),
        })
    }

    /// `l.append(item)`.
    pub fn push(&self, item: Value) {
        lock(&self.items).push(item);
    }

    /// `len(l)`.
    pub fn len(&self) -> usize {
        lock(&self.items).len()
    }

    /// `len(l) == 0`.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole list as a value.
    pub fn to_value(&self) -> Value {
        Value::list(lock(&self.items).clone())
    }
}

/// The items of an argument that must be a list or tuple.
pub(crate) fn sequence_arg<'a>(v: &'a Value, method: &str) -> Result<&'a [Value], PyException> {
    as_items(v).ok_or_else(|| {
        PyException::type_error(&format!(
            "{method}: '{}' object is not a list or tuple",
            v.type_name()
        ))
    })
}

impl ManagedObject for SharedList {
    fn exposed(&self) -> Vec<String> {
        names(LIST_METHODS)
    }

    fn call(&self, method: &str, args: Args<'_>) -> Result<Outcome, PyException> {
        let mut items = lock(&self.items);
        match method {
            "__getitem__" => {
                let [i] = args.bind(["index"], 1)?;
                let i = index(
                    &i.unwrap_or(Value::None),
                    items.len(),
                    "list index out of range",
                )?;
                ret(items[i].clone())
            }
            "__setitem__" => {
                let [i, v] = args.bind(["index", "value"], 2)?;
                let i = index(
                    &i.unwrap_or(Value::None),
                    items.len(),
                    "list assignment index out of range",
                )?;
                items[i] = v.unwrap_or(Value::None);
                ret(Value::None)
            }
            "__delitem__" => {
                let [i] = args.bind(["index"], 1)?;
                let i = index(
                    &i.unwrap_or(Value::None),
                    items.len(),
                    "list assignment index out of range",
                )?;
                items.remove(i);
                ret(Value::None)
            }
            "__len__" => {
                args.none()?;
                ret(Value::Int(items.len() as i64))
            }
            "__contains__" => {
                let [v] = args.bind(["value"], 1)?;
                let v = v.unwrap_or(Value::None);
                ret(Value::Bool(items.contains(&v)))
            }
            "__add__" => {
                let [other] = args.bind(["other"], 1)?;
                let other = other.unwrap_or(Value::None);
                let mut out = items.clone();
                out.extend_from_slice(sequence_arg(&other, "__add__")?);
                ret(Value::list(out))
            }
            "append" => {
                let [v] = args.bind(["object"], 1)?;
                items.push(v.unwrap_or(Value::None));
                ret(Value::None)
            }
            "extend" => {
                let [other] = args.bind(["iterable"], 1)?;
                let other = other.unwrap_or(Value::None);
                items.extend_from_slice(sequence_arg(&other, "extend")?);
                ret(Value::None)
            }
            "insert" => {
                let [i, v] = args.bind(["index", "object"], 2)?;
                let i = i.unwrap_or(Value::None);
                let i = as_int(&i).ok_or_else(|| {
                    PyException::type_error(&format!(
                        "'{}' object cannot be interpreted as an integer",
                        i.type_name()
                    ))
                })?;
                let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
                let at = if i < 0 {
                    (i.saturating_add(len)).max(0)
                } else {
                    i.min(len)
                };
                items.insert(at as usize, v.unwrap_or(Value::None));
                ret(Value::None)
            }
            "pop" => {
                let [i] = args.bind(["index"], 0)?;
                if items.is_empty() {
                    return Err(PyException::index_error("pop from empty list"));
                }
                let i = index(
                    &i.unwrap_or(Value::Int(-1)),
                    items.len(),
                    "pop index out of range",
                )?;
                ret(items.remove(i))
            }
            "remove" | "index" | "count" => {
                let [v] = args.bind(["value"], 1)?;
                let v = v.unwrap_or(Value::None);
                if method == "count" {
                    return ret(Value::Int(items.iter().filter(|x| **x == v).count() as i64));
                }
                let Some(at) = items.iter().position(|x| *x == v) else {
                    let message = if method == "remove" {
                        "list.remove(x): x not in list".to_string()
                    } else {
                        format!("{v} is not in list")
                    };
                    return Err(PyException::value_error(&message));
                };
                if method == "remove" {
                    items.remove(at);
                    ret(Value::None)
                } else {
                    ret(Value::Int(at as i64))
                }
            }
            "reverse" => {
                args.none()?;
                items.reverse();
                ret(Value::None)
            }
            "__reversed__" => {
                args.none()?;
                ret(iterator_value(items.iter().rev().cloned().collect()))
            }
            "__mul__" | "__rmul__" | "__imul__" => {
                let [n] = args.bind(["value"], 1)?;
                let n = n.unwrap_or(Value::None);
                let n = as_int(&n).ok_or_else(|| {
                    PyException::type_error(&format!(
                        "'{}' object cannot be interpreted as an integer",
                        n.type_name()
                    ))
                })?;
                let n = usize::try_from(n).unwrap_or(0);
                if items.len().saturating_mul(n) > MAX_REPEATED_ITEMS {
                    return Err(PyException::builtin(
                        "MemoryError",
                        "a shared list stops at 2**20 items for * and *=",
                    ));
                }
                let repeated: Vec<Value> = (0..n).flat_map(|_| items.iter().cloned()).collect();
                if method == "__imul__" {
                    *items = repeated;
                    return ret(Value::list(items.clone()));
                }
                ret(Value::list(repeated))
            }
            "sort" => {
                if !args.positional.is_empty() {
                    return Err(PyException::type_error(
                        "sort() takes no positional arguments",
                    ));
                }
                let [key, reverse] =
                    Args::new("sort", &[], args.keywords).bind(["key", "reverse"], 0)?;
                if !matches!(
                    key.as_ref().map(Value::unanchored),
                    None | Some(Value::None)
                ) {
                    return Err(PyException::type_error(
                        "sort(key=...) would run Python code: a Rust manager sorts without a key",
                    ));
                }
                let reverse = reverse.as_ref().is_some_and(super::wait::truthy);
                super::order::sort(&mut items, reverse)?;
                ret(Value::None)
            }
            "clear" => {
                args.none()?;
                items.clear();
                ret(Value::None)
            }
            "copy" => {
                args.none()?;
                ret(Value::list(items.clone()))
            }
            other => Err(PyException::attribute_error(other)),
        }
    }

    fn get_value(&self) -> Result<Value, PyException> {
        Ok(self.to_value())
    }

    fn repr(&self) -> String {
        self.to_value().to_string()
    }
}

/// One shared value with `get` / `set`: CPython's `SyncManager.Value` (`ValueProxy`).
#[derive(Debug)]
pub struct SharedValue {
    typecode: Value,
    value: Mutex<Value>,
}

impl SharedValue {
    /// A shared value holding `value` (typecode `None`).
    pub fn new(value: Value) -> Arc<SharedValue> {
        SharedValue::with_typecode(Value::None, value)
    }

    /// `Value(typecode, value)`: CPython's manager keeps the typecode only for `repr`
    /// and never converts the value; neither does this.
    pub fn with_typecode(typecode: Value, value: Value) -> Arc<SharedValue> {
        Arc::new(SharedValue {
            typecode,
            value: Mutex::new(value),
        })
    }

    /// The current value.
    pub fn get(&self) -> Value {
        lock(&self.value).clone()
    }

    /// Replaces the value.
    pub fn set(&self, value: Value) {
        *lock(&self.value) = value;
    }
}

impl ManagedObject for SharedValue {
    fn exposed(&self) -> Vec<String> {
        names(&["get", "set"])
    }

    fn call(&self, method: &str, args: Args<'_>) -> Result<Outcome, PyException> {
        match method {
            "get" => {
                args.none()?;
                ret(self.get())
            }
            "set" => {
                let [v] = args.bind(["value"], 1)?;
                self.set(v.unwrap_or(Value::None));
                ret(Value::None)
            }
            other => Err(PyException::attribute_error(other)),
        }
    }

    fn get_value(&self) -> Result<Value, PyException> {
        Ok(self.get())
    }

    fn repr(&self) -> String {
        format!("Value({}, {})", self.typecode, self.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(o: &dyn ManagedObject, method: &str, pos: &[Value]) -> Result<Value, PyException> {
        match o.call(method, Args::new(method, pos, &[]))? {
            Outcome::Return(v) => Ok(v),
            Outcome::Proxy { typeid, .. } => Ok(Value::from(typeid)),
        }
    }

    #[test]
    fn dict_follows_python_key_equality() {
        let d = SharedDict::new();
        call(&*d, "__setitem__", &[Value::Int(1), Value::from("one")]).unwrap();
        // 1 == 1.0 == True as dict keys.
        assert_eq!(
            call(&*d, "__getitem__", &[Value::Float(1.0)]).unwrap(),
            "one"
        );
        call(
            &*d,
            "__setitem__",
            &[Value::Bool(true), Value::from("true")],
        )
        .unwrap();
        assert_eq!(d.len(), 1);
        let missing = call(&*d, "__getitem__", &[Value::from("zzz")]).unwrap_err();
        assert!(missing.is("builtins", "KeyError"));
        let unhashable = call(&*d, "__setitem__", &[Value::list(vec![]), Value::None]).unwrap_err();
        assert_eq!(unhashable.to_string(), "TypeError: unhashable type: 'list'");
        let nested = Value::tuple(vec![Value::Int(1), Value::list(vec![])]);
        assert!(call(&*d, "get", &[nested]).is_err());
    }

    #[test]
    fn dict_methods() {
        let d = SharedDict::from_pairs(vec![(Value::from("a"), Value::Int(1))]).unwrap();
        call(
            &*d,
            "update",
            &[Value::list(vec![Value::tuple(vec![
                Value::from("b"),
                Value::Int(2),
            ])])],
        )
        .unwrap();
        assert_eq!(call(&*d, "keys", &[]).unwrap().to_string(), "['a', 'b']");
        assert_eq!(
            call(&*d, "items", &[]).unwrap().to_string(),
            "[('a', 1), ('b', 2)]"
        );
        assert_eq!(
            call(&*d, "get", &[Value::from("x"), Value::Int(9)]).unwrap(),
            9
        );
        assert_eq!(
            call(&*d, "setdefault", &[Value::from("c"), Value::Int(3)]).unwrap(),
            3
        );
        assert_eq!(call(&*d, "pop", &[Value::from("c")]).unwrap(), 3);
        assert_eq!(call(&*d, "popitem", &[]).unwrap().to_string(), "('b', 2)");
        assert_eq!(call(&*d, "__iter__", &[]).unwrap(), "Iterator");
        assert_eq!(d.repr(), "{'a': 1}");
        call(&*d, "clear", &[]).unwrap();
        assert!(call(&*d, "popitem", &[])
            .unwrap_err()
            .is("builtins", "KeyError"));
    }

    #[test]
    fn iterator_ends_with_stop_iteration() {
        let it = SharedIterator::new(vec![Value::Int(1)]);
        assert_eq!(call(&*it, "__next__", &[]).unwrap(), 1);
        assert!(call(&*it, "__next__", &[])
            .unwrap_err()
            .is("builtins", "StopIteration"));
    }

    #[test]
    fn list_methods_and_index_errors() {
        let l = SharedList::from_items(vec![Value::Int(1), Value::Int(2)]);
        call(&*l, "append", &[Value::Int(3)]).unwrap();
        assert_eq!(call(&*l, "__getitem__", &[Value::Int(-1)]).unwrap(), 3);
        let e = call(&*l, "__getitem__", &[Value::Int(3)]).unwrap_err();
        assert_eq!(e.to_string(), "IndexError: list index out of range");
        call(&*l, "insert", &[Value::Int(-100), Value::Int(0)]).unwrap();
        call(&*l, "extend", &[Value::tuple(vec![Value::Int(4)])]).unwrap();
        assert_eq!(l.repr(), "[0, 1, 2, 3, 4]");
        assert_eq!(call(&*l, "index", &[Value::Float(2.0)]).unwrap(), 2);
        assert_eq!(call(&*l, "pop", &[]).unwrap(), 4);
        call(&*l, "remove", &[Value::Int(0)]).unwrap();
        assert!(call(&*l, "remove", &[Value::Int(0)])
            .unwrap_err()
            .is("builtins", "ValueError"));
        call(&*l, "reverse", &[]).unwrap();
        assert_eq!(l.repr(), "[3, 2, 1]");
        call(&*l, "clear", &[]).unwrap();
        assert_eq!(
            call(&*l, "pop", &[]).unwrap_err().to_string(),
            "IndexError: pop from empty list"
        );
        assert!(call(&*l, "__getitem__", &[Value::from("x")])
            .unwrap_err()
            .is("builtins", "TypeError"));
    }

    #[test]
    fn value_get_set() {
        let v = SharedValue::new(Value::Int(1));
        call(&*v, "set", &[Value::from("x")]).unwrap();
        assert_eq!(call(&*v, "get", &[]).unwrap(), "x");
        assert_eq!(v.repr(), "Value(None, 'x')");
    }
}
