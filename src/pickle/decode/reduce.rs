//! The one recogniser of what decoders turn into native values rather than objects: the
//! well-known reduce patterns (`set(list)`, `bytes()`, `_codecs.encode(str, 'latin1')`,
//! ...), how globals are named (`GLOBAL`, `STACK_GLOBAL`, Python 2 names mapped as
//! `fix_imports` does) and the object any other call builds.
//!
//! The graph decoder and the fast path both use it. They hold containers differently (arena
//! nodes, `Arc`s), so [`recognise`] only says which pattern a call is, with the parts that
//! still need a look at a container ([`Pattern::Set`]'s list, [`Pattern::NewObjEx`]'s
//! tuple and dict): each decoder checks those its own way and charges its own limits.

use std::sync::Arc;

use super::{compat, NODE_COST};
use crate::value::{Construct, Global, GlobalForm, Object, PyStr, Value};

/// A reduce call (`callable(*args)`) that becomes a native value.
pub(super) enum Pattern<'v> {
    /// `set()` / `frozenset()` (`items` is `None`), or `set(items)` / `frozenset(items)`:
    /// a native set when `items` is a list, an ordinary object otherwise.
    Set {
        frozen: bool,
        items: Option<&'v Value>,
    },
    /// `copyreg.__newobj_ex__(cls, args, kwargs)` (what protocols 2-3 write for
    /// NEWOBJ_EX): the NEWOBJ_EX object when `args` is a tuple and `kwargs` a dict.
    NewObjEx {
        cls: &'v Value,
        args: &'v Value,
        kwargs: &'v Value,
    },
    /// A value that holds no container: `bytes` / `bytearray` made from bytes given or
    /// spelled as a latin-1 str, or `getattr(module.owner, 'attr')`.
    Native(Native<'v>),
}

/// A [`Pattern::Native`] value, not made yet.
pub(super) enum Native<'v> {
    /// `bytes(...)` or `bytearray(...)` (`bytearray` tells which) of these bytes.
    Buffer { bytearray: bool, from: Source<'v> },
    /// The global `module.owner.attr` (see [`getattr_global`]).
    Getattr {
        callable: &'v Value,
        args: &'v [Value],
        module: &'v str,
        owner: &'v str,
        attr: &'v str,
    },
}

/// Where the bytes of a [`Native::Buffer`] come from.
pub(super) enum Source<'v> {
    Empty,
    Bytes(&'v Arc<[u8]>),
    Latin1(Vec<u8>),
}

impl Native<'_> {
    /// The bytes to charge against `max_alloc` before [`Native::into_value`].
    pub(super) fn cost(&self) -> usize {
        match self {
            Native::Buffer {
                from: Source::Empty,
                ..
            } => 0,
            Native::Buffer {
                from: Source::Bytes(b),
                bytearray,
            } => {
                if *bytearray {
                    b.len()
                } else {
                    0
                }
            }
            Native::Buffer {
                from: Source::Latin1(b),
                ..
            } => b.len(),
            Native::Getattr { owner, attr, .. } => NODE_COST + owner.len() + attr.len(),
        }
    }

    /// The value, as a pickle of protocol `proto` names it.
    pub(super) fn into_value(self, proto: u8) -> Value {
        let (bytearray, from) = match self {
            Native::Buffer { bytearray, from } => (bytearray, from),
            Native::Getattr {
                callable,
                args,
                module,
                owner,
                attr,
            } => return getattr_global(proto, callable, args, module, owner, attr),
        };
        match (from, bytearray) {
            (Source::Empty, false) => Value::Bytes(Arc::from(&[][..])),
            (Source::Empty, true) => Value::ByteArray(Arc::new(Vec::new())),
            (Source::Bytes(b), false) => Value::Bytes(b.clone()),
            (Source::Bytes(b), true) => Value::ByteArray(Arc::new(b.to_vec())),
            (Source::Latin1(b), false) => Value::Bytes(Arc::from(b)),
            (Source::Latin1(b), true) => Value::ByteArray(Arc::new(b)),
        }
    }
}

