//! [`Proxy`] (CPython's `BaseProxy`) and typed wrappers for queues, dicts and lists.

use std::fmt;
use std::ops::Deref;
use std::time::Duration;

use super::{as_int, as_items, is_global, ManagerClient, ManagerError, ProxyRef, Reply};
use super::{Request, Result, Token};
use crate::Value;

/// What a method call gave back: a value, or a new shared object (a `'#PROXY'` reply,
/// for methods the server maps to a typeid with `method_to_typeid`).
#[derive(Debug)]
#[must_use]
pub enum CallResult {
    /// A `'#RETURN'` value.
    Value(Value),
    /// A `'#PROXY'` reply: a proxy that owns one reference to the new object.
    Proxy(Proxy),
}

/// A reference to one shared object on a manager: CPython's `BaseProxy`.
///
/// The proxy owns one reference on the server (taken by `create`, a `'#PROXY'` reply,
/// [`Proxy::try_clone`] or [`ManagerClient::proxy_from_value`]) and gives it back with
/// `decref` when dropped (errors then are ignored, as in CPython; [`Proxy::release`]
/// reports them). Method calls borrow a method connection from the [`ManagerClient`]'s
/// pool (see there), so calls from several threads, on one proxy or many, run in parallel.
pub struct Proxy {
    manager: ManagerClient,
    token: Token,
    exposed: Vec<String>,
    owns_reference: bool,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("typeid", &self.token.typeid)
            .field("id", &self.token.id)
            .field("exposed", &self.exposed)
            .finish()
    }
}

impl Proxy {
    /// A proxy taking over one reference the caller already holds.
    pub(crate) fn adopt(manager: ManagerClient, token: Token, exposed: Vec<String>) -> Proxy {
        Proxy {
            manager,
            token,
            exposed,
            owns_reference: true,
        }
    }

    /// The object's token.
    pub fn token(&self) -> &Token {
        &self.token
    }

    /// The object's id on the server.
    pub fn id(&self) -> &str {
        &self.token.id
    }

    /// The typeid the object was created or returned under.
    pub fn typeid(&self) -> &str {
        &self.token.typeid
    }

    /// The methods the server says the object exposes.
    pub fn exposed(&self) -> &[String] {
        &self.exposed
    }

    /// The manager this proxy talks to.
    pub fn manager(&self) -> &ManagerClient {
        &self.manager
    }

    /// Calls `method(*args, **kwargs)` on the object and returns the raw reply
    /// (`BaseProxy._callmethod` up to `convert_to_error`).
    pub fn call_reply(
        &self,
        method: &str,
        args: Vec<Value>,
        kwargs: Vec<(Value, Value)>,
    ) -> Result<Reply> {
        self.call_reply_within(method, args, kwargs, self.manager.call_timeout())
    }

    /// [`Proxy::call`] waiting at most `timeout` for the reply (whatever the client's
    /// own call timeout): [`ManagerError::Timeout`] then, and the method connection is
    /// closed, so a Rust manager abandons a blocked call (CPython's keeps it blocked).
    pub fn call_timeout(
        &self,
        method: &str,
        args: Vec<Value>,
        kwargs: Vec<(Value, Value)>,
        timeout: Duration,
    ) -> Result<Value> {
        let reply = self.call_reply_within(method, args, kwargs, Some(timeout))?;
        match self.adopt_reply(reply)? {
            CallResult::Value(v) => Ok(v),
            CallResult::Proxy(p) => Err(ManagerError::Protocol(format!(
                "{method}() returned a proxy (typeid {:?}); use call_proxy",
                p.typeid()
            ))),
        }
    }

    fn call_reply_within(
        &self,
        method: &str,
        args: Vec<Value>,
        kwargs: Vec<(Value, Value)>,
        timeout: Option<Duration>,
    ) -> Result<Reply> {
        let request = Request::call(&self.token.id, method, args, kwargs).to_value();
        let mut conn = self.manager.method_connection()?;
        conn.send(&request)?;
        super::message::wait_for_reply(&mut conn, timeout)?;
        let answer = conn.recv()?;
        // Only a connection that completed its request and reply goes back to the pool;
        // after an error its state is unknown and it is closed.
        self.manager.return_method_connection(conn);
        Reply::from_value(answer)
    }

    /// Calls `method(*args, **kwargs)` and returns its value or the new proxy.
    pub fn call_any(
        &self,
        method: &str,
        args: Vec<Value>,
        kwargs: Vec<(Value, Value)>,
    ) -> Result<CallResult> {
        let reply = self.call_reply(method, args, kwargs)?;
        self.adopt_reply(reply)
    }

