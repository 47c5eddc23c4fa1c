//! Managers: CPython's `multiprocessing.managers`, both sides.
//!
//! A manager is a server holding shared objects (queues, dicts, user classes) that other
//! processes use through *proxies*. Its requests and replies are ordinary pickled messages
//! over [`crate::Connection`], so a Rust program can be
//!
//! * a **client** of a CPython `BaseManager` / `SyncManager` server: [`ManagerClient`]
//!   connects (and runs the `dummy` check `BaseManager.connect()` runs), creates shared
//!   objects by typeid, and hands out [`Proxy`] values whose [`Proxy::call`] is
//!   `BaseProxy._callmethod`; [`QueueProxy`], [`DictProxy`] and [`ListProxy`] wrap the usual
//!   typeids;
//! * a **server** that CPython clients `connect()` to: implement [`ManagedObject`] for
//!   your types, register them by typeid in a [`Registry`], and run a [`ManagerServer`].
//!   [`SharedQueue`], [`SharedDict`], [`SharedList`] and [`SharedValue`] are ready-made
//!   `queue.Queue`, `dict`, `list` and `Value`.
//!
//! ## The protocol, in short (from CPython's `managers.py`, unchanged from 3.8 to 3.15)
//! * Every request is `(ident, methodname, args, kwds)`; every reply is `(kind, result)`
//!   with kind `'#RETURN'`, `'#PROXY'`, `'#ERROR'` (the exception object itself),
//!   `'#TRACEBACK'` or `'#UNSERIALIZABLE'` (text). See [`Request`] and [`Reply`].
//! * *Control* requests (`ident` is `None`) each use a fresh authenticated connection:
//!   `dummy`, `create`, `incref`, `decref`, `get_methods`, `number_of_objects`,
//!   `debug_info`, `shutdown`. `accept_connection` turns the connection into a *method*
//!   connection: after its reply, the server serves `(ident, method, args, kwds)` calls on
//!   it, for any object, until EOF. (CPython shares one per thread among all proxies; a
//!   [`ManagerClient`] pools them.)
//! * Shared objects are named by a [`Token`] `(typeid, address, id)`; `create` and a
//!   `'#PROXY'` reply each hand the caller one reference, `incref` / `decref` count the
//!   rest; the server drops the object when the count reaches zero.
//!
//! ## The Python this replaces: a client
//! ```python
//! class QueueManager(BaseManager): pass
//! QueueManager.register('get_queue')
//! m = QueueManager(address=('127.0.0.1', 50000), authkey=b'abracadabra')
//! m.connect()
//! q = m.get_queue()
//! q.put('job')
//! print(q.get(timeout=5))
//! ```
//! ```no_run
//! use std::time::Duration;
//! use mpconn::managers::ManagerClient;
//! use mpconn::Value;
//! # fn main() -> Result<(), mpconn::managers::ManagerError> {
//! let m = ManagerClient::connect(&"127.0.0.1:50000".parse()?, Some(b"abracadabra"))?;
//! let q = m.queue("get_queue")?;
//! q.put(Value::Str("job".into()))?;
//! println!("{:?}", q.get_timeout(Duration::from_secs(5))?);
//! # Ok(()) }
//! ```
//!
//! ## The Python this replaces: a server
//! ```python
//! q = queue.Queue()
//! class QueueManager(BaseManager): pass
//! QueueManager.register('get_queue', callable=lambda: q)
//! QueueManager(address=('127.0.0.1', 50000), authkey=b'abracadabra').get_server().serve_forever()
//! ```
//! ```no_run
//! use mpconn::managers::{ManagerServer, Registry, SharedQueue};
//! # fn main() -> mpconn::Result<()> {
//! let mut registry = Registry::new();
//! registry.register_shared("get_queue", SharedQueue::new());
//! let server = ManagerServer::bind(&"127.0.0.1:50000".parse()?, Some(b"abracadabra"), registry)?;
//! server.serve_forever()
//! # }
//! ```
//! Your own classes implement [`ManagedObject`] (see `examples/manager_server.rs`); a
//! method returning [`Outcome::Proxy`] is CPython's `method_to_typeid`.
//!
//! ## Covered
//! Every control function of CPython's `Server` (`create` with args and kwargs, `incref`,
//! `decref`, `get_methods`, `number_of_objects`, `debug_info`, `dummy`, `shutdown`,
//! `accept_connection`), the reply kinds `#RETURN` / `#PROXY` / `#ERROR` / `#TRACEBACK` /
//! `#UNSERIALIZABLE`, the server's `__str__` / `__repr__` / `#GETVALUE` fallbacks, pickled
//! proxies inside values ([`ProxyRef`], `RebuildProxy`), TCP, Unix and abstract addresses,
//! both digest generations (through [`crate::Listener`] / [`crate::Client`]).
//! `SharedMemoryManager` on both sides: [`Registry::track_shared_memory`] adds
//! `SharedMemoryServer`'s `track_segment` / `release_segment` / `list_segments` (and
//! unlinks the tracked blocks when the server stops); [`ManagerClient::shared_memory`],
//! [`ManagerClient::shareable_list`] and the segment calls are its client (blocks and
//! lists themselves: [`crate::shared_memory`]). Other extra control functions:
//! [`ExtraControl`].
//!
//! ## Not covered
//! The `xmlrpclib` serializer; starting a manager *process* (`BaseManager.start()` forks
//! Python: run a [`ManagerServer`] on a thread instead); server-side ready-made objects
//! other than [`SharedQueue`], [`SharedDict`], [`SharedList`] and [`SharedValue`]
//! ([`Registry::with_sync_types`] registers them under `SyncManager`'s typeids; a lock,
//! event, pool or namespace is a [`ManagedObject`] you write; CPython's own typeids are
//! used from Rust through [`Proxy::call`] and the typed proxies); `SharedList` has no
//! `sort`, slices or `*`; re-sending a proxy that a Rust server received inside a value
//! does not take a server-side reference (CPython's "manager-owned" proxies); blocking
//! calls have no client-side timeout (use the methods' own, e.g. `get(timeout)`), and
//! a dropped [`Proxy`] sends its `decref` synchronously (set a connect timeout with
//! [`ManagerClient::connect_with`] when the manager may be unreachable).

