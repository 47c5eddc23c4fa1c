//! `Display` for [`Value`]: Python's `repr`.
//!
//! For `None`, `bool`, `int`, `float`, `str`, `bytes`, `bytearray`, `list`, `tuple`, `dict`,
//! `set` and `frozenset` the text is exactly what CPython 3.11's `repr` prints (checked
//! against recorded output in `tests/value_repr.rs`). `str` follows `str.isprintable()` of
//! CPython 3.11 (Unicode 14.0, table in `display/tables.rs`): characters assigned in later
//! Unicode versions are escaped here but may print raw in newer interpreters.
//!
//! The other kinds print unambiguously, in a Python-like form:
//!
//! | value | printed as |
//! |---|---|
//! | `Global` in `builtins` naming a class | `<class 'float'>` (as Python) |
//! | `Global` in `builtins` naming a function | `<built-in function sum>` (as Python) |
//! | any other `Global` | `module.name`, e.g. `datetime.datetime` |
//! | `Object` built by `REDUCE`, `INST`, `OBJ` | `module.name(arg, arg)` |
//! | `Object` built by `NEWOBJ` | `module.name.__new__(module.name, arg)` |
//! | `Object` built by `NEWOBJ_EX` | `module.name.__new__(module.name, arg, **{'k': v})` |
//! | … with `BUILD` state | the call, then ` state=<repr of state>` |
//! | … with `APPEND(S)` items | then ` items=[...]` |
//! | … with `SETITEM(S)` items | then ` dict_items={...}` |
//! | `builtins.complex(re, im)` with two float args and nothing else | Python's complex repr, `(1+2j)` |
//! | `Ref` to an enclosing list / tuple / dict / set / frozenset | `[...]`, `(...)`, `{...}`, `set(...)`, `frozenset(...)` as Python |
//! | `Ref` to an enclosing object, or a `Ref` without anchor | `...` |
//! | `Effects` | `(target then: step; step)`, steps as `.extend([..])` / `.append(x)` (APPENDS / APPEND), `.update({k: v})` / `[k] = v` (SETITEMS / SETITEM), `.update([..])` (ADDITEMS), `.__setstate__(state)` (BUILD), `setter(self, state)` (a `state_setter` call), or the discarded value's repr |
//!
//! Printing never recurses: a value nested a million levels deep prints with an explicit
//! stack.

use std::collections::HashMap;
use std::fmt::{self, Write};

use super::{Construct, Effect, Effects, Global, Object, PyStr, Value};

mod tables;

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_repr(self, f)
    }
}

