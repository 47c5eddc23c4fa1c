//! A pickle disassembler whose output is CPython's `pickletools.dis`, line for line.
//!
//! [`dis`] prints one line per opcode: the byte offset, the opcode character, the opcode
//! name indented by the MARK nesting, its argument as Python's `repr` shows it, and with
//! [`DisOptions::annotate`] the first line of the opcode's documentation; then
//! `highest protocol among opcodes = N`. The same sanity checks as CPython's are made (stack
//! and memo emulation, MARK matching), and a failure is reported after the lines printed so
//! far, with the text of the `ValueError` CPython raises.
//!
//! The versions of `pickletools` differ a little, and [`Pickletools`] picks which one to
//! mirror:
//!
//! | | 3.11 | 3.13 | 3.14 | 3.15 |
//! |---|---|---|---|---|
//! | `STRING`/`BINSTRING`/`SHORT_BINSTRING` argument shown with | `repr` | `ascii` | `ascii` | `ascii` |
//! | `STRING` escapes decoded as | ASCII | latin-1 | latin-1 | latin-1 |
//! | `GLOBAL`/`INST`/`PERSID` names decoded as | ASCII | UTF-8 | UTF-8 | UTF-8 |
//! | a memo index stored twice | error | error | accepted | accepted |
//! | a MARK-consuming opcode with no MARK | `no MARK exists on stack` on the line, then error | same | error only | error only |
//! | `LONG4`'s annotation | "found-byte" (sic) | "four-byte" | "four-byte" | "four-byte" |
//! | `'` in a `BYTEARRAY8` argument shown with double quotes | `\'` | `\'` | `\'` | `'` (bytearray's repr changed) |
//!
//! (3.15 colours its output on a terminal; written to a file or a pipe it is plain.)
//!
//! Known differences: `str` arguments are shown with the `repr` of CPython 3.11's Unicode
//! database (see [`crate::value`]); the text of a decoding error inside a malformed UTF-8 or
//! raw-unicode-escape argument is close to, not always exactly, CPython's.
//!
//! ```
//! use mpconn::pickle::dis::{dis, DisOptions};
//! let text = dis(b"\x80\x04K\x01.", &DisOptions::default()).unwrap();
//! // CPython: pickletools.dis(b'\x80\x04K\x01.')
//! let expected = "    0: \\x80 PROTO      4
//!     2: K    BININT1    1
//!     4: .    STOP
//! highest protocol among opcodes = 2
//! ";
//! assert_eq!(text, expected);
//! ```

mod table;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use num_bigint::{BigInt, Sign};

use self::table::{lookup, Arg, OpInfo, LONG4_DOC_311, S};
use crate::value::{PyStr, Value};

/// Which CPython `pickletools` the output mirrors (they differ in details; see the module
/// documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pickletools {
    /// CPython 3.11 (and 3.12).
    Py311,
    /// CPython 3.13.
    Py313,
    /// CPython 3.14.
    Py314,
    /// CPython 3.15 (the default).
    #[default]
    Py315,
}

impl Pickletools {
    /// The flavour of a CPython version `(3, minor)`: 3.12 and older as 3.11, anything
    /// newer than 3.15 as 3.15.
    pub fn for_python(major: u32, minor: u32) -> Pickletools {
        match (major, minor) {
            (3, m) if m <= 12 => Pickletools::Py311,
            (3, 13) => Pickletools::Py313,
            (3, 14) => Pickletools::Py314,
            _ => Pickletools::Py315,
        }
    }

    /// Whether this version's pickletools still checks that a memo index is stored once
    /// and shows `no MARK exists on stack` on the offending line (3.13 and older).
    fn strict_memo(self) -> bool {
        matches!(self, Pickletools::Py311 | Pickletools::Py313)
    }
}

/// The parameters of `pickletools.dis` (`indentlevel`, `annotate`) and the version mirrored.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DisOptions {
    /// Blanks by which each MARK level indents (Python's `indentlevel`, default 4).
    pub indent: usize,
    /// 0: no annotations (default); otherwise the column hint where the opcode's one-line
    /// description starts (the command line of `pickletools` uses 30).
    pub annotate: usize,
    /// Which CPython's `pickletools` to mirror.
    pub version: Pickletools,
    /// Most bytes of output one disassembly may produce (`None`, the default: no bound);
    /// past it the disassembly stops with [`DisError::OUTPUT_LIMIT`]. The indentation of
    /// MARK levels makes the output grow with the square of the pickle's length, so a
    /// pickle from an untrusted peer needs one.
    pub max_output: Option<usize>,
}