    /// A reply as a value, or (`'#PROXY'`) a proxy owning the reference it carries.
    fn adopt_reply(&self, reply: Reply) -> Result<CallResult> {
        match reply {
            Reply::Proxy { exposed, token } => {
                // As CPython does, the new proxy talks to the manager this one talks to.
                let token = Token::new(&token.typeid, self.manager.address(), &token.id);
                Ok(CallResult::Proxy(Proxy::adopt(
                    self.manager.clone(),
                    token,
                    exposed,
                )))
            }
            other => other.into_result().map(CallResult::Value),
        }
    }

    /// Calls `method(*args, **kwargs)` and returns its value. `'#ERROR'` becomes
    /// [`ManagerError::Raised`] (the exception the method raised), `'#TRACEBACK'`
    /// [`ManagerError::Traceback`]. A `'#PROXY'` reply is released and reported as
    /// [`ManagerError::Protocol`]: use [`Proxy::call_proxy`] for such methods.
    pub fn call(
        &self,
        method: &str,
        args: Vec<Value>,
        kwargs: Vec<(Value, Value)>,
    ) -> Result<Value> {
        match self.call_any(method, args, kwargs)? {
            CallResult::Value(v) => Ok(v),
            CallResult::Proxy(p) => Err(ManagerError::Protocol(format!(
                "{method}() returned a proxy (typeid {:?}); use call_proxy",
                p.typeid()
            ))),
        }
    }

    /// Calls a method that returns a shared object (a `'#PROXY'` reply).
    pub fn call_proxy(
        &self,
        method: &str,
        args: Vec<Value>,
        kwargs: Vec<(Value, Value)>,
    ) -> Result<Proxy> {
        match self.call_any(method, args, kwargs)? {
            CallResult::Proxy(p) => Ok(p),
            CallResult::Value(_) => Err(ManagerError::Protocol(format!(
                "{method}() returned a value, not a proxy"
            ))),
        }
    }

    /// A copy of the object itself (`proxy._getvalue()`, the `'#GETVALUE'` request).
    pub fn get_value(&self) -> Result<Value> {
        self.call("#GETVALUE", Vec::new(), Vec::new())
    }

    /// `repr()` of the object on the server (what `str(proxy)` prints in CPython).
    pub fn repr(&self) -> Result<String> {
        let v = self.call("__repr__", Vec::new(), Vec::new())?;
        super::as_str(&v)
            .map(str::to_string)
            .ok_or_else(|| ManagerError::Protocol("__repr__ did not return a str".into()))
    }

    /// A second proxy for the same object, with its own reference (`incref`) and its own
    /// connection.
    pub fn try_clone(&self) -> Result<Proxy> {
        self.manager.incref(&self.token.id)?;
        Ok(Proxy::adopt(
            self.manager.clone(),
            self.token.clone(),
            self.exposed.clone(),
        ))
    }

    /// The proxy as CPython pickles an auto proxy, to pass it as an argument to a method
    /// (the receiving side takes its own reference when it unpickles it).
    pub fn to_value(&self) -> Value {
        ProxyRef::auto(self.token.clone(), &self.exposed).to_value()
    }

    /// Closes the method connection and gives the reference back now, reporting a failed
    /// `decref` (dropping the proxy does the same and ignores errors).
    pub fn release(mut self) -> Result<()> {
        self.owns_reference = false;
        self.manager.decref(&self.token.id)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if self.owns_reference {
            let _ = self.manager.decref(&self.token.id);
        }
    }
}

/// The result of a timeout given as Python seconds.
pub(crate) fn seconds(timeout: Duration) -> Value {
    Value::Float(timeout.as_secs_f64())
}

pub(crate) fn expect_bool(method: &str, v: Value) -> Result<bool> {
    match v.unanchored() {
        Value::Bool(b) => Ok(*b),
        _ => Err(ManagerError::Protocol(format!(
            "{method}() did not return a bool"
        ))),
    }
}

pub(crate) fn expect_len(method: &str, v: Value) -> Result<usize> {
    as_int(&v)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| ManagerError::Protocol(format!("{method}() did not return a size")))
}

/// The items of a list, tuple, or dict view (CPython's manager pickles `dict.keys()` and
/// friends as `list([...])`).
pub(crate) fn expect_items(method: &str, v: Value) -> Result<Vec<Value>> {
    if let Some(items) = as_items(&v) {
        return Ok(items.to_vec());
    }
    if let Value::Object(o) = v.unanchored() {
        if is_global(&o.callable, "builtins", "list") {
            if let [inner] = o.args.as_slice() {
                if let Some(items) = as_items(inner) {
                    return Ok(items.to_vec());
                }
            }
        }
    }
    Err(ManagerError::Protocol(format!(
        "{method}() did not return a sequence"
    )))
}

