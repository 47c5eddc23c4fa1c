//! `SyncManager`'s synchronisation typeids, served by Rust: `Lock`, `RLock`,
//! `Semaphore`, `BoundedSemaphore`, `Condition`, `Event` and `Barrier`.
//!
//! They follow `threading`'s semantics and exceptions, with CPython's server's notion of
//! a thread: the client *connection* (a CPython client opens one per thread). So an
//! `RLock` belongs to the connection that acquired it, and `Condition.wait` must be
//! called by that connection.
//!
//! ## When a client disconnects
//! * **While waiting** (`acquire`, `wait`): the wait ends without taking anything (see
//!   [`super::wait`]); a dead `Barrier` party is withdrawn, so the barrier waits for
//!   another. CPython's server instead lets the dead client's thread take the lock (or
//!   count as a party) when it frees, and the lock then stays taken.
//! * **While holding** a `Lock`, `RLock`, `Semaphore` or a `Condition`'s lock: it stays
//!   held, as in CPython's server (which never releases on a client's behalf: a
//!   `threading.Lock` has no owner to check, and the dead client's `RLock` owner thread
//!   just ends). Other clients' `acquire(timeout=...)` time out; a plain `Lock` can
//!   still be released by anyone, as in Python.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::server::{Args, Caller};
use super::wait::{
    deadline_after, gone_error, optional_deadline, seconds_arg, truthy, wait_while, Waited,
};
use super::{as_int, as_str, ManagedObject, Outcome, PyException};
use crate::Value;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|m| m.to_string()).collect()
}

fn ret(v: Value) -> Result<Outcome, PyException> {
    Ok(Outcome::Return(v))
}

fn none() -> Result<Outcome, PyException> {
    ret(Value::None)
}

/// The arguments `(blocking=True, timeout=-1)` of `Lock.acquire` / `RLock.acquire`:
/// `Ok(None)` to wait forever, `Ok(Some(deadline))` otherwise (now for non-blocking).
fn lock_acquire_args(args: Args<'_>) -> Result<Option<Instant>, PyException> {
    let [blocking, timeout] = args.bind(["blocking", "timeout"], 0)?;
    let blocking = blocking.as_ref().map_or(true, truthy);
    let timeout = match &timeout {
        None => -1.0,
        Some(t) => seconds_arg(t)?,
    };
    if !blocking {
        if timeout != -1.0 {
            return Err(PyException::value_error(
                "can't specify a timeout for a non-blocking call",
            ));
        }
        return Ok(Some(Instant::now()));
    }
    if timeout == -1.0 {
        return Ok(None);
    }
    if timeout < 0.0 {
        return Err(PyException::value_error(
            "timeout value must be a non-negative number",
        ));
    }
    Ok(Some(
        deadline_after(timeout).unwrap_or_else(super::wait::far_future),
    ))
}

/// The arguments `(blocking=True, timeout=None)` of `Semaphore.acquire`.
fn semaphore_acquire_args(args: Args<'_>) -> Result<Option<Instant>, PyException> {
    let [blocking, timeout] = args.bind(["blocking", "timeout"], 0)?;
    let blocking = blocking.as_ref().map_or(true, truthy);
    let has_timeout = !matches!(
        timeout.as_ref().map(Value::unanchored),
        None | Some(Value::None)
    );
    if !blocking {
        if has_timeout {
            return Err(PyException::value_error(
                "can't specify timeout for non-blocking acquire",
            ));
        }
        return Ok(Some(Instant::now()));
    }
    optional_deadline(timeout.as_ref())
}

/// The state of a lock: who holds it and how many times.
#[derive(Debug, Default)]
struct Owner {
    holder: Option<u64>,
    count: usize,
}

/// A `threading.Lock` (or, reentrant, a `threading.RLock`) served by a Rust manager:
/// `acquire(blocking=True, timeout=-1)`, `release()` and (3.14's proxies) `locked()`.
#[derive(Debug, Default)]
pub struct SharedLock {
    reentrant: bool,
    state: Mutex<Owner>,
    changed: Condvar,
}

impl SharedLock {
    /// A `threading.Lock`.
    pub fn new() -> Arc<SharedLock> {
        Arc::new(SharedLock::default())
    }

