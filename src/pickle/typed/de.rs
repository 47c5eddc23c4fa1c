//! A serde `Deserializer` that reads pickle opcodes directly, with no [`Value`] in
//! between.
//!
//! The type being deserialized drives the reading, as with serde_json: a struct asks for a
//! map, and the reader walks `EMPTY_DICT MARK k v … SETITEMS`; strings and bytes are
//! borrowed from the message. A memo `GET` reads the memoized object's bytes again (each
//! memo entry is a byte range), so shared keys and shared tuples cost one short re-read,
//! bounded in total by `DecodeOptions::max_alloc`.
//!
//! A pickle is a postfix program, and some of it cannot be read top-down without knowing
//! more: `a b TUPLE2` only says it was a tuple after its items, and `EMPTY_LIST` followed
//! by `x` may be `[x]` (when `APPEND` follows) or an empty list and its sibling. The
//! reader uses the type (a tuple type expects a tuple), CPython's batching (1000 items a
//! batch) and a short look-ahead; every guess is checked against the opcode that closes
//! it. Whatever this reader does not handle (objects, globals, protocol 0 text opcodes,
//! cycles, nesting beyond 128, a wrong guess, a type mismatch) ends the fast reading, and
//! [`from_slice`](super::from_slice) decodes through `Value` instead, so the result and
//! the error are always those of `from_value(loads(..))`.
//!
//! [`Value`]: crate::Value

use serde::de::{self, DeserializeSeed, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};

use super::read::{
    is_bytes, starts_object, Fail, Fill, Kind, Memo, Reader, Scalar, BATCH, END, R, UNFINISHED,
};
use crate::pickle::opcodes as op;

/// What the type asked for: it decides how an ambiguous opcode is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hint {
    Any,
    Seq,
    Map,
    Struct,
    Float,
    Bytes,
}

/// Reads `T` from the whole pickle in `reader`, `PROTO` to `STOP`.
pub(crate) fn read<'de, T: de::Deserialize<'de>>(reader: &mut Reader<'de>) -> R<T> {
    if reader.data.len() >= UNFINISHED as usize {
        // Memo positions are `u32`.
        return Err(Fail::Bail);
    }
    if reader.data.first() == Some(&op::PROTO) {
        match reader.data.get(1) {
            Some(p) if *p <= 5 => reader.pos = 2,
            _ => return Err(Fail::Bail),
        }
    }
    let value = T::deserialize(&mut *reader)?;
    if reader.peek()? != op::STOP || reader.pos + 1 != reader.data.len() {
        return Err(Fail::Bail);
    }
    Ok(value)
}

