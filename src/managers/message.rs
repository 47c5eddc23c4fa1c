//! The two message shapes of the manager protocol, with no I/O: [`Request`] and [`Reply`].

use std::time::Duration;

use super::{as_items, as_pairs, as_str, dict, s, tuple, ManagerError, PyException, Result, Token};
use crate::{Connection, Value};

/// A request: `(ident, methodname, args, kwds)`.
///
/// Control requests (`dispatch(conn, None, 'create', ...)` in CPython) have no ident;
/// method calls on a shared object (`BaseProxy._callmethod`) carry the object's id.
#[derive(Clone, Debug)]
pub struct Request {
    /// The object id, or `None` for a control request.
    pub ident: Option<String>,
    /// The method (or control function) name.
    pub method: String,
    /// Positional arguments (sent as a tuple).
    pub args: Vec<Value>,
    /// Keyword arguments (sent as a dict), in order.
    pub kwargs: Vec<(Value, Value)>,
}

impl Request {
    /// A control request `(None, method, args, {})`.
    pub fn control(method: &str, args: Vec<Value>) -> Request {
        Request {
            ident: None,
            method: method.to_string(),
            args,
            kwargs: Vec::new(),
        }
    }

    /// A method call `(ident, method, args, kwargs)`.
    pub fn call(
        ident: &str,
        method: &str,
        args: Vec<Value>,
        kwargs: Vec<(Value, Value)>,
    ) -> Request {
        Request {
            ident: Some(ident.to_string()),
            method: method.to_string(),
            args,
            kwargs,
        }
    }

    /// The value to send: the 4-tuple CPython's `dispatch` / `_callmethod` send.
    pub fn to_value(&self) -> Value {
        tuple(vec![
            match &self.ident {
                Some(id) => s(id),
                None => Value::None,
            },
            s(&self.method),
            tuple(self.args.clone()),
            dict(self.kwargs.clone()),
        ])
    }

    /// Reads a received request. The ident may be `None` or a `str`; args a tuple (or a
    /// list); kwds a dict. Anything else is a [`ManagerError::Protocol`].
    pub fn from_value(value: &Value) -> Result<Request> {
        let bad = |why: &str| ManagerError::Protocol(format!("bad request: {why}"));
        let [ident, method, args, kwargs] = as_items(value)
            .filter(|_| matches!(value.unanchored(), Value::Tuple(_)))
            .ok_or_else(|| bad("not a tuple"))?
        else {
            return Err(bad("not a 4-tuple (ident, methodname, args, kwds)"));
        };
        let ident = match ident.unanchored() {
            Value::None => None,
            other => {
                Some(super::token::ident_text(other).ok_or_else(|| bad("ident is not a str"))?)
            }
        };
        let method = as_str(method)
            .ok_or_else(|| bad("methodname is not a str"))?
            .to_string();
        let args = as_items(args)
            .ok_or_else(|| bad("args is not a tuple"))?
            .to_vec();
        let kwargs = match kwargs.unanchored() {
            Value::None => Vec::new(),
            other => as_pairs(other)
                .ok_or_else(|| bad("kwds is not a dict"))?
                .to_vec(),
        };
        Ok(Request {
            ident,
            method,
            args,
            kwargs,
        })
    }
}

/// A reply: `(kind, result)`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Reply {
    /// `('#RETURN', value)`: the result.
    Return(Value),
    /// `('#PROXY', (exposed, token))`: the method's result stays on the server as a new
    /// shared object, and the caller holds one reference to it.
    Proxy {
        /// Methods the new object exposes.
        exposed: Vec<String>,
        /// Names the new object.
        token: Token,
    },
    /// `('#ERROR', exception)`: the method raised this exception object.
    Error(PyException),
    /// `('#TRACEBACK', text)`: the server failed outside the method.
    Traceback(String),
    /// `('#UNSERIALIZABLE', text)`: the result could not be pickled.
    Unserializable(String),
}

impl Reply {
    /// The value to send.
    pub fn to_value(&self) -> Value {
        let (kind, result) = match self {
            Reply::Return(v) => ("#RETURN", v.clone()),
            Reply::Proxy { exposed, token } => (
                "#PROXY",
                tuple(vec![
                    tuple(exposed.iter().map(|m| s(m)).collect()),
                    token.to_value(),
                ]),
            ),
            Reply::Error(e) => ("#ERROR", e.value().clone()),
            Reply::Traceback(text) => ("#TRACEBACK", s(text)),
            Reply::Unserializable(text) => ("#UNSERIALIZABLE", s(text)),
        };
        tuple(vec![s(kind), result])
    }