    /// A `threading.RLock`: the connection holding it may acquire it again and must
    /// release it as often.
    pub fn reentrant() -> Arc<SharedLock> {
        Arc::new(SharedLock {
            reentrant: true,
            ..SharedLock::default()
        })
    }

    /// Whether someone holds the lock.
    pub fn locked(&self) -> bool {
        lock(&self.state).holder.is_some()
    }

    /// Acquires for `caller` until `deadline` (`None`: forever): `Ok(false)` on timeout.
    fn acquire(&self, caller: Caller<'_>, deadline: Option<Instant>) -> Result<bool, PyException> {
        let guard = lock(&self.state);
        let me = caller.id();
        if self.reentrant && guard.holder == Some(me) {
            let mut guard = guard;
            guard.count += 1;
            return Ok(true);
        }
        let (mut guard, waited) = wait_while(&self.changed, guard, deadline, caller, |o| {
            o.holder.is_some()
        });
        match waited {
            Waited::Ready => {
                guard.holder = Some(me);
                guard.count = 1;
                Ok(true)
            }
            Waited::TimedOut => Ok(false),
            Waited::Gone => Err(gone_error()),
        }
    }

    fn release(&self, caller: Caller<'_>) -> Result<(), PyException> {
        let mut guard = lock(&self.state);
        if self.reentrant {
            if guard.holder != Some(caller.id()) {
                return Err(PyException::runtime_error(
                    "cannot release un-acquired lock",
                ));
            }
            guard.count -= 1;
            if guard.count > 0 {
                return Ok(());
            }
        } else if guard.holder.is_none() {
            return Err(PyException::runtime_error("release unlocked lock"));
        }
        guard.holder = None;
        guard.count = 0;
        self.changed.notify_one();
        Ok(())
    }
}

impl ManagedObject for SharedLock {
    fn exposed(&self) -> Vec<String> {
        names(&["acquire", "locked", "release"])
    }

    fn call(&self, method: &str, args: Args<'_>) -> Result<Outcome, PyException> {
        match method {
            "acquire" => {
                let deadline = lock_acquire_args(args)?;
                ret(Value::Bool(self.acquire(args.caller, deadline)?))
            }
            "release" => {
                args.none()?;
                self.release(args.caller)?;
                none()
            }
            "locked" => {
                args.none()?;
                ret(Value::Bool(self.locked()))
            }
            other => Err(PyException::attribute_error(other)),
        }
    }

    fn repr(&self) -> String {
        let o = lock(&self.state);
        let state = if o.holder.is_some() {
            "locked"
        } else {
            "unlocked"
        };
        if self.reentrant {
            format!("<{state} RLock owner={:?} count={}>", o.holder, o.count)
        } else {
            format!("<{state} Lock>")
        }
    }
}

/// A `threading.Semaphore` (or, bounded, a `threading.BoundedSemaphore`):
/// `acquire(blocking=True, timeout=None)` and `release(n=1)`.
#[derive(Debug)]
pub struct SharedSemaphore {
    /// The initial value, for a bounded semaphore.
    bound: Option<usize>,
    value: Mutex<usize>,
    changed: Condvar,
}

impl SharedSemaphore {
    /// A `threading.Semaphore(value)`.
    pub fn new(value: usize) -> Arc<SharedSemaphore> {
        Arc::new(SharedSemaphore {
            bound: None,
            value: Mutex::new(value),
            changed: Condvar::new(),
        })
    }

    /// A `threading.BoundedSemaphore(value)`: releasing above `value` is a `ValueError`.
    pub fn bounded(value: usize) -> Arc<SharedSemaphore> {
        Arc::new(SharedSemaphore {
            bound: Some(value),
            value: Mutex::new(value),
            changed: Condvar::new(),
        })
    }

    /// The current counter.
    pub fn value(&self) -> usize {
        *lock(&self.value)
    }