impl<'de> Reader<'de> {
    /// Reads one object as `hint` asks.
    #[inline]
    fn value<V: Visitor<'de>>(&mut self, hint: Hint, visitor: V) -> R<V::Value> {
        let code = self.peek()?;
        let start = self.pos;
        match code {
            op::EMPTY_LIST | op::EMPTY_SET => self.list(code, hint, visitor),
            op::EMPTY_DICT => self.dict(hint, visitor),
            op::EMPTY_TUPLE => {
                self.pos += 1;
                self.memo_ops(start, self.pos as u32, Kind::Container)?;
                if hint == Hint::Map {
                    return Err(Fail::Bail);
                }
                visitor.visit_seq(Empty)
            }
            op::MARK => self.marked(hint, visitor),
            op::BINGET | op::LONG_BINGET => {
                let m = self.get()?;
                if m.kind == Kind::Str && !matches!(hint, Hint::Seq | Hint::Struct) {
                    // A shared str (a dict key, mostly): no replay, no second UTF-8 check.
                    let text = self.memo_str(m);
                    self.memo_ops(m.start as usize, m.end, m.kind)?;
                    return visit_scalar(Scalar::Str(text), hint, visitor);
                }
                let seq = matches!(hint, Hint::Seq | Hint::Struct);
                if seq && matches!(m.kind, Kind::Scalar | Kind::Str) {
                    // `x x TUPLE2`: the get is the first item of a tuple.
                    self.pos = start;
                    return self.postfix(visitor);
                }
                let v = if m.kind == Kind::Tuple {
                    self.replay(m, |r| r.postfix(visitor))?
                } else {
                    self.replay(m, |r| r.value(hint, visitor))?
                };
                // A memo put after a get names the same object: the same range.
                self.memo_ops(m.start as usize, m.end, m.kind)?;
                Ok(v)
            }
            _ if matches!(hint, Hint::Seq | Hint::Struct) && !is_bytes(code) => {
                self.postfix(visitor)
            }
            _ => {
                let s = self.scalar(code)?;
                let kind = match s {
                    Scalar::Str(_) => Kind::Str,
                    Scalar::Bytes(_) => Kind::Bytes,
                    _ => Kind::Scalar,
                };
                self.memo_ops(start, self.pos as u32, kind)?;
                visit_scalar(s, hint, visitor)
            }
        }
    }

    /// [`Reader::value`] for a type that wants a number or a str (`hint` is
    /// [`Hint::Any`] or [`Hint::Float`]), with the scalars records are mostly made of
    /// (small ints, floats, short strs, shared strs) read without the general dispatch.
    #[inline(always)]
    fn scalar_value<V: Visitor<'de>>(&mut self, hint: Hint, visitor: V) -> R<V::Value> {
        let code = self.peek()?;
        let start = self.pos;
        let kind = match code {
            op::BININT1 | op::BININT2 | op::BININT | op::BINFLOAT => Kind::Scalar,
            op::SHORT_BINUNICODE => Kind::Str,
            op::BINGET => {
                let m = self.get()?;
                if m.kind != Kind::Str {
                    self.pos = start;
                    return self.value(hint, visitor);
                }
                let text = self.memo_str(m);
                self.memo_ops(m.start as usize, m.end, m.kind)?;
                return visitor.visit_borrowed_str(text);
            }
            _ => return self.value(hint, visitor),
        };
        let s = self.scalar(code)?;
        self.memo_ops(start, self.pos as u32, kind)?;
        visit_scalar(s, hint, visitor)
    }

    /// A tuple of one to three items written before their `TUPLE1`/`TUPLE2`/`TUPLE3`.
    #[inline]
    fn postfix<V: Visitor<'de>>(&mut self, visitor: V) -> R<V::Value> {
        let start = self.pos;
        self.enter()?;
        let mut seq = Postfix { r: self, n: 0 };
        let v = visitor.visit_seq(&mut seq)?;
        let n = seq.n;
        let code = self.peek()?;
        if !(1..=3).contains(&n) || code != op::TUPLE1 + (n as u8 - 1) {
            return Err(Fail::Bail);
        }
        self.pos += 1;
        self.leave();
        self.memo_ops(start, self.pos as u32, Kind::Tuple)?;
        Ok(v)
    }

    /// `EMPTY_LIST` / `EMPTY_SET` and their fill.
    #[inline]
    fn list<V: Visitor<'de>>(&mut self, code: u8, hint: Hint, visitor: V) -> R<V::Value> {
        if hint == Hint::Map {
            return Err(Fail::Bail);
        }
        let start = self.pos;
        self.pos += 1;
        let memo = self.memo_ops(start, UNFINISHED, Kind::Container)?;
        self.enter()?;
        let set = code == op::EMPTY_SET;
        let mut seq = Filled::new(self, if set { Body::Set } else { Body::List });
        let v = visitor.visit_seq(&mut seq)?;
        seq.finish()?;
        self.leave();
        self.finish_memo(memo);
        Ok(v)
    }

    /// `EMPTY_DICT` and its fill.
    #[inline]
    fn dict<V: Visitor<'de>>(&mut self, hint: Hint, visitor: V) -> R<V::Value> {
        if hint == Hint::Seq {
            return Err(Fail::Bail);
        }
        let start = self.pos;
        self.pos += 1;
        let memo = self.memo_ops(start, UNFINISHED, Kind::Container)?;
        self.enter()?;
        let mut map = Filled::new(self, Body::Dict);
        let v = visitor.visit_map(&mut map)?;
        map.finish()?;
        self.leave();
        self.finish_memo(memo);
        Ok(v)
    }

    /// `MARK items TUPLE` (tuples of four or more), `LIST`, `FROZENSET`.
    #[inline]
    fn marked<V: Visitor<'de>>(&mut self, hint: Hint, visitor: V) -> R<V::Value> {
        if hint == Hint::Map {
            return Err(Fail::Bail);
        }
        let start = self.pos;
        self.pos += 1;
        self.enter()?;
        let v = visitor.visit_seq(Marked { r: self })?;
        match self.peek()? {
            op::TUPLE | op::LIST | op::FROZENSET => self.pos += 1,
            _ => return Err(Fail::Bail),
        }
        self.leave();
        self.memo_ops(start, self.pos as u32, Kind::Container)?;
        Ok(v)
    }

    /// If the next opcode is a memo get, the entry it names.
    #[inline]
    fn at_get(&mut self) -> R<Option<(usize, Memo)>> {
        let code = self.peek()?;
        if code == op::BINGET || code == op::LONG_BINGET {
            let start = self.pos;
            return Ok(Some((start, self.get()?)));
        }
        Ok(None)
    }
}

