//! `SyncManager`'s typeids, registered with Rust objects: [`Registry::with_sync_types`].

use std::sync::Arc;

use super::array::array_from_args;
use super::collections::{sequence_arg, SharedDict, SharedList, SharedValue};
use super::namespace::namespace_from_args;
use super::objects::SharedQueue;
use super::server::{Args, Registry};
use super::set::set_from_args;
use super::sync::{
    barrier_from_args, condition_from_args, semaphore_value, SharedEvent, SharedLock,
    SharedSemaphore,
};
use super::{as_int, ManagedObject, PyException};
use crate::Value;

/// The typeids [`Registry::with_sync_types`] registers, as `SyncManager` names them.
pub const SYNC_TYPEIDS: &[&str] = &[
    "Array",
    "Barrier",
    "BoundedSemaphore",
    "Condition",
    "Event",
    "JoinableQueue",
    "Lock",
    "Namespace",
    "Queue",
    "RLock",
    "Semaphore",
    "Value",
    "dict",
    "list",
    "set",
];

fn shared<T: ManagedObject>(object: Arc<T>) -> Arc<dyn ManagedObject> {
    object
}

impl Registry {
    /// Registers every typeid of CPython's `SyncManager` ([`SYNC_TYPEIDS`]) except
    /// `Pool`, so that an unmodified `SyncManager(address, authkey).connect()` client
    /// (3.11 to 3.15) can create and use them on a Rust server:
    ///
    /// | typeid | object | notes |
    /// |---|---|---|
    /// | `Queue`, `JoinableQueue` | [`SharedQueue`] | `maxsize` |
    /// | `Lock`, `RLock` | [`super::SharedLock`] | owner = the client connection |
    /// | `Semaphore`, `BoundedSemaphore` | [`super::SharedSemaphore`] | |
    /// | `Condition` | [`super::SharedCondition`] | own `RLock` only (`lock=None`) |
    /// | `Event` | [`super::SharedEvent`] | |
    /// | `Barrier` | [`super::SharedBarrier`] | `action=None` only |
    /// | `Namespace` | [`super::SharedNamespace`] | |
    /// | `dict` | [`SharedDict`] | 3.14's `\|`, `\|=`, `reversed`, `fromkeys` too |
    /// | `list` | [`SharedList`] | |
    /// | `set` | [`super::SharedSet`] | the 3.14+ typeid |
    /// | `Value` | [`SharedValue`] | |
    /// | `Array` | [`super::SharedArray`] | |
    ///
    /// A dict's `__iter__` hands out a [`super::SharedIterator`] as `Iterator`, which
    /// `SyncManager` clients know.
    ///
    /// `Pool` is not registered: a pool runs Python functions, which a Rust server cannot.
    /// `m.Pool()` then fails as it does for any typeid a server does not know: the create
    /// request gets a `'#TRACEBACK'` ending in `KeyError: 'Pool'`, which a CPython
    /// client raises as `multiprocessing.managers.RemoteError`.
    pub fn with_sync_types(&mut self) -> &mut Registry {
        for typeid in ["Queue", "JoinableQueue"] {
            self.register(typeid, |args| {
                let [maxsize] = args.bind(["maxsize"], 0)?;
                let maxsize = match maxsize.as_ref().map(Value::unanchored) {
                    None => 0,
                    Some(v) => as_int(v).ok_or_else(|| {
                        PyException::type_error(&format!(
                            "maxsize must be an int, not {}",
                            v.type_name()
                        ))
                    })?,
                };
                // Python: maxsize <= 0 means unbounded.
                let maxsize = usize::try_from(maxsize.max(0)).unwrap_or(usize::MAX);
                Ok(shared(SharedQueue::bounded(maxsize)))
            });
        }
        self.register("Lock", |args| {
            args.none()?;
            Ok(shared(SharedLock::new()))
        });
        self.register("RLock", |args| {
            args.none()?;
            Ok(shared(SharedLock::reentrant()))
        });
        self.register("Semaphore", |args| {
            Ok(shared(SharedSemaphore::new(semaphore_value(args)?)))
        });
        self.register("BoundedSemaphore", |args| {
            Ok(shared(SharedSemaphore::bounded(semaphore_value(args)?)))
        });
        self.register("Condition", |args| Ok(shared(condition_from_args(args)?)));
        self.register("Event", |args| {
            args.none()?;
            Ok(shared(SharedEvent::new()))
        });
        self.register("Barrier", |args| Ok(shared(barrier_from_args(args)?)));
        self.register("Namespace", |args| Ok(shared(namespace_from_args(args)?)));
        self.register("dict", |args: Args<'_>| {
            if args.positional.len() > 1 {
                return Err(PyException::type_error(&format!(
                    "dict expected at most 1 argument, got {}",
                    args.positional.len()
                )));
            }
            let d = SharedDict::default();
            if let Some(init) = args.positional.first() {
                d.update_from(init)?;
            }
            for (k, v) in args.keywords {
                d.insert(k.clone(), v.clone())?;
            }
            Ok(shared(Arc::new(d)))
        });
        self.register("list", |args| {
            let [init] = args.bind(["iterable"], 0)?;
            let items = match &init {
                None => Vec::new(),
                Some(v) => sequence_arg(v, "list")?.to_vec(),
            };
            Ok(shared(SharedList::from_items(items)))
        });
        self.register("set", |args| Ok(shared(set_from_args(args)?)));
        self.register("Value", |args| {
            let [typecode, value, _lock] = args.bind(["typecode", "value", "lock"], 2)?;
            Ok(shared(SharedValue::with_typecode(
                typecode.unwrap_or(Value::None),
                value.unwrap_or(Value::None),
            )))
        });
        self.register("Array", |args| Ok(shared(array_from_args(args)?)));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sync_typeid_but_pool_is_registered() {
        let mut r = Registry::new();
        r.with_sync_types();
        let mut expected: Vec<String> = SYNC_TYPEIDS.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(r.typeids(), expected);
        assert!(!r.typeids().iter().any(|t| t == "Pool"));
    }
}
