//! `SyncManager.Namespace`: an object whose attributes clients get, set and delete.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::server::Args;
use super::{as_str, dict, s, ManagedObject, Outcome, PyException};
use crate::value::{Construct, Object};
use crate::Value;

/// A `multiprocessing.managers.Namespace` served by a Rust manager: `NamespaceProxy`
/// calls `__getattribute__`, `__setattr__` and `__delattr__` with attribute names;
/// `_getvalue()` gives a `Namespace` object with the same attributes, `str(proxy)`
/// CPython's `Namespace(a=1, b=2)`.
#[derive(Debug, Default)]
pub struct SharedNamespace {
    attributes: Mutex<Vec<(String, Value)>>,
}

fn name_arg(v: Option<Value>) -> Result<String, PyException> {
    let v = v.unwrap_or(Value::None);
    as_str(&v).map(str::to_string).ok_or_else(|| {
        PyException::type_error(&format!(
            "attribute name must be string, not '{}'",
            v.type_name()
        ))
    })
}

fn no_attribute(name: &str) -> PyException {
    PyException::attribute_error(&format!("'Namespace' object has no attribute '{name}'"))
}

impl SharedNamespace {
    /// A namespace with `attributes` (`Namespace(**kwds)`).
    pub fn new(attributes: Vec<(String, Value)>) -> Arc<SharedNamespace> {
        let ns = SharedNamespace::default();
        for (k, v) in attributes {
            ns.set(&k, v);
        }
        Arc::new(ns)
    }

    fn attributes(&self) -> MutexGuard<'_, Vec<(String, Value)>> {
        self.attributes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The attribute `name`.
    pub fn get(&self, name: &str) -> Option<Value> {
        self.attributes()
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    /// Sets the attribute `name`.
    pub fn set(&self, name: &str, value: Value) {
        let mut attrs = self.attributes();
        match attrs.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value,
            None => attrs.push((name.to_string(), value)),
        }
    }

    /// Deletes the attribute `name`; `false` when there was none.
    pub fn remove(&self, name: &str) -> bool {
        let mut attrs = self.attributes();
        let before = attrs.len();
        attrs.retain(|(k, _)| k != name);
        attrs.len() != before
    }
}

impl ManagedObject for SharedNamespace {
    fn exposed(&self) -> Vec<String> {
        ["__delattr__", "__getattribute__", "__setattr__"]
            .map(String::from)
            .to_vec()
    }

    fn call(&self, method: &str, args: Args<'_>) -> Result<Outcome, PyException> {
        match method {
            "__getattribute__" => {
                let [name] = args.bind(["name"], 1)?;
                let name = name_arg(name)?;
                match self.get(&name) {
                    Some(v) => Ok(Outcome::Return(v)),
                    None => Err(no_attribute(&name)),
                }
            }
            "__setattr__" => {
                let [name, value] = args.bind(["name", "value"], 2)?;
                self.set(&name_arg(name)?, value.unwrap_or(Value::None));
                Ok(Outcome::Return(Value::None))
            }
            "__delattr__" => {
                let [name] = args.bind(["name"], 1)?;
                let name = name_arg(name)?;
                if self.remove(&name) {
                    Ok(Outcome::Return(Value::None))
                } else {
                    Err(no_attribute(&name))
                }
            }
            other => Err(PyException::attribute_error(other)),
        }
    }

    /// A `multiprocessing.managers.Namespace` object, pickled as CPython pickles one
    /// (`copyreg.__newobj__` and the `__dict__` as state).
    fn get_value(&self) -> Result<Value, PyException> {
        let state = dict(
            self.attributes()
                .iter()
                .map(|(k, v)| (s(k), v.clone()))
                .collect(),
        );
        let mut object = Object::reduce(
            Value::global("multiprocessing.managers", "Namespace"),
            Vec::new(),
        );
        object.construct = Construct::NewObj;
        object.state = Some(state);
        Ok(Value::Object(Arc::new(object)))
    }

    /// `Namespace(a=1, b='x')`: public attributes, sorted as CPython sorts them.
    fn repr(&self) -> String {
        let mut parts: Vec<String> = self
            .attributes()
            .iter()
            .filter(|(k, _)| !k.starts_with('_'))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        parts.sort();
        format!("Namespace({})", parts.join(", "))
    }
}

/// The factory `Namespace(**kwds)`.
pub(crate) fn namespace_from_args(args: Args<'_>) -> Result<Arc<SharedNamespace>, PyException> {
    if !args.positional.is_empty() {
        return Err(PyException::type_error(&format!(
            "Namespace.__init__() takes 1 positional argument but {} were given",
            args.positional.len() + 1
        )));
    }
    let mut attributes = Vec::with_capacity(args.keywords.len());
    for (k, v) in args.keywords {
        attributes.push((name_arg(Some(k.clone()))?, v.clone()));
    }
    Ok(SharedNamespace::new(attributes))
}