/// One pending piece of output.
enum Task<'a> {
    /// A value to print.
    Val(&'a Value),
    /// Fixed text.
    Lit(&'static str),
    /// The callable of an object: a `Global` prints dotted, anything else as its repr.
    Callable(&'a Value),
    /// `items[next..]`, separated by `", "`, then `close`.
    Items {
        items: &'a [Value],
        next: usize,
        close: &'static str,
    },
    /// `k: v` pairs from `pairs[next..]`, separated by `", "`, then `close`.
    Pairs {
        pairs: &'a [(Value, Value)],
        next: usize,
        close: &'static str,
    },
}

fn write_repr(root: &Value, out: &mut dyn Write) -> fmt::Result {
    // What a `Ref(id)` prints as, filled in as anchors are met (an anchor always comes
    // before the references inside it).
    let mut anchors: HashMap<u32, &'static str> = HashMap::new();
    let mut stack: Vec<Task<'_>> = vec![Task::Val(root)];
    while let Some(task) = stack.pop() {
        match task {
            Task::Lit(s) => out.write_str(s)?,
            Task::Callable(v) => match v {
                Value::Global(g) => write_dotted(g, out)?,
                other => stack.push(Task::Val(other)),
            },
            Task::Items { items, next, close } => {
                if next == items.len() {
                    out.write_str(close)?;
                } else {
                    if next > 0 {
                        out.write_str(", ")?;
                    }
                    stack.push(Task::Items {
                        items,
                        next: next + 1,
                        close,
                    });
                    stack.push(Task::Val(&items[next]));
                }
            }
            Task::Pairs { pairs, next, close } => {
                if next == pairs.len() {
                    out.write_str(close)?;
                } else {
                    if next > 0 {
                        out.write_str(", ")?;
                    }
                    stack.push(Task::Pairs {
                        pairs,
                        next: next + 1,
                        close,
                    });
                    let (k, v) = &pairs[next];
                    stack.push(Task::Val(v));
                    stack.push(Task::Lit(": "));
                    stack.push(Task::Val(k));
                }
            }
            Task::Val(v) => match v {
                Value::None => out.write_str("None")?,
                Value::Bool(true) => out.write_str("True")?,
                Value::Bool(false) => out.write_str("False")?,
                Value::Int(i) => write!(out, "{i}")?,
                Value::BigInt(b) => write!(out, "{b}")?,
                Value::Float(x) => out.write_str(&float_repr(*x, true))?,
                Value::Str(s) => write_str_repr(s, out)?,
                Value::Bytes(b) => write_bytes_repr(b, false, out)?,
                Value::ByteArray(b) => {
                    out.write_str("bytearray(")?;
                    write_bytes_repr(b, true, out)?;
                    out.write_str(")")?;
                }
                Value::List(items) => {
                    out.write_str("[")?;
                    stack.push(Task::Items {
                        items,
                        next: 0,
                        close: "]",
                    });
                }
                Value::Tuple(items) => {
                    if items.len() == 1 {
                        out.write_str("(")?;
                        stack.push(Task::Lit(",)"));
                        stack.push(Task::Val(&items[0]));
                    } else {
                        out.write_str("(")?;
                        stack.push(Task::Items {
                            items,
                            next: 0,
                            close: ")",
                        });
                    }
                }
                Value::Dict(pairs) => {
                    out.write_str("{")?;
                    stack.push(Task::Pairs {
                        pairs,
                        next: 0,
                        close: "}",
                    });
                }
                Value::Set(items) => {
                    if items.is_empty() {
                        out.write_str("set()")?;
                    } else {
                        out.write_str("{")?;
                        stack.push(Task::Items {
                            items,
                            next: 0,
                            close: "}",
                        });
                    }
                }
                Value::FrozenSet(items) => {
                    if items.is_empty() {
                        out.write_str("frozenset()")?;
                    } else {
                        out.write_str("frozenset({")?;
                        stack.push(Task::Items {
                            items,
                            next: 0,
                            close: "})",
                        });
                    }
                }
                Value::Global(g) => write_global(g, out)?,
                Value::Object(o) => {
                    if let Some((re, im)) = as_plain_complex(o) {
                        out.write_str(&complex_repr(re, im))?;
                    } else {
                        push_object(o, &mut stack);
                    }
                }
                Value::Anchor(id, inner) => {
                    anchors.insert(*id, ellipsis_for(inner));
                    stack.push(Task::Val(inner));
                }
                Value::Ref(id) => out.write_str(anchors.get(id).copied().unwrap_or("..."))?,
                Value::Effects(e) => push_effects(e, &mut stack, out)?,
            },
        }
    }
    Ok(())
}

/// What Python prints for a container reached again while it is being printed.
fn ellipsis_for(v: &Value) -> &'static str {
    match v.unanchored() {
        Value::List(_) => "[...]",
        Value::Tuple(_) => "(...)",
        Value::Dict(_) => "{...}",
        Value::Set(_) => "set(...)",
        Value::FrozenSet(_) => "frozenset(...)",
        _ => "...",
    }
}

/// Writes the opening of an `Effects` and pushes the tasks that print the rest.
fn push_effects<'a>(e: &'a Effects, stack: &mut Vec<Task<'a>>, out: &mut dyn Write) -> fmt::Result {
    out.write_str("(")?;
    // Pushed in reverse order of printing.
    stack.push(Task::Lit(")"));
    for (i, step) in e.steps.iter().enumerate().rev() {
        match step {
            Effect::Append {
                items,
                marked: true,
            } => {
                stack.push(Task::Items {
                    items,
                    next: 0,
                    close: "])",
                });
                stack.push(Task::Lit(".extend(["));
            }
            Effect::Append {
                items,
                marked: false,
            } => {
                stack.push(Task::Items {
                    items,
                    next: 0,
                    close: ")",
                });
                stack.push(Task::Lit(".append("));
            }
            Effect::SetItems {
                pairs,
                marked: false,
            } if pairs.len() == 1 => {
                stack.push(Task::Val(&pairs[0].1));
                stack.push(Task::Lit("] = "));
                stack.push(Task::Val(&pairs[0].0));
                stack.push(Task::Lit("["));
            }
            Effect::SetItems { pairs, .. } => {
                stack.push(Task::Pairs {
                    pairs,
                    next: 0,
                    close: "})",
                });
                stack.push(Task::Lit(".update({"));
            }
            Effect::AddItems(items) => {
                stack.push(Task::Items {
                    items,
                    next: 0,
                    close: "])",
                });
                stack.push(Task::Lit(".update(["));
            }
            Effect::Build(state) => {
                stack.push(Task::Lit(")"));
                stack.push(Task::Val(state));
                stack.push(Task::Lit(".__setstate__("));
            }
            Effect::SetState {
                state_setter,
                state,
            } => {
                stack.push(Task::Lit(")"));
                stack.push(Task::Val(state));
                stack.push(Task::Lit("(self, "));
                stack.push(Task::Callable(state_setter));
            }
            Effect::Discard(v) => stack.push(Task::Val(v)),
        }
        stack.push(Task::Lit(if i == 0 { " then: " } else { "; " }));
    }
    stack.push(Task::Val(&e.target));
    Ok(())
}

