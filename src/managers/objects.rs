//! Ready-made shared objects for a [`super::ManagerServer`].

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::server::{Args, Caller};
use super::wait::{deadline_after, far_future, gone_error, truthy, wait_while, Waited};
use super::{as_int, ManagedObject, Outcome, PyException};
use crate::Value;

/// A `queue.Queue` served by a Rust manager: the same methods and the same exceptions
/// (`queue.Empty`, `queue.Full`, `ValueError` for a negative timeout), so a CPython auto
/// proxy for it behaves like one for a CPython queue.
///
/// Rust code in the server process can use it directly ([`SharedQueue::put`],
/// [`SharedQueue::get`]) while clients use it remotely.
#[derive(Debug)]
pub struct SharedQueue {
    maxsize: usize,
    state: Mutex<QueueState>,
    not_empty: Condvar,
    not_full: Condvar,
    all_done: Condvar,
}

#[derive(Debug, Default)]
struct QueueState {
    items: VecDeque<Value>,
    unfinished: usize,
    /// `shutdown()` was called (CPython 3.13's `is_shutdown`).
    shut: bool,
}

/// `queue.Queue`'s public methods, as `public_methods(queue.Queue())` lists them on
/// 3.13+ (`shutdown` is new there; older clients' auto proxies simply never call it).
const QUEUE_METHODS: &[&str] = &[
    "empty",
    "full",
    "get",
    "get_nowait",
    "join",
    "put",
    "put_nowait",
    "qsize",
    "shutdown",
    "task_done",
];

impl SharedQueue {
    /// An unbounded queue.
    pub fn new() -> Arc<SharedQueue> {
        SharedQueue::bounded(0)
    }