impl Default for DisOptions {
    fn default() -> Self {
        DisOptions {
            indent: 4,
            annotate: 0,
            version: Pickletools::default(),
            max_output: None,
        }
    }
}

impl DisOptions {
    /// The defaults: indent 4, no annotations, 3.15's output.
    pub fn new() -> DisOptions {
        DisOptions::default()
    }
    /// Sets the indent of a MARK level.
    pub fn indent(mut self, blanks: usize) -> DisOptions {
        self.indent = blanks;
        self
    }
    /// Sets the annotation column hint (0: none).
    pub fn annotate(mut self, column: usize) -> DisOptions {
        self.annotate = column;
        self
    }
    /// Sets the `pickletools` version mirrored.
    pub fn version(mut self, version: Pickletools) -> DisOptions {
        self.version = version;
        self
    }
    /// Sets the bound on the output (`None`: no bound).
    pub fn max_output(mut self, bytes: Option<usize>) -> DisOptions {
        self.max_output = bytes;
        self
    }
}

/// Why a disassembly stopped: the exception CPython's `pickletools.dis` raises there.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{exception}: {message}")]
pub struct DisError {
    /// The Python exception type: `ValueError`, or `UnicodeDecodeError` for an argument
    /// that is not valid text.
    pub exception: &'static str,
    /// The exception's message, as CPython words it.
    pub message: String,
}

impl DisError {
    /// The `exception` of a disassembly stopped by [`DisOptions::max_output`] (no Python
    /// exception: CPython has no such bound).
    pub const OUTPUT_LIMIT: &'static str = "OutputLimit";

    fn value(message: impl Into<String>) -> DisError {
        DisError {
            exception: "ValueError",
            message: message.into(),
        }
    }
    fn unicode(message: impl Into<String>) -> DisError {
        DisError {
            exception: "UnicodeDecodeError",
            message: message.into(),
        }
    }
}

/// Disassembles the pickle at the start of `pickle` (through its first STOP).
///
/// # Errors
/// A [`DisError`] for anything `pickletools.dis` refuses; use [`Disassembler::dis_into`]
/// to keep the lines printed before it.
pub fn dis(pickle: &[u8], options: &DisOptions) -> Result<String, DisError> {
    let mut out = String::new();
    Disassembler::new(options.clone()).dis_into(pickle, &mut out)?;
    Ok(out)
}

/// A disassembler that keeps its memo from one pickle to the next, as passing the same
/// `memo` dict to several `pickletools.dis` calls does (`python -m pickletools -m`).
#[derive(Debug)]
pub struct Disassembler {
    options: DisOptions,
    memo: HashMap<BigInt, S>,
}

/// A decoded opcode argument, shown as Python shows the object `pickletools` reads.
enum ArgValue {
    Int(BigInt),
    Bool(bool),
    Float(f64),
    Str(PyStr),
    /// A `str` `pickletools` decoded from latin-1 (the STRING family).
    Latin1(Vec<u8>),
    Bytes(Vec<u8>),
    ByteArray(Vec<u8>),
}

/// CPython's default limit on the digits of an int converted to or from decimal text
/// (`sys.get_int_max_str_digits()`).
const MAX_STR_DIGITS: usize = 4300;

impl Disassembler {
    /// A disassembler with an empty memo.
    pub fn new(options: DisOptions) -> Disassembler {
        Disassembler {
            options,
            memo: HashMap::new(),
        }
    }

