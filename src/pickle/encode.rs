//! The pickle encoder: [`Value`] → the bytes CPython's C pickler (`_pickle.c`) writes.
//!
//! For the basic kinds the output is byte-identical to `pickle.dumps(obj, protocol)`
//! (protocols 2–5), checked against recorded CPython output in `tests/pickle_encode.rs`.
//! The CPython behaviour reproduced here:
//!
//! * **Memo.** Everything except None, bool, int, float and the empty tuple is memoized
//!   right after it is created (lists, dicts and sets *before* their items, so that cycles
//!   can refer back to them; tuples and frozensets after, see below). Identity is the
//!   allocation: `Arc::as_ptr` of a container, the byte buffer of a [`PyStr`](crate::value::PyStr) or of bytes
//!   (tagged by kind, so an empty str and empty bytes sharing a static buffer stay apart). Protocol 4+
//!   writes `MEMOIZE`, 2–3 `BINPUT` / `LONG_BINPUT`; a second reference is `BINGET` /
//!   `LONG_BINGET`.
//! * **Batching.** Items of lists, dicts and sets go in `MARK … APPENDS/SETITEMS/ADDITEMS`
//!   groups of 1000, with the C pickler's quirks: a one-item list or dict uses
//!   `APPEND`/`SETITEM`; a dict or set whose size is a multiple of 1000 ends with an empty
//!   `MARK SETITEMS`/`MARK ADDITEMS`. (CPython 3.15 changed the exact-list case: a final
//!   batch of one item is written with `APPEND`; we write what 3.8–3.14 write.)
//! * **Framing** (protocol 4+). A frame opens at the first write after `PROTO` or after the
//!   previous frame closed, and closes when a `save` (of any object, however nested)
//!   *starts* with 64 KiB or more in it, and at `STOP`; a
//!   frame under 4 bytes gets no `FRAME` header. A str/bytes/bytearray payload of 64 KiB or
//!   more is written outside any frame.
//! * **Older protocols.** Protocol 2 writes bytes as `_codecs.encode(latin1_text, 'latin1')`
//!   (or `bytes()`), protocols 2–4 write bytearray as `bytearray(bytes)`, protocols 2–3
//!   write set/frozenset as `set([...])`/`frozenset([...])`, and protocol 2 renames globals
//!   to their Python 2 names (`builtins.int` → `__builtin__.long`) as CPython's
//!   `fix_imports` does.
//! * **Recursive tuples** are handled the CPython way: a tuple reached again through a
//!   [`Value::Ref`] while its items are being written is written a second time (its inner
//!   containers are memo hits by then), and the outer copy is then dropped with
//!   `POP`/`POP_MARK` and replaced by a memo `GET`.
//!   So are objects and sets built by a call (`REDUCE`/`NEWOBJ`, `set([...])` at protocols
//!   2–3) reached again through their own arguments: the second copy is written from inside
//!   the first, and an argument list or dict the first copy is still filling is written
//!   afresh for it (a memo `GET` would hand the call an incomplete container that it copies,
//!   e.g. `copyreg._reconstructor(MyList, list, [items])`), as CPython's `__reduce_ex__`
//!   makes a new one each time.
//!
//! **No recursion.** The encoder keeps its own work stack: writing a container writes its
//! opening opcodes and pushes a task for the rest (its items in batches, the opcode that
//! closes it, the memo step after it), and one loop works on the top task until none is
//! left. So a value nested 100 000 deep takes no more native stack than a flat one and no
//! extra threads; the work stack grows by one small task per level for lists, dicts and
//! tuples (a few for an object). Nesting is limited to 200 000 tasks, that is 200 000
//! levels of lists or dicts (an error beyond, as CPython's pickler stops with a
//! `RecursionError` far earlier). Leaves (None, bool, int, float, str) are written
//! straight from the loop over a container's items, without a task of their own.
//!
//! Speed: one output `Vec`, fixed-size writes inlined, a pointer-keyed memo with an
//! identity hasher, and no memo table entry at all for a list or dict that nothing else
//! holds (its `MEMOIZE` is still written). Each thread keeps its last memo table, emptied,
//! for its next message (tables up to [`MEMO_KEEP`] entries, cut down to a few times what
//! the last message used so that emptying stays cheap): a message does not pay for growing
//! and rehashing a table from nothing. A payload of 8 MiB or more is copied into memory
//! advised for transparent huge pages (Linux), which takes most of the page faults out of
//! the copy. About 3× CPython's `dumps` on a list of records.
//!
//! * **Effects** ([`Value::Effects`]): the target, then each step as the opcodes that
//!   perform it: `APPEND` / `MARK … APPENDS`, `SETITEM` / `MARK … SETITEMS`, `MARK …
//!   ADDITEMS`, `BUILD`, `state_setter GET(obj) state TUPLE2 REDUCE POP` (as `save_reduce`
//!   writes it: the tuple is not memoized), and `value POP` for a discarded value (a call
//!   nothing else refers to is written without a memo entry, as `save_reduce(obj=None)`).
//!   A [`Global`] read from a text `GLOBAL` in a protocol 4+ pickle (dill names modules
//!   so) is written as `GLOBAL` again, memoized only when referenced twice; one read from
//!   `getattr(owner, 'name')` at protocol 4+ (how CPython writes a class's method) is
//!   written as that call again ([`GlobalForm`]).
//!
//! Not byte-identical (but loading to an equal object): `NEWOBJ_EX` in protocols 2–3 (we
//! write `copyreg.__newobj_ex__(cls, args, kwargs)` where CPython writes a
//! `functools.partial`), `INST`/`OBJ` objects (re-encoded as `REDUCE` or `NEWOBJ`), and
//! sharing that CPython gets from interned or cached objects our `Value` cannot see (for
//! instance two separately built `Value::global("builtins", ...)` do not share their
//! `'builtins'` string, while CPython's static types do), and `POP_MARK` of values with
//! effects (one `POP` each).

use std::cell::Cell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use num_bigint::BigInt;

use super::opcodes as op;
use super::{EncodeOptions, PickleError, PickleErrorKind};
use crate::value::{Construct, Effect, Effects, Global, GlobalForm, Items, Object, Pairs, Value};

/// Items per `APPENDS` / `SETITEMS` / `ADDITEMS` group (`BATCHSIZE` in `_pickle.c`).
const BATCH: usize = 1000;
/// A frame is closed once it holds this much (`FRAME_SIZE_TARGET`).
const FRAME_TARGET: usize = 64 * 1024;
/// A frame smaller than this gets no header (`FRAME_SIZE_MIN`).
const FRAME_MIN: usize = 4;
/// `FRAME` + 8-byte length.
const FRAME_HEADER: usize = 9;
/// Most tasks on the work stack, i.e. deepest nesting we encode (3.11's pickler stops near
/// 1 000, 3.13's near 10 000, 3.15's somewhere beyond 20 000; our decoder's default limit
/// is 10 000).
const MAX_DEPTH: usize = 200_000;

// Memo keys for objects the encoder makes up itself and that are singletons in CPython
// (so CPython's memo finds them again). Real keys are heap addresses, which are never this
// small; single latin-1 characters and single bytes (also cached by CPython) use
// KEY_LATIN1_CHAR + byte and KEY_BYTE + byte.
const KEY_CODECS_ENCODE: usize = 1;
const KEY_LATIN1: usize = 2;
const KEY_SET: usize = 3;
const KEY_FROZENSET: usize = 4;
const KEY_BYTEARRAY: usize = 5;
const KEY_BYTES: usize = 6;
const KEY_NEWOBJ_EX: usize = 7;
const KEY_GETATTR: usize = 8;
const KEY_LATIN1_CHAR: usize = 0x100;
/// Low-bit tags on str and bytes keys (their buffers are 8-aligned inside the `Arc`).
const TAG_STR: usize = 1;
const TAG_BYTES: usize = 2;
const KEY_BYTE: usize = 0x200;

