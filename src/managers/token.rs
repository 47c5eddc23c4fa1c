//! [`Token`] (`multiprocessing.managers.Token`), [`ProxyRef`] (a pickled proxy) and the
//! conversion between [`Address`] and the Python address a token carries.

use std::path::PathBuf;
use std::sync::Arc;

use super::{as_items, as_pairs, as_str, dict, is_global, s, tuple, ManagerError, Result};
use crate::value::{Construct, Global, Object, PyStr};
use crate::{Address, Value};

const MODULE: &str = "multiprocessing.managers";

/// Names one shared object on one manager: `Token(typeid, address, id)`.
///
/// CPython pickles it as `copyreg.__newobj__(Token)` plus the state tuple
/// `(typeid, address, id)`; [`Token::to_value`] builds exactly that and
/// [`Token::from_value`] reads it back.
#[derive(Clone, Debug)]
pub struct Token {
    /// The typeid the object was registered or returned under, e.g. `"Queue"`.
    pub typeid: String,
    /// The manager's address as Python holds it: `('host', port)`, a path `str`, or an
    /// abstract name (see [`address_to_value`]).
    pub address: Value,
    /// The server's identifier of the object (`'%x' % id(obj)` in CPython).
    pub id: String,
}

impl Token {
    /// A token for `id` of `typeid` at `address`.
    pub fn new(typeid: &str, address: &Address, id: &str) -> Token {
        Token {
            typeid: typeid.to_string(),
            address: address_to_value(address),
            id: id.to_string(),
        }
    }

    /// The pickled form: a NEWOBJ of `multiprocessing.managers.Token` with a BUILD state.
    pub fn to_value(&self) -> Value {
        Value::Object(Arc::new(Object {
            construct: Construct::NewObj,
            callable: Value::Global(Arc::new(Global::new(MODULE, "Token"))),
            args: Vec::new(),
            kwargs: None,
            state: Some(tuple(vec![
                s(&self.typeid),
                self.address.clone(),
                s(&self.id),
            ])),
            list_items: Vec::new(),
            dict_items: Vec::new(),
        }))
    }

    /// Reads a pickled `Token` (any construction whose class is named `Token` and whose
    /// state is `(typeid, address, id)`).
    pub fn from_value(value: &Value) -> Result<Token> {
        let bad = |why: &str| ManagerError::Protocol(format!("not a Token: {why}"));
        let obj = match value.unanchored() {
            Value::Object(o) => o,
            _ => return Err(bad("not an object")),
        };
        match obj.callable.unanchored() {
            Value::Global(g) if g.name == "Token" => {}
            _ => return Err(bad("class is not Token")),
        }
        let state = obj
            .state
            .as_ref()
            .and_then(as_items)
            .or_else(|| Some(obj.args.as_slice()).filter(|a| a.len() == 3))
            .ok_or_else(|| bad("no (typeid, address, id) state"))?;
        match state {
            [typeid, address, id] => Ok(Token {
                typeid: as_str(typeid)
                    .ok_or_else(|| bad("typeid is not a str"))?
                    .to_string(),
                address: address.clone(),
                id: ident_text(id).ok_or_else(|| bad("id is not a str"))?,
            }),
            _ => Err(bad("state is not a 3-tuple")),
        }
    }
}

/// An object id as text: CPython sends `str`; an `int` is accepted too.
pub(crate) fn ident_text(v: &Value) -> Option<String> {
    match v.unanchored() {
        Value::Str(t) => t.as_str().map(str::to_string),
        Value::Int(i) => Some(format!("{i:x}")),
        _ => None,
    }
}

/// The Python form of an address, as a token carries it: `('host', port)` for TCP, the
/// path as a `str` for a filesystem socket, `'\0name'` for an abstract socket (`bytes`
/// when the name is not UTF-8).
pub fn address_to_value(address: &Address) -> Value {
    match address {
        Address::Inet { host, port } => tuple(vec![s(host), Value::Int(i64::from(*port))]),
        Address::Unix(path) => s(&path.to_string_lossy()),
        Address::Pipe(name) => s(name),
        Address::Abstract(name) => {
            let mut raw = vec![0u8];
            raw.extend_from_slice(name);
            match std::str::from_utf8(&raw) {
                Ok(text) => s(text),
                Err(_) => Value::Bytes(Arc::from(raw.as_slice())),
            }
        }
    }
}

/// Reads a Python address (the inverse of [`address_to_value`]); `None` when `value` is
/// not one.
pub fn address_from_value(value: &Value) -> Option<Address> {
    match value.unanchored() {
        Value::Tuple(_) | Value::List(_) => {
            let items = as_items(value)?;
            let host = as_str(items.first()?)?;
            let port = match items.get(1)?.unanchored() {
                Value::Int(p) => u16::try_from(*p).ok()?,
                _ => return None,
            };
            Some(Address::Inet {
                host: host.to_string(),
                port,
            })
        }
        Value::Str(text) => {
            let bytes = text.as_bytes();
            match bytes.split_first() {
                Some((0, name)) => Some(Address::Abstract(name.to_vec())),
                // CPython's address_type: a str starting with two backslashes is AF_PIPE.
                Some(_) if bytes.starts_with(br"\\") => Some(Address::Pipe(text.to_string_lossy())),
                Some(_) => Some(Address::Unix(PathBuf::from(text.to_string_lossy()))),
                None => None,
            }
        }
        Value::Bytes(raw) => match raw.split_first() {
            Some((0, name)) => Some(Address::Abstract(name.to_vec())),
            Some(_) => Some(Address::Unix(PathBuf::from(
                String::from_utf8_lossy(raw).into_owned(),
            ))),
            None => None,
        },
        _ => None,
    }
}