    /// Appends the disassembly of the pickle at the start of `pickle` to `out`; returns the
    /// number of bytes it took (through STOP). On error, `out` holds what CPython would
    /// have printed before raising (possibly ending in a line's unfinished offset).
    ///
    /// # Errors
    /// A [`DisError`] for anything `pickletools.dis` refuses.
    pub fn dis_into(&mut self, pickle: &[u8], out: &mut String) -> Result<usize, DisError> {
        let opts = &self.options;
        let start_len = out.len();
        let mut stack: Vec<S> = Vec::new();
        let mut maxproto: i32 = -1;
        let mut markstack: Vec<usize> = Vec::new();
        let indentchunk = " ".repeat(opts.indent);
        let mut annocol = opts.annotate;
        let mut reader = Reader {
            data: pickle,
            pos: 0,
            version: opts.version,
        };
        loop {
            let pos = reader.pos;
            let Some(code) = reader.byte() else {
                return Err(DisError::value("pickle exhausted before seeing STOP"));
            };
            let Some(op) = lookup(code) else {
                return Err(DisError::value(format!(
                    "at position {pos}, opcode {} unknown",
                    Value::bytes(&[code])
                )));
            };
            let arg = match op.arg {
                Some(kind) => Some(reader.arg(kind)?),
                None => None,
            };
            let _ = write!(out, "{pos:5}: ");
            let mut line = String::new();
            let shown_code = if code < 0x80 {
                (code as char).to_string()
            } else {
                format!("\\x{code:02x}")
            };
            let _ = write!(
                line,
                "{shown_code:<4} {}{}",
                indentchunk.repeat(markstack.len()),
                op.name
            );
            maxproto = maxproto.max(i32::from(op.proto));
            let before = op.before;
            let mut after: Vec<S> = op.after.to_vec();
            let mut numtopop = before.len();
            let mut errormsg: Option<String> = None;
            let mut markmsg: Option<String> = None;

            if before.contains(&S::Mark) || (op.name == "POP" && stack.last() == Some(&S::Mark)) {
                if let Some(markpos) = markstack.pop() {
                    markmsg = Some(format!("(MARK at {markpos})"));
                    while stack.last().is_some_and(|s| *s != S::Mark) {
                        stack.pop();
                    }
                    stack.pop();
                    numtopop = before.iter().position(|s| *s == S::Mark).unwrap_or(0);
                } else {
                    let msg = "no MARK exists on stack".to_string();
                    if opts.version.strict_memo() {
                        markmsg = Some(msg.clone());
                    }
                    errormsg = Some(msg);
                }
            }

            match op.name {
                "PUT" | "BINPUT" | "LONG_BINPUT" | "MEMOIZE" => {
                    let index = if op.name == "MEMOIZE" {
                        let index = self.memo.len();
                        markmsg = Some(format!("(as {index})"));
                        BigInt::from(index)
                    } else {
                        memo_key(arg.as_ref())
                    };
                    if opts.version.strict_memo() && self.memo.contains_key(&index) {
                        errormsg = Some(format!(
                            "memo key {} already defined",
                            arg_repr(arg.as_ref(), opts.version)?
                        ));
                    } else {
                        match stack.last() {
                            None => {
                                errormsg =
                                    Some("stack is empty -- can't store into memo".to_string())
                            }
                            Some(S::Mark) => {
                                errormsg = Some("can't store markobject in the memo".to_string())
                            }
                            Some(top) => {
                                self.memo.insert(index, *top);
                            }
                        }
                    }
                }
                "GET" | "BINGET" | "LONG_BINGET" => match self.memo.get(&memo_key(arg.as_ref())) {
                    Some(kind) => after = vec![*kind],
                    None => {
                        errormsg = Some(format!(
                            "memo key {} has never been stored into",
                            arg_repr(arg.as_ref(), opts.version)?
                        ))
                    }
                },
                _ => {}
            }

            if arg.is_some() || markmsg.is_some() {
                line.push_str(&" ".repeat(10usize.saturating_sub(op.name.len())));
                if let Some(arg) = &arg {
                    line.push(' ');
                    line.push_str(&show_arg(arg, opts.version)?);
                }
                if let Some(msg) = &markmsg {
                    line.push(' ');
                    line.push_str(msg);
                }
            }
            if opts.annotate > 0 {
                let width = line.chars().count();
                line.push_str(&" ".repeat(annocol.saturating_sub(width)));
                annocol = width.max(annocol);
                if annocol > 50 {
                    annocol = opts.annotate;
                }
                line.push(' ');
                line.push_str(doc_line(op, opts.version));
            }
            out.push_str(&line);
            out.push('\n');
            if let Some(max) = opts.max_output {
                if out.len() - start_len > max {
                    return Err(DisError {
                        exception: DisError::OUTPUT_LIMIT,
                        message: format!("the disassembly is longer than {max} bytes; cut"),
                    });
                }
            }

            if let Some(msg) = errormsg {
                return Err(DisError::value(msg));
            }
            if stack.len() < numtopop {
                return Err(DisError::value(format!(
                    "tries to pop {numtopop} items from stack with only {} items",
                    stack.len()
                )));
            }
            stack.truncate(stack.len() - numtopop);
            if after.contains(&S::Mark) {
                markstack.push(pos);
            }
            stack.extend(after);
            if code == b'.' {
                break;
            }
        }
        let _ = writeln!(out, "highest protocol among opcodes = {maxproto}");
        if !stack.is_empty() {
            let names: Vec<&str> = stack.iter().map(|s| s.name()).collect();
            return Err(DisError::value(format!(
                "stack not empty after STOP: [{}]",
                names.join(", ")
            )));
        }
        Ok(reader.pos)
    }
}