mod client;
mod collections;
mod exception;
mod message;
mod objects;
mod proxy;
mod server;
mod shared_memory;
mod token;

pub use client::ManagerClient;
pub use collections::{SharedDict, SharedIterator, SharedList, SharedValue};
pub use exception::PyException;
pub use message::{Reply, Request};
pub use objects::SharedQueue;
pub use proxy::{CallResult, DictProxy, ListProxy, Proxy, QueueProxy};
pub use server::{
    Args, ExtraControl, ManagedObject, ManagerServer, Outcome, Registry, ServerHandle,
    PUBLIC_METHODS,
};
pub use shared_memory::{SegmentTracker, SEGMENT_METHODS};
pub use token::{address_from_value, address_to_value, ProxyRef, Token};

use std::sync::Arc;

use crate::value::{Global, Items, Pairs, PyStr};
use crate::Value;

/// Everything that can go wrong talking to a manager.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManagerError {
    /// Connecting, authenticating, framing or pickling failed.
    #[error(transparent)]
    Connection(#[from] crate::Error),
    /// The remote method raised; a `'#ERROR'` reply carries the exception object, which
    /// a CPython proxy would re-raise as is.
    #[error("the remote method raised {0}")]
    Raised(PyException),
    /// A `'#TRACEBACK'` reply: the server failed outside the method (unknown object,
    /// method not exposed, bad request). CPython raises `RemoteError(text)`.
    #[error("remote error:\n{0}")]
    Traceback(String),
    /// An `'#UNSERIALIZABLE'` reply: the server could not pickle the result.
    #[error("unserializable message: {0}")]
    Unserializable(String),
    /// Creating a shared memory block for a `SharedMemoryManager` failed.
    #[error(transparent)]
    SharedMemory(#[from] crate::shared_memory::SharedMemoryError),
    /// A message that is not what the manager protocol allows.
    #[error("manager protocol error: {0}")]
    Protocol(String),
}

impl ManagerError {
    /// The exception a `'#ERROR'` reply carried, if this is one.
    pub fn exception(&self) -> Option<&PyException> {
        match self {
            ManagerError::Raised(e) => Some(e),
            _ => None,
        }
    }
}

/// Shorthand for results of this module.
pub type Result<T, E = ManagerError> = std::result::Result<T, E>;

// ---- small Value helpers shared by the files of this module ----

/// A `str` value.
pub(crate) fn s(text: &str) -> Value {
    Value::Str(PyStr::from(text))
}

/// The text of a `str` value (lone surrogates refused).
pub(crate) fn as_str(v: &Value) -> Option<&str> {
    match v.unanchored() {
        Value::Str(t) => t.as_str(),
        _ => None,
    }
}

/// The items of a tuple or list.
pub(crate) fn as_items(v: &Value) -> Option<&[Value]> {
    match v.unanchored() {
        Value::Tuple(items) | Value::List(items) => Some(items.as_slice()),
        _ => None,
    }
}

/// The pairs of a dict.
pub(crate) fn as_pairs(v: &Value) -> Option<&[(Value, Value)]> {
    match v.unanchored() {
        Value::Dict(pairs) => Some(pairs.as_slice()),
        _ => None,
    }
}

/// An `int` value that fits in `i64` (`bool` counts, as in Python).
pub(crate) fn as_int(v: &Value) -> Option<i64> {
    match v.unanchored() {
        Value::Int(i) => Some(*i),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// A tuple built from owned items.
pub(crate) fn tuple(items: Vec<Value>) -> Value {
    Value::Tuple(Arc::new(Items::from(items)))
}

/// A dict built from owned pairs.
pub(crate) fn dict(pairs: Vec<(Value, Value)>) -> Value {
    Value::Dict(Arc::new(Pairs::from(pairs)))
}

/// Whether `v` is the global `module.name`.
pub(crate) fn is_global(v: &Value, module: &str, name: &str) -> bool {
    match v.unanchored() {
        Value::Global(g) => g.module == module && g.name == name,
        _ => false,
    }
}

/// `module.name` of a global, if `v` is one.
pub(crate) fn global_of(v: &Value) -> Option<&Global> {
    match v.unanchored() {
        Value::Global(g) => Some(g),
        _ => None,
    }
}

/// A value's Python `repr` for messages, cut to 200 characters (printing never recurses).
pub(crate) fn brief(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brief_quotes_strings_like_python() {
        assert_eq!(brief(&s("abc")), "'abc'");
        assert_eq!(brief(&Value::Int(-3)), "-3");
        assert_eq!(brief(&Value::None), "None");
        assert_eq!(brief(&tuple(vec![])), "()");
        let long = s(&"x".repeat(500));
        assert_eq!(brief(&long).chars().count(), 203);
    }
}
