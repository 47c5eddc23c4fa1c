//! [`PyException`]: a Python exception object as a `'#ERROR'` reply carries it.

use std::fmt;
use std::sync::Arc;

use super::{as_items, as_str, brief, global_of, s};
use crate::value::{Global, Object};
use crate::Value;

/// A Python exception as it travels in a pickle: `builtins.ValueError('boom', 7)` is a
/// REDUCE object whose callable is the global `builtins.ValueError` and whose arguments
/// are `('boom', 7)` (what `BaseException.__reduce__` gives).
///
/// A CPython client re-raises exactly this object, so a [`super::ManagedObject`] that
/// returns `Err(PyException::value_error("bad"))` makes the Python caller see
/// `ValueError('bad')`. Exceptions from classes the peer cannot import fail there when
/// unpickled; stick to builtins and importable classes.
#[derive(Clone, Debug)]
pub struct PyException {
    value: Value,
}

impl PyException {
    /// `module.name(*args)`, e.g. `PyException::new("builtins", "KeyError", vec![key])`.
    pub fn new(module: &str, name: &str, args: Vec<Value>) -> PyException {
        let callable = Value::Global(Arc::new(Global::new(module, name)));
        PyException {
            value: Value::Object(Arc::new(Object::reduce(callable, args))),
        }
    }

    /// A `builtins.<name>(message)` exception.
    pub fn builtin(name: &str, message: &str) -> PyException {
        PyException::new("builtins", name, vec![s(message)])
    }

    /// `ValueError(message)`.
    pub fn value_error(message: &str) -> PyException {
        PyException::builtin("ValueError", message)
    }

    /// `TypeError(message)`.
    pub fn type_error(message: &str) -> PyException {
        PyException::builtin("TypeError", message)
    }

    /// `KeyError(key)`.
    pub fn key_error(key: Value) -> PyException {
        PyException::new("builtins", "KeyError", vec![key])
    }

    /// `IndexError(message)`.
    pub fn index_error(message: &str) -> PyException {
        PyException::builtin("IndexError", message)
    }

    /// `AttributeError(message)`.
    pub fn attribute_error(message: &str) -> PyException {
        PyException::builtin("AttributeError", message)
    }

    /// `RuntimeError(message)`.
    pub fn runtime_error(message: &str) -> PyException {
        PyException::builtin("RuntimeError", message)
    }

    /// `queue.Empty()`, as CPython pickles it (`_queue.Empty`, the C class).
    pub fn queue_empty() -> PyException {
        PyException::new("_queue", "Empty", Vec::new())
    }

    /// `queue.Full()`.
    pub fn queue_full() -> PyException {
        PyException::new("queue", "Full", Vec::new())
    }

    /// Wraps any value received as the result of an `'#ERROR'` reply. CPython raises
    /// whatever it is (normally an exception object).
    pub fn from_value(value: Value) -> PyException {
        PyException { value }
    }

    /// The exception as a [`Value`] (what goes into an `'#ERROR'` reply).
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// Consumes `self`, returning the [`Value`].
    pub fn into_value(self) -> Value {
        self.value
    }

    /// The class as `(module, qualified name)`, e.g. `("builtins", "ValueError")`, when
    /// the value is a reduced object of a global class.
    pub fn class(&self) -> Option<(String, String)> {
        let g = match self.value.unanchored() {
            Value::Object(o) => global_of(&o.callable)?,
            _ => return None,
        };
        Some((g.module.to_string_lossy(), g.name.to_string_lossy()))
    }

    /// The class name alone, e.g. `"ValueError"` (`"Empty"` for `queue.Empty`).
    pub fn name(&self) -> Option<String> {
        self.class().map(|(_, name)| name)
    }

    /// Whether the class is `module.name`.
    pub fn is(&self, module: &str, name: &str) -> bool {
        matches!(self.class(), Some((m, n)) if m == module && n == name)
    }

    /// Whether this is `queue.Empty` (raised by a timed-out or non-blocking `get`).
    pub fn is_queue_empty(&self) -> bool {
        self.is("_queue", "Empty") || self.is("queue", "Empty")
    }

    /// Whether this is `queue.Full`.
    pub fn is_queue_full(&self) -> bool {
        self.is("queue", "Full")
    }

    /// The exception's `args`.
    pub fn args(&self) -> &[Value] {
        match self.value.unanchored() {
            Value::Object(o) => {
                if o.args.is_empty() {
                    // Some exceptions pickle their args in the state instead.
                    if let Some(state) = &o.state {
                        if let Some(items) = as_items(state) {
                            return items;
                        }
                    }
                }
                &o.args
            }
            _ => &[],
        }
    }

    /// `str(exc)` as CPython prints it for the common cases: the single string argument,
    /// or a short rendering of the arguments.
    pub fn message(&self) -> String {
        let args = self.args();
        match args {
            [] => String::new(),
            [one] => match as_str(one) {
                Some(text) => text.to_string(),
                None => brief(one),
            },
            many => brief(&Value::tuple(many.to_vec())),
        }
    }
}

impl fmt::Display for PyException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => {
                let message = self.message();
                if message.is_empty() {
                    write!(f, "{name}")
                } else {
                    write!(f, "{name}: {message}")
                }
            }
            None => write!(f, "{}", brief(&self.value)),
        }
    }
}

impl std::error::Error for PyException {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_error_is_a_reduce_of_the_builtin_class() {
        let e = PyException::new("builtins", "ValueError", vec![s("boom"), Value::Int(7)]);
        assert_eq!(
            e.class(),
            Some(("builtins".to_string(), "ValueError".to_string()))
        );
        assert_eq!(e.args().len(), 2);
        assert_eq!(e.to_string(), "ValueError: ('boom', 7)");
        assert_eq!(
            PyException::value_error("bad").to_string(),
            "ValueError: bad"
        );
    }

    #[test]
    fn queue_exceptions_are_recognised() {
        assert!(PyException::queue_empty().is_queue_empty());
        assert!(PyException::queue_full().is_queue_full());
        assert_eq!(PyException::queue_empty().to_string(), "Empty");
    }
}