fn doc_line(op: &OpInfo, version: Pickletools) -> &'static str {
    if op.name == "LONG4" && version == Pickletools::Py311 {
        LONG4_DOC_311
    } else {
        op.doc
    }
}

/// The memo index an argument names (`True`/`False` are 1/0 as Python's dict sees them).
fn memo_key(arg: Option<&ArgValue>) -> BigInt {
    match arg {
        Some(ArgValue::Int(n)) => n.clone(),
        Some(ArgValue::Bool(b)) => BigInt::from(u8::from(*b)),
        _ => BigInt::from(-1),
    }
}

fn arg_repr(arg: Option<&ArgValue>, version: Pickletools) -> Result<String, DisError> {
    match arg {
        Some(a) => show_arg(a, version),
        None => Ok("None".to_string()),
    }
}

/// The argument as `dis` shows it: `repr`, or `ascii` for the STRING family after 3.11.
fn show_arg(arg: &ArgValue, version: Pickletools) -> Result<String, DisError> {
    Ok(match arg {
        ArgValue::Int(n) => int_repr(n)?,
        ArgValue::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        ArgValue::Float(x) => Value::Float(*x).to_string(),
        ArgValue::Str(s) => Value::Str(s.clone()).to_string(),
        ArgValue::Latin1(bytes) => {
            if version == Pickletools::Py311 {
                let s = PyStr::from_code_points(bytes.iter().map(|&b| u32::from(b)))
                    .unwrap_or_else(|| PyStr::from(""));
                Value::Str(s).to_string()
            } else {
                latin1_ascii(bytes)
            }
        }
        ArgValue::Bytes(b) => Value::bytes(b).to_string(),
        ArgValue::ByteArray(b) => {
            let shown = Value::ByteArray(Arc::new(b.clone())).to_string();
            if version == Pickletools::Py315 && shown.starts_with("bytearray(b\"") {
                // 3.15's bytearray repr no longer escapes `'` inside double quotes.
                shown.replace("\\'", "'")
            } else {
                shown
            }
        }
    })
}

/// Python's `repr(int)`, refused past `MAX_STR_DIGITS` digits as CPython refuses it.
fn int_repr(n: &BigInt) -> Result<String, DisError> {
    // 4300 decimal digits need at most 14 285 bits; anything well past that is refused
    // before converting (the conversion is quadratic).
    if n.bits() > 14_400 {
        return Err(too_many_digits_to_str());
    }
    let text = n.to_string();
    if text.len() > MAX_STR_DIGITS {
        return Err(too_many_digits_to_str());
    }
    Ok(text)
}

fn too_many_digits_to_str() -> DisError {
    DisError::value(format!(
        "Exceeds the limit ({MAX_STR_DIGITS} digits) for integer string conversion; use sys.set_int_max_str_digits() to increase the limit"
    ))
}

/// `ascii(s)` for a str whose code points are the bytes of `bytes` (all below 256).
fn latin1_ascii(bytes: &[u8]) -> String {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push(quote);
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if b as char == quote => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push(quote);
    out
}

