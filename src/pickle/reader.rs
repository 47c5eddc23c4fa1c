//! The one reader of pickle opcodes and their arguments, shared by every decoder (the
//! graph decoder, the fast path and its memo look-ahead, the typed reader).
//!
//! Each opcode's argument is described as `pickletools` describes it ([`ArgKind`], its
//! `ArgumentDescriptor`s: `uint1`, `int4`, `bytes4`, `unicodestring8`, `stringnl`, ...),
//! in one list (the `opcodes!` invocation below, which makes both [`shape`] and
//! [`read_op`]). [`read_op`] reads the opcode at a position and its argument as that list
//! says, borrowing from the input: counted bytes and text lines
//! are returned as slices, numbers as numbers. What an argument *means* (a memo index, a
//! UTF-8 str, a decimal integer) is the caller's business, so each decoder keeps its own
//! answer to bad contents; how many bytes an opcode takes is decided here alone.
//!
//! Nothing is allocated, and a length field is never trusted beyond the bytes present:
//! an argument that runs past the end of the input is [`ReadError::Truncated`].

use super::opcodes as op;

/// How an opcode's argument is encoded (`pickletools`' `ArgumentDescriptor` names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArgKind {
    /// `uint1`: one unsigned byte.
    Uint1,
    /// `uint2`: two bytes, little-endian, unsigned.
    Uint2,
    /// `int4`: four bytes, little-endian, signed.
    Int4,
    /// `uint4`: four bytes, little-endian, unsigned.
    Uint4,
    /// `uint8`: eight bytes, little-endian, unsigned.
    Uint8,
    /// `stringnl`: a quoted, escaped string up to a newline.
    Stringnl,
    /// `stringnl_noescape`: a string up to a newline.
    StringnlNoescape,
    /// `stringnl_noescape_pair`: two of them.
    StringnlNoescapePair,
    /// `string1`: a one-byte count, then latin-1 bytes.
    String1,
    /// `string4`: a signed four-byte count, then latin-1 bytes.
    String4,
    /// `bytes1`: a one-byte count, then bytes.
    Bytes1,
    /// `bytes4`: an unsigned four-byte count, then bytes.
    Bytes4,
    /// `bytes8`: an eight-byte count, then bytes.
    Bytes8,
    /// `bytearray8`: an eight-byte count, then bytes (a bytearray).
    Bytearray8,
    /// `unicodestringnl`: raw-unicode-escape text up to a newline.
    Unicodestringnl,
    /// `unicodestring1`: a one-byte count, then UTF-8 (surrogatepass).
    Unicodestring1,
    /// `unicodestring4`: a four-byte count, then UTF-8 (surrogatepass).
    Unicodestring4,
    /// `unicodestring8`: an eight-byte count, then UTF-8 (surrogatepass).
    Unicodestring8,
    /// `decimalnl_short`: a decimal integer up to a newline (`00`/`01` are False/True).
    DecimalnlShort,
    /// `decimalnl_long`: a decimal integer up to a newline, optional trailing `L`.
    DecimalnlLong,
    /// `floatnl`: a decimal float up to a newline.
    Floatnl,
    /// `float8`: eight bytes, a big-endian IEEE double.
    Float8,
    /// `long1`: a one-byte count, then a little-endian two's-complement integer.
    Long1,
    /// `long4`: a signed four-byte count, then a little-endian two's-complement integer.
    Long4,
}

/// What the table says of one byte: not an opcode, an opcode without argument, or an
/// opcode and its argument's encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// No opcode has this byte.
    Unknown,
    /// An opcode without argument.
    Bare,
    /// An opcode with an argument encoded so.
    Arg(ArgKind),
}

