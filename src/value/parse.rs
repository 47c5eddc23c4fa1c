//! `FromStr` for [`Value`]: Python literals, as `ast.literal_eval` reads them.
//!
//! Accepted:
//! - `None`, `True`, `False`;
//! - integers in decimal, `0x`, `0o`, `0b`, with `_` separators; any size (big ones become
//!   [`Value::BigInt`]);
//! - floats: `1.5`, `1e5`, `.5`, `5.`, `1_000.5`, `1e400` (= `inf`; `inf` and `nan` are not
//!   literals);
//! - complex numbers `2j`, `1+2j`, `-1.5-2j` (a real, `+` or `-`, an imaginary literal,
//!   exactly as `literal_eval` allows), held as the object `builtins.complex(re, im)` that
//!   pickle uses and printed back in Python's form;
//! - strings with every prefix (`r`, `u`, `b`, `br`, `rb`, any case), single, double and
//!   triple quotes, all escapes except `\N{...}` (refused with an error), adjacent literals
//!   concatenated (`'a' 'b'`; mixing `str` and `bytes` is an error, as in Python);
//!   `'\ud800'` gives a lone surrogate;
//! - lists, tuples (`()`, `(1,)`, and a bare `1, 2` at the top), dicts (a repeated key keeps
//!   its first key and last value, as Python: `{1: 'a', 1.0: 'b'}` is `{1: 'b'}`), sets
//!   (repeats dropped), `set()`;
//! - a unary `-` or `+` on a number (once: `--1` is refused, as `literal_eval` refuses it).
//!
//! Whitespace, newlines (also outside brackets: a superset of Python), `\`-continuations
//! and `#` comments are skipped. f-strings, names, calls other than `set()`, operators
//! other than the complex `+`/`-`, and `\N{...}` escapes are errors.
//!
//! Errors are [`Error::Value`] with the line and column. Nesting deeper than
//! [`MAX_DEPTH`] brackets is an error (the parser itself uses an explicit stack; the limit
//! keeps the resulting value cheap to drop and to hand to recursive consumers).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use num_bigint::BigInt;
use num_traits::{FromPrimitive, ToPrimitive};

use super::{Global, Object, PyStr, Value};
use crate::Error;

/// How deeply brackets may nest in a parsed literal.
pub const MAX_DEPTH: usize = 1000;

impl FromStr for Value {
    type Err = Error;

    /// Parses a Python literal (see the module documentation for what is accepted).
    ///
    /// ```
    /// # use mpconn::Value;
    /// let v: Value = "[1, 'a', (2.5, None), {b'k': {1, 2}}]".parse().unwrap();
    /// assert_eq!(v.to_string(), "[1, 'a', (2.5, None), {b'k': {1, 2}}]");
    /// ```
    fn from_str(s: &str) -> Result<Value, Error> {
        Parser {
            lex: Lexer { src: s, pos: 0 },
        }
        .parse()
    }
}