fn visit_scalar<'de, V: Visitor<'de>>(s: Scalar<'de>, hint: Hint, visitor: V) -> R<V::Value> {
    match (s, hint) {
        // An int where a float is wanted (as `from_value` allows).
        (Scalar::Int(i), Hint::Float) => visitor.visit_f64(i as f64),
        (Scalar::U64(u), Hint::Float) => visitor.visit_f64(u as f64),
        (Scalar::I128(i), Hint::Float) => visitor.visit_f64(i as f64),
        (Scalar::Bytes(b), Hint::Seq) => {
            let mut seq = de::value::SeqDeserializer::<_, Fail>::new(b.iter().copied());
            let v = visitor.visit_seq(&mut seq)?;
            seq.end()?;
            Ok(v)
        }
        (Scalar::None, _) => visitor.visit_unit(),
        (Scalar::Bool(b), _) => visitor.visit_bool(b),
        (Scalar::Int(i), _) => visitor.visit_i64(i),
        (Scalar::U64(u), _) => visitor.visit_u64(u),
        (Scalar::I128(i), _) => visitor.visit_i128(i),
        (Scalar::Float(f), _) => visitor.visit_f64(f),
        (Scalar::Str(t), _) => visitor.visit_borrowed_str(t),
        (Scalar::Bytes(b), _) => visitor.visit_borrowed_bytes(b),
    }
}

impl<'de> de::Deserializer<'de> for &mut Reader<'de> {
    type Error = Fail;

    #[inline]
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        self.value(Hint::Any, visitor)
    }

    #[inline]
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        self.scalar_value(Hint::Float, visitor)
    }

    #[inline]
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        self.scalar_value(Hint::Float, visitor)
    }

    #[inline]
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        self.scalar_value(Hint::Any, visitor)
    }

    #[inline]
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        self.scalar_value(Hint::Any, visitor)
    }

    #[inline]
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        self.scalar_value(Hint::Any, visitor)
    }

    #[inline]
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        self.scalar_value(Hint::Any, visitor)
    }

    #[inline]
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.peek()? {
            op::NONE => {
                let start = self.pos;
                self.pos += 1;
                self.memo_ops(start, self.pos as u32, Kind::Scalar)?;
                visitor.visit_none()
            }
            op::BINGET | op::LONG_BINGET => {
                let (_, m) = self.at_get()?.ok_or(Fail::Bail)?;
                let v = self.replay(m, |r| r.deserialize_option(visitor))?;
                self.memo_ops(m.start as usize, m.end, m.kind)?;
                Ok(v)
            }
            _ => visitor.visit_some(self),
        }
    }

    #[inline]
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        self.value(Hint::Any, visitor)
    }

    #[inline]
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> R<V::Value> {
        self.value(Hint::Any, visitor)
    }

    #[inline]
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> R<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    #[inline]
    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        self.value(Hint::Bytes, visitor)
    }

    #[inline]
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        self.value(Hint::Bytes, visitor)
    }

    #[inline]
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        self.value(Hint::Seq, visitor)
    }

    #[inline]
    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> R<V::Value> {
        self.value(Hint::Seq, visitor)
    }

    #[inline]
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> R<V::Value> {
        self.value(Hint::Seq, visitor)
    }

    #[inline]
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        self.value(Hint::Map, visitor)
    }

    #[inline]
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> R<V::Value> {
        self.value(Hint::Struct, visitor)
    }

    #[inline]
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> R<V::Value> {
        let code = self.peek()?;
        match code {
            op::BINGET | op::LONG_BINGET => {
                let (_, m) = self.at_get()?.ok_or(Fail::Bail)?;
                let v = self.replay(m, |r| r.deserialize_enum(_name, _variants, visitor))?;
                self.memo_ops(m.start as usize, m.end, m.kind)?;
                Ok(v)
            }
            op::SHORT_BINUNICODE | op::BINUNICODE | op::BINUNICODE8 => {
                visitor.visit_enum(UnitVariant { r: self })
            }
            op::EMPTY_DICT => {
                let start = self.pos;
                self.pos += 1;
                let memo = self.memo_ops(start, UNFINISHED, Kind::Container)?;
                self.enter()?;
                let mut map = Filled::new(self, Body::Dict);
                if !map.advance()? {
                    return Err(Fail::Bail);
                }
                let v = visitor.visit_enum(&mut map)?;
                map.finish()?;
                self.leave();
                self.finish_memo(memo);
                Ok(v)
            }
            _ => Err(Fail::Bail),
        }
    }

    #[inline]
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        // A field the type does not have: a scalar or a memo get may open a tuple
        // (`a b TUPLE2`) that must be skipped whole; a lone get needs no second reading.
        let code = self.peek()?;
        if self.pos != self.tuple_at
            && !matches!(
                code,
                op::EMPTY_LIST | op::EMPTY_DICT | op::EMPTY_SET | op::MARK
            )
            && self.tuple_starts_here()
        {
            let outer = std::mem::replace(&mut self.tuple_at, self.pos);
            let v = self.postfix(visitor);
            self.tuple_at = outer;
            return v;
        }
        if code == op::BINGET || code == op::LONG_BINGET {
            self.skip_get()?;
            return visitor.visit_unit();
        }
        self.value(Hint::Any, visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i128 u8 u16 u32 u64 u128 char
    }
}

