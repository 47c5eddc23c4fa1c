//! [`ManagerServer`]: a manager CPython clients can `connect()` to (CPython's `Server`).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use super::{as_str, brief, s, tuple, PyException, Reply, Request, Token};
use crate::{Address, Connection, Listener, ListenerOptions, Value};

/// The control functions a manager answers (CPython's `Server.public`).
pub const PUBLIC_METHODS: &[&str] = &[
    "shutdown",
    "create",
    "accept_connection",
    "get_methods",
    "debug_info",
    "number_of_objects",
    "dummy",
    "incref",
    "decref",
];

/// What a method of a [`ManagedObject`] gives back.
#[derive(Clone)]
pub enum Outcome {
    /// A value, sent as `('#RETURN', value)`.
    Return(Value),
    /// A new shared object, sent as `('#PROXY', (exposed, token))`: the caller gets a
    /// proxy for it (CPython's `method_to_typeid`). The client must know `typeid` (a
    /// CPython client needs it registered, e.g. `register('Child', create_method=False)`).
    Proxy {
        /// The typeid the caller's proxy is built for.
        typeid: String,
        /// The new object.
        object: Arc<dyn ManagedObject>,
    },
}

impl From<Value> for Outcome {
    fn from(v: Value) -> Outcome {
        Outcome::Return(v)
    }
}

impl fmt::Debug for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Return(v) => f.debug_tuple("Return").field(v).finish(),
            Outcome::Proxy { typeid, .. } => {
                f.debug_struct("Proxy").field("typeid", typeid).finish()
            }
        }
    }
}

/// The arguments of a call: `*args` and `**kwargs` as received.
#[derive(Clone, Copy, Debug)]
pub struct Args<'a> {
    /// The method (or typeid, for a factory) being called, for error messages.
    pub name: &'a str,
    /// Positional arguments.
    pub positional: &'a [Value],
    /// Keyword arguments (keys are normally `str`).
    pub keywords: &'a [(Value, Value)],
}

impl<'a> Args<'a> {
    /// Arguments for `name`.
    pub fn new(name: &'a str, positional: &'a [Value], keywords: &'a [(Value, Value)]) -> Args<'a> {
        Args {
            name,
            positional,
            keywords,
        }
    }

    /// Binds the arguments to the parameters `names` as Python does for
    /// `def name(a, b=..., c=...)` where the first `required` names have no default:
    /// returns one slot per name (`None` where the caller gave nothing), or the
    /// `TypeError` Python would raise.
    pub fn bind<const N: usize>(
        &self,
        names: [&str; N],
        required: usize,
    ) -> Result<[Option<Value>; N], PyException> {
        let name = self.name;
        if self.positional.len() > N {
            let expected = if required == N {
                format!("{N}")
            } else {
                format!("from {required} to {N}")
            };
            return Err(PyException::type_error(&format!(
                "{name}() takes {expected} positional arguments but {} were given",
                self.positional.len()
            )));
        }
        let mut slots: [Option<Value>; N] = std::array::from_fn(|_| None);
        for (slot, v) in slots.iter_mut().zip(self.positional) {
            *slot = Some(v.clone());
        }
        for (k, v) in self.keywords {
            let key = as_str(k).unwrap_or("");
            let Some(i) = names.iter().position(|n| *n == key) else {
                return Err(PyException::type_error(&format!(
                    "{name}() got an unexpected keyword argument {}",
                    brief(k)
                )));
            };
            if slots[i].is_some() {
                return Err(PyException::type_error(&format!(
                    "{name}() got multiple values for argument '{key}'"
                )));
            }
            slots[i] = Some(v.clone());
        }
        if let Some(missing) = names[..required.min(N)]
            .iter()
            .zip(&slots)
            .find(|(_, slot)| slot.is_none())
        {
            return Err(PyException::type_error(&format!(
                "{name}() missing 1 required positional argument: '{}'",
                missing.0
            )));
        }
        Ok(slots)
    }

    /// Checks that no arguments were given (`def name()`).
    pub fn none(&self) -> Result<(), PyException> {
        self.bind([], 0).map(drop)
    }
}

/// A Rust object served to manager clients: CPython's "referent".
///
/// `call` is invoked from the thread serving one client connection; several clients may
/// call at once, so use interior mutability (a `Mutex`) for state. A method may block
/// (a queue's `get`): only the calling client's connection waits.
pub trait ManagedObject: Send + Sync + 'static {
    /// The names clients may call (CPython's `exposed`; `public_methods(obj)` by default
    /// there). The `'#PROXY'` and `create` replies send this list to the client, and an
    /// auto proxy gets exactly these methods.
    fn exposed(&self) -> Vec<String>;