    fn acquire(&self, caller: Caller<'_>, deadline: Option<Instant>) -> Result<bool, PyException> {
        let guard = lock(&self.value);
        let (mut guard, waited) = wait_while(&self.changed, guard, deadline, caller, |v| *v == 0);
        match waited {
            Waited::Ready => {
                *guard -= 1;
                Ok(true)
            }
            Waited::TimedOut => Ok(false),
            Waited::Gone => Err(gone_error()),
        }
    }

    fn release(&self, n: i64) -> Result<(), PyException> {
        if n < 1 {
            return Err(PyException::value_error("n must be one or more"));
        }
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        let mut guard = lock(&self.value);
        let next = guard.saturating_add(n);
        if self.bound.is_some_and(|b| next > b) {
            return Err(PyException::value_error(
                "Semaphore released too many times",
            ));
        }
        *guard = next;
        self.changed.notify_all();
        Ok(())
    }
}

impl ManagedObject for SharedSemaphore {
    fn exposed(&self) -> Vec<String> {
        // No `locked`: `threading.Semaphore` has none, and CPython 3.14's server answers
        // a call to it with a traceback (`RemoteError`), as this server does.
        names(&["acquire", "release"])
    }

    fn call(&self, method: &str, args: Args<'_>) -> Result<Outcome, PyException> {
        match method {
            "acquire" => {
                let deadline = semaphore_acquire_args(args)?;
                ret(Value::Bool(self.acquire(args.caller, deadline)?))
            }
            "release" => {
                let [n] = args.bind(["n"], 0)?;
                let n = match &n {
                    None => 1,
                    Some(v) => int_arg(v)?,
                };
                self.release(n)?;
                none()
            }
            other => Err(PyException::attribute_error(other)),
        }
    }

    fn repr(&self) -> String {
        let kind = if self.bound.is_some() {
            "BoundedSemaphore"
        } else {
            "Semaphore"
        };
        format!("<{kind} value={}>", self.value())
    }
}

/// An `int` argument, or Python's `TypeError`.
fn int_arg(v: &Value) -> Result<i64, PyException> {
    as_int(v).ok_or_else(|| {
        PyException::type_error(&format!(
            "'{}' object cannot be interpreted as an integer",
            v.type_name()
        ))
    })
}

/// The state of a condition: its `RLock` and its waiters.
#[derive(Debug, Default)]
struct ConditionState {
    lock: Owner,
    /// Waiting tickets, in arrival order; `true` once notified.
    waiters: Vec<(u64, bool)>,
    next_ticket: u64,
}

/// A `threading.Condition()` (its lock an `RLock`): `acquire`, `release`, `locked`,
/// `wait(timeout=None)`, `notify(n=1)`, `notify_all()`. (`wait_for` runs on the CPython
/// client, over `wait`.)
#[derive(Debug, Default)]
pub struct SharedCondition {
    state: Mutex<ConditionState>,
    changed: Condvar,
}

impl SharedCondition {
    /// A condition with its own `RLock`.
    pub fn new() -> Arc<SharedCondition> {
        Arc::new(SharedCondition::default())
    }

    /// Takes the lock for `caller` (reentrant), waiting until `deadline`.
    fn acquire(&self, caller: Caller<'_>, deadline: Option<Instant>) -> Result<bool, PyException> {
        let mut guard = lock(&self.state);
        let me = caller.id();
        if guard.lock.holder == Some(me) {
            guard.lock.count += 1;
            return Ok(true);
        }
        let (guard, ok) = self.take(guard, caller, deadline, 1)?;
        drop(guard);
        Ok(ok)
    }