/// A token and where it starts (byte offset).
#[derive(Debug)]
enum Tok {
    Int(Value),
    Float(f64),
    Imag(f64),
    Str(Vec<u32>),
    Bytes(Vec<u8>),
    Name(String),
    Punct(u8),
    Eof,
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

fn err_at(src: &str, pos: usize, msg: impl std::fmt::Display) -> Error {
    let before = &src[..pos.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    Error::Value(format!(
        "invalid literal: {msg} at line {line}, column {col}"
    ))
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

impl Lexer<'_> {
    fn bytes(&self) -> &[u8] {
        self.src.as_bytes()
    }

    fn peek_at(&self, at: usize) -> Option<u8> {
        self.bytes().get(at).copied()
    }

    fn err(&self, pos: usize, msg: impl std::fmt::Display) -> Error {
        err_at(self.src, pos, msg)
    }

    fn skip_space(&mut self) -> Result<(), Error> {
        while let Some(c) = self.peek_at(self.pos) {
            match c {
                b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => self.pos += 1,
                b'#' => {
                    while self.peek_at(self.pos).is_some_and(|c| c != b'\n') {
                        self.pos += 1;
                    }
                }
                b'\\' => match (self.peek_at(self.pos + 1), self.peek_at(self.pos + 2)) {
                    (Some(b'\n'), _) => self.pos += 2,
                    (Some(b'\r'), Some(b'\n')) => self.pos += 3,
                    (Some(b'\r'), _) => self.pos += 2,
                    _ => {
                        return Err(
                            self.err(self.pos, "unexpected character after line continuation")
                        )
                    }
                },
                _ => break,
            }
        }
        Ok(())
    }

    /// The next token and its start.
    fn next(&mut self) -> Result<(Tok, usize), Error> {
        self.skip_space()?;
        let start = self.pos;
        let Some(c) = self.peek_at(start) else {
            return Ok((Tok::Eof, start));
        };
        let tok = match c {
            b'0'..=b'9' => self.number()?,
            b'.' if self.peek_at(start + 1).is_some_and(|d| d.is_ascii_digit()) => self.number()?,
            b'\'' | b'"' => self.string(false, false)?,
            b'(' | b')' | b'[' | b']' | b'{' | b'}' | b',' | b':' | b'+' | b'-' => {
                self.pos += 1;
                Tok::Punct(c)
            }
            c if is_ident_char(c) => {
                let mut end = start;
                while self.peek_at(end).is_some_and(is_ident_char) {
                    end += 1;
                }
                let word = &self.src[start..end];
                if matches!(self.peek_at(end), Some(b'\'' | b'"')) {
                    let lower = word.to_ascii_lowercase();
                    let (raw, bytes) = match lower.as_str() {
                        "r" => (true, false),
                        "u" => (false, false),
                        "b" => (false, true),
                        "br" | "rb" => (true, true),
                        "f" | "fr" | "rf" => {
                            return Err(self.err(start, "f-strings are not literals"))
                        }
                        _ => return Err(self.err(start, format!("unknown string prefix {word:?}"))),
                    };
                    self.pos = end;
                    self.string(raw, bytes)?
                } else {
                    self.pos = end;
                    Tok::Name(word.to_owned())
                }
            }
            _ => {
                let ch = self.src[start..].chars().next().unwrap_or('?');
                return Err(self.err(start, format!("unexpected character {ch:?}")));
            }
        };
        Ok((tok, start))
    }

    /// Digits (of `radix`) with single `_` between them, starting at `self.pos`.
    /// Returns the digits without underscores (empty when none).
    fn digit_part(&mut self, radix: u32, allow_leading_underscore: bool) -> String {
        let mut out = String::new();
        let is_digit = |c: u8| (c as char).is_digit(radix);
        loop {
            match self.peek_at(self.pos) {
                Some(c) if is_digit(c) => {
                    out.push(c as char);
                    self.pos += 1;
                }
                Some(b'_')
                    if (!out.is_empty() || allow_leading_underscore)
                        && self.peek_at(self.pos + 1).is_some_and(is_digit) =>
                {
                    self.pos += 1;
                }
                _ => return out,
            }
        }
    }

    fn number(&mut self) -> Result<Tok, Error> {
        let start = self.pos;
        let b = self.bytes();
        if b[start] == b'0' {
            let radix = match self.peek_at(start + 1) {
                Some(b'x' | b'X') => 16,
                Some(b'o' | b'O') => 8,
                Some(b'b' | b'B') => 2,
                _ => 0,
            };
            if radix != 0 {
                self.pos += 2;
                let digits = self.digit_part(radix, true);
                if digits.is_empty() || self.peek_at(self.pos).is_some_and(is_ident_char) {
                    let kind = match radix {
                        16 => "hexadecimal",
                        8 => "octal",
                        _ => "binary",
                    };
                    return Err(self.err(start, format!("invalid {kind} literal")));
                }
                return Ok(Tok::Int(parse_int(&digits, radix)));
            }
        }
        let int_part = self.digit_part(10, false);
        let mut is_float = false;
        let mut text = int_part.clone();
        if self.peek_at(self.pos) == Some(b'.') {
            self.pos += 1;
            is_float = true;
            text.push('.');
            text.push_str(&self.digit_part(10, false));
        }
        if matches!(self.peek_at(self.pos), Some(b'e' | b'E')) {
            let save = self.pos;
            self.pos += 1;
            let mut exp = String::from("e");
            if let Some(s @ (b'+' | b'-')) = self.peek_at(self.pos) {
                exp.push(s as char);
                self.pos += 1;
            }
            let digits = self.digit_part(10, false);
            if digits.is_empty() {
                self.pos = save; // reported below as an invalid literal
            } else {
                is_float = true;
                text.push_str(&exp);
                text.push_str(&digits);
            }
        }
        let imag = matches!(self.peek_at(self.pos), Some(b'j' | b'J'));
        if imag {
            self.pos += 1;
        }
        if self.peek_at(self.pos).is_some_and(is_ident_char) {
            return Err(self.err(start, "invalid decimal literal"));
        }
        if is_float || imag {
            let x: f64 = text
                .parse()
                .map_err(|_| self.err(start, "invalid decimal literal"))?;
            return Ok(if imag { Tok::Imag(x) } else { Tok::Float(x) });
        }
        if int_part.len() > 1 && int_part.starts_with('0') && int_part.bytes().any(|c| c != b'0') {
            return Err(self.err(
                start,
                "leading zeros in decimal integer literals are not permitted",
            ));
        }
        Ok(Tok::Int(parse_int(&int_part, 10)))
    }

    /// A string literal whose opening quote is at `self.pos`.
    fn string(&mut self, raw: bool, bytes: bool) -> Result<Tok, Error> {
        let start = self.pos;
        let b = self.src.as_bytes();
        let q = b[start];
        let triple = b.get(start + 1) == Some(&q) && b.get(start + 2) == Some(&q);
        self.pos += if triple { 3 } else { 1 };
        let mut out: Vec<u32> = Vec::new();
        loop {
            let Some(c) = self.src[self.pos..].chars().next() else {
                return Err(self.err(start, "unterminated string literal"));
            };
            let at = self.pos;
            self.pos += c.len_utf8();
            match c {
                _ if c as u32 == q as u32 => {
                    if !triple {
                        break;
                    }
                    if b.get(self.pos) == Some(&q) && b.get(self.pos + 1) == Some(&q) {
                        self.pos += 2;
                        break;
                    }
                    out.push(c as u32);
                }
                '\n' | '\r' if !triple => {
                    return Err(self.err(start, "unterminated string literal"));
                }
                '\\' => {
                    let Some(e) = self.src[self.pos..].chars().next() else {
                        return Err(self.err(start, "unterminated string literal"));
                    };
                    if raw {
                        // Kept as written; the backslash only stops the quote from closing.
                        out.push('\\' as u32);
                        out.push(e as u32);
                        self.pos += e.len_utf8();
                        if bytes && !e.is_ascii() {
                            return Err(
                                self.err(at, "bytes can only contain ASCII literal characters")
                            );
                        }
                    } else {
                        self.escape(at, e, bytes, &mut out)?;
                    }
                }
                _ => {
                    if bytes && !c.is_ascii() {
                        return Err(self.err(at, "bytes can only contain ASCII literal characters"));
                    }
                    out.push(c as u32);
                }
            }
        }
        if bytes {
            // Every unit is below 256 here: ASCII text or a \x / octal escape.
            Ok(Tok::Bytes(out.into_iter().map(|u| u as u8).collect()))
        } else {
            Ok(Tok::Str(out))
        }
    }

    /// One escape; `e` is the character after the backslash at `at`.
    fn escape(&mut self, at: usize, e: char, bytes: bool, out: &mut Vec<u32>) -> Result<(), Error> {
        self.pos += e.len_utf8();
        let simple = match e {
            '\n' => return Ok(()),
            '\r' => {
                if self.peek_at(self.pos) == Some(b'\n') {
                    self.pos += 1;
                }
                return Ok(());
            }
            '\\' | '\'' | '"' => Some(e as u32),
            'a' => Some(7),
            'b' => Some(8),
            'f' => Some(0x0c),
            'n' => Some(0x0a),
            'r' => Some(0x0d),
            't' => Some(0x09),
            'v' => Some(0x0b),
            _ => None,
        };
        if let Some(u) = simple {
            out.push(u);
            return Ok(());
        }
        match e {
            '0'..='7' => {
                let mut v = e as u32 - '0' as u32;
                for _ in 0..2 {
                    match self.peek_at(self.pos) {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + (d - b'0') as u32;
                            self.pos += 1;
                        }
                        _ => break,
                    }
                }
                out.push(if bytes { v & 0xff } else { v });
            }
            'x' => out.push(self.hex_digits(at, 2, "\\xXX")?),
            'u' if !bytes => out.push(self.hex_digits(at, 4, "\\uXXXX")?),
            'U' if !bytes => {
                let v = self.hex_digits(at, 8, "\\UXXXXXXXX")?;
                if v > 0x10ffff {
                    return Err(self.err(at, "illegal Unicode character in \\U escape"));
                }
                out.push(v);
            }
            'N' if !bytes => {
                return Err(self.err(at, "\\N{...} escapes are not supported; use \\u or \\U"))
            }
            _ => {
                // Unknown escapes are kept as written (Python warns but accepts them).
                if bytes && !e.is_ascii() {
                    return Err(self.err(at, "bytes can only contain ASCII literal characters"));
                }
                out.push('\\' as u32);
                out.push(e as u32);
            }
        }
        Ok(())
    }

    fn hex_digits(&mut self, at: usize, n: usize, what: &str) -> Result<u32, Error> {
        let digits = self.src.get(self.pos..self.pos + n).unwrap_or("");
        if digits.len() != n || !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(self.err(at, format!("truncated {what} escape")));
        }
        self.pos += n;
        Ok(u32::from_str_radix(digits, 16).unwrap_or(0))
    }
}