/// Defines [`shape`] and [`read_op`] from one list of opcodes and their arguments, so that
/// reading an opcode is one `match` on its byte with each argument's reading inlined in its
/// arm (measured as fast as the decoders' former reading of arguments inside their own
/// `match`, which they still do right after, on the same byte).
macro_rules! opcodes {
    (bare: $($bare:ident)|+; with: $($code:ident => $kind:ident,)+) => {
        /// The argument encoding of the opcode `code` (see [`Shape`]), as
        /// `pickletools.opcodes` describes every opcode of protocols 0–5.
        #[inline]
        pub(crate) fn shape(code: u8) -> Shape {
            match code {
                $(op::$bare)|+ => Shape::Bare,
                $(op::$code => Shape::Arg(ArgKind::$kind),)+
                _ => Shape::Unknown,
            }
        }

        /// Reads the opcode at `pos` and its argument; returns them with the position
        /// after them.
        ///
        /// A `FRAME` whose length goes past the end of the input is
        /// [`ReadError::Truncated`] (as `pickle.loads` sees it: the frame cannot be read
        /// whole).
        #[inline(always)]
        pub(crate) fn read_op(data: &[u8], pos: usize) -> Result<(Op<'_>, usize), ReadError> {
            let Some(&code) = data.get(pos) else {
                return Err(ReadError::Truncated);
            };
            let at = pos + 1;
            let (arg, next) = match code {
                $(op::$bare)|+ => (Arg::NONE, at),
                $(op::$code => read_arg(data, at, ArgKind::$kind)?,)+
                _ => return Err(ReadError::Unknown),
            };
            if code == op::FRAME && arg.uint() > (data.len() - next) as u64 {
                return Err(ReadError::Truncated);
            }
            Ok((Op { code, arg }, next))
        }
    };
}

opcodes! {
    bare: NONE | NEWTRUE | NEWFALSE | NEXT_BUFFER | READONLY_BUFFER | EMPTY_LIST | APPEND
        | APPENDS | LIST | EMPTY_TUPLE | TUPLE | TUPLE1 | TUPLE2 | TUPLE3 | EMPTY_DICT | DICT
        | SETITEM | SETITEMS | EMPTY_SET | ADDITEMS | FROZENSET | POP | DUP | MARK | POP_MARK
        | MEMOIZE | STACK_GLOBAL | REDUCE | BUILD | OBJ | NEWOBJ | NEWOBJ_EX | STOP | BINPERSID;
    with:
        INT => DecimalnlShort,
        BININT => Int4,
        BININT1 => Uint1,
        BININT2 => Uint2,
        LONG => DecimalnlLong,
        LONG1 => Long1,
        LONG4 => Long4,
        STRING => Stringnl,
        BINSTRING => String4,
        SHORT_BINSTRING => String1,
        BINBYTES => Bytes4,
        SHORT_BINBYTES => Bytes1,
        BINBYTES8 => Bytes8,
        BYTEARRAY8 => Bytearray8,
        UNICODE => Unicodestringnl,
        SHORT_BINUNICODE => Unicodestring1,
        BINUNICODE => Unicodestring4,
        BINUNICODE8 => Unicodestring8,
        FLOAT => Floatnl,
        BINFLOAT => Float8,
        GET => DecimalnlShort,
        BINGET => Uint1,
        LONG_BINGET => Uint4,
        PUT => DecimalnlShort,
        BINPUT => Uint1,
        LONG_BINPUT => Uint4,
        EXT1 => Uint1,
        EXT2 => Uint2,
        EXT4 => Int4,
        GLOBAL => StringnlNoescapePair,
        INST => StringnlNoescapePair,
        PROTO => Uint1,
        FRAME => Uint8,
        PERSID => StringnlNoescape,
}

/// A `long1`/`long4` argument (little-endian two's complement) of at most 8 bytes, as an
/// `i64`; `None` when it has more bytes (a big int, each decoder's own business).
#[inline]
pub(crate) fn small_long(b: &[u8]) -> Option<i64> {
    if b.len() > 8 {
        return None;
    }
    let fill = if b.last().is_some_and(|x| x & 0x80 != 0) {
        0xff
    } else {
        0
    };
    let mut a = [fill; 8];
    a[..b.len()].copy_from_slice(b);
    Some(i64::from_le_bytes(a))
}

