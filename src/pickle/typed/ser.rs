//! A serde `Serializer` that writes pickle opcodes directly, with no [`Value`] in between.
//!
//! It writes the opcodes CPython's C pickler (`_pickle.c`) writes for the Python object
//! that [`to_value`] would build — items in batches of 1000 (a one-item list or dict with
//! `APPEND` / `SETITEM`, a dict whose size is a multiple of 1000 closed by an empty
//! `MARK SETITEMS`), frames of 64 KiB from protocol 4, payloads of 64 KiB or more outside
//! frames — with one difference: only struct field and variant names are memoized. A
//! typed value has no shared objects, so memo entries for every str, list, dict and tuple
//! (CPython's) would only cost time at both ends; a name is a `&'static str` and one seen
//! again is fetched from the memo (`BINGET`), as CPython does for dicts sharing key
//! objects, which keeps records small.
//!
//! **Speed** (`Vec<Item>` of `dicts_10k`, `benches/codec.rs` group `typed`: about 1.2×
//! serde-pickle's `to_vec`, 10× CPython's `dumps`). Every write goes to a `Vec` the encoder
//! owns, an opcode and its fixed-size argument in one `extend_from_slice` of a constant-size
//! array (one capacity check, no `memcpy` call), a record's `EMPTY_DICT MARK` likewise. A frame is opened as soon as the previous
//! one closes, so writes never check for one; only the start of each object compares the
//! length with the frame's end. Names cost one comparison in the common case: a field's
//! name is looked up first by the field's position in its struct (the same struct written
//! again finds it there), then in a small address-keyed table. The trade-off of memoizing
//! names: a `BINGET` of 2 bytes in place of the name (5+ bytes), key objects shared on the
//! Python side as CPython's own pickler shares them, and output half the size of
//! serde-pickle's (which repeats every name), for about one comparison per field; cold
//! paths (`LONG1`, errors) stay out of line so that the hot ones inline into the caller's
//! `Serialize`. Tried and dropped: reserving a list's size ahead from its first item (a
//! large fresh allocation each time costs more in page faults than doubling does), and a
//! single fixed-size write for all int forms cut back afterwards (slower).
//!
//! [`Value`]: crate::Value
//! [`to_value`]: crate::to_value

use std::fmt;

use serde::ser::{self, Serialize};

use super::read::BATCH;
use crate::pickle::opcodes as op;
use crate::{Error, Result};

/// A frame is closed once it holds this much (`FRAME_SIZE_TARGET`).
const FRAME_TARGET: usize = 64 * 1024;
/// A frame smaller than this gets no header (`FRAME_SIZE_MIN`).
const FRAME_MIN: usize = 4;
/// `FRAME` + 8-byte length.
const FRAME_HEADER: usize = 9;
/// Slots of the field-name cache (direct-mapped by address).
const NAME_SLOTS: usize = 64;
/// Slots of the cache by field position.
const FIELD_SLOTS: usize = 16;

/// Writes `value` as a pickle of protocol `proto` (3–5) to `out`.
pub(super) fn encode<T: Serialize + ?Sized>(value: &T, proto: u8, out: &mut Vec<u8>) -> Result<()> {
    // The encoder owns the buffer while it writes (one indirection less on every push).
    let mut e = Encoder {
        out: std::mem::take(out),
        proto,
        framing: proto >= 4,
        frame_start: 0,
        frame_limit: usize::MAX,
        memo_len: 0,
        names: [(0, 0, 0); NAME_SLOTS],
        fields: [(0, 0, 0); FIELD_SLOTS],
    };
    e.out.reserve(256);
    e.out.extend_from_slice(&[op::PROTO, proto]);
    e.open_frame();
    let result = run(&mut e, value);
    if result.is_ok() {
        e.op(op::STOP);
        e.commit_frame();
    }
    *out = e.out;
    result.map_err(|err| Error::Value(err.0))
}

/// Serializes `value` into `e`. A function of its own so that `e` is a `&mut` argument:
/// the compiler then knows that the bytes written do not alias the encoder's fields and
/// keeps the buffer's length in a register (about 5× faster on small items).
#[inline(never)]
fn run<T: Serialize + ?Sized>(e: &mut Encoder, value: &T) -> R {
    value.serialize(e)
}

