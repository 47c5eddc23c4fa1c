//! Decodes every pickle CPython wrote into fixtures/pickles/ (python_interop/gen_fixtures.py:
//! 3.11, 3.13, 3.14, 3.15 × protocols 0–5) and checks the values, their sharing and cycles;
//! then feeds the decoder hostile inputs.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use mpconn::pickle::{loads_with, PickleErrorKind};
use mpconn::value::Construct;
use mpconn::{loads, DecodeOptions, Value};

struct Fixture {
    file: String,
    name: String,
    protocol: u64,
    pickle: Vec<u8>,
    ascii: Option<String>,
    repr: Option<String>,
    basic: bool,
    shape: Option<String>,
    type_name: String,
}

impl Fixture {
    fn label(&self) -> String {
        format!("{} p{} {:?}", self.file, self.protocol, self.name)
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn fixtures() -> Vec<Fixture> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/pickles");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("fixtures/pickles exists (python3 python_interop/gen_fixtures.py)")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let entries: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        for e in entries {
            out.push(Fixture {
                file: file.clone(),
                name: e["name"].as_str().unwrap().to_string(),
                protocol: e["protocol"].as_u64().unwrap(),
                pickle: unhex(e["pickle"].as_str().unwrap()),
                ascii: e["ascii"].as_str().map(str::to_string),
                repr: e["repr"].as_str().map(str::to_string),
                basic: e["basic"].as_bool().unwrap(),
                shape: e["shape"].as_str().map(str::to_string),
                type_name: e["type"].as_str().unwrap().to_string(),
            });
        }
    }
    assert!(
        out.len() >= 4 * 700,
        "expected four interpreters' fixtures, got {}",
        out.len()
    );
    out
}

fn fixture(name: &str, protocol: u64) -> Value {
    let f = fixtures()
        .into_iter()
        .find(|f| f.file == "3.11.json" && f.name == name && f.protocol == protocol)
        .unwrap_or_else(|| panic!("no fixture {name:?} p{protocol}"));
    loads(&f.pickle).unwrap_or_else(|e| panic!("{}: {e}", f.label()))
}

// ---- Python's ascii() for basic values, written here so the test does not depend on
// ---- Value's Display (checked against the fixtures' `ascii` field).

fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sci = format!("{:e}", f.abs());
    let (mant, exp) = sci.split_once('e').unwrap();
    let exp: i32 = exp.parse().unwrap();
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if !(-4..16).contains(&exp) {
        let m = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        let es = if exp < 0 { "-" } else { "+" };
        return format!("{sign}{m}e{es}{:02}", exp.abs());
    }
    if exp < 0 {
        return format!("{sign}0.{}{}", "0".repeat((-exp - 1) as usize), digits);
    }
    let e = exp as usize;
    if digits.len() <= e + 1 {
        format!("{sign}{}{}.0", digits, "0".repeat(e + 1 - digits.len()))
    } else {
        format!("{sign}{}.{}", &digits[..=e], &digits[e + 1..])
    }
}

fn quote_for(has_single: bool, has_double: bool) -> char {
    if has_single && !has_double {
        '"'
    } else {
        '\''
    }
}

fn ascii_str(points: &[u32]) -> String {
    let q = quote_for(points.contains(&0x27), points.contains(&0x22));
    let mut s = String::new();
    s.push(q);
    for &c in points {
        match c {
            0x5c => s.push_str("\\\\"),
            0x09 => s.push_str("\\t"),
            0x0a => s.push_str("\\n"),
            0x0d => s.push_str("\\r"),
            _ if c == q as u32 => {
                s.push('\\');
                s.push(q);
            }
            0x20..=0x7e => s.push(char::from_u32(c).unwrap()),
            0..=0xff => write!(s, "\\x{c:02x}").unwrap(),
            0x100..=0xffff => write!(s, "\\u{c:04x}").unwrap(),
            _ => write!(s, "\\U{c:08x}").unwrap(),
        }
    }
    s.push(q);
    s
}