/// An opcode's argument as read, borrowed from the input: a number (`uint1/2/4/8`,
/// `int4` sign-extended, `float8` as its bits), counted bytes (`string1/4`, `bytes1/4/8`,
/// `bytearray8`, `unicodestring1/4/8`, `long1/4`; the count itself is not kept) or one or
/// two lines without their `\n` (`*nl`, `stringnl_noescape_pair`). Kept flat, with no
/// tag, so that reading a field after [`read_op`] costs no branch: the opcode says which
/// field holds the argument.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Arg<'a> {
    num: u64,
    bytes: &'a [u8],
    more: &'a [u8],
}

impl<'a> Arg<'a> {
    const NONE: Arg<'static> = Arg {
        num: 0,
        bytes: &[],
        more: &[],
    };

    #[inline(always)]
    fn uint_(n: u64) -> Arg<'a> {
        Arg {
            num: n,
            ..Arg::NONE
        }
    }

    #[inline(always)]
    fn bytes_(b: &'a [u8]) -> Arg<'a> {
        Arg {
            bytes: b,
            ..Arg::NONE
        }
    }

    /// An integer argument (`uint*`, `int4`) as `u64` (an `int4` sign-extended).
    #[inline(always)]
    pub(crate) fn uint(self) -> u64 {
        self.num
    }

    /// An integer argument (`uint1/2/4`, `int4`) as `i64`.
    #[inline(always)]
    pub(crate) fn int(self) -> i64 {
        self.num as i64
    }

    /// A `float8` argument.
    #[inline(always)]
    pub(crate) fn float(self) -> f64 {
        f64::from_bits(self.num)
    }

    /// Counted bytes, or a line; empty for any other argument.
    #[inline(always)]
    pub(crate) fn bytes(self) -> &'a [u8] {
        self.bytes
    }

    /// The two lines of `stringnl_noescape_pair`.
    #[inline(always)]
    pub(crate) fn lines(self) -> (&'a [u8], &'a [u8]) {
        (self.bytes, self.more)
    }
}

/// One opcode and its argument.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Op<'a> {
    /// The opcode byte.
    pub code: u8,
    /// Its argument.
    pub arg: Arg<'a>,
}

/// Why [`read_op`] could not read an opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// The input ends inside the opcode or its argument (a count or a `FRAME` length
    /// beyond the bytes left, a line without its `\n`, or no opcode at all).
    Truncated,
    /// A signed count (`string4`, `long4`) below zero.
    NegativeLength,
    /// A byte that is no opcode.
    Unknown,
}

type Read<'a> = Result<(Arg<'a>, usize), ReadError>;

/// The `N` bytes at `at`.
#[inline(always)]
fn fixed<const N: usize>(data: &[u8], at: usize) -> Result<[u8; N], ReadError> {
    match data.get(at..at.wrapping_add(N)) {
        Some(b) => Ok(b.try_into().expect("N bytes")),
        None => Err(ReadError::Truncated),
    }
}

/// `n` counted bytes at `at` (refused, before anything is sliced, beyond the input).
#[inline(always)]
fn counted(data: &[u8], at: usize, n: u64) -> Read<'_> {
    if n > (data.len() - at) as u64 {
        return Err(ReadError::Truncated);
    }
    let end = at + n as usize;
    Ok((Arg::bytes_(&data[at..end]), end))
}

/// The line at `at` (without its `\n`) and the position after its `\n`.
#[inline]
fn line(data: &[u8], at: usize) -> Result<(&[u8], usize), ReadError> {
    let rest = data.get(at..).ok_or(ReadError::Truncated)?;
    match rest.iter().position(|b| *b == b'\n') {
        Some(n) => Ok((&rest[..n], at + n + 1)),
        None => Err(ReadError::Truncated),
    }
}