    /// Runs `method` (always one of [`ManagedObject::exposed`]). An `Err` is sent as
    /// `('#ERROR', exception)`: the CPython caller raises that exception.
    fn call(&self, method: &str, args: Args<'_>) -> Result<Outcome, PyException>;

    /// The object as a value, for `proxy._getvalue()` (`'#GETVALUE'`). The default
    /// refuses; a `'#TRACEBACK'` then reaches the caller, as for a Python object that
    /// cannot be pickled.
    fn get_value(&self) -> Result<Value, PyException> {
        Err(PyException::type_error(
            "this shared object has no value form",
        ))
    }

    /// `repr()` of the object, for `str(proxy)` / `repr` on the proxy's referent.
    fn repr(&self) -> String {
        "<mpconn shared object>".to_string()
    }
}

/// Control functions a server answers besides [`PUBLIC_METHODS`] (CPython's
/// `SharedMemoryServer` adds `track_segment`, `release_segment` and `list_segments`),
/// and what the server does when it stops. Installed with [`Registry::set_extra_control`].
pub trait ExtraControl: Send + Sync + 'static {
    /// The extra control function names.
    fn names(&self) -> &[&str];
    /// Runs `method` (one of [`ExtraControl::names`]); `Err` is the last line of the
    /// `'#TRACEBACK'` the client gets (`"ValueError: ..."`).
    fn call(
        &self,
        method: &str,
        args: &[Value],
        kwargs: &[(Value, Value)],
    ) -> Result<Value, String>;
    /// Runs before the server replies to `shutdown`, and when it is stopped otherwise.
    fn on_shutdown(&self) {}
}