/// A sequence gave more items than the length it announced.
#[cold]
fn too_many() -> SerError {
    SerError("a sequence gave more items than its length".into())
}

/// A tuple gave fewer items than its length.
#[cold]
fn too_few() -> SerError {
    SerError("a tuple gave fewer items than its length".into())
}

/// The error of the serializer: only a type's own `Serialize` can fail.
#[derive(Debug)]
pub(super) struct SerError(String);

impl fmt::Display for SerError {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SerError {}

impl ser::Error for SerError {
    #[inline]
    fn custom<T: fmt::Display>(msg: T) -> Self {
        SerError(msg.to_string())
    }
}

type R<T = ()> = std::result::Result<T, SerError>;

struct Encoder {
    out: Vec<u8>,
    proto: u8,
    /// Protocol 4+: the output is cut into frames.
    framing: bool,
    /// Where the open frame's 9 reserved header bytes start (when `framing`).
    frame_start: usize,
    /// Output length at which the open frame reached its target (`usize::MAX`: no
    /// framing).
    frame_limit: usize,
    memo_len: u32,
    /// `(address, length, memo index + 1)` of `&'static str` names written and memoized.
    names: [(usize, usize, u32); NAME_SLOTS],
    /// The same, by a field's position in its struct: a record written again finds each
    /// of its names here with one comparison.
    fields: [(usize, usize, u32); FIELD_SLOTS],
}

impl Encoder {
    // ----- output and framing (as `_Pickler_Write`, `_Pickler_CommitFrame`) ----------
    //
    // `_pickle.c` opens a frame at the first write after the previous one closed; here a
    // frame is opened as soon as the previous one closes (the next write would open it at
    // the same place), so that no write has to check for it. A frame that gets fewer than
    // `FRAME_MIN` bytes loses its header, which also covers one opened just before a large
    // payload or `STOP`.

    /// Writes a few bytes (an opcode and its fixed-size argument) with one capacity check.
    #[inline(always)]
    fn put<const N: usize>(&mut self, bytes: [u8; N]) {
        self.out.extend_from_slice(&bytes);
    }

    #[inline(always)]
    fn op(&mut self, code: u8) {
        self.put([code]);
    }

    /// Reserves the header of a new frame (protocol 4+).
    #[inline]
    fn open_frame(&mut self) {
        if self.framing {
            self.frame_start = self.out.len();
            self.frame_limit = self.out.len() + FRAME_HEADER + FRAME_TARGET;
            self.put([0; FRAME_HEADER]);
        }
    }

    /// Closes the open frame: fills in its header, or drops the header when the frame is
    /// shorter than [`FRAME_MIN`].
    fn commit_frame(&mut self) {
        if !self.framing {
            return;
        }
        let start = self.frame_start;
        let len = self.out.len() - start - FRAME_HEADER;
        if len >= FRAME_MIN {
            self.out[start] = op::FRAME;
            self.out[start + 1..start + FRAME_HEADER].copy_from_slice(&(len as u64).to_le_bytes());
        } else {
            self.out.drain(start..start + FRAME_HEADER);
        }
    }

    /// At the start of every object (`save`): closes a frame that reached the target.
    #[inline(always)]
    fn boundary(&mut self) {
        if self.out.len() >= self.frame_limit {
            self.next_frame();
        }
    }

    #[cold]
    #[inline(never)]
    fn next_frame(&mut self) {
        self.commit_frame();
        self.open_frame();
    }

    /// A length-prefixed payload; 64 KiB or more goes outside any frame.
    #[inline]
    fn payload(&mut self, header: &[u8], data: &[u8]) {
        if data.len() >= FRAME_TARGET && self.framing {
            self.commit_frame();
            self.out.extend_from_slice(header);
            self.out.extend_from_slice(data);
            self.open_frame();
        } else {
            self.out.extend_from_slice(header);
            self.out.extend_from_slice(data);
        }
    }

    #[inline(always)]
    fn memoize(&mut self) {
        let idx = self.memo_len;
        self.memo_len += 1;
        if self.proto >= 4 {
            self.op(op::MEMOIZE);
        } else if idx < 256 {
            self.put([op::BINPUT, idx as u8]);
        } else {
            let i = idx.to_le_bytes();
            self.put([op::LONG_BINPUT, i[0], i[1], i[2], i[3]]);
        }
    }