/// Reads opcodes and their arguments as `pickletools`' readers do.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    version: Pickletools,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    /// Up to `n` bytes (fewer at the end of the data), as a file's `read(n)`.
    fn take(&mut self, n: u64) -> &'a [u8] {
        let rest = &self.data[self.pos..];
        let n = usize::try_from(n).unwrap_or(usize::MAX).min(rest.len());
        self.pos += n;
        &rest[..n]
    }

    fn fixed<const N: usize>(&mut self, what: &str) -> Result<[u8; N], DisError> {
        let got = self.take(N as u64);
        got.try_into()
            .map_err(|_| DisError::value(format!("not enough data in stream to read {what}")))
    }

    /// A line without its newline (`readline`), or the error of a missing newline.
    fn line(&mut self, what: &str) -> Result<&'a [u8], DisError> {
        let rest = &self.data[self.pos..];
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                self.pos += i + 1;
                Ok(&rest[..i])
            }
            None => {
                self.pos = self.data.len();
                Err(DisError::value(format!(
                    "no newline found when trying to read {what}"
                )))
            }
        }
    }

    /// Exactly `n` counted bytes, or `expected N bytes in a KIND, but only M remain`.
    fn counted(&mut self, n: u64, kind: &str) -> Result<&'a [u8], DisError> {
        if n > i64::MAX as u64 {
            return Err(DisError::value(format!(
                "{kind} byte count > sys.maxsize: {n}"
            )));
        }
        let got = self.take(n);
        if got.len() as u64 == n {
            Ok(got)
        } else {
            Err(DisError::value(format!(
                "expected {n} bytes in a {kind}, but only {} remain",
                got.len()
            )))
        }
    }

    fn arg(&mut self, kind: Arg) -> Result<ArgValue, DisError> {
        Ok(match kind {
            Arg::Uint1 => ArgValue::Int(self.fixed::<1>("uint1")?[0].into()),
            Arg::Uint2 => ArgValue::Int(u16::from_le_bytes(self.fixed("uint2")?).into()),
            Arg::Int4 => ArgValue::Int(i32::from_le_bytes(self.fixed("int4")?).into()),
            Arg::Uint4 => ArgValue::Int(u32::from_le_bytes(self.fixed("uint4")?).into()),
            Arg::Uint8 => ArgValue::Int(u64::from_le_bytes(self.fixed("uint8")?).into()),
            Arg::Float8 => ArgValue::Float(f64::from_be_bytes(self.fixed("float8")?)),
            Arg::Stringnl => {
                let raw = self.line("stringnl")?;
                let inner = strip_quotes(raw)?;
                let decoded = escape_decode(inner)?;
                if self.version == Pickletools::Py311 {
                    ascii_check(&decoded)?;
                }
                ArgValue::Latin1(decoded)
            }
            Arg::StringnlNoescape => ArgValue::Str(self.noescape()?),
            Arg::StringnlNoescapePair => {
                let module = self.noescape()?;
                let name = self.noescape()?;
                let mut joined = module.as_bytes().to_vec();
                joined.push(b' ');
                joined.extend_from_slice(name.as_bytes());
                ArgValue::Str(PyStr::from_surrogatepass(&joined).unwrap_or_else(|| "".into()))
            }
            Arg::String1 => {
                let n = self.fixed::<1>("uint1")?[0];
                ArgValue::Latin1(self.counted(n.into(), "string1")?.to_vec())
            }
            Arg::String4 => {
                let n = i32::from_le_bytes(self.fixed("int4")?);
                if n < 0 {
                    return Err(DisError::value(format!("string4 byte count < 0: {n}")));
                }
                ArgValue::Latin1(self.counted(n as u64, "string4")?.to_vec())
            }
            Arg::Bytes1 => {
                let n = self.fixed::<1>("uint1")?[0];
                ArgValue::Bytes(self.counted(n.into(), "bytes1")?.to_vec())
            }
            Arg::Bytes4 => {
                let n = u32::from_le_bytes(self.fixed("uint4")?);
                ArgValue::Bytes(self.counted(n.into(), "bytes4")?.to_vec())
            }
            Arg::Bytes8 => {
                let n = u64::from_le_bytes(self.fixed("uint8")?);
                ArgValue::Bytes(self.counted(n, "bytes8")?.to_vec())
            }
            Arg::Bytearray8 => {
                let n = u64::from_le_bytes(self.fixed("uint8")?);
                ArgValue::ByteArray(self.counted(n, "bytearray8")?.to_vec())
            }
            Arg::Unicodestringnl => {
                let raw = self.line("unicodestringnl")?;
                ArgValue::Str(raw_unicode_escape(raw)?)
            }
            Arg::Unicodestring1 => {
                let n = self.fixed::<1>("uint1")?[0];
                ArgValue::Str(utf8_surrogatepass(
                    self.counted(n.into(), "unicodestring1")?,
                )?)
            }
            Arg::Unicodestring4 => {
                let n = u32::from_le_bytes(self.fixed("uint4")?);
                ArgValue::Str(utf8_surrogatepass(
                    self.counted(n.into(), "unicodestring4")?,
                )?)
            }
            Arg::Unicodestring8 => {
                let n = u64::from_le_bytes(self.fixed("uint8")?);
                ArgValue::Str(utf8_surrogatepass(self.counted(n, "unicodestring8")?)?)
            }
            Arg::DecimalnlShort => {
                let raw = self.line("stringnl")?;
                match raw {
                    b"00" => ArgValue::Bool(false),
                    b"01" => ArgValue::Bool(true),
                    _ => ArgValue::Int(parse_int(raw)?),
                }
            }
            Arg::DecimalnlLong => {
                let raw = self.line("stringnl")?;
                let digits = raw.strip_suffix(b"L").unwrap_or(raw);
                ArgValue::Int(parse_int(digits)?)
            }
            Arg::Floatnl => ArgValue::Float(parse_float(self.line("stringnl")?)?),
            Arg::Long1 => {
                let n = self.fixed::<1>("uint1")?[0];
                let got = self.take(n.into());
                if got.len() != usize::from(n) {
                    return Err(DisError::value("not enough data in stream to read long1"));
                }
                ArgValue::Int(BigInt::from_signed_bytes_le(got))
            }
            Arg::Long4 => {
                let n = i32::from_le_bytes(self.fixed("int4")?);
                if n < 0 {
                    return Err(DisError::value(format!("long4 byte count < 0: {n}")));
                }
                let got = self.take(n as u64);
                if got.len() != n as usize {
                    return Err(DisError::value("not enough data in stream to read long4"));
                }
                ArgValue::Int(BigInt::from_signed_bytes_le(got))
            }
        })
    }

    /// `read_stringnl_noescape`: escapes undone, then ASCII (3.11) or UTF-8 (later).
    fn noescape(&mut self) -> Result<PyStr, DisError> {
        let raw = self.line("stringnl")?;
        let decoded = escape_decode(raw)?;
        if self.version == Pickletools::Py311 {
            ascii_check(&decoded)?;
        }
        match std::str::from_utf8(&decoded) {
            Ok(s) => Ok(PyStr::from(s)),
            Err(e) => Err(utf8_error(&decoded, e.valid_up_to(), e.error_len())),
        }
    }
}