type Factory = dyn Fn(Args<'_>) -> Result<Arc<dyn ManagedObject>, PyException> + Send + Sync;

/// The typeids a [`ManagerServer`] can `create` (CPython's `BaseManager.register`).
#[derive(Default, Clone)]
pub struct Registry {
    entries: HashMap<String, Arc<Factory>>,
    extra: Option<Arc<dyn ExtraControl>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.entries.keys().collect();
        names.sort();
        f.debug_struct("Registry").field("typeids", &names).finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Registers `typeid` with a factory called for each `create(typeid, *args, **kwds)`:
    /// `register(typeid, callable)` in CPython. A factory error reaches the client as a
    /// `'#TRACEBACK'` (CPython raises `RemoteError` for a failed create).
    pub fn register<F>(&mut self, typeid: &str, factory: F) -> &mut Registry
    where
        F: Fn(Args<'_>) -> Result<Arc<dyn ManagedObject>, PyException> + Send + Sync + 'static,
    {
        self.entries.insert(typeid.to_string(), Arc::new(factory));
        self
    }

    /// Registers `typeid` as always returning the same object: the remote-queue recipe's
    /// `register('get_queue', callable=lambda: queue)`.
    pub fn register_shared(
        &mut self,
        typeid: &str,
        object: Arc<dyn ManagedObject>,
    ) -> &mut Registry {
        self.register(typeid, move |args| {
            args.none()?;
            Ok(Arc::clone(&object))
        })
    }

    /// Adds control functions to the server (see [`ExtraControl`]; one set per registry).
    pub fn set_extra_control(&mut self, extra: Arc<dyn ExtraControl>) -> &mut Registry {
        self.extra = Some(extra);
        self
    }

    /// The registered typeids, sorted.
    pub fn typeids(&self) -> Vec<String> {
        let mut names: Vec<String> = self.entries.keys().cloned().collect();
        names.sort();
        names
    }
}

struct Entry {
    typeid: String,
    object: Arc<dyn ManagedObject>,
    exposed: Vec<String>,
    refcount: usize,
}

struct State {
    registry: Registry,
    address: Address,
    objects: Mutex<HashMap<String, Entry>>,
    stop: AtomicBool,
}

impl State {
    fn objects(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.objects.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Stores `object` (or finds it again) and counts one reference: `Server.create`.
    fn share(&self, typeid: &str, object: Arc<dyn ManagedObject>) -> (String, Vec<String>) {
        let ident = format!("{:x}", Arc::as_ptr(&object) as *const () as usize);
        let exposed = object.exposed();
        let mut objects = self.objects();
        let entry = objects.entry(ident.clone()).or_insert_with(|| Entry {
            typeid: typeid.to_string(),
            object,
            exposed: exposed.clone(),
            refcount: 0,
        });
        entry.refcount += 1;
        (ident, exposed)
    }

    fn incref(&self, ident: &str) -> Result<(), String> {
        match self.objects().get_mut(ident) {
            Some(entry) => {
                entry.refcount += 1;
                Ok(())
            }
            None => Err(key_error_text(ident)),
        }
    }

    fn decref(&self, ident: &str) -> Result<(), String> {
        let released = {
            let mut objects = self.objects();
            let entry = objects
                .get_mut(ident)
                .ok_or_else(|| key_error_text(ident))?;
            entry.refcount -= 1;
            if entry.refcount == 0 {
                objects.remove(ident)
            } else {
                None
            }
        };
        // Dropped outside the lock: an object may hold other shared objects.
        drop(released);
        Ok(())
    }

    fn run_shutdown_hook(&self) {
        if let Some(extra) = &self.registry.extra {
            extra.on_shutdown();
        }
    }

    fn request_stop(&self) {
        self.run_shutdown_hook();
        self.stop.store(true, Ordering::SeqCst);
        wake(&self.address);
    }
}

fn key_error_text(ident: &str) -> String {
    format!("KeyError: '{ident}'")
}

/// A `'#TRACEBACK'` reply in the shape of `traceback.format_exc()`.
fn traceback(function: &str, last_line: &str) -> Reply {
    Reply::Traceback(format!(
        "Traceback (most recent call last):\n  File \"<mpconn manager>\", in {function}\n{last_line}\n"
    ))
}

/// Opens and closes a connection to `address` so that a blocked `accept` returns.
fn wake(address: &Address) {
    match address {
        Address::Inet { host, port } => {
            let host = match host.as_str() {
                "" | "0.0.0.0" => "127.0.0.1",
                "::" => "::1",
                h => h,
            };
            let _ = std::net::TcpStream::connect((host, *port));
        }
        #[cfg(unix)]
        Address::Unix(path) => {
            let _ = std::os::unix::net::UnixStream::connect(path);
        }
        #[cfg(not(unix))]
        Address::Unix(_) => {}
        // Opening a named pipe as a file connects to it.
        Address::Pipe(name) => {
            #[cfg(windows)]
            let _ = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(name);
            #[cfg(not(windows))]
            let _ = name;
        }
        Address::Abstract(name) => {
            #[cfg(target_os = "linux")]
            {
                use std::os::linux::net::SocketAddrExt;
                if let Ok(addr) = std::os::unix::net::SocketAddr::from_abstract_name(name) {
                    let _ = std::os::unix::net::UnixStream::connect_addr(&addr);
                }
            }
            #[cfg(not(target_os = "linux"))]
            let _ = name;
        }
    }
}

/// A manager server: CPython's `BaseManager.get_server()` and `Server`.
///
/// ```no_run
/// use std::sync::Arc;
/// use mpconn::managers::{ManagerServer, Registry, SharedQueue};
/// # fn main() -> mpconn::Result<()> {
/// let mut registry = Registry::new();
/// registry.register_shared("get_queue", SharedQueue::new());
/// let server = ManagerServer::bind(&"127.0.0.1:50000".parse()?, Some(b"abracadabra"), registry)?;
/// server.serve_forever()?; // until a client sends `shutdown`
/// # Ok(()) }
/// ```
pub struct ManagerServer {
    listener: Listener,
    state: Arc<State>,
}

impl fmt::Debug for ManagerServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagerServer")
            .field("address", &self.state.address)
            .field("registry", &self.state.registry)
            .finish()
    }
}

impl ManagerServer {
    /// Binds `address` (port 0 picks a free one; see [`ManagerServer::address`]). Every
    /// connection is authenticated with `authkey` in its own thread, as CPython's
    /// server does.
    pub fn bind(
        address: &Address,
        authkey: Option<&[u8]>,
        registry: Registry,
    ) -> crate::Result<ManagerServer> {
        let mut options = ListenerOptions::new();
        if let Some(key) = authkey {
            options = options.authkey(key);
        }
        ManagerServer::bind_with(address, options, registry)
    }

    /// [`ManagerServer::bind`] with every [`ListenerOptions`] (the digest clients are
    /// challenged with, e.g. `Digest::Legacy` for the 3.11 form; the handshake timeout;
    /// the message size limit; the backlog).
    pub fn bind_with(
        address: &Address,
        options: ListenerOptions,
        registry: Registry,
    ) -> crate::Result<ManagerServer> {
        let listener = Listener::bind_with(address, options)?;
        let address = listener.address();
        Ok(ManagerServer {
            listener,
            state: Arc::new(State {
                registry,
                address,
                objects: Mutex::new(HashMap::new()),
                stop: AtomicBool::new(false),
            }),
        })
    }

    /// The bound address, to give to clients.
    pub fn address(&self) -> &Address {
        &self.state.address
    }

    /// How many shared objects have references (`number_of_objects`).
    pub fn number_of_objects(&self) -> usize {
        self.state.objects().len()
    }

    /// Accepts and serves clients until a `shutdown` request (or
    /// [`ServerHandle::shutdown`]). Connections still open then are served until their
    /// next request, and their threads end when the clients disconnect.
    pub fn serve_forever(&self) -> crate::Result<()> {
        while !self.state.stopping() {
            let accepted = self.listener.accept_pending();
            if self.state.stopping() {
                break;
            }
            match accepted {
                Ok(pending) => {
                    let state = Arc::clone(&self.state);
                    std::thread::Builder::new()
                        .name("mpconn-manager-conn".into())
                        .spawn(move || {
                            // The handshake runs here, under the listener's handshake
                            // timeout, so a slow peer never holds up the next accept. A
                            // peer that fails it concerns that peer only.
                            if let Ok(conn) = pending.authenticate() {
                                handle_request(&state, conn);
                            }
                        })?;
                }
                // CPython's accepter: `except OSError: continue`. A short pause keeps a
                // persistent failure (out of file descriptors) from spinning a core.
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
        Ok(())
    }

    /// Runs [`ManagerServer::serve_forever`] on a new thread.
    pub fn spawn(self) -> crate::Result<ServerHandle> {
        let state = Arc::clone(&self.state);
        let thread = std::thread::Builder::new()
            .name("mpconn-manager".into())
            .spawn(move || self.serve_forever())?;
        Ok(ServerHandle {
            state,
            thread: Some(thread),
        })
    }
}

/// A [`ManagerServer`] running on its own thread.
pub struct ServerHandle {
    state: Arc<State>,
    thread: Option<JoinHandle<crate::Result<()>>>,
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("address", &self.state.address)
            .finish()
    }
}

impl ServerHandle {
    /// The server's address.
    pub fn address(&self) -> &Address {
        &self.state.address
    }

    /// How many shared objects have references.
    pub fn number_of_objects(&self) -> usize {
        self.state.objects().len()
    }

    /// Whether the server has been asked to stop.
    pub fn is_stopping(&self) -> bool {
        self.state.stopping()
    }

    /// Stops accepting and waits for the accept loop to end.
    pub fn shutdown(mut self) -> crate::Result<()> {
        self.state.request_stop();
        self.join_thread()
    }

    /// Waits until a client's `shutdown` request stops the server.
    pub fn join(mut self) -> crate::Result<()> {
        self.join_thread()
    }

    fn join_thread(&mut self) -> crate::Result<()> {
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err(crate::Error::Value("manager thread panicked".into()))),
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.state.request_stop();
            let _ = self.join_thread();
        }
    }
}

