//! The byte-level reader under the typed decoder: opcodes and their arguments (read by the
//! codec's one reader, `pickle/reader.rs`), the memo of byte ranges, replays of memo ranges, and the bounded look-ahead that tells a
//! container's own `APPEND`/`SETITEM` from a sibling that follows it.
//!
//! Nothing here builds a value: scalars are returned borrowed from the input
//! ([`Scalar`]), containers are walked by `de.rs`.

use std::fmt;

use crate::pickle::opcodes as op;
use crate::pickle::reader::{read_arg, read_op, shape, Arg, Shape};
use crate::pickle::{PickleError, PickleErrorKind};

/// Why the typed decoder stopped.
#[derive(Debug)]
pub(crate) enum Fail {
    /// The pickle uses something this reader does not handle, or it is malformed, or the
    /// reading guessed wrong: the caller re-decodes through [`crate::Value`], which is
    /// exact (and gives the canonical error).
    Bail,
    /// A type's `Deserialize` rejected what it was given; re-decoded through `Value` as
    /// well, for the canonical message.
    Custom(String),
    /// A limit that the `Value` path would not survive either (replays of shared memo
    /// entries beyond `max_alloc`): returned as is.
    Limit(PickleError),
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fail::Bail => f.write_str("not handled by the typed reader"),
            Fail::Custom(m) => f.write_str(m),
            Fail::Limit(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Fail {}

impl serde::de::Error for Fail {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Fail::Custom(msg.to_string())
    }
}

pub(crate) type R<T> = Result<T, Fail>;

/// What [`Reader::peek`] answers at the end of the input or of a replayed range.
pub(crate) const END: u8 = 0xff;

/// Items per `APPENDS` / `SETITEMS` / `ADDITEMS` group in CPython's pickler (`BATCHSIZE`).
pub(crate) const BATCH: usize = 1000;

/// Deepest nesting (containers and memo replays) read directly; deeper input is decoded
/// through `Value`. Serde visitors recurse, so this bounds the native stack.
const MAX_NESTING: u32 = 128;

/// Opcodes the look-ahead simulates before it gives up and guesses.
const LOOKAHEAD: usize = 64;

/// A memo entry: the byte range of the object stored, to be read again at each `GET`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Memo {
    pub start: u32,
    /// [`UNFINISHED`] while the container is still being filled.
    pub end: u32,
    pub kind: Kind,
}

/// The end of a memo entry whose container is still being filled.
pub(crate) const UNFINISHED: u32 = u32::MAX;

/// What a memo entry holds, as far as reading it again is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A scalar other than bytes or str (may be the first item of a postfix tuple).
    Scalar,
    /// A `str` whose bytes were checked to be UTF-8 when first read (so a `GET` of it
    /// needs no second check, see [`Reader::memo_str`]).
    Str,
    /// `bytes` / `bytearray` (also a sequence of ints for `Vec<u8>`).
    Bytes,
    /// A list, dict, set, frozenset, or a tuple opened by `MARK` / `EMPTY_TUPLE`.
    Container,
    /// A tuple of one to three items (`TUPLE1`/`TUPLE2`/`TUPLE3` after its items).
    Tuple,
}

/// A scalar argument, borrowed from the input.
pub(crate) enum Scalar<'de> {
    None,
    Bool(bool),
    Int(i64),
    U64(u64),
    I128(i128),
    Float(f64),
    Str(&'de str),
    Bytes(&'de [u8]),
}

/// The container a look-ahead asks about.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fill {
    List,
    Dict,
}

/// The reader: a position in the input, the range being read (the whole input, or a
/// memo entry's range during a replay), and the memo.
pub(crate) struct Reader<'de> {
    pub data: &'de [u8],
    pub pos: usize,
    pub end: usize,
    pub memo: Vec<Memo>,
    /// Non-zero while a memo range is read again (memo writes are then skipped).
    pub replaying: u32,
    /// Where a tuple found by [`Reader::tuple_starts_here`] is being read (its first item
    /// is not probed again).
    pub tuple_at: usize,
    nesting: u32,
    /// Bytes that replays may still read.
    budget: usize,
    max_memo: usize,
}