fn parse_int(digits: &str, radix: u32) -> Value {
    match i64::from_str_radix(digits, radix) {
        Ok(i) => Value::Int(i),
        Err(_) => Value::int(BigInt::parse_bytes(digits.as_bytes(), radix).unwrap_or_default()),
    }
}

fn complex(re: f64, im: f64) -> Value {
    Value::Object(Arc::new(Object::reduce(
        Value::Global(Arc::new(Global::new("builtins", "complex"))),
        vec![Value::Float(re), Value::Float(im)],
    )))
}

/// An open bracket (or the implicit top-level tuple).
enum Frame {
    Top { items: Vec<Value>, comma: bool },
    List(Vec<Value>),
    Paren { items: Vec<Value>, comma: bool },
    Brace(Brace),
}

/// `{` ... : a dict or a set, decided by the first item.
struct Brace {
    pairs: Vec<(Value, Value)>,
    items: Vec<Value>,
    key: Option<Value>,
    dict: Option<bool>,
    seen: Seen,
}

/// A key (or set member) that equality can index by hash: Python-equal values map to the
/// same `SimpleKey`.
#[derive(PartialEq, Eq, Hash)]
enum SimpleKey {
    None,
    Int(i64),
    Big(BigInt),
    Float(u64),
    Str(PyStr),
    Bytes(Arc<[u8]>),
}