/// The first request on a new connection: a control function (`Server._handle_request`).
fn handle_request(state: &Arc<State>, mut conn: Connection) {
    let Ok(message) = conn.recv() else { return };
    let request = match Request::from_value(&message) {
        Ok(r) => r,
        Err(e) => {
            let _ =
                conn.send(&traceback("_handle_request", &format!("ValueError: {e}")).to_value());
            return;
        }
    };
    let reply = match request.method.as_str() {
        "accept_connection" => {
            if conn.send(&Reply::Return(Value::None).to_value()).is_ok() {
                serve_client(state, conn);
            }
            return;
        }
        "shutdown" => {
            state.run_shutdown_hook();
            let _ = conn.send(&Reply::Return(Value::None).to_value());
            state.request_stop();
            return;
        }
        _ => control(state, &request),
    };
    send_reply(&mut conn, &reply);
}

/// Sends `reply`; when it cannot be pickled, sends `'#UNSERIALIZABLE'` as CPython does.
/// Returns false when the connection is unusable.
fn send_reply(conn: &mut Connection, reply: &Reply) -> bool {
    match conn.send(&reply.to_value()) {
        Ok(()) => true,
        Err(crate::Error::Pickle(e)) => conn
            .send(&Reply::Unserializable(format!("{e}\n")).to_value())
            .is_ok(),
        Err(_) => false,
    }
}

