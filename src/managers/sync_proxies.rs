//! Typed proxies for `SyncManager`'s other typeids, named as CPython names them:
//! [`AcquirerProxy`] (`Lock`, `RLock`, `Semaphore`, `BoundedSemaphore`),
//! [`ConditionProxy`], [`EventProxy`], [`BarrierProxy`], [`NamespaceProxy`],
//! [`ValueProxy`], [`ArrayProxy`] and [`SetProxy`].
//!
//! Each derefs to [`Proxy`] for anything not wrapped, and `try_clone()` gives a second
//! proxy of the same type. Blocking methods take the timeout CPython's method takes (sent
//! to the server, which answers `False` / raises when it passes); the client's own
//! per-call timeout ([`super::ManagerClient::with_call_timeout`]) bounds the wait for
//! the reply on top of that.
//!
//! As in CPython, a connection is the server's notion of a thread: an `RLock` or a
//! `Condition` acquired through one method connection must be released through the
//! same. A [`super::ManagerClient`] lends its idle connections to any thread, so
//! reentrant locks need care: give each thread its own client
//! ([`super::ManagerClient::connect_with`]) when threads share an `RLock`/`Condition`.

use std::ops::Deref;
use std::time::Duration;

use super::proxy::{expect_bool, expect_items, expect_len, none_on, seconds, typed_proxy};
use super::{Proxy, PyException, Result};
use crate::Value;

fn is_attribute_error(e: &PyException) -> bool {
    e.is("builtins", "AttributeError")
}

/// `acquire(blocking, timeout)` as `AcquirerProxy.acquire` sends it.
fn acquire(p: &Proxy, blocking: bool, timeout: Option<Duration>) -> Result<bool> {
    let mut args = vec![Value::Bool(blocking)];
    if let Some(t) = timeout {
        args.push(seconds(t));
    }
    expect_bool("acquire", p.call("acquire", args, Vec::new())?)
}

fn no_args(p: &Proxy, method: &str) -> Result<Value> {
    p.call(method, Vec::new(), Vec::new())
}

typed_proxy!(
    AcquirerProxy,
    "`Lock`, `RLock`, `Semaphore` or `BoundedSemaphore`"
);
typed_proxy!(ConditionProxy, "`Condition`");
typed_proxy!(EventProxy, "`Event`");
typed_proxy!(BarrierProxy, "`Barrier`");
typed_proxy!(NamespaceProxy, "`Namespace`");
typed_proxy!(ValueProxy, "`Value`");
typed_proxy!(ArrayProxy, "`Array` (an `array.array`)");
typed_proxy!(SetProxy, "`set` (CPython 3.14+ managers, and Rust ones)");

impl AcquirerProxy {
    /// `acquire()`: blocks until acquired.
    pub fn acquire(&self) -> Result<()> {
        acquire(&self.0, true, None).map(drop)
    }

    /// `acquire(True, timeout)`: `Ok(false)` when it was not acquired in time.
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<bool> {
        acquire(&self.0, true, Some(timeout))
    }

    /// `acquire(False)`: `Ok(false)` when someone else holds it.
    pub fn try_acquire(&self) -> Result<bool> {
        acquire(&self.0, false, None)
    }

    /// `release()` (`RuntimeError` / `ValueError` from the server as
    /// [`super::ManagerError::Raised`]).
    pub fn release(&self) -> Result<()> {
        no_args(&self.0, "release").map(drop)
    }

    /// `locked()` (CPython 3.14+ managers and Rust ones; not for semaphores).
    pub fn locked(&self) -> Result<bool> {
        expect_bool("locked", no_args(&self.0, "locked")?)
    }
}

impl ConditionProxy {
    /// `acquire()` on the condition's lock.
    pub fn acquire(&self) -> Result<()> {
        acquire(&self.0, true, None).map(drop)
    }

    /// `acquire(True, timeout)`.
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<bool> {
        acquire(&self.0, true, Some(timeout))
    }

    /// `release()`.
    pub fn release(&self) -> Result<()> {
        no_args(&self.0, "release").map(drop)
    }

    /// `wait(timeout)` (the lock must be held through this proxy's connection):
    /// `Ok(false)` when the timeout passed without a notify.
    pub fn wait(&self, timeout: Option<Duration>) -> Result<bool> {
        let t = timeout.map_or(Value::None, seconds);
        expect_bool("wait", self.0.call("wait", vec![t], Vec::new())?)
    }

    /// `notify(n)`.
    pub fn notify(&self, n: usize) -> Result<()> {
        let n = Value::Int(i64::try_from(n).unwrap_or(i64::MAX));
        self.0.call("notify", vec![n], Vec::new()).map(drop)
    }

    /// `notify_all()`.
    pub fn notify_all(&self) -> Result<()> {
        no_args(&self.0, "notify_all").map(drop)
    }
}

impl EventProxy {
    /// `is_set()`.
    pub fn is_set(&self) -> Result<bool> {
        expect_bool("is_set", no_args(&self.0, "is_set")?)
    }

    /// `set()`: wakes every waiter.
    pub fn set(&self) -> Result<()> {
        no_args(&self.0, "set").map(drop)
    }

    /// `clear()`.
    pub fn clear(&self) -> Result<()> {
        no_args(&self.0, "clear").map(drop)
    }

