//! The pickle decoder: every opcode of protocols 0–5 into a [`Value`], with no import and
//! no execution of anything.
//!
//! Two decoders share this module. The fast path (`fast.rs`) builds `Value`s directly and
//! handles what CPython writes for ordinary, acyclic data; when it meets anything else
//! (a cycle, a container changed after it was shared, protocol 0 text opcodes, INST / OBJ,
//! an error or a limit) it gives up and the graph decoder below decodes the whole input
//! again, so results and errors are always the graph decoder's (`fast_tests.rs` checks
//! that the two agree, on every fixture and on random and mutated inputs).
//!
//! The graph decoder's opcode loop ([`Decoder`]) runs over the input once. Scalars become `Value`s at
//! once; containers become nodes of a [`graph::Arena`] so that they can still change
//! after being memoized or shared; the graph becomes a `Value` tree at `STOP` (see
//! `graph.rs` for sharing and cycles). Nothing here recurses, and nothing is allocated
//! from a length field before the bytes it announces are known to be present.
//!
//! Well-known reduce patterns become native values: `set(list)`, `frozenset(list)`,
//! `bytearray(bytes)`, `bytes()`, `_codecs.encode(str, 'latin1')` (how protocols 0–2
//! carry `bytes`). Protocol 0–2 names from Python 2 (`__builtin__`, `copy_reg`, ...) are
//! mapped to Python 3 ones as CPython does with `fix_imports`. Everything else built by
//! REDUCE / NEWOBJ / NEWOBJ_EX / INST / OBJ is a [`Value::Object`].
//!
//! Effects (see `value/effects.rs`): a value discarded by `POP` / `POP_MARK` that did
//! something (a call, a container changed through the memo) becomes a step after the
//! value below it on the stack; `state_setter(obj, state)` + `POP` right after `obj` (what
//! `save_reduce` writes for a 6-tuple `__reduce__`) becomes a `SetState` step; items or
//! state given through a memo `GET` / `DUP`, or after an object's state was set, become
//! steps of their own instead of being merged into the object as first built. A value
//! discarded without effect (a scalar, something that lives on elsewhere, CPython's
//! throw-away outer copy of a recursive object followed by a `GET` of the inner one) is
//! forgotten, as CPython forgets it. A discarded call with no value below it to follow is
//! refused (`Unrepresentable`), never dropped.
//!
//! Like `pickle.loads`: `STOP` takes the top of the stack and ignores the bytes after it;
//! values left below (or an open MARK) are dropped when building them called nothing, and
//! refused otherwise. REDUCE / NEWOBJ / NEWOBJ_EX / OBJ of something that can never be
//! called (`None`, numbers, strings, bytes, built-in containers: `N)R.`) is refused.
//!
//! Known differences from CPython's unpickler: `SETITEMS` with a key already present
//! appends a second pair (no `Value` hashing here); `EXT1/2/4`, `PERSID` / `BINPERSID` and
//! `NEXT_BUFFER` are refused as CPython's default unpickler refuses them; whether a
//! global exists or a NEWOBJ class is a type is not checked (nothing is imported).

mod compat;
mod fast;
#[cfg(test)]
mod fast_tests;
mod graph;
mod reduce;
mod text;

use std::collections::HashMap;
use std::sync::Arc;

use num_bigint::BigInt;

use super::reader::{read_op, Arg, Op, ReadError};
use super::{opcodes as op, DecodeOptions, PickleError, PickleErrorKind as K};
use crate::value::{Construct, Global, GlobalForm, PyStr, Value};
use graph::{Arena, ConvertError, EffectsNode, NodeData, Step, NODE_COST};
use reduce::{object, Pattern};

/// Bytes charged for one `Value` slot in a container or the memo.
const SLOT: usize = std::mem::size_of::<Value>();

pub(crate) fn decode(data: &[u8], options: &DecodeOptions) -> Result<Value, PickleError> {
    // The fast path handles what CPython writes for ordinary data; anything else (and
    // every error) is decided by the graph decoder, run again from the start.
    match fast::decode(data, options) {
        Some(v) => Ok(v),
        None => decode_graph(data, options),
    }
}

/// The graph decoder alone (see the module doc).
pub(crate) fn decode_graph(data: &[u8], options: &DecodeOptions) -> Result<Value, PickleError> {
    let mut d = Decoder {
        data,
        pos: 0,
        start: 0,
        stack: Vec::with_capacity(16),
        marks: Vec::new(),
        memo: Memo::default(),
        arena: Arena::new(),
        proto: 0,
        alloc: 0,
        opts: options,
        got: Vec::new(),
        last_reduce: None,
        // Work allowed for recognising throw-away copies, over the whole pickle: linear
        // in its size, so that no pickle can make the check quadratic.
        copy_budget: 4 * data.len() + 100_000,
    };
    let root = d.run()?;
    let end = data.len();
    // Drop the memo before converting so that the tree holds the only references.
    let Decoder { arena, .. } = d;
    arena
        .into_value(root, options.max_depth)
        .map_err(|e| match e {
            ConvertError::TooDeep => PickleError::new(end, K::TooDeep(options.max_depth)),
            ConvertError::Unshared => PickleError::new(
                end,
                K::WrongType("internal: a node reached twice was not marked shared".into()),
            ),
        })
}

/// The memo: dense for the small indices picklers use, a map for sparse large ones.
#[derive(Default)]
struct Memo {
    dense: Vec<Option<Value>>,
    sparse: HashMap<u64, Value>,
    count: usize,
}