fn simple_key(v: &Value) -> Option<SimpleKey> {
    Some(match v {
        Value::None => SimpleKey::None,
        Value::Bool(b) => SimpleKey::Int(i64::from(*b)),
        Value::Int(i) => SimpleKey::Int(*i),
        Value::BigInt(b) => match b.to_i64() {
            Some(i) => SimpleKey::Int(i),
            None => SimpleKey::Big((**b).clone()),
        },
        Value::Float(x) if x.is_finite() && x.fract() == 0.0 => {
            let b = BigInt::from_f64(*x)?;
            match b.to_i64() {
                Some(i) => SimpleKey::Int(i),
                None => SimpleKey::Big(b),
            }
        }
        Value::Float(x) if x.is_nan() => return None,
        Value::Float(x) => SimpleKey::Float(x.to_bits()),
        Value::Str(s) => SimpleKey::Str(s.clone()),
        Value::Bytes(b) => SimpleKey::Bytes(b.clone()),
        _ => return None,
    })
}

/// The keys (or members) of a `{...}` so far, to merge duplicates as Python does: a dict
/// keeps the first key with the last value, a set keeps the first member.
#[derive(Default)]
struct Seen {
    simple: HashMap<SimpleKey, usize>,
    /// Positions of the keys that have no `SimpleKey` (compared one by one).
    other: Vec<usize>,
}