/// `read_stringnl`'s quote check: the same quote at both ends, removed.
fn strip_quotes(data: &[u8]) -> Result<&[u8], DisError> {
    for q in [b'"', b'\''] {
        if data.first() == Some(&q) {
            if data.len() < 2 || data.last() != Some(&q) {
                return Err(DisError::value(format!(
                    "string quote {} not found at both ends of {}",
                    Value::bytes(&[q]),
                    Value::bytes(data)
                )));
            }
            return Ok(&data[1..data.len() - 1]);
        }
    }
    Err(DisError::value(format!(
        "no string quotes around {}",
        Value::bytes(data)
    )))
}

/// `bytes.decode('ascii')`'s check.
fn ascii_check(data: &[u8]) -> Result<(), DisError> {
    match data.iter().position(|b| !b.is_ascii()) {
        None => Ok(()),
        Some(i) => Err(DisError::unicode(format!(
            "'ascii' codec can't decode byte 0x{:02x} in position {i}: ordinal not in range(128)",
            data[i]
        ))),
    }
}

/// `codecs.escape_decode`: the escapes of a Python bytes literal undone.
fn escape_decode(data: &[u8]) -> Result<Vec<u8>, DisError> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        let c = data[i];
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        let Some(&e) = data.get(i) else {
            return Err(DisError::value("Trailing \\ in string"));
        };
        i += 1;
        match e {
            b'\n' => {}
            b'\\' => out.push(b'\\'),
            b'\'' => out.push(b'\''),
            b'"' => out.push(b'"'),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b't' => out.push(b'\t'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b'v' => out.push(0x0b),
            b'a' => out.push(0x07),
            b'0'..=b'7' => {
                let mut value = u32::from(e - b'0');
                for _ in 0..2 {
                    match data.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((value & 0xff) as u8);
            }
            b'x' => {
                let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
                match (hex(data.get(i)), hex(data.get(i + 1))) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi * 16 + lo) as u8);
                        i += 2;
                    }
                    _ => {
                        return Err(DisError::value(format!(
                            "invalid \\x escape at position {start}"
                        )))
                    }
                }
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Ok(out)
}

/// `str(data, 'raw-unicode-escape')`: bytes are latin-1 code points but for `\uXXXX` and
/// `\UXXXXXXXX` escapes.
fn raw_unicode_escape(data: &[u8]) -> Result<PyStr, DisError> {
    let mut points: Vec<u32> = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        let c = data[i];
        i += 1;
        if c != b'\\' || i >= data.len() {
            points.push(c.into());
            continue;
        }
        let start = i - 1;
        let e = data[i];
        i += 1;
        let (count, message) = match e {
            b'u' => (4, "truncated \\uXXXX escape"),
            b'U' => (8, "truncated \\UXXXXXXXX escape"),
            _ => {
                points.push(u32::from(b'\\'));
                points.push(e.into());
                continue;
            }
        };
        let mut cp: u32 = 0;
        for _ in 0..count {
            match data.get(i).and_then(|b| (*b as char).to_digit(16)) {
                Some(d) => {
                    cp = (cp << 4) | d;
                    i += 1;
                }
                None => return Err(codec_error("rawunicodeescape", data, start, i, message)),
            }
        }
        if cp > 0x10ffff {
            return Err(codec_error(
                "rawunicodeescape",
                data,
                start,
                i,
                "\\Uxxxxxxxx out of range",
            ));
        }
        points.push(cp);
    }
    Ok(PyStr::from_code_points(points).unwrap_or_else(|| "".into()))
}

