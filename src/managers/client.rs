//! [`ManagerClient`]: what `BaseManager.connect()` gives a CPython program.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::message::wait_for_reply;
use super::proxy::{DictProxy, ListProxy, Proxy, QueueProxy};
use super::sync_proxies::{
    AcquirerProxy, ArrayProxy, BarrierProxy, ConditionProxy, EventProxy, NamespaceProxy, SetProxy,
    ValueProxy,
};
use super::{as_int, as_items, as_str, s, ManagerError, ProxyRef, Reply, Request, Result, Token};
use crate::{Address, Client, ClientOptions, Connection, Value};

/// A connection point to a running manager (CPython's `BaseManager` after `connect()`,
/// or a Rust [`super::ManagerServer`]).
///
/// As in CPython, every control request (`create`, `incref`, `decref`, ...) uses a fresh
/// authenticated connection. Method calls of all the client's proxies share *method
/// connections* (opened with `accept_connection`, which the server then serves for any
/// object): a call borrows an idle one or opens one, and gives it back afterwards; up to
/// four idle ones are kept, so concurrent calls run in parallel and a program with many
/// proxies costs the server few threads. Cloning the client is cheap; clones and proxies
/// share the pool, which closes when the last of them drops.
#[derive(Clone)]
pub struct ManagerClient {
    inner: Arc<Endpoint>,
    /// How long a call waits for its reply ([`ManagerClient::with_call_timeout`]).
    call_timeout: Option<Duration>,
}

struct Endpoint {
    address: Address,
    options: ClientOptions,
    /// Idle method connections (after `accept_connection`), reused by every proxy.
    idle: Mutex<Vec<Connection>>,
}

/// A count as a Python `int`.
fn count(n: usize) -> Value {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

/// How many idle method connections a client keeps (CPython keeps one per thread).
const MAX_IDLE_CONNECTIONS: usize = 4;

impl fmt::Debug for ManagerClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The authkey is never printed.
        f.debug_struct("ManagerClient")
            .field("address", &self.inner.address)
            .field("options", &self.inner.options)
            .field("call_timeout", &self.call_timeout)
            .finish()
    }
}

impl ManagerClient {
    /// Connects to the manager at `address` and checks it answers, exactly as
    /// `BaseManager(address, authkey).connect()` does (a `dummy` request).
    ///
    /// `authkey` must be the manager's key (`None` only for a manager without one; CPython
    /// managers always have one, by default the server process's `authkey`).
    pub fn connect(address: &Address, authkey: Option<&[u8]>) -> Result<ManagerClient> {
        let client = ManagerClient::new(address, authkey);
        client.dispatch("dummy", Vec::new())?;
        Ok(client)
    }

    /// [`ManagerClient::connect`] with every [`ClientOptions`] (authkey, the digest this
    /// side challenges with, a connect and handshake timeout, the message size limit),
    /// used for each connection the client and its proxies open: the same options
    /// [`Client::connect_with`] takes.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use mpconn::managers::ManagerClient;
    /// use mpconn::ClientOptions;
    /// # fn main() -> Result<(), mpconn::managers::ManagerError> {
    /// let options = ClientOptions::new().authkey(b"secret").timeout(Duration::from_secs(5));
    /// let m = ManagerClient::connect_with(&"127.0.0.1:50000".parse()?, &options)?
    ///     .with_call_timeout(Some(Duration::from_secs(30)));
    /// let lock = m.lock()?;
    /// # Ok(()) }
    /// ```
    pub fn connect_with(address: &Address, options: &ClientOptions) -> Result<ManagerClient> {
        let client = ManagerClient::new_with(address, options);
        client.dispatch("dummy", Vec::new())?;
        Ok(client)
    }

    /// A client for `address` without contacting the manager yet.
    pub fn new(address: &Address, authkey: Option<&[u8]>) -> ManagerClient {
        let mut options = ClientOptions::new();
        if let Some(key) = authkey {
            options = options.authkey(key);
        }
        ManagerClient::new_with(address, &options)
    }

    /// A client for `address` with `options`, without contacting the manager yet.
    pub fn new_with(address: &Address, options: &ClientOptions) -> ManagerClient {
        ManagerClient {
            inner: Arc::new(Endpoint {
                address: address.clone(),
                options: options.clone(),
                idle: Mutex::new(Vec::new()),
            }),
            call_timeout: None,
        }
    }

    /// This client (and the proxies it creates from now on) with a per-call timeout:
    /// a method call or control request whose reply does not arrive within `timeout`
    /// fails with [`ManagerError::Timeout`] and its connection is closed, so a Rust
    /// manager abandons the call (a blocked `acquire` takes nothing). `None` (the
    /// default) waits as long as the call takes, as CPython's proxies do.
    #[must_use]
    pub fn with_call_timeout(mut self, timeout: Option<Duration>) -> ManagerClient {
        self.call_timeout = timeout;
        self
    }

    /// The per-call timeout ([`ManagerClient::with_call_timeout`]).
    pub fn call_timeout(&self) -> Option<Duration> {
        self.call_timeout
    }

