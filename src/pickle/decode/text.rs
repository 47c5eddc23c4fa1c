//! Arguments of the protocol-0 text opcodes: `INT`, `LONG`, `FLOAT`, `STRING`, `UNICODE`,
//! and the decimal memo indices of `PUT` / `GET`.

use num_bigint::BigInt;

use crate::value::{PyStr, Value};

/// Strips ASCII whitespace at both ends, as Python's `int()` and `float()` do.
fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end]
}

/// An integer as `int(text, 0)` reads it: optional sign, then decimal digits or a
/// `0x` / `0o` / `0b` prefix and digits. `None` when it does not parse.
pub(super) fn parse_int(text: &[u8]) -> Option<Value> {
    let s = trim(text);
    let (neg, body) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = match body {
        [b'0', b'x' | b'X', rest @ ..] => (16, rest),
        [b'0', b'o' | b'O', rest @ ..] => (8, rest),
        [b'0', b'b' | b'B', rest @ ..] => (2, rest),
        _ => (10, body),
    };
    if digits.is_empty() || !digits.iter().all(|b| (*b as char).is_digit(radix)) {
        return None;
    }
    // Fast path: fits in an i64 (at most 18 decimal digits always does).
    if radix == 10 && digits.len() <= 18 {
        let mut n: i64 = 0;
        for &d in digits {
            n = n * 10 + i64::from(d - b'0');
        }
        return Some(Value::Int(if neg { -n } else { n }));
    }
    let mut n = BigInt::parse_bytes(digits, radix)?;
    if neg {
        n = -n;
    }
    Some(Value::int(n))
}

/// A non-negative decimal memo index (`PUT` / `GET`). `Err(true)` when negative,
/// `Err(false)` when it does not parse.
pub(super) fn parse_index(text: &[u8]) -> Result<u64, bool> {
    let s = trim(text);
    if let Some(rest) = s.strip_prefix(b"-") {
        if !rest.is_empty() && rest.iter().all(u8::is_ascii_digit) {
            return Err(true);
        }
        return Err(false);
    }
    let s = s.strip_prefix(b"+").unwrap_or(s);
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return Err(false);
    }
    std::str::from_utf8(s)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or(false)
}

/// A float as `float(text)` reads it (`1e+16`, `inf`, `-nan`, ...).
pub(super) fn parse_float(text: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(trim(text)).ok()?;
    // Rust also accepts these spellings; Python accepts nothing else that Rust refuses
    // except digit-group underscores, which no pickler writes.
    s.parse::<f64>().ok()
}

/// The argument of `STRING`: a quoted Python 2 `str` literal, unescaped as
/// `codecs.escape_decode` does. `Err` with a reason when malformed.
pub(super) fn parse_string_literal(line: &[u8]) -> Result<Vec<u8>, &'static str> {
    let body = match line {
        [q @ (b'\'' | b'"'), body @ .., last] if last == q => body,
        _ => return Err("the STRING opcode argument must be quoted"),
    };
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = body.get(i) else {
            return Err("trailing \\ in string");
        };
        i += 1;
        match e {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(e),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match body.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(v as u8);
            }
            b'x' => {
                let hex = body.get(i..i + 2).ok_or("invalid \\x escape")?;
                let v = std::str::from_utf8(hex)
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or("invalid \\x escape")?;
                out.push(v);
                i += 2;
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Ok(out)
}

/// The argument of `UNICODE`: `raw-unicode-escape` text. Bytes are Latin-1 code points,
/// except that `\uXXXX` and `\UXXXXXXXX` after an odd number of backslashes are escapes.
pub(super) fn raw_unicode_escape(line: &[u8]) -> Result<PyStr, &'static str> {
    if line.iter().all(|b| *b < 0x80 && *b != b'\\') {
        // Plain ASCII: the common case.
        return Ok(PyStr::from(
            std::str::from_utf8(line).map_err(|_| "bad text")?,
        ));
    }
    let mut points: Vec<u32> = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        let c = line[i];
        if c != b'\\' {
            points.push(u32::from(c));
            i += 1;
            continue;
        }
        let run_start = i;
        while i < line.len() && line[i] == b'\\' {
            points.push(u32::from(b'\\'));
            i += 1;
        }
        let odd = (i - run_start) % 2 == 1;
        let width = match line.get(i) {
            Some(b'u') if odd => 4,
            Some(b'U') if odd => 8,
            _ => continue,
        };
        points.pop();
        let hex = line
            .get(i + 1..i + 1 + width)
            .ok_or("truncated \\uXXXX escape")?;
        let v = std::str::from_utf8(hex)
            .ok()
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or("truncated \\uXXXX escape")?;
        if v > 0x10ffff {
            return Err("\\Uxxxxxxxx out of range");
        }
        points.push(v);
        i += 1 + width;
    }
    PyStr::from_code_points(points).ok_or("code point out of range")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_parse_like_python() {
        assert!(matches!(parse_int(b"42"), Some(Value::Int(42))));
        assert!(matches!(parse_int(b" -7 "), Some(Value::Int(-7))));
        assert!(matches!(parse_int(b"0x1f"), Some(Value::Int(31))));
        assert!(matches!(
            parse_int(b"-9223372036854775808"),
            Some(Value::Int(i64::MIN))
        ));
        assert!(matches!(
            parse_int(b"9223372036854775808"),
            Some(Value::BigInt(_))
        ));
        assert!(parse_int(b"").is_none());
        assert!(parse_int(b"1x").is_none());
        assert!(parse_int(b"-").is_none());
    }

    #[test]
    fn raw_unicode_escape_counts_backslashes() {
        let s = raw_unicode_escape(b"a\\u0041\\\\u0041\\U0001F40D\xe9").unwrap();
        let want: Vec<u32> = "aA\\\\u0041🐍é".chars().map(|c| c as u32).collect();
        assert_eq!(s.code_points().collect::<Vec<_>>(), want);
        let s = raw_unicode_escape(b"\\ud800").unwrap();
        assert_eq!(s.code_points().collect::<Vec<_>>(), vec![0xd800]);
        assert!(raw_unicode_escape(b"\\u12").is_err());
        assert!(raw_unicode_escape(b"\\U00110000").is_err());
    }

    #[test]
    fn string_literals_unescape() {
        assert_eq!(
            parse_string_literal(b"'a\\n\\x41\\101\\q'").unwrap(),
            b"a\nAA\\q"
        );
        assert!(parse_string_literal(b"'abc").is_err());
        assert!(parse_string_literal(b"'ab\\'").is_err());
    }
}