    /// Waits for the lock to be free and takes it `count` times for `caller`.
    fn take<'a>(
        &'a self,
        guard: MutexGuard<'a, ConditionState>,
        caller: Caller<'_>,
        deadline: Option<Instant>,
        count: usize,
    ) -> Result<(MutexGuard<'a, ConditionState>, bool), PyException> {
        let (mut guard, waited) = wait_while(&self.changed, guard, deadline, caller, |s| {
            s.lock.holder.is_some()
        });
        match waited {
            Waited::Ready => {
                guard.lock.holder = Some(caller.id());
                guard.lock.count = count;
                Ok((guard, true))
            }
            Waited::TimedOut => Ok((guard, false)),
            Waited::Gone => Err(gone_error()),
        }
    }

    fn check_owner(
        state: &ConditionState,
        caller: Caller<'_>,
        what: &str,
    ) -> Result<(), PyException> {
        if state.lock.holder == Some(caller.id()) {
            Ok(())
        } else {
            Err(PyException::runtime_error(&format!(
                "cannot {what} on un-acquired lock"
            )))
        }
    }

    fn release(&self, caller: Caller<'_>) -> Result<(), PyException> {
        let mut guard = lock(&self.state);
        if guard.lock.holder != Some(caller.id()) {
            return Err(PyException::runtime_error(
                "cannot release un-acquired lock",
            ));
        }
        guard.lock.count -= 1;
        if guard.lock.count == 0 {
            guard.lock.holder = None;
            self.changed.notify_all();
        }
        Ok(())
    }

    /// `wait(timeout)`: releases the lock, waits for a notify, takes the lock back.
    fn wait(&self, caller: Caller<'_>, deadline: Option<Instant>) -> Result<bool, PyException> {
        let mut guard = lock(&self.state);
        Self::check_owner(&guard, caller, "wait")?;
        let saved = guard.lock.count;
        let ticket = guard.next_ticket;
        guard.next_ticket += 1;
        guard.waiters.push((ticket, false));
        guard.lock.holder = None;
        guard.lock.count = 0;
        self.changed.notify_all();
        let notified = |s: &ConditionState| s.waiters.contains(&(ticket, true));
        let (mut guard, waited) =
            wait_while(&self.changed, guard, deadline, caller, |s| !notified(s));
        let was_notified = notified(&guard);
        guard.waiters.retain(|w| w.0 != ticket);
        if waited == Waited::Gone {
            return Err(gone_error());
        }
        // Python's `Condition.wait` takes the lock back whatever happened, without a
        // timeout.
        let (guard, _) = self.take(guard, caller, None, saved)?;
        drop(guard);
        Ok(was_notified)
    }

    fn notify(&self, caller: Caller<'_>, n: usize) -> Result<(), PyException> {
        let mut guard = lock(&self.state);
        Self::check_owner(&guard, caller, "notify")?;
        let mut left = n;
        for w in guard.waiters.iter_mut().filter(|w| !w.1) {
            if left == 0 {
                break;
            }
            w.1 = true;
            left -= 1;
        }
        self.changed.notify_all();
        Ok(())
    }
}

impl ManagedObject for SharedCondition {
    fn exposed(&self) -> Vec<String> {
        names(&[
            "acquire",
            "locked",
            "notify",
            "notify_all",
            "release",
            "wait",
        ])
    }

    fn call(&self, method: &str, args: Args<'_>) -> Result<Outcome, PyException> {
        match method {
            "acquire" => {
                let deadline = lock_acquire_args(args)?;
                ret(Value::Bool(self.acquire(args.caller, deadline)?))
            }
            "release" => {
                args.none()?;
                self.release(args.caller)?;
                none()
            }
            "locked" => {
                args.none()?;
                ret(Value::Bool(lock(&self.state).lock.holder.is_some()))
            }
            "wait" => {
                let [timeout] = args.bind(["timeout"], 0)?;
                let deadline = optional_deadline(timeout.as_ref())?;
                ret(Value::Bool(self.wait(args.caller, deadline)?))
            }
            "notify" => {
                let [n] = args.bind(["n"], 0)?;
                let n = match &n {
                    None => 1,
                    Some(v) => int_arg(v)?.max(0),
                };
                self.notify(args.caller, usize::try_from(n).unwrap_or(usize::MAX))?;
                none()
            }
            "notify_all" => {
                args.none()?;
                self.notify(args.caller, usize::MAX)?;
                none()
            }
            other => Err(PyException::attribute_error(other)),
        }
    }

    fn repr(&self) -> String {
        let s = lock(&self.state);
        format!(
            "<Condition(<RLock count={}>, {})>",
            s.lock.count,
            s.waiters.len()
        )
    }
}

/// A `threading.Event`: `is_set()`, `set()`, `clear()`, `wait(timeout=None)`.
#[derive(Debug, Default)]
pub struct SharedEvent {
    flag: Mutex<bool>,
    changed: Condvar,
}