/// A `UnicodeDecodeError` message for `data[start..end]`.
fn codec_error(codec: &str, data: &[u8], start: usize, end: usize, reason: &str) -> DisError {
    if end == start + 1 {
        DisError::unicode(format!(
            "'{codec}' codec can't decode byte 0x{:02x} in position {start}: {reason}",
            data[start]
        ))
    } else {
        DisError::unicode(format!(
            "'{codec}' codec can't decode bytes in position {start}-{}: {reason}",
            end - 1
        ))
    }
}

/// `str(data, 'utf-8', 'surrogatepass')`.
fn utf8_surrogatepass(data: &[u8]) -> Result<PyStr, DisError> {
    if let Some(s) = PyStr::from_surrogatepass(data) {
        return Ok(s);
    }
    let e = std::str::from_utf8(data).expect_err("surrogatepass refused valid UTF-8");
    Err(utf8_error(data, e.valid_up_to(), e.error_len()))
}

/// A `UnicodeDecodeError` for the first invalid UTF-8 sequence at `at`.
fn utf8_error(data: &[u8], at: usize, len: Option<usize>) -> DisError {
    let reason = match (data[at], len) {
        (0x80..=0xbf | 0xf8..=0xff, _) => "invalid start byte",
        (_, None) => "unexpected end of data",
        _ => "invalid continuation byte",
    };
    let end = at + len.unwrap_or(data.len() - at).max(1);
    codec_error("utf-8", data, at, end, reason)
}

/// ASCII whitespace as CPython's `int()`/`float()` strip it from bytes.
fn trim_space(data: &[u8]) -> &[u8] {
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
    let start = data.iter().position(|b| !space(b)).unwrap_or(data.len());
    let end = data
        .iter()
        .rposition(|b| !space(b))
        .map_or(start, |i| i + 1);
    &data[start..end]
}

/// Digits with single underscores between them (Python's literal rule), underscores gone.
fn strip_underscores(digits: &[u8], ok: impl Fn(u8) -> bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(digits.len());
    let mut prev_digit = false;
    for &b in digits {
        if b == b'_' {
            if !prev_digit {
                return None;
            }
            prev_digit = false;
        } else if ok(b) {
            out.push(b);
            prev_digit = true;
        } else {
            return None;
        }
    }
    (prev_digit || digits.is_empty()).then_some(out)
}

/// Python's `int(data)` for bytes, base 10.
fn parse_int(data: &[u8]) -> Result<BigInt, DisError> {
    let invalid = || {
        let mut shown = Value::bytes(data).to_string();
        if shown.chars().count() > 200 {
            shown = shown.chars().take(200).collect();
        }
        DisError::value(format!("invalid literal for int() with base 10: {shown}"))
    };
    let text = trim_space(data);
    let (negative, body) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if body.is_empty() {
        return Err(invalid());
    }
    let digits = strip_underscores(body, |b| b.is_ascii_digit()).ok_or_else(invalid)?;
    if digits.len() > MAX_STR_DIGITS {
        return Err(DisError::value(format!(
            "Exceeds the limit ({MAX_STR_DIGITS} digits) for integer string conversion: value has {} digits; use sys.set_int_max_str_digits() to increase the limit",
            digits.len()
        )));
    }
    let magnitude = BigInt::parse_bytes(&digits, 10).ok_or_else(invalid)?;
    Ok(if negative {
        BigInt::from_biguint(Sign::Minus, magnitude.magnitude().clone())
    } else {
        magnitude
    })
}

