//! The hash index of a dict: lookups by key in O(1) on average, with Python's `==`.
//!
//! Keys that Python's `==` calls equal hash alike, whatever their kind: `1`, `1.0`, `True`
//! and `2**0` share one hash; `bytes` and `bytearray` with the same content too; a `set`
//! and a `frozenset` with the same members too (members combined regardless of order).
//! Keys that Python could not hash (lists, dicts, objects) and those holding a `nan` or a
//! [`Value::Ref`] have no hash here: a lookup of such a key scans the entries one by one,
//! which also finds a container by identity as `==` does.
//!
//! The hasher is std's `RandomState` (SipHash with a per-process random key), so a peer
//! cannot choose keys that all collide. The index is built on the first lookup of a dict
//! of at least [`MIN_INDEXED`] entries and dropped by any mutable access to the entries.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::OnceLock;

use num_bigint::BigInt;
use num_traits::{FromPrimitive, ToPrimitive};

use super::Value;

/// Dicts smaller than this are scanned (faster than hashing at that size).
pub(crate) const MIN_INDEXED: usize = 8;

/// An open-addressing table. A slot holds the entry position + 1 (0: empty) in its low 32
/// bits and the top 32 bits of the key's hash in its high bits, so that a probe reads one
/// word and touches an entry only when the hashes agree.
#[derive(Clone, Debug, Default)]
pub(crate) struct DictIndex {
    slots: Box<[u64]>,
    len: usize,
}

fn state() -> &'static std::collections::hash_map::RandomState {
    static STATE: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    STATE.get_or_init(Default::default)
}

/// Kind tags fed to the hasher first, so that, say, a str and bytes with the same content
/// hash apart.
mod tag {
    pub const NONE: u8 = 0;
    pub const NUMBER: u8 = 1;
    pub const BIG: u8 = 2;
    pub const FLOAT: u8 = 3;
    pub const STR: u8 = 4;
    pub const BYTES: u8 = 5;
    pub const TUPLE: u8 = 6;
    pub const SET: u8 = 7;
    pub const GLOBAL: u8 = 8;
}

/// The hash of a `str` key given as text (what [`key_hash`] gives for that `str`).
pub(crate) fn str_hash(text: &[u8]) -> u64 {
    let mut h = state().build_hasher();
    h.write_u8(tag::STR);
    text.hash(&mut h);
    h.finish()
}

fn int_hash(i: i64) -> u64 {
    let mut h = state().build_hasher();
    h.write_u8(tag::NUMBER);
    h.write_i64(i);
    h.finish()
}

fn big_hash(b: &BigInt) -> u64 {
    match b.to_i64() {
        Some(i) => int_hash(i),
        None => {
            let mut h = state().build_hasher();
            h.write_u8(tag::BIG);
            b.to_signed_bytes_le().hash(&mut h);
            h.finish()
        }
    }
}

/// Tuples and frozensets nested deeper than this inside a key give it no hash (it is then
/// found by a scan, whose comparison needs no recursion).
const MAX_KEY_NESTING: usize = 32;

/// The hash of a key under Python's equality, or `None` for a key with no hash here
/// (see the module documentation).
pub(crate) fn key_hash(key: &Value) -> Option<u64> {
    nested_hash(key, 0)
}

fn nested_hash(key: &Value, depth: usize) -> Option<u64> {
    if depth > MAX_KEY_NESTING {
        return None;
    }
    Some(match key.unanchored() {
        Value::None => {
            let mut h = state().build_hasher();
            h.write_u8(tag::NONE);
            h.finish()
        }
        Value::Bool(b) => int_hash(i64::from(*b)),
        Value::Int(i) => int_hash(*i),
        Value::BigInt(b) => big_hash(b),
        Value::Float(x) => {
            if x.is_nan() {
                return None;
            }
            if x.is_finite() && x.fract() == 0.0 {
                // Integral: equal to an int, so hashed as that int.
                big_hash(&BigInt::from_f64(*x)?)
            } else {
                let mut h = state().build_hasher();
                h.write_u8(tag::FLOAT);
                h.write_u64(x.to_bits());
                h.finish()
            }
        }
        Value::Str(s) => str_hash(s.as_bytes()),
        Value::Bytes(b) => bytes_hash(b),
        Value::ByteArray(b) => bytes_hash(b),
        Value::Tuple(items) => {
            let mut h = state().build_hasher();
            h.write_u8(tag::TUPLE);
            h.write_usize(items.len());
            for item in items.iter() {
                h.write_u64(nested_hash(item, depth + 1)?);
            }
            h.finish()
        }
        Value::Set(items) | Value::FrozenSet(items) => {
            let mut sum = 0u64;
            for item in items.iter() {
                sum = sum.wrapping_add(nested_hash(item, depth + 1)?);
            }
            let mut h = state().build_hasher();
            h.write_u8(tag::SET);
            h.write_u64(sum);
            h.finish()
        }
        Value::Global(g) => {
            let mut h = state().build_hasher();
            h.write_u8(tag::GLOBAL);
            g.hash(&mut h);
            h.finish()
        }
        _ => return None,
    })
}