/// A proxy as CPython pickles it (`BaseProxy.__reduce__`):
/// `RebuildProxy(proxytype, token, serializer, kwds)`, e.g. a proxy inside a list returned
/// by a method, or one a Rust client passes to a Python method.
#[derive(Clone, Debug)]
pub struct ProxyRef {
    /// The proxy class or function: `multiprocessing.managers.AutoProxy` for auto proxies,
    /// otherwise the proxy class (e.g. `multiprocessing.managers.DictProxy`).
    pub proxy_type: Global,
    /// The shared object.
    pub token: Token,
    /// The serializer name, `"pickle"`.
    pub serializer: String,
    /// The exposed methods (`kwds['exposed']`, present for auto proxies).
    pub exposed: Option<Vec<String>>,
    /// `kwds.get('incref', True)`: whether the receiver takes a new reference.
    pub incref: bool,
}

impl ProxyRef {
    /// An auto proxy for `token` exposing `exposed`.
    pub fn auto(token: Token, exposed: &[String]) -> ProxyRef {
        ProxyRef {
            proxy_type: Global::new(MODULE, "AutoProxy"),
            token,
            serializer: "pickle".to_string(),
            exposed: Some(exposed.to_vec()),
            incref: true,
        }
    }

    /// Reads a pickled proxy; `None` when `value` is not a `RebuildProxy(...)` call.
    pub fn from_value(value: &Value) -> Option<ProxyRef> {
        let obj = match value.unanchored() {
            Value::Object(o) if is_global(&o.callable, MODULE, "RebuildProxy") => o,
            _ => return None,
        };
        let [func, token, serializer, kwds] = obj.args.as_slice() else {
            return None;
        };
        let proxy_type = match func.unanchored() {
            Value::Global(g) => (**g).clone(),
            _ => return None,
        };
        let token = Token::from_value(token).ok()?;
        let serializer = as_str(serializer)?.to_string();
        let mut exposed = None;
        let mut incref = true;
        for (k, v) in as_pairs(kwds).unwrap_or(&[]) {
            match as_str(k) {
                Some("exposed") => {
                    exposed = Some(
                        as_items(v)?
                            .iter()
                            .map(|m| as_str(m).map(str::to_string))
                            .collect::<Option<Vec<_>>>()?,
                    )
                }
                Some("incref") => incref = !matches!(v.unanchored(), Value::Bool(false)),
                _ => {}
            }
        }
        Some(ProxyRef {
            proxy_type,
            token,
            serializer,
            exposed,
            incref,
        })
    }

    /// The pickled form `RebuildProxy(proxytype, token, serializer, kwds)`.
    pub fn to_value(&self) -> Value {
        let mut kwds = Vec::new();
        if let Some(exposed) = &self.exposed {
            kwds.push((s("exposed"), tuple(exposed.iter().map(|m| s(m)).collect())));
        }
        if !self.incref {
            kwds.push((s("incref"), Value::Bool(false)));
        }
        let callable = Value::Global(Arc::new(Global::new(MODULE, "RebuildProxy")));
        Value::Object(Arc::new(Object::reduce(
            callable,
            vec![
                Value::Global(Arc::new(self.proxy_type.clone())),
                self.token.to_value(),
                Value::Str(PyStr::from(self.serializer.as_str())),
                dict(kwds),
            ],
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trips_through_its_pickled_form() {
        let addr = Address::Inet {
            host: "127.0.0.1".into(),
            port: 5000,
        };
        let t = Token::new("Queue", &addr, "7f00aa");
        let v = t.to_value();
        let Value::Object(o) = &v else {
            panic!("not an object")
        };
        assert_eq!(o.construct, Construct::NewObj);
        assert!(is_global(&o.callable, MODULE, "Token"));
        assert!(o.args.is_empty());
        let back = Token::from_value(&v).unwrap();
        assert_eq!(back.typeid, "Queue");
        assert_eq!(back.id, "7f00aa");
        assert_eq!(address_from_value(&back.address), Some(addr));
    }

    #[test]
    fn addresses_map_to_python_forms() {
        let unix = Address::Unix(PathBuf::from("/tmp/x.sock"));
        assert_eq!(as_str(&address_to_value(&unix)), Some("/tmp/x.sock"));
        assert_eq!(address_from_value(&address_to_value(&unix)), Some(unix));
        let pipe = Address::Pipe(r"\\.\pipe\m".into());
        assert_eq!(as_str(&address_to_value(&pipe)), Some(r"\\.\pipe\m"));
        assert_eq!(address_from_value(&address_to_value(&pipe)), Some(pipe));
        let abs = Address::Abstract(b"name".to_vec());
        assert_eq!(as_str(&address_to_value(&abs)), Some("\0name"));
        assert_eq!(address_from_value(&address_to_value(&abs)), Some(abs));
        assert_eq!(address_from_value(&Value::Int(3)), None);
    }

    #[test]
    fn proxy_refs_round_trip() {
        let addr = Address::Abstract(b"m".to_vec());
        let r = ProxyRef::auto(Token::new("dict", &addr, "ab"), &["get".to_string()]);
        let back = ProxyRef::from_value(&r.to_value()).unwrap();
        assert_eq!(back.proxy_type, Global::new(MODULE, "AutoProxy"));
        assert_eq!(back.token.id, "ab");
        assert_eq!(back.exposed, Some(vec!["get".to_string()]));
        assert!(back.incref);
        assert!(ProxyRef::from_value(&Value::None).is_none());
    }

    #[test]
    fn malformed_tokens_are_errors_not_panics() {
        assert!(Token::from_value(&Value::None).is_err());
        let o = Object::reduce(
            Value::Global(Arc::new(Global::new(MODULE, "Token"))),
            vec![],
        );
        assert!(Token::from_value(&Value::Object(Arc::new(o))).is_err());
    }
}
