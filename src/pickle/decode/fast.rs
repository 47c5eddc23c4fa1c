//! The fast path: decodes straight into `Value`s, for the pickles CPython writes for
//! ordinary data (containers built once, never reached again while still being built).
//!
//! It runs the same opcode loop as the graph decoder, but a container is a `Value` (an
//! `Arc`) from the moment it is created. A memoized value still on the stack is not
//! cloned: its memo slot names its stack position (`GET` clones it from there), and the
//! memo takes its clone when the value leaves the stack. So `GET` of a container gives the
//! very same allocation (identity is kept), and a container on the stack can be changed in
//! place (APPEND(S), SETITEM(S), ADDITEMS, BUILD) exactly when [`Arc::get_mut`] succeeds.
//! When it does not, the container is also held elsewhere while it is still being built
//! (a cycle, or sharing the graph decoder must see), and the fast path gives up.
//!
//! Most memoized values are never read back (CPython memoizes every str and container),
//! so once a pickle has stored a few dozen memo entries, one quick scan of the remaining
//! opcodes finds the memo indices some later GET reads; from then on only those get memo
//! entries (the others are counted, as the limits require).
//!
//! Giving up (`None`) is always allowed: the caller then runs the graph decoder on the
//! whole input, which also produces every error. The fast path therefore never reports an
//! error itself; it gives up on anything the graph decoder would refuse, and on anything
//! it does not handle (protocol 0 text opcodes, INST / OBJ, memo overwrites or sparse
//! memo indices). When it succeeds, its value is the one the graph decoder would give,
//! sharing included: it charges at least what the graph decoder charges against
//! `max_alloc`, counts memo entries the same way, and gives up as soon as a container
//! would be nested deeper than `max_depth` (each stack entry carries the height of its
//! value; the graph decoder measures depth along first visits, which is never more).

use std::sync::Arc;

use super::reduce::{self, object, Pattern};
use super::{long_le, op, DecodeOptions, NODE_COST, SLOT};
use crate::pickle::reader::{read_op, Arg, Op};
use crate::value::{Construct, Items, Pairs, PyStr, Value};

/// `Meta::memo` of a stack entry that was not memoized.
const NO_MEMO: u32 = u32::MAX;

/// What the stack knows about each value besides the value itself.
#[derive(Clone, Copy)]
struct Meta {
    /// The memo index this entry's value is stored under (`NO_MEMO` when none).
    memo: u32,
    /// Containers on the longest path down from the value (0 for a scalar).
    height: u32,
}

const SCALAR: Meta = Meta {
    memo: NO_MEMO,
    height: 0,
};

/// One memo entry.
enum MemoSlot {
    /// Never stored.
    Empty,
    /// The value is still on the stack, at this index (the entry whose `Meta::memo` names
    /// this slot): the memo holds no clone yet, so the value can still be changed in
    /// place. It gets its clone when it leaves the stack ([`Fast::release`]).
    OnStack(u32),
    /// A clone of the value, and its height.
    Owned(Value, u32),
}

struct Fast<'a> {
    data: &'a [u8],
    pos: usize,
    /// The stack's values and, in step, what is known about them.
    vals: Vec<Value>,
    meta: Vec<Meta>,
    /// Stack lengths at each MARK.
    marks: Vec<usize>,
    /// Slots of the memo indices some GET reads (see [`fetched_indices`]); indices no GET
    /// reads are only counted and recorded in `stored`.
    memo: Vec<MemoSlot>,
    /// Bit set of the memo indices a GET in the rest of the input reads, once
    /// [`SCAN_AFTER`] entries were stored (`None` before: every entry is kept).
    fetched: Option<Vec<u64>>,
    /// Bit set of the memo indices stored so far (to leave overwrites to the graph
    /// decoder).
    stored: Vec<u64>,
    /// One past the highest memo index stored so far.
    memo_end: u64,
    memo_count: usize,
    proto: u8,
    alloc: usize,
    max_alloc: usize,
    max_depth: usize,
    max_memo: usize,
}