    /// `BINGET` / `LONG_BINGET` of memo index `idx`.
    #[inline(always)]
    fn get(&mut self, idx: u32) {
        self.boundary();
        if idx < 256 {
            self.put([op::BINGET, idx as u8]);
        } else {
            let i = idx.to_le_bytes();
            self.put([op::LONG_BINGET, i[0], i[1], i[2], i[3]]);
        }
    }

    // ----- objects --------------------------------------------------------------------

    /// An int as `save_long` writes it: `BININT1`, `BININT2`, `BININT` or `LONG1`.
    #[inline(always)]
    fn int(&mut self, v: i64) {
        self.boundary();
        if (0..=0xff).contains(&v) {
            self.put([op::BININT1, v as u8]);
        } else if (0..=0xffff).contains(&v) {
            let b = (v as u16).to_le_bytes();
            self.put([op::BININT2, b[0], b[1]]);
        } else if let Ok(i) = i32::try_from(v) {
            let b = i.to_le_bytes();
            self.put([op::BININT, b[0], b[1], b[2], b[3]]);
        } else {
            self.long1(&v.to_le_bytes(), v < 0);
        }
    }

    /// An int beyond `i64`.
    #[inline]
    fn wide_int(&mut self, v: i128) {
        match i64::try_from(v) {
            Ok(i) => self.int(i),
            Err(_) => {
                self.boundary();
                self.long1(&v.to_le_bytes(), v < 0);
            }
        }
    }

    /// `LONG1` with the shortest two's complement of the little-endian `b`.
    #[cold]
    #[inline(never)]
    fn long1(&mut self, b: &[u8], neg: bool) {
        let fill = if neg { 0xff } else { 0 };
        let mut n = b.len();
        while n > 1 && b[n - 1] == fill && (b[n - 2] & 0x80 != 0) == neg {
            n -= 1;
        }
        self.put([op::LONG1, n as u8]);
        self.out.extend_from_slice(&b[..n]);
    }

    #[inline]
    fn str(&mut self, s: &str) {
        self.boundary();
        let len = s.len();
        if len <= 0xff && self.proto >= 4 {
            // Short: never outside a frame; fixed-size header (no `memcpy` call for it).
            self.put([op::SHORT_BINUNICODE, len as u8]);
            self.out.extend_from_slice(s.as_bytes());
        } else if let Ok(l) = u32::try_from(len) {
            let l = l.to_le_bytes();
            self.payload(&[op::BINUNICODE, l[0], l[1], l[2], l[3]], s.as_bytes());
        } else {
            let mut h = [op::BINUNICODE8; 9];
            h[1..].copy_from_slice(&(len as u64).to_le_bytes());
            self.payload(&h, s.as_bytes());
        }
    }

    /// A `&'static str` name (struct field, variant): fetched from the memo when the same
    /// name was written before.
    #[inline]
    fn name(&mut self, s: &'static str) {
        let key = (s.as_ptr() as usize, s.len());
        // Names sit next to each other in read-only data: hash the address, then probe.
        let home = (key.0.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58) % NAME_SLOTS;
        let mut slot = home;
        for probe in 0..4 {
            slot = (home + probe) % NAME_SLOTS;
            let (addr, len, idx) = self.names[slot];
            if idx == 0 {
                break;
            }
            if (addr, len) == key {
                self.get(idx - 1);
                return;
            }
        }
        self.str(s);
        self.memoize();
        self.names[slot] = (key.0, key.1, self.memo_len);
    }

    /// The name of field number `pos` of a struct: one comparison when the same field of
    /// the same struct was the last written at this position (records in a list), else
    /// [`Encoder::name`].
    #[inline(always)]
    fn field_name(&mut self, s: &'static str, pos: usize) {
        let key = (s.as_ptr() as usize, s.len());
        let slot = pos % FIELD_SLOTS;
        let (addr, len, idx) = self.fields[slot];
        if (addr, len) == key && idx != 0 {
            self.get(idx - 1);
            return;
        }
        self.field_name_slow(s, slot);
    }