/// Runs a call whose one expected exception means "nothing there".
pub(crate) fn none_on(
    result: Result<Value>,
    expected: impl Fn(&super::PyException) -> bool,
) -> Result<Option<Value>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(ManagerError::Raised(e)) if expected(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

macro_rules! typed_proxy {
    ($name:ident, $what:literal) => {
        #[doc = concat!("A proxy for a shared ", $what, "; derefs to [`Proxy`] for any other method.")]
        #[derive(Debug)]
        pub struct $name(Proxy);

        impl $name {
            #[doc = concat!("Wraps a proxy of a ", $what, ".")]
            pub fn new(proxy: Proxy) -> $name {
                $name(proxy)
            }
            /// The untyped proxy.
            pub fn into_inner(self) -> Proxy {
                self.0
            }
            /// A second proxy of the same type for the same object, with its own
            /// reference ([`Proxy::try_clone`]).
            pub fn try_clone(&self) -> Result<$name> {
                self.0.try_clone().map($name)
            }
        }

        impl Deref for $name {
            type Target = Proxy;
            fn deref(&self) -> &Proxy {
                &self.0
            }
        }
    };
}

pub(crate) use typed_proxy;

typed_proxy!(QueueProxy, "`queue.Queue`");
typed_proxy!(DictProxy, "`dict`");
typed_proxy!(ListProxy, "`list`");

impl QueueProxy {
    /// `put(item)`: blocks while a bounded queue is full.
    pub fn put(&self, item: Value) -> Result<()> {
        self.0.call("put", vec![item], Vec::new()).map(drop)
    }

    /// `put(item, True, timeout)`: `Ok(false)` when the queue stayed full (`queue.Full`).
    pub fn put_timeout(&self, item: Value, timeout: Duration) -> Result<bool> {
        let r = self.0.call(
            "put",
            vec![item, Value::Bool(true), seconds(timeout)],
            Vec::new(),
        );
        none_on(r, super::PyException::is_queue_full).map(|v| v.is_some())
    }

    /// `put_nowait(item)`: `Ok(false)` when the queue is full.
    pub fn put_nowait(&self, item: Value) -> Result<bool> {
        let r = self.0.call("put_nowait", vec![item], Vec::new());
        none_on(r, super::PyException::is_queue_full).map(|v| v.is_some())
    }

    /// `get()`: blocks until an item arrives.
    pub fn get(&self) -> Result<Value> {
        self.0.call("get", Vec::new(), Vec::new())
    }

    /// `get(True, timeout)`: `Ok(None)` when nothing arrived in time (`queue.Empty`).
    pub fn get_timeout(&self, timeout: Duration) -> Result<Option<Value>> {
        let r = self
            .0
            .call("get", vec![Value::Bool(true), seconds(timeout)], Vec::new());
        none_on(r, super::PyException::is_queue_empty)
    }

    /// `get_nowait()`: `Ok(None)` when the queue is empty.
    pub fn get_nowait(&self) -> Result<Option<Value>> {
        let r = self.0.call("get_nowait", Vec::new(), Vec::new());
        none_on(r, super::PyException::is_queue_empty)
    }

    /// `qsize()`.
    pub fn qsize(&self) -> Result<usize> {
        expect_len("qsize", self.0.call("qsize", Vec::new(), Vec::new())?)
    }

    /// `empty()`.
    pub fn empty(&self) -> Result<bool> {
        expect_bool("empty", self.0.call("empty", Vec::new(), Vec::new())?)
    }

    /// `full()`.
    pub fn full(&self) -> Result<bool> {
        expect_bool("full", self.0.call("full", Vec::new(), Vec::new())?)
    }

    /// `task_done()`.
    pub fn task_done(&self) -> Result<()> {
        self.0.call("task_done", Vec::new(), Vec::new()).map(drop)
    }

    /// `join()`: blocks until every item put has been marked done.
    pub fn join(&self) -> Result<()> {
        self.0.call("join", Vec::new(), Vec::new()).map(drop)
    }
}

fn is_key_error(e: &super::PyException) -> bool {
    e.is("builtins", "KeyError")
}

fn is_index_error(e: &super::PyException) -> bool {
    e.is("builtins", "IndexError")
}

impl DictProxy {
    /// `d[key]`, `Ok(None)` when the key is missing (`KeyError`).
    pub fn get(&self, key: Value) -> Result<Option<Value>> {
        none_on(
            self.0.call("__getitem__", vec![key], Vec::new()),
            is_key_error,
        )
    }

    /// `d[key] = value`.
    pub fn set(&self, key: Value, value: Value) -> Result<()> {
        self.0
            .call("__setitem__", vec![key, value], Vec::new())
            .map(drop)
    }

    /// `d.pop(key)`, `Ok(None)` when the key is missing.
    pub fn remove(&self, key: Value) -> Result<Option<Value>> {
        none_on(self.0.call("pop", vec![key], Vec::new()), is_key_error)
    }

    /// `key in d`.
    pub fn contains(&self, key: Value) -> Result<bool> {
        expect_bool(
            "__contains__",
            self.0.call("__contains__", vec![key], Vec::new())?,
        )
    }

    /// `len(d)`.
    pub fn len(&self) -> Result<usize> {
        expect_len("__len__", self.0.call("__len__", Vec::new(), Vec::new())?)
    }

    /// `len(d) == 0`.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// `list(d.keys())`.
    pub fn keys(&self) -> Result<Vec<Value>> {
        expect_items("keys", self.0.call("keys", Vec::new(), Vec::new())?)
    }

    /// `list(d.values())`.
    pub fn values(&self) -> Result<Vec<Value>> {
        expect_items("values", self.0.call("values", Vec::new(), Vec::new())?)
    }

    /// `list(d.items())` as pairs.
    pub fn items(&self) -> Result<Vec<(Value, Value)>> {
        let items = expect_items("items", self.0.call("items", Vec::new(), Vec::new())?)?;
        items
            .iter()
            .map(|pair| match as_items(pair) {
                Some([k, v]) => Ok((k.clone(), v.clone())),
                _ => Err(ManagerError::Protocol("items() gave a non-pair".into())),
            })
            .collect()
    }

    /// `d.update(pairs)`.
    pub fn update(&self, pairs: Vec<(Value, Value)>) -> Result<()> {
        self.0
            .call("update", vec![super::dict(pairs)], Vec::new())
            .map(drop)
    }

    /// `d.clear()`.
    pub fn clear(&self) -> Result<()> {
        self.0.call("clear", Vec::new(), Vec::new()).map(drop)
    }

    /// `d.copy()`: the whole dict as a value.
    pub fn copy(&self) -> Result<Value> {
        self.0.call("copy", Vec::new(), Vec::new())
    }
}

impl ListProxy {
    /// `l.append(item)`.
    pub fn append(&self, item: Value) -> Result<()> {
        self.0.call("append", vec![item], Vec::new()).map(drop)
    }

    /// `l.extend(items)`.
    pub fn extend(&self, items: Vec<Value>) -> Result<()> {
        self.0
            .call("extend", vec![Value::list(items)], Vec::new())
            .map(drop)
    }

    /// `l[index]` (negative counts from the end), `Ok(None)` when out of range.
    pub fn get(&self, index: i64) -> Result<Option<Value>> {
        let r = self
            .0
            .call("__getitem__", vec![Value::Int(index)], Vec::new());
        none_on(r, is_index_error)
    }

    /// `l[index] = item`.
    pub fn set(&self, index: i64, item: Value) -> Result<()> {
        self.0
            .call("__setitem__", vec![Value::Int(index), item], Vec::new())
            .map(drop)
    }

    /// `l.insert(index, item)`.
    pub fn insert(&self, index: i64, item: Value) -> Result<()> {
        self.0
            .call("insert", vec![Value::Int(index), item], Vec::new())
            .map(drop)
    }

    /// `l.pop()`, `Ok(None)` when the list is empty.
    pub fn pop(&self) -> Result<Option<Value>> {
        none_on(self.0.call("pop", Vec::new(), Vec::new()), is_index_error)
    }

    /// `len(l)`.
    pub fn len(&self) -> Result<usize> {
        expect_len("__len__", self.0.call("__len__", Vec::new(), Vec::new())?)
    }

    /// `len(l) == 0`.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// The whole list (`l._getvalue()`).
    pub fn to_vec(&self) -> Result<Vec<Value>> {
        expect_items("#GETVALUE", self.0.get_value()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn dict_views_arrive_as_reduced_lists() {
        let inner = Value::list(vec![Value::from("a"), Value::from("b")]);
        let view = Value::Object(Arc::new(crate::value::Object::reduce(
            Value::global("builtins", "list"),
            vec![inner],
        )));
        assert_eq!(expect_items("keys", view).unwrap().len(), 2);
        assert!(expect_items("keys", Value::None).is_err());
    }

    #[test]
    fn expected_exceptions_become_none() {
        let r: Result<Value> = Err(ManagerError::Raised(
            super::super::PyException::queue_empty(),
        ));
        assert!(matches!(
            none_on(r, super::super::PyException::is_queue_empty),
            Ok(None)
        ));
        let r: Result<Value> = Err(ManagerError::Raised(
            super::super::PyException::value_error("x"),
        ));
        assert!(none_on(r, super::super::PyException::is_queue_empty).is_err());
    }
}