    /// The manager's address.
    pub fn address(&self) -> &Address {
        &self.inner.address
    }

    /// Opens a new authenticated connection to the manager.
    pub(crate) fn open(&self) -> Result<Connection> {
        Ok(Client::connect_with(
            &self.inner.address,
            &self.inner.options,
        )?)
    }

    /// Borrows an idle method connection, or opens one (`accept_connection`).
    pub(crate) fn method_connection(&self) -> Result<Connection> {
        loop {
            let pooled = self
                .inner
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            let Some(mut conn) = pooled else { break };
            // An idle method connection never has anything to read: readable means the
            // server closed it (or broke the protocol), so it is dropped.
            if let Ok(false) = conn.poll(Some(Duration::ZERO)) {
                return Ok(conn);
            }
        }
        let mut conn = self.open()?;
        let name = match std::thread::current().name() {
            Some(thread) => format!("mpconn-{}|{thread}", std::process::id()),
            None => format!("mpconn-{}", std::process::id()),
        };
        conn.send(&Request::control("accept_connection", vec![s(&name)]).to_value())?;
        Reply::from_value(conn.recv()?)?.into_result()?;
        Ok(conn)
    }

    /// Gives a method connection back after a complete request and reply.
    pub(crate) fn return_method_connection(&self, conn: Connection) {
        let mut idle = self
            .inner
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE_CONNECTIONS {
            idle.push(conn);
        }
    }

    /// Sends one control request on a fresh connection and returns the raw reply
    /// (CPython's `dispatch(conn, None, method, args, kwds)` before `convert_to_error`).
    pub fn dispatch_reply(
        &self,
        method: &str,
        args: Vec<Value>,
        kwargs: Vec<(Value, Value)>,
    ) -> Result<Reply> {
        let mut conn = self.open()?;
        let mut request = Request::control(method, args);
        request.kwargs = kwargs;
        conn.send(&request.to_value())?;
        wait_for_reply(&mut conn, self.call_timeout)?;
        let reply = conn.recv()?;
        Reply::from_value(reply)
    }

    /// Sends one control request (`dummy`, `incref`, `number_of_objects`, ...) on a fresh
    /// connection and returns the `'#RETURN'` value; other replies are errors.
    pub fn dispatch(&self, method: &str, args: Vec<Value>) -> Result<Value> {
        self.dispatch_reply(method, args, Vec::new())?.into_result()
    }

    /// Creates a shared object of `typeid` on the server (`manager.<typeid>(*args,
    /// **kwargs)` in CPython) and returns a proxy holding its one reference.
    pub fn create(
        &self,
        typeid: &str,
        args: Vec<Value>,
        kwargs: Vec<(Value, Value)>,
    ) -> Result<Proxy> {
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(s(typeid));
        all.extend(args);
        let reply = self.dispatch_reply("create", all, kwargs)?.into_result()?;
        let bad = || {
            ManagerError::Protocol(format!(
                "create({typeid:?}) returned something other than (id, exposed)"
            ))
        };
        let [id, exposed] = as_items(&reply).ok_or_else(bad)? else {
            return Err(bad());
        };
        let id = super::token::ident_text(id).ok_or_else(bad)?;
        let exposed = super::message::method_names(exposed).ok_or_else(bad)?;
        let token = Token::new(typeid, &self.inner.address, &id);
        // `create` already counted one reference for us: CPython's proxy increfs and then
        // decrefs the creation reference, which nets to the same count.
        Ok(Proxy::adopt(self.clone(), token, exposed))
    }

    /// Creates a queue (`typeid` is `"Queue"` on a `SyncManager`, or the name a
    /// `register('get_queue', ...)` gave) and wraps it in a [`QueueProxy`].
    pub fn queue(&self, typeid: &str) -> Result<QueueProxy> {
        Ok(QueueProxy::new(self.create(
            typeid,
            Vec::new(),
            Vec::new(),
        )?))
    }

    /// Creates a dict (`"dict"` on a `SyncManager`) and wraps it in a [`DictProxy`].
    pub fn dict(&self, typeid: &str) -> Result<DictProxy> {
        Ok(DictProxy::new(self.create(
            typeid,
            Vec::new(),
            Vec::new(),
        )?))
    }

    /// Creates a list (`"list"` on a `SyncManager`) and wraps it in a [`ListProxy`].
    pub fn list(&self, typeid: &str) -> Result<ListProxy> {
        Ok(ListProxy::new(self.create(
            typeid,
            Vec::new(),
            Vec::new(),
        )?))
    }

    /// `m.Lock()` on a `SyncManager` (typeid `"Lock"`).
    pub fn lock(&self) -> Result<AcquirerProxy> {
        self.create_typed("Lock", Vec::new())
            .map(AcquirerProxy::new)
    }

    /// `m.RLock()`: reentrant for the method connection that holds it (see
    /// [`AcquirerProxy`]'s module notes on threads).
    pub fn rlock(&self) -> Result<AcquirerProxy> {
        self.create_typed("RLock", Vec::new())
            .map(AcquirerProxy::new)
    }