/// Pushes the tasks that print an object (see the module docs for the form).
fn push_object<'a>(o: &'a Object, stack: &mut Vec<Task<'a>>) {
    // Pushed in reverse order of printing.
    if !o.dict_items.is_empty() {
        stack.push(Task::Pairs {
            pairs: &o.dict_items,
            next: 0,
            close: "}",
        });
        stack.push(Task::Lit(" dict_items={"));
    }
    if !o.list_items.is_empty() {
        stack.push(Task::Items {
            items: &o.list_items,
            next: 0,
            close: "]",
        });
        stack.push(Task::Lit(" items=["));
    }
    if let Some(state) = &o.state {
        stack.push(Task::Val(state));
        stack.push(Task::Lit(" state="));
    }
    stack.push(Task::Lit(")"));
    if let Some(kwargs) = &o.kwargs {
        stack.push(Task::Val(kwargs));
        stack.push(Task::Lit("**"));
        // After the arguments, or after the class that `__new__` receives first.
        let after_class = matches!(o.construct, Construct::NewObj | Construct::NewObjEx);
        if !o.args.is_empty() || after_class {
            stack.push(Task::Lit(", "));
        }
    }
    stack.push(Task::Items {
        items: &o.args,
        next: 0,
        close: "",
    });
    match o.construct {
        Construct::NewObj | Construct::NewObjEx => {
            if !o.args.is_empty() {
                stack.push(Task::Lit(", "));
            }
            stack.push(Task::Callable(&o.callable));
            stack.push(Task::Lit(".__new__("));
        }
        _ => stack.push(Task::Lit("(")),
    }
    stack.push(Task::Callable(&o.callable));
}

/// `(re, im)` when `o` is exactly `builtins.complex(re, im)` with float arguments.
fn as_plain_complex(o: &Object) -> Option<(f64, f64)> {
    let is_complex = matches!(&o.callable, Value::Global(g)
        if g.module == "builtins" && g.name == "complex");
    if !is_complex
        || o.construct != Construct::Reduce
        || o.kwargs.is_some()
        || o.state.is_some()
        || !o.list_items.is_empty()
        || !o.dict_items.is_empty()
    {
        return None;
    }
    match o.args.as_slice() {
        [Value::Float(re), Value::Float(im)] => Some((*re, *im)),
        _ => None,
    }
}

fn write_dotted(g: &Global, out: &mut dyn Write) -> fmt::Result {
    write!(out, "{}.{}", g.module, g.name)
}

fn write_global(g: &Global, out: &mut dyn Write) -> fmt::Result {
    if g.module == "builtins" {
        if let Some(name) = g.name.as_str() {
            if tables::BUILTIN_CLASSES.binary_search(&name).is_ok() {
                return write!(out, "<class '{name}'>");
            }
            if tables::BUILTIN_FUNCTIONS.binary_search(&name).is_ok() {
                return write!(out, "<built-in function {name}>");
            }
        }
    }
    write_dotted(g, out)
}