impl<'de> Reader<'de> {
    pub fn new(data: &'de [u8], max_alloc: usize, max_memo: usize) -> Reader<'de> {
        Reader {
            data,
            pos: 0,
            end: data.len(),
            memo: spare_memo(data.len() / 16),
            replaying: 0,
            tuple_at: usize::MAX,
            nesting: 0,
            budget: max_alloc,
            max_memo,
        }
    }

    /// The next opcode (not consumed), `FRAME`s skipped; [`END`] at the end of the range.
    #[inline(always)]
    pub fn peek(&mut self) -> R<u8> {
        loop {
            let Some(&code) = self.data[..self.end].get(self.pos) else {
                return Ok(END);
            };
            if code != op::FRAME {
                return Ok(code);
            }
            // A frame longer than what is left of the whole input is a truncated pickle
            // (as `loads` says); one that goes past a replayed range is not.
            let (_, next) = read_op(self.data, self.pos).map_err(|_| Fail::Bail)?;
            if next > self.end {
                return Err(Fail::Bail);
            }
            self.pos = next;
        }
    }

    /// Reads the opcode at the position and its argument (within the range being read).
    #[inline(always)]
    fn op(&mut self) -> R<Arg<'de>> {
        let data: &'de [u8] = self.data;
        let (o, next) = read_op(&data[..self.end], self.pos).map_err(|_| Fail::Bail)?;
        self.pos = next;
        Ok(o.arg)
    }

