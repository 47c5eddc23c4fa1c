//! Read-only views of a pickle: [`loads_view`] reads a message without building an owned
//! [`Value`] tree.
//!
//! [`loads`](crate::pickle::loads) builds a tree of reference-counted containers that the
//! caller owns, may change, keep and send to other threads. Most received messages are only
//! read, field by field, and then dropped. For those, [`loads_view`] puts every node of the
//! pickle in one arena: strings and bytes stay in the message and are borrowed from it,
//! containers list their items as node numbers, and a value the pickle shares (a memo
//! `GET`) is one node reached from several places, exactly as the Python objects were one
//! object. Building the arena allocates only as its three vectors grow, and dropping it is
//! three frees, so a batch of small dicts decodes several times faster than
//! `pickle.loads` (see BENCHMARKS.md).
//!
//! ```
//! // What Python's pickle.dumps([{"id": 1, "name": "a"}], protocol=4) gives:
//! let data = b"\x80\x04\x95\x1a\x00\x00\x00\x00\x00\x00\x00]\x94}\x94(\x8c\x02id\x94K\x01\x8c\x04name\x94\x8c\x01a\x94ua.";
//! let view = mpconn::pickle::loads_view(data)?;
//! let first = view.root().get_index(0).unwrap();
//! assert_eq!(first.get_str("id").and_then(|v| v.as_i64()), Some(1));
//! assert_eq!(first.get_str("name").and_then(|v| v.as_str()), Some("a"));
//! # Ok::<(), mpconn::PickleError>(())
//! ```
//!
//! **Nothing is lost.** The arena takes the opcodes CPython writes for plain data. A pickle
//! with anything else (globals, objects, effects, big ints, tuple keys, protocol 0 text, an
//! error) is decoded by the owned decoder instead and the view wraps that [`Value`]: the
//! same accessors work on both, and [`View::is_borrowed`] tells which one you got.
//! Errors are exactly those of [`loads_with`](crate::pickle::loads_with), and so are the
//! limits of [`DecodeOptions`], with one difference: `max_alloc` counts the memory the view
//! itself takes (16 bytes a node, 4 a link: about a third of the owned tree), so a message
//! `loads_with` refuses for its size under a tight `max_alloc` may still be viewed. [`View::to_value`] gives the owned tree, identical to what
//! `loads` gives.
//!
//! Lookups by key in a viewed dict scan its entries (Python's equality, the last value of
//! a repeated key): fast for the small dicts messages carry; for big dicts used as tables,
//! take [`View::to_value`], whose dicts are indexed.

mod build;
mod spare;

use crate::error::PickleError;
use crate::pickle::DecodeOptions;
use crate::value::Value;

/// Items of a container in the arena: `len` links from `start`, with room for `cap`.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: u32,
    len: u32,
    cap: u32,
}

/// Where a str's or bytes' contents sit in the message.
#[derive(Clone, Copy, Debug)]
struct Slice {
    at: u32,
    len: u32,
}

/// One node of the arena, as the accessors read it (stored [`Packed`]). Strings and bytes
/// stay in the message.
#[derive(Clone, Copy, Debug)]
enum Node {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Surrogatepass UTF-8 (plain UTF-8 when `.1`).
    Str(Slice, bool),
    Bytes(Slice),
    ByteArray(Slice),
    List(Span),
    Tuple(Span),
    /// Key and value links alternate.
    Dict(Span),
    Set(Span),
    FrozenSet(Span),
}

/// How the arena stores a [`Node`]: plain integer fields, 16 bytes, so that the builder
/// copies and updates nodes with aligned moves (the enum's own layout made the hot loop
/// stall on partly overlapping copies).
#[derive(Clone, Copy)]
#[repr(C)]
struct Packed {
    kind: u8,
    /// Bool's value, or whether a str is plain UTF-8.
    flag: u8,
    /// Contents' offset in the message, or a container's first link.
    a: u32,
    /// Int or float bits; contents' length; a container's length (low half) and room
    /// (high half).
    b: u64,
}