    /// Reads a received reply. As in CPython's `convert_to_error`, a `'#TRACEBACK'` or
    /// `'#UNSERIALIZABLE'` whose result is not a `str`, and an unknown kind, are errors.
    pub fn from_value(value: Value) -> Result<Reply> {
        let bad = |why: String| ManagerError::Protocol(format!("bad reply: {why}"));
        let items = match value.unanchored() {
            Value::Tuple(items) | Value::List(items) if items.len() == 2 => items.clone(),
            _ => return Err(bad("not a (kind, result) pair".into())),
        };
        let kind = as_str(&items[0]).ok_or_else(|| bad("kind is not a str".into()))?;
        let result = &items[1];
        let text = |kind: &str| -> Result<String> {
            match result.unanchored() {
                Value::Str(t) => Ok(t.to_string_lossy()),
                other => Err(bad(format!(
                    "{kind} result is a {}, not str",
                    other.type_name()
                ))),
            }
        };
        match kind {
            "#RETURN" => Ok(Reply::Return(result.clone())),
            "#ERROR" => Ok(Reply::Error(PyException::from_value(result.clone()))),
            "#TRACEBACK" => Ok(Reply::Traceback(text(kind)?)),
            "#UNSERIALIZABLE" => Ok(Reply::Unserializable(text(kind)?)),
            "#PROXY" => match as_items(result) {
                Some([exposed, token]) => Ok(Reply::Proxy {
                    exposed: method_names(exposed)
                        .ok_or_else(|| bad("#PROXY exposed is not a tuple of str".into()))?,
                    token: Token::from_value(token)?,
                }),
                _ => Err(bad("#PROXY result is not (exposed, token)".into())),
            },
            other => Err(bad(format!("unrecognized message type {other:?}"))),
        }
    }

    /// The returned value, or the reply as an error. A `'#PROXY'` reply is an error here
    /// ([`ManagerError::Protocol`]); callers that accept proxies match on [`Reply`].
    pub fn into_result(self) -> Result<Value> {
        match self {
            Reply::Return(v) => Ok(v),
            Reply::Proxy { token, .. } => Err(ManagerError::Protocol(format!(
                "unexpected #PROXY reply (typeid {:?}) to a control request",
                token.typeid
            ))),
            Reply::Error(e) => Err(ManagerError::Raised(e)),
            Reply::Traceback(t) => Err(ManagerError::Traceback(t)),
            Reply::Unserializable(t) => Err(ManagerError::Unserializable(t)),
        }
    }
}

/// A tuple or list of method names.
pub(crate) fn method_names(v: &Value) -> Option<Vec<String>> {
    as_items(v)?
        .iter()
        .map(|m| as_str(m).map(str::to_string))
        .collect()
}

/// Waits until a reply is readable on `conn`, or fails with [`ManagerError::Timeout`]
/// (the caller then drops the connection).
pub(crate) fn wait_for_reply(conn: &mut Connection, timeout: Option<Duration>) -> Result<()> {
    match timeout {
        Some(t) if !conn.poll(Some(t))? => Err(ManagerError::Timeout(t)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Address;

    #[test]
    fn control_request_is_none_name_tuple_dict() {
        let v = Request::control("incref", vec![s("7f")]).to_value();
        let items = as_items(&v).unwrap();
        assert_eq!(items.len(), 4);
        assert!(matches!(items[0], Value::None));
        assert_eq!(as_str(&items[1]), Some("incref"));
        assert!(matches!(&items[2], Value::Tuple(t) if t.len() == 1));
        assert!(matches!(&items[3], Value::Dict(d) if d.is_empty()));
        let back = Request::from_value(&v).unwrap();
        assert_eq!(back.ident, None);
        assert_eq!(back.method, "incref");
    }

    #[test]
    fn call_request_round_trips() {
        let r = Request::call("ab", "get", vec![], vec![(s("timeout"), Value::Float(0.5))]);
        let back = Request::from_value(&r.to_value()).unwrap();
        assert_eq!(back.ident.as_deref(), Some("ab"));
        assert_eq!(back.method, "get");
        assert_eq!(back.kwargs.len(), 1);
    }

    #[test]
    fn malformed_requests_are_errors() {
        for v in [
            Value::None,
            tuple(vec![Value::None, s("x"), tuple(vec![])]),
            tuple(vec![
                Value::None,
                Value::Int(1),
                tuple(vec![]),
                dict(vec![]),
            ]),
            tuple(vec![Value::None, s("x"), Value::Int(1), dict(vec![])]),
            tuple(vec![Value::Float(1.0), s("x"), tuple(vec![]), dict(vec![])]),
        ] {
            assert!(Request::from_value(&v).is_err());
        }
    }

    #[test]
    fn replies_round_trip() {
        let addr = Address::Inet {
            host: "h".into(),
            port: 1,
        };
        let replies = [
            Reply::Return(Value::Int(5)),
            Reply::Proxy {
                exposed: vec!["increment".into()],
                token: Token::new("C", &addr, "ff"),
            },
            Reply::Error(PyException::value_error("boom")),
            Reply::Traceback("Traceback...".into()),
            Reply::Unserializable("nope".into()),
        ];
        for r in replies {
            let back = Reply::from_value(r.to_value()).unwrap();
            assert_eq!(
                std::mem::discriminant(&back),
                std::mem::discriminant(&r),
                "{r:?}"
            );
        }
    }

    #[test]
    fn bad_replies_are_protocol_errors() {
        for v in [
            Value::None,
            tuple(vec![s("#RETURN")]),
            tuple(vec![s("#WHAT"), Value::None]),
            tuple(vec![s("#TRACEBACK"), Value::Int(1)]),
            tuple(vec![s("#PROXY"), Value::None]),
        ] {
            assert!(matches!(
                Reply::from_value(v),
                Err(ManagerError::Protocol(_))
            ));
        }
    }

    #[test]
    fn into_result_maps_kinds_to_errors() {
        assert!(matches!(
            Reply::Error(PyException::queue_empty()).into_result(),
            Err(ManagerError::Raised(e)) if e.is_queue_empty()
        ));
        assert!(matches!(
            Reply::Traceback("t".into()).into_result(),
            Err(ManagerError::Traceback(_))
        ));
    }
}