impl Seen {
    /// The position of a key equal to `k` among `keys`, or `None` after recording `k` as
    /// the key at position `keys.len()`.
    fn find_or_insert<'a>(
        &mut self,
        k: &Value,
        keys: impl Fn(usize) -> &'a Value,
        len: usize,
    ) -> Option<usize> {
        match simple_key(k) {
            Some(sk) => match self.simple.get(&sk) {
                Some(&i) => Some(i),
                None => {
                    self.simple.insert(sk, len);
                    None
                }
            },
            None => {
                if let Some(&i) = self.other.iter().find(|&&i| keys(i) == k) {
                    return Some(i);
                }
                self.other.push(len);
                None
            }
        }
    }
}

impl Brace {
    fn add_pair(&mut self, k: Value, v: Value) {
        let pairs = &self.pairs;
        match self.seen.find_or_insert(&k, |i| &pairs[i].0, pairs.len()) {
            Some(i) => self.pairs[i].1 = v,
            None => self.pairs.push((k, v)),
        }
    }

    fn add_member(&mut self, m: Value) {
        let items = &self.items;
        if self
            .seen
            .find_or_insert(&m, |i| &items[i], items.len())
            .is_none()
        {
            self.items.push(m);
        }
    }
}

struct Parser<'a> {
    lex: Lexer<'a>,
}