    #[inline(never)]
    fn field_name_slow(&mut self, s: &'static str, slot: usize) {
        let before = self.memo_len;
        self.name(s);
        // The memo index `name` wrote or fetched: a fresh entry is the last one.
        let idx = if self.memo_len > before {
            self.memo_len
        } else {
            self.names
                .iter()
                .find(|&&(a, l, i)| i != 0 && (a, l) == (s.as_ptr() as usize, s.len()))
                .map_or(0, |&(_, _, i)| i)
        };
        self.fields[slot] = (s.as_ptr() as usize, s.len(), idx);
    }

    #[inline]
    fn bytes(&mut self, b: &[u8]) {
        self.boundary();
        let len = b.len();
        if len <= 0xff {
            self.payload(&[op::SHORT_BINBYTES, len as u8], b);
        } else if let Ok(l) = u32::try_from(len) {
            let l = l.to_le_bytes();
            self.payload(&[op::BINBYTES, l[0], l[1], l[2], l[3]], b);
        } else {
            let mut h = [op::BINBYTES8; 9];
            h[1..].copy_from_slice(&(len as u64).to_le_bytes());
            self.payload(&h, b);
        }
    }

    #[inline]
    fn open_dict(&mut self) {
        self.boundary();
        self.op(op::EMPTY_DICT);
    }

    /// `{variant: …}`: the dict and its key; the caller writes the value, then
    /// `SETITEM`.
    #[inline]
    fn open_variant(&mut self, variant: &'static str) {
        self.open_dict();
        self.name(variant);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    List,
    Dict,
    Tuple,
}

/// A list, dict or tuple being written.
pub(super) struct Compound<'a> {
    e: &'a mut Encoder,
    shape: Shape,
    /// A one-item list or dict: `x APPEND` / `k v SETITEM`.
    single: bool,
    /// The announced length (exact for tuples).
    len: usize,
    /// Items (pairs) written.
    n: usize,
    /// Items (pairs) in the open `MARK` batch.
    in_batch: usize,
    /// A batch's `MARK` is written and its closing opcode is not.
    open: bool,
    /// Wrapped in `{variant: …}`: closed by a `SETITEM` at the end.
    variant: bool,
}

impl<'a> Compound<'a> {
    #[inline]
    fn new(e: &'a mut Encoder, shape: Shape, len: Option<usize>, variant: bool) -> Self {
        Compound {
            e,
            shape,
            single: len == Some(1) && shape != Shape::Tuple,
            len: len.unwrap_or(0),
            n: 0,
            in_batch: 0,
            open: false,
            variant,
        }
    }

    /// Opens a list or dict: `EMPTY_LIST` / `EMPTY_DICT`, and in the same write the `MARK`
    /// of its first batch when it announces two items or more (a record's fields).
    #[inline(always)]
    fn open(e: &'a mut Encoder, shape: Shape, len: Option<usize>, variant: bool) -> Self {
        e.boundary();
        let code = if shape == Shape::Dict {
            op::EMPTY_DICT
        } else {
            op::EMPTY_LIST
        };
        let open = matches!(len, Some(n) if n >= 2);
        if open {
            e.put([code, op::MARK]);
        } else {
            e.put([code]);
        }
        let mut c = Compound::new(e, shape, len, variant);
        c.open = open;
        c
    }

    /// Before an item (a list item, a dict key, a tuple item).
    #[inline(always)]
    fn before_item(&mut self) -> R {
        self.n += 1;
        if self.shape != Shape::Tuple && !self.single {
            if !self.open {
                self.e.op(op::MARK);
                self.open = true;
            }
            self.in_batch += 1;
            return Ok(());
        }
        if self.n > self.len {
            return Err(too_many());
        }
        Ok(())
    }

    /// After an item (a list item, a dict value).
    #[inline(always)]
    fn after_item(&mut self) {
        if !self.single && self.shape != Shape::Tuple && self.in_batch == BATCH {
            self.e.op(self.batch_end());
            self.in_batch = 0;
            self.open = false;
        }
    }

    #[inline]
    fn batch_end(&self) -> u8 {
        if self.shape == Shape::Dict {
            op::SETITEMS
        } else {
            op::APPENDS
        }
    }