    /// `m.Semaphore(value)`.
    pub fn semaphore(&self, value: usize) -> Result<AcquirerProxy> {
        self.create_typed("Semaphore", vec![count(value)])
            .map(AcquirerProxy::new)
    }

    /// `m.BoundedSemaphore(value)`.
    pub fn bounded_semaphore(&self, value: usize) -> Result<AcquirerProxy> {
        self.create_typed("BoundedSemaphore", vec![count(value)])
            .map(AcquirerProxy::new)
    }

    /// `m.Condition()` (with its own `RLock`).
    pub fn condition(&self) -> Result<ConditionProxy> {
        self.create_typed("Condition", Vec::new())
            .map(ConditionProxy::new)
    }

    /// `m.Event()`.
    pub fn event(&self) -> Result<EventProxy> {
        self.create_typed("Event", Vec::new()).map(EventProxy::new)
    }

    /// `m.Barrier(parties, timeout=timeout)`.
    pub fn barrier(&self, parties: usize, timeout: Option<Duration>) -> Result<BarrierProxy> {
        let timeout = timeout.map_or(Value::None, |t| Value::Float(t.as_secs_f64()));
        self.create_typed("Barrier", vec![count(parties), Value::None, timeout])
            .map(BarrierProxy::new)
    }

    /// `m.Namespace(**attributes)`.
    pub fn namespace(&self, attributes: Vec<(String, Value)>) -> Result<NamespaceProxy> {
        let kwargs = attributes.into_iter().map(|(k, v)| (s(&k), v)).collect();
        Ok(NamespaceProxy::new(self.create(
            "Namespace",
            Vec::new(),
            kwargs,
        )?))
    }

    /// `m.Value(typecode, value)`.
    pub fn value(&self, typecode: &str, value: Value) -> Result<ValueProxy> {
        self.create_typed("Value", vec![s(typecode), value])
            .map(ValueProxy::new)
    }

    /// `m.Array(typecode, items)` (an `array.array` on the server).
    pub fn array(&self, typecode: &str, items: Vec<Value>) -> Result<ArrayProxy> {
        self.create_typed("Array", vec![s(typecode), Value::list(items)])
            .map(ArrayProxy::new)
    }

    /// `m.set(items)` (CPython 3.14+ managers, and Rust ones).
    pub fn set(&self, items: Vec<Value>) -> Result<SetProxy> {
        self.create_typed("set", vec![Value::list(items)])
            .map(SetProxy::new)
    }

    fn create_typed(&self, typeid: &str, args: Vec<Value>) -> Result<Proxy> {
        self.create(typeid, args, Vec::new())
    }

    /// Turns a pickled proxy found in a returned value (`RebuildProxy(...)`) into a
    /// [`Proxy`], taking a new reference as CPython's `RebuildProxy` does. The proxy
    /// talks to this client's manager whatever address the token names.
    pub fn proxy_from_value(&self, value: &Value) -> Result<Proxy> {
        let r = ProxyRef::from_value(value)
            .ok_or_else(|| ManagerError::Protocol("not a pickled proxy".into()))?;
        let exposed = match r.exposed {
            Some(e) => e,
            None => self.get_methods(&r.token)?,
        };
        self.incref(&r.token.id)?;
        let token = Token::new(&r.token.typeid, &self.inner.address, &r.token.id);
        Ok(Proxy::adopt(self.clone(), token, exposed))
    }

    /// `incref(id)`: one more reference to the object.
    pub fn incref(&self, id: &str) -> Result<()> {
        self.dispatch("incref", vec![s(id)]).map(drop)
    }

    /// `decref(id)`: one reference fewer; the server drops the object at zero.
    pub fn decref(&self, id: &str) -> Result<()> {
        self.dispatch("decref", vec![s(id)]).map(drop)
    }

    /// `get_methods(token)`: the methods the object exposes.
    pub fn get_methods(&self, token: &Token) -> Result<Vec<String>> {
        let v = self.dispatch("get_methods", vec![token.to_value()])?;
        super::message::method_names(&v)
            .ok_or_else(|| ManagerError::Protocol("get_methods returned no names".into()))
    }

    /// `number_of_objects()`: how many shared objects the server holds references for.
    pub fn number_of_objects(&self) -> Result<i64> {
        let v = self.dispatch("number_of_objects", Vec::new())?;
        as_int(&v).ok_or_else(|| ManagerError::Protocol("number_of_objects: not an int".into()))
    }

    /// `debug_info()`: the server's description of its objects and reference counts.
    pub fn debug_info(&self) -> Result<String> {
        let v = self.dispatch("debug_info", Vec::new())?;
        as_str(&v)
            .map(str::to_string)
            .ok_or_else(|| ManagerError::Protocol("debug_info: not a str".into()))
    }

    /// `shutdown()`: asks the server to stop (what `manager.shutdown()` sends).
    pub fn shutdown(&self) -> Result<()> {
        self.dispatch("shutdown", Vec::new()).map(drop)
    }
}