impl Parser<'_> {
    fn err(&self, pos: usize, msg: impl std::fmt::Display) -> Error {
        self.lex.err(pos, msg)
    }

    fn parse(mut self) -> Result<Value, Error> {
        let mut stack = vec![Frame::Top {
            items: Vec::new(),
            comma: false,
        }];
        'expect_value: loop {
            // State: a value (or, after an opener or a comma, a closer) is expected.
            let (tok, at) = self.lex.next()?;
            let mut value = match tok {
                Tok::Punct(open @ (b'(' | b'[' | b'{')) => {
                    if stack.len() > MAX_DEPTH {
                        return Err(self.err(at, format!("nesting deeper than {MAX_DEPTH}")));
                    }
                    stack.push(match open {
                        b'(' => Frame::Paren {
                            items: Vec::new(),
                            comma: false,
                        },
                        b'[' => Frame::List(Vec::new()),
                        _ => Frame::Brace(Brace {
                            pairs: Vec::new(),
                            items: Vec::new(),
                            key: None,
                            dict: None,
                            seen: Seen::default(),
                        }),
                    });
                    continue 'expect_value;
                }
                Tok::Punct(close @ (b')' | b']' | b'}')) => {
                    // Only right after an opener or a trailing comma.
                    let top = stack.pop().expect("the top frame is never popped here");
                    match (close, top) {
                        (b')', Frame::Paren { items, .. }) => Value::tuple(items),
                        (b']', Frame::List(items)) => Value::list(items),
                        (b'}', Frame::Brace(br)) if br.key.is_none() => match br.dict {
                            Some(false) => Value::set(br.items),
                            _ => Value::dict(br.pairs),
                        },
                        _ => return Err(self.err(at, format!("unexpected '{}'", close as char))),
                    }
                }
                Tok::Eof => match stack.pop() {
                    Some(Frame::Top { items, comma: true }) if stack.is_empty() => {
                        return Ok(Value::tuple(items));
                    }
                    _ => return Err(self.err(at, "unexpected end of input")),
                },
                tok => self.scalar(tok, at)?,
            };
            // State: `value` is complete; attach it to the innermost open bracket.
            loop {
                let (tok, at) = self.lex.next()?;
                let top = stack
                    .last_mut()
                    .expect("the top frame is never popped here");
                let unexpected = |p: &Self, tok: &Tok| match tok {
                    Tok::Eof => p.err(at, "unexpected end of input"),
                    Tok::Punct(c) => p.err(at, format!("unexpected '{}'", *c as char)),
                    _ => p.err(at, "expected ',' or a closing bracket"),
                };
                match top {
                    Frame::Top { items, comma } => match tok {
                        Tok::Eof => {
                            if items.is_empty() && !*comma {
                                return Ok(value);
                            }
                            items.push(value);
                            return Ok(Value::tuple(std::mem::take(items)));
                        }
                        Tok::Punct(b',') => {
                            items.push(value);
                            *comma = true;
                            continue 'expect_value;
                        }
                        tok => return Err(unexpected(&self, &tok)),
                    },
                    Frame::List(items) => match tok {
                        Tok::Punct(b',') => {
                            items.push(value);
                            continue 'expect_value;
                        }
                        Tok::Punct(b']') => {
                            items.push(value);
                            value = Value::list(std::mem::take(items));
                        }
                        tok => return Err(unexpected(&self, &tok)),
                    },
                    Frame::Paren { items, comma } => match tok {
                        Tok::Punct(b',') => {
                            items.push(value);
                            *comma = true;
                            continue 'expect_value;
                        }
                        Tok::Punct(b')') => {
                            if !items.is_empty() || *comma {
                                items.push(value);
                                value = Value::tuple(std::mem::take(items));
                            } else if matches!(
                                value,
                                Value::Int(_) | Value::BigInt(_) | Value::Float(_)
                            ) {
                                // `(1)+2j`: the parentheses vanish, as in Python's AST.
                                value = self.maybe_complex(value)?;
                            }
                        }
                        tok => return Err(unexpected(&self, &tok)),
                    },
                    Frame::Brace(br) => match tok {
                        Tok::Punct(b':') if br.key.is_none() && br.dict != Some(false) => {
                            br.key = Some(value);
                            br.dict = Some(true);
                            continue 'expect_value;
                        }
                        Tok::Punct(sep @ (b',' | b'}')) => {
                            if let Some(k) = br.key.take() {
                                br.add_pair(k, value);
                            } else if br.dict == Some(true) {
                                return Err(self.err(at, "expected ':'"));
                            } else {
                                br.add_member(value);
                                br.dict = Some(false);
                            }
                            if sep == b',' {
                                continue 'expect_value;
                            }
                            value = if br.dict == Some(true) {
                                Value::dict(std::mem::take(&mut br.pairs))
                            } else {
                                Value::set(std::mem::take(&mut br.items))
                            };
                        }
                        tok => return Err(unexpected(&self, &tok)),
                    },
                }
                // The innermost bracket was closed; `value` is the finished container.
                stack.pop();
            }
        }
    }

    /// A value that is not a bracket: number (with sign, or complex sum), string(s), name.
    fn scalar(&mut self, tok: Tok, at: usize) -> Result<Value, Error> {
        match tok {
            Tok::Punct(sign @ (b'-' | b'+')) => {
                let (tok, num_at) = self.lex.next()?;
                let neg = sign == b'-';
                let v = match tok {
                    Tok::Int(v) => {
                        if neg {
                            negate_int(v)
                        } else {
                            v
                        }
                    }
                    Tok::Float(x) => Value::Float(if neg { -x } else { x }),
                    Tok::Imag(x) => {
                        return Ok(if neg {
                            complex(-0.0, -x)
                        } else {
                            complex(0.0, x)
                        });
                    }
                    _ => return Err(self.err(num_at, "a sign must be followed by a number")),
                };
                self.maybe_complex(v)
            }
            Tok::Int(v) => self.maybe_complex(v),
            Tok::Float(x) => self.maybe_complex(Value::Float(x)),
            Tok::Imag(x) => Ok(complex(0.0, x)),
            Tok::Str(first) => {
                let mut all = first;
                while self.peek_is_string()? {
                    match self.lex.next()? {
                        (Tok::Str(more), _) => all.extend(more),
                        (_, at) => {
                            return Err(self.err(at, "cannot mix bytes and nonbytes literals"))
                        }
                    }
                }
                PyStr::from_code_points(all)
                    .map(Value::Str)
                    .ok_or_else(|| self.err(at, "code point out of range"))
            }
            Tok::Bytes(first) => {
                let mut all = first;
                while self.peek_is_string()? {
                    match self.lex.next()? {
                        (Tok::Bytes(more), _) => all.extend(more),
                        (_, at) => {
                            return Err(self.err(at, "cannot mix bytes and nonbytes literals"))
                        }
                    }
                }
                Ok(Value::Bytes(Arc::from(all)))
            }
            Tok::Name(name) => match name.as_str() {
                "None" => Ok(Value::None),
                "True" => Ok(Value::Bool(true)),
                "False" => Ok(Value::Bool(false)),
                "set" => {
                    let (a, a_at) = self.lex.next()?;
                    let (b, _) = self.lex.next()?;
                    match (a, b) {
                        (Tok::Punct(b'('), Tok::Punct(b')')) => Ok(Value::set(Vec::new())),
                        _ => Err(self.err(a_at, "only the call set() is a literal")),
                    }
                }
                _ => Err(self.err(at, format!("{name:?} is not a literal"))),
            },
            Tok::Punct(c) => Err(self.err(at, format!("unexpected '{}'", c as char))),
            Tok::Eof => Err(self.err(at, "unexpected end of input")),
        }
    }

    /// True when the next token is a string or bytes literal (nothing is consumed).
    fn peek_is_string(&mut self) -> Result<bool, Error> {
        self.lex.skip_space()?;
        let pos = self.lex.pos;
        let mut end = pos;
        while self
            .lex
            .peek_at(end)
            .is_some_and(|c| c.is_ascii_alphabetic())
            && end - pos < 2
        {
            end += 1;
        }
        Ok(matches!(self.lex.peek_at(end), Some(b'\'' | b'"'))
            && self.lex.src[pos..end]
                .bytes()
                .all(|c| matches!(c.to_ascii_lowercase(), b'r' | b'u' | b'b' | b'f')))
    }

    /// `real + imag j` / `real - imag j` after a real number, else the number itself.
    fn maybe_complex(&mut self, real: Value) -> Result<Value, Error> {
        let save = self.lex.pos;
        let (tok, _) = self.lex.next()?;
        let Tok::Punct(op @ (b'+' | b'-')) = tok else {
            self.lex.pos = save;
            return Ok(real);
        };
        let (tok, at) = self.lex.next()?;
        let Tok::Imag(im) = tok else {
            return Err(self.err(
                at,
                "only a complex number may follow '+' or '-' between literals",
            ));
        };
        let re = match &real {
            Value::Float(x) => *x,
            Value::Int(i) => *i as f64,
            Value::BigInt(b) => b
                .to_f64()
                .filter(|x| x.is_finite())
                .ok_or_else(|| self.err(at, "int too large to convert to float"))?,
            _ => unreachable!("maybe_complex is only called with numbers"),
        };
        // As CPython computes `real + complex(0.0, im)`.
        Ok(if op == b'+' {
            complex(re + 0.0, 0.0 + im)
        } else {
            complex(re - 0.0, 0.0 - im)
        })
    }
}