/// `()`: no items.
struct Empty;

impl<'de> SeqAccess<'de> for Empty {
    type Error = Fail;
    #[inline]
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, _seed: T) -> R<Option<T::Value>> {
        Ok(None)
    }
    #[inline]
    fn size_hint(&self) -> Option<usize> {
        Some(0)
    }
}

/// The items of a postfix tuple, up to its `TUPLE1`/`TUPLE2`/`TUPLE3`.
struct Postfix<'a, 'de> {
    r: &'a mut Reader<'de>,
    n: usize,
}

impl<'de> SeqAccess<'de> for Postfix<'_, 'de> {
    type Error = Fail;
    #[inline]
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> R<Option<T::Value>> {
        let code = self.r.peek()?;
        if (op::TUPLE1..=op::TUPLE3).contains(&code) {
            return Ok(None);
        }
        if self.n == 3 || !starts_object(code) {
            return Err(Fail::Bail);
        }
        self.n += 1;
        seed.deserialize(&mut *self.r).map(Some)
    }
}

/// The items between a `MARK` and its `TUPLE` / `LIST` / `FROZENSET`.
struct Marked<'a, 'de> {
    r: &'a mut Reader<'de>,
}

impl<'de> SeqAccess<'de> for Marked<'_, 'de> {
    type Error = Fail;
    #[inline]
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> R<Option<T::Value>> {
        let code = self.r.peek()?;
        if matches!(code, op::TUPLE | op::LIST | op::FROZENSET) {
            return Ok(None);
        }
        if !starts_object(code) {
            return Err(Fail::Bail);
        }
        seed.deserialize(&mut *self.r).map(Some)
    }
}

/// Which container a [`Filled`] reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Body {
    List,
    Set,
    Dict,
}

/// Where a [`Filled`] is in its container's fill.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Just opened, or a full batch of [`BATCH`] ended: more may follow.
    Open,
    /// Inside `MARK … APPENDS/SETITEMS/ADDITEMS`, `n` items read so far.
    Batch(usize),
    /// One item followed by `APPEND` / `SETITEM`.
    Single,
    Done,
}

/// A list, set or dict filled after its `EMPTY_*` opcode.
struct Filled<'a, 'de> {
    r: &'a mut Reader<'de>,
    body: Body,
    state: State,
}

impl<'a, 'de> Filled<'a, 'de> {
    #[inline]
    fn new(r: &'a mut Reader<'de>, body: Body) -> Filled<'a, 'de> {
        Filled {
            r,
            body,
            state: State::Open,
        }
    }

    #[inline]
    fn batch_end(&self) -> u8 {
        match self.body {
            Body::List => op::APPENDS,
            Body::Set => op::ADDITEMS,
            Body::Dict => op::SETITEMS,
        }
    }