    /// `wait(timeout)`: the flag when the wait ended (`Ok(false)`: timed out).
    pub fn wait(&self, timeout: Option<Duration>) -> Result<bool> {
        let t = timeout.map_or(Value::None, seconds);
        expect_bool("wait", self.0.call("wait", vec![t], Vec::new())?)
    }
}

impl BarrierProxy {
    /// `wait(timeout)`: this party's arrival index (0 to `parties - 1`). A broken
    /// barrier raises `threading.BrokenBarrierError` ([`super::ManagerError::Raised`]).
    pub fn wait(&self, timeout: Option<Duration>) -> Result<usize> {
        let t = timeout.map_or(Value::None, seconds);
        expect_len("wait", self.0.call("wait", vec![t], Vec::new())?)
    }

    /// `abort()`.
    pub fn abort(&self) -> Result<()> {
        no_args(&self.0, "abort").map(drop)
    }

    /// `reset()`.
    pub fn reset(&self) -> Result<()> {
        no_args(&self.0, "reset").map(drop)
    }

    fn attribute(&self, name: &str) -> Result<Value> {
        self.0
            .call("__getattribute__", vec![Value::from(name)], Vec::new())
    }

    /// The `parties` attribute.
    pub fn parties(&self) -> Result<usize> {
        expect_len("parties", self.attribute("parties")?)
    }

    /// The `n_waiting` attribute.
    pub fn n_waiting(&self) -> Result<usize> {
        expect_len("n_waiting", self.attribute("n_waiting")?)
    }

    /// The `broken` attribute.
    pub fn broken(&self) -> Result<bool> {
        expect_bool("broken", self.attribute("broken")?)
    }
}

impl NamespaceProxy {
    /// `ns.name`, `Ok(None)` when there is no such attribute.
    pub fn get(&self, name: &str) -> Result<Option<Value>> {
        let r = self
            .0
            .call("__getattribute__", vec![Value::from(name)], Vec::new());
        none_on(r, is_attribute_error)
    }

    /// `ns.name = value`.
    pub fn set(&self, name: &str, value: Value) -> Result<()> {
        self.0
            .call("__setattr__", vec![Value::from(name), value], Vec::new())
            .map(drop)
    }

    /// `del ns.name`: `Ok(false)` when there was no such attribute.
    pub fn remove(&self, name: &str) -> Result<bool> {
        let r = self
            .0
            .call("__delattr__", vec![Value::from(name)], Vec::new());
        none_on(r, is_attribute_error).map(|v| v.is_some())
    }
}

impl ValueProxy {
    /// `v.value` (`get()`).
    pub fn get(&self) -> Result<Value> {
        no_args(&self.0, "get")
    }

    /// `v.value = value` (`set(value)`).
    pub fn set(&self, value: Value) -> Result<()> {
        self.0.call("set", vec![value], Vec::new()).map(drop)
    }
}

impl ArrayProxy {
    /// `len(a)`.
    pub fn len(&self) -> Result<usize> {
        expect_len("__len__", no_args(&self.0, "__len__")?)
    }

    /// `len(a) == 0`.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// `a[index]` (negative counts from the end), `Ok(None)` when out of range.
    pub fn get(&self, index: i64) -> Result<Option<Value>> {
        let r = self
            .0
            .call("__getitem__", vec![Value::Int(index)], Vec::new());
        none_on(r, |e| e.is("builtins", "IndexError"))
    }

    /// `a[index] = value` (the server checks the value against the typecode).
    pub fn set(&self, index: i64, value: Value) -> Result<()> {
        self.0
            .call("__setitem__", vec![Value::Int(index), value], Vec::new())
            .map(drop)
    }

    /// Every item, read one by one as CPython's `list(a)` does on an `ArrayProxy`
    /// (`len` + one `__getitem__` per item: a round trip each).
    pub fn to_vec(&self) -> Result<Vec<Value>> {
        let n = self.len()?;
        let mut out = Vec::with_capacity(n.min(1 << 16));
        for i in 0..n {
            match self.get(i64::try_from(i).unwrap_or(i64::MAX))? {
                Some(v) => out.push(v),
                None => break, // shrunk meanwhile (cannot happen through ArrayProxy)
            }
        }
        Ok(out)
    }
}

impl SetProxy {
    /// `s.add(item)`.
    pub fn add(&self, item: Value) -> Result<()> {
        self.0.call("add", vec![item], Vec::new()).map(drop)
    }

    /// `s.discard(item)`.
    pub fn discard(&self, item: Value) -> Result<()> {
        self.0.call("discard", vec![item], Vec::new()).map(drop)
    }

    /// `item in s`.
    pub fn contains(&self, item: Value) -> Result<bool> {
        expect_bool(
            "__contains__",
            self.0.call("__contains__", vec![item], Vec::new())?,
        )
    }

    /// `len(s)`.
    pub fn len(&self) -> Result<usize> {
        expect_len("__len__", no_args(&self.0, "__len__")?)
    }

    /// `len(s) == 0`.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// The members (`s.copy()`), in the server's order.
    pub fn to_vec(&self) -> Result<Vec<Value>> {
        match no_args(&self.0, "copy")? {
            Value::Set(items) | Value::FrozenSet(items) => Ok(items.to_vec()),
            other => expect_items("copy", other),
        }
    }
}