/// [`Packed::kind`] values.
mod kind {
    pub(super) const NONE: u8 = 0;
    pub(super) const BOOL: u8 = 1;
    pub(super) const INT: u8 = 2;
    pub(super) const FLOAT: u8 = 3;
    pub(super) const STR: u8 = 4;
    pub(super) const BYTES: u8 = 5;
    pub(super) const BYTEARRAY: u8 = 6;
    pub(super) const LIST: u8 = 7;
    pub(super) const TUPLE: u8 = 8;
    pub(super) const DICT: u8 = 9;
    pub(super) const SET: u8 = 10;
    pub(super) const FROZENSET: u8 = 11;
}

impl Packed {
    const fn new(kind: u8, flag: u8, a: u32, b: u64) -> Packed {
        Packed { kind, flag, a, b }
    }

    fn is_container(&self) -> bool {
        self.kind >= kind::LIST
    }

    #[inline]
    fn span(&self) -> Span {
        Span {
            start: self.a,
            len: self.b as u32,
            cap: (self.b >> 32) as u32,
        }
    }

    #[inline]
    fn set_span(&mut self, s: Span) {
        self.a = s.start;
        self.b = u64::from(s.len) | (u64::from(s.cap) << 32);
    }

    /// The node, for reading.
    fn unpack(&self) -> Node {
        let slice = Slice {
            at: self.a,
            len: self.b as u32,
        };
        match self.kind {
            kind::BOOL => Node::Bool(self.flag != 0),
            kind::INT => Node::Int(self.b as i64),
            kind::FLOAT => Node::Float(f64::from_bits(self.b)),
            kind::STR => Node::Str(slice, self.flag != 0),
            kind::BYTES => Node::Bytes(slice),
            kind::BYTEARRAY => Node::ByteArray(slice),
            kind::LIST => Node::List(self.span()),
            kind::TUPLE => Node::Tuple(self.span()),
            kind::DICT => Node::Dict(self.span()),
            kind::SET => Node::Set(self.span()),
            kind::FROZENSET => Node::FrozenSet(self.span()),
            _ => Node::None,
        }
    }
}

impl Node {
    fn span(&self) -> Option<Span> {
        match *self {
            Node::List(s) | Node::Tuple(s) | Node::Dict(s) | Node::Set(s) | Node::FrozenSet(s) => {
                Some(s)
            }
            _ => None,
        }
    }
}

/// The arena: nodes, the links containers hold, and the root.
struct Doc<'a> {
    data: &'a [u8],
    nodes: Vec<Packed>,
    links: Vec<u32>,
    root: u32,
}

impl Drop for Doc<'_> {
    /// Hands the arena's vectors to the thread's next view (see `spare.rs`).
    fn drop(&mut self) {
        spare::give_back(spare::Buffers {
            nodes: std::mem::take(&mut self.nodes),
            links: std::mem::take(&mut self.links),
            ..spare::Buffers::default()
        });
    }
}

impl<'a> Doc<'a> {
    fn bytes(&self, s: Slice) -> &'a [u8] {
        &self.data[s.at as usize..s.at as usize + s.len as usize]
    }

    fn links_of(&self, s: Span) -> &[u32] {
        &self.links[s.start as usize..(s.start + s.len) as usize]
    }
}

enum Inner<'a> {
    Arena(Doc<'a>),
    /// The owned value, and the targets of its `Value::Ref`s (cycles), by anchor number.
    Owned(Value, Vec<(u32, Value)>),
}

