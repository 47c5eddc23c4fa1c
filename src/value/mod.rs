//! [`Value`]: everything a CPython peer can pickle, held without loss.
//!
//! The type is split by concern, as serde_json's `Value` is:
//! `mod.rs` (the enum and its constructors), `access.rs` (accessors such as `as_str`,
//! `get`), `items.rs` (container storage: [`Items`], [`Pairs`]), `pystr.rs` (Python
//! `str`, lone surrogates included), `display.rs` (Python's `repr`), `parse.rs` (Python
//! literals, as `ast.literal_eval` reads them), `from.rs` (conversions from Rust values),
//! `index.rs` (`value["key"]`, `value[0]`), `partial_eq.rs` (equality), `ser.rs` / `de.rs`
//! (serde).
//!
//! ## Sharing and identity
//! Containers sit behind [`Arc`], so cloning a `Value` is cheap and two places holding the
//! same allocation are *the same object*: the pickle encoder memoizes by allocation, so
//! `[x, x]` reaches Python as a list holding one object twice, exactly as it was decoded.
//! To change a shared container, use [`Arc::make_mut`] (copy-on-write).
//!
//! Container storage is [`Items`] / [`Pairs`] (they deref to `Vec`); their `Drop` is
//! iterative, so dropping a value nested a million levels deep is safe on any thread.
//!
//! ## Cost, and the read-only alternative
//! A `Value` is a tree the caller owns: every container is an allocation with an atomic
//! count (so values can cross threads and be changed copy-on-write), and every fresh
//! string is one too. Building and dropping ten thousand small dicts this way costs about
//! what CPython's whole `pickle.loads` does (BENCHMARKS.md has the profile). A message
//! that is only read needs none of that: [`crate::pickle::loads_view`] gives the same
//! accessors over one arena that borrows strings and bytes from the message, several
//! times faster than `loads` on such batches, identity and cycles included.
//!
//! ## Cycles
//! Python containers may contain themselves (`a = []; a.append(a)`). An `Arc` tree cannot,
//! so a container that is reached again while it is still being built is wrapped in
//! [`Value::Anchor`]`(id, container)` and each reference back to it is a
//! [`Value::Ref`]`(id)`. A `Ref` names the most recent `Anchor` with its id met *before* it
//! in depth-first order (list items in order, dict keys before values, an object's
//! callable, args, kwargs, list items, dict items, then state) — usually one enclosing it,
//! but also one written earlier outside it, as pickle's own memo allows; that is how
//! `c1 = [c2]; c2 = [c1]; [c1, c2]` keeps every identity. Accessors look through anchors;
//! the encoder turns each pair back into Python's identity. A `Ref` taken out of its
//! value on its own means nothing, and encoding it is an error.
//!
//! ## Effects: what the pickle did, not only what it built
//! A pickle can perform calls whose results it throws away and fill containers after
//! other objects received them; cloudpickle and dill rely on both to ship functions and
//! classes. Such steps are kept in [`Value::Effects`] (see [`Effects`] and [`Effect`]): the
//! value at that place, then the steps in the pickle's order — `state_setter(obj, state)`
//! calls, discarded calls (`POP`), items or state added through a memo `GET` or after the
//! state. The encoder writes them back in the same order, so a Rust hop does not change
//! what CPython loads. Plain data never carries effects; accessors, indexing and serde look
//! through them to the object as first built. In depth-first order (for `Ref`s) an
//! `Effects` is its target, then each step's values in order; an object's parts are its
//! callable, args, kwargs, list items, dict items, then its state.

use std::sync::Arc;

use num_bigint::BigInt;

mod access;
mod de;
mod dict_index;
mod display;
mod effects;
mod from;
mod index;
mod items;
mod parse;
mod partial_eq;
mod pystr;
mod ser;

pub use de::from_value;
pub(crate) use de::from_value_ref;
pub use effects::{Effect, Effects};
pub use from::ListItem;
pub use items::{Items, Pairs};
pub use parse::MAX_DEPTH as MAX_LITERAL_DEPTH;
pub use pystr::PyStr;
pub use ser::to_value;