/// Which well-known pattern `callable(*args)` is, if any.
pub(super) fn recognise<'v>(callable: &'v Value, args: &'v [Value]) -> Option<Pattern<'v>> {
    let Value::Global(g) = callable else {
        return None;
    };
    let (Some(module), Some(name)) = (g.module.as_str(), g.name.as_str()) else {
        return None;
    };
    let buffer = |from| {
        Some(Pattern::Native(Native::Buffer {
            bytearray: name == "bytearray",
            from,
        }))
    };
    match (module, name, args) {
        ("builtins", "set" | "frozenset", [] | [_]) => Some(Pattern::Set {
            frozen: name == "frozenset",
            items: args.first(),
        }),
        // `getattr(module.Outer, 'Inner')`: how a dotted qualified name is written below
        // protocol 4 (by CPython and our encoder), and how CPython writes a method of a
        // class at any protocol. The same global as protocol 4's STACK_GLOBAL `module`,
        // `Outer.Inner`.
        ("builtins", "getattr", [Value::Global(owner), Value::Str(attr)]) => {
            let (Some(module), Some(owner), Some(attr)) =
                (owner.module.as_str(), owner.name.as_str(), attr.as_str())
            else {
                return None;
            };
            Some(Pattern::Native(Native::Getattr {
                callable,
                args,
                module,
                owner,
                attr,
            }))
        }
        // What our encoder writes for NEWOBJ_EX in protocols 2-3 (CPython itself loads it
        // to the same object): back to the NEWOBJ_EX object it came from.
        ("copyreg", "__newobj_ex__", [cls, args, kwargs]) => {
            Some(Pattern::NewObjEx { cls, args, kwargs })
        }
        ("builtins", "bytes" | "bytearray", []) => buffer(Source::Empty),
        ("builtins", "bytes" | "bytearray", [Value::Bytes(b)]) => buffer(Source::Bytes(b)),
        ("_codecs", "encode", [Value::Str(s), Value::Str(enc)])
        | ("builtins", "bytearray" | "bytes", [Value::Str(s), Value::Str(enc)])
            if is_latin1_name(enc) =>
        {
            buffer(Source::Latin1(latin1(s)?))
        }
        _ => None,
    }
}

/// `getattr(module.owner, 'attr')` as the global `module.owner.attr`; at protocol 4+
/// (where the encoder would otherwise write `STACK_GLOBAL`) it remembers the call it was
/// read from, so that re-encoding writes the same bytes.
fn getattr_global(
    proto: u8,
    callable: &Value,
    args: &[Value],
    module: &str,
    owner: &str,
    attr: &str,
) -> Value {
    let mut g = Global::new(module, &format!("{owner}.{attr}"));
    // Only one level deep: an owner that is itself such a call is written the usual way
    // (so that no chain of them can make dropping a value recurse).
    let plain_owner = matches!(&args[0], Value::Global(o) if matches!(o.form, GlobalForm::Usual));
    if proto >= 4 && plain_owner {
        g.form = GlobalForm::Getattr(Arc::new([
            callable.clone(),
            args[0].clone(),
            args[1].clone(),
        ]));
    }
    Value::Global(Arc::new(g))
}

/// The global `module.name` as named by a pickle of protocol `proto` (Python 2 names below
/// protocol 3 mapped to Python 3 ones, as CPython's `fix_imports` does).
pub(super) fn global(proto: u8, module: &str, name: &str) -> Value {
    let (m, n) = if proto < 3 {
        compat::map(module, name)
    } else {
        (module, name)
    };
    Value::global(m, n)
}

/// The global `STACK_GLOBAL` makes of the strs `module` and `name`.
pub(super) fn stack_global(proto: u8, module: PyStr, name: PyStr) -> Value {
    match (module.as_str(), name.as_str()) {
        (Some(m), Some(n)) if proto < 3 => global(proto, m, n),
        // The strings themselves: a module name shared through the memo stays shared, so
        // re-encoding writes the same memo GETs.
        _ => Value::Global(Arc::new(Global {
            module,
            name,
            form: GlobalForm::Usual,
        })),
    }
}

/// The object a call builds (`construct` says which opcode), before any state or items.
pub(super) fn object(
    construct: Construct,
    callable: Value,
    args: Vec<Value>,
    kwargs: Option<Value>,
) -> Object {
    Object {
        construct,
        callable,
        args,
        kwargs,
        state: None,
        list_items: Vec::new(),
        dict_items: Vec::new(),
    }
}

fn is_latin1_name(enc: &PyStr) -> bool {
    matches!(
        enc.as_str(),
        Some("latin1" | "latin-1" | "latin_1" | "iso-8859-1" | "iso8859-1")
    )
}

/// The bytes of a str whose code points are all below 256.
fn latin1(s: &PyStr) -> Option<Vec<u8>> {
    if let Some(t) = s.as_str() {
        if t.is_ascii() {
            return Some(t.as_bytes().to_vec());
        }
    }
    s.code_points().map(|c| u8::try_from(c).ok()).collect()
}