/// Decodes `data` directly into a `Value`, or `None` to let the graph decoder do it.
pub(super) fn decode(data: &[u8], options: &DecodeOptions) -> Option<Value> {
    // Stack positions and memo indices are kept as `u32`, and the graph decoder refuses
    // more than `u32::MAX` containers: inputs of 4 GiB or more are its business.
    check(u32::try_from(data.len()).is_ok())?;
    let mut f = Fast {
        data,
        pos: 0,
        vals: Vec::with_capacity(32),
        meta: Vec::with_capacity(32),
        marks: Vec::with_capacity(8),
        memo: Vec::new(),
        fetched: None,
        stored: Vec::new(),
        memo_end: 0,
        memo_count: 0,
        proto: 0,
        alloc: 0,
        max_alloc: options.max_alloc,
        max_depth: options.max_depth,
        max_memo: options.max_memo,
    };
    f.run()
}

/// `Some(())` when `cond` holds, so that `check(..)?` gives up otherwise.
#[inline(always)]
fn check(cond: bool) -> Option<()> {
    cond.then_some(())
}

impl<'a> Fast<'a> {
    // ---- reading ----

    /// Counted bytes, charged (the reader checked that they are present: nothing is
    /// allocated before).
    #[inline(always)]
    fn charged(&mut self, arg: Arg<'a>) -> Option<&'a [u8]> {
        let b = arg.bytes();
        self.charge(b.len())?;
        Some(b)
    }

    #[inline(always)]
    fn charge(&mut self, n: usize) -> Option<()> {
        self.alloc = self.alloc.saturating_add(n);
        check(self.alloc <= self.max_alloc)
    }

    /// Doubles the room of the value and meta stacks, charging it first.
    #[cold]
    fn grow_stack(&mut self) -> Option<()> {
        let more = self.vals.capacity().max(16);
        self.charge(more * (SLOT + std::mem::size_of::<Meta>()))?;
        self.vals.reserve_exact(more);
        self.meta.reserve_exact(more);
        Some(())
    }

    /// The height of a container holding values of height at most `h`.
    #[inline(always)]
    fn level(&self, h: u32) -> Option<u32> {
        let h = h.checked_add(1)?;
        check(h as usize <= self.max_depth)?;
        Some(h)
    }

    /// The memo takes its clones of the values in `stack[m..]`, which are about to
    /// leave the stack.
    #[inline]
    fn release(&mut self, m: usize) {
        for i in m..self.vals.len() {
            let meta = self.meta[i];
            if meta.memo != NO_MEMO {
                self.memo[meta.memo as usize] = MemoSlot::Owned(dup(&self.vals[i]), meta.height);
            }
        }
    }

    /// The height of a container that will hold `stack[m..]`, after [`Fast::release`].
    #[inline]
    fn settle(&mut self, m: usize) -> Option<u32> {
        let mut h = 0;
        // The AND of the memo fields is `NO_MEMO` (all ones) exactly when none of the
        // values is memoized; this form vectorizes.
        let mut memos = NO_MEMO;
        for meta in &self.meta[m..] {
            h = h.max(meta.height);
            memos &= meta.memo;
        }
        if memos != NO_MEMO {
            self.release(m);
        }
        self.level(h)
    }

    // ---- the stack ----

    #[inline(always)]
    fn push(&mut self, v: Value) {
        self.vals.push(v);
        self.meta.push(SCALAR);
    }

    #[inline(always)]
    fn push_meta(&mut self, v: Value, meta: Meta) {
        self.vals.push(v);
        self.meta.push(meta);
    }

    #[inline(always)]
    fn push_container(&mut self, v: Value, height: u32) {
        self.push_meta(
            v,
            Meta {
                memo: NO_MEMO,
                height,
            },
        );
    }

    #[inline(always)]
    fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    #[inline(always)]
    fn pop(&mut self) -> Option<(Value, Meta)> {
        check(self.vals.len() > self.fence())?;
        self.release(self.vals.len() - 1);
        Some((self.vals.pop()?, self.meta.pop()?))
    }

    #[inline(always)]
    fn has_top(&self) -> Option<()> {
        check(self.vals.len() > self.fence())
    }

    #[inline(always)]
    fn pop_mark(&mut self) -> Option<usize> {
        self.marks.pop()
    }

    /// Pops `stack[m..]` into a `Vec`.
    #[inline]
    fn drain_from(&mut self, m: usize) -> Vec<Value> {
        self.meta.truncate(m);
        self.vals.split_off(m)
    }

    // ---- changing a container on the stack ----

    /// Takes the value at `t` out of the stack, to change it in place: `Arc::get_mut`
    /// succeeds when nothing else holds it (the memo holds no clone of a value that is
    /// still on the stack).
    #[inline]
    fn open(&mut self, t: usize) -> Value {
        std::mem::replace(&mut self.vals[t], Value::None)
    }

    /// Puts back what [`Fast::open`] took, with the value's new height.
    #[inline]
    fn close(&mut self, t: usize, v: Value, height: u32) {
        let meta = &mut self.meta[t];
        meta.height = meta.height.max(height);
        self.vals[t] = v;
    }

    /// Moves `stack[m..]` into the list (or object) at `stack[m - 1]` (APPEND, APPENDS).
    fn append(&mut self, m: usize) -> Option<()> {
        // Even with no items there must be a target below the mark (CPython: stack
        // underflow); the graph decoder says so.
        check(m > 0)?;
        let len = self.vals.len();
        if m >= len {
            return Some(());
        }
        self.charge((len - m) * SLOT)?;
        let h = self.settle(m)?;
        let t = m - 1;
        let mut target = self.open(t);
        match &mut target {
            Value::List(a) => Arc::get_mut(a)?.0.extend(self.vals.drain(m..)),
            Value::Object(o) => Arc::get_mut(o)?.list_items.extend(self.vals.drain(m..)),
            _ => return None,
        }
        self.meta.truncate(m);
        self.close(t, target, h);
        Some(())
    }

    /// Moves the pairs `stack[m..]` into the dict (or object) at `stack[m - 1]`.
    fn set_items(&mut self, m: usize) -> Option<()> {
        // Even with no items there must be a target below the mark (CPython: stack
        // underflow); the graph decoder says so.
        check(m > 0)?;
        let len = self.vals.len();
        if m >= len {
            return Some(());
        }
        check((len - m) % 2 == 0)?;
        self.charge((len - m) * SLOT)?;
        let h = self.settle(m)?;
        let t = m - 1;
        let mut target = self.open(t);
        match &mut target {
            Value::Dict(a) => push_pairs(&mut Arc::get_mut(a)?.0, &mut self.vals, m),
            Value::Object(o) => push_pairs(&mut Arc::get_mut(o)?.dict_items, &mut self.vals, m),
            _ => return None,
        }
        self.meta.truncate(m);
        self.close(t, target, h);
        Some(())
    }

    fn add_items(&mut self, m: usize) -> Option<()> {
        // Even with no items there must be a target below the mark (CPython: stack
        // underflow); the graph decoder says so.
        check(m > 0)?;
        let len = self.vals.len();
        if m >= len {
            return Some(());
        }
        self.charge((len - m) * SLOT)?;
        let h = self.settle(m)?;
        let t = m - 1;
        let mut target = self.open(t);
        match &mut target {
            Value::Set(a) => Arc::get_mut(a)?.0.extend(self.vals.drain(m..)),
            _ => return None,
        }
        self.meta.truncate(m);
        self.close(t, target, h);
        Some(())
    }

    // ---- the memo ----

    fn memo_put(&mut self, idx: u64) -> Option<()> {
        self.has_top()?;
        // Sparse indices (the graph decoder's sparse map) and overwrites are left to the
        // graph decoder.
        check(idx < self.memo_end + 64)?;
        let (word, bit) = ((idx / 64) as usize, 1u64 << (idx % 64));
        if word >= self.stored.len() {
            self.stored.resize(word + 1, 0);
        }
        check(self.stored[word] & bit == 0)?;
        self.stored[word] |= bit;
        self.memo_end = self.memo_end.max(idx + 1);
        self.memo_count += 1;
        self.charge(SLOT + 8)?;
        check(self.memo_count <= self.max_memo)?;
        let keep = match &self.fetched {
            None => true,
            Some(bits) => bits.get(word).is_some_and(|w| w & bit != 0),
        };
        if keep {
            self.memo_slot(idx)?;
        }
        if self.fetched.is_none() && self.memo_count >= SCAN_AFTER {
            // `pos` is at the next opcode: GETs before it are done.
            self.fetched = Some(fetched_indices(self.data, self.pos)?);
        }
        Some(())
    }

    /// Fills the slot of `idx`, a memo index that some GET reads.
    fn memo_slot(&mut self, idx: u64) -> Option<()> {
        let i = usize::try_from(idx).ok()?;
        if i >= self.memo.len() {
            self.memo.resize_with(i + 1, || MemoSlot::Empty);
        }
        let top = self.vals.len() - 1;
        let meta = self.meta[top];
        self.memo[i] = if meta.memo == NO_MEMO {
            self.meta[top].memo = u32::try_from(idx).ok().filter(|k| *k != NO_MEMO)?;
            MemoSlot::OnStack(u32::try_from(top).ok()?)
        } else {
            // Stored twice: the value can no longer change in place.
            MemoSlot::Owned(dup(&self.vals[top]), meta.height)
        };
        Some(())
    }

    #[inline]
    fn memo_get(&mut self, idx: usize) -> Option<()> {
        let (v, height) = match self.memo.get(idx)? {
            MemoSlot::Owned(v, h) => (dup(v), *h),
            MemoSlot::OnStack(p) => {
                let p = *p as usize;
                (dup(&self.vals[p]), self.meta[p].height)
            }
            MemoSlot::Empty => return None,
        };
        self.push_meta(
            v,
            Meta {
                memo: NO_MEMO,
                height,
            },
        );
        Some(())
    }

    // ---- objects ----

    /// The items of a tuple argument (REDUCE / NEWOBJ), with their greatest height.
    fn tuple_items(&mut self, args: Value, meta: Meta) -> Option<(Vec<Value>, u32)> {
        let Value::Tuple(t) = args else {
            return None;
        };
        let items = match Arc::try_unwrap(t) {
            Ok(items) => items.into_vec(),
            Err(t) => t.to_vec(),
        };
        self.charge(NODE_COST + items.len() * SLOT)?;
        Some((items, meta.height.saturating_sub(1)))
    }

    fn new_object(
        &mut self,
        construct: Construct,
        callable: Value,
        args: Vec<Value>,
        kwargs: Option<Value>,
        height: u32,
    ) -> Option<()> {
        self.charge(NODE_COST)?;
        let h = self.level(height)?;
        let o = object(construct, callable, args, kwargs);
        self.push_container(Value::Object(Arc::new(o)), h);
        Some(())
    }

    /// The graph decoder's `normalize` ([`reduce::recognise`]): `Some(Some((value,
    /// height)))` for a well-known reduce pattern, `Some(None)` for an ordinary object.
    fn normalize(
        &mut self,
        callable: &Value,
        args: &[Value],
        args_height: u32,
    ) -> Option<Option<(Value, u32)>> {
        let Some(pattern) = reduce::recognise(callable, args) else {
            return Some(None);
        };
        Some(Some(match pattern {
            Pattern::Set { frozen, items } => {
                let (items, h) = match items {
                    None => (Items::new(), 0),
                    Some(Value::List(l)) => {
                        let items = l.to_vec();
                        self.charge(items.len() * SLOT)?;
                        // The list's height is args_height; its items are one less.
                        let h = args_height.saturating_sub(1).saturating_sub(1);
                        (Items::from(items), h)
                    }
                    Some(_) => return Some(None),
                };
                self.charge(NODE_COST)?;
                let h = self.level(h)?;
                let items = Arc::new(items);
                let v = if frozen {
                    Value::FrozenSet(items)
                } else {
                    Value::Set(items)
                };
                (v, h)
            }
            Pattern::NewObjEx { cls, args, kwargs } => {
                let (Value::Tuple(t), Value::Dict(_)) = (args, kwargs) else {
                    return Some(None);
                };
                let items = t.to_vec();
                self.charge(NODE_COST + items.len() * SLOT)?;
                // The object holds what the argument tuple held, one level down at most.
                let h = self.level(args_height.saturating_sub(1))?;
                let o = object(
                    Construct::NewObjEx,
                    cls.clone(),
                    items,
                    Some(kwargs.clone()),
                );
                (Value::Object(Arc::new(o)), h)
            }
            Pattern::Native(n) => {
                self.charge(n.cost())?;
                (n.into_value(self.proto), 0)
            }
        }))
    }

    // ---- the loop ----

    fn run(&mut self) -> Option<Value> {
        loop {
            let (Op { code, arg }, next) = read_op(self.data, self.pos).ok()?;
            self.pos = next;
            // Room for one more stack entry, charged before it is allocated (the graph
            // decoder charges its stack the same way; scalars left on the stack cost
            // memory too).
            if self.vals.len() == self.vals.capacity() {
                self.grow_stack()?;
            }
            match code {
                op::STOP => {
                    check(
                        self.marks.is_empty()
                            && self.vals.len() == 1
                            && self.pos == self.data.len(),
                    )?;
                    return self.vals.pop();
                }
                op::PROTO => {
                    let p = arg.uint() as u8;
                    check(p <= 5)?;
                    self.proto = p;
                }
                // The reader checked that the frame is there whole.
                op::FRAME => {}
                // ---- scalars ----
                op::NONE => self.push(Value::None),
                op::NEWTRUE => self.push(Value::Bool(true)),
                op::NEWFALSE => self.push(Value::Bool(false)),
                op::BININT | op::BININT1 | op::BININT2 => self.push(Value::Int(arg.int())),
                op::LONG1 | op::LONG4 => {
                    let b = self.charged(arg)?;
                    self.push(long_le(b));
                }
                op::BINFLOAT => self.push(Value::Float(arg.float())),
                // ---- strings and bytes ----
                op::SHORT_BINUNICODE | op::BINUNICODE | op::BINUNICODE8 => {
                    let b = self.charged(arg)?;
                    let s = PyStr::from_surrogatepass(b)?;
                    self.push(Value::Str(s));
                }
                op::SHORT_BINBYTES | op::BINBYTES | op::BINBYTES8 => {
                    let b = self.charged(arg)?;
                    self.push(Value::Bytes(Arc::from(b)));
                }
                op::BYTEARRAY8 => {
                    let b = self.charged(arg)?;
                    self.push(Value::ByteArray(Arc::new(b.to_vec())));
                }
                op::SHORT_BINSTRING | op::BINSTRING => {
                    let b = self.charged(arg)?;
                    self.py2_str(b)?;
                }
                op::READONLY_BUFFER => {
                    self.has_top()?;
                    let top = self.vals.len() - 1;
                    match &self.vals[top] {
                        Value::Bytes(_) => {}
                        Value::ByteArray(b) => {
                            let v = Value::Bytes(Arc::from(b.as_slice()));
                            // The memo keeps the bytearray, as in the graph decoder.
                            self.release(top);
                            self.vals[top] = v;
                            self.meta[top] = SCALAR;
                        }
                        _ => return None,
                    }
                }
                // ---- containers ----
                op::EMPTY_LIST => self.empty(Value::List(Arc::new(Items::new())))?,
                op::EMPTY_TUPLE => self.empty(Value::Tuple(Arc::new(Items::new())))?,
                op::EMPTY_DICT => self.empty(Value::Dict(Arc::new(Pairs::new())))?,
                op::EMPTY_SET => self.empty(Value::Set(Arc::new(Items::new())))?,
                op::LIST | op::TUPLE | op::FROZENSET => {
                    let m = self.pop_mark()?;
                    self.charge(2 * NODE_COST + (self.vals.len() - m) * SLOT)?;
                    let h = self.settle(m)?;
                    let items = Arc::new(Items::from(self.drain_from(m)));
                    let v = match code {
                        op::LIST => Value::List(items),
                        op::TUPLE => Value::Tuple(items),
                        _ => Value::FrozenSet(items),
                    };
                    self.push_container(v, h);
                }
                op::DICT => {
                    let m = self.pop_mark()?;
                    let n = self.vals.len() - m;
                    check(n % 2 == 0)?;
                    self.charge(2 * NODE_COST + n * SLOT)?;
                    let h = self.settle(m)?;
                    let mut pairs = Vec::new();
                    push_pairs(&mut pairs, &mut self.vals, m);
                    self.meta.truncate(m);
                    self.push_container(Value::Dict(Arc::new(Pairs::from(pairs))), h);
                }
                op::TUPLE1 | op::TUPLE2 | op::TUPLE3 => {
                    let n = usize::from(code - op::TUPLE1 + 1);
                    check(self.vals.len() >= self.fence() + n)?;
                    self.charge(2 * NODE_COST + n * SLOT)?;
                    let m = self.vals.len() - n;
                    let h = self.settle(m)?;
                    let items = self.drain_from(m);
                    self.push_container(Value::Tuple(Arc::new(Items::from(items))), h);
                }
                op::APPEND => {
                    self.has_top()?;
                    self.append(self.vals.len() - 1)?;
                }
                op::APPENDS => {
                    let m = self.pop_mark()?;
                    self.append(m)?;
                }
                op::SETITEM => {
                    check(self.vals.len() >= self.fence() + 2)?;
                    self.set_items(self.vals.len() - 2)?;
                }
                op::SETITEMS => {
                    let m = self.pop_mark()?;
                    self.set_items(m)?;
                }
                op::ADDITEMS => {
                    let m = self.pop_mark()?;
                    self.add_items(m)?;
                }
                // ---- stack manipulation ----
                op::MARK => {
                    self.charge(8)?;
                    self.marks.push(self.vals.len());
                }
                // A value thrown away is an effect the graph decoder keeps (see
                // `value/effects.rs`).
                op::POP | op::POP_MARK => return None,
                op::DUP => {
                    self.has_top()?;
                    let top = self.vals.len() - 1;
                    let v = self.vals[top].clone();
                    let meta = Meta {
                        memo: NO_MEMO,
                        height: self.meta[top].height,
                    };
                    self.push_meta(v, meta);
                }
                // ---- memo ----
                op::BINGET | op::LONG_BINGET => self.memo_get(arg.uint() as usize)?,
                op::BINPUT | op::LONG_BINPUT => self.memo_put(arg.uint())?,
                op::MEMOIZE => self.memo_put(self.memo_count as u64)?,
                // ---- objects ----
                op::GLOBAL => {
                    // Protocol 4+ pickles name globals with STACK_GLOBAL; a GLOBAL there is
                    // kept as written (`Global::form`) by the graph decoder.
                    check(self.proto < 4)?;
                    let (module, name) = arg.lines();
                    self.charge(module.len() + name.len() + NODE_COST)?;
                    let module = std::str::from_utf8(module).ok()?;
                    let name = std::str::from_utf8(name).ok()?;
                    let g = reduce::global(self.proto, module, name);
                    self.push(g);
                }
                op::STACK_GLOBAL => {
                    let (name, _) = self.pop()?;
                    let (module, _) = self.pop()?;
                    let (Value::Str(module), Value::Str(name)) = (module, name) else {
                        return None;
                    };
                    self.charge(NODE_COST)?;
                    let g = reduce::stack_global(self.proto, module, name);
                    self.push(g);
                }
                op::REDUCE => {
                    let (args, args_meta) = self.pop()?;
                    let (callable, callable_meta) = self.pop()?;
                    // Only what may be called: the graph decoder refuses the rest.
                    check(matches!(callable, Value::Global(_) | Value::Object(_)))?;
                    let (args, h) = self.tuple_items(args, args_meta)?;
                    match self.normalize(&callable, &args, args_meta.height)? {
                        Some((v, h)) => self.push_container(v, h),
                        None => {
                            let h = h.max(callable_meta.height);
                            self.new_object(Construct::Reduce, callable, args, None, h)?;
                        }
                    }
                }
                op::NEWOBJ => {
                    let (args, args_meta) = self.pop()?;
                    let (cls, cls_meta) = self.pop()?;
                    check(matches!(cls, Value::Global(_) | Value::Object(_)))?;
                    let (args, h) = self.tuple_items(args, args_meta)?;
                    let h = h.max(cls_meta.height);
                    self.new_object(Construct::NewObj, cls, args, None, h)?;
                }
                op::NEWOBJ_EX => {
                    let (kwargs, kwargs_meta) = self.pop()?;
                    let (args, args_meta) = self.pop()?;
                    let (cls, cls_meta) = self.pop()?;
                    check(matches!(cls, Value::Global(_) | Value::Object(_)))?;
                    let (args, h) = self.tuple_items(args, args_meta)?;
                    check(matches!(kwargs, Value::Dict(_)))?;
                    let h = h.max(cls_meta.height).max(kwargs_meta.height);
                    self.new_object(Construct::NewObjEx, cls, args, Some(kwargs), h)?;
                }
                op::BUILD => {
                    let (state, state_meta) = self.pop()?;
                    self.has_top()?;
                    let h = self.level(state_meta.height)?;
                    let t = self.vals.len() - 1;
                    let mut target = self.open(t);
                    match &mut target {
                        Value::Object(o) => {
                            // A second BUILD is an effect the graph decoder keeps.
                            let o = Arc::get_mut(o)?;
                            check(o.state.is_none())?;
                            o.state = Some(state);
                        }
                        _ => return None,
                    }
                    self.close(t, target, h);
                }
                // Protocol 0 text opcodes, INST / OBJ and everything refused: the graph
                // decoder's business.
                _ => return None,
            }
        }
    }

    #[inline]
    fn empty(&mut self, v: Value) -> Option<()> {
        self.charge(NODE_COST)?;
        let h = self.level(0)?;
        self.push_container(v, h);
        Some(())
    }

    fn py2_str(&mut self, b: &[u8]) -> Option<()> {
        check(b.is_ascii())?;
        let s = std::str::from_utf8(b).ok()?;
        self.push(Value::Str(PyStr::from(s)));
        Some(())
    }
}

/// Memo entries stored before the fast path looks ahead for GETs (small pickles do not pay
/// for the scan).
const SCAN_AFTER: usize = 64;

/// The memo indices that some BINGET / LONG_BINGET of `data[start..]` (up to the first
/// STOP) reads, as a bit set: the fast path keeps memo entries only for those (most
/// memoized values are never read back). `None` when the scan meets an opcode the fast
/// path does not handle anyway (protocol 0 text opcodes, INST / OBJ, EXT*, persistent
/// IDs, out-of-band buffers), input it cannot read, or an index past what any memo of
/// `data` could hold.
///
/// Opcodes are read by the decoder's own reader ([`read_op`]), so the scan sees the same
/// GETs the decoder will run.
fn fetched_indices(data: &[u8], start: usize) -> Option<Vec<u64>> {
    let limit = data.len() as u64 + 64;
    let mut bits: Vec<u64> = Vec::new();
    let mut pos = start;
    loop {
        let (Op { code, arg }, next) = read_op(data, pos).ok()?;
        pos = next;
        match code {
            op::STOP => break,
            op::BINGET | op::LONG_BINGET => {
                let i = arg.uint();
                check(i < limit)?;
                let word = (i / 64) as usize;
                if word >= bits.len() {
                    bits.resize(word + 1, 0);
                }
                bits[word] |= 1 << (i % 64);
            }
            // What the fast path gives up on anyway.
            op::INT
            | op::LONG
            | op::FLOAT
            | op::STRING
            | op::UNICODE
            | op::GET
            | op::PUT
            | op::INST
            | op::OBJ
            | op::EXT1
            | op::EXT2
            | op::EXT4
            | op::PERSID
            | op::BINPERSID
            | op::NEXT_BUFFER => return None,
            _ => {}
        }
    }
    Some(bits)
}

/// `v.clone()`, inlined for the variants memo hits usually are.
#[inline(always)]
fn dup(v: &Value) -> Value {
    match v {
        Value::Str(s) => Value::Str(s.clone()),
        Value::Tuple(a) => Value::Tuple(Arc::clone(a)),
        Value::List(a) => Value::List(Arc::clone(a)),
        Value::Dict(a) => Value::Dict(Arc::clone(a)),
        Value::Global(a) => Value::Global(Arc::clone(a)),
        other => other.clone(),
    }
}

/// Moves `stack[m..]` (an even number of items) into `d` as `(k, v)` pairs.
#[inline]
fn push_pairs(d: &mut Vec<(Value, Value)>, stack: &mut Vec<Value>, m: usize) {
    let n = (stack.len() - m) / 2;
    debug_assert_eq!(stack.len() - m, 2 * n);
    d.reserve(n);
    let len = d.len();
    // SAFETY: `stack[m..m + 2n]` are initialized values; each is read exactly once and
    // the stack's length is cut to `m` right after, so none is dropped or read again.
    // `d` has room for `n` more pairs (reserved above); each slot `len + i` is written
    // once (both fields) before the length is raised to cover it. Nothing in between
    // can panic. This is a plain move of the values, done by hand because the safe
    // version (moving through `(Value, Value)` temporaries) stalls on store forwarding.
    unsafe {
        let src = stack.as_ptr().add(m);
        let dst = d.as_mut_ptr().add(len);
        for i in 0..n {
            let pair = dst.add(i);
            std::ptr::addr_of_mut!((*pair).0).write(std::ptr::read(src.add(2 * i)));
            std::ptr::addr_of_mut!((*pair).1).write(std::ptr::read(src.add(2 * i + 1)));
        }
        stack.set_len(m);
        d.set_len(len + n);
    }
}