fn bytes_hash(b: &[u8]) -> u64 {
    let mut h = state().build_hasher();
    h.write_u8(tag::BYTES);
    b.hash(&mut h);
    h.finish()
}

/// Python's `==` on two keys of equal hash, with the common same-kind cases first (the
/// general comparison keeps a work stack).
#[inline]
fn key_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x.as_bytes() == y.as_bytes(),
        (Value::Bytes(x), Value::Bytes(y)) => x == y,
        _ => a == b,
    }
}

impl DictIndex {
    /// Indexes `pairs`; of several equal keys the first is kept (as a scan finds it).
    pub(crate) fn build(pairs: &[(Value, Value)]) -> DictIndex {
        let cap = (pairs.len() * 2).next_power_of_two().max(16);
        let mut index = DictIndex {
            slots: vec![0u64; cap].into_boxed_slice(),
            len: pairs.len(),
        };
        for (i, (k, _)) in pairs.iter().enumerate() {
            let Some(h) = key_hash(k) else {
                continue;
            };
            if index.find_hashed(pairs, k, h).is_none() {
                let mut s = h as usize & (cap - 1);
                while index.slots[s] != 0 {
                    s = (s + 1) & (cap - 1);
                }
                index.slots[s] = (h & 0xffff_ffff_0000_0000) | (i as u64 + 1);
            }
        }
        index
    }

    /// How many entries were indexed.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The position of the entry whose key has hash `h` and satisfies `eq`.
    #[inline]
    fn probe(&self, h: u64, mut eq: impl FnMut(usize) -> bool) -> Option<usize> {
        let mask = self.slots.len() - 1;
        let tag = h & 0xffff_ffff_0000_0000;
        let mut s = h as usize & mask;
        loop {
            let slot = self.slots[s];
            if slot == 0 {
                return None;
            }
            if slot & 0xffff_ffff_0000_0000 == tag {
                let i = (slot & 0xffff_ffff) as usize - 1;
                if eq(i) {
                    return Some(i);
                }
            }
            s = (s + 1) & mask;
        }
    }

    fn find_hashed(&self, pairs: &[(Value, Value)], key: &Value, h: u64) -> Option<usize> {
        self.probe(h, |i| key_eq(&pairs[i].0, key))
    }

    /// The position of the entry whose key equals `key` (Python's `==`).
    pub(crate) fn find(&self, pairs: &[(Value, Value)], key: &Value) -> Option<usize> {
        match key_hash(key) {
            Some(h) => self.find_hashed(pairs, key, h),
            None => pairs.iter().position(|(k, _)| k == key),
        }
    }

    /// The position of the entry whose key is the `str` `text`.
    pub(crate) fn find_str(&self, pairs: &[(Value, Value)], text: &str) -> Option<usize> {
        let h = str_hash(text.as_bytes());
        self.probe(
            h,
            |i| matches!(pairs[i].0.unanchored(), Value::Str(s) if s.as_bytes() == text.as_bytes()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_equal_keys_hash_alike() {
        let one = [
            Value::Int(1),
            Value::Float(1.0),
            Value::Bool(true),
            Value::int(BigInt::from(1)),
        ];
        for k in &one {
            assert_eq!(key_hash(k), key_hash(&one[0]), "{k:?}");
        }
        let big = Value::int(BigInt::from(1u128 << 70));
        assert_eq!(
            key_hash(&big),
            key_hash(&Value::Float((1u128 << 70) as f64))
        );
        assert_eq!(
            key_hash(&Value::bytes(b"ab")),
            key_hash(&Value::ByteArray(std::sync::Arc::new(b"ab".to_vec())))
        );
        let a = Value::frozenset(vec![Value::Int(1), Value::from("x")]);
        let b = Value::set(vec![Value::from("x"), Value::Float(1.0)]);
        assert_eq!(key_hash(&a), key_hash(&b));
        assert_ne!(key_hash(&Value::from("a")), key_hash(&Value::bytes(b"a")));
        assert_eq!(key_hash(&Value::Float(f64::NAN)), None);
        assert_eq!(key_hash(&Value::list(vec![])), None);
    }
}