impl Memo {
    /// Stores `v` at `idx`; returns true when the index is new.
    fn put(&mut self, idx: u64, v: Value) -> bool {
        let dense_len = self.dense.len() as u64;
        if idx < dense_len + 64 {
            let i = idx as usize;
            if i >= self.dense.len() {
                self.dense.resize(i + 1, None);
            }
            let fresh = self.dense[i].is_none()
                && (self.sparse.is_empty() || self.sparse.remove(&idx).is_none());
            self.dense[i] = Some(v);
            if fresh {
                self.count += 1;
            }
            fresh
        } else {
            let fresh = self.sparse.insert(idx, v).is_none();
            if fresh {
                self.count += 1;
            }
            fresh
        }
    }

    fn get(&self, idx: u64) -> Option<&Value> {
        match usize::try_from(idx).ok().and_then(|i| self.dense.get(i)) {
            Some(Some(v)) => Some(v),
            _ if self.sparse.is_empty() => None,
            _ => self.sparse.get(&idx),
        }
    }
}

struct Decoder<'a> {
    data: &'a [u8],
    /// Next byte to read.
    pos: usize,
    /// Offset of the opcode being run (for errors).
    start: usize,
    stack: Vec<Value>,
    /// Stack lengths at each MARK.
    marks: Vec<usize>,
    memo: Memo,
    arena: Arena,
    proto: u8,
    /// Bytes charged so far against `max_alloc`.
    alloc: usize,
    opts: &'a DecodeOptions,
    /// Stack slots holding a node fetched again (memo GET or DUP) rather than the node
    /// as it was built: `(slot, node)`, entries above the stack top are stale.
    got: Vec<(usize, u32)>,
    /// The node the last REDUCE built and whether its argument tuple was memoized (for
    /// recognising `state_setter(obj, state)` + POP).
    last_reduce: Option<(u32, bool)>,
    /// Steps left for [`Decoder::duplicate_of_next_get`] (see `decode_graph`).
    copy_budget: usize,
}

type R<T> = Result<T, PickleError>;

impl<'a> Decoder<'a> {
    fn err(&self, kind: K) -> PickleError {
        PickleError::new(self.start, kind)
    }

    fn wrong<T>(&self, what: &str) -> R<T> {
        Err(self.err(K::WrongType(what.to_string())))
    }

    fn bad<T>(&self, what: impl Into<String>) -> R<T> {
        Err(self.err(K::BadArgument(what.into())))
    }

    fn charge(&mut self, n: usize) -> R<()> {
        self.alloc = self.alloc.saturating_add(n);
        if self.alloc > self.opts.max_alloc {
            return Err(self.err(K::AllocLimit(self.opts.max_alloc)));
        }
        Ok(())
    }

    // ---- reading ----

    /// The error for an opcode [`read_op`] could not read.
    #[cold]
    fn read_error(&self, code: u8, e: ReadError) -> PickleError {
        match (e, code) {
            // Refused as soon as the opcode is seen (CPython's default unpickler has no
            // `persistent_load`), whatever follows it.
            (_, op::PERSID) => self.err(K::BadArgument("persistent IDs are not supported".into())),
            (ReadError::Truncated, _) => self.err(K::UnexpectedEof),
            (ReadError::NegativeLength, op::LONG4) => {
                self.err(K::BadArgument("LONG4 with a negative byte count".into()))
            }
            (ReadError::NegativeLength, _) => {
                self.err(K::BadArgument("BINSTRING with a negative length".into()))
            }
            (ReadError::Unknown, _) => self.err(K::UnknownOpcode(code)),
        }
    }

