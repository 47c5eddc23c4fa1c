//! Manager protocol tests.
//!
//! * Fixtures: the pickles a real CPython manager client sent and received (recorded by
//!   `python_interop/peers/manager_record_fixtures.py` under 3.11, 3.13, 3.14, 3.15) parse
//!   as requests and replies, and what mpconn builds is byte-identical to them.
//! * Rust client ⇄ Rust server over real sockets.
//! * Rust client ⇄ CPython `SyncManager` server (`python_interop/peers/manager_server.py`),
//!   for every interpreter present.

#[path = "common/cpython.rs"]
mod cpython;

use cpython::interpreters;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mpconn::managers::{
    Args, CallResult, ManagedObject, ManagerClient, ManagerError, ManagerServer, Outcome,
    PyException, Registry, Reply, Request, SharedQueue, Token,
};
use mpconn::pickle::{dumps_with, loads, EncodeOptions};
use mpconn::value::PyStr;
use mpconn::{Address, Value};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

// ------------------------------------------------------------------ value helpers

fn s(text: &str) -> Value {
    Value::Str(PyStr::from(text))
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        other => panic!("expected an int, got {other:?}"),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Str(t) => t.to_string_lossy(),
        other => panic!("expected a str, got {other:?}"),
    }
}

fn items(v: &Value) -> Vec<Value> {
    match v {
        Value::Tuple(i) | Value::List(i) => i.to_vec(),
        other => panic!("expected a sequence, got {other:?}"),
    }
}

// ------------------------------------------------------------------ fixtures

fn fixture_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join("fixtures/managers"))
        .expect("fixtures/managers exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 4, "one fixture directory per interpreter");
    dirs
}