    #[inline(always)]
    fn end(self) -> R {
        match self.shape {
            Shape::Tuple => {
                if self.n != self.len {
                    return Err(too_few());
                }
                match self.len {
                    0 => self.e.op(op::EMPTY_TUPLE),
                    1..=3 => self.e.op(op::TUPLE1 + (self.len as u8 - 1)),
                    _ => self.e.op(op::TUPLE),
                }
            }
            _ if self.single => {
                if self.n == 1 {
                    self.e.op(if self.shape == Shape::Dict {
                        op::SETITEM
                    } else {
                        op::APPEND
                    });
                }
            }
            _ => {
                if self.in_batch > 0 {
                    self.e.op(self.batch_end());
                } else if self.open {
                    // Announced items that never came: nothing was written after the
                    // `MARK` written with the container, so take it back.
                    self.e.out.pop();
                } else if self.shape == Shape::Dict && self.n > 0 {
                    // `_pickle.c` closes a dict whose size is a multiple of the batch
                    // with an empty batch.
                    self.e.op(op::MARK);
                    self.e.op(op::SETITEMS);
                }
            }
        }
        if self.variant {
            self.e.op(op::SETITEM);
        }
        Ok(())
    }
}

impl<'a> ser::Serializer for &'a mut Encoder {
    type Ok = ();
    type Error = SerError;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    #[inline]
    fn serialize_bool(self, v: bool) -> R {
        self.boundary();
        self.op(if v { op::NEWTRUE } else { op::NEWFALSE });
        Ok(())
    }
    #[inline]
    fn serialize_i8(self, v: i8) -> R {
        self.int(v.into());
        Ok(())
    }
    #[inline]
    fn serialize_i16(self, v: i16) -> R {
        self.int(v.into());
        Ok(())
    }
    #[inline]
    fn serialize_i32(self, v: i32) -> R {
        self.int(v.into());
        Ok(())
    }
    #[inline(always)]
    fn serialize_i64(self, v: i64) -> R {
        self.int(v);
        Ok(())
    }
    #[inline]
    fn serialize_i128(self, v: i128) -> R {
        self.wide_int(v);
        Ok(())
    }
    #[inline]
    fn serialize_u8(self, v: u8) -> R {
        self.int(v.into());
        Ok(())
    }
    #[inline]
    fn serialize_u16(self, v: u16) -> R {
        self.int(v.into());
        Ok(())
    }
    #[inline]
    fn serialize_u32(self, v: u32) -> R {
        self.int(v.into());
        Ok(())
    }
    #[inline]
    fn serialize_u64(self, v: u64) -> R {
        self.wide_int(v.into());
        Ok(())
    }
    #[inline]
    fn serialize_u128(self, v: u128) -> R {
        match i128::try_from(v) {
            Ok(i) => self.wide_int(i),
            Err(_) => {
                self.boundary();
                let mut b = [0u8; 17];
                b[..16].copy_from_slice(&v.to_le_bytes());
                self.long1(&b, false);
            }
        }
        Ok(())
    }
    #[inline]
    fn serialize_f32(self, v: f32) -> R {
        self.serialize_f64(v.into())
    }
    #[inline(always)]
    fn serialize_f64(self, v: f64) -> R {
        self.boundary();
        let b = v.to_be_bytes();
        self.put([op::BINFLOAT, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        Ok(())
    }
    #[inline]
    fn serialize_char(self, v: char) -> R {
        self.str(v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    #[inline]
    fn serialize_str(self, v: &str) -> R {
        self.str(v);
        Ok(())
    }
    #[inline]
    fn serialize_bytes(self, v: &[u8]) -> R {
        self.bytes(v);
        Ok(())
    }
    #[inline]
    fn serialize_none(self) -> R {
        self.serialize_unit()
    }
    #[inline]
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> R {
        value.serialize(self)
    }
    #[inline]
    fn serialize_unit(self) -> R {
        self.boundary();
        self.op(op::NONE);
        Ok(())
    }
    #[inline]
    fn serialize_unit_struct(self, _name: &'static str) -> R {
        self.serialize_unit()
    }
    #[inline]
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> R {
        self.name(variant);
        Ok(())
    }
    #[inline]
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _name: &'static str, value: &T) -> R {
        value.serialize(self)
    }
    #[inline]
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> R {
        self.open_variant(variant);
        value.serialize(&mut *self)?;
        self.op(op::SETITEM);
        Ok(())
    }
    #[inline]
    fn serialize_seq(self, len: Option<usize>) -> R<Compound<'a>> {
        Ok(Compound::open(self, Shape::List, len, false))
    }
    #[inline]
    fn serialize_tuple(self, len: usize) -> R<Compound<'a>> {
        self.boundary();
        if len > 3 {
            self.op(op::MARK);
        }
        Ok(Compound::new(self, Shape::Tuple, Some(len), false))
    }
    #[inline]
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> R<Compound<'a>> {
        self.serialize_tuple(len)
    }
    #[inline]
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> R<Compound<'a>> {
        self.open_variant(variant);
        self.boundary();
        if len > 3 {
            self.op(op::MARK);
        }
        Ok(Compound::new(self, Shape::Tuple, Some(len), true))
    }
    #[inline]
    fn serialize_map(self, len: Option<usize>) -> R<Compound<'a>> {
        Ok(Compound::open(self, Shape::Dict, len, false))
    }
    #[inline]
    fn serialize_struct(self, _name: &'static str, len: usize) -> R<Compound<'a>> {
        Ok(Compound::open(self, Shape::Dict, Some(len), false))
    }
    #[inline]
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> R<Compound<'a>> {
        self.open_variant(variant);
        Ok(Compound::open(self, Shape::Dict, Some(len), true))
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = SerError;
    #[inline]
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> R {
        self.before_item()?;
        value.serialize(&mut *self.e)?;
        self.after_item();
        Ok(())
    }
    #[inline]
    fn end(self) -> R {
        Compound::end(self)
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = SerError;
    #[inline]
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> R {
        ser::SerializeSeq::serialize_element(self, value)
    }
    #[inline]
    fn end(self) -> R {
        Compound::end(self)
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = SerError;
    #[inline]
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> R {
        ser::SerializeSeq::serialize_element(self, value)
    }
    #[inline]
    fn end(self) -> R {
        Compound::end(self)
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = SerError;
    #[inline]
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> R {
        ser::SerializeSeq::serialize_element(self, value)
    }
    #[inline]
    fn end(self) -> R {
        Compound::end(self)
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = SerError;
    #[inline]
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> R {
        self.before_item()?;
        key.serialize(&mut *self.e)
    }
    #[inline]
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> R {
        value.serialize(&mut *self.e)?;
        self.after_item();
        Ok(())
    }
    #[inline]
    fn end(self) -> R {
        Compound::end(self)
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = SerError;
    #[inline]
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> R {
        self.before_item()?;
        self.e.field_name(key, self.n);
        value.serialize(&mut *self.e)?;
        self.after_item();
        Ok(())
    }
    #[inline]
    fn end(self) -> R {
        Compound::end(self)
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = SerError;
    #[inline]
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> R {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    #[inline]
    fn end(self) -> R {
        Compound::end(self)
    }
}

#[cfg(test)]
mod tests {
    use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

    use crate::{loads, to_vec, Value};

    /// A list or dict that announces `said` items and gives `gave`.
    struct Lying {
        dict: bool,
        said: usize,
        gave: i64,
    }

    impl Serialize for Lying {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            if self.dict {
                let mut m = s.serialize_map(Some(self.said))?;
                for i in 0..self.gave {
                    m.serialize_entry(&i, &i)?;
                }
                m.end()
            } else {
                let mut l = s.serialize_seq(Some(self.said))?;
                for i in 0..self.gave {
                    l.serialize_element(&i)?;
                }
                l.end()
            }
        }
    }

    #[test]
    fn a_container_giving_fewer_items_than_announced_holds_what_it_gave() {
        for dict in [false, true] {
            for gave in 0..3 {
                let data = to_vec(&Lying {
                    dict,
                    said: 3,
                    gave,
                })
                .unwrap();
                let want = if dict {
                    Value::dict((0..gave).map(|i| (Value::Int(i), Value::Int(i))).collect())
                } else {
                    Value::list((0..gave).map(Value::Int).collect())
                };
                assert_eq!(loads(&data).unwrap(), want, "dict {dict}, {gave} items");
            }
            // With nothing given, the MARK written with the container is taken back.
            let empty = Lying {
                dict,
                said: 2,
                gave: 0,
            };
            let honest = Lying {
                dict,
                said: 0,
                gave: 0,
            };
            assert_eq!(to_vec(&empty).unwrap(), to_vec(&honest).unwrap());
        }
    }
}