/// The control functions other than `accept_connection` and `shutdown`.
fn control(state: &State, request: &Request) -> Reply {
    let method = request.method.as_str();
    if let Some(extra) = state.registry.extra.as_ref() {
        if extra.names().contains(&method) {
            return match extra.call(method, &request.args, &request.kwargs) {
                Ok(v) => Reply::Return(v),
                Err(last_line) => traceback(method, &last_line),
            };
        }
    }
    if !PUBLIC_METHODS.contains(&method) {
        return traceback(
            "_handle_request",
            &format!("AssertionError: '{method}' unrecognized"),
        );
    }
    let args = &request.args;
    let ident_arg = || match args.as_slice() {
        [id] => super::token::ident_text(id).ok_or_else(|| format!("KeyError: {}", brief(id))),
        _ => Err(format!(
            "TypeError: {method}() takes 1 positional argument but {} were given",
            args.len()
        )),
    };
    let result: Result<Value, String> = match method {
        "dummy" => Ok(Value::None),
        "number_of_objects" => Ok(Value::Int(state.objects().len() as i64)),
        "debug_info" => {
            let objects = state.objects();
            let mut idents: Vec<&String> = objects.keys().collect();
            idents.sort();
            let lines: Vec<String> = idents
                .iter()
                .map(|id| {
                    let e = &objects[*id];
                    let repr: String = e.object.repr().chars().take(75).collect();
                    format!("  {id}:       refcount={}\n    {repr}", e.refcount)
                })
                .collect();
            Ok(s(&lines.join("\n")))
        }
        "incref" => ident_arg()
            .and_then(|id| state.incref(&id))
            .map(|()| Value::None),
        "decref" => ident_arg()
            .and_then(|id| state.decref(&id))
            .map(|()| Value::None),
        "get_methods" => match args.as_slice() {
            [token] => match Token::from_value(token) {
                Ok(token) => match state.objects().get(&token.id) {
                    Some(e) => Ok(tuple(e.exposed.iter().map(|m| s(m)).collect())),
                    None => Err(key_error_text(&token.id)),
                },
                Err(e) => Err(format!("AttributeError: {e}")),
            },
            _ => Err("TypeError: get_methods() takes 1 positional argument".into()),
        },
        "create" => create(state, args, &request.kwargs),
        _ => Err(format!("AssertionError: '{method}' unrecognized")),
    };
    match result {
        Ok(v) => Reply::Return(v),
        Err(last_line) => traceback(method, &last_line),
    }
}