    /// Counted bytes, charged against `max_alloc` (the reader checked that they are
    /// present: nothing was allocated from the length field).
    fn charged(&mut self, arg: Arg<'a>) -> R<&'a [u8]> {
        let b = arg.bytes();
        self.charge(b.len())?;
        Ok(b)
    }

    // ---- the stack ----

    /// Doubles the stack's room, charging the new slots before they are allocated.
    #[cold]
    fn grow_stack(&mut self) -> R<()> {
        let more = self.stack.capacity().max(16);
        self.charge(more * SLOT)?;
        self.stack.reserve_exact(more);
        Ok(())
    }

    /// The lowest stack index the current opcode may pop (the last MARK).
    #[inline]
    fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    #[inline]
    fn pop(&mut self) -> R<Value> {
        if self.stack.len() <= self.fence() {
            return Err(self.err(K::StackUnderflow));
        }
        Ok(self.stack.pop().expect("checked above"))
    }

    #[inline]
    fn top(&self) -> R<&Value> {
        if self.stack.len() <= self.fence() {
            return Err(self.err(K::StackUnderflow));
        }
        Ok(self.stack.last().expect("checked above"))
    }

    /// Pops the last MARK and returns the stack length it recorded.
    fn pop_mark(&mut self) -> R<usize> {
        match self.marks.pop() {
            Some(m) => Ok(m),
            None => Err(self.err(K::StackUnderflow)),
        }
    }

    /// Pops the items above the last MARK (the node they go into is charged by
    /// `push_node`).
    fn mark_items(&mut self) -> R<Vec<Value>> {
        let m = self.pop_mark()?;
        self.charge((self.stack.len() - m) * SLOT)?;
        Ok(self.stack.drain(m..).collect())
    }

    fn new_node(&mut self, data: NodeData) -> R<Value> {
        self.charge(NODE_COST)?;
        match self.arena.push(data) {
            Some(v) => Ok(v),
            None => Err(self.err(K::AllocLimit(self.opts.max_alloc))),
        }
    }

    fn push_node(&mut self, data: NodeData) -> R<()> {
        let v = self.new_node(data)?;
        self.stack.push(v);
        Ok(())
    }

    // ---- the memo ----

    fn memo_put(&mut self, idx: u64) -> R<()> {
        // The memo holds the object, not the effects performed after it.
        let v = self.look_through(self.top()?).clone();
        self.arena.mark_memoized(&v);
        if self.memo.put(idx, v) {
            self.charge(SLOT + 8)?;
            if self.memo.count > self.opts.max_memo {
                return Err(self.err(K::MemoLimit(self.opts.max_memo)));
            }
        }
        Ok(())
    }

    fn memo_get(&mut self, idx: u64) -> R<()> {
        match self.memo.get(idx) {
            Some(v) => {
                let v = v.clone();
                self.arena.mark_shared(&v);
                self.push_got(v);
                Ok(())
            }
            None => Err(self.err(K::MissingMemo(idx))),
        }
    }

    /// Pushes a node fetched again (GET, DUP), remembering that this slot is not where
    /// the node was built: changes made through it are effects of their own.
    fn push_got(&mut self, v: Value) {
        if let Value::Ref(n) = v {
            // Entries stay sorted by slot (strictly increasing): those at or above the
            // new slot are stale and go first, so each GET costs O(1) amortized.
            let len = self.stack.len();
            while self.got.last().is_some_and(|&(slot, _)| slot >= len) {
                self.got.pop();
            }
            self.got.push((len, n));
        }
        self.stack.push(v);
    }

    /// True when stack slot `slot` holds a node fetched again (see [`Decoder::push_got`]).
    /// An entry left from a slot that was popped and refilled with the same node counts
    /// too: treating an occurrence as fetched again only ever keeps more order.
    fn is_got(&self, slot: usize) -> bool {
        match self.stack.get(slot) {
            Some(Value::Ref(n)) => self
                .got
                .binary_search_by_key(&slot, |&(s, _)| s)
                .is_ok_and(|i| self.got[i].1 == *n),
            _ => false,
        }
    }

    /// The value itself, or for an effects node, its target.
    fn look_through<'v>(&'v self, v: &'v Value) -> &'v Value {
        match self.arena.node(v) {
            Some(NodeData::Effects(e)) => e.target(),
            _ => v,
        }
    }

    fn text_index(&self, line: &[u8]) -> R<u64> {
        match text::parse_index(line) {
            Ok(i) => Ok(i),
            Err(true) => self.bad("negative memo index"),
            Err(false) => self.bad("memo index is not a number"),
        }
    }

    // ---- the loop ----

    fn run(&mut self) -> R<Value> {
        loop {
            self.start = self.pos;
            let Some(&code) = self.data.get(self.pos) else {
                return Err(self.err(K::UnexpectedEof));
            };
            // No opcode pushes more than one value: with room for one, the stack never
            // grows behind `max_alloc`'s back (scalars left on the stack cost memory too).
            if self.stack.len() == self.stack.capacity() {
                self.grow_stack()?;
            }
            let arg = match read_op(self.data, self.pos) {
                Ok((o, next)) => {
                    self.pos = next;
                    o.arg
                }
                Err(e) => return Err(self.read_error(code, e)),
            };
            match code {
                op::STOP => return self.stop(),
                op::PROTO => {
                    let p = arg.uint() as u8;
                    if p > 5 {
                        return Err(self.err(K::UnsupportedProtocol(p)));
                    }
                    self.proto = p;
                }
                // The reader checked that the frame is there whole.
                op::FRAME => {}
                // ---- scalars ----
                op::NONE => self.stack.push(Value::None),
                op::NEWTRUE => self.stack.push(Value::Bool(true)),
                op::NEWFALSE => self.stack.push(Value::Bool(false)),
                op::BININT | op::BININT1 | op::BININT2 => self.stack.push(Value::Int(arg.int())),
                op::INT => {
                    let line = arg.bytes();
                    let v = match line {
                        b"00" => Value::Bool(false),
                        b"01" => Value::Bool(true),
                        _ => match text::parse_int(line) {
                            Some(v) => v,
                            None => return self.bad("INT argument is not an integer"),
                        },
                    };
                    self.charge(line.len())?;
                    self.stack.push(v);
                }
                op::LONG => {
                    let line = arg.bytes();
                    let digits = line.strip_suffix(b"L").unwrap_or(line);
                    let Some(v) = text::parse_int(digits) else {
                        return self.bad("LONG argument is not an integer");
                    };
                    self.charge(line.len())?;
                    self.stack.push(v);
                }
                op::LONG1 | op::LONG4 => {
                    let b = self.charged(arg)?;
                    self.stack.push(long_le(b));
                }
                op::BINFLOAT => self.stack.push(Value::Float(arg.float())),
                op::FLOAT => match text::parse_float(arg.bytes()) {
                    Some(f) => self.stack.push(Value::Float(f)),
                    None => return self.bad("FLOAT argument is not a float"),
                },
                // ---- strings and bytes ----
                op::SHORT_BINUNICODE | op::BINUNICODE | op::BINUNICODE8 => {
                    let b = self.charged(arg)?;
                    match PyStr::from_surrogatepass(b) {
                        Some(s) => self.stack.push(Value::Str(s)),
                        None => return self.bad("string is not UTF-8 (surrogatepass)"),
                    }
                }
                op::UNICODE => {
                    let line = arg.bytes();
                    self.charge(line.len() * 2)?;
                    match text::raw_unicode_escape(line) {
                        Ok(s) => self.stack.push(Value::Str(s)),
                        Err(e) => return self.bad(format!("UNICODE: {e}")),
                    }
                }
                op::SHORT_BINBYTES | op::BINBYTES | op::BINBYTES8 => {
                    let b = self.charged(arg)?;
                    self.stack.push(Value::Bytes(Arc::from(b)));
                }
                op::BYTEARRAY8 => {
                    let b = self.charged(arg)?;
                    self.stack.push(Value::ByteArray(Arc::new(b.to_vec())));
                }
                op::SHORT_BINSTRING | op::BINSTRING => {
                    let b = self.charged(arg)?;
                    self.py2_str(b)?;
                }
                op::STRING => {
                    let line = arg.bytes();
                    self.charge(line.len())?;
                    match text::parse_string_literal(line) {
                        Ok(b) => self.py2_str(&b)?,
                        Err(e) => return self.bad(e),
                    }
                }
                op::NEXT_BUFFER => return Err(self.err(K::OutOfBandBuffer)),
                op::READONLY_BUFFER => match self.top()? {
                    Value::Bytes(_) => {}
                    Value::ByteArray(b) => {
                        let v = Value::Bytes(Arc::from(b.as_slice()));
                        *self.stack.last_mut().expect("top checked") = v;
                    }
                    _ => return self.wrong("READONLY_BUFFER on a non-buffer"),
                },
                // ---- containers ----
                op::EMPTY_LIST => self.push_node(NodeData::List(Vec::new()))?,
                op::EMPTY_TUPLE => self.push_node(NodeData::Tuple(Vec::new()))?,
                op::EMPTY_DICT => self.push_node(NodeData::Dict(Vec::new()))?,
                op::EMPTY_SET => self.push_node(NodeData::Set(Vec::new()))?,
                op::LIST => {
                    let items = self.mark_items()?;
                    self.push_node(NodeData::List(items))?;
                }
                op::TUPLE => {
                    let items = self.mark_items()?;
                    self.push_node(NodeData::Tuple(items))?;
                }
                op::FROZENSET => {
                    let items = self.mark_items()?;
                    self.push_node(NodeData::FrozenSet(items))?;
                }
                op::DICT => {
                    let m = self.pop_mark()?;
                    let n = self.stack.len() - m;
                    if n % 2 != 0 {
                        return self.bad("odd number of items for DICT");
                    }
                    self.charge(n * SLOT)?;
                    let mut pairs = Vec::new();
                    push_pairs(&mut pairs, &mut self.stack, m);
                    self.push_node(NodeData::Dict(pairs))?;
                }
                op::TUPLE1 | op::TUPLE2 | op::TUPLE3 => {
                    let n = usize::from(code - op::TUPLE1 + 1);
                    if self.stack.len() < self.fence() + n {
                        return Err(self.err(K::StackUnderflow));
                    }
                    self.charge(n * SLOT)?;
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.push_node(NodeData::Tuple(items))?;
                }
                op::APPEND => {
                    self.top()?;
                    let m = self.stack.len() - 1;
                    self.append(m, code)?;
                }
                op::APPENDS => {
                    let m = self.pop_mark()?;
                    self.append(m, code)?;
                }
                op::SETITEM => {
                    if self.stack.len() < self.fence() + 2 {
                        return Err(self.err(K::StackUnderflow));
                    }
                    let m = self.stack.len() - 2;
                    self.set_items(m, code)?;
                }
                op::SETITEMS => {
                    let m = self.pop_mark()?;
                    self.set_items(m, code)?;
                }
                op::ADDITEMS => {
                    let m = self.pop_mark()?;
                    if self.as_step(m)? {
                        self.step_items(m, code)?;
                        continue;
                    }
                    if m >= self.stack.len() {
                        continue;
                    }
                    let i = self.target(m)?;
                    self.charge((self.stack.len() - m) * SLOT)?;
                    match self.arena.get_mut(i) {
                        Some(NodeData::Set(s)) => s.extend(self.stack.drain(m..)),
                        _ => return self.wrong("ADDITEMS onto something that is not a set"),
                    }
                }
                // ---- stack manipulation ----
                op::MARK => {
                    self.charge(8)?;
                    self.marks.push(self.stack.len());
                }
                op::POP => {
                    if self.marks.last() == Some(&self.stack.len()) {
                        self.marks.pop();
                    } else {
                        let v = self.pop()?;
                        self.discard(v)?;
                    }
                }
                op::POP_MARK => {
                    let m = self.pop_mark()?;
                    let items: Vec<Value> = self.stack.drain(m..).collect();
                    for v in items {
                        self.discard(v)?;
                    }
                }
                op::DUP => {
                    let v = self.look_through(self.top()?).clone();
                    self.arena.mark_shared(&v);
                    self.push_got(v);
                }
                // ---- memo ----
                op::GET => {
                    let i = self.text_index(arg.bytes())?;
                    self.memo_get(i)?;
                }
                op::BINGET | op::LONG_BINGET => self.memo_get(arg.uint())?,
                op::PUT => {
                    let i = self.text_index(arg.bytes())?;
                    self.memo_put(i)?;
                }
                op::BINPUT | op::LONG_BINPUT => self.memo_put(arg.uint())?,
                op::MEMOIZE => {
                    let i = self.memo.count as u64;
                    self.memo_put(i)?;
                }
                // ---- objects ----
                op::GLOBAL => {
                    let (module, name) = arg.lines();
                    self.charge(module.len() + name.len() + NODE_COST)?;
                    let (Ok(module), Ok(name)) =
                        (std::str::from_utf8(module), std::str::from_utf8(name))
                    else {
                        return self.bad("GLOBAL names must be UTF-8");
                    };
                    let g = if self.proto >= 4 {
                        let mut g = Global::new(module, name);
                        g.form = GlobalForm::Text;
                        Value::Global(Arc::new(g))
                    } else {
                        reduce::global(self.proto, module, name)
                    };
                    self.stack.push(g);
                }
                op::STACK_GLOBAL => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Value::Str(module), Value::Str(name)) = (&module, &name) else {
                        return self.wrong("STACK_GLOBAL requires two str");
                    };
                    self.charge(NODE_COST)?;
                    let g = reduce::stack_global(self.proto, module.clone(), name.clone());
                    self.stack.push(g);
                }
                op::REDUCE => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    self.check_callable(&callable, "REDUCE")?;
                    let args_memoized = self.arena.is_memoized(&args);
                    let args = self.tuple_items(&args, "REDUCE")?;
                    let v = match self.normalize(&callable, &args)? {
                        Some(v) => v,
                        None => {
                            let v = self.new_node(node_object(
                                Construct::Reduce,
                                callable,
                                args,
                                None,
                            ))?;
                            if let Value::Ref(n) = v {
                                self.last_reduce = Some((n, args_memoized));
                            }
                            v
                        }
                    };
                    self.stack.push(v);
                }
                op::NEWOBJ => {
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    self.check_callable(&cls, "NEWOBJ")?;
                    let args = self.tuple_items(&args, "NEWOBJ")?;
                    self.push_node(node_object(Construct::NewObj, cls, args, None))?;
                }
                op::NEWOBJ_EX => {
                    let kwargs = self.pop()?;
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    self.check_callable(&cls, "NEWOBJ_EX")?;
                    let args = self.tuple_items(&args, "NEWOBJ_EX")?;
                    if !matches!(self.arena.node_mut(&kwargs), Some(NodeData::Dict(_))) {
                        return self.wrong("NEWOBJ_EX keyword arguments must be a dict");
                    }
                    self.push_node(node_object(Construct::NewObjEx, cls, args, Some(kwargs)))?;
                }
                op::INST => {
                    let (module, name) = arg.lines();
                    let (Ok(module), Ok(name)) =
                        (std::str::from_utf8(module), std::str::from_utf8(name))
                    else {
                        return self.bad("INST names must be UTF-8");
                    };
                    let cls = reduce::global(self.proto, module, name);
                    let args = self.mark_items()?;
                    self.push_node(node_object(Construct::Inst, cls, args, None))?;
                }
                op::OBJ => {
                    let mut items = self.mark_items()?;
                    if items.is_empty() {
                        return Err(self.err(K::StackUnderflow));
                    }
                    let cls = items.remove(0);
                    self.check_callable(&cls, "OBJ")?;
                    self.push_node(node_object(Construct::Obj, cls, items, None))?;
                }
                op::BUILD => {
                    let state = self.pop()?;
                    let slot = self.stack.len().checked_sub(1);
                    let slot = match slot {
                        Some(s) if s >= self.fence() => s,
                        _ => return Err(self.err(K::StackUnderflow)),
                    };
                    if self.as_step(slot + 1)? {
                        self.charge(SLOT)?;
                        self.effects_at(slot)?.push(Step::Build, [state]);
                        continue;
                    }
                    let target = self.stack[slot].clone();
                    match self.arena.node_mut(&target) {
                        Some(NodeData::Object(o)) => o.state = Some(state),
                        _ => return self.wrong("BUILD onto something that is not an object"),
                    }
                }
                op::EXT1 | op::EXT2 | op::EXT4 => {
                    let c = arg.int();
                    return self.bad(format!("unregistered extension code {c}"));
                }
                op::PERSID | op::BINPERSID => {
                    return self.bad("persistent IDs are not supported");
                }
                other => return Err(self.err(K::UnknownOpcode(other))),
            }
        }
    }

    /// `STOP`: the value on top, as CPython's `load_stop` takes it. Whatever follows
    /// `STOP` is ignored, as CPython ignores it; values left below the top (or an open
    /// MARK) are dropped when building them did nothing else, and refused otherwise.
    fn stop(&mut self) -> R<Value> {
        if self.stack.len() <= self.fence() {
            // CPython: "unpickling stack underflow".
            return Err(self.err(K::BadStop(if self.marks.is_empty() {
                "no value on the stack".into()
            } else {
                "no value above the last MARK".into()
            })));
        }
        let top = self.pop()?;
        let rest: Vec<Value> = self.stack.drain(..).collect();
        self.marks.clear();
        for v in &rest {
            if !self.is_inert(v) {
                return Err(self.err(K::Unrepresentable(
                    "a value that performs calls is left on the stack below the result".into(),
                )));
            }
        }
        Ok(top)
    }

    /// True when `v` can be forgotten without changing what CPython would have done:
    /// not a node, a node that lives on elsewhere (memo GET / DUP), or containers that
    /// hold no calls.
    fn is_inert(&self, v: &Value) -> bool {
        if !matches!(v, Value::Ref(_)) || self.arena.is_shared(v) {
            return true;
        }
        let mut seen = std::collections::HashSet::new();
        let mut work = vec![v.clone()];
        while let Some(v) = work.pop() {
            let Value::Ref(n) = v else { continue };
            if self.arena.is_shared(&v) || !seen.insert(n) {
                continue;
            }
            match self.arena.node(&v) {
                Some(NodeData::Object(_) | NodeData::Effects(_)) => return false,
                Some(NodeData::List(x) | NodeData::Tuple(x))
                | Some(NodeData::Set(x) | NodeData::FrozenSet(x)) => {
                    work.extend(x.iter().filter(|c| matches!(c, Value::Ref(_))).cloned())
                }
                Some(NodeData::Dict(d)) => {
                    for (k, x) in d {
                        work.extend(
                            [k, x]
                                .into_iter()
                                .filter(|c| matches!(c, Value::Ref(_)))
                                .cloned(),
                        );
                    }
                }
                None => {}
            }
        }
        true
    }

    /// `POP` / `POP_MARK` of `v`: a call made for its effect (or a container changed
    /// through the memo) becomes a step after the value below it; a `state_setter` call
    /// on the object just built becomes [`Step::SetState`]; anything without effects is
    /// forgotten, as CPython forgets it.
    fn discard(&mut self, v: Value) -> R<()> {
        let is_effects = matches!(self.arena.node(&v), Some(NodeData::Effects(_)));
        if !is_effects && (!matches!(v, Value::Ref(_)) || self.arena.is_shared(&v)) {
            return Ok(());
        }
        if !is_effects && self.duplicate_of_next_get(&v) {
            return Ok(());
        }
        let below = self
            .stack
            .len()
            .checked_sub(1)
            .filter(|&s| s >= self.fence());
        let Some(below) = below else {
            if !is_effects && self.is_inert(&v) {
                return Ok(());
            }
            return Err(self.err(K::Unrepresentable(
                "a call whose result is discarded before any other value was built".into(),
            )));
        };
        if let Some((setter, state)) = self.state_setter_call(&v, below) {
            self.charge(2 * SLOT)?;
            self.effects_at(below)?
                .push(Step::SetState, [setter, state]);
            return Ok(());
        }
        self.charge(SLOT)?;
        self.effects_at(below)?.push(Step::Discard, [v]);
        Ok(())
    }

    /// True when `v` is CPython's throw-away copy of a recursive object: `save_reduce` /
    /// `save_tuple` write an object whose arguments lead back to it twice (the inner copy
    /// is memoized), then `POP` the outer copy and `GET` the inner one. `v` is that outer
    /// copy when the next opcode is a memo GET of a node built the same way (same callable,
    /// the same arguments), so forgetting it loses nothing.
    fn duplicate_of_next_get(&mut self, v: &Value) -> bool {
        let idx = match read_op(self.data, self.pos) {
            Ok((Op { code, arg }, _)) => match code {
                op::BINGET | op::LONG_BINGET => arg.uint(),
                op::GET => match text::parse_index(arg.bytes()) {
                    Ok(i) => i,
                    Err(_) => return false,
                },
                _ => return false,
            },
            Err(_) => return false,
        };
        let Some(m) = self.memo.get(idx) else {
            return false;
        };
        // Past the budget the value is kept as an effect: always faithful, only less
        // compact.
        let mut budget = self.copy_budget.min(4096);
        let start = budget;
        let alike = self.built_alike(v, m, 4, &mut budget);
        let found = alike && self.reaches(v, m, &mut budget);
        self.copy_budget -= start - budget;
        found
    }

    /// True when node `to` can be reached from `from` (the inner copy of a recursive
    /// object is built inside the outer one's arguments). Gives up (false) when `budget`
    /// nodes were visited.
    fn reaches(&self, from: &Value, to: &Value, budget: &mut usize) -> bool {
        let Value::Ref(target) = to else {
            return false;
        };
        let mut seen = std::collections::HashSet::new();
        let mut work = vec![from.clone()];
        while let Some(v) = work.pop() {
            let Value::Ref(n) = v else { continue };
            if n == *target {
                return true;
            }
            if *budget == 0 {
                return false;
            }
            if !seen.insert(n) {
                continue;
            }
            *budget -= 1;
            if let Some(node) = self.arena.node(&v) {
                node.for_each_child(|c| {
                    if matches!(c, Value::Ref(_)) {
                        work.push(c.clone())
                    }
                });
            }
        }
        false
    }

    /// True when nodes `a` and `b` were built by the same steps from the same parts
    /// (shared parts are the same node; fresh containers compared the same way, `depth`
    /// levels down and `budget` comparisons at most).
    fn built_alike(&self, a: &Value, b: &Value, depth: u32, budget: &mut usize) -> bool {
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        match (a, b) {
            (Value::Ref(i), Value::Ref(j)) if i == j => return true,
            (Value::Ref(_), Value::Ref(_)) => {}
            (Value::Ref(_), _) | (_, Value::Ref(_)) => return false,
            _ => return a == b,
        }
        if depth == 0 {
            return false;
        }
        let all = |x: &[Value], y: &[Value], budget: &mut usize| {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(p, q)| self.built_alike(p, q, depth - 1, budget))
        };
        match (self.arena.node(a), self.arena.node(b)) {
            (Some(NodeData::Object(x)), Some(NodeData::Object(y))) => {
                x.construct == y.construct
                    && x.kwargs.is_none() == y.kwargs.is_none()
                    && self.built_alike(&x.callable, &y.callable, depth - 1, budget)
                    && all(&x.args, &y.args, budget)
                    && match (&x.kwargs, &y.kwargs) {
                        (Some(p), Some(q)) => self.built_alike(p, q, depth - 1, budget),
                        _ => true,
                    }
            }
            (Some(NodeData::List(x)), Some(NodeData::List(y)))
            | (Some(NodeData::Tuple(x)), Some(NodeData::Tuple(y)))
            | (Some(NodeData::Set(x)), Some(NodeData::Set(y)))
            | (Some(NodeData::FrozenSet(x)), Some(NodeData::FrozenSet(y))) => all(x, y, budget),
            (Some(NodeData::Dict(x)), Some(NodeData::Dict(y))) => {
                x.len() == y.len()
                    && x.iter().zip(y).all(|((k1, v1), (k2, v2))| {
                        self.built_alike(k1, k2, depth - 1, budget)
                            && self.built_alike(v1, v2, depth - 1, budget)
                    })
            }
            _ => false,
        }
    }

    /// `(state_setter, state)` when `v` is `state_setter(obj, state)` as `save_reduce`
    /// writes it for the object `obj` at stack slot `below`: a REDUCE with an unmemoized
    /// 2-tuple whose first item is that object, itself not memoized.
    fn state_setter_call(&self, v: &Value, below: usize) -> Option<(Value, Value)> {
        let Value::Ref(n) = v else { return None };
        if self.last_reduce != Some((*n, false)) || self.arena.is_memoized(v) {
            return None;
        }
        let Some(NodeData::Object(call)) = self.arena.node(v) else {
            return None;
        };
        let plain = call.construct == Construct::Reduce
            && call.kwargs.is_none()
            && call.state.is_none()
            && call.list_items.is_empty()
            && call.dict_items.is_empty();
        let [obj, state] = call.args.as_slice() else {
            return None;
        };
        let target = self.look_through(&self.stack[below]);
        let same = matches!((obj, target), (Value::Ref(a), Value::Ref(b)) if a == b);
        if !plain || !same || self.is_got(below) {
            return None;
        }
        if !matches!(self.arena.node(obj), Some(NodeData::Object(_))) {
            return None;
        }
        Some((call.callable.clone(), state.clone()))
    }

    /// The effects node at stack slot `slot`, made (around the value there) if needed.
    fn effects_at(&mut self, slot: usize) -> R<&mut EffectsNode> {
        let existing = matches!(
            self.arena.node(&self.stack[slot]),
            Some(NodeData::Effects(_))
        );
        if !existing {
            let target = std::mem::replace(&mut self.stack[slot], Value::None);
            let v = self.new_node(NodeData::Effects(Box::new(EffectsNode::new(target))))?;
            self.stack[slot] = v;
        }
        let v = self.stack[slot].clone();
        match self.arena.node_mut(&v) {
            Some(NodeData::Effects(e)) => Ok(e),
            _ => unreachable!("made above"),
        }
    }

    /// Whether items or state given to the object under a MARK at `m` (at slot `m - 1`)
    /// are a step of their own rather than part of the object as first built: the slot
    /// holds a node fetched again, already carries effects, or is an object whose state
    /// was already set (CPython's pickler writes items before state).
    fn as_step(&self, m: usize) -> R<bool> {
        if m == 0 || m > self.stack.len() {
            return Err(self.err(K::StackUnderflow));
        }
        let slot = m - 1;
        let v = &self.stack[slot];
        Ok(match self.arena.node(v) {
            Some(NodeData::Effects(_)) => true,
            Some(NodeData::Object(o)) => o.state.is_some() || self.is_got(slot),
            Some(_) => self.is_got(slot),
            None => false,
        })
    }

    /// APPEND(S) / SETITEM(S) / ADDITEMS through a step: the items `stack[m..]` become a
    /// step of the effects node at `m - 1`.
    fn step_items(&mut self, m: usize, code: u8) -> R<()> {
        let n = self.stack.len() - m;
        let target = self.look_through(&self.stack[m - 1]).clone();
        let kind = self.arena.node(&target);
        let ok = match code {
            op::APPEND | op::APPENDS => {
                matches!(kind, Some(NodeData::List(_) | NodeData::Object(_)))
            }
            op::SETITEM | op::SETITEMS => {
                matches!(kind, Some(NodeData::Dict(_) | NodeData::Object(_)))
            }
            _ => matches!(kind, Some(NodeData::Set(_))),
        };
        if !ok {
            return self.wrong("items added to something that cannot hold them");
        }
        let step = match code {
            op::APPEND | op::APPENDS => Step::Append {
                marked: code == op::APPENDS,
                n,
            },
            op::SETITEM | op::SETITEMS => {
                if n % 2 != 0 {
                    return self.bad("odd number of items for SETITEMS");
                }
                Step::SetItems {
                    marked: code == op::SETITEMS,
                    n: n / 2,
                }
            }
            _ => Step::AddItems(n),
        };
        self.charge(n * SLOT)?;
        let items: Vec<Value> = self.stack.drain(m..).collect();
        self.effects_at(m - 1)?.push(step, items);
        Ok(())
    }

    /// A Python 2 `str` (STRING / BINSTRING / SHORT_BINSTRING), decoded as ASCII like
    /// CPython's default `encoding='ASCII'`.
    fn py2_str(&mut self, b: &[u8]) -> R<()> {
        if !b.is_ascii() {
            return self.bad("Python 2 str is not ASCII");
        }
        let s = std::str::from_utf8(b).expect("ASCII is UTF-8");
        self.stack.push(Value::Str(PyStr::from(s)));
        Ok(())
    }

    /// The node under a MARK at `m` (the target of APPENDS / SETITEMS / ADDITEMS).
    fn target(&self, m: usize) -> R<u32> {
        if m == 0 || m > self.stack.len() {
            return Err(self.err(K::StackUnderflow));
        }
        match self.stack[m - 1] {
            Value::Ref(i) => Ok(i),
            _ => self.wrong("items added to something that is not a container"),
        }
    }

    /// Moves `stack[m..]` into the list (or object) at `stack[m - 1]`.
    fn append(&mut self, m: usize, code: u8) -> R<()> {
        if self.as_step(m)? {
            return self.step_items(m, code);
        }
        if m >= self.stack.len() {
            return Ok(());
        }
        let i = self.target(m)?;
        self.charge((self.stack.len() - m) * SLOT)?;
        match self.arena.get_mut(i) {
            Some(NodeData::List(l)) => l.extend(self.stack.drain(m..)),
            Some(NodeData::Object(o)) => o.list_items.extend(self.stack.drain(m..)),
            _ => return self.wrong("APPEND onto something that is not a list"),
        }
        Ok(())
    }

    /// Moves the key/value pairs `stack[m..]` into the dict (or object) at `stack[m - 1]`.
    fn set_items(&mut self, m: usize, code: u8) -> R<()> {
        if self.as_step(m)? {
            return self.step_items(m, code);
        }
        if m >= self.stack.len() {
            return Ok(());
        }
        if (self.stack.len() - m) % 2 != 0 {
            return self.bad("odd number of items for SETITEMS");
        }
        let i = self.target(m)?;
        self.charge((self.stack.len() - m) * SLOT)?;
        match self.arena.get_mut(i) {
            Some(NodeData::Dict(d)) => push_pairs(d, &mut self.stack, m),
            Some(NodeData::Object(o)) => push_pairs(&mut o.dict_items, &mut self.stack, m),
            _ => return self.wrong("SETITEM onto something that is not a dict"),
        }
        Ok(())
    }

    /// Refuses what CPython can never call: `None`, numbers, strings, bytes and the
    /// built-in containers (`N)R.` raises `TypeError: 'NoneType' object is not callable`).
    /// Globals and objects may be callables or classes.
    fn check_callable(&self, v: &Value, what: &str) -> R<()> {
        let ok = match self.look_through(v) {
            Value::Global(_) | Value::Object(_) => true,
            t @ Value::Ref(_) => matches!(self.arena.node(t), Some(NodeData::Object(_))),
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            self.wrong(&format!("{what} of something that cannot be called"))
        }
    }

    /// The items of a tuple argument (REDUCE / NEWOBJ), copied.
    fn tuple_items(&mut self, args: &Value, what: &str) -> R<Vec<Value>> {
        let items = match self.arena.node_mut(args) {
            Some(NodeData::Tuple(t)) => t.clone(),
            _ => return self.wrong(&format!("{what} arguments must be a tuple")),
        };
        for v in &items {
            self.arena.mark_shared(v);
        }
        self.charge(NODE_COST + items.len() * SLOT)?;
        Ok(items)
    }

    /// Native values for the well-known reduce patterns ([`reduce::recognise`]); `None`
    /// for anything else.
    fn normalize(&mut self, callable: &Value, args: &[Value]) -> R<Option<Value>> {
        let Some(pattern) = reduce::recognise(callable, args) else {
            return Ok(None);
        };
        match pattern {
            Pattern::Set { frozen, items } => {
                let items = match items.map(|l| self.arena.node_mut(l)) {
                    None => Vec::new(),
                    Some(Some(NodeData::List(l))) => l.clone(),
                    Some(_) => return Ok(None),
                };
                for v in &items {
                    self.arena.mark_shared(v);
                }
                self.charge(items.len() * SLOT)?;
                let data = if frozen {
                    NodeData::FrozenSet(items)
                } else {
                    NodeData::Set(items)
                };
                self.new_node(data).map(Some)
            }
            Pattern::NewObjEx { cls, args, kwargs } => {
                let items = match self.arena.node_mut(args) {
                    Some(NodeData::Tuple(t)) => t.clone(),
                    _ => return Ok(None),
                };
                if !matches!(self.arena.node_mut(kwargs), Some(NodeData::Dict(_))) {
                    return Ok(None);
                }
                for v in &items {
                    self.arena.mark_shared(v);
                }
                self.charge(items.len() * SLOT)?;
                let o = object(
                    Construct::NewObjEx,
                    cls.clone(),
                    items,
                    Some(kwargs.clone()),
                );
                self.new_node(NodeData::Object(Box::new(o))).map(Some)
            }
            Pattern::Native(n) => {
                self.charge(n.cost())?;
                Ok(Some(n.into_value(self.proto)))
            }
        }
    }
}

/// Moves `stack[m..]` (an even number of items) into `d` as `(k, v)` pairs.
fn push_pairs(d: &mut Vec<(Value, Value)>, stack: &mut Vec<Value>, m: usize) {
    let items = &mut stack[m..];
    d.reserve(items.len() / 2);
    for kv in items.chunks_exact_mut(2) {
        let k = std::mem::replace(&mut kv[0], Value::None);
        let v = std::mem::replace(&mut kv[1], Value::None);
        d.push((k, v));
    }
    stack.truncate(m);
}

/// A little-endian two's complement integer (LONG1 / LONG4).
fn long_le(b: &[u8]) -> Value {
    match super::reader::small_long(b) {
        Some(i) => Value::Int(i),
        None => Value::int(BigInt::from_signed_bytes_le(b)),
    }
}

/// The node of the object a call builds.
fn node_object(
    construct: Construct,
    callable: Value,
    args: Vec<Value>,
    kwargs: Option<Value>,
) -> NodeData {
    NodeData::Object(Box::new(object(construct, callable, args, kwargs)))
}