    /// Enters one level of nesting (a container or a replay).
    #[inline(always)]
    pub fn enter(&mut self) -> R<()> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(Fail::Bail);
        }
        Ok(())
    }

    #[inline(always)]
    pub fn leave(&mut self) {
        self.nesting -= 1;
    }

    /// Reads the scalar whose opcode `code` is at the position (consumed here); fails
    /// with [`Fail::Bail`] when `code` is not a scalar this reader handles.
    #[inline(always)]
    pub fn scalar(&mut self, code: u8) -> R<Scalar<'de>> {
        let arg = self.op()?;
        Ok(match code {
            op::NONE => Scalar::None,
            op::NEWTRUE => Scalar::Bool(true),
            op::NEWFALSE => Scalar::Bool(false),
            op::BININT1 | op::BININT2 | op::BININT => Scalar::Int(arg.int()),
            op::BINFLOAT => Scalar::Float(arg.float()),
            op::LONG1 => long(arg.bytes())?,
            op::SHORT_BINUNICODE | op::BINUNICODE | op::BINUNICODE8 => {
                Scalar::Str(utf8(arg.bytes())?)
            }
            op::SHORT_BINBYTES | op::BINBYTES | op::BINBYTES8 | op::BYTEARRAY8 => {
                Scalar::Bytes(arg.bytes())
            }
            _ => return Err(Fail::Bail),
        })
    }

    /// Reads a `BINGET` / `LONG_BINGET` at the position: the memo entry it names.
    #[inline(always)]
    pub fn get(&mut self) -> R<Memo> {
        let idx = self.op()?.uint() as usize;
        match self.memo.get(idx) {
            Some(m) if m.end != UNFINISHED => Ok(*m),
            // Unknown, or a container still being filled (a cycle): `Value` handles it.
            _ => Err(Fail::Bail),
        }
    }

    /// Consumes the memo opcodes after an object spanning `start..end`, recording each
    /// (unless replaying). Returns the memo indices recorded.
    #[inline(always)]
    pub fn memo_ops(&mut self, start: usize, end: u32, kind: Kind) -> R<(usize, usize)> {
        let lo = self.memo.len();
        if !matches!(
            self.data[..self.end].get(self.pos),
            Some(&(op::MEMOIZE | op::BINPUT | op::LONG_BINPUT | op::FRAME))
        ) {
            return Ok((lo, lo));
        }
        loop {
            let code = self.peek()?;
            let idx = match code {
                op::MEMOIZE => {
                    self.pos += 1;
                    self.memo.len()
                }
                op::BINPUT | op::LONG_BINPUT => self.op()?.uint() as usize,
                _ => break,
            };
            if self.replaying == 0 {
                // Only appends: an overwritten entry would change what earlier ranges
                // mean when they are read again.
                if idx != self.memo.len() || idx >= self.max_memo {
                    return Err(Fail::Bail);
                }
                // `Reader::new` callers check that positions fit in `u32`.
                self.memo.push(Memo {
                    start: start as u32,
                    end,
                    kind,
                });
            }
        }
        Ok((lo, self.memo.len()))
    }

    /// Marks the memo entries `lo..hi` (a container's) complete at the position.
    #[inline]
    pub fn finish_memo(&mut self, (lo, hi): (usize, usize)) {
        let end = self.pos as u32;
        for m in &mut self.memo[lo..hi] {
            m.end = end;
        }
    }

    /// Runs `f` over the memo entry `m`'s range, then returns to where the reader was.
    #[inline]
    pub fn replay<T>(&mut self, m: Memo, f: impl FnOnce(&mut Self) -> R<T>) -> R<T> {
        let len = (m.end - m.start) as usize;
        self.budget = self.budget.checked_sub(len).ok_or_else(|| {
            Fail::Limit(PickleError::new(
                self.pos,
                PickleErrorKind::AllocLimit(self.data.len()),
            ))
        })?;
        self.enter()?;
        let saved = (self.pos, self.end);
        self.pos = m.start as usize;
        self.end = m.end as usize;
        self.replaying += 1;
        let out = f(self)?;
        if self.peek()? != END {
            return Err(Fail::Bail);
        }
        self.replaying -= 1;
        (self.pos, self.end) = saved;
        self.leave();
        Ok(out)
    }

    /// The text of a [`Kind::Str`] memo entry, read again without a second UTF-8 check.
    #[inline(always)]
    pub fn memo_str(&self, m: Memo) -> &'de str {
        let data: &'de [u8] = self.data;
        let at = m.start as usize;
        let bytes = if data[at] == op::SHORT_BINUNICODE {
            // The common case (short keys): the text runs from after the one-byte count
            // to the end of the entry (a `Kind::Str` entry ends where its text ends).
            &data[at + 2..m.end as usize]
        } else {
            match read_op(data, at) {
                Ok((o, _)) => o.arg.bytes(),
                Err(_) => unreachable!("a Kind::Str memo entry was read whole once"),
            }
        };
        // SAFETY: a `Kind::Str` entry is recorded only right after `utf8` accepted exactly
        // these bytes of the same immutable input (read by the same `read_op`).
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    /// Whether the scalar at the position is the first item of a tuple written before
    /// its `TUPLE1`/`TUPLE2`/`TUPLE3` (`a b TUPLE2`), found by simulating the stack for a
    /// few opcodes; false when that does not settle it.
    pub fn tuple_starts_here(&self) -> bool {
        let data = &self.data[..self.end];
        let mut p = self.pos;
        let mut h: usize = 0;
        let mut marks: Vec<usize> = Vec::new();
        for _ in 0..LOOKAHEAD {
            let Some(&code) = data.get(p) else {
                return false;
            };
            let Some(next) = skip(data, p) else {
                return false;
            };
            p = next;
            let floor = marks.last().copied().unwrap_or(0);
            match code {
                op::FRAME | op::MEMOIZE | op::BINPUT | op::LONG_BINPUT => {}
                op::MARK => marks.push(h),
                op::TUPLE1 | op::TUPLE2 | op::TUPLE3 => {
                    let n = usize::from(code - op::TUPLE1 + 1);
                    if marks.is_empty() && h == n {
                        return true;
                    }
                    if h < n || h - n < floor || (marks.is_empty() && h - n == 0) {
                        return false;
                    }
                    h -= n - 1;
                }
                op::TUPLE | op::LIST | op::FROZENSET | op::DICT => match marks.pop() {
                    Some(m) => h = m + 1,
                    None => return false,
                },
                op::APPENDS | op::SETITEMS | op::ADDITEMS => match marks.pop() {
                    Some(m) if m > 0 => h = m,
                    _ => return false,
                },
                op::APPEND | op::SETITEM => {
                    let n = if code == op::APPEND { 1 } else { 2 };
                    if h <= n + floor {
                        return false;
                    }
                    h -= n;
                }
                c if starts_object(c) => h += 1,
                _ => return false,
            }
        }
        false
    }

    /// Reads a `BINGET` / `LONG_BINGET` at the position without reading the object again
    /// (for a value the type ignores).
    pub fn skip_get(&mut self) -> R<()> {
        let idx = self.op()?.uint() as usize;
        if idx >= self.memo.len() {
            return Err(Fail::Bail);
        }
        let m = self.memo[idx];
        // A memo put after a get names the same object: the same range.
        self.memo_ops(m.start as usize, m.end, m.kind)?;
        Ok(())
    }

    /// Whether the object at the position is the single item of the list or dict just
    /// opened (`x APPEND`, `k v SETITEM`) rather than a sibling that follows an empty one.
    /// Simulates the stack for a few opcodes; when that does not settle it, guesses
    /// "item" (a wrong guess makes the reading fail, and the `Value` path takes over).
    pub fn single_follows(&self, fill: Fill) -> bool {
        let data = &self.data[..self.end];
        let mut p = self.pos;
        let mut h: usize = 0;
        let mut marks: Vec<usize> = Vec::new();
        for _ in 0..LOOKAHEAD {
            let Some(&code) = data.get(p) else {
                return false;
            };
            let floor = marks.last().copied().unwrap_or(0);
            let Some(next) = skip(data, p) else {
                return true;
            };
            p = next;
            match code {
                op::FRAME | op::MEMOIZE | op::BINPUT | op::LONG_BINPUT => {}
                op::MARK => marks.push(h),
                op::TUPLE1 | op::TUPLE2 | op::TUPLE3 => {
                    let n = usize::from(code - op::TUPLE1 + 1);
                    if h < n {
                        return false;
                    }
                    if h - n < floor {
                        return true;
                    }
                    h -= n - 1;
                }
                op::TUPLE | op::LIST | op::FROZENSET | op::DICT => match marks.pop() {
                    Some(m) => h = m + 1,
                    None => return false,
                },
                op::APPENDS | op::SETITEMS | op::ADDITEMS => match marks.pop() {
                    Some(m) => {
                        h = m;
                        if h == 0 {
                            // A batch into our container.
                            return true;
                        }
                    }
                    None => return false,
                },
                op::APPEND | op::SETITEM => {
                    let n = if code == op::APPEND { 1 } else { 2 };
                    if marks.is_empty() && h == n {
                        return (code == op::APPEND) == (fill == Fill::List);
                    }
                    if h <= n {
                        return false;
                    }
                    if h - n <= floor && !marks.is_empty() {
                        return true;
                    }
                    h -= n;
                }
                op::STOP => return false,
                c if starts_object(c) => h += 1,
                _ => return true,
            }
        }
        true
    }
}