/// The values under each [`Value::Anchor`] reachable through the accessors a [`ViewRef`]
/// offers (containers; anchors and effects looked through), sorted by number, so that a
/// [`Value::Ref`] met while reading resolves to what it names. Each container is visited
/// once, so shared ones cost nothing extra.
fn anchors_of(root: &Value) -> Vec<(u32, Value)> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut work = vec![root];
    while let Some(v) = work.pop() {
        let mut v = v;
        loop {
            match v {
                Value::Anchor(n, inner) => {
                    out.push((*n, (**inner).clone()));
                    v = inner;
                }
                Value::Effects(e) => v = &e.target,
                _ => break,
            }
        }
        if let Some(p) = container_ptr(v) {
            if !seen.insert(p) {
                continue;
            }
        }
        if let Some(items) = v.as_slice() {
            work.extend(items);
        } else if let Some(pairs) = v.as_dict() {
            work.extend(pairs.iter().flat_map(|(k, x)| [k, x]));
        }
    }
    out.sort_by_key(|(n, _)| *n);
    out
}

/// The allocation of a container (its identity).
fn container_ptr(v: &Value) -> Option<usize> {
    use std::sync::Arc;
    match v {
        Value::List(a) | Value::Tuple(a) | Value::Set(a) | Value::FrozenSet(a) => {
            Some(Arc::as_ptr(a) as usize)
        }
        Value::Dict(a) => Some(Arc::as_ptr(a) as usize),
        _ => None,
    }
}

/// A decoded pickle that borrows from the message (see the [module docs](self)).
///
/// Read it through [`View::root`]; convert it with [`View::to_value`].
pub struct View<'a> {
    inner: Inner<'a>,
    data: &'a [u8],
    options: DecodeOptions,
}

impl std::fmt::Debug for View<'_> {
    /// The form (borrowed or owned) and the root's type, not the whole value (a hostile
    /// message could print exponentially large).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("View")
            .field("borrowed", &self.is_borrowed())
            .field("root", &self.root().type_name())
            .finish()
    }
}

/// Decodes `data` into a [`View`] under the default limits.
///
/// # Errors
/// Exactly those of [`loads`](crate::pickle::loads).
pub fn loads_view(data: &[u8]) -> Result<View<'_>, PickleError> {
    loads_view_with(data, &DecodeOptions::default())
}

/// Decodes `data` into a [`View`] under `options`.
///
/// # Errors
/// Exactly those of [`loads_with`](crate::pickle::loads_with).
pub fn loads_view_with<'a>(
    data: &'a [u8],
    options: &DecodeOptions,
) -> Result<View<'a>, PickleError> {
    let inner = match build::build(data, options) {
        Some(doc) => Inner::Arena(doc),
        None => {
            let value = crate::pickle::loads_with(data, options)?;
            let anchors = anchors_of(&value);
            Inner::Owned(value, anchors)
        }
    };
    Ok(View {
        inner,
        data,
        options: options.clone(),
    })
}

impl<'a> View<'a> {
    /// The decoded value.
    pub fn root(&self) -> ViewRef<'_> {
        match &self.inner {
            Inner::Arena(doc) => ViewRef(At::Node(doc, doc.root)),
            Inner::Owned(v, anchors) => ViewRef(At::Value(v, anchors)),
        }
    }

    /// True when the view is the borrowed arena; false when the pickle held something the
    /// arena does not take and the view wraps an owned [`Value`] (see the module docs).
    pub fn is_borrowed(&self) -> bool {
        matches!(self.inner, Inner::Arena(_))
    }

    /// The owned value, the same [`loads_with`](crate::pickle::loads_with) gives for the
    /// message (identity, cycles and effects included).
    ///
    /// # Errors
    /// None in practice: the message was decoded once already under the same limits.
    pub fn to_value(&self) -> Result<Value, PickleError> {
        match &self.inner {
            Inner::Owned(v, _) => Ok(v.clone()),
            Inner::Arena(_) => crate::pickle::loads_with(self.data, &self.options),
        }
    }
}

#[derive(Clone, Copy)]
enum At<'v> {
    Node(&'v Doc<'v>, u32),
    /// A value of an owned view, and that view's anchors.
    Value(&'v Value, &'v [(u32, Value)]),
}

