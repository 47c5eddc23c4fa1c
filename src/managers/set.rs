//! `SyncManager.set` (CPython 3.14+): a `set` served by Rust, with `SetProxy`'s methods.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::collections::{check_hashable, iter_of, iterator_value};
use super::server::Args;
use super::{ManagedObject, Outcome, PyException};
use crate::Value;

/// A `set` served by a Rust manager, with the methods CPython 3.14's `SetProxy` calls
/// (operators, comparisons, in-place operators, `add`, `discard`, `union`, ...).
///
/// Members compare with Python's `==` and are found by linear scans (like [`super::SharedDict`]'s
/// keys: sized for the small sets managers usually hold, an operation on two sets of n
/// members costs n² comparisons); order is insertion order (CPython's is by hash: compare
/// sets, not their printed order). An operator given something other than a
/// `set`/`frozenset` returns `NotImplemented`, as `set`'s own operators do, so Python
/// then tries the reflected operator or raises `TypeError`.
#[derive(Debug, Default)]
pub struct SharedSet {
    members: Mutex<Vec<Value>>,
}

/// `SetProxy`'s exposed methods (CPython 3.14's `_BaseSetProxy`).
const SET_METHODS: &[&str] = &[
    "__and__",
    "__class_getitem__",
    "__contains__",
    "__ge__",
    "__gt__",
    "__iand__",
    "__ior__",
    "__isub__",
    "__iter__",
    "__ixor__",
    "__le__",
    "__len__",
    "__lt__",
    "__or__",
    "__rand__",
    "__ror__",
    "__rsub__",
    "__rxor__",
    "__sub__",
    "__xor__",
    "add",
    "clear",
    "copy",
    "difference",
    "difference_update",
    "discard",
    "intersection",
    "intersection_update",
    "isdisjoint",
    "issubset",
    "issuperset",
    "pop",
    "remove",
    "symmetric_difference",
    "symmetric_difference_update",
    "union",
    "update",
];

fn not_implemented() -> Value {
    Value::global("builtins", "NotImplemented")
}

/// The members of a `set` / `frozenset` operand, or `None` (`NotImplemented`).
fn set_operand(v: &Value) -> Option<Vec<Value>> {
    match v.unanchored() {
        Value::Set(items) | Value::FrozenSet(items) => Some(items.to_vec()),
        _ => None,
    }
}