    /// Moves to the next item (true) or to the end of the fill (false).
    #[inline(always)]
    fn advance(&mut self) -> R<bool> {
        loop {
            match self.state {
                State::Done => return Ok(false),
                State::Single => return Err(Fail::Bail),
                State::Batch(n) => {
                    let code = self.r.peek()?;
                    if code == self.batch_end() {
                        self.r.pos += 1;
                        self.state = if n == BATCH { State::Open } else { State::Done };
                        continue;
                    }
                    if !starts_object(code) {
                        return Err(Fail::Bail);
                    }
                    self.state = State::Batch(n + 1);
                    return Ok(true);
                }
                State::Open => {
                    let code = self.r.peek()?;
                    if code == op::MARK {
                        self.r.pos += 1;
                        self.state = State::Batch(0);
                        continue;
                    }
                    let fill = if self.body == Body::Dict {
                        Fill::Dict
                    } else {
                        Fill::List
                    };
                    if self.body != Body::Set
                        && code != END
                        && starts_object(code)
                        && self.r.single_follows(fill)
                    {
                        self.state = State::Single;
                        return Ok(true);
                    }
                    self.state = State::Done;
                    return Ok(false);
                }
            }
        }
    }

    /// After a single item: its `APPEND` / `SETITEM`.
    #[inline(always)]
    fn close_single(&mut self) -> R<()> {
        if self.state == State::Single {
            let want = if self.body == Body::Dict {
                op::SETITEM
            } else {
                op::APPEND
            };
            if self.r.peek()? != want {
                return Err(Fail::Bail);
            }
            self.r.pos += 1;
            self.state = State::Done;
        }
        Ok(())
    }

    /// After the visitor: the fill must be over (items the type did not take are an
    /// error, never dropped).
    #[inline]
    fn finish(&mut self) -> R<()> {
        if self.advance()? {
            return Err(Fail::Bail);
        }
        Ok(())
    }
}

impl<'de> SeqAccess<'de> for &mut Filled<'_, 'de> {
    type Error = Fail;
    #[inline]
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> R<Option<T::Value>> {
        if !self.advance()? {
            return Ok(None);
        }
        let v = seed.deserialize(&mut *self.r)?;
        self.close_single()?;
        Ok(Some(v))
    }
}

impl<'de> MapAccess<'de> for &mut Filled<'_, 'de> {
    type Error = Fail;
    #[inline]
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> R<Option<K::Value>> {
        if !self.advance()? {
            return Ok(None);
        }
        seed.deserialize(&mut *self.r).map(Some)
    }
    #[inline]
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> R<V::Value> {
        let v = seed.deserialize(&mut *self.r)?;
        self.close_single()?;
        Ok(v)
    }
}

/// `{'Variant': value}`: the one entry of a dict, already advanced to.
impl<'de> EnumAccess<'de> for &mut Filled<'_, 'de> {
    type Error = Fail;
    type Variant = Self;
    #[inline]
    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> R<(V::Value, Self)> {
        let v = seed.deserialize(&mut *self.r)?;
        Ok((v, self))
    }
}

impl<'de> VariantAccess<'de> for &mut Filled<'_, 'de> {
    type Error = Fail;
    #[inline]
    fn unit_variant(self) -> R<()> {
        // `{'Variant': None}`.
        if self.r.peek()? != op::NONE {
            return Err(Fail::Bail);
        }
        self.r.pos += 1;
        self.close_single()
    }
    #[inline]
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> R<T::Value> {
        let v = seed.deserialize(&mut *self.r)?;
        self.close_single()?;
        Ok(v)
    }
    #[inline]
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> R<V::Value> {
        let v = self.r.value(Hint::Seq, visitor)?;
        self.close_single()?;
        Ok(v)
    }
    #[inline]
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> R<V::Value> {
        let v = self.r.value(Hint::Struct, visitor)?;
        self.close_single()?;
        Ok(v)
    }
}

/// `'Variant'`: a unit variant named by a str.
struct UnitVariant<'a, 'de> {
    r: &'a mut Reader<'de>,
}

impl<'a, 'de> EnumAccess<'de> for UnitVariant<'a, 'de> {
    type Error = Fail;
    type Variant = Self;
    #[inline]
    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> R<(V::Value, Self)> {
        let v = seed.deserialize(&mut *self.r)?;
        Ok((v, self))
    }
}

impl<'de> VariantAccess<'de> for UnitVariant<'_, 'de> {
    type Error = Fail;
    #[inline]
    fn unit_variant(self) -> R<()> {
        Ok(())
    }
    #[inline]
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _seed: T) -> R<T::Value> {
        Err(Fail::Bail)
    }
    #[inline]
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> R<V::Value> {
        Err(Fail::Bail)
    }
    #[inline]
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> R<V::Value> {
        Err(Fail::Bail)
    }
}