/// One value inside a [`View`]: a cheap, copyable handle with [`Value`]'s accessors.
///
/// Accessors answer `None` for the wrong kind, as [`Value`]'s do (and like them, the
/// numeric ones do not treat `bool` as an int).
#[derive(Clone, Copy)]
pub struct ViewRef<'v>(At<'v>);

impl std::fmt::Debug for ViewRef<'_> {
    /// The type and length only (see [`View`]'s `Debug`); use [`View::to_value`] to print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ViewRef({}", self.type_name())?;
        if let Some(n) = self.len() {
            write!(f, ", len {n}")?;
        }
        f.write_str(")")
    }
}

impl<'v> ViewRef<'v> {
    fn node(&self) -> Option<(&'v Doc<'v>, Node)> {
        match self.0 {
            At::Node(doc, id) => Some((doc, doc.nodes[id as usize].unpack())),
            At::Value(..) => None,
        }
    }

    /// The owned value, a reference resolved to what it names.
    fn value(&self) -> Option<&'v Value> {
        match self.0 {
            At::Value(Value::Ref(n), anchors) => {
                let i = anchors.binary_search_by_key(n, |(k, _)| *k).ok()?;
                Some(&anchors[i].1)
            }
            At::Value(v, _) => Some(v),
            At::Node(..) => None,
        }
    }

    /// A handle on `v`, a value of the same owned view as `self`.
    fn owned(&self, v: &'v Value) -> ViewRef<'v> {
        match self.0 {
            At::Value(_, anchors) => ViewRef(At::Value(v, anchors)),
            At::Node(..) => unreachable!("only owned views hold values"),
        }
    }

    /// Python's type name (`"dict"`, `"str"`, ...), as [`Value::type_name`] gives it.
    pub fn type_name(&self) -> &'static str {
        match self.node() {
            Some((_, n)) => match n {
                Node::None => "NoneType",
                Node::Bool(_) => "bool",
                Node::Int(_) => "int",
                Node::Float(_) => "float",
                Node::Str(..) => "str",
                Node::Bytes(_) => "bytes",
                Node::ByteArray(_) => "bytearray",
                Node::List(_) => "list",
                Node::Tuple(_) => "tuple",
                Node::Dict(_) => "dict",
                Node::Set(_) => "set",
                Node::FrozenSet(_) => "frozenset",
            },
            None => self.value().map_or("NoneType", Value::type_name),
        }
    }

    /// True for `None`.
    pub fn is_none(&self) -> bool {
        match self.node() {
            Some((_, n)) => matches!(n, Node::None),
            None => self.value().is_some_and(Value::is_none),
        }
    }

    /// A `bool`.
    pub fn as_bool(&self) -> Option<bool> {
        match self.node() {
            Some((_, Node::Bool(b))) => Some(b),
            Some(_) => None,
            None => self.value()?.as_bool(),
        }
    }

    /// An `int` that fits in `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match self.node() {
            Some((_, Node::Int(i))) => Some(i),
            Some(_) => None,
            None => self.value()?.as_i64(),
        }
    }

    /// A `float`, or an `int` converted as Python's `float()` does.
    pub fn as_f64(&self) -> Option<f64> {
        match self.node() {
            Some((_, Node::Float(x))) => Some(x),
            Some((_, Node::Int(i))) => Some(i as f64),
            Some(_) => None,
            None => self.value()?.as_f64(),
        }
    }

    /// The text of a `str`, borrowed from the message; `None` for other kinds and for
    /// strings holding lone surrogates (use [`ViewRef::as_str_bytes`] for those).
    pub fn as_str(&self) -> Option<&'v str> {
        match self.node() {
            Some((doc, Node::Str(b, true))) => {
                let b = doc.bytes(b);
                // SAFETY: the flag is true only when `str::from_utf8` accepted these very
                // bytes while the arena was built (`build::Builder::unicode`), and the
                // message they borrow from cannot change while borrowed.
                Some(unsafe { std::str::from_utf8_unchecked(b) })
            }
            Some(_) => None,
            None => self.value()?.as_str(),
        }
    }

    /// A `str`'s surrogatepass UTF-8 bytes (what the pickle carries), lone surrogates
    /// included.
    pub fn as_str_bytes(&self) -> Option<&'v [u8]> {
        match self.node() {
            Some((doc, Node::Str(b, _))) => Some(doc.bytes(b)),
            Some(_) => None,
            None => Some(self.value()?.as_pystr()?.as_bytes()),
        }
    }

    /// The contents of `bytes` or `bytearray`.
    pub fn as_bytes(&self) -> Option<&'v [u8]> {
        match self.node() {
            Some((doc, Node::Bytes(b) | Node::ByteArray(b))) => Some(doc.bytes(b)),
            Some(_) => None,
            None => self.value()?.as_bytes(),
        }
    }

    /// Python's `len()`: code points of a `str`, bytes of `bytes`/`bytearray`, items of a
    /// container; `None` for kinds `len()` refuses.
    pub fn len(&self) -> Option<usize> {
        match self.node() {
            Some((doc, n)) => match n {
                // Code points: the bytes that do not continue a sequence (the builder
                // checked that the text is surrogatepass UTF-8).
                Node::Str(b, _) => Some(doc.bytes(b).iter().filter(|&&c| c & 0xc0 != 0x80).count()),
                Node::Bytes(b) | Node::ByteArray(b) => Some(b.len as usize),
                Node::Dict(s) => Some(s.len as usize / 2),
                other => other.span().map(|s| s.len as usize),
            },
            None => self.value()?.len(),
        }
    }

    /// True when [`ViewRef::len`] is `Some(0)`.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// Item `index` of a `list` or `tuple`.
    pub fn get_index(&self, index: usize) -> Option<ViewRef<'v>> {
        match self.node() {
            Some((doc, Node::List(s) | Node::Tuple(s))) => {
                let id = *doc.links_of(s).get(index)?;
                Some(ViewRef(At::Node(doc, id)))
            }
            Some(_) => None,
            None => Some(self.owned(self.value()?.get_index(index)?)),
        }
    }

    /// The value under the `str` key `key` of a `dict`.
    pub fn get_str(&self, key: &str) -> Option<ViewRef<'v>> {
        self.get_where(|k| k.as_str_bytes() == Some(key.as_bytes()))
    }

    /// The value under the `int` key `key` of a `dict` (Python's equality: an equal
    /// `float` or `bool` key matches too).
    pub fn get_int(&self, key: i64) -> Option<ViewRef<'v>> {
        self.get_where(|k| match k.node() {
            Some((_, Node::Int(i))) => i == key,
            Some((_, Node::Bool(b))) => i64::from(b) == key,
            Some((_, Node::Float(x))) => x.fract() == 0.0 && (x as i64) == key && (key as f64) == x,
            Some(_) => false,
            None => k.value().is_some_and(|v| v == &Value::Int(key)),
        })
    }

    fn get_where(&self, mut matches: impl FnMut(&ViewRef<'v>) -> bool) -> Option<ViewRef<'v>> {
        self.items()?.find(|(k, _)| matches(k)).map(|(_, v)| v)
    }

    /// The items of a `list`, `tuple`, `set` or `frozenset`, in order.
    pub fn iter(&self) -> Option<Items<'v>> {
        match self.node() {
            Some((
                doc,
                n @ (Node::List(_) | Node::Tuple(_) | Node::Set(_) | Node::FrozenSet(_)),
            )) => Some(Items(ItemsAt::Nodes(doc, doc.links_of(n.span()?).iter()))),
            Some(_) => None,
            None => {
                let At::Value(_, anchors) = self.0 else {
                    return None;
                };
                Some(Items(ItemsAt::Values(
                    self.value()?.as_slice()?.iter(),
                    anchors,
                )))
            }
        }
    }

    /// The `(key, value)` pairs of a `dict`, in insertion order.
    pub fn items(&self) -> Option<Pairs<'v>> {
        match self.node() {
            Some((doc, Node::Dict(s))) => {
                Some(Pairs(PairsAt::Nodes(doc, doc.links_of(s).chunks_exact(2))))
            }
            Some(_) => None,
            None => {
                let At::Value(_, anchors) = self.0 else {
                    return None;
                };
                Some(Pairs(PairsAt::Values(
                    self.value()?.as_dict()?.iter(),
                    anchors,
                )))
            }
        }
    }

    /// Python's `is`: true when both handles reach the same object of the pickle (a value
    /// the pickle shares through its memo is one object).
    pub fn is(&self, other: &ViewRef<'_>) -> bool {
        match (self.0, other.0) {
            (At::Node(a, x), At::Node(b, y)) => std::ptr::eq(a, b) && x == y,
            (At::Value(..), At::Value(..)) => match (self.value(), other.value()) {
                (Some(a), Some(b)) => same_object(a.unanchored(), b.unanchored()),
                _ => false,
            },
            _ => false,
        }
    }
}