impl SharedEvent {
    /// A cleared event.
    pub fn new() -> Arc<SharedEvent> {
        Arc::new(SharedEvent::default())
    }

    /// `is_set()`.
    pub fn is_set(&self) -> bool {
        *lock(&self.flag)
    }

    /// `set()`: wakes every waiter.
    pub fn set(&self) {
        *lock(&self.flag) = true;
        self.changed.notify_all();
    }

    /// `clear()`.
    pub fn clear(&self) {
        *lock(&self.flag) = false;
    }
}

impl ManagedObject for SharedEvent {
    fn exposed(&self) -> Vec<String> {
        names(&["clear", "is_set", "set", "wait"])
    }

    fn call(&self, method: &str, args: Args<'_>) -> Result<Outcome, PyException> {
        match method {
            "is_set" => {
                args.none()?;
                ret(Value::Bool(self.is_set()))
            }
            "set" => {
                args.none()?;
                self.set();
                none()
            }
            "clear" => {
                args.none()?;
                self.clear();
                none()
            }
            "wait" => {
                let [timeout] = args.bind(["timeout"], 0)?;
                let deadline = optional_deadline(timeout.as_ref())?;
                let guard = lock(&self.flag);
                let (guard, waited) =
                    wait_while(&self.changed, guard, deadline, args.caller, |set| !*set);
                if waited == Waited::Gone {
                    return Err(gone_error());
                }
                ret(Value::Bool(*guard))
            }
            other => Err(PyException::attribute_error(other)),
        }
    }

    fn repr(&self) -> String {
        let state = if self.is_set() { "set" } else { "unset" };
        format!("<Event: {state}>")
    }
}

#[derive(Debug, Default)]
struct BarrierState {
    /// Parties waiting in the current generation.
    count: usize,
    generation: u64,
    /// The last generation that was released normally (not by `reset`).
    released: Option<u64>,
    broken: bool,
}

/// A `threading.Barrier(parties, action=None, timeout=None)`: `wait(timeout=None)`
/// (returns the arrival index), `abort()`, `reset()`, and the `parties`, `n_waiting` and
/// `broken` attributes through `__getattribute__`. An `action` would be Python code, so
/// only `None` is accepted.
#[derive(Debug)]
pub struct SharedBarrier {
    parties: usize,
    timeout: Option<f64>,
    state: Mutex<BarrierState>,
    changed: Condvar,
}

fn broken_barrier() -> PyException {
    PyException::new("threading", "BrokenBarrierError", Vec::new())
}

impl SharedBarrier {
    /// A barrier for `parties` (at least 1) with a default `wait` timeout.
    pub fn new(parties: usize, timeout: Option<f64>) -> Arc<SharedBarrier> {
        Arc::new(SharedBarrier {
            parties: parties.max(1),
            timeout,
            state: Mutex::new(BarrierState::default()),
            changed: Condvar::new(),
        })
    }

    fn wait(&self, caller: Caller<'_>, timeout: Option<f64>) -> Result<usize, PyException> {
        let mut guard = lock(&self.state);
        if guard.broken {
            return Err(broken_barrier());
        }
        let index = guard.count;
        guard.count += 1;
        let generation = guard.generation;
        if guard.count == self.parties {
            guard.released = Some(generation);
            guard.generation += 1;
            guard.count = 0;
            self.changed.notify_all();
            return Ok(index);
        }
        let deadline = timeout
            .or(self.timeout)
            .map(|t| deadline_after(t).unwrap_or_else(super::wait::far_future));
        let (mut guard, waited) = wait_while(&self.changed, guard, deadline, caller, |s| {
            s.generation == generation && !s.broken
        });
        match waited {
            Waited::Ready if guard.released == Some(generation) => Ok(index),
            Waited::Ready => Err(broken_barrier()),
            Waited::TimedOut => {
                // Python: a timeout breaks the barrier for everyone.
                guard.broken = true;
                self.changed.notify_all();
                Err(broken_barrier())
            }
            Waited::Gone => {
                if guard.generation == generation && !guard.broken {
                    guard.count -= 1;
                }
                Err(gone_error())
            }
        }
    }