/// Python's `float(data)` for bytes.
fn parse_float(data: &[u8]) -> Result<f64, DisError> {
    let invalid = || {
        DisError::value(format!(
            "could not convert string to float: {}",
            Value::bytes(data)
        ))
    };
    let text = trim_space(data);
    let (sign, body) = match text.first() {
        Some(b'-') => (-1.0, &text[1..]),
        Some(b'+') => (1.0, &text[1..]),
        _ => (1.0, text),
    };
    let lower = body.to_ascii_lowercase();
    match lower.as_slice() {
        b"inf" | b"infinity" => return Ok(sign * f64::INFINITY),
        b"nan" => return Ok(f64::NAN.copysign(sign)),
        _ => {}
    }
    // Mantissa digits (with an optional point) and an optional exponent; underscores only
    // between digits.
    let (mantissa, exponent) = match lower.iter().position(|&b| b == b'e') {
        Some(i) => (&lower[..i], Some(&lower[i + 1..])),
        None => (&lower[..], None),
    };
    let (whole, frac) = match mantissa.iter().position(|&b| b == b'.') {
        Some(i) => (&mantissa[..i], Some(&mantissa[i + 1..])),
        None => (mantissa, None),
    };
    let digit = |b: u8| b.is_ascii_digit();
    let whole = strip_underscores(whole, digit).ok_or_else(invalid)?;
    let frac = match frac {
        Some(f) => strip_underscores(f, digit).ok_or_else(invalid)?,
        None => Vec::new(),
    };
    if whole.is_empty() && frac.is_empty() {
        return Err(invalid());
    }
    let mut clean = whole;
    clean.push(b'.');
    clean.extend_from_slice(&frac);
    if let Some(exp) = exponent {
        let (esign, edigits) = match exp.first() {
            Some(b'-') => ("-", &exp[1..]),
            Some(b'+') => ("", &exp[1..]),
            _ => ("", exp),
        };
        let edigits = strip_underscores(edigits, digit).ok_or_else(invalid)?;
        if edigits.is_empty() {
            return Err(invalid());
        }
        clean.push(b'e');
        clean.extend_from_slice(esign.as_bytes());
        clean.extend_from_slice(&edigits);
    }
    let text = std::str::from_utf8(&clean).map_err(|_| invalid())?;
    let value: f64 = text.parse().map_err(|_| invalid())?;
    Ok(sign * value)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected text: CPython 3.14's `pickletools.dis` on the same bytes.
    #[test]
    fn marks_indent_and_memo_get_follows_the_stored_kind() {
        // pickle.dumps([1, (2, 'a')], protocol=0) in CPython 3.14
        let p = b"(lp0\nI1\na(I2\nVa\np1\ntp2\na.";
        let text = dis(p, &DisOptions::default()).unwrap();
        let expected = "    0: (    MARK
    1: l        LIST       (MARK at 0)
    2: p    PUT        0
    5: I    INT        1
    8: a    APPEND
    9: (    MARK
   10: I        INT        2
   13: V        UNICODE    'a'
   16: p        PUT        1
   19: t        TUPLE      (MARK at 9)
   20: p    PUT        2
   23: a    APPEND
   24: .    STOP
highest protocol among opcodes = 0
";
        assert_eq!(text, expected);
    }

    #[test]
    fn errors_come_after_the_offending_line() {
        let mut out = String::new();
        let err = Disassembler::new(DisOptions::default())
            .dis_into(b"K\x01a.", &mut out)
            .unwrap_err();
        assert_eq!(
            err.message,
            "tries to pop 2 items from stack with only 1 items"
        );
        assert_eq!(out, "    0: K    BININT1    1\n    2: a    APPEND\n");
        let err = dis(b"K\x01", &DisOptions::default()).unwrap_err();
        assert_eq!(err.message, "pickle exhausted before seeing STOP");
        let err = dis(b"\xff", &DisOptions::default()).unwrap_err();
        assert_eq!(err.message, "at position 0, opcode b'\\xff' unknown");
    }

    #[test]
    fn output_can_be_bounded() {
        let mut p = vec![b'('; 10_000];
        p.push(b'.');
        let options = DisOptions::new().max_output(Some(100_000));
        let mut out = String::new();
        let err = Disassembler::new(options)
            .dis_into(&p, &mut out)
            .unwrap_err();
        assert_eq!(err.exception, DisError::OUTPUT_LIMIT);
        assert!(out.len() < 200_000);
    }

    #[test]
    fn python_number_syntax() {
        assert_eq!(parse_int(b" -1_000 ").unwrap(), BigInt::from(-1000));
        assert!(parse_int(b"1__0").is_err());
        assert_eq!(parse_float(b"1_0.5e1").unwrap(), 105.0);
        assert!(parse_float(b"e5").is_err());
        assert_eq!(parse_float(b"-Infinity").unwrap(), f64::NEG_INFINITY);
    }
}