/// Python's `is` for owned values: the same allocation (None and the two bools are
/// singletons in Python too; other scalars are copied into a `Value` and have no identity
/// left to compare).
fn same_object(a: &Value, b: &Value) -> bool {
    use std::sync::Arc;
    match (a, b) {
        (Value::None, Value::None) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => std::ptr::eq(x.as_bytes(), y.as_bytes()),
        (Value::Bytes(x), Value::Bytes(y)) => Arc::ptr_eq(x, y),
        (Value::ByteArray(x), Value::ByteArray(y)) => Arc::ptr_eq(x, y),
        (Value::List(x), Value::List(y))
        | (Value::Tuple(x), Value::Tuple(y))
        | (Value::Set(x), Value::Set(y))
        | (Value::FrozenSet(x), Value::FrozenSet(y)) => Arc::ptr_eq(x, y),
        (Value::Dict(x), Value::Dict(y)) => Arc::ptr_eq(x, y),
        (Value::Global(x), Value::Global(y)) => Arc::ptr_eq(x, y),
        (Value::Object(x), Value::Object(y)) => Arc::ptr_eq(x, y),
        (Value::Anchor(x, _), Value::Anchor(y, _)) => x == y,
        _ => false,
    }
}

enum ItemsAt<'v> {
    Nodes(&'v Doc<'v>, std::slice::Iter<'v, u32>),
    Values(std::slice::Iter<'v, Value>, &'v [(u32, Value)]),
}

