//! Blocks and lists as CPython pickles them, so they can travel over a
//! [`crate::Connection`]: `conn.send(shm)` in Python arrives as a value naming the block.
//!
//! * `SharedMemory.__reduce__` gives `SharedMemory(name, False, size)`: a REDUCE of
//!   `multiprocessing.shared_memory.SharedMemory` with `(name, False, size)`.
//! * `ShareableList.__reduce__` gives `partial(ShareableList, name=name)()`: a REDUCE of a
//!   `functools.partial` object (itself `partial(ShareableList)` with the BUILD state
//!   `(ShareableList, (), {'name': name}, None)`) with no arguments.
//!
//! Unpickling either in Python attaches to the block (and registers it with that
//! process's resource tracker: see the module docs).

use crate::value::{Construct, Object};
use crate::Value;

const MODULE: &str = "multiprocessing.shared_memory";

fn global_is(v: &Value, module: &str, name: &str) -> bool {
    matches!(v.unanchored(), Value::Global(g) if g.module == module && g.name == name)
}

fn reduce_of(v: &Value) -> Option<&Object> {
    match v.unanchored() {
        Value::Object(o) if o.construct == Construct::Reduce => Some(o),
        _ => None,
    }
}

/// `(name, size)` of a pickled `SharedMemory`, or `None` when `value` is not one.
pub fn shared_memory_from_value(value: &Value) -> Option<(String, usize)> {
    let o = reduce_of(value)?;
    if !global_is(&o.callable, MODULE, "SharedMemory") {
        return None;
    }
    let [name, _create, size] = o.args.as_slice() else {
        return None;
    };
    let size = usize::try_from(size.unanchored().as_i64()?).ok()?;
    Some((name.unanchored().as_str()?.to_string(), size))
}

/// The value CPython pickles for `SharedMemory(name)` of `size` bytes.
pub fn shared_memory_to_value(name: &str, size: usize) -> Value {
    let size = i64::try_from(size).expect("a block size fits in i64");
    Value::Object(
        Object::reduce(
            Value::global(MODULE, "SharedMemory"),
            vec![Value::from(name), Value::Bool(false), Value::Int(size)],
        )
        .into(),
    )
}

/// The block name of a pickled `ShareableList`, or `None` when `value` is not one.
pub fn shareable_list_from_value(value: &Value) -> Option<String> {
    let call = reduce_of(value)?;
    if !call.args.is_empty() {
        return None;
    }
    let partial = reduce_of(&call.callable)?;
    if !global_is(&partial.callable, "functools", "partial") {
        return None;
    }
    let state = partial.state.as_ref()?.unanchored().as_tuple()?;
    let [func, args, keywords, _dict] = state else {
        return None;
    };
    if !global_is(func, MODULE, "ShareableList") || !args.unanchored().as_tuple()?.is_empty() {
        return None;
    }
    match keywords.unanchored().as_dict()? {
        [(key, name)] if key.unanchored().as_str() == Some("name") => {
            Some(name.unanchored().as_str()?.to_string())
        }
        _ => None,
    }
}

/// The value CPython pickles for `ShareableList(name=name)`.
pub fn shareable_list_to_value(name: &str) -> Value {
    let class = Value::global(MODULE, "ShareableList");
    let mut partial = Object::reduce(Value::global("functools", "partial"), vec![class.clone()]);
    partial.state = Some(Value::tuple(vec![
        class,
        Value::tuple(vec![]),
        Value::dict(vec![(Value::from("name"), Value::from(name))]),
        Value::None,
    ]));
    Value::Object(Object::reduce(Value::Object(partial.into()), Vec::new()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_their_readers() {
        let v = shared_memory_to_value("psm_00ff00ff", 4096);
        assert_eq!(
            v.to_string(),
            "multiprocessing.shared_memory.SharedMemory('psm_00ff00ff', False, 4096)"
        );
        assert_eq!(
            shared_memory_from_value(&v),
            Some(("psm_00ff00ff".into(), 4096))
        );
        let v = shareable_list_to_value("psm_00ff00ff");
        assert_eq!(
            shareable_list_from_value(&v).as_deref(),
            Some("psm_00ff00ff")
        );
        assert_eq!(shared_memory_from_value(&v), None);
        assert_eq!(shareable_list_from_value(&Value::None), None);
    }
}