/// A Python object as it travels in a pickle.
///
/// Equality follows Python where it matters for dict keys and tests (see `partial_eq.rs`):
/// `1 == 1.0 == True`, `nan != nan`, lists and tuples compare by items.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Value {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An `int` that fits in 64 bits.
    Int(i64),
    /// An `int` that does not fit in 64 bits (never used for values that fit).
    BigInt(Arc<BigInt>),
    /// A `float`.
    Float(f64),
    /// A `str` (may hold lone surrogates, see [`PyStr`]).
    Str(PyStr),
    /// `bytes`.
    Bytes(Arc<[u8]>),
    /// `bytearray`.
    ByteArray(Arc<Vec<u8>>),
    /// `list`.
    List(Arc<Items>),
    /// `tuple`.
    Tuple(Arc<Items>),
    /// `dict`, in insertion order. Lookups by key ([`Value::get`]) are O(1) on average,
    /// with Python's `==` (`1`, `1.0` and `True` are one key).
    Dict(Arc<Pairs>),
    /// `set`, in the order the pickle gave.
    Set(Arc<Items>),
    /// `frozenset`, in the order the pickle gave.
    FrozenSet(Arc<Items>),
    /// A module-level name: a class or function such as `builtins.float` or `builtins.sum`
    /// (GLOBAL / STACK_GLOBAL).
    Global(Arc<Global>),
    /// Any other object, as the pickle builds it (REDUCE, NEWOBJ, NEWOBJ_EX, BUILD, INST, OBJ).
    Object(Arc<Object>),
    /// A container that contains itself; inner references to it are `Ref(id)`.
    Anchor(u32, Box<Value>),
    /// A reference to the [`Value::Anchor`] with the same id met earlier in depth-first
    /// order (see the module documentation).
    Ref(u32),
    /// A value followed by what the pickle did right after writing it: calls whose
    /// result was discarded, `state_setter` calls, items added later (see [`Effects`]).
    Effects(Arc<Effects>),
}

/// A module-level name, as `GLOBAL` / `STACK_GLOBAL` carry it.
///
/// Equality and hashing compare `module` and `name` only.
#[derive(Clone, Debug)]
pub struct Global {
    /// The module, e.g. `"builtins"`, `"datetime"`, `"__main__"`.
    pub module: PyStr,
    /// The qualified name inside the module, e.g. `"float"`, `"Outer.Inner"`.
    pub name: PyStr,
    /// How the pickle wrote it, where protocol 4+ has a choice; the encoder writes it the
    /// same way at protocols 4 and 5 ([`GlobalForm::Usual`] for everything built in Rust).
    pub form: GlobalForm,
}

/// How a [`Global`] was written in a protocol 4+ pickle, when not with `STACK_GLOBAL`.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum GlobalForm {
    /// `STACK_GLOBAL` at protocol 4+ (`GLOBAL` below).
    #[default]
    Usual,
    /// The text `GLOBAL` opcode (dill names modules this way).
    Text,
    /// `getattr(owner, attr)`, how CPython writes a method of a class (`str.index`); the
    /// three values are `builtins.getattr`, the owner and the attribute name as the
    /// pickle held them (so that shared strings stay shared).
    Getattr(Arc<[Value; 3]>),
}

impl PartialEq for Global {
    fn eq(&self, other: &Global) -> bool {
        self.module == other.module && self.name == other.name
    }
}
impl Eq for Global {}
impl std::hash::Hash for Global {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.module.hash(state);
        self.name.hash(state);
    }
}

/// How an [`Object`] was constructed in the pickle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Construct {
    /// `callable(*args)` (REDUCE).
    Reduce,
    /// `cls.__new__(cls, *args)` (NEWOBJ).
    NewObj,
    /// `cls.__new__(cls, *args, **kwargs)` (NEWOBJ_EX).
    NewObjEx,
    /// Protocol 0 `INST module name` with args from the mark.
    Inst,
    /// Protocol 1 `OBJ` (class and args from the mark).
    Obj,
}