/// Python's `repr(float)` (`add_dot_0`) or the `r` format without `.0` (as complex uses).
pub(crate) fn float_repr(x: f64, add_dot_0: bool) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    // Rust's `{:e}` gives the shortest digits that round-trip, as Python's repr does.
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` always has an exponent");
    let exp: i32 = exp.parse().expect("`{:e}` exponent is an integer");
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut s = String::with_capacity(digits.len() + 8);
    if negative {
        s.push('-');
    }
    if !(-4..16).contains(&exp) {
        s.push_str(&digits[..1]);
        if digits.len() > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        let sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(s, "e{sign}{:02}", exp.abs());
        return s;
    }
    let decpt = exp + 1; // digits before the decimal point
    let n = digits.len() as i32;
    if decpt <= 0 {
        s.push_str("0.");
        s.extend(std::iter::repeat('0').take((-decpt) as usize));
        s.push_str(&digits);
    } else if decpt >= n {
        s.push_str(&digits);
        s.extend(std::iter::repeat('0').take((decpt - n) as usize));
        if add_dot_0 {
            s.push_str(".0");
        }
    } else {
        let (a, b) = digits.split_at(decpt as usize);
        s.push_str(a);
        s.push('.');
        s.push_str(b);
    }
    s
}

/// Python's `repr(complex(re, im))`.
pub(crate) fn complex_repr(re: f64, im: f64) -> String {
    let imag = float_repr(im, false);
    if re == 0.0 && re.is_sign_positive() {
        return format!("{imag}j");
    }
    let sign = if imag.starts_with('-') { "" } else { "+" };
    format!("({}{sign}{imag}j)", float_repr(re, false))
}

/// Python's `str.isprintable()` for one code point.
fn is_printable(cp: u32) -> bool {
    if cp < 0x80 {
        return (0x20..0x7f).contains(&cp);
    }
    let table = tables::PRINTABLE;
    // The last range starting at or below `cp`.
    let i = table.partition_point(|&(lo, _)| lo <= cp);
    i > 0 && cp <= table[i - 1].1
}

fn write_str_repr(s: &PyStr, out: &mut dyn Write) -> fmt::Result {
    let bytes = s.as_bytes();
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    out.write_char(quote)?;
    for cp in s.code_points() {
        match cp {
            0x5c => out.write_str("\\\\")?,
            0x09 => out.write_str("\\t")?,
            0x0a => out.write_str("\\n")?,
            0x0d => out.write_str("\\r")?,
            _ if cp == quote as u32 => {
                out.write_char('\\')?;
                out.write_char(quote)?;
            }
            _ if is_printable(cp) => {
                // Printable code points are never surrogates.
                out.write_char(char::from_u32(cp).unwrap_or('\u{fffd}'))?;
            }
            0..=0xff => write!(out, "\\x{cp:02x}")?,
            0x100..=0xffff => write!(out, "\\u{cp:04x}")?,
            _ => write!(out, "\\U{cp:08x}")?,
        }
    }
    out.write_char(quote)
}

/// `b'...'`. CPython's `bytearray` repr escapes `'` even inside double quotes
/// (`bytearray(b"it\'s")`); `bytes` does not.
fn write_bytes_repr(b: &[u8], bytearray: bool, out: &mut dyn Write) -> fmt::Result {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    out.write_char('b')?;
    out.write_char(quote as char)?;
    for &c in b {
        match c {
            b'\\' => out.write_str("\\\\")?,
            b'\t' => out.write_str("\\t")?,
            b'\n' => out.write_str("\\n")?,
            b'\r' => out.write_str("\\r")?,
            _ if c == quote || (bytearray && c == b'\'') => {
                out.write_char('\\')?;
                out.write_char(c as char)?;
            }
            0x20..=0x7e => out.write_char(c as char)?,
            _ => write!(out, "\\x{c:02x}")?,
        }
    }
    out.write_char(quote as char)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_forms_match_python() {
        let cases = [
            (1e16, "1e+16"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (-0.0, "-0.0"),
            (0.1, "0.1"),
            (1.5, "1.5"),
            (100.0, "100.0"),
            (1e22, "1e+22"),
            (5e-324, "5e-324"),
            (123456789012345.6, "123456789012345.6"),
            (1e15, "1000000000000000.0"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ];
        for (x, want) in cases {
            assert_eq!(float_repr(x, true), want, "repr of {x:e}");
        }
    }

    #[test]
    fn complex_forms_match_python() {
        assert_eq!(complex_repr(1.0, f64::NAN), "(1+nanj)");
        assert_eq!(complex_repr(-0.0, 1.0), "(-0+1j)");
        assert_eq!(complex_repr(0.0, -0.0), "-0j");
        assert_eq!(complex_repr(1e16, 1e-5), "(1e+16+1e-05j)");
        assert_eq!(complex_repr(1.0, -2.5), "(1-2.5j)");
    }
}