fn ascii_bytes(b: &[u8]) -> String {
    let q = quote_for(b.contains(&b'\''), b.contains(&b'"'));
    let mut s = String::from("b");
    s.push(q);
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'\t' => s.push_str("\\t"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            _ if c == q as u8 => {
                s.push('\\');
                s.push(q);
            }
            0x20..=0x7e => s.push(c as char),
            _ => write!(s, "\\x{c:02x}").unwrap(),
        }
    }
    s.push(q);
    s
}

fn py_ascii(v: &Value) -> String {
    match v {
        Value::None => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Int(i) => i.to_string(),
        Value::BigInt(i) => i.to_string(),
        Value::Float(f) => py_float(*f),
        Value::Str(s) => ascii_str(&s.code_points().collect::<Vec<_>>()),
        Value::Bytes(b) => ascii_bytes(b),
        Value::List(items) => {
            format!(
                "[{}]",
                items.iter().map(py_ascii).collect::<Vec<_>>().join(", ")
            )
        }
        Value::Tuple(items) if items.len() == 1 => format!("({},)", py_ascii(&items[0])),
        Value::Tuple(items) => {
            format!(
                "({})",
                items.iter().map(py_ascii).collect::<Vec<_>>().join(", ")
            )
        }
        Value::Dict(pairs) => format!(
            "{{{}}}",
            pairs
                .iter()
                .map(|(k, v)| format!("{}: {}", py_ascii(k), py_ascii(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("<not basic: {}>", other.type_name()),
    }
}

// ---- identity structure, as gen_fixtures.py's shape() writes it

fn shape(v: &Value) -> String {
    enum Item<'a> {
        V(&'a Value),
        Text(&'static str),
    }
    let mut seen: HashMap<usize, usize> = HashMap::new();
    let mut anchors: HashMap<u32, usize> = HashMap::new();
    let mut out = String::new();
    let mut stack = vec![Item::V(v)];
    while let Some(item) = stack.pop() {
        let v = match item {
            Item::Text(t) => {
                out.push_str(t);
                continue;
            }
            Item::V(v) => v,
        };
        let (v, anchor) = match v {
            Value::Anchor(id, inner) => (&**inner, Some(*id)),
            Value::Ref(id) => {
                let ptr = anchors.get(id).expect("Ref inside its Anchor");
                write!(out, "@{}", seen[ptr]).unwrap();
                continue;
            }
            v => (v, None),
        };
        let (tag, ptr, children): (char, usize, Vec<&Value>) = match v {
            Value::List(a) => ('L', Arc::as_ptr(a) as usize, a.iter().collect()),
            Value::Tuple(a) if !a.is_empty() => ('T', Arc::as_ptr(a) as usize, a.iter().collect()),
            Value::Set(a) => ('S', Arc::as_ptr(a) as usize, a.iter().collect()),
            Value::FrozenSet(a) => ('F', Arc::as_ptr(a) as usize, a.iter().collect()),
            Value::Dict(a) => (
                'D',
                Arc::as_ptr(a) as usize,
                a.iter().flat_map(|(k, v)| [k, v]).collect(),
            ),
            Value::Object(_) => {
                out.push('o');
                continue;
            }
            _ => {
                out.push('.');
                continue;
            }
        };
        if let Some(n) = seen.get(&ptr) {
            write!(out, "@{n}").unwrap();
            continue;
        }
        let n = seen.len();
        seen.insert(ptr, n);
        if let Some(id) = anchor {
            anchors.insert(id, ptr);
        }
        write!(out, "{tag}{n}(").unwrap();
        stack.push(Item::Text(")"));
        for (i, c) in children.into_iter().enumerate().rev() {
            stack.push(Item::V(c));
            if i > 0 {
                stack.push(Item::Text(","));
            }
        }
    }
    out
}

fn expected_type(f: &Fixture) -> &'static str {
    match f.type_name.as_str() {
        "NoneType" => "NoneType",
        "bool" => "bool",
        "int" => "int",
        "float" => "float",
        "str" => "str",
        "bytes" => "bytes",
        "bytearray" => "bytearray",
        "list" => "list",
        "tuple" => "tuple",
        "dict" => "dict",
        "set" => "set",
        "frozenset" => "frozenset",
        "type" | "builtin_function_or_method" | "ellipsis" | "NotImplementedType" => "global",
        _ => "object",
    }
}

#[test]
fn every_fixture_decodes_with_its_type_shape_and_repr() {
    let all = fixtures();
    let mut failures = Vec::new();
    let (mut basic, mut shapes) = (0, 0);
    for f in &all {
        let v = match loads(&f.pickle) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{}: {e}", f.label()));
                continue;
            }
        };
        if v.type_name() != expected_type(f) {
            failures.push(format!(
                "{}: type {} but Python had {}",
                f.label(),
                v.type_name(),
                f.type_name
            ));
        }
        if f.basic {
            basic += 1;
            let got = py_ascii(&v);
            if Some(&got) != f.ascii.as_ref() {
                failures.push(format!("{}: ascii {got} != {:?}", f.label(), f.ascii));
            }
            // Display is Python's repr. Its table of printable characters is Unicode 14
            // (CPython 3.11); newer interpreters print a few more characters unescaped.
            if f.file.contains("3.11") {
                let shown = v.to_string();
                if Some(&shown) != f.repr.as_ref() {
                    failures.push(format!("{}: repr {shown} != {:?}", f.label(), f.repr));
                }
            }
        }
        if let Some(want) = &f.shape {
            shapes += 1;
            let got = shape(&v);
            if &got != want {
                failures.push(format!("{}: shape {got} != {want}", f.label()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        basic > 1000 && shapes > 2500,
        "basic {basic}, shapes {shapes}"
    );
}

#[test]
fn shared_references_are_one_allocation() {
    for p in 0..=5 {
        let v = fixture("shared list", p);
        let Value::List(items) = &v else {
            panic!("p{p}: {v:?}")
        };
        let (Value::List(a), Value::List(b)) = (&items[0], &items[1]) else {
            panic!()
        };
        assert!(Arc::ptr_eq(a, b), "p{p}: [x, x] lost its sharing");

        let v = fixture("shared tuple in dicts", p);
        let Value::List(items) = &v else { panic!() };
        let tuple_of = |d: &Value| match d {
            Value::Dict(pairs) => match &pairs[0].1 {
                Value::Tuple(t) => t.clone(),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        };
        assert!(
            Arc::ptr_eq(&tuple_of(&items[0]), &tuple_of(&items[1])),
            "p{p}"
        );
    }
}

#[test]
fn cycles_become_anchor_and_ref() {
    for p in 0..=5 {
        let v = fixture("cycle list", p);
        let Value::Anchor(id, inner) = &v else {
            panic!("p{p}: {v:?}")
        };
        let Value::List(items) = &**inner else {
            panic!()
        };
        assert!(
            matches!(items[..], [Value::Ref(r)] if r == *id),
            "p{p}: {v:?}"
        );

        let v = fixture("cycle dict", p);
        let Value::Anchor(id, inner) = &v else {
            panic!("p{p}: {v:?}")
        };
        let Value::Dict(pairs) = &**inner else {
            panic!()
        };
        assert!(matches!(&pairs[0], (Value::Str(k), Value::Ref(r)) if k == "self" && r == id));

        // t = ([],); t[0].append(t): the tuple is the anchor, its list refers back to it.
        let v = fixture("cycle tuple", p);
        let Value::Anchor(id, inner) = &v else {
            panic!("p{p}: {v:?}")
        };
        let Value::Tuple(t) = &**inner else { panic!() };
        let Value::List(l) = &t[0] else { panic!() };
        assert!(matches!(l[..], [Value::Ref(r)] if r == *id), "p{p}: {v:?}");
    }
}

#[test]
fn seeds_carry_globals() {
    for p in 0..=5 {
        let v = fixture("seed 1", p);
        let Value::List(items) = &v else { panic!() };
        assert!(matches!(items[0], Value::Float(f) if f == 2.25));
        assert!(matches!(items[1], Value::None));
        assert!(matches!(&items[2], Value::Str(s) if s == "junk"));
        let Value::Global(g) = &items[3] else {
            panic!("p{p}: {:?}", items[3])
        };
        assert_eq!(
            (g.module.as_str(), g.name.as_str()),
            (Some("builtins"), Some("float"))
        );

        let v = fixture("seed 2", p);
        let Value::List(items) = &v else { panic!() };
        let names: Vec<_> = items[3..]
            .iter()
            .map(|g| match g {
                Value::Global(g) => format!("{}.{}", g.module, g.name),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(names, ["builtins.int", "builtins.sum"], "p{p}");
    }
}

#[test]
fn lone_surrogates_are_kept() {
    for p in 0..=5 {
        let Value::Str(s) = fixture("str lone surrogate", p) else {
            panic!()
        };
        assert!(!s.is_utf8());
        assert_eq!(s.code_points().collect::<Vec<_>>(), [0xd800], "p{p}");
    }
}

#[test]
fn reduce_patterns_become_native_values() {
    for p in 0..=5 {
        assert!(
            matches!(fixture("bytes short", p), Value::Bytes(b) if &*b == b"abc"),
            "p{p}"
        );
        assert!(
            matches!(fixture("bytes empty", p), Value::Bytes(b) if b.is_empty()),
            "p{p}"
        );
        let b = fixture("bytes binary", p);
        assert!(
            matches!(&b, Value::Bytes(b) if b.len() == 301 && b[255] == 255),
            "p{p}"
        );
        assert!(matches!(fixture("bytearray", p), Value::ByteArray(b) if *b == b"ab\x00\xff"));
        assert!(matches!(fixture("bytearray empty", p), Value::ByteArray(b) if b.is_empty()));
        assert!(
            matches!(fixture("set", p), Value::Set(s) if s.len() == 3),
            "p{p}"
        );
        assert!(
            matches!(fixture("set empty", p), Value::Set(s) if s.is_empty()),
            "p{p}"
        );
        assert!(matches!(fixture("frozenset", p), Value::FrozenSet(s) if s.len() == 3));
        assert!(matches!(fixture("frozenset empty", p), Value::FrozenSet(s) if s.is_empty()));
    }
}

fn object(v: &Value) -> &mpconn::value::Object {
    match v {
        Value::Object(o) => o,
        other => panic!("not an object: {other:?}"),
    }
}

fn callable_name(o: &mpconn::value::Object) -> String {
    match &o.callable {
        Value::Global(g) => format!("{}.{}", g.module, g.name),
        other => format!("{other:?}"),
    }
}

#[test]
fn objects_keep_their_construction() {
    for p in 0..=5 {
        let v = fixture("datetime", p);
        let o = object(&v);
        assert_eq!(o.construct, Construct::Reduce);
        assert_eq!(callable_name(o), "datetime.datetime");
        assert!(
            matches!(&o.args[0], Value::Bytes(b) if b.len() == 10),
            "p{p}: {:?}",
            o.args
        );

        // Protocols 0-1: copyreg._reconstructor(ListSub, list, [1, 2, 3]);
        // 2+: NEWOBJ then APPENDS onto the object.
        let v = fixture("list subclass", p);
        let o = object(&v);
        if p < 2 {
            assert!(matches!(&o.args[2], Value::List(l) if l.len() == 3), "p{p}");
        } else {
            assert_eq!(o.list_items.len(), 3, "p{p}");
        }

        let v = fixture("ordereddict", p);
        let o = object(&v);
        assert_eq!(callable_name(o), "collections.OrderedDict");
        assert_eq!(o.dict_items.len(), 2, "p{p}: {o:?}");
    }
    for p in 2..=5 {
        let v = fixture("plain object", p);
        let o = object(&v);
        assert_eq!(o.construct, Construct::NewObj);
        assert!(matches!(&o.callable, Value::Global(g) if g.name == "Plain"));
        assert!(matches!(o.state, Some(Value::Dict(_))));
    }
    for p in 4..=5 {
        let v = fixture("newobj_ex object", p);
        let o = object(&v);
        assert_eq!(o.construct, Construct::NewObjEx, "p{p}");
        assert!(matches!(o.kwargs, Some(Value::Dict(ref d)) if d.len() == 1));
    }
    for p in 0..=1 {
        // copyreg._reconstructor stays an object, its class a global.
        let v = fixture("plain object", p);
        assert_eq!(callable_name(object(&v)), "copyreg._reconstructor", "p{p}");
    }
    // A self-referencing object: its state dict refers back to the anchored object.
    let v = fixture("object cycle", 4);
    let Value::Anchor(id, inner) = &v else {
        panic!("{v:?}")
    };
    let Some(Value::Dict(state)) = &object(inner).state else {
        panic!()
    };
    assert!(state
        .iter()
        .any(|(_, v)| matches!(v, Value::Ref(r) if r == id)));
}

#[test]
fn big_values_and_framing() {
    let v = fixture("bytes 64KiB", 4);
    assert!(matches!(v, Value::Bytes(b) if b.len() == 256 * 260));
    let v = fixture("list 100k", 4);
    assert!(matches!(v, Value::List(l) if l.len() == 100_000));
    for p in 0..=5 {
        assert!(matches!(fixture("dict 1200", p), Value::Dict(d) if d.len() == 1200));
    }
}

// ---- hostile inputs

fn kind(data: &[u8]) -> PickleErrorKind {
    loads(data).expect_err("must be refused").kind
}

fn kind_with(data: &[u8], o: &DecodeOptions) -> PickleErrorKind {
    loads_with(data, o).expect_err("must be refused").kind
}

#[test]
fn huge_length_fields_are_eof_not_oom() {
    let mut b = vec![0x80, 4, 0x8e];
    b.extend_from_slice(&(1u64 << 60).to_le_bytes());
    b.extend_from_slice(b"0123456789");
    assert_eq!(kind(&b), PickleErrorKind::UnexpectedEof);
    b[2] = 0x8d; // BINUNICODE8
    assert_eq!(kind(&b), PickleErrorKind::UnexpectedEof);
    b[2] = 0x96; // BYTEARRAY8
    assert_eq!(kind(&b), PickleErrorKind::UnexpectedEof);
    b[2] = 0x95; // FRAME
    assert_eq!(kind(&b), PickleErrorKind::UnexpectedEof);
    let mut b = vec![0x80, 2, 0x8b];
    b.extend_from_slice(&0x7fff_ffffu32.to_le_bytes());
    assert_eq!(kind(&b), PickleErrorKind::UnexpectedEof);
    let mut b = vec![b'X'];
    b.extend_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(kind(&b), PickleErrorKind::UnexpectedEof);
}

/// As `pickle.loads`: bytes after STOP are ignored, STOP takes the top of the stack
/// (values below it and open MARKs are left behind).
#[test]
fn stop_takes_the_top_value_and_ignores_what_follows() {
    assert_eq!(loads(b"N.N").unwrap(), Value::None);
    assert_eq!(loads(b"K\x01K\x02.").unwrap(), Value::Int(2));
    assert_eq!(loads(b"(N.").unwrap(), Value::None);
    assert_eq!(loads(b"]K\x01.").unwrap(), Value::Int(1));
    // The example of issue 14: CPython loads it as [(100,), (100,)].
    let v = loads(b"((Kdtp0\nh\x00l.))").unwrap();
    assert_eq!(v.to_string(), "[(100,), (100,)]");
}

#[test]
fn mark_bombs_are_refused() {
    let mut b = vec![b'('; 1_000_000];
    b.extend_from_slice(b".");
    assert!(matches!(kind(&b), PickleErrorKind::BadStop(_)));
    b.pop();
    b.extend_from_slice(b"N.");
    // CPython returns None here; only the allocation budget refuses it.
    assert_eq!(loads(&b).unwrap(), Value::None);
    let mut o = DecodeOptions::default();
    o.max_alloc = 1 << 20;
    assert!(matches!(kind_with(&b, &o), PickleErrorKind::AllocLimit(_)));
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    // 1M nested lists: EMPTY_LIST × n then APPEND × (n-1).
    let n = 1_000_000;
    let mut b = vec![0x80, 2];
    b.extend(std::iter::repeat(b']').take(n));
    b.extend(std::iter::repeat(b'a').take(n - 1));
    b.push(b'.');
    assert_eq!(kind(&b), PickleErrorKind::TooDeep(10_000));
    // 1M nested MARK ... LIST.
    let mut b = vec![b'('; n];
    b.extend(std::iter::repeat(b'l').take(n));
    b.push(b'.');
    assert_eq!(kind(&b), PickleErrorKind::TooDeep(10_000));
    // Nested 1-tuples: ((((),),),)
    let mut b = vec![b')'];
    b.extend(std::iter::repeat(0x85).take(n));
    b.push(b'.');
    assert_eq!(kind(&b), PickleErrorKind::TooDeep(10_000));
    // Within the limit it decodes.
    let mut b = vec![0x80, 2];
    b.extend(std::iter::repeat(b']').take(1000));
    b.extend(std::iter::repeat(b'a').take(999));
    b.push(b'.');
    assert!(loads(&b).is_ok());
}

#[test]
fn default_depth_limit_value_can_be_dropped() {
    // The deepest value the defaults allow must also drop (Value's drop is recursive)
    // without overflowing a main-thread-sized stack (8 MiB). Measured: a debug build
    // needs about 300 bytes of stack per level, a release build under 50 (40 000 levels
    // drop on a 2 MiB thread).
    let n = 10_000;
    let mut b = vec![0x80, 2];
    b.extend(std::iter::repeat(b']').take(n));
    b.extend(std::iter::repeat(b'a').take(n - 1));
    b.push(b'.');
    let r = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || {
            let v = loads(&b).unwrap();
            drop(v);
        })
        .unwrap()
        .join();
    assert!(r.is_ok());
}

#[test]
fn memo_indices_and_limits() {
    // GET of an index never stored, text and binary, including past 2^32.
    assert_eq!(
        kind(b"g4294967296\n."),
        PickleErrorKind::MissingMemo(1 << 32)
    );
    assert_eq!(kind(b"h\x05."), PickleErrorKind::MissingMemo(5));
    assert_eq!(
        kind(b"j\xff\xff\xff\xff."),
        PickleErrorKind::MissingMemo(u32::MAX as u64)
    );
    // A huge index is stored sparsely, not by growing a vector.
    let v = loads(b"Np4294967296\n0g4294967296\n.").unwrap();
    assert!(matches!(v, Value::None));
    let v = loads(b"Nr\xff\xff\xff\xff0j\xff\xff\xff\xff.").unwrap();
    assert!(matches!(v, Value::None));
    assert!(matches!(kind(b"Np-1\n."), PickleErrorKind::BadArgument(_)));
    // max_memo.
    let mut o = DecodeOptions::default();
    o.max_memo = 10;
    let mut b = vec![0x80, 4, b']'];
    for _ in 0..11 {
        b.extend_from_slice(&[b'N', 0x94, b'0']);
    }
    b.push(b'.');
    assert_eq!(kind_with(&b, &o), PickleErrorKind::MemoLimit(10));
    assert!(loads(&b).is_ok());
}

#[test]
fn alloc_limit_counts_what_short_opcodes_build() {
    // One 1 KiB string appended 10 000 times through the memo: 10 000 slots.
    let mut b = vec![0x80, 4, b']', 0x94, b'('];
    b.push(b'X');
    b.extend_from_slice(&1024u32.to_le_bytes());
    b.extend(std::iter::repeat(b'x').take(1024));
    b.push(0x94);
    for _ in 0..10_000 {
        b.extend_from_slice(b"h\x01");
    }
    b.extend_from_slice(b"e.");
    let mut o = DecodeOptions::default();
    o.max_alloc = 64 * 1024;
    assert!(matches!(kind_with(&b, &o), PickleErrorKind::AllocLimit(_)));
    let Value::List(l) = loads(&b).unwrap() else {
        panic!()
    };
    assert_eq!(l.len(), 10_001);
}

#[test]
fn malformed_inputs_are_typed_errors() {
    use PickleErrorKind::*;
    assert_eq!(kind(b""), UnexpectedEof);
    assert_eq!(kind(b"N"), UnexpectedEof);
    assert_eq!(kind(b"\xff"), UnknownOpcode(0xff));
    assert_eq!(kind(b"\x80\x06N."), UnsupportedProtocol(6));
    assert_eq!(kind(b"0."), StackUnderflow);
    assert_eq!(kind(b"a."), StackUnderflow);
    assert_eq!(kind(b"(N\x86."), StackUnderflow);
    assert!(matches!(kind(b"K\x01K\x02a."), WrongType(_)));
    assert!(matches!(kind(b"}(K\x01u."), BadArgument(_)));
    assert!(matches!(kind(b"."), BadStop(_)));
    assert!(matches!(kind(b"(."), BadStop(_)));
    assert!(matches!(kind(b"N(."), BadStop(_)));
    assert!(matches!(kind(b"X\x01\x00\x00\x00\xff."), BadArgument(_)));
    assert!(matches!(kind(b"Iabc\n."), BadArgument(_)));
    assert!(matches!(kind(b"Fx\n."), BadArgument(_)));
    assert!(matches!(kind(b"S'abc\n."), BadArgument(_)));
    assert!(matches!(kind(b"V\\u12\n."), BadArgument(_)));
    assert!(matches!(kind(b"\x82\x01."), BadArgument(_)));
    assert!(matches!(kind(b"Pid\n."), BadArgument(_)));
    assert_eq!(kind(b"\x80\x05\x97."), OutOfBandBuffer);
    assert!(matches!(kind(b"NN\x93."), WrongType(_)));
    assert!(matches!(kind(b"NNR."), WrongType(_)));
    assert!(matches!(kind(b"N}b."), WrongType(_)));
    // The error says where: the offset of the failing opcode.
    assert_eq!(loads(b"NNN\xff").unwrap_err().offset, 3);
}

#[test]
fn protocol_zero_text_opcodes() {
    let v = loads(
        b"(I01\nI00\nI-12\nL123456789012345678901234567890L\nF1e+16\nS'a\\'b'\nVx\\u20ac\\U0001f40d\nt.",
    )
    .unwrap();
    let Value::Tuple(t) = v else { panic!() };
    assert!(matches!(t[0], Value::Bool(true)));
    assert!(matches!(t[1], Value::Bool(false)));
    assert!(matches!(t[2], Value::Int(-12)));
    assert_eq!(py_ascii(&t[3]), "123456789012345678901234567890");
    assert!(matches!(t[4], Value::Float(f) if f == 1e16));
    assert!(matches!(&t[5], Value::Str(s) if s == "a'b"));
    assert!(matches!(&t[6], Value::Str(s) if s == "x€🐍"));
}

/// Deterministic pseudo-random numbers for the corruption test.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn truncated_and_corrupted_fixtures_never_panic() {
    let mut rng = Lcg(7);
    let mut o = DecodeOptions::default();
    o.max_alloc = 64 << 20;
    for f in fixtures()
        .iter()
        .filter(|f| f.file == "3.11.json" && f.pickle.len() < 3000)
    {
        for cut in 0..f.pickle.len() {
            assert!(
                loads_with(&f.pickle[..cut], &o).is_err(),
                "{} cut at {cut}",
                f.label()
            );
        }
        for _ in 0..20 {
            let mut b = f.pickle.clone();
            let i = rng.next() as usize % b.len();
            b[i] = rng.next() as u8;
            let _ = loads_with(&b, &o);
        }
    }
}

#[test]
fn cycle_members_referenced_from_outside_keep_their_identity() {
    // nodes[i] = {'parent': nodes[i-1], 'children': [nodes[i+1]]}: each node is on a cycle
    // with its parent and is also listed at the top. The shape check in
    // `every_fixture_decodes_with_its_type_shape_and_repr` compares identities with
    // CPython's; here: every listed node is a dict with both keys.
    for p in 0..=5 {
        let v = fixture("parent chain", p);
        let Value::List(items) = &v else { panic!() };
        assert_eq!(items.len(), 100);
        for (i, node) in items.iter().enumerate() {
            let Value::Dict(d) = node.unanchored() else {
                panic!("p{p} node {i}: {node:?}")
            };
            assert_eq!(d.len(), 2);
        }
    }
}
