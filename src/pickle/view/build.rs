//! Builds a [`Doc`](super::Doc): the nodes of a pickle in one arena, strings and bytes
//! borrowed from the message. Opcodes and their arguments come from the codec's one reader
//! (`pickle/reader.rs`), as in every other decoder.
//!
//! It takes the opcodes CPython writes for plain data (protocols 1–5: scalars, str, bytes,
//! bytearray, list, tuple, dict, set, frozenset, the memo, frames) and gives up (`None`) on
//! everything else, and on anything the owned decoder would refuse or would have to judge
//! with more care: the caller then decodes the whole pickle into an owned [`Value`]
//! (`super::View` wraps either), which also produces every error. So the arena never
//! decides an error, and never holds a value the owned decoder would not give.
//!
//! What it gives up on, besides unknown opcodes and malformed input:
//! * a container filled after it was reached through the memo (a "late fill"; the owned
//!   decoder keeps those as effects), and `POP`/`DUP`, which CPython does not write for data;
//! * dict keys and set items other than None, bool, int, float, str and bytes (the owned
//!   decoder judges whether the others are hashable). Keys and items are kept as the pickle
//!   gives them, equal ones included, exactly as the owned decoder keeps them;
//! * memo indices past what the input could hold, memo overwrites, and going past
//!   `max_memo`, `max_alloc` (nodes and links counted) or `max_depth` (heights kept per node).
//!
//! Each node is 16 bytes and each link 4, so for the dict-heavy messages CPython writes
//! the arena takes about a third of the memory of the owned tree, and building it
//! allocates only as its three vectors grow.

use super::spare::{self, Buffers};
use super::{kind, Doc, Packed, Span};
use crate::pickle::opcodes as op;
use crate::pickle::reader::{read_op, small_long, Op};
use crate::pickle::DecodeOptions;

/// Bytes charged against `max_alloc` for each node and each link.
const NODE_BYTES: usize = std::mem::size_of::<Packed>();
const LINK_BYTES: usize = std::mem::size_of::<u32>();

/// Stack entries: the node id, with this bit set when the entry came from a memo `GET`
/// (so it may not be filled: that would be a late fill).
const FROM_MEMO: u32 = 1 << 31;

struct Builder<'a, 'o> {
    data: &'a [u8],
    pos: usize,
    opts: &'o DecodeOptions,
    nodes: Vec<Packed>,
    /// Container heights, in step with `nodes` (0 for scalars).
    heights: Vec<u32>,
    links: Vec<u32>,
    stack: Vec<u32>,
    marks: Vec<usize>,
    memo: Vec<u32>,
    memo_len: usize,
    alloc: usize,
}

/// The arena for `data`, or `None` when the owned decoder must take it (see the module doc).
pub(super) fn build<'a>(data: &'a [u8], opts: &DecodeOptions) -> Option<Doc<'a>> {
    // Room for a node per 8 bytes of input (CPython's data pickles spend 2–10 bytes per
    // object), so that the vectors rarely grow while they are filled; capped, since
    // reserved room is not charged against `max_alloc`.
    let guess = (data.len() / 8).clamp(16, 1 << 22);
    let link_guess = (data.len() / 4).clamp(16, 1 << 23);
    let spare = spare::take();
    let mut b = Builder {
        data,
        pos: 0,
        opts,
        nodes: spare.nodes,
        heights: spare.heights,
        links: spare.links,
        stack: spare.stack,
        marks: Vec::new(),
        memo: spare.memo,
        memo_len: 0,
        alloc: 0,
    };
    b.nodes.reserve(guess);
    b.heights.reserve(guess);
    b.links.reserve(link_guess);
    let root = b.run();
    let Builder {
        nodes,
        links,
        heights,
        stack,
        memo,
        ..
    } = b;
    // The builder's own vectors wait for the next view; the arena's come back when the
    // view is dropped (at once, when the owned decoder must take the pickle).
    spare::give_back(Buffers {
        heights,
        stack,
        memo,
        ..Buffers::default()
    });
    let doc = Doc {
        data,
        nodes,
        links,
        root: root.unwrap_or(0),
    };
    root.map(|_| doc)
}

