//! A Rust manager that CPython clients `connect()` to: the remote-queue recipe's server.
//!
//! ```text
//! cargo run --example manager_server -- 127.0.0.1:50000 abracadabra
//! ```
//!
//! It replaces this Python (the `multiprocessing` docs' "remote manager" recipe, plus a
//! custom class):
//!
//! ```python
//! import queue
//! from multiprocessing.managers import SyncManager, DictProxy, ListProxy
//! class Counter:
//!     def __init__(self, start=0): self.n = start
//!     def increment(self, by=1): self.n += by; return self.n
//!     def value(self): return self.n
//!     def fail(self): raise ValueError('boom', 7)
//!     def child(self, start): return Counter(start)
//! q = queue.Queue()
//! class QueueManager(SyncManager): pass   # every SyncManager typeid (Lock, Event, dict, ...)
//! QueueManager.register('get_queue', callable=lambda: q)
//! QueueManager.register('Counter', Counter, method_to_typeid={'child': 'ChildCounter'})
//! QueueManager.register('ChildCounter', create_method=False)
//! d, l = {}, []
//! QueueManager.register('get_dict', callable=lambda: d, proxytype=DictProxy)
//! QueueManager.register('get_list', callable=lambda: l, proxytype=ListProxy)
//! m = QueueManager(address=('127.0.0.1', 50000), authkey=b'abracadabra')
//! m.get_server().serve_forever()
//! ```
//!
//! A CPython client:
//!
//! ```python
//! class QueueManager(SyncManager): pass
//! QueueManager.register('get_queue'); QueueManager.register('Counter')
//! QueueManager.register('ChildCounter', create_method=False)
//! QueueManager.register('get_dict', proxytype=DictProxy)
//! QueueManager.register('get_list', proxytype=ListProxy)
//! m = QueueManager(address=('127.0.0.1', 50000), authkey=b'abracadabra'); m.connect()
//! m.get_queue().put('job'); c = m.Counter(5); c.increment(by=2)
//! d = m.dict({'a': 1}); d['b'] = 2; q = m.Queue(10)
//! with m.Lock(): ns = m.Namespace(x=1); ns.x += 1
//! m.Pool()   # RemoteError (KeyError: 'Pool'): a Rust manager runs no Python code
//! ```
//!
//! Prints `READY <address>` once listening; serves until a client sends `shutdown`.

use std::sync::{Arc, Mutex};

use mpconn::managers::{
    Args, ManagedObject, ManagerServer, Outcome, PyException, Registry, SharedDict, SharedList,
    SharedQueue,
};
use mpconn::{Address, Value};

/// The Python `Counter` above, in Rust.
struct Counter {
    n: Mutex<i64>,
}

impl Counter {
    fn shared(start: i64) -> Arc<dyn ManagedObject> {
        Arc::new(Counter {
            n: Mutex::new(start),
        })
    }
}

/// An `int` argument, or the `TypeError` Python's `+=` raises.
fn int_arg(v: Option<Value>, default: i64) -> Result<i64, PyException> {
    match v {
        None => Ok(default),
        Some(Value::Int(i)) => Ok(i),
        Some(Value::Bool(b)) => Ok(i64::from(b)),
        Some(other) => Err(PyException::type_error(&format!(
            "unsupported operand type(s) for +=: 'int' and '{}'",
            other.type_name()
        ))),
    }
}

impl ManagedObject for Counter {
    fn exposed(&self) -> Vec<String> {
        ["child", "fail", "increment", "value"]
            .map(String::from)
            .to_vec()
    }

    fn call(&self, method: &str, args: Args<'_>) -> Result<Outcome, PyException> {
        let mut n = self.n.lock().unwrap_or_else(|p| p.into_inner());
        match method {
            "increment" => {
                let [by] = args.bind(["by"], 0)?;
                *n = n
                    .checked_add(int_arg(by, 1)?)
                    .ok_or_else(|| PyException::builtin("OverflowError", "counter overflow"))?;
                Ok(Value::Int(*n).into())
            }
            "value" => {
                args.none()?;
                Ok(Value::Int(*n).into())
            }
            "fail" => {
                args.none()?;
                Err(PyException::new(
                    "builtins",
                    "ValueError",
                    vec![Value::Str("boom".into()), Value::Int(7)],
                ))
            }
            "child" => {
                let [start] = args.bind(["start"], 1)?;
                Ok(Outcome::Proxy {
                    typeid: "ChildCounter".into(),
                    object: Counter::shared(int_arg(start, 0)?),
                })
            }
            other => Err(PyException::attribute_error(other)),
        }
    }

    fn get_value(&self) -> Result<Value, PyException> {
        Ok(Value::Int(
            *self.n.lock().unwrap_or_else(|p| p.into_inner()),
        ))
    }

    fn repr(&self) -> String {
        format!(
            "<Counter n={}>",
            self.n.lock().unwrap_or_else(|p| p.into_inner())
        )
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut argv = std::env::args().skip(1);
    let address: Address = argv
        .next()
        .unwrap_or_else(|| "127.0.0.1:0".into())
        .parse()?;
    let authkey = argv.next().unwrap_or_else(|| "abracadabra".into());

    let mut registry = Registry::new();
    // Every typeid of SyncManager but Pool: Queue, Lock, RLock, Semaphore, Condition,
    // Event, Barrier, Namespace, dict, list, set, Value, Array, ...
    registry.with_sync_types();
    registry.register_shared("get_queue", SharedQueue::new());
    registry.register_shared("get_dict", SharedDict::new());
    registry.register_shared("get_list", SharedList::new());
    registry.register("Counter", |args| {
        let [start] = args.bind(["start"], 0)?;
        Ok(Counter::shared(int_arg(start, 0)?))
    });

    let server = ManagerServer::bind(&address, Some(authkey.as_bytes()), registry)?;
    println!("READY {}", server.address());
    server.serve_forever()?;
    println!("shut down");
    Ok(())
}
