//! Blocking waits for shared objects: a deadline, and a client that may disconnect.
//!
//! CPython's server runs a blocked `acquire`/`wait`/`get` on the connection's thread
//! until it succeeds, even when the client has died meanwhile: a dead client's `acquire`
//! then takes the lock when it frees, its reply goes nowhere and the lock stays taken.
//! Here a blocked call wakes at least every [`GONE_CHECK`] and checks
//! [`Caller::is_gone`] (one non-blocking `poll` of the connection) *before* taking
//! anything: a client that disconnected while waiting, or before its request was read,
//! takes nothing.

use std::sync::{Condvar, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::server::Caller;
use super::{as_int, PyException};
use crate::Value;

/// How often a blocked call checks that its client is still connected.
pub(crate) const GONE_CHECK: Duration = Duration::from_millis(100);

/// How a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Waited {
    /// The condition holds (the guard is still held: take the resource now).
    Ready,
    /// The deadline passed first.
    TimedOut,
    /// The client disconnected while waiting.
    Gone,
}

/// Waits on `cv` while `blocked(state)` holds, until `deadline` (`None`: no deadline).
pub(crate) fn wait_while<'a, T>(
    cv: &Condvar,
    mut guard: MutexGuard<'a, T>,
    deadline: Option<Instant>,
    caller: Caller<'_>,
    blocked: impl Fn(&T) -> bool,
) -> (MutexGuard<'a, T>, Waited) {
    let mut waited = false;
    loop {
        // Checked before the first look too: a request that arrives after its client
        // died (it was in the socket buffer) takes nothing either.
        if caller.is_gone() {
            // A wake-up this waiter may have consumed goes to the next one.
            if waited {
                cv.notify_one();
            }
            return (guard, Waited::Gone);
        }
        if !blocked(&guard) {
            return (guard, Waited::Ready);
        }
        let slice = match deadline {
            None => GONE_CHECK,
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    if waited {
                        cv.notify_one();
                    }
                    return (guard, Waited::TimedOut);
                }
                (d - now).min(GONE_CHECK)
            }
        };
        guard = cv
            .wait_timeout(guard, slice)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
        waited = true;
    }
}

/// The exception a call from a disconnected client ends with (nobody receives it).
pub(crate) fn gone_error() -> PyException {
    PyException::builtin(
        "ConnectionResetError",
        "the client disconnected while waiting",
    )
}

/// Python truthiness for a `blocking`-style argument (objects count as true).
pub(crate) fn truthy(v: &Value) -> bool {
    match v.unanchored() {
        Value::None => false,
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        Value::Float(f) => *f != 0.0,
        Value::Str(s) => !s.as_bytes().is_empty(),
        Value::Bytes(b) => !b.is_empty(),
        Value::List(i) | Value::Tuple(i) | Value::Set(i) | Value::FrozenSet(i) => !i.is_empty(),
        Value::Dict(p) => !p.is_empty(),
        _ => true,
    }
}

/// A number of seconds as `f64`, or the `TypeError` CPython raises for anything else.
pub(crate) fn seconds_arg(v: &Value) -> Result<f64, PyException> {
    match v.unanchored() {
        Value::Float(f) => Ok(*f),
        other => as_int(other).map(|i| i as f64).ok_or_else(|| {
            PyException::type_error(&format!(
                "'{}' object cannot be interpreted as an integer or float",
                other.type_name()
            ))
        }),
    }
}

/// A deadline `secs` from now (a huge or infinite timeout is no deadline).
pub(crate) fn deadline_after(secs: f64) -> Option<Instant> {
    let secs = if secs.is_nan() { 0.0 } else { secs.max(0.0) };
    Duration::try_from_secs_f64(secs)
        .ok()
        .and_then(|d| Instant::now().checked_add(d))
}

/// A `timeout=None`-style argument of `Event.wait`, `Condition.wait`, `Barrier.wait`,
/// `Semaphore.acquire`: `None` waits forever, a negative number does not wait.
pub(crate) fn optional_deadline(v: Option<&Value>) -> Result<Option<Instant>, PyException> {
    match v.map(Value::unanchored) {
        None | Some(Value::None) => Ok(None),
        Some(t) => Ok(Some(
            deadline_after(seconds_arg(t)?).unwrap_or_else(far_future),
        )),
    }
}

/// A deadline that never comes in practice (for timeouts too large for `Instant`).
pub(crate) fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}