/// `create(typeid, *args, **kwds)`: `(ident, exposed)` of a new (or found) object.
fn create(state: &State, args: &[Value], kwargs: &[(Value, Value)]) -> Result<Value, String> {
    let Some((typeid, rest)) = args.split_first() else {
        return Err("TypeError: create() missing 1 required positional argument: 'typeid'".into());
    };
    let typeid = as_str(typeid).ok_or_else(|| format!("KeyError: {}", brief(typeid)))?;
    let factory = state
        .registry
        .entries
        .get(typeid)
        .ok_or_else(|| format!("KeyError: '{typeid}'"))?;
    let object = factory(Args::new(typeid, rest, kwargs)).map_err(|e| e.to_string())?;
    let (ident, exposed) = state.share(typeid, object);
    Ok(tuple(vec![
        s(&ident),
        tuple(exposed.iter().map(|m| s(m)).collect()),
    ]))
}

/// Serves method calls on a connection after `accept_connection` (`Server.serve_client`).
fn serve_client(state: &Arc<State>, mut conn: Connection) {
    while !state.stopping() {
        let message = match conn.recv() {
            Ok(m) => m,
            // EOF: the client closed its proxy connection; anything else ends it too.
            Err(_) => return,
        };
        let reply = call_method(state, &message);
        if !send_reply(&mut conn, &reply) {
            return;
        }
    }
}