/// A hasher for memo keys, which are addresses (or the small constants above).
///
/// The default SipHash is built to resist hash flooding by chosen keys; here no peer
/// chooses the keys (they are our own allocation addresses) and the memo is hit once per
/// object written, so a multiply-and-rotate is enough and several times faster. The
/// multiply spreads the address into the high bits; the rotate brings them down to the low
/// bits the table indexes with (addresses are aligned, so their own low bits are zeros).
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_usize` is used; keep a correct fallback anyway.
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(26);
    }
}

type Memo = HashMap<usize, u32, BuildHasherDefault<AddressHasher>>;

/// Memo tables up to this many entries are kept by their thread for the next `encode`
/// (about 2 MiB); larger ones are freed.
const MEMO_KEEP: usize = 1 << 17;
/// A kept memo table has room for at least this many entries.
const MEMO_MIN: usize = 256;

thread_local! {
    /// The last memo table this thread used, emptied: the next message starts with a table
    /// that already has room, instead of growing (and rehashing) one from nothing.
    static SPARE_MEMO: Cell<Memo> = Cell::new(Memo::default());
}

/// Encodes `v` as a pickle of protocol `o.protocol` (2–5), appending to `out`.
pub(crate) fn encode(v: &Value, o: &EncodeOptions, out: &mut Vec<u8>) -> Result<(), PickleError> {
    if !(2..=5).contains(&o.protocol) {
        return Err(PickleError::new(
            0,
            PickleErrorKind::UnsupportedProtocol(o.protocol),
        ));
    }
    let mut e = Encoder {
        out,
        proto: o.protocol,
        framing: false,
        frame_start: None,
        // `try_with`: a thread tearing down its thread-locals can still encode.
        memo: SPARE_MEMO.try_with(Cell::take).unwrap_or_default(),
        memo_len: 0,
        anchors: Vec::new(),
        filling: Vec::new(),
        rebuilding: None,
        stack: Vec::new(),
    };
    e.out.push(op::PROTO);
    e.out.push(o.protocol);
    e.framing = o.protocol >= 4;
    let r = e.save_all(v);
    if r.is_ok() {
        e.op(op::STOP);
        e.commit_frame();
    }
    let mut memo = e.memo;
    let used = memo.len().max(MEMO_MIN);
    if memo.capacity() <= MEMO_KEEP {
        if memo.capacity() > 4 * used {
            // Emptying costs a pass over the whole table: keep it no larger than a few
            // times what this message used, so that small messages stay cheap after a
            // large one.
            memo = Memo::with_capacity_and_hasher(used, Default::default());
        } else {
            memo.clear();
        }
        let _ = SPARE_MEMO.try_with(|spare| spare.set(memo));
    }
    r
}

#[cold]
fn too_deep() -> PickleError {
    unencodable(format!("nesting deeper than {MAX_DEPTH}"))
}

#[cold]
fn unencodable(msg: impl Into<String>) -> PickleError {
    PickleError::new(0, PickleErrorKind::Unencodable(msg.into()))
}

/// An anchor in scope: its id, the container it wraps, and whether a `Ref` to it is being
/// written out in full right now (a second such `Ref` would never end).
struct AnchorSlot<'v> {
    id: u32,
    target: &'v Value,
    reentered: bool,
}

/// What is left to do for a value being written: one entry of the encoder's work stack
/// (in place of a native stack frame of a recursive `save`).
#[derive(Clone, Copy)]
enum Task<'v> {
    /// Write these values, in order.
    Items(&'v [Value]),
    /// Write these values, each followed by this opcode.
    ItemsEach(&'v [Value], u8),
    /// Write each key and value, followed by this opcode unless it is 0.
    Pairs(&'v [(Value, Value)], u8),
    /// Write an opcode.
    Op(u8),
    /// Write an opcode and memoize its result (a fresh object, no key).
    OpMemo(u8),
    /// Items in `MARK … APPENDS` / `ADDITEMS` batches.
    ItemBatches(Batches<'v, Value>),
    /// Pairs in `MARK … SETITEMS` batches.
    PairBatches(Batches<'v, (Value, Value)>),
    /// Close a tuple of `n` items ([`Encoder::end_tuple`]).
    TupleEnd { key: Option<usize>, n: usize },
    /// Close a frozenset (protocol 4+) with this memo key.
    FrozenSetEnd(usize),
    /// Close `set([...])` / `frozenset([...])` (protocols 2–3) with this memo key.
    SetReduceEnd(usize),
    /// A list or dict under an anchor has all its items written.
    FillingDone,
    /// A `Ref` written in full is done: restore the anchor slot and `rebuilding`.
    RefDone { pos: usize, outer: Option<usize> },
    /// Close `getattr(owner, attr)` (a [`GlobalForm::Getattr`]) with this memo key.
    GetattrEnd(Option<usize>),
    /// An object's argument tuple.
    Args(&'v [Value]),
    /// An object's argument tuple, written a second time ([`Encoder::start_args_again`]).
    ArgsAgain(&'v [Value]),
    /// A new list with these items, memoized without a key.
    FreshList(&'v [Value]),
    /// A new dict with these pairs, memoized without a key.
    FreshDict(&'v [(Value, Value)]),
    /// An object's keyword arguments (`NEWOBJ_EX`), `{}` when it has none.
    Kwargs(&'v Object),
    /// An object's call is written: memo, items, state ([`Encoder::end_object`]).
    ObjectBuilt {
        o: &'v Object,
        key: usize,
        memoize: bool,
    },
    /// Step `next` of a value's effects.
    EffectStep { e: &'v Effects, next: usize },
    /// The memo `GET` of the object a `state_setter` is called on.
    StateSetterTarget(&'v Value),
}

/// How a container's items are grouped (the loops of `_pickle.c`'s `batch_*`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Batching {
    /// `batch_list_exact`: a one-item list is `APPEND`, otherwise `MARK … APPENDS` per
    /// [`BATCH`].
    ListExact,
    /// `batch_list` (an object's list items): a batch of one is `APPEND`.
    ListItems,
    /// `batch_dict_exact`: a one-item dict is `SETITEM`; a `MARK … SETITEMS` batch follows
    /// each full one, so a multiple of [`BATCH`] ends with an empty batch.
    DictExact,
    /// `batch_dict` (an object's dict items): a batch of one is `SETITEM`.
    DictItems,
    /// `save_set`: `MARK … ADDITEMS` batches, an empty one after a full one.
    Set,
}

impl Batching {
    /// True for the do-while loops, which write an empty batch after a full last one.
    fn ends_with_empty_batch(self) -> bool {
        matches!(self, Batching::DictExact | Batching::Set)
    }
}

/// The batching state of one container: the items not yet in a batch, the opcode that
/// closes the batch being written (0 before the first) and whether that batch is full.
struct Batches<'v, T> {
    rest: &'v [T],
    close: u8,
    full: bool,
    style: Batching,
}

// Not derived: the derive would ask `T: Copy`, and only a slice of `T` is held.
impl<T> Clone for Batches<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Batches<'_, T> {}

impl<'v, T> Batches<'v, T> {
    fn new(rest: &'v [T], style: Batching) -> Self {
        Batches {
            rest,
            close: 0,
            full: false,
            style,
        }
    }
}

/// None, bool, int, float and str: written without a task of their own.
#[inline]
fn is_leaf(v: &Value) -> bool {
    matches!(
        v,
        Value::None | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::Str(_)
    )
}

struct Encoder<'o, 'v> {
    out: &'o mut Vec<u8>,
    proto: u8,
    /// Protocol 4+ and not inside a large payload.
    framing: bool,
    /// Where the open frame's 9 reserved header bytes start.
    frame_start: Option<usize>,
    memo: Memo,
    memo_len: u32,
    anchors: Vec<AnchorSlot<'v>>,
    /// Memo keys of the lists and dicts under an anchor whose items are being written.
    filling: Vec<usize>,
    /// The anchored object being written a second time by [`Encoder::save_ref`] (its
    /// `Arc` address), until its `save_object` starts.
    rebuilding: Option<usize>,
    /// What is left to write of the containers being written, innermost last.
    stack: Vec<Task<'v>>,
}

impl<'v> Encoder<'_, 'v> {
    // ----- output and framing -------------------------------------------------------

    /// Opens a frame if framing is on and none is open (`_Pickler_Write`'s new-frame step).
    #[inline]
    fn reserve_frame(&mut self) {
        if self.framing && self.frame_start.is_none() {
            self.frame_start = Some(self.out.len());
            self.out.extend_from_slice(&[0xfe; FRAME_HEADER]);
        }
    }

    #[inline]
    fn op(&mut self, code: u8) {
        self.reserve_frame();
        self.out.push(code);
    }

    #[inline]
    /// An opcode with a fixed-size argument (`N` is a constant, so the copy is inlined
    /// rather than a `memcpy` call: this is the hottest path of the encoder).
    fn op_with<const N: usize>(&mut self, code: u8, arg: &[u8; N]) {
        self.reserve_frame();
        self.out.push(code);
        self.out.extend_from_slice(arg);
    }

    /// Closes the open frame: fills in its header, or drops the header when the frame is
    /// shorter than [`FRAME_MIN`].
    fn commit_frame(&mut self) {
        if let Some(start) = self.frame_start.take() {
            let len = self.out.len() - start - FRAME_HEADER;
            if len >= FRAME_MIN {
                self.out[start] = op::FRAME;
                self.out[start + 1..start + FRAME_HEADER]
                    .copy_from_slice(&(len as u64).to_le_bytes());
            } else {
                self.out.drain(start..start + FRAME_HEADER);
            }
        }
    }

    /// At the start of every `save`: closes the frame once it reached the target size.
    #[inline]
    fn opcode_boundary(&mut self) {
        if let Some(start) = self.frame_start {
            if self.out.len() - start - FRAME_HEADER >= FRAME_TARGET {
                self.commit_frame();
            }
        }
    }

    /// An opcode with a length header and a payload; payloads of 64 KiB or more go
    /// outside any frame (`_Pickler_write_bytes`).
    fn write_payload<const N: usize>(&mut self, header: &[u8; N], data: &[u8]) {
        if data.len() >= FRAME_TARGET {
            self.commit_frame();
            let framing = std::mem::replace(&mut self.framing, false);
            // Room for the payload and what usually follows it (a memo opcode, STOP).
            self.out.reserve(N + data.len() + 64);
            advise_huge_pages(self.out);
            self.out.extend_from_slice(header);
            self.out.extend_from_slice(data);
            self.framing = framing;
        } else {
            self.reserve_frame();
            self.out.extend_from_slice(header);
            self.out.extend_from_slice(data);
        }
    }

    // ----- memo -----------------------------------------------------------------------

    /// Stores the object just built under the next memo index; `key` None for objects
    /// that nothing can refer to again (fresh argument tuples).
    fn memo_put(&mut self, key: Option<usize>) {
        let idx = self.memo_len;
        self.memo_len += 1;
        if let Some(k) = key {
            self.memo.insert(k, idx);
        }
        if self.proto >= 4 {
            self.op(op::MEMOIZE);
        } else if idx < 256 {
            self.op_with(op::BINPUT, &[idx as u8]);
        } else {
            self.op_with(op::LONG_BINPUT, &idx.to_le_bytes());
        }
    }

    /// True when nothing but the one place we are reading holds this list or dict, so no
    /// later lookup can ask for it: its memo opcode is still written (CPython's indices),
    /// but the table entry is skipped, which saves most of the hashing on typical data.
    /// Not used under an [`Value::Anchor`], where a `Ref` reaches the container by id, not
    /// by a second `Arc`. (The value is borrowed for the whole encoding, so the tree cannot
    /// gain a second handle meanwhile.)
    #[inline]
    fn is_unshared<T>(&self, a: &Arc<T>) -> bool {
        self.anchors.is_empty() && Arc::strong_count(a) == 1 && Arc::weak_count(a) == 0
    }

    /// One hash lookup for the common case: writes a `GET` and returns true when `key` is
    /// in the memo; otherwise records `key` under the next index and returns false, and
    /// the caller must write the object and then [`Encoder::memo_put_claimed`] with no
    /// other memo entry in between.
    #[inline]
    fn memo_claim(&mut self, key: usize) -> bool {
        use std::collections::hash_map::Entry;
        match self.memo.entry(key) {
            Entry::Occupied(e) => {
                let idx = *e.get();
                self.write_get(idx);
                true
            }
            Entry::Vacant(e) => {
                e.insert(self.memo_len);
                false
            }
        }
    }

    /// The memo write for an index taken by [`Encoder::memo_claim`].
    #[inline]
    fn memo_put_claimed(&mut self) {
        self.memo_put(None);
    }

    #[inline]
    fn write_get(&mut self, idx: u32) {
        if idx < 256 {
            self.op_with(op::BINGET, &[idx as u8]);
        } else {
            self.op_with(op::LONG_BINGET, &idx.to_le_bytes());
        }
    }

    /// Writes a `GET` of `key` when it is in the memo; true if so.
    #[inline]
    fn memo_get(&mut self, key: usize) -> bool {
        match self.memo.get(&key) {
            Some(&idx) => {
                self.write_get(idx);
                true
            }
            None => false,
        }
    }

    // ----- the work loop ----------------------------------------------------------------

    /// Writes `v` and everything under it (`save` in `_pickle.c`, made iterative).
    ///
    /// [`Encoder::save`] writes a leaf outright and only *starts* a container (its opening
    /// opcodes), pushing what is left of it onto [`Encoder::stack`]; this loop then works
    /// on the top task until the stack is empty. The native stack stays a few frames deep
    /// however deep the value is.
    fn save_all(&mut self, v: &'v Value) -> Result<(), PickleError> {
        self.save(v)?;
        while let Some(&task) = self.stack.last() {
            match task {
                Task::Items(items) => self.run_items(items)?,
                Task::ItemsEach(items, code) => self.run_items_each(items, code)?,
                Task::Pairs(pairs, each) => self.run_pairs(pairs, each)?,
                Task::Op(code) => {
                    self.stack.pop();
                    self.op(code);
                }
                Task::OpMemo(code) => {
                    self.stack.pop();
                    self.op(code);
                    self.memo_put(None);
                }
                Task::ItemBatches(b) => self.run_item_batches(b),
                Task::PairBatches(b) => self.run_pair_batches(b),
                Task::TupleEnd { key, n } => {
                    self.stack.pop();
                    self.end_tuple(key, n);
                }
                Task::FrozenSetEnd(key) => {
                    self.stack.pop();
                    if self.memo.contains_key(&key) {
                        // Reached again through its own items: drop them, fetch the memo.
                        self.op(op::POP_MARK);
                        self.memo_get(key);
                    } else {
                        self.op(op::FROZENSET);
                        self.memo_put(Some(key));
                    }
                }
                Task::SetReduceEnd(key) => {
                    self.stack.pop();
                    self.op(op::TUPLE1);
                    self.memo_put(None);
                    self.op(op::REDUCE);
                    if self.memo.contains_key(&key) {
                        // Built again while its items were written (an item leads back to
                        // it): keep that copy, as CPython's `save_reduce` does.
                        self.op(op::POP);
                        self.memo_get(key);
                    } else {
                        self.memo_put(Some(key));
                    }
                }
                Task::FillingDone => {
                    self.stack.pop();
                    self.filling.pop();
                }
                Task::RefDone { pos, outer } => {
                    self.stack.pop();
                    self.rebuilding = outer;
                    self.anchors[pos].reentered = false;
                }
                Task::GetattrEnd(key) => {
                    self.stack.pop();
                    self.op(op::TUPLE2);
                    self.memo_put(None);
                    self.op(op::REDUCE);
                    self.memo_put(key);
                }
                Task::Args(args) => {
                    self.stack.pop();
                    self.start_args(args);
                }
                Task::ArgsAgain(args) => {
                    self.stack.pop();
                    self.start_args_again(args);
                }
                Task::FreshList(items) => {
                    self.stack.pop();
                    self.op(op::EMPTY_LIST);
                    self.memo_put(None);
                    self.start_item_batches(items, Batching::ListExact)?;
                }
                Task::FreshDict(pairs) => {
                    self.stack.pop();
                    self.op(op::EMPTY_DICT);
                    self.memo_put(None);
                    self.start_pair_batches(pairs, Batching::DictExact)?;
                }
                Task::Kwargs(o) => {
                    self.stack.pop();
                    match &o.kwargs {
                        Some(k) => self.save(k)?,
                        None => {
                            self.opcode_boundary();
                            self.op(op::EMPTY_DICT);
                            self.memo_put(None);
                        }
                    }
                }
                Task::ObjectBuilt { o, key, memoize } => {
                    self.stack.pop();
                    self.end_object(o, key, memoize);
                }
                Task::EffectStep { e, next } => self.run_effect_step(e, next)?,
                Task::StateSetterTarget(target) => {
                    self.stack.pop();
                    self.opcode_boundary();
                    if !self.save_memo_get_of(target) {
                        return Err(unencodable(
                            "a state_setter call on something that is not a memoized object",
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Pushes a task, refusing values nested deeper than [`MAX_DEPTH`] (a container costs
    /// one task per level, so the stack's length is the nesting depth).
    #[inline]
    fn push(&mut self, task: Task<'v>) -> Result<(), PickleError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(too_deep());
        }
        self.stack.push(task);
        Ok(())
    }

    /// Points the top task (an item list) at the items after the one being started, or
    /// drops it when none are left (so a chain of one-item containers keeps one task per
    /// level).
    #[inline]
    fn advance_top(&mut self, task: Task<'v>, empty: bool) {
        if empty {
            self.stack.pop();
        } else if let Some(top) = self.stack.last_mut() {
            *top = task;
        }
    }

    /// Saves `v`, a container met by the loop of the top task: first points that task at
    /// `resume` (or drops it when `last`), so that tasks `v` pushes run before the rest,
    /// and writes `after` (unless 0) once `v` is done. True when `v` was written in full
    /// at once (a memo hit, a bytes, an empty container, ...) and the loop can go on
    /// with the top task still its own.
    #[inline]
    fn save_within(
        &mut self,
        v: &'v Value,
        resume: Task<'v>,
        last: bool,
        after: u8,
    ) -> Result<bool, PickleError> {
        self.advance_top(resume, last);
        let base = self.stack.len();
        if after != 0 {
            self.push(Task::Op(after))?;
        }
        self.save(v)?;
        if self.stack.len() > base + usize::from(after != 0) {
            return Ok(false);
        }
        if after != 0 {
            self.stack.pop();
            self.op(after);
        }
        Ok(!last)
    }

    /// The top task is `Items(items)`: writes leaves (and whatever is written at once) in
    /// a tight loop, and hands over to the main loop when a container pushed tasks.
    #[inline]
    fn run_items(&mut self, items: &'v [Value]) -> Result<(), PickleError> {
        let mut rest = items;
        while let Some((v, after)) = rest.split_first() {
            rest = after;
            if is_leaf(v) {
                self.save_leaf(v)?;
            } else if !self.save_within(v, Task::Items(rest), rest.is_empty(), 0)? {
                return Ok(());
            }
        }
        self.stack.pop();
        Ok(())
    }

    /// `Items` with an opcode after each item (the `APPEND` steps of [`Effects`]).
    fn run_items_each(&mut self, items: &'v [Value], code: u8) -> Result<(), PickleError> {
        let mut rest = items;
        while let Some((v, after)) = rest.split_first() {
            rest = after;
            if is_leaf(v) {
                self.save_leaf(v)?;
                self.op(code);
            } else if !self.save_within(v, Task::ItemsEach(rest, code), rest.is_empty(), code)? {
                return Ok(());
            }
        }
        self.stack.pop();
        Ok(())
    }

    /// The top task is `Pairs`: key, value (and `each`, unless 0) per pair.
    #[inline]
    fn run_pairs(&mut self, pairs: &'v [(Value, Value)], each: u8) -> Result<(), PickleError> {
        let mut rest = pairs;
        while let Some(((k, v), after)) = rest.split_first() {
            rest = after;
            if is_leaf(k) {
                self.save_leaf(k)?;
                if is_leaf(v) {
                    self.save_leaf(v)?;
                    if each != 0 {
                        self.op(each);
                    }
                } else if !self.save_within(v, Task::Pairs(rest, each), rest.is_empty(), each)? {
                    return Ok(());
                }
                continue;
            }
            // A container as key (rare): the value and `each` wait in tasks of their own.
            self.advance_top(Task::Pairs(rest, each), rest.is_empty());
            if each != 0 {
                self.push(Task::Op(each))?;
            }
            self.push(Task::Items(std::slice::from_ref(v)))?;
            return self.save(k);
        }
        self.stack.pop();
        Ok(())
    }

    /// The top task is `ItemBatches`: closes the batch just written, opens the next.
    fn run_item_batches(&mut self, mut b: Batches<'v, Value>) {
        let Some(chunk) = self.next_batch(&mut b) else {
            self.stack.pop();
            return;
        };
        if let Some(top) = self.stack.last_mut() {
            *top = Task::ItemBatches(b);
        }
        // At most one task above a batch task: no depth check needed.
        self.stack.push(Task::Items(chunk));
    }

    /// The top task is `PairBatches`: as [`Encoder::run_item_batches`].
    fn run_pair_batches(&mut self, mut b: Batches<'v, (Value, Value)>) {
        let Some(chunk) = self.next_batch(&mut b) else {
            self.stack.pop();
            return;
        };
        if let Some(top) = self.stack.last_mut() {
            *top = Task::PairBatches(b);
        }
        self.stack.push(Task::Pairs(chunk, 0));
    }

    /// Writes the closing opcode of the batch just written, decides whether another batch
    /// follows (CPython's loops, see [`Batching`]) and if so writes its `MARK` (unless it is
    /// a lone `APPEND`/`SETITEM`) and returns its items.
    #[inline(always)]
    fn next_batch<T>(&mut self, b: &mut Batches<'v, T>) -> Option<&'v [T]> {
        let first = b.close == 0;
        if !first {
            self.op(b.close);
        }
        let more = !b.rest.is_empty() || (!first && b.full && b.style.ends_with_empty_batch());
        if !more {
            return None;
        }
        let take = b.rest.len().min(BATCH);
        let (chunk, rest) = b.rest.split_at(take);
        let single = match b.style {
            Batching::ListExact | Batching::DictExact => first && take == 1 && rest.is_empty(),
            Batching::ListItems | Batching::DictItems => take == 1,
            Batching::Set => false,
        };
        if !single {
            self.op(op::MARK);
        }
        b.close = match (b.style, single) {
            (Batching::ListExact | Batching::ListItems, true) => op::APPEND,
            (Batching::ListExact | Batching::ListItems, false) => op::APPENDS,
            (Batching::DictExact | Batching::DictItems, true) => op::SETITEM,
            (Batching::DictExact | Batching::DictItems, false) => op::SETITEMS,
            (Batching::Set, _) => op::ADDITEMS,
        };
        b.rest = rest;
        b.full = take == BATCH;
        Some(chunk)
    }

    /// Queues `items` in batches, started when the task reaches the top (an object's dict
    /// items and state wait below its list items, see [`Encoder::end_object`]).
    fn queue_item_batches(&mut self, items: &'v [Value], style: Batching) {
        // Replaces a task just popped: no depth check needed.
        self.stack
            .push(Task::ItemBatches(Batches::new(items, style)));
    }

    /// As [`Encoder::queue_item_batches`], for pairs.
    fn queue_pair_batches(&mut self, pairs: &'v [(Value, Value)], style: Batching) {
        self.stack
            .push(Task::PairBatches(Batches::new(pairs, style)));
    }

    /// Starts writing `items` in batches now: the first batch's `MARK`, then tasks for its
    /// items and for the batches after it.
    #[inline]
    fn start_item_batches(
        &mut self,
        items: &'v [Value],
        style: Batching,
    ) -> Result<(), PickleError> {
        let mut b = Batches::new(items, style);
        if let Some(chunk) = self.next_batch(&mut b) {
            self.push(Task::ItemBatches(b))?;
            self.stack.push(Task::Items(chunk));
        }
        Ok(())
    }

    /// As [`Encoder::start_item_batches`], for pairs.
    #[inline]
    fn start_pair_batches(
        &mut self,
        pairs: &'v [(Value, Value)],
        style: Batching,
    ) -> Result<(), PickleError> {
        let mut b = Batches::new(pairs, style);
        if let Some(chunk) = self.next_batch(&mut b) {
            self.push(Task::PairBatches(b))?;
            self.stack.push(Task::Pairs(chunk, 0));
        }
        Ok(())
    }

    // ----- save ---------------------------------------------------------------------

    /// Writes a leaf: None, bool, int, float or str (see [`is_leaf`]). Inlined into the
    /// item loops; a str (memo lookup) is a call.
    #[inline(always)]
    fn save_leaf(&mut self, v: &'v Value) -> Result<(), PickleError> {
        self.opcode_boundary();
        match v {
            Value::None => self.op(op::NONE),
            Value::Bool(b) => self.op(if *b { op::NEWTRUE } else { op::NEWFALSE }),
            Value::Int(i) => self.save_i64(*i),
            Value::Float(f) => self.op_with(op::BINFLOAT, &f.to_be_bytes()),
            Value::Str(s) => return self.save_str(s.as_bytes()),
            _ => unreachable!("container passed to save_leaf"),
        }
        Ok(())
    }

    /// A str: a memo `GET` when written before, else the str and its memo entry.
    #[inline(never)]
    fn save_str(&mut self, data: &'v [u8]) -> Result<(), PickleError> {
        if !self.memo_claim(str_key(data)) {
            self.save_str_bytes(data)?;
            self.memo_put_claimed();
        }
        Ok(())
    }

    /// Writes one value (`save` in `_pickle.c`): a leaf in full, a container's opening
    /// opcodes, with the rest of it pushed as tasks for [`Encoder::save_all`].
    fn save(&mut self, v: &'v Value) -> Result<(), PickleError> {
        if is_leaf(v) {
            return self.save_leaf(v);
        }
        self.opcode_boundary();
        match v {
            Value::BigInt(n) => self.save_bigint(n),
            Value::Bytes(b) => {
                let key = b.as_ptr() as usize | TAG_BYTES;
                if self.memo_get(key) {
                    return Ok(());
                }
                self.save_bytes(b, Some(key))
            }
            Value::ByteArray(b) => {
                let key = Arc::as_ptr(b) as usize;
                if self.memo_get(key) {
                    return Ok(());
                }
                self.save_bytearray(b, key)
            }
            Value::List(items) => self.save_list(items),
            Value::Tuple(items) => {
                if items.is_empty() {
                    self.op(op::EMPTY_TUPLE);
                    return Ok(());
                }
                let key = Arc::as_ptr(items) as usize;
                if self.memo_get(key) {
                    return Ok(());
                }
                self.start_tuple(items, Some(key))
            }
            Value::Dict(pairs) => self.save_dict(pairs),
            Value::Set(items) => self.save_set(items),
            Value::FrozenSet(items) => self.save_frozenset(items),
            Value::Global(g) => {
                let key = Arc::as_ptr(g) as usize;
                if self.memo_get(key) {
                    return Ok(());
                }
                // A text GLOBAL that nothing else refers to was not memoized (dill writes
                // it raw); every other global is.
                let once = matches!(g.form, GlobalForm::Text) && Arc::strong_count(g) == 1;
                self.save_global(g, (!once).then_some(key))
            }
            Value::Object(o) => {
                let key = Arc::as_ptr(o) as usize;
                if self.memo_get(key) {
                    return Ok(());
                }
                self.start_object(o, key, true)
            }
            Value::Anchor(id, inner) => {
                self.anchors.push(AnchorSlot {
                    id: *id,
                    target: inner,
                    reentered: false,
                });
                // The slot stays after the container is written: a later `Ref` to it
                // (from outside the anchor, as pickle's memo allows) becomes a memo GET.
                self.push(Task::Items(std::slice::from_ref(&**inner)))
            }
            Value::Ref(id) => self.save_ref(*id),
            Value::Effects(e) => {
                self.push(Task::EffectStep { e, next: 0 })?;
                self.push(Task::Items(std::slice::from_ref(&e.target)))
            }
            Value::None | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::Str(_) => {
                unreachable!("leaf handled above")
            }
        }
    }

    fn save_list(&mut self, items: &'v Arc<Items>) -> Result<(), PickleError> {
        if self.is_unshared(items) {
            self.op(op::EMPTY_LIST);
            self.memo_put(None);
        } else {
            if self.memo_claim(Arc::as_ptr(items) as usize) {
                return Ok(());
            }
            self.op(op::EMPTY_LIST);
            self.memo_put_claimed();
            if !self.anchors.is_empty() {
                self.filling.push(Arc::as_ptr(items) as usize);
                self.push(Task::FillingDone)?;
            }
        }
        if items.is_empty() {
            return Ok(());
        }
        self.start_item_batches(items, Batching::ListExact)
    }

    fn save_dict(&mut self, pairs: &'v Arc<Pairs>) -> Result<(), PickleError> {
        if self.is_unshared(pairs) {
            self.op(op::EMPTY_DICT);
            self.memo_put(None);
        } else {
            if self.memo_claim(Arc::as_ptr(pairs) as usize) {
                return Ok(());
            }
            self.op(op::EMPTY_DICT);
            self.memo_put_claimed();
            if !self.anchors.is_empty() {
                self.filling.push(Arc::as_ptr(pairs) as usize);
                self.push(Task::FillingDone)?;
            }
        }
        if pairs.is_empty() {
            return Ok(());
        }
        self.start_pair_batches(pairs, Batching::DictExact)
    }

    fn save_set(&mut self, items: &'v Arc<Items>) -> Result<(), PickleError> {
        let key = Arc::as_ptr(items) as usize;
        if self.memo_get(key) {
            return Ok(());
        }
        if self.proto < 4 {
            // `set([...])` by REDUCE.
            self.save_synthetic_global(KEY_SET, "builtins", "set")?;
            return self.start_set_reduce(items, key);
        }
        self.op(op::EMPTY_SET);
        self.memo_put(Some(key));
        if items.is_empty() {
            return Ok(());
        }
        self.start_item_batches(items, Batching::Set)
    }

    fn save_frozenset(&mut self, items: &'v Arc<Items>) -> Result<(), PickleError> {
        let key = Arc::as_ptr(items) as usize;
        if self.memo_get(key) {
            return Ok(());
        }
        if self.proto < 4 {
            self.save_synthetic_global(KEY_FROZENSET, "builtins", "frozenset")?;
            return self.start_set_reduce(items, key);
        }
        self.op(op::MARK);
        self.push(Task::FrozenSetEnd(key))?;
        self.push(Task::Items(items))
    }

    /// Protocols 2–3, after the `set`/`frozenset` global: `[items]`, then
    /// [`Task::SetReduceEnd`].
    fn start_set_reduce(&mut self, items: &'v [Value], key: usize) -> Result<(), PickleError> {
        self.op(op::EMPTY_LIST);
        self.memo_put(None);
        self.push(Task::SetReduceEnd(key))?;
        self.start_item_batches(items, Batching::ListExact)
    }

    /// A `Ref` to an anchor met earlier (enclosing or already written): a memo `GET` when
    /// the anchored object is already memoized; otherwise (a tuple still collecting its
    /// items) the object is written in full, as CPython does, and the outer copy is
    /// discarded later.
    fn save_ref(&mut self, id: u32) -> Result<(), PickleError> {
        let Some(pos) = self.anchors.iter().rposition(|a| a.id == id) else {
            return Err(unencodable(format!(
                "Ref({id}) before any Anchor({id}, ..)"
            )));
        };
        if self.anchors[pos].reentered {
            // Neither in the memo nor finishable: an object whose own constructor
            // arguments contain it. CPython cannot pickle this either (RecursionError).
            return Err(unencodable(format!(
                "Anchor({id}) is needed to build itself (a cycle through constructor arguments)"
            )));
        }
        let target = self.anchors[pos].target;
        self.anchors[pos].reentered = true;
        let outer = self.rebuilding;
        if let Value::Object(o) = target {
            self.rebuilding = Some(Arc::as_ptr(o) as usize);
        }
        self.push(Task::RefDone { pos, outer })?;
        self.push(Task::Items(std::slice::from_ref(target)))
    }

    /// A non-empty tuple not yet in the memo (`save_tuple`): `MARK` if long, the items,
    /// then [`Encoder::end_tuple`].
    fn start_tuple(&mut self, items: &'v [Value], key: Option<usize>) -> Result<(), PickleError> {
        let n = items.len();
        if n > 3 {
            self.op(op::MARK);
        }
        self.push(Task::TupleEnd { key, n })?;
        self.push(Task::Items(items))
    }

    /// After a tuple's items: `TUPLE…` and its memo entry, or, when the tuple was completed
    /// while its items were written (recursive), `POP`s and a memo `GET`.
    fn end_tuple(&mut self, key: Option<usize>, n: usize) {
        if let Some(k) = key.filter(|k| self.memo.contains_key(k)) {
            if n <= 3 {
                for _ in 0..n {
                    self.op(op::POP);
                }
            } else {
                self.op(op::POP_MARK);
            }
            self.memo_get(k);
            return;
        }
        self.op(if n > 3 {
            op::TUPLE
        } else {
            [op::TUPLE1, op::TUPLE2, op::TUPLE3][n - 1]
        });
        self.memo_put(key);
    }

    /// A fresh argument tuple: no identity, memoized like any tuple when non-empty.
    fn start_args(&mut self, args: &'v [Value]) {
        if self.open_args(args) {
            self.stack.push(Task::Items(args));
        }
    }

    /// Opens an argument tuple: `EMPTY_TUPLE` when there are none (false: nothing more
    /// to write), else its `MARK` if it needs one and the task that closes it (true: the
    /// caller pushes the tasks that write the arguments). Replaces the `Args` task just
    /// popped: no depth check needed.
    fn open_args(&mut self, args: &[Value]) -> bool {
        self.opcode_boundary();
        if args.is_empty() {
            self.op(op::EMPTY_TUPLE);
            return false;
        }
        if args.len() > 3 {
            self.op(op::MARK);
        }
        self.stack.push(Task::TupleEnd {
            key: None,
            n: args.len(),
        });
        true
    }

    /// The arguments of an object written a second time while its first copy's arguments
    /// are still being written (a list/dict subclass or set subclass at protocols 0–3:
    /// `copyreg._reconstructor(cls, list, [items])`, whose items lead back to it). An
    /// argument list or dict still being filled for the first copy is written afresh with
    /// its items, as CPython's pickler does (its `__reduce_ex__` makes a new one each
    /// time): a memo `GET` of it would hand the call an incomplete container, and the
    /// call copies what it gets.
    fn start_args_again(&mut self, args: &'v [Value]) {
        if !self.open_args(args) {
            return;
        }
        // One task per argument (few), last first so that the first runs first.
        for arg in args.iter().rev() {
            let task = match arg {
                Value::List(items) if self.filling.contains(&(Arc::as_ptr(items) as usize)) => {
                    Task::FreshList(items)
                }
                Value::Dict(pairs) if self.filling.contains(&(Arc::as_ptr(pairs) as usize)) => {
                    Task::FreshDict(pairs)
                }
                _ => Task::Items(std::slice::from_ref(arg)),
            };
            self.stack.push(task);
        }
    }

    // ----- objects and effects ------------------------------------------------------

    /// Replays an object's construction (`save_reduce`): the callable, the arguments and
    /// the call, then [`Encoder::end_object`]: memoize, then items and state in CPython's
    /// order.
    fn start_object(
        &mut self,
        o: &'v Object,
        key: usize,
        memoize: bool,
    ) -> Result<(), PickleError> {
        // Written a second time from inside its own arguments (see `save_ref`)?
        let again = self.rebuilding.take() == Some(key);
        let newobj = match o.construct {
            Construct::NewObj => true,
            // INST / OBJ call the class with the args, or `cls.__new__(cls)` without any.
            Construct::Inst | Construct::Obj => o.args.is_empty(),
            _ => false,
        };
        // Tasks run last-pushed first.
        self.push(Task::ObjectBuilt { o, key, memoize })?;
        if o.construct == Construct::NewObjEx {
            if self.proto >= 4 {
                self.stack.push(Task::Op(op::NEWOBJ_EX));
            } else {
                // copyreg.__newobj_ex__(cls, args, kwargs)
                self.save_synthetic_global(KEY_NEWOBJ_EX, "copyreg", "__newobj_ex__")?;
                self.stack.push(Task::Op(op::REDUCE));
                self.stack.push(Task::OpMemo(op::TUPLE3));
            }
            self.stack.push(Task::Kwargs(o));
            self.stack.push(Task::Args(&o.args));
        } else {
            self.stack
                .push(Task::Op(if newobj { op::NEWOBJ } else { op::REDUCE }));
            self.stack.push(if again {
                Task::ArgsAgain(&o.args)
            } else {
                Task::Args(&o.args)
            });
        }
        self.stack
            .push(Task::Items(std::slice::from_ref(&o.callable)));
        Ok(())
    }

    /// After an object's call: its memo entry (or, built again while its arguments were
    /// written, `POP` and a memo `GET`), then tasks for its items and state.
    fn end_object(&mut self, o: &'v Object, key: usize, memoize: bool) {
        if self.memo.contains_key(&key) {
            // Built again while its arguments were written (a recursive object).
            self.op(op::POP);
            self.memo_get(key);
            return;
        }
        if memoize {
            self.memo_put(Some(key));
        }
        // Replaces the task just popped; at most four tasks, in reverse order.
        if let Some(state) = &o.state {
            self.stack.push(Task::Op(op::BUILD));
            self.stack.push(Task::Items(std::slice::from_ref(state)));
        }
        if !o.dict_items.is_empty() {
            self.queue_pair_batches(&o.dict_items, Batching::DictItems);
        }
        if !o.list_items.is_empty() {
            self.queue_item_batches(&o.list_items, Batching::ListItems);
        }
    }

    /// The top task is `EffectStep`: writes step `next` of a value's effects (see
    /// `value/effects.rs`) as the opcodes that perform it, or ends. The target stays on the
    /// stack throughout.
    fn run_effect_step(&mut self, e: &'v Effects, next: usize) -> Result<(), PickleError> {
        let Some(step) = e.steps.get(next) else {
            self.stack.pop();
            return Ok(());
        };
        if let Some(top) = self.stack.last_mut() {
            *top = Task::EffectStep { e, next: next + 1 };
        }
        self.opcode_boundary();
        match step {
            Effect::Append { items, marked } => {
                if *marked {
                    self.op(op::MARK);
                    self.push(Task::Op(op::APPENDS))?;
                    self.push(Task::Items(items))?;
                } else {
                    self.push(Task::ItemsEach(items, op::APPEND))?;
                }
            }
            Effect::SetItems { pairs, marked } => {
                if *marked {
                    self.op(op::MARK);
                    self.push(Task::Op(op::SETITEMS))?;
                    self.push(Task::Pairs(pairs, 0))?;
                } else {
                    self.push(Task::Pairs(pairs, op::SETITEM))?;
                }
            }
            Effect::AddItems(items) => {
                if self.proto < 4 {
                    return Err(unencodable("ADDITEMS needs protocol 4"));
                }
                self.op(op::MARK);
                self.push(Task::Op(op::ADDITEMS))?;
                self.push(Task::Items(items))?;
            }
            Effect::Build(state) => {
                self.push(Task::Op(op::BUILD))?;
                self.push(Task::Items(std::slice::from_ref(state)))?;
            }
            Effect::SetState {
                state_setter,
                state,
            } => {
                // `save_reduce` with a state setter: setter, obj (a memo GET), state,
                // TUPLE2 (not memoized), REDUCE, POP.
                for task in [
                    Task::Op(op::POP),
                    Task::Op(op::REDUCE),
                    Task::Op(op::TUPLE2),
                    Task::Items(std::slice::from_ref(state)),
                    Task::StateSetterTarget(&e.target),
                    Task::Items(std::slice::from_ref(state_setter)),
                ] {
                    self.push(task)?;
                }
            }
            Effect::Discard(v) => {
                self.push(Task::Op(op::POP))?;
                match v {
                    // A call made only for its effect, that nothing refers to: written
                    // without a memo entry, as `save_reduce(..., obj=None)` writes it.
                    Value::Object(o) if Arc::strong_count(o) == 1 => {
                        self.start_object(o, Arc::as_ptr(o) as usize, false)?;
                    }
                    _ => self.save(v)?,
                }
            }
        }
        Ok(())
    }

    #[inline(always)]
    fn save_i64(&mut self, i: i64) {
        if (0..=0xff).contains(&i) {
            self.op_with(op::BININT1, &[i as u8]);
        } else if (0..=0xffff).contains(&i) {
            self.op_with(op::BININT2, &(i as u16).to_le_bytes());
        } else if let Ok(small) = i32::try_from(i) {
            self.op_with(op::BININT, &small.to_le_bytes());
        } else {
            self.save_long1(i);
        }
    }

    /// An int beyond 32 bits: `LONG1` with its shortest two's complement.
    #[inline(never)]
    fn save_long1(&mut self, i: i64) {
        // Shortest two's complement, little-endian (LONG1).
        let bytes = i.to_le_bytes();
        let mut n = 8;
        while n > 1 {
            let top = bytes[n - 1];
            let next_sign = bytes[n - 2] & 0x80;
            if (top == 0 && next_sign == 0) || (top == 0xff && next_sign != 0) {
                n -= 1;
            } else {
                break;
            }
        }
        // Fixed-size writes, then cut back: cheaper than a variable-length copy.
        self.op_with(op::LONG1, &[n as u8]);
        self.out.extend_from_slice(&bytes);
        self.out.truncate(self.out.len() - (8 - n));
    }

    fn save_bigint(&mut self, n: &BigInt) -> Result<(), PickleError> {
        use num_traits::{ToPrimitive, Zero};
        if let Some(i) = n.to_i64() {
            self.save_i64(i);
            return Ok(());
        }
        if n.is_zero() {
            self.op_with(op::LONG1, &[0]);
            return Ok(());
        }
        let bytes = n.to_signed_bytes_le();
        if bytes.len() < 256 {
            self.op_with(op::LONG1, &[bytes.len() as u8]);
            self.out.extend_from_slice(&bytes);
        } else {
            let len = u32::try_from(bytes.len())
                .ok()
                .filter(|&l| l <= 0x7fff_ffff)
                .ok_or_else(|| unencodable("int too large to pickle"))?;
            self.op_with(op::LONG4, &len.to_le_bytes());
            self.out.extend_from_slice(&bytes);
        }
        Ok(())
    }

    /// A str payload (surrogatepass UTF-8), without the memo step.
    fn save_str_bytes(&mut self, data: &[u8]) -> Result<(), PickleError> {
        let len = data.len();
        if len <= 0xff && self.proto >= 4 {
            self.write_payload(&[op::SHORT_BINUNICODE, len as u8], data);
        } else if let Ok(l) = u32::try_from(len) {
            let l = l.to_le_bytes();
            self.write_payload(&[op::BINUNICODE, l[0], l[1], l[2], l[3]], data);
        } else if self.proto >= 4 {
            let mut h = [0u8; 9];
            h[0] = op::BINUNICODE8;
            h[1..].copy_from_slice(&(len as u64).to_le_bytes());
            self.write_payload(&h, data);
        } else {
            return Err(unencodable("a str over 4 GiB needs protocol 4"));
        }
        Ok(())
    }

    /// A bytes object; `key` is its memo key (None: fresh, but still memoized).
    fn save_bytes(&mut self, data: &[u8], key: Option<usize>) -> Result<(), PickleError> {
        if self.proto < 3 {
            // Protocol 2 has no bytes opcode: CPython writes `bytes()` or
            // `_codecs.encode(data.decode('latin1'), 'latin1')`.
            if data.is_empty() {
                self.save_synthetic_global(KEY_BYTES, "builtins", "bytes")?;
                self.op(op::EMPTY_TUPLE);
            } else {
                self.save_synthetic_global(KEY_CODECS_ENCODE, "_codecs", "encode")?;
                self.save_latin1_text(data)?;
                if !self.memo_get(KEY_LATIN1) {
                    self.save_str_bytes(b"latin1")?;
                    self.memo_put(Some(KEY_LATIN1));
                }
                self.op(op::TUPLE2);
                self.memo_put(None);
            }
            self.op(op::REDUCE);
            self.memo_put(key);
            return Ok(());
        }
        let len = data.len();
        if len <= 0xff {
            self.write_payload(&[op::SHORT_BINBYTES, len as u8], data);
        } else if let Ok(l) = u32::try_from(len) {
            let l = l.to_le_bytes();
            self.write_payload(&[op::BINBYTES, l[0], l[1], l[2], l[3]], data);
        } else if self.proto >= 4 {
            let mut h = [0u8; 9];
            h[0] = op::BINBYTES8;
            h[1..].copy_from_slice(&(len as u64).to_le_bytes());
            self.write_payload(&h, data);
        } else {
            return Err(unencodable("bytes over 4 GiB need protocol 4"));
        }
        self.memo_put(key);
        Ok(())
    }

    /// `data.decode('latin1')` as a str (a cached singleton in CPython when one char long).
    fn save_latin1_text(&mut self, data: &[u8]) -> Result<(), PickleError> {
        let key = (data.len() == 1).then(|| KEY_LATIN1_CHAR + data[0] as usize);
        if let Some(k) = key {
            if self.memo_get(k) {
                return Ok(());
            }
        }
        let mut text = Vec::with_capacity(data.len() + data.len() / 2);
        for &b in data {
            if b < 0x80 {
                text.push(b);
            } else {
                text.push(0xc0 | (b >> 6));
                text.push(0x80 | (b & 0x3f));
            }
        }
        self.save_str_bytes(&text)?;
        self.memo_put(key);
        Ok(())
    }

    fn save_bytearray(&mut self, data: &[u8], key: usize) -> Result<(), PickleError> {
        if self.proto < 5 {
            // `bytearray()` or `bytearray(bytes(data))`.
            self.save_synthetic_global(KEY_BYTEARRAY, "builtins", "bytearray")?;
            if data.is_empty() {
                self.op(op::EMPTY_TUPLE);
            } else {
                // A fresh bytes object; one byte long, it is CPython's cached singleton.
                let bkey = (data.len() == 1).then(|| KEY_BYTE + data[0] as usize);
                // Boundary of the `save` of the argument tuple and of the bytes in it.
                self.opcode_boundary();
                if !bkey.is_some_and(|k| self.memo_get(k)) {
                    self.save_bytes(data, bkey)?;
                }
                self.op(op::TUPLE1);
                self.memo_put(None);
            }
            self.op(op::REDUCE);
            self.memo_put(Some(key));
            return Ok(());
        }
        let mut h = [0u8; 9];
        h[0] = op::BYTEARRAY8;
        h[1..].copy_from_slice(&(data.len() as u64).to_le_bytes());
        self.write_payload(&h, data);
        self.memo_put(Some(key));
        Ok(())
    }

    // ----- globals ------------------------------------------------------------------------

    fn save_global(&mut self, g: &'v Global, key: Option<usize>) -> Result<(), PickleError> {
        if let (GlobalForm::Getattr(parts), true) = (&g.form, self.proto >= 4) {
            // As the pickle had it: getattr(owner, attr), the tuple and the result
            // memoized as `save_reduce` memoizes them.
            // The three values, then TUPLE2, REDUCE ([`Task::GetattrEnd`]).
            self.push(Task::GetattrEnd(key))?;
            return self.push(Task::Items(&parts[..]));
        }
        if matches!(g.form, GlobalForm::Text) && self.proto >= 4 {
            // Written as the pickle had it (dill names modules so): GLOBAL, memoized only
            // when the value is referenced again.
            let (m, n) = (g.module.as_bytes(), g.name.as_bytes());
            if [m, n]
                .iter()
                .any(|s| s.contains(&b'\n') || std::str::from_utf8(s).is_err())
            {
                return Err(unencodable("a GLOBAL name holds a newline or is not UTF-8"));
            }
            self.global_text(m, n);
            if key.is_some() {
                self.memo_put(key);
            }
            return Ok(());
        }
        if self.proto >= 4 {
            for s in [&g.module, &g.name] {
                // Each string is a `save` of its own in CPython: boundary first.
                self.opcode_boundary();
                if !self.memo_claim(str_key(s.as_bytes())) {
                    self.save_str_bytes(s.as_bytes())?;
                    self.memo_put_claimed();
                }
            }
            self.op(op::STACK_GLOBAL);
        } else {
            self.write_global_op(g.module.as_bytes(), g.name.as_bytes())?;
        }
        self.memo_put(key);
        Ok(())
    }

    /// A global the encoder itself needs (`_codecs.encode`, `builtins.set`, ...), memoized
    /// under a fixed key as CPython memoizes the singleton object.
    fn save_synthetic_global(
        &mut self,
        key: usize,
        module: &str,
        name: &str,
    ) -> Result<(), PickleError> {
        self.opcode_boundary();
        if self.memo_get(key) {
            return Ok(());
        }
        if self.proto >= 4 {
            for s in [module, name] {
                self.opcode_boundary();
                self.save_str_bytes(s.as_bytes())?;
                self.memo_put(None);
            }
            self.op(op::STACK_GLOBAL);
        } else {
            self.write_global_op(module.as_bytes(), name.as_bytes())?;
        }
        self.memo_put(Some(key));
        Ok(())
    }

    /// `GLOBAL module\nname\n` (protocols 2–3), with Python 2 names in protocol 2. A dotted
    /// name becomes `getattr(module.Outer, 'Inner')`, as CPython writes it below protocol 4.
    fn write_global_op(&mut self, module: &[u8], name: &[u8]) -> Result<(), PickleError> {
        if let Some(dot) = name.iter().rposition(|&b| b == b'.') {
            self.save_synthetic_global(KEY_GETATTR, "builtins", "getattr")?;
            self.write_global_op(module, &name[..dot])?;
            self.memo_put(None);
            self.save_str_bytes(&name[dot + 1..])?;
            self.memo_put(None);
            self.op(op::TUPLE2);
            self.memo_put(None);
            self.op(op::REDUCE);
            return Ok(());
        }
        let (m, n) = if self.proto < 3 {
            python2_name(module, name)
        } else {
            (module, name)
        };
        let text_ok = |s: &[u8]| {
            !s.contains(&b'\n')
                && if self.proto < 3 {
                    s.is_ascii()
                } else {
                    std::str::from_utf8(s).is_ok()
                }
        };
        if !text_ok(m) || !text_ok(n) {
            return Err(unencodable(format!(
                "global {:?}.{:?} cannot be written with protocol {}",
                String::from_utf8_lossy(module),
                String::from_utf8_lossy(name),
                self.proto
            )));
        }
        self.global_text(m, n);
        Ok(())
    }

    /// The bytes of `GLOBAL module\nname\n`, for names the caller has checked.
    fn global_text(&mut self, module: &[u8], name: &[u8]) {
        self.reserve_frame();
        self.out.push(op::GLOBAL);
        self.out.extend_from_slice(module);
        self.out.push(b'\n');
        self.out.extend_from_slice(name);
        self.out.push(b'\n');
    }

    /// Writes a memo GET of `v` (an object or global already written); false when it is not
    /// in the memo.
    fn save_memo_get_of(&mut self, v: &'v Value) -> bool {
        let key = match v.unanchored() {
            Value::Object(o) => Arc::as_ptr(o) as usize,
            Value::Global(g) => Arc::as_ptr(g) as usize,
            _ => return false,
        };
        self.memo_get(key)
    }
}

/// Asks the kernel to back the spare capacity of `out` with transparent huge pages when it
/// is large. Copying a 100 MiB payload into fresh memory costs more in page faults (one
/// per 4 KiB page, each zeroing its page) than in the copy itself; with 2 MiB pages there
/// are 512 times fewer faults. Only advice: the memory and its contents are unchanged, and
/// an error (no THP support) is ignored.
#[cfg(target_os = "linux")]
fn advise_huge_pages(out: &mut Vec<u8>) {
    const HUGE: usize = 2 << 20;
    if out.capacity() - out.len() < 4 * HUGE {
        return;
    }
    let spare = out.spare_capacity_mut();
    let start = spare.as_mut_ptr() as usize;
    let end = start + spare.len();
    let (lo, hi) = (start.next_multiple_of(HUGE), end / HUGE * HUGE);
    if lo < hi {
        // SAFETY: [lo, hi) lies inside the Vec's allocation, which we hold mutably;
        // MADV_HUGEPAGE changes how pages are backed, not what they hold.
        unsafe {
            libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_out: &mut Vec<u8>) {}

/// The memo key of a str: its buffer's address, tagged.
#[inline]
fn str_key(bytes: &[u8]) -> usize {
    bytes.as_ptr() as usize | TAG_STR
}

/// Python 2 names for protocol 2 globals (`fix_imports`): the (module, name) table first,
/// then the module table.
fn python2_name<'a>(module: &'a [u8], name: &'a [u8]) -> (&'a [u8], &'a [u8]) {
    for &(m3, n3, m2, n2) in NAME_3TO2 {
        if m3.as_bytes() == module && n3.as_bytes() == name {
            return (m2.as_bytes(), n2.as_bytes());
        }
    }
    for &(m3, m2) in IMPORT_3TO2 {
        if m3.as_bytes() == module {
            return (m2.as_bytes(), name);
        }
    }
    (module, name)
}

/// `_compat_pickle.REVERSE_NAME_MAPPING` (CPython 3.13): (module, name) → Python 2 (module, name).
static NAME_3TO2: &[(&str, &str, &str, &str)] = &[
    ("_functools", "reduce", "__builtin__", "reduce"),
    ("_socket", "socket", "socket", "_socketobject"),
    (
        "builtins",
        "ArithmeticError",
        "exceptions",
        "ArithmeticError",
    ),
    ("builtins", "AssertionError", "exceptions", "AssertionError"),
    ("builtins", "AttributeError", "exceptions", "AttributeError"),
    ("builtins", "BaseException", "exceptions", "BaseException"),
    ("builtins", "BrokenPipeError", "exceptions", "OSError"),
    ("builtins", "BufferError", "exceptions", "BufferError"),
    ("builtins", "BytesWarning", "exceptions", "BytesWarning"),
    ("builtins", "ChildProcessError", "exceptions", "OSError"),
    (
        "builtins",
        "ConnectionAbortedError",
        "exceptions",
        "OSError",
    ),
    ("builtins", "ConnectionError", "exceptions", "OSError"),
    (
        "builtins",
        "ConnectionRefusedError",
        "exceptions",
        "OSError",
    ),
    ("builtins", "ConnectionResetError", "exceptions", "OSError"),
    (
        "builtins",
        "DeprecationWarning",
        "exceptions",
        "DeprecationWarning",
    ),
    ("builtins", "EOFError", "exceptions", "EOFError"),
    (
        "builtins",
        "EnvironmentError",
        "exceptions",
        "EnvironmentError",
    ),
    ("builtins", "Exception", "exceptions", "Exception"),
    ("builtins", "FileExistsError", "exceptions", "OSError"),
    ("builtins", "FileNotFoundError", "exceptions", "OSError"),
    (
        "builtins",
        "FloatingPointError",
        "exceptions",
        "FloatingPointError",
    ),
    ("builtins", "FutureWarning", "exceptions", "FutureWarning"),
    ("builtins", "GeneratorExit", "exceptions", "GeneratorExit"),
    ("builtins", "IOError", "exceptions", "IOError"),
    ("builtins", "ImportError", "exceptions", "ImportError"),
    ("builtins", "ImportWarning", "exceptions", "ImportWarning"),
    (
        "builtins",
        "IndentationError",
        "exceptions",
        "IndentationError",
    ),
    ("builtins", "IndexError", "exceptions", "IndexError"),
    ("builtins", "InterruptedError", "exceptions", "OSError"),
    ("builtins", "IsADirectoryError", "exceptions", "OSError"),
    ("builtins", "KeyError", "exceptions", "KeyError"),
    (
        "builtins",
        "KeyboardInterrupt",
        "exceptions",
        "KeyboardInterrupt",
    ),
    ("builtins", "LookupError", "exceptions", "LookupError"),
    ("builtins", "MemoryError", "exceptions", "MemoryError"),
    (
        "builtins",
        "ModuleNotFoundError",
        "exceptions",
        "ImportError",
    ),
    ("builtins", "NameError", "exceptions", "NameError"),
    ("builtins", "NotADirectoryError", "exceptions", "OSError"),
    (
        "builtins",
        "NotImplementedError",
        "exceptions",
        "NotImplementedError",
    ),
    ("builtins", "OSError", "exceptions", "OSError"),
    ("builtins", "OverflowError", "exceptions", "OverflowError"),
    (
        "builtins",
        "PendingDeprecationWarning",
        "exceptions",
        "PendingDeprecationWarning",
    ),
    ("builtins", "PermissionError", "exceptions", "OSError"),
    ("builtins", "ProcessLookupError", "exceptions", "OSError"),
    ("builtins", "ReferenceError", "exceptions", "ReferenceError"),
    ("builtins", "RuntimeError", "exceptions", "RuntimeError"),
    ("builtins", "RuntimeWarning", "exceptions", "RuntimeWarning"),
    ("builtins", "StopIteration", "exceptions", "StopIteration"),
    ("builtins", "SyntaxError", "exceptions", "SyntaxError"),
    ("builtins", "SyntaxWarning", "exceptions", "SyntaxWarning"),
    ("builtins", "SystemError", "exceptions", "SystemError"),
    ("builtins", "SystemExit", "exceptions", "SystemExit"),
    ("builtins", "TabError", "exceptions", "TabError"),
    ("builtins", "TimeoutError", "exceptions", "OSError"),
    ("builtins", "TypeError", "exceptions", "TypeError"),
    (
        "builtins",
        "UnboundLocalError",
        "exceptions",
        "UnboundLocalError",
    ),
    (
        "builtins",
        "UnicodeDecodeError",
        "exceptions",
        "UnicodeDecodeError",
    ),
    (
        "builtins",
        "UnicodeEncodeError",
        "exceptions",
        "UnicodeEncodeError",
    ),
    ("builtins", "UnicodeError", "exceptions", "UnicodeError"),
    (
        "builtins",
        "UnicodeTranslateError",
        "exceptions",
        "UnicodeTranslateError",
    ),
    ("builtins", "UnicodeWarning", "exceptions", "UnicodeWarning"),
    ("builtins", "UserWarning", "exceptions", "UserWarning"),
    ("builtins", "ValueError", "exceptions", "ValueError"),
    ("builtins", "Warning", "exceptions", "Warning"),
    (
        "builtins",
        "ZeroDivisionError",
        "exceptions",
        "ZeroDivisionError",
    ),
    ("builtins", "chr", "__builtin__", "unichr"),
    ("builtins", "filter", "itertools", "ifilter"),
    ("builtins", "int", "__builtin__", "long"),
    ("builtins", "map", "itertools", "imap"),
    ("builtins", "range", "__builtin__", "xrange"),
    ("builtins", "str", "__builtin__", "unicode"),
    ("builtins", "zip", "itertools", "izip"),
    ("collections", "UserDict", "UserDict", "IterableUserDict"),
    ("collections", "UserList", "UserList", "UserList"),
    ("collections", "UserString", "UserString", "UserString"),
    ("dbm", "whichdb", "whichdb", "whichdb"),
    ("functools", "reduce", "__builtin__", "reduce"),
    (
        "http.server",
        "CGIHTTPRequestHandler",
        "CGIHTTPServer",
        "CGIHTTPRequestHandler",
    ),
    (
        "http.server",
        "SimpleHTTPRequestHandler",
        "SimpleHTTPServer",
        "SimpleHTTPRequestHandler",
    ),
    ("itertools", "filterfalse", "itertools", "ifilterfalse"),
    ("itertools", "zip_longest", "itertools", "izip_longest"),
    (
        "multiprocessing.connection",
        "Connection",
        "_multiprocessing",
        "Connection",
    ),
    (
        "multiprocessing.context",
        "AuthenticationError",
        "multiprocessing",
        "AuthenticationError",
    ),
    (
        "multiprocessing.context",
        "BufferTooShort",
        "multiprocessing",
        "BufferTooShort",
    ),
    (
        "multiprocessing.context",
        "Process",
        "multiprocessing.process",
        "Process",
    ),
    (
        "multiprocessing.context",
        "ProcessError",
        "multiprocessing",
        "ProcessError",
    ),
    (
        "multiprocessing.context",
        "TimeoutError",
        "multiprocessing",
        "TimeoutError",
    ),
    (
        "multiprocessing.popen_fork",
        "Popen",
        "multiprocessing.forking",
        "Popen",
    ),
    ("socket", "fromfd", "_socket", "fromfd"),
    ("sys", "intern", "__builtin__", "intern"),
    (
        "tkinter.filedialog",
        "FileDialog",
        "FileDialog",
        "FileDialog",
    ),
    (
        "tkinter.filedialog",
        "LoadFileDialog",
        "FileDialog",
        "LoadFileDialog",
    ),
    (
        "tkinter.filedialog",
        "SaveFileDialog",
        "FileDialog",
        "SaveFileDialog",
    ),
    (
        "tkinter.simpledialog",
        "SimpleDialog",
        "SimpleDialog",
        "SimpleDialog",
    ),
    (
        "urllib.error",
        "ContentTooShortError",
        "urllib",
        "ContentTooShortError",
    ),
    ("urllib.error", "HTTPError", "urllib2", "HTTPError"),
    ("urllib.error", "URLError", "urllib2", "URLError"),
    ("urllib.parse", "quote", "urllib", "quote"),
    ("urllib.parse", "quote_plus", "urllib", "quote_plus"),
    ("urllib.parse", "unquote", "urllib", "unquote"),
    ("urllib.parse", "unquote_plus", "urllib", "unquote_plus"),
    ("urllib.parse", "urlencode", "urllib", "urlencode"),
    ("urllib.request", "getproxies", "urllib", "getproxies"),
    ("urllib.request", "pathname2url", "urllib", "pathname2url"),
    ("urllib.request", "url2pathname", "urllib", "url2pathname"),
    ("urllib.request", "urlcleanup", "urllib", "urlcleanup"),
    ("urllib.request", "urlopen", "urllib", "urlopen"),
    ("urllib.request", "urlretrieve", "urllib", "urlretrieve"),
    (
        "xmlrpc.server",
        "DocCGIXMLRPCRequestHandler",
        "DocXMLRPCServer",
        "DocCGIXMLRPCRequestHandler",
    ),
    (
        "xmlrpc.server",
        "DocXMLRPCRequestHandler",
        "DocXMLRPCServer",
        "DocXMLRPCRequestHandler",
    ),
    (
        "xmlrpc.server",
        "DocXMLRPCServer",
        "DocXMLRPCServer",
        "DocXMLRPCServer",
    ),
    (
        "xmlrpc.server",
        "ServerHTMLDoc",
        "DocXMLRPCServer",
        "ServerHTMLDoc",
    ),
    (
        "xmlrpc.server",
        "XMLRPCDocGenerator",
        "DocXMLRPCServer",
        "XMLRPCDocGenerator",
    ),
];
/// `_compat_pickle.REVERSE_IMPORT_MAPPING` (CPython 3.13): module → Python 2 module.
static IMPORT_3TO2: &[(&str, &str)] = &[
    ("_bz2", "bz2"),
    ("_dbm", "dbm"),
    ("_dummy_thread", "dummy_thread"),
    ("_functools", "functools"),
    ("_gdbm", "gdbm"),
    ("_markupbase", "markupbase"),
    ("_pickle", "pickle"),
    ("_thread", "thread"),
    ("builtins", "__builtin__"),
    ("collections.abc", "_abcoll"),
    ("configparser", "ConfigParser"),
    ("copyreg", "copy_reg"),
    ("dbm", "anydbm"),
    ("dbm.bsd", "dbhash"),
    ("dbm.dumb", "dumbdbm"),
    ("dbm.gnu", "gdbm"),
    ("dbm.ndbm", "dbm"),
    ("html.entities", "htmlentitydefs"),
    ("html.parser", "HTMLParser"),
    ("http.client", "httplib"),
    ("http.cookiejar", "cookielib"),
    ("http.cookies", "Cookie"),
    ("http.server", "BaseHTTPServer"),
    ("queue", "Queue"),
    ("reprlib", "repr"),
    ("socketserver", "SocketServer"),
    ("subprocess", "commands"),
    ("test.support", "test.test_support"),
    ("tkinter", "Tkinter"),
    ("tkinter.colorchooser", "tkColorChooser"),
    ("tkinter.commondialog", "tkCommonDialog"),
    ("tkinter.constants", "Tkconstants"),
    ("tkinter.dialog", "Dialog"),
    ("tkinter.dnd", "Tkdnd"),
    ("tkinter.filedialog", "tkFileDialog"),
    ("tkinter.font", "tkFont"),
    ("tkinter.messagebox", "tkMessageBox"),
    ("tkinter.scrolledtext", "ScrolledText"),
    ("tkinter.simpledialog", "tkSimpleDialog"),
    ("tkinter.ttk", "ttk"),
    ("urllib.parse", "urlparse"),
    ("urllib.request", "urllib2"),
    ("urllib.robotparser", "robotparser"),
    ("winreg", "_winreg"),
    ("xmlrpc.client", "xmlrpclib"),
    ("xmlrpc.server", "SimpleXMLRPCServer"),
];