/// The recorded pickles of one interpreter, in order: (file name, bytes).
fn recorded(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pickle"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// The first recorded pickle whose name ends with `_{direction}_{label}.pickle`.
fn find(dir: &Path, direction: &str, label: &str) -> Vec<u8> {
    let suffix = format!("_{direction}_{label}.pickle");
    recorded(dir)
        .into_iter()
        .find(|(name, _)| name.ends_with(&suffix))
        .unwrap_or_else(|| panic!("no fixture *{suffix} in {}", dir.display()))
        .1
}

fn reply(dir: &Path, label: &str) -> Reply {
    Reply::from_value(loads(&find(dir, "recv", label)).unwrap()).unwrap()
}

/// Encodes `v` with the protocol the fixture `like` was written with.
fn dumps_like(v: &Value, like: &[u8]) -> Vec<u8> {
    dumps_with(v, &EncodeOptions::protocol(like[1])).unwrap()
}

#[test]
fn every_recorded_message_parses_as_a_request_or_a_reply() {
    for dir in fixture_dirs() {
        let files = recorded(&dir);
        assert!(
            files.len() >= 60,
            "{}: {} files",
            dir.display(),
            files.len()
        );
        for (name, bytes) in files {
            let v = loads(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            if name.contains("_send_") {
                Request::from_value(&v).unwrap_or_else(|e| panic!("{name}: {e}"));
            } else {
                Reply::from_value(v).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
        }
    }
}

#[test]
fn requests_mpconn_builds_are_byte_identical_to_cpythons() {
    for dir in fixture_dirs() {
        for (name, bytes) in recorded(&dir) {
            if !name.contains("_send_") {
                continue;
            }
            let request = Request::from_value(&loads(&bytes).unwrap()).unwrap();
            let rebuilt = match &request.ident {
                None => {
                    let mut r = Request::control(&request.method, request.args.clone());
                    r.kwargs = request.kwargs.clone();
                    r
                }
                Some(id) => Request::call(
                    id,
                    &request.method,
                    request.args.clone(),
                    request.kwargs.clone(),
                ),
            };
            assert_eq!(
                dumps_like(&rebuilt.to_value(), &bytes),
                bytes,
                "{}/{name}",
                dir.display()
            );
        }
    }
}

#[test]
fn recorded_replies_parse_into_typed_results() {
    for dir in fixture_dirs() {
        let d = dir.display();
        assert!(
            matches!(reply(&dir, "dummy"), Reply::Return(Value::None)),
            "{d}"
        );

        let Reply::Return(created) = reply(&dir, "create_queue") else {
            panic!("{d}: create_queue")
        };
        let created = items(&created);
        assert!(!text(&created[0]).is_empty());
        let exposed: Vec<String> = items(&created[1]).iter().map(text).collect();
        assert!(
            exposed.contains(&"get_nowait".to_string()),
            "{d}: {exposed:?}"
        );

        let Reply::Error(empty) = reply(&dir, "queue_get_empty") else {
            panic!("{d}: queue_get_empty")
        };
        assert!(empty.is_queue_empty(), "{d}: {empty}");

        let Reply::Error(key) = reply(&dir, "dict_getitem_missing") else {
            panic!("{d}: dict_getitem_missing")
        };
        assert!(key.is("builtins", "KeyError"), "{d}: {key}");
        assert_eq!(text(&key.args()[0]), "zzz");

        let Reply::Return(keys) = reply(&dir, "dict_keys") else {
            panic!("{d}: dict_keys")
        };
        // CPython's manager pickles dict views as `list([...])` (rebuild_as_list).
        let Value::Object(view) = &keys else {
            panic!("{d}: dict_keys is {keys:?}")
        };
        assert!(
            matches!(&view.callable, Value::Global(g) if g.name == "list"),
            "{d}"
        );
        assert_eq!(items(&view.args[0]).len(), 2, "{d}");

        let Reply::Proxy { exposed, token } = reply(&dir, "maker_child") else {
            panic!("{d}: maker_child")
        };
        assert_eq!(exposed, vec!["increment".to_string()]);
        assert_eq!(token.typeid, "ChildCounter");
        assert!(matches!(
            mpconn::managers::address_from_value(&token.address),
            Some(Address::Inet { ref host, .. }) if host == "127.0.0.1"
        ));

        let Reply::Error(boom) = reply(&dir, "maker_fail") else {
            panic!("{d}: maker_fail")
        };
        assert!(boom.is("builtins", "ValueError"));
        assert_eq!(text(&boom.args()[0]), "boom");
        assert_eq!(int(&boom.args()[1]), 7);

        let Reply::Traceback(tb) = reply(&dir, "not_exposed") else {
            panic!("{d}: not_exposed")
        };
        assert!(
            tb.contains("AttributeError") && tb.contains("nonexistent"),
            "{tb}"
        );

        let Reply::Return(n) = reply(&dir, "number_of_objects") else {
            panic!("{d}: number_of_objects")
        };
        assert_eq!(int(&n), 3);
    }
}

#[test]
fn replies_mpconn_builds_are_byte_identical_to_cpython_servers() {
    for dir in fixture_dirs() {
        let d = dir.display();
        let same = |label: &str, ours: Reply| {
            let theirs = find(&dir, "recv", label);
            assert_eq!(
                dumps_like(&ours.to_value(), &theirs),
                theirs,
                "{d}: {label}"
            );
        };
        same("dummy", Reply::Return(Value::None));
        same("queue_get_empty", Reply::Error(PyException::queue_empty()));
        same(
            "maker_fail",
            Reply::Error(PyException::new(
                "builtins",
                "ValueError",
                vec![s("boom"), Value::Int(7)],
            )),
        );
        same(
            "dict_getitem_missing",
            Reply::Error(PyException::key_error(s("zzz"))),
        );
        let Reply::Proxy { token, .. } = reply(&dir, "maker_child") else {
            panic!("{d}: maker_child")
        };
        let address = mpconn::managers::address_from_value(&token.address).unwrap();
        same(
            "maker_child",
            Reply::Proxy {
                exposed: vec!["increment".into()],
                token: Token::new("ChildCounter", &address, &token.id),
            },
        );
    }
}

#[test]
fn handles_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<ManagerClient>();
    check::<mpconn::managers::Proxy>();
    check::<mpconn::managers::QueueProxy>();
    check::<mpconn::managers::ServerHandle>();
    check::<ManagerError>();
}

// ------------------------------------------------------------------ a Rust Counter

struct Counter {
    n: Mutex<i64>,
}

impl ManagedObject for Counter {
    fn exposed(&self) -> Vec<String> {
        ["child", "fail", "increment", "value"]
            .map(String::from)
            .to_vec()
    }

    fn call(&self, method: &str, args: Args<'_>) -> Result<Outcome, PyException> {
        let mut n = self.n.lock().unwrap();
        match method {
            "increment" => {
                let [by] = args.bind(["by"], 0)?;
                *n += by.map_or(1, |v| int(&v));
                Ok(Value::Int(*n).into())
            }
            "value" => Ok(Value::Int(*n).into()),
            "fail" => Err(PyException::value_error("boom")),
            "child" => Ok(Outcome::Proxy {
                typeid: "ChildCounter".into(),
                object: Arc::new(Counter {
                    n: Mutex::new(*n * 10),
                }),
            }),
            _ => unreachable!("only exposed methods are called"),
        }
    }

    fn get_value(&self) -> Result<Value, PyException> {
        Ok(Value::Int(*self.n.lock().unwrap()))
    }

    fn repr(&self) -> String {
        format!("<Counter {}>", self.n.lock().unwrap())
    }
}

fn rust_server() -> (mpconn::managers::ServerHandle, Arc<SharedQueue>) {
    let queue = SharedQueue::new();
    let mut registry = Registry::new();
    registry.register_shared("get_queue", queue.clone());
    registry.register("Counter", |args| {
        let [start] = args.bind(["start"], 0)?;
        let n = start.map_or(0, |v| int(&v));
        Ok(Arc::new(Counter { n: Mutex::new(n) }) as Arc<dyn ManagedObject>)
    });
    let server =
        ManagerServer::bind(&"127.0.0.1:0".parse().unwrap(), Some(b"key"), registry).expect("bind");
    (server.spawn().expect("spawn"), queue)
}

#[test]
fn rust_client_uses_a_rust_manager() {
    let (server, shared) = rust_server();
    let m = ManagerClient::connect(server.address(), Some(b"key")).unwrap();

    let q = m.queue("get_queue").unwrap();
    q.put(s("job")).unwrap();
    assert_eq!(shared.len(), 1, "the server-side queue got the item");
    assert_eq!(q.qsize().unwrap(), 1);
    assert_eq!(text(&q.get().unwrap()), "job");
    assert!(q.get_timeout(Duration::from_millis(1)).unwrap().is_none());
    assert!(q.get_nowait().unwrap().is_none());

    let c = m.create("Counter", vec![Value::Int(4)], vec![]).unwrap();
    assert_eq!(int(&c.call("increment", vec![], vec![]).unwrap()), 5);
    assert_eq!(
        int(&c
            .call("increment", vec![], vec![(s("by"), Value::Int(5))])
            .unwrap()),
        10
    );
    assert_eq!(int(&c.get_value().unwrap()), 10);
    assert_eq!(c.repr().unwrap(), "<Counter 10>");
    match c.call("fail", vec![], vec![]) {
        Err(ManagerError::Raised(e)) => assert_eq!(e.to_string(), "ValueError: boom"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        c.call("secret", vec![], vec![]),
        Err(ManagerError::Traceback(t)) if t.contains("secret")
    ));
    assert!(matches!(
        c.call("increment", vec![Value::Int(1), Value::Int(2)], vec![]),
        Err(ManagerError::Raised(e)) if e.is("builtins", "TypeError")
    ));

    assert_eq!(m.number_of_objects().unwrap(), 2);
    let child = c.call_proxy("child", vec![], vec![]).unwrap();
    assert_eq!(child.typeid(), "ChildCounter");
    assert_eq!(int(&child.call("value", vec![], vec![]).unwrap()), 100);
    assert!(matches!(
        c.call_any("child", vec![], vec![]).unwrap(),
        CallResult::Proxy(_)
    ));
    assert_eq!(
        m.number_of_objects().unwrap(),
        3,
        "the dropped CallResult released its child"
    );

    let again = child.try_clone().unwrap();
    drop(child);
    assert_eq!(int(&again.call("increment", vec![], vec![]).unwrap()), 101);
    again.release().unwrap();
    drop(c);
    drop(q);
    assert_eq!(
        m.number_of_objects().unwrap(),
        0,
        "{}",
        m.debug_info().unwrap()
    );

    assert!(matches!(
        m.create("Nope", vec![], vec![]),
        Err(ManagerError::Traceback(t)) if t.contains("KeyError")
    ));
    m.shutdown().unwrap();
    server.join().unwrap();
}

#[test]
fn rust_client_and_manager_over_unix_and_abstract_sockets() {
    let dir = tempfile::tempdir().unwrap();
    let addresses = [
        Address::Unix(dir.path().join("m.sock")),
        Address::Abstract(format!("mpconn-managers-{}", std::process::id()).into_bytes()),
    ];
    for address in addresses {
        let server = ManagerServer::bind(&address, Some(b"k"), {
            let mut r = Registry::new();
            r.register_shared("get_queue", SharedQueue::new());
            r
        })
        .unwrap()
        .spawn()
        .unwrap();
        let m = ManagerClient::connect(server.address(), Some(b"k")).unwrap();
        let q = m.queue("get_queue").unwrap();
        q.put(Value::Int(1)).unwrap();
        assert_eq!(int(&q.get().unwrap()), 1, "{address:?}");
        assert_eq!(
            mpconn::managers::address_from_value(&q.token().address).as_ref(),
            Some(server.address())
        );
        drop(q);
        assert_eq!(server.number_of_objects(), 0);
        server.shutdown().unwrap();
    }
}

/// A `get` blocked on one thread does not hold up a `put` on the same proxy from another:
/// calls borrow separate method connections.
fn blocked_get_and_put_on_one_proxy(m: &ManagerClient, typeid: &str) {
    let q = Arc::new(m.queue(typeid).unwrap());
    let getter = {
        let q = Arc::clone(&q);
        std::thread::spawn(move || q.get().unwrap())
    };
    q.put(Value::Int(7)).unwrap();
    assert_eq!(int(&getter.join().unwrap()), 7);
}

#[test]
fn one_proxy_serves_concurrent_calls_from_several_threads() {
    let (server, _) = rust_server();
    let m = ManagerClient::connect(server.address(), Some(b"key")).unwrap();
    blocked_get_and_put_on_one_proxy(&m, "get_queue");
    // Many proxies, used one after the other, share the client's method connections.
    let counters: Vec<_> = (0..20)
        .map(|i| m.create("Counter", vec![Value::Int(i)], vec![]).unwrap())
        .collect();
    for (i, c) in counters.iter().enumerate() {
        assert_eq!(int(&c.call("value", vec![], vec![]).unwrap()), i as i64);
    }
    drop(counters);
    assert_eq!(server.number_of_objects(), 0);
    server.shutdown().unwrap();
}

#[test]
fn malformed_requests_get_tracebacks_and_the_server_keeps_serving() {
    let (server, _) = rust_server();
    let raw = || mpconn::Client::connect(server.address(), Some(b"key")).unwrap();
    let kind = |reply: Value| match Reply::from_value(reply).unwrap() {
        Reply::Traceback(t) => t,
        other => panic!("expected #TRACEBACK, got {other:?}"),
    };
    // Control connections: each gets one traceback, then the server closes it.
    let deep = (0..5000).fold(Value::None, |v, _| Value::list(vec![v]));
    let junk = [
        Value::Int(5),
        Value::tuple(vec![Value::None, s("create")]),
        Value::tuple(vec![
            Value::None,
            s("rm_rf"),
            Value::tuple(vec![]),
            Value::dict(vec![]),
        ]),
        Value::tuple(vec![
            Value::None,
            s("create"),
            Value::tuple(vec![deep.clone()]),
            Value::dict(vec![]),
        ]),
        Value::tuple(vec![
            Value::None,
            s("incref"),
            Value::tuple(vec![]),
            Value::dict(vec![]),
        ]),
        Value::tuple(vec![
            Value::None,
            s("decref"),
            Value::tuple(vec![s("nope")]),
            Value::dict(vec![]),
        ]),
        Value::tuple(vec![
            Value::None,
            s("get_methods"),
            Value::tuple(vec![Value::Int(1)]),
            Value::dict(vec![]),
        ]),
        Value::tuple(vec![
            Value::None,
            Value::Int(3),
            Value::tuple(vec![]),
            Value::dict(vec![]),
        ]),
    ];
    for request in junk {
        let mut conn = raw();
        conn.send(&request).unwrap();
        let text = kind(conn.recv().unwrap());
        assert!(
            text.starts_with("Traceback (most recent call last):"),
            "{text}"
        );
    }
    // A method connection survives junk between good calls.
    let m = ManagerClient::connect(server.address(), Some(b"key")).unwrap();
    let c = m.create("Counter", vec![], vec![]).unwrap();
    {
        let mut conn = raw();
        conn.send(&Request::control("accept_connection", vec![s("junk")]).to_value())
            .unwrap();
        assert!(matches!(
            Reply::from_value(conn.recv().unwrap()).unwrap(),
            Reply::Return(Value::None)
        ));
        for request in [
            deep,
            Value::tuple(vec![
                Value::None,
                s("value"),
                Value::tuple(vec![]),
                Value::dict(vec![]),
            ]),
            Value::tuple(vec![
                s("ffff"),
                s("value"),
                Value::tuple(vec![]),
                Value::dict(vec![]),
            ]),
            Value::tuple(vec![
                s(c.id()),
                s("value"),
                Value::Int(1),
                Value::dict(vec![]),
            ]),
            Value::tuple(vec![
                s(c.id()),
                s("secret"),
                Value::tuple(vec![]),
                Value::dict(vec![]),
            ]),
        ] {
            conn.send(&request).unwrap();
            kind(conn.recv().unwrap());
        }
        conn.send(&Request::call(c.id(), "increment", vec![], vec![]).to_value())
            .unwrap();
        assert!(matches!(
            Reply::from_value(conn.recv().unwrap()).unwrap(),
            Reply::Return(Value::Int(1))
        ));
        // Keyword names that are not str are a TypeError raised in the method, as in Python.
        conn.send(
            &Request::call(
                c.id(),
                "increment",
                vec![],
                vec![(Value::Int(1), Value::Int(1))],
            )
            .to_value(),
        )
        .unwrap();
        assert!(matches!(
            Reply::from_value(conn.recv().unwrap()).unwrap(),
            Reply::Error(e) if e.is("builtins", "TypeError")
        ));
    } // the method connection closes here
    drop(c);
    assert_eq!(m.number_of_objects().unwrap(), 0);
    server.shutdown().unwrap();
}

#[test]
fn many_rust_clients_at_once() {
    let (server, shared) = rust_server();
    let address = server.address().clone();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let address = address.clone();
            std::thread::spawn(move || {
                let m = ManagerClient::connect(&address, Some(b"key")).unwrap();
                let c = m
                    .create("Counter", vec![Value::Int(i * 1000)], vec![])
                    .unwrap();
                for k in 1..=20 {
                    assert_eq!(
                        int(&c.call("increment", vec![], vec![]).unwrap()),
                        i * 1000 + k
                    );
                }
                m.queue("get_queue").unwrap().put(Value::Int(i)).unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut got: Vec<i64> = (0..8)
        .map(|_| int(&shared.get(true, Some(Duration::from_secs(10))).unwrap()))
        .collect();
    got.sort();
    assert_eq!(got, (0..8).collect::<Vec<_>>());
    assert_eq!(server.number_of_objects(), 0);
    server.shutdown().unwrap();
}

#[test]
fn a_peer_stuck_in_the_handshake_does_not_block_other_clients() {
    let (server, _) = rust_server();
    let Address::Inet { host, port } = server.address().clone() else {
        unreachable!()
    };
    // Connects and never answers the challenge: its handshake runs on its own thread.
    let _stuck = std::net::TcpStream::connect((host.as_str(), port)).unwrap();
    let m = ManagerClient::connect(server.address(), Some(b"key")).unwrap();
    let q = m.queue("get_queue").unwrap();
    q.put(Value::Int(1)).unwrap();
    assert_eq!(int(&q.get().unwrap()), 1);
    drop(q);
    server.shutdown().unwrap();
}

#[test]
fn legacy_digest_on_both_sides() {
    let mut registry = Registry::new();
    registry.register_shared("get_queue", SharedQueue::new());
    let options = mpconn::ListenerOptions::new()
        .authkey(b"key")
        .digest(mpconn::Digest::Legacy);
    let server = ManagerServer::bind_with(&"127.0.0.1:0".parse().unwrap(), options, registry)
        .unwrap()
        .spawn()
        .unwrap();
    let options = mpconn::ClientOptions::new()
        .authkey(b"key")
        .digest(mpconn::Digest::Legacy)
        .timeout(Duration::from_secs(30));
    let m = ManagerClient::connect_with(server.address(), options).unwrap();
    assert!(m.queue("get_queue").unwrap().empty().unwrap());
    server.shutdown().unwrap();
}

#[test]
fn a_wrong_authkey_is_refused() {
    let (server, _) = rust_server();
    let err = ManagerClient::connect(server.address(), Some(b"wrong")).unwrap_err();
    assert!(
        matches!(
            err,
            ManagerError::Connection(mpconn::Error::Authentication(_))
        ),
        "{err:?}"
    );
    server.shutdown().unwrap();
}

// ------------------------------------------------------------------ CPython servers

/// A child process killed when dropped.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `manager_server.py` under `python` and returns it with its address.
fn cpython_server(python: &str) -> (Peer, Address) {
    let script = Path::new(ROOT).join("python_interop/peers/manager_server.py");
    let mut child = Command::new(python)
        .arg(script)
        .arg("secret")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{python}: {e}"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .strip_prefix("READY ")
        .unwrap_or_else(|| panic!("{python}: no READY line, got {line:?}"))
        .trim()
        .parse()
        .unwrap();
    (Peer(child), address)
}

#[test]
fn rust_client_uses_cpython_sync_managers() {
    for python in interpreters() {
        let (mut peer, address) = cpython_server(&python);
        let m = ManagerClient::connect(&address, Some(b"secret")).unwrap();
        let base = m.number_of_objects().unwrap();

        // Queue: put, get with and without timeout, qsize.
        let q = m.queue("Queue").unwrap();
        q.put(Value::Int(5)).unwrap();
        q.put(Value::list(vec![s("x"), Value::Float(2.5), Value::None]))
            .unwrap();
        assert_eq!(q.qsize().unwrap(), 2, "{python}");
        assert_eq!(int(&q.get().unwrap()), 5);
        assert_eq!(
            items(&q.get_timeout(Duration::from_secs(5)).unwrap().unwrap()).len(),
            3
        );
        assert!(
            q.get_timeout(Duration::from_millis(10)).unwrap().is_none(),
            "{python}"
        );
        assert!(q.get_nowait().unwrap().is_none());
        assert!(q.empty().unwrap());
        assert!(q.put_nowait(Value::Int(1)).unwrap());
        blocked_get_and_put_on_one_proxy(&m, "Queue");

        // dict created with arguments, as SyncManager.dict({'a': 1}).
        let d = mpconn::managers::DictProxy::new(
            m.create(
                "dict",
                vec![Value::dict(vec![(s("a"), Value::Int(1))])],
                vec![],
            )
            .unwrap(),
        );
        d.set(s("b"), Value::Int(2)).unwrap();
        assert_eq!(int(&d.get(s("a")).unwrap().unwrap()), 1);
        assert!(d.get(s("zzz")).unwrap().is_none());
        assert!(d.contains(s("b")).unwrap());
        assert_eq!(d.len().unwrap(), 2);
        let mut keys: Vec<String> = d.keys().unwrap().iter().map(text).collect();
        keys.sort();
        assert_eq!(keys, ["a", "b"]);
        assert_eq!(d.items().unwrap().len(), 2);
        assert_eq!(int(&d.remove(s("a")).unwrap().unwrap()), 1);
        assert!(matches!(d.copy().unwrap(), Value::Dict(p) if p.len() == 1));

        // list
        let l = m.list("list").unwrap();
        l.append(Value::Int(1)).unwrap();
        l.extend(vec![Value::Int(2), Value::Int(3)]).unwrap();
        assert_eq!(l.len().unwrap(), 3);
        assert_eq!(int(&l.get(-1).unwrap().unwrap()), 3);
        assert!(l.get(10).unwrap().is_none());
        assert_eq!(int(&l.pop().unwrap().unwrap()), 3);
        assert_eq!(l.to_vec().unwrap().len(), 2);

        // A registered class whose method returns a proxy (method_to_typeid).
        let c = m.create("Counter", vec![Value::Int(10)], vec![]).unwrap();
        assert_eq!(
            int(&c
                .call("increment", vec![], vec![(s("by"), Value::Int(2))])
                .unwrap()),
            12
        );
        match c.call("fail", vec![], vec![]) {
            Err(ManagerError::Raised(e)) => {
                assert!(e.is("builtins", "ValueError"), "{python}: {e}");
                assert_eq!(int(&e.args()[1]), 7);
            }
            other => panic!("{python}: {other:?}"),
        }
        assert!(matches!(
            c.call("nonexistent", vec![], vec![]),
            Err(ManagerError::Traceback(t)) if t.contains("AttributeError")
        ));
        let child = c
            .call_proxy("child", vec![Value::Int(100)], vec![])
            .unwrap();
        assert_eq!(child.typeid(), "ChildCounter");
        assert_eq!(int(&child.call("increment", vec![], vec![]).unwrap()), 101);
        assert!(c.repr().unwrap().contains("Counter"), "{python}");
        assert_eq!(m.number_of_objects().unwrap(), base + 5, "{python}");
        assert!(m.debug_info().unwrap().contains("refcount=1"));

        // A proxy inside a value: a managed list holding a managed dict. CPython's server
        // unpickles our pickled proxy as its own (manager-owned) proxy and sends it back as
        // RebuildProxy(AutoProxy, token, 'pickle', {'exposed': ...}).
        let inner = m.dict("dict").unwrap();
        inner.set(s("k"), Value::Int(42)).unwrap();
        let outer = m.list("list").unwrap();
        outer.append(inner.to_value()).unwrap();
        let pickled = outer.get(0).unwrap().unwrap();
        let again = mpconn::managers::DictProxy::new(m.proxy_from_value(&pickled).unwrap());
        assert_eq!(int(&again.get(s("k")).unwrap().unwrap()), 42, "{python}");
        assert_eq!(again.id(), inner.id());
        drop((inner, again, outer));
        assert_eq!(m.number_of_objects().unwrap(), base + 5, "{python}");

        // Objects are released when the proxies drop.
        drop(child);
        assert_eq!(m.number_of_objects().unwrap(), base + 4, "{python}");
        drop((q, d, l, c));
        assert_eq!(m.number_of_objects().unwrap(), base, "{python}");

        assert!(matches!(
            m.create("NoSuchType", vec![], vec![]),
            Err(ManagerError::Traceback(t)) if t.contains("KeyError")
        ));
        assert!(ManagerClient::connect(&address, Some(b"wrong")).is_err());

        m.shutdown().unwrap();
        let status = peer.0.wait().unwrap();
        assert!(status.success(), "{python}: {status}");
    }
}

#[test]
fn the_remote_queue_recipe_with_a_rust_worker_and_a_cpython_manager() {
    for python in interpreters() {
        let (_peer, address) = cpython_server(&python);
        let m = ManagerClient::connect(&address, Some(b"secret")).unwrap();
        // Rust plays both the producer and (on a thread) the worker of the recipe.
        let jobs = m.queue("get_jobs").unwrap();
        let results = m.queue("get_results").unwrap();
        let worker = {
            let m = m.clone();
            std::thread::spawn(move || {
                let jobs = m.queue("get_jobs").unwrap();
                let results = m.queue("get_results").unwrap();
                while let Value::Int(n) = jobs.get().unwrap() {
                    results
                        .put(Value::tuple(vec![Value::Int(n), Value::Int(n * n)]))
                        .unwrap();
                }
            })
        };
        for n in 0..20 {
            jobs.put(Value::Int(n)).unwrap();
        }
        jobs.put(Value::None).unwrap();
        let total: i64 = (0..20)
            .map(|_| int(&items(&results.get().unwrap())[1]))
            .sum();
        assert_eq!(total, (0..20).map(|n| n * n).sum::<i64>(), "{python}");
        worker.join().unwrap();
        m.shutdown().unwrap();
    }
}