/// Iterator over a container's items ([`ViewRef::iter`]).
pub struct Items<'v>(ItemsAt<'v>);

impl<'v> Iterator for Items<'v> {
    type Item = ViewRef<'v>;
    fn next(&mut self) -> Option<ViewRef<'v>> {
        match &mut self.0 {
            ItemsAt::Nodes(doc, it) => Some(ViewRef(At::Node(doc, *it.next()?))),
            ItemsAt::Values(it, anchors) => Some(ViewRef(At::Value(it.next()?, anchors))),
        }
    }
}

enum PairsAt<'v> {
    Nodes(&'v Doc<'v>, std::slice::ChunksExact<'v, u32>),
    Values(std::slice::Iter<'v, (Value, Value)>, &'v [(u32, Value)]),
}

/// Iterator over a dict's `(key, value)` pairs ([`ViewRef::items`]).
pub struct Pairs<'v>(PairsAt<'v>);

impl<'v> Iterator for Pairs<'v> {
    type Item = (ViewRef<'v>, ViewRef<'v>);
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            PairsAt::Nodes(doc, it) => {
                let kv = it.next()?;
                Some((ViewRef(At::Node(doc, kv[0])), ViewRef(At::Node(doc, kv[1]))))
            }
            PairsAt::Values(it, anchors) => {
                let (k, v) = it.next()?;
                Some((
                    ViewRef(At::Value(k, anchors)),
                    ViewRef(At::Value(v, anchors)),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests;