/// Memo entries a thread keeps for its next message (1.5 MB at most).
const SPARE_MEMO: usize = 1 << 17;

thread_local! {
    /// The memo of the thread's last message, emptied: reused by the next, so that a
    /// stream of messages does not map fresh pages for each memo.
    static SPARE: std::cell::Cell<Vec<Memo>> = const { std::cell::Cell::new(Vec::new()) };
}

/// An empty memo with room for `n` entries, the thread's spare one when there is one.
fn spare_memo(n: usize) -> Vec<Memo> {
    let mut v = SPARE.with(|s| s.take());
    v.reserve(n.min(SPARE_MEMO));
    v
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if self.memo.capacity() <= SPARE_MEMO {
            let mut v = std::mem::take(&mut self.memo);
            v.clear();
            SPARE.with(|s| s.set(v));
        }
    }
}

/// Opcodes that push one object (scalars, memo gets, empty containers, `MARK`).
#[inline]
pub(crate) fn starts_object(code: u8) -> bool {
    matches!(
        code,
        op::NONE
            | op::NEWTRUE
            | op::NEWFALSE
            | op::BININT
            | op::BININT1
            | op::BININT2
            | op::LONG1
            | op::BINFLOAT
            | op::SHORT_BINUNICODE
            | op::BINUNICODE
            | op::BINUNICODE8
            | op::SHORT_BINBYTES
            | op::BINBYTES
            | op::BINBYTES8
            | op::BYTEARRAY8
            | op::BINGET
            | op::LONG_BINGET
            | op::EMPTY_LIST
            | op::EMPTY_DICT
            | op::EMPTY_TUPLE
            | op::EMPTY_SET
            | op::MARK
    )
}