/// `Some(())` when `cond` holds (for `?`).
#[inline]
fn check(cond: bool) -> Option<()> {
    cond.then_some(())
}

impl<'a> Builder<'a, '_> {
    /// Where `b` (a slice of the message) sits in it, as `u32` offsets (a bigger message
    /// goes to the owned decoder).
    #[inline]
    fn place(&self, b: &[u8]) -> Option<(u32, u64)> {
        let at = b.as_ptr() as usize - self.data.as_ptr() as usize;
        check(at + b.len() <= u32::MAX as usize)?;
        Some((at as u32, b.len() as u64))
    }

    /// Charges `bytes` against `max_alloc`.
    #[inline]
    fn charge(&mut self, bytes: usize) -> Option<()> {
        self.alloc = self.alloc.checked_add(bytes)?;
        check(self.alloc <= self.opts.max_alloc)
    }

    /// A new node, pushed on the stack.
    #[inline]
    fn push_new(&mut self, node: Packed) -> Option<()> {
        let id = u32::try_from(self.nodes.len()).ok()?;
        check(id < FROM_MEMO)?;
        self.charge(NODE_BYTES + LINK_BYTES)?;
        self.nodes.push(node);
        self.heights.push(u32::from(node.is_container()));
        self.stack.push(id);
        Some(())
    }

    /// The stack length at the innermost open MARK: what lies below it cannot be read
    /// (CPython's `fence`: "unexpected MARK found").
    #[inline]
    fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn run(&mut self) -> Option<u32> {
        loop {
            let (Op { code, arg }, next) = read_op(self.data, self.pos).ok()?;
            self.pos = next;
            match code {
                op::PROTO => check(arg.uint() <= 5)?,
                // The reader checked that the frame is there whole.
                op::FRAME => {}
                op::STOP => {
                    check(self.stack.len() == 1 && self.marks.is_empty())?;
                    return Some(self.stack[0] & !FROM_MEMO);
                }
                op::NONE => self.push_new(Packed::new(kind::NONE, 0, 0, 0))?,
                op::NEWTRUE => self.push_new(Packed::new(kind::BOOL, 1, 0, 0))?,
                op::NEWFALSE => self.push_new(Packed::new(kind::BOOL, 0, 0, 0))?,
                op::BININT | op::BININT1 | op::BININT2 => {
                    self.push_new(Packed::new(kind::INT, 0, 0, arg.int() as u64))?
                }
                op::LONG1 => {
                    // Wider than 8 bytes: the owned decoder's BigInt.
                    let i = small_long(arg.bytes())?;
                    self.push_new(Packed::new(kind::INT, 0, 0, i as u64))?
                }
                op::BINFLOAT => {
                    self.push_new(Packed::new(kind::FLOAT, 0, 0, arg.float().to_bits()))?
                }
                op::SHORT_BINUNICODE | op::BINUNICODE | op::BINUNICODE8 => {
                    self.unicode(arg.bytes())?
                }
                op::SHORT_BINBYTES | op::BINBYTES | op::BINBYTES8 => {
                    let (at, len) = self.place(arg.bytes())?;
                    self.push_new(Packed::new(kind::BYTES, 0, at, len))?
                }
                op::BYTEARRAY8 => {
                    let (at, len) = self.place(arg.bytes())?;
                    self.push_new(Packed::new(kind::BYTEARRAY, 0, at, len))?
                }
                op::EMPTY_LIST => self.push_new(Packed::new(kind::LIST, 0, 0, 0))?,
                op::EMPTY_DICT => self.push_new(Packed::new(kind::DICT, 0, 0, 0))?,
                op::EMPTY_SET => self.push_new(Packed::new(kind::SET, 0, 0, 0))?,
                op::EMPTY_TUPLE => self.push_new(Packed::new(kind::TUPLE, 0, 0, 0))?,
                op::MARK => {
                    self.marks.push(self.stack.len());
                }
                op::TUPLE => {
                    let m = self.marks.pop()?;
                    self.tuple(m)?
                }
                op::TUPLE1 => self.tuple(self.stack.len().checked_sub(1)?)?,
                op::TUPLE2 => self.tuple(self.stack.len().checked_sub(2)?)?,
                op::TUPLE3 => self.tuple(self.stack.len().checked_sub(3)?)?,
                op::FROZENSET => {
                    let m = self.marks.pop()?;
                    self.push_new(Packed::new(kind::FROZENSET, 0, 0, 0))?;
                    let id = self.stack.pop()?;
                    self.fill(id, m)?;
                    self.stack.push(id);
                }
                op::APPEND => {
                    let m = self.stack.len().checked_sub(1)?;
                    self.fill_below(m, kind::LIST)?
                }
                op::APPENDS => {
                    let m = self.marks.pop()?;
                    self.fill_below(m, kind::LIST)?
                }
                op::ADDITEMS => {
                    let m = self.marks.pop()?;
                    self.fill_below(m, kind::SET)?
                }
                op::SETITEM => {
                    let m = self.stack.len().checked_sub(2)?;
                    self.fill_below(m, kind::DICT)?
                }
                op::SETITEMS => {
                    let m = self.marks.pop()?;
                    self.fill_below(m, kind::DICT)?
                }
                op::MEMOIZE => {
                    let i = self.memo_len;
                    self.put(i)?
                }
                op::BINPUT | op::LONG_BINPUT => self.put(usize::try_from(arg.uint()).ok()?)?,
                op::BINGET | op::LONG_BINGET => self.get(usize::try_from(arg.uint()).ok()?)?,
                _ => return None,
            }
        }
    }

    fn unicode(&mut self, b: &'a [u8]) -> Option<()> {
        // Short ASCII (keys, names: most strings in messages) is checked inline.
        let ascii = b.len() <= 32 && b.iter().all(|c| *c < 0x80);
        let utf8 = ascii
            || match std::str::from_utf8(b) {
                Ok(_) => true,
                // Lone surrogates (what CPython's surrogatepass writes) are kept; anything
                // else is an error the owned decoder reports.
                Err(_) => {
                    crate::value::PyStr::from_surrogatepass(b)?;
                    false
                }
            };
        let (at, len) = self.place(b)?;
        self.push_new(Packed::new(kind::STR, u8::from(utf8), at, len))
    }

    fn put(&mut self, i: usize) -> Option<()> {
        check(self.stack.len() > self.fence())?;
        let top = *self.stack.last()? & !FROM_MEMO;
        // An index no pickle of this size could need is left to the owned decoder (and a
        // peer cannot make the memo allocate more than the input's size).
        check(i <= self.data.len() + 64)?;
        if i == self.memo.len() {
            self.memo.push(u32::MAX);
        } else if i > self.memo.len() {
            self.memo.resize(i + 1, u32::MAX);
        }
        check(self.memo[i] == u32::MAX)?;
        self.memo_len += 1;
        check(self.memo_len <= self.opts.max_memo)?;
        self.memo[i] = top;
        Some(())
    }

    fn get(&mut self, i: usize) -> Option<()> {
        let id = *self.memo.get(i)?;
        check(id != u32::MAX)?;
        self.charge(LINK_BYTES)?;
        self.stack.push(id | FROM_MEMO);
        Some(())
    }

    /// `stack[m..]` becomes a tuple.
    fn tuple(&mut self, m: usize) -> Option<()> {
        check(m <= self.stack.len() && m >= self.fence())?;
        self.push_new(Packed::new(kind::TUPLE, 0, 0, 0))?;
        let id = self.stack.pop()?;
        self.fill(id, m)?;
        self.stack.push(id);
        Some(())
    }

    /// Fills the container just below `stack[m..]` with those entries; it must be of the
    /// kind the opcode fills (anything else is the owned decoder's to judge).
    fn fill_below(&mut self, m: usize, want: u8) -> Option<()> {
        check(m > self.fence())?;
        let target = *self.stack.get(m.checked_sub(1)?)?;
        check(target & FROM_MEMO == 0 && self.nodes[target as usize].kind == want)?;
        self.fill(target, m)
    }

    /// Moves `stack[m..]` into container `id` (a dict takes them as key, value pairs).
    fn fill(&mut self, id: u32, m: usize) -> Option<()> {
        check(m <= self.stack.len())?;
        let n = self.stack.len() - m;
        let k = self.nodes[id as usize].kind;
        let is_keyed = matches!(k, kind::DICT | kind::SET | kind::FROZENSET);
        let per = if k == kind::DICT { 2 } else { 1 };
        check(n % per == 0)?;
        let mut span = self.nodes[id as usize].span();
        // Height: one more than the highest entry.
        let mut h = self.heights[id as usize];
        for &e in &self.stack[m..] {
            h = h.max(self.heights[(e & !FROM_MEMO) as usize].saturating_add(1));
        }
        check(h as usize <= self.opts.max_depth)?;
        self.heights[id as usize] = h;
        if n == 0 {
            self.stack.truncate(m);
            return Some(());
        }
        if is_keyed {
            // Keys and set items must be hashable; the arena takes the common kinds and
            // leaves the rest (and the TypeError of an unhashable one) to the owned decoder.
            for &e in self.stack[m..].iter().step_by(per) {
                check(self.hashable(e & !FROM_MEMO))?;
            }
        }
        self.reserve(&mut span, n as u32)?;
        let start = (span.start + span.len) as usize;
        let entries = self.stack[m..].iter().map(|&e| e & !FROM_MEMO);
        if start == self.links.len() {
            self.links.extend(entries);
        } else {
            for (slot, e) in self.links[start..start + n].iter_mut().zip(entries) {
                *slot = e;
            }
        }
        span.len += n as u32;
        let room_end = span.start as usize + span.cap as usize;
        if room_end > self.links.len() {
            // A span just moved to the end: keep its room (charged in `reserve`).
            self.links.resize(room_end, 0);
        }
        self.stack.truncate(m);
        self.nodes[id as usize].set_span(span);
        Some(())
    }

    /// Makes room for `more` links at the end of `span`. A span that ends the link vector
    /// grows in place (the caller pushes the new links); another one moves to the end of
    /// the vector with room to double (so a list filled in many batches is copied
    /// O(log n) times, not once per batch).
    fn reserve(&mut self, span: &mut Span, more: u32) -> Option<()> {
        let need = span.len.checked_add(more)?;
        let used_end = span.start as usize + span.len as usize;
        if span.len == 0 && span.cap == 0 {
            // First items: they start at the end.
            span.start = u32::try_from(self.links.len()).ok()?;
            span.cap = need;
            return self.charge(more as usize * LINK_BYTES);
        }
        if span.start as usize + span.cap as usize == self.links.len()
            && used_end == self.links.len()
        {
            // Last in the vector, no room left over: grow in place.
            span.cap = need;
            return self.charge(more as usize * LINK_BYTES);
        }
        if need <= span.cap {
            return Some(());
        }
        let cap = need.max(span.cap.saturating_mul(2));
        self.charge(cap as usize * LINK_BYTES)?;
        let start = u32::try_from(self.links.len()).ok()?;
        self.links.reserve(cap as usize);
        self.links.extend_from_within(span.start as usize..used_end);
        span.start = start;
        span.cap = cap;
        // The new links are pushed after the copy; the rest of the room is kept for later
        // batches by padding once they are in (see `fill`).
        Some(())
    }

    /// Whether node `id` is a key kind the arena takes (None, bool, int, float, str,
    /// bytes: all hashable).
    #[inline]
    fn hashable(&self, id: u32) -> bool {
        matches!(
            self.nodes[id as usize].kind,
            kind::NONE | kind::BOOL | kind::INT | kind::FLOAT | kind::STR | kind::BYTES
        )
    }
}