    fn abort(&self) {
        lock(&self.state).broken = true;
        self.changed.notify_all();
    }

    fn reset(&self) {
        let mut guard = lock(&self.state);
        if guard.count > 0 {
            // The parties waiting now get BrokenBarrierError.
            guard.generation += 1;
        }
        guard.count = 0;
        guard.broken = false;
        self.changed.notify_all();
    }
}

impl ManagedObject for SharedBarrier {
    fn exposed(&self) -> Vec<String> {
        names(&["__getattribute__", "abort", "reset", "wait"])
    }

    fn call(&self, method: &str, args: Args<'_>) -> Result<Outcome, PyException> {
        match method {
            "wait" => {
                let [timeout] = args.bind(["timeout"], 0)?;
                let timeout = match timeout.as_ref().map(Value::unanchored) {
                    None | Some(Value::None) => None,
                    Some(t) => Some(seconds_arg(t)?),
                };
                let index = self.wait(args.caller, timeout)?;
                ret(Value::Int(index as i64))
            }
            "abort" => {
                args.none()?;
                self.abort();
                none()
            }
            "reset" => {
                args.none()?;
                self.reset();
                none()
            }
            "__getattribute__" => {
                let [name] = args.bind(["name"], 1)?;
                let name = name.unwrap_or(Value::None);
                let state = lock(&self.state);
                match as_str(&name) {
                    Some("parties") => ret(Value::Int(self.parties as i64)),
                    Some("n_waiting") => ret(Value::Int(if state.broken {
                        0
                    } else {
                        state.count as i64
                    })),
                    Some("broken") => ret(Value::Bool(state.broken)),
                    _ => Err(PyException::attribute_error(&format!(
                        "'Barrier' object has no attribute {}",
                        super::brief(&name)
                    ))),
                }
            }
            other => Err(PyException::attribute_error(other)),
        }
    }

    fn repr(&self) -> String {
        let state = lock(&self.state);
        format!(
            "<Barrier waiters={}/{} broken={}>",
            state.count, self.parties, state.broken
        )
    }
}

/// The factory arguments `Barrier(parties, action=None, timeout=None)`.
pub(crate) fn barrier_from_args(args: Args<'_>) -> Result<Arc<SharedBarrier>, PyException> {
    let [parties, action, timeout] = args.bind(["parties", "action", "timeout"], 1)?;
    let parties = int_arg(&parties.unwrap_or(Value::None))?;
    if parties < 1 {
        return Err(PyException::value_error("parties must be >= 1"));
    }
    if !matches!(
        action.as_ref().map(Value::unanchored),
        None | Some(Value::None)
    ) {
        return Err(PyException::type_error(
            "Barrier(action=...) would run Python code: a Rust manager accepts only action=None",
        ));
    }
    let timeout = match timeout.as_ref().map(Value::unanchored) {
        None | Some(Value::None) => None,
        Some(t) => Some(seconds_arg(t)?),
    };
    Ok(SharedBarrier::new(
        usize::try_from(parties).unwrap_or(usize::MAX),
        timeout,
    ))
}

/// The factory arguments `Semaphore(value=1)`.
pub(crate) fn semaphore_value(args: Args<'_>) -> Result<usize, PyException> {
    let [value] = args.bind(["value"], 0)?;
    let value = match &value {
        None => 1,
        Some(v) => int_arg(v)?,
    };
    usize::try_from(value)
        .map_err(|_| PyException::value_error("semaphore initial value must be >= 0"))
}

/// The factory arguments `Condition(lock=None)`: only `None` (a condition with its own
/// `RLock`); a proxied lock from the same manager is refused with a `TypeError`.
pub(crate) fn condition_from_args(args: Args<'_>) -> Result<Arc<SharedCondition>, PyException> {
    let [given] = args.bind(["lock"], 0)?;
    if !matches!(
        given.as_ref().map(Value::unanchored),
        None | Some(Value::None)
    ) {
        return Err(PyException::type_error(
            "Condition(lock): a Rust manager's conditions use their own RLock (lock=None)",
        ));
    }
    Ok(SharedCondition::new())
}