/// `bytes` / `bytearray` opcodes.
#[inline]
pub(crate) fn is_bytes(code: u8) -> bool {
    matches!(
        code,
        op::SHORT_BINBYTES | op::BINBYTES | op::BINBYTES8 | op::BYTEARRAY8
    )
}

/// The position after the opcode at `p` and its argument (as [`read_arg`] reads it, a
/// `FRAME`'s length not checked); `None` for a byte that is no opcode or an argument past
/// the end of `data`.
fn skip(data: &[u8], p: usize) -> Option<usize> {
    let code = *data.get(p)?;
    match shape(code) {
        Shape::Bare => Some(p + 1),
        Shape::Arg(kind) => read_arg(data, p + 1, kind).ok().map(|(_, next)| next),
        Shape::Unknown => None,
    }
}

#[inline(always)]
fn utf8(b: &[u8]) -> R<&str> {
    // Short ASCII text (dict keys, names) is most of what pickles carry: checked here
    // without a call.
    if b.len() <= 16 && b.iter().all(|c| c.is_ascii()) {
        // SAFETY: ASCII is UTF-8.
        return Ok(unsafe { std::str::from_utf8_unchecked(b) });
    }
    // Lone surrogates (surrogatepass) are not UTF-8: `Value` reports them.
    std::str::from_utf8(b).map_err(|_| Fail::Bail)
}

/// A `LONG1` argument (little-endian two's complement) as the narrowest scalar that
/// `from_value` would visit it as.
fn long(b: &[u8]) -> R<Scalar<'static>> {
    if b.len() > 16 {
        return Err(Fail::Bail);
    }
    if b.is_empty() {
        return Ok(Scalar::Int(0));
    }
    let neg = b[b.len() - 1] & 0x80 != 0;
    let mut buf = [if neg { 0xff } else { 0 }; 16];
    buf[..b.len()].copy_from_slice(b);
    let v = i128::from_le_bytes(buf);
    Ok(if let Ok(i) = i64::try_from(v) {
        Scalar::Int(i)
    } else if let Ok(u) = u64::try_from(v) {
        Scalar::U64(u)
    } else {
        Scalar::I128(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long1_reads_twos_complement() {
        assert!(matches!(long(&[]), Ok(Scalar::Int(0))));
        assert!(matches!(long(&[0xff]), Ok(Scalar::Int(-1))));
        assert!(
            matches!(long(&[0, 0, 0, 0, 0, 0, 0, 0x80, 0]), Ok(Scalar::U64(u)) if u == 1 << 63)
        );
        assert!(
            matches!(long(&[0, 0, 0, 0, 0, 0, 0, 0, 0x80]), Ok(Scalar::I128(i)) if i == -(1i128 << 71))
        );
    }

    #[test]
    fn a_length_near_usize_max_is_no_overflow() {
        // Found by the `typed_decode` fuzz target: EMPTY_DICT, then BYTEARRAY8 with a
        // length of 2**64 - 9.
        let data = [
            0x7d, 0x96, 0xf7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ];
        let r = Reader::new(&data, usize::MAX, usize::MAX);
        assert!(skip(&data, 1).is_none());
        // The look-ahead meets the same opcode: it gives up (guesses), no overflow.
        assert!(r.single_follows(Fill::Dict));
        assert!(
            crate::pickle::from_slice::<std::collections::BTreeMap<String, i64>>(&data).is_err()
        );
    }
}