fn unique(items: Vec<Value>) -> Result<Vec<Value>, PyException> {
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for v in items {
        check_hashable(&v)?;
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(out)
}

fn union(a: &[Value], b: &[Value]) -> Vec<Value> {
    let mut out = a.to_vec();
    for v in b {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    out
}

fn intersection(a: &[Value], b: &[Value]) -> Vec<Value> {
    a.iter().filter(|v| b.contains(v)).cloned().collect()
}

fn difference(a: &[Value], b: &[Value]) -> Vec<Value> {
    a.iter().filter(|v| !b.contains(v)).cloned().collect()
}

fn symmetric(a: &[Value], b: &[Value]) -> Vec<Value> {
    union(&difference(a, b), &difference(b, a))
}

fn subset(a: &[Value], b: &[Value]) -> bool {
    a.iter().all(|v| b.contains(v))
}

impl SharedSet {
    /// A set of `items` (duplicates dropped; unhashable items refused).
    pub fn new(items: Vec<Value>) -> Result<Arc<SharedSet>, PyException> {
        Ok(Arc::new(SharedSet {
            members: Mutex::new(unique(items)?),
        }))
    }

    fn members(&self) -> MutexGuard<'_, Vec<Value>> {
        self.members.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The set as a value.
    pub fn to_value(&self) -> Value {
        Value::set(self.members().clone())
    }

    /// The members of every positional argument (any iterable), for `union(*others)`.
    fn others(args: Args<'_>) -> Result<Vec<Vec<Value>>, PyException> {
        if !args.keywords.is_empty() {
            return Err(PyException::type_error(&format!(
                "set.{}() takes no keyword arguments",
                args.name
            )));
        }
        args.positional
            .iter()
            .map(|v| unique(iter_of(v)?))
            .collect()
    }
}

impl ManagedObject for SharedSet {
    fn exposed(&self) -> Vec<String> {
        SET_METHODS.iter().map(|m| m.to_string()).collect()
    }

    fn call(&self, method: &str, args: Args<'_>) -> Result<Outcome, PyException> {
        let ret = |v: Value| Ok(Outcome::Return(v));
        let mut members = self.members();
        match method {
            "__len__" => {
                args.none()?;
                ret(Value::Int(members.len() as i64))
            }
            "__contains__" => {
                let [v] = args.bind(["key"], 1)?;
                let v = v.unwrap_or(Value::None);
                check_hashable(&v)?;
                ret(Value::Bool(members.contains(&v)))
            }
            "__iter__" => {
                args.none()?;
                // A set iterator pickles as `iter([...])`.
                ret(iterator_value(members.clone()))
            }
            "__class_getitem__" => {
                let [item] = args.bind(["item"], 1)?;
                let item = item.unwrap_or(Value::None);
                let params = match item.unanchored() {
                    Value::Tuple(_) => item.clone(),
                    _ => Value::tuple(vec![item]),
                };
                ret(Value::Object(Arc::new(crate::value::Object::reduce(
                    Value::global("types", "GenericAlias"),
                    vec![Value::global("builtins", "set"), params],
                ))))
            }
            "__and__" | "__rand__" | "__or__" | "__ror__" | "__sub__" | "__rsub__" | "__xor__"
            | "__rxor__" | "__le__" | "__lt__" | "__ge__" | "__gt__" => {
                let [other] = args.bind(["value"], 1)?;
                let Some(other) = set_operand(&other.unwrap_or(Value::None)) else {
                    return ret(not_implemented());
                };
                let other = unique(other)?;
                let m = members.as_slice();
                let o = other.as_slice();
                ret(match method {
                    "__and__" => Value::set(intersection(m, o)),
                    "__rand__" => Value::set(intersection(o, m)),
                    "__or__" => Value::set(union(m, o)),
                    "__ror__" => Value::set(union(o, m)),
                    "__sub__" => Value::set(difference(m, o)),
                    "__rsub__" => Value::set(difference(o, m)),
                    "__xor__" => Value::set(symmetric(m, o)),
                    "__rxor__" => Value::set(symmetric(o, m)),
                    "__le__" => Value::Bool(subset(m, o)),
                    "__lt__" => Value::Bool(subset(m, o) && m.len() < o.len()),
                    "__ge__" => Value::Bool(subset(o, m)),
                    _ => Value::Bool(subset(o, m) && m.len() > o.len()),
                })
            }
            "__iand__" | "__ior__" | "__isub__" | "__ixor__" => {
                let [other] = args.bind(["value"], 1)?;
                let Some(other) = set_operand(&other.unwrap_or(Value::None)) else {
                    return ret(not_implemented());
                };
                let other = unique(other)?;
                let next = match method {
                    "__iand__" => intersection(&members, &other),
                    "__ior__" => union(&members, &other),
                    "__isub__" => difference(&members, &other),
                    _ => symmetric(&members, &other),
                };
                *members = next;
                // The set itself is the result (the proxy returns itself instead).
                ret(Value::set(members.clone()))
            }
            "add" => {
                let [v] = args.bind(["object"], 1)?;
                let v = v.unwrap_or(Value::None);
                check_hashable(&v)?;
                if !members.contains(&v) {
                    members.push(v);
                }
                ret(Value::None)
            }
            "discard" | "remove" => {
                let [v] = args.bind(["object"], 1)?;
                let v = v.unwrap_or(Value::None);
                check_hashable(&v)?;
                match members.iter().position(|m| *m == v) {
                    Some(at) => {
                        members.remove(at);
                    }
                    None if method == "remove" => return Err(PyException::key_error(v)),
                    None => {}
                }
                ret(Value::None)
            }
            "pop" => {
                args.none()?;
                if members.is_empty() {
                    return Err(PyException::key_error(Value::from("pop from an empty set")));
                }
                ret(members.remove(0))
            }
            "clear" => {
                args.none()?;
                members.clear();
                ret(Value::None)
            }
            "copy" => {
                args.none()?;
                ret(Value::set(members.clone()))
            }
            "union" | "intersection" | "difference" | "symmetric_difference" => {
                let others = SharedSet::others(args)?;
                if method == "symmetric_difference" && others.len() != 1 {
                    return Err(PyException::type_error(&format!(
                        "set.symmetric_difference() takes exactly one argument ({} given)",
                        others.len()
                    )));
                }
                let mut acc = members.clone();
                for o in &others {
                    acc = match method {
                        "union" => union(&acc, o),
                        "intersection" => intersection(&acc, o),
                        "difference" => difference(&acc, o),
                        _ => symmetric(&acc, o),
                    };
                }
                ret(Value::set(acc))
            }
            "update"
            | "intersection_update"
            | "difference_update"
            | "symmetric_difference_update" => {
                let others = SharedSet::others(args)?;
                if method == "symmetric_difference_update" && others.len() != 1 {
                    return Err(PyException::type_error(&format!(
                        "set.symmetric_difference_update() takes exactly one argument ({} given)",
                        others.len()
                    )));
                }
                for o in &others {
                    *members = match method {
                        "update" => union(&members, o),
                        "intersection_update" => intersection(&members, o),
                        "difference_update" => difference(&members, o),
                        _ => symmetric(&members, o),
                    };
                }
                ret(Value::None)
            }
            "isdisjoint" | "issubset" | "issuperset" => {
                let [other] = args.bind(["other"], 1)?;
                let other = unique(iter_of(&other.unwrap_or(Value::None))?)?;
                ret(Value::Bool(match method {
                    "isdisjoint" => intersection(&members, &other).is_empty(),
                    "issubset" => subset(&members, &other),
                    _ => subset(&other, &members),
                }))
            }
            other => Err(PyException::attribute_error(other)),
        }
    }

    fn get_value(&self) -> Result<Value, PyException> {
        Ok(self.to_value())
    }

    fn repr(&self) -> String {
        let members = self.members();
        if members.is_empty() {
            "set()".into()
        } else {
            Value::set(members.clone()).to_string()
        }
    }
}

/// The factory `set(iterable=())`.
pub(crate) fn set_from_args(args: Args<'_>) -> Result<Arc<SharedSet>, PyException> {
    if !args.keywords.is_empty() {
        return Err(PyException::type_error("set() takes no keyword arguments"));
    }
    let [init] = args.bind(["iterable"], 0)?;
    let items = match &init {
        None => Vec::new(),
        Some(v) => iter_of(v)?,
    };
    SharedSet::new(items)
}