fn call_method(state: &State, message: &Value) -> Reply {
    let request = match Request::from_value(message) {
        Ok(r) => r,
        Err(e) => return traceback("serve_client", &format!("ValueError: {e}")),
    };
    let Some(ident) = request.ident.as_deref() else {
        return traceback("serve_client", "KeyError: None");
    };
    let found = state
        .objects()
        .get(ident)
        .map(|e| (Arc::clone(&e.object), e.exposed.clone(), e.typeid.clone()));
    let Some((object, exposed, typeid)) = found else {
        return traceback("serve_client", &key_error_text(ident));
    };
    let method = request.method.as_str();
    if !exposed.iter().any(|m| m == method) {
        // CPython's fallback_mapping for names outside `exposed`.
        return match method {
            "__str__" | "__repr__" => Reply::Return(s(&object.repr())),
            "#GETVALUE" => match object.get_value() {
                Ok(v) => Reply::Return(v),
                Err(e) => traceback("fallback_getvalue", &e.to_string()),
            },
            _ => traceback(
                "serve_client",
                &format!(
                    "AttributeError: method '{method}' of '{typeid}' object is not in exposed={exposed:?}"
                ),
            ),
        };
    }
    match object.call(method, Args::new(method, &request.args, &request.kwargs)) {
        Ok(Outcome::Return(v)) => Reply::Return(v),
        Ok(Outcome::Proxy { typeid, object }) => {
            let (rident, rexposed) = state.share(&typeid, object);
            Reply::Proxy {
                exposed: rexposed,
                token: Token::new(&typeid, &state.address, &rident),
            }
        }
        Err(e) => Reply::Error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(k: &str, v: Value) -> (Value, Value) {
        (s(k), v)
    }

    #[test]
    fn bind_matches_python_argument_rules() {
        let pos = [s("x")];
        let kws = [kw("timeout", Value::Float(1.0))];
        let a = Args::new("put", &pos, &kws);
        let [item, block, timeout] = a.bind(["item", "block", "timeout"], 1).unwrap();
        assert!(item.is_some() && block.is_none() && timeout.is_some());

        let too_many = [s("a"), s("b")];
        let err = Args::new("get", &too_many, &[])
            .bind(["block"], 0)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "TypeError: get() takes from 0 to 1 positional arguments but 2 were given"
        );
        let err = Args::new("put", &[], &[]).bind(["item"], 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "TypeError: put() missing 1 required positional argument: 'item'"
        );
        let dup = [kw("item", Value::None)];
        let err = Args::new("put", &pos, &dup).bind(["item"], 1).unwrap_err();
        assert!(err.to_string().contains("multiple values"));
        let unknown = [kw("zzz", Value::None)];
        let err = Args::new("put", &[], &unknown)
            .bind(["item"], 0)
            .unwrap_err();
        assert!(err
            .to_string()
            .contains("unexpected keyword argument 'zzz'"));
    }

    struct Echo;
    impl ManagedObject for Echo {
        fn exposed(&self) -> Vec<String> {
            vec!["echo".into(), "child".into(), "fail".into()]
        }
        fn call(&self, method: &str, args: Args<'_>) -> Result<Outcome, PyException> {
            match method {
                "echo" => Ok(tuple(args.positional.to_vec()).into()),
                "child" => Ok(Outcome::Proxy {
                    typeid: "Echo".into(),
                    object: Arc::new(Echo),
                }),
                _ => Err(PyException::value_error("boom")),
            }
        }
    }

    fn state() -> State {
        let mut registry = Registry::new();
        registry.register("Echo", |a| {
            a.none()?;
            Ok(Arc::new(Echo) as Arc<dyn ManagedObject>)
        });
        State {
            registry,
            address: Address::Inet {
                host: "127.0.0.1".into(),
                port: 1,
            },
            objects: Mutex::new(HashMap::new()),
            stop: AtomicBool::new(false),
        }
    }

    fn ret(reply: Reply) -> Value {
        match reply {
            Reply::Return(v) => v,
            other => panic!("expected #RETURN, got {other:?}"),
        }
    }

    #[test]
    fn create_call_and_release_follow_cpython_refcounts() {
        let st = state();
        let created = ret(control(&st, &Request::control("create", vec![s("Echo")])));
        let items = super::super::as_items(&created).unwrap();
        let id = as_str(&items[0]).unwrap().to_string();
        assert_eq!(st.objects().len(), 1);

        let call = Request::call(&id, "echo", vec![Value::Int(1)], vec![]).to_value();
        assert!(matches!(call_method(&st, &call), Reply::Return(Value::Tuple(t)) if t.len() == 1));
        let fail = Request::call(&id, "fail", vec![], vec![]).to_value();
        assert!(
            matches!(call_method(&st, &fail), Reply::Error(e) if e.is("builtins", "ValueError"))
        );
        let hidden = Request::call(&id, "secret", vec![], vec![]).to_value();
        assert!(
            matches!(call_method(&st, &hidden), Reply::Traceback(t) if t.contains("AttributeError"))
        );
        let repr = Request::call(&id, "__repr__", vec![], vec![]).to_value();
        assert!(matches!(
            call_method(&st, &repr),
            Reply::Return(Value::Str(_))
        ));

        let child = Request::call(&id, "child", vec![], vec![]).to_value();
        let Reply::Proxy { token, exposed } = call_method(&st, &child) else {
            panic!("expected #PROXY")
        };
        assert_eq!(exposed.len(), 3);
        assert_eq!(st.objects().len(), 2);

        ret(control(&st, &Request::control("incref", vec![s(&id)])));
        ret(control(&st, &Request::control("decref", vec![s(&id)])));
        assert_eq!(st.objects().len(), 2);
        ret(control(&st, &Request::control("decref", vec![s(&id)])));
        ret(control(
            &st,
            &Request::control("decref", vec![s(&token.id)]),
        ));
        assert_eq!(st.objects().len(), 0);
        assert!(matches!(
            control(&st, &Request::control("decref", vec![s(&id)])),
            Reply::Traceback(t) if t.contains("KeyError")
        ));
        assert!(matches!(call_method(&st, &call), Reply::Traceback(_)));
    }

    #[test]
    fn unknown_control_functions_and_typeids_are_tracebacks() {
        let st = state();
        assert!(matches!(
            control(&st, &Request::control("rm_rf", vec![])),
            Reply::Traceback(t) if t.contains("unrecognized")
        ));
        assert!(matches!(
            control(&st, &Request::control("create", vec![s("Nope")])),
            Reply::Traceback(t) if t.contains("KeyError: 'Nope'")
        ));
        assert!(matches!(
            control(&st, &Request::control("create", vec![s("Echo"), Value::Int(1)])),
            Reply::Traceback(t) if t.contains("TypeError")
        ));
        assert!(matches!(
            control(&st, &Request::control("dummy", vec![])),
            Reply::Return(Value::None)
        ));
    }
}