fn negate_int(v: Value) -> Value {
    match v {
        Value::Int(i) => match i.checked_neg() {
            Some(n) => Value::Int(n),
            None => Value::int(-BigInt::from(i)),
        },
        Value::BigInt(b) => Value::int(-(*b).clone()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> String {
        match s.parse::<Value>() {
            Ok(v) => v.to_string(),
            Err(e) => format!("ERR {e}"),
        }
    }

    #[test]
    fn basics() {
        assert_eq!(p("[1, 2,]"), "[1, 2]");
        assert_eq!(p("1, 2"), "(1, 2)");
        assert_eq!(p("1,"), "(1,)");
        assert_eq!(p("()"), "()");
        assert_eq!(p("(1)"), "1");
        assert_eq!(p("{}"), "{}");
        assert_eq!(p("{1, 2}"), "{1, 2}");
        assert_eq!(p("set()"), "set()");
        assert_eq!(p("{'a': [1, (2,)], 'b': {}}"), "{'a': [1, (2,)], 'b': {}}");
        assert_eq!(p("-9223372036854775808"), "-9223372036854775808");
        assert_eq!(p("0x_ff"), "255");
        assert_eq!(p("1+2j"), "(1+2j)");
        assert_eq!(p("-1j"), "(-0-1j)");
        assert_eq!(p("'a' \"b\""), "'ab'");
        assert_eq!(p("'\\ud800'"), "'\\ud800'");
        assert_eq!(p("b'\\777'"), "b'\\xff'");
        assert!(p("--1").starts_with("ERR"));
        assert!(p("1 2").starts_with("ERR"));
        assert!(p("(,)").starts_with("ERR"));
        assert!(p("{1: 2, 3}").starts_with("ERR"));
        assert!(p("{1, 2: 3}").starts_with("ERR"));
        assert!(p("").starts_with("ERR"));
    }
}
