//! [`PyStr`]: a Python `str`, which may hold lone surrogates that Rust's `str` cannot.

use std::fmt;
use std::sync::Arc;

/// A Python `str`.
///
/// Held as the bytes CPython's `str.encode('utf-8', 'surrogatepass')` gives, which is what
/// pickles carry: valid UTF-8 for every ordinary string, and three-byte `ED A0..BF xx`
/// sequences for lone surrogates. [`PyStr::as_str`] answers `Some` exactly when the text is
/// valid UTF-8 (no lone surrogates). Cloning is cheap (reference counted).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PyStr {
    bytes: Arc<[u8]>,
    utf8: bool,
}

impl PyStr {
    /// From surrogatepass UTF-8 bytes. Returns `None` when `bytes` is not
    /// surrogatepass UTF-8 (the same check CPython applies when unpickling).
    pub fn from_surrogatepass(bytes: &[u8]) -> Option<PyStr> {
        match std::str::from_utf8(bytes) {
            Ok(s) => Some(PyStr::from(s)),
            Err(_) => {
                if is_surrogatepass_utf8(bytes) {
                    Some(PyStr {
                        bytes: Arc::from(bytes),
                        utf8: false,
                    })
                } else {
                    None
                }
            }
        }
    }

    /// The text as `&str`, or `None` when it holds lone surrogates.
    pub fn as_str(&self) -> Option<&str> {
        if self.utf8 {
            // SAFETY: `utf8` is true only when `bytes` was valid UTF-8 at construction
            // (`From<&str>`, `From<String>`, or `from_surrogatepass` after
            // `str::from_utf8` succeeded), and the bytes are never changed afterwards.
            Some(unsafe { std::str::from_utf8_unchecked(&self.bytes) })
        } else {
            None
        }
    }

    /// The surrogatepass UTF-8 bytes (what a pickle carries).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// True when the string holds no lone surrogate.
    pub fn is_utf8(&self) -> bool {
        self.utf8
    }

    /// The text with each lone surrogate replaced by U+FFFD.
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The string's code points, lone surrogates included (as `u32`).
    pub fn code_points(&self) -> CodePoints<'_> {
        CodePoints { rest: &self.bytes }
    }

    /// Length in code points, as Python's `len()` counts it.
    pub fn len_chars(&self) -> usize {
        self.code_points().count()
    }

    /// From a sequence of code points (surrogates allowed). Returns `None` for a code point
    /// above U+10FFFF.
    pub fn from_code_points(points: impl IntoIterator<Item = u32>) -> Option<PyStr> {
        let mut out = Vec::new();
        for cp in points {
            push_code_point(&mut out, cp)?;
        }
        PyStr::from_surrogatepass(&out)
    }
}

/// Appends `cp` as (surrogatepass) UTF-8. `None` above U+10FFFF.
fn push_code_point(out: &mut Vec<u8>, cp: u32) -> Option<()> {
    match cp {
        0..=0x7f => out.push(cp as u8),
        0x80..=0x7ff => {
            out.push(0xc0 | (cp >> 6) as u8);
            out.push(0x80 | (cp & 0x3f) as u8);
        }
        0x800..=0xffff => {
            out.push(0xe0 | (cp >> 12) as u8);
            out.push(0x80 | ((cp >> 6) & 0x3f) as u8);
            out.push(0x80 | (cp & 0x3f) as u8);
        }
        0x10000..=0x10ffff => {
            out.push(0xf0 | (cp >> 18) as u8);
            out.push(0x80 | ((cp >> 12) & 0x3f) as u8);
            out.push(0x80 | ((cp >> 6) & 0x3f) as u8);
            out.push(0x80 | (cp & 0x3f) as u8);
        }
        _ => return None,
    }
    Some(())
}

/// Checks UTF-8 where encoded surrogates (U+D800..U+DFFF) are also allowed.
fn is_surrogatepass_utf8(b: &[u8]) -> bool {
    let mut it = CodePoints { rest: b };
    while !it.rest.is_empty() {
        if it.next_checked().is_none() {
            return false;
        }
    }
    true
}

/// Iterator over a [`PyStr`]'s code points.
pub struct CodePoints<'a> {
    rest: &'a [u8],
}

impl CodePoints<'_> {
    fn next_checked(&mut self) -> Option<u32> {
        let b = self.rest;
        let b0 = *b.first()?;
        let (len, init) = match b0 {
            0x00..=0x7f => (1, b0 as u32),
            0xc2..=0xdf => (2, (b0 & 0x1f) as u32),
            0xe0..=0xef => (3, (b0 & 0x0f) as u32),
            0xf0..=0xf4 => (4, (b0 & 0x07) as u32),
            _ => return None,
        };
        if b.len() < len {
            return None;
        }
        let mut cp = init;
        for &c in &b[1..len] {
            if c & 0xc0 != 0x80 {
                return None;
            }
            cp = (cp << 6) | (c & 0x3f) as u32;
        }
        let min = [0, 0, 0x80, 0x800, 0x10000][len];
        if cp < min || cp > 0x10ffff {
            return None;
        }
        self.rest = &b[len..];
        Some(cp)
    }
}

impl Iterator for CodePoints<'_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        // PyStr contents are validated at construction, so this never stops early.
        self.next_checked()
    }
}

impl From<&str> for PyStr {
    fn from(s: &str) -> PyStr {
        PyStr {
            bytes: Arc::from(s.as_bytes()),
            utf8: true,
        }
    }
}

impl From<String> for PyStr {
    fn from(s: String) -> PyStr {
        PyStr {
            bytes: Arc::from(s.into_bytes().into_boxed_slice()),
            utf8: true,
        }
    }
}

impl PartialEq<str> for PyStr {
    fn eq(&self, other: &str) -> bool {
        &*self.bytes == other.as_bytes()
    }
}

impl PartialEq<&str> for PyStr {
    fn eq(&self, other: &&str) -> bool {
        &*self.bytes == other.as_bytes()
    }
}

impl fmt::Debug for PyStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(s) => fmt::Debug::fmt(s, f),
            None => write!(f, "PyStr({:?})", self.to_string_lossy()),
        }
    }
}

impl fmt::Display for PyStr {
    /// The text itself (lone surrogates shown as U+FFFD); use `Value`'s `Display` for `repr`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(s) => f.write_str(s),
            None => f.write_str(&self.to_string_lossy()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_surrogate_is_kept() {
        // '\ud800' encoded with surrogatepass
        let s = PyStr::from_surrogatepass(b"a\xed\xa0\x80b").unwrap();
        assert!(!s.is_utf8());
        assert_eq!(
            s.code_points().collect::<Vec<_>>(),
            vec![0x61, 0xd800, 0x62]
        );
        assert_eq!(PyStr::from_code_points([0x61, 0xd800, 0x62]).unwrap(), s);
    }

    #[test]
    fn invalid_utf8_is_refused() {
        assert!(PyStr::from_surrogatepass(b"\xff").is_none());
        assert!(PyStr::from_surrogatepass(b"\xc0\x80").is_none());
    }
}