/// An object built by calling something, then optionally filled in.
///
/// Re-encoding an `Object` replays the same steps, so CPython gets an equal object back:
/// `datetime.datetime(...)`, `decimal.Decimal('1.5')`, `complex`, `OrderedDict`,
/// namedtuples, exceptions, user classes.
#[derive(Clone, Debug)]
pub struct Object {
    /// How the object was created.
    pub construct: Construct,
    /// The callable or class, usually a [`Value::Global`].
    pub callable: Value,
    /// The positional arguments (a tuple's items).
    pub args: Vec<Value>,
    /// Keyword arguments (NEWOBJ_EX only).
    pub kwargs: Option<Value>,
    /// State applied by BUILD (`__setstate__` or `__dict__` update), if any.
    pub state: Option<Value>,
    /// Items added with APPEND / APPENDS (list subclasses, deques).
    pub list_items: Vec<Value>,
    /// Items added with SETITEM / SETITEMS (dict subclasses such as `OrderedDict`).
    pub dict_items: Vec<(Value, Value)>,
}

impl Object {
    /// A REDUCE object `callable(*args)` with no state or items.
    pub fn reduce(callable: Value, args: Vec<Value>) -> Object {
        Object {
            construct: Construct::Reduce,
            callable,
            args,
            kwargs: None,
            state: None,
            list_items: Vec::new(),
            dict_items: Vec::new(),
        }
    }
}

impl Global {
    /// `module.name`.
    pub fn new(module: &str, name: &str) -> Global {
        Global {
            module: PyStr::from(module),
            name: PyStr::from(name),
            form: GlobalForm::Usual,
        }
    }
}

impl Value {
    /// A `list` holding `items`.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Arc::new(Items(items)))
    }
    /// A `tuple` holding `items`.
    pub fn tuple(items: Vec<Value>) -> Value {
        Value::Tuple(Arc::new(Items(items)))
    }
    /// A `dict` holding `pairs` in order.
    pub fn dict(pairs: Vec<(Value, Value)>) -> Value {
        Value::Dict(Arc::new(Pairs::from(pairs)))
    }
    /// A `set` holding `items`.
    pub fn set(items: Vec<Value>) -> Value {
        Value::Set(Arc::new(Items(items)))
    }
    /// A `frozenset` holding `items`.
    pub fn frozenset(items: Vec<Value>) -> Value {
        Value::FrozenSet(Arc::new(Items(items)))
    }
    /// `bytes`.
    pub fn bytes(data: &[u8]) -> Value {
        Value::Bytes(Arc::from(data))
    }
    /// A module-level name such as `builtins.float`.
    pub fn global(module: &str, name: &str) -> Value {
        Value::Global(Arc::new(Global::new(module, name)))
    }
    /// An integer of any size (stored as `Int` when it fits in 64 bits).
    pub fn int(n: BigInt) -> Value {
        use num_traits::ToPrimitive;
        match n.to_i64() {
            Some(i) => Value::Int(i),
            None => Value::BigInt(Arc::new(n)),
        }
    }

    /// The value itself; for an [`Value::Anchor`], the container it wraps; for
    /// [`Value::Effects`], its target (looked through repeatedly).
    pub fn unanchored(&self) -> &Value {
        let mut v = self;
        loop {
            match v {
                Value::Anchor(_, inner) => v = inner,
                Value::Effects(e) => v = &e.target,
                _ => return v,
            }
        }
    }

    /// Python's type name: `"int"`, `"str"`, `"list"`, ... (`"object"` for objects).
    pub fn type_name(&self) -> &'static str {
        match self.unanchored() {
            Value::None => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::BigInt(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::ByteArray(_) => "bytearray",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
            Value::Dict(_) => "dict",
            Value::Set(_) => "set",
            Value::FrozenSet(_) => "frozenset",
            Value::Global(_) => "global",
            Value::Object(_) => "object",
            Value::Anchor(..) | Value::Ref(_) => "reference",
            Value::Effects(_) => unreachable!("unanchored() looks through effects"),
        }
    }
}