    /// A queue holding at most `maxsize` items (0: unbounded, as in Python).
    pub fn bounded(maxsize: usize) -> Arc<SharedQueue> {
        Arc::new(SharedQueue {
            maxsize,
            state: Mutex::new(QueueState::default()),
            not_empty: Condvar::new(),
            not_full: Condvar::new(),
            all_done: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `put(item, block, timeout)`: `Err(queue.Full)` when it stays full.
    pub fn put(
        &self,
        item: Value,
        block: bool,
        timeout: Option<Duration>,
    ) -> Result<(), PyException> {
        self.put_from(Caller::LOCAL, item, block, timeout)
    }

    /// `put` for a client: gives up (putting nothing) when `caller` disconnects.
    fn put_from(
        &self,
        caller: Caller<'_>,
        item: Value,
        block: bool,
        timeout: Option<Duration>,
    ) -> Result<(), PyException> {
        let guard = self.lock();
        if guard.shut {
            return Err(queue_shut_down());
        }
        let full = |s: &QueueState| !s.shut && self.maxsize > 0 && s.items.len() >= self.maxsize;
        let (mut guard, waited) = if !block {
            let ok = !full(&guard);
            (guard, if ok { Waited::Ready } else { Waited::TimedOut })
        } else {
            let deadline =
                timeout.map(|t| deadline_after(t.as_secs_f64()).unwrap_or_else(far_future));
            wait_while(&self.not_full, guard, deadline, caller, full)
        };
        match waited {
            Waited::Ready if guard.shut => return Err(queue_shut_down()),
            Waited::Ready => {}
            Waited::TimedOut => return Err(PyException::queue_full()),
            Waited::Gone => return Err(gone_error()),
        }
        guard.items.push_back(item);
        guard.unfinished += 1;
        self.not_empty.notify_one();
        Ok(())
    }

    /// `get(block, timeout)`: `Err(queue.Empty)` when nothing arrives.
    pub fn get(&self, block: bool, timeout: Option<Duration>) -> Result<Value, PyException> {
        self.get_from(Caller::LOCAL, block, timeout)
    }

    /// `get` for a client: gives up (taking nothing) when `caller` disconnects.
    fn get_from(
        &self,
        caller: Caller<'_>,
        block: bool,
        timeout: Option<Duration>,
    ) -> Result<Value, PyException> {
        let guard = self.lock();
        let empty = |s: &QueueState| !s.shut && s.items.is_empty();
        let (mut guard, waited) = if !block {
            let ok = !empty(&guard);
            (guard, if ok { Waited::Ready } else { Waited::TimedOut })
        } else {
            let deadline =
                timeout.map(|t| deadline_after(t.as_secs_f64()).unwrap_or_else(far_future));
            wait_while(&self.not_empty, guard, deadline, caller, empty)
        };
        if waited == Waited::Gone {
            return Err(gone_error());
        }
        if guard.shut && guard.items.is_empty() {
            return Err(queue_shut_down());
        }
        match guard.items.pop_front() {
            Some(v) if waited == Waited::Ready => {
                self.not_full.notify_one();
                Ok(v)
            }
            _ => Err(PyException::queue_empty()),
        }
    }

    /// `shutdown(immediate)` (CPython 3.13+): later `put`s raise `queue.ShutDown`, and
    /// `get`s too once the queue is empty (at once with `immediate`, which drops the
    /// items and counts them done); every blocked caller wakes.
    pub fn shutdown(&self, immediate: bool) {
        let mut guard = self.lock();
        guard.shut = true;
        if immediate {
            let drained = guard.items.len();
            guard.items.clear();
            guard.unfinished = guard.unfinished.saturating_sub(drained);
            self.all_done.notify_all();
        }
        self.not_empty.notify_all();
        self.not_full.notify_all();
    }

    /// `qsize()`.
    pub fn len(&self) -> usize {
        self.lock().items.len()
    }

    /// `empty()`.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `task_done()`.
    pub fn task_done(&self) -> Result<(), PyException> {
        let mut guard = self.lock();
        if guard.unfinished == 0 {
            return Err(PyException::value_error(
                "task_done() called too many times",
            ));
        }
        guard.unfinished -= 1;
        if guard.unfinished == 0 {
            self.all_done.notify_all();
        }
        Ok(())
    }

    /// `join()`: waits until every item put has been marked done.
    pub fn join(&self) {
        let guard = self.lock();
        let (guard, _) = wait_while(&self.all_done, guard, None, Caller::LOCAL, |s| {
            s.unfinished > 0
        });
        drop(guard);
    }
}

/// `queue.ShutDown` (CPython 3.13+).
fn queue_shut_down() -> PyException {
    PyException::new("queue", "ShutDown", Vec::new())
}

/// A `timeout` argument: `None` or a non-negative number of seconds.
fn timeout_arg(v: Option<&Value>) -> Result<Option<Duration>, PyException> {
    let secs = match v.map(Value::unanchored) {
        None | Some(Value::None) => return Ok(None),
        Some(Value::Float(f)) => *f,
        Some(other) => match as_int(other) {
            Some(i) => i as f64,
            None => {
                return Err(PyException::type_error(&format!(
                    "'<' not supported between instances of '{}' and 'int'",
                    other.type_name()
                )))
            }
        },
    };
    if secs.is_nan() || secs < 0.0 {
        return Err(PyException::value_error(
            "'timeout' must be a non-negative number",
        ));
    }
    Ok(Some(
        Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX),
    ))
}

impl ManagedObject for SharedQueue {
    fn exposed(&self) -> Vec<String> {
        QUEUE_METHODS.iter().map(|m| m.to_string()).collect()
    }

    fn call(&self, method: &str, args: Args<'_>) -> Result<Outcome, PyException> {
        let none = || Ok(Outcome::Return(Value::None));
        match method {
            "put" => {
                let [item, block, timeout] = args.bind(["item", "block", "timeout"], 1)?;
                let block = block.as_ref().map_or(true, truthy);
                self.put_from(
                    args.caller,
                    item.unwrap_or(Value::None),
                    block,
                    timeout_arg(timeout.as_ref())?,
                )?;
                none()
            }
            "put_nowait" => {
                let [item] = args.bind(["item"], 1)?;
                self.put(item.unwrap_or(Value::None), false, None)?;
                none()
            }
            "get" => {
                let [block, timeout] = args.bind(["block", "timeout"], 0)?;
                let block = block.as_ref().map_or(true, truthy);
                Ok(self
                    .get_from(args.caller, block, timeout_arg(timeout.as_ref())?)?
                    .into())
            }
            "get_nowait" => {
                args.none()?;
                Ok(self.get(false, None)?.into())
            }
            "qsize" => {
                args.none()?;
                Ok(Value::Int(self.len() as i64).into())
            }
            "empty" => {
                args.none()?;
                Ok(Value::Bool(self.is_empty()).into())
            }
            "full" => {
                args.none()?;
                Ok(Value::Bool(self.maxsize > 0 && self.len() >= self.maxsize).into())
            }
            "task_done" => {
                args.none()?;
                self.task_done()?;
                none()
            }
            "shutdown" => {
                let [immediate] = args.bind(["immediate"], 0)?;
                self.shutdown(immediate.as_ref().is_some_and(truthy));
                none()
            }
            "join" => {
                args.none()?;
                let guard = self.lock();
                let (guard, waited) = wait_while(&self.all_done, guard, None, args.caller, |s| {
                    s.unfinished > 0
                });
                drop(guard);
                if waited == Waited::Gone {
                    return Err(gone_error());
                }
                none()
            }
            other => Err(PyException::attribute_error(&format!(
                "'Queue' object has no attribute '{other}'"
            ))),
        }
    }

    fn get_value(&self) -> Result<Value, PyException> {
        Err(PyException::type_error(
            "cannot pickle '_thread.lock' object",
        ))
    }

    fn repr(&self) -> String {
        format!("<mpconn SharedQueue with {} items>", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(
        q: &SharedQueue,
        method: &str,
        pos: &[Value],
        kw: &[(Value, Value)],
    ) -> Result<Outcome, PyException> {
        q.call(method, Args::new(method, pos, kw))
    }

    #[test]
    fn queue_put_get_and_empty() {
        let q = SharedQueue::new();
        call(&q, "put", &[Value::Int(5)], &[]).unwrap();
        assert!(matches!(
            call(&q, "qsize", &[], &[]),
            Ok(Outcome::Return(Value::Int(1)))
        ));
        assert!(matches!(
            call(&q, "get", &[], &[]),
            Ok(Outcome::Return(Value::Int(5)))
        ));
        let kw = [(super::super::s("timeout"), Value::Float(0.0))];
        assert!(call(&q, "get", &[], &kw).unwrap_err().is_queue_empty());
        assert!(call(&q, "get_nowait", &[], &[])
            .unwrap_err()
            .is_queue_empty());
        let kw = [(super::super::s("timeout"), Value::Int(-1))];
        assert!(call(&q, "get", &[], &kw)
            .unwrap_err()
            .is("builtins", "ValueError"));
    }

    #[test]
    fn bounded_queue_reports_full() {
        let q = SharedQueue::bounded(1);
        q.put(Value::None, false, None).unwrap();
        assert!(q.put(Value::None, false, None).unwrap_err().is_queue_full());
        assert!(matches!(
            call(&q, "full", &[], &[]),
            Ok(Outcome::Return(Value::Bool(true)))
        ));
        assert!(q
            .put(Value::None, true, Some(Duration::ZERO))
            .unwrap_err()
            .is_queue_full());
    }

    #[test]
    fn task_done_too_often_is_a_value_error() {
        let q = SharedQueue::new();
        q.put(Value::None, true, None).unwrap();
        q.get(true, None).unwrap();
        q.task_done().unwrap();
        q.join();
        assert!(q.task_done().unwrap_err().is("builtins", "ValueError"));
    }

    #[test]
    fn a_blocked_get_wakes_on_put_from_another_thread() {
        let q = SharedQueue::new();
        let q2 = Arc::clone(&q);
        let t = std::thread::spawn(move || q2.get(true, None));
        q.put(Value::Int(9), true, None).unwrap();
        assert!(matches!(t.join().unwrap(), Ok(Value::Int(9))));
    }
}