/// Reads an argument encoded as `kind` at `at`.
#[inline(always)]
pub(crate) fn read_arg(data: &[u8], at: usize, kind: ArgKind) -> Read<'_> {
    use ArgKind as A;
    Ok(match kind {
        A::Uint1 => (Arg::uint_(u64::from(fixed::<1>(data, at)?[0])), at + 1),
        A::Uint2 => (
            Arg::uint_(u64::from(u16::from_le_bytes(fixed(data, at)?))),
            at + 2,
        ),
        A::Int4 => (
            Arg::uint_(i64::from(i32::from_le_bytes(fixed(data, at)?)) as u64),
            at + 4,
        ),
        A::Uint4 => (
            Arg::uint_(u64::from(u32::from_le_bytes(fixed(data, at)?))),
            at + 4,
        ),
        A::Uint8 => (Arg::uint_(u64::from_le_bytes(fixed(data, at)?)), at + 8),
        A::Float8 => (Arg::uint_(u64::from_be_bytes(fixed(data, at)?)), at + 8),
        A::String1 | A::Bytes1 | A::Unicodestring1 | A::Long1 => {
            let n = fixed::<1>(data, at)?[0];
            counted(data, at + 1, u64::from(n))?
        }
        A::Bytes4 | A::Unicodestring4 => {
            let n = u32::from_le_bytes(fixed(data, at)?);
            counted(data, at + 4, u64::from(n))?
        }
        A::String4 | A::Long4 => {
            let n = i32::from_le_bytes(fixed(data, at)?);
            if n < 0 {
                return Err(ReadError::NegativeLength);
            }
            counted(data, at + 4, n as u64)?
        }
        A::Bytes8 | A::Bytearray8 | A::Unicodestring8 => {
            let n = u64::from_le_bytes(fixed(data, at)?);
            counted(data, at + 8, n)?
        }
        A::Stringnl
        | A::StringnlNoescape
        | A::Unicodestringnl
        | A::DecimalnlShort
        | A::DecimalnlLong
        | A::Floatnl => {
            let (l, next) = line(data, at)?;
            (Arg::bytes_(l), next)
        }
        A::StringnlNoescapePair => {
            let (a, mid) = line(data, at)?;
            let (b, next) = line(data, mid)?;
            (
                Arg {
                    num: 0,
                    bytes: a,
                    more: b,
                },
                next,
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(data: &[u8]) -> Result<(Op<'_>, usize), ReadError> {
        read_op(data, 0)
    }

    #[test]
    fn arguments_are_read_as_described() {
        let (o, next) = one(b"K\x07").unwrap();
        assert_eq!((o.code, o.arg.uint(), next), (op::BININT1, 7, 2));
        assert_eq!(one(b"J\xff\xff\xff\xff").unwrap().0.arg.int(), -1);
        let (o, next) = one(b"\x8c\x02ab.").unwrap();
        assert_eq!(
            (o.code, o.arg.bytes(), next),
            (op::SHORT_BINUNICODE, &b"ab"[..], 4)
        );
        let (o, next) = one(b"cmod\nname\n").unwrap();
        assert_eq!((o.arg.lines(), next), ((&b"mod"[..], &b"name"[..]), 10));
        assert_eq!(one(b"I12\n").unwrap().0.arg.bytes(), b"12");
        assert_eq!(one(b"G?\xf0\0\0\0\0\0\0").unwrap().0.arg.float(), 1.0);
        assert_eq!(
            one(b".").unwrap(),
            (
                Op {
                    code: op::STOP,
                    arg: Arg::NONE
                },
                1
            )
        );
        assert_eq!(shape(op::BINUNICODE8), Shape::Arg(ArgKind::Unicodestring8));
        assert_eq!(shape(op::APPENDS), Shape::Bare);
        assert_eq!(shape(0xff), Shape::Unknown);
    }

    #[test]
    fn truncation_and_bad_counts_are_typed() {
        assert_eq!(one(b""), Err(ReadError::Truncated));
        assert_eq!(one(b"J\x01\x02"), Err(ReadError::Truncated));
        assert_eq!(one(b"\x8c\x05ab"), Err(ReadError::Truncated));
        assert_eq!(one(b"cmod\nname"), Err(ReadError::Truncated));
        assert_eq!(
            one(b"\x8d\xf7\xff\xff\xff\xff\xff\xff\xff"),
            Err(ReadError::Truncated)
        );
        assert_eq!(one(b"T\xff\xff\xff\xffab"), Err(ReadError::NegativeLength));
        assert_eq!(one(b"\x95\x02\0\0\0\0\0\0\0N"), Err(ReadError::Truncated));
        assert_eq!(one(b"\xff"), Err(ReadError::Unknown));
    }
}
