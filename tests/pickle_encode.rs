//! The encoder against CPython: byte-identical `pickle.dumps` output, and loads in every
//! interpreter with identity and cycles kept.
//!
//! `fixtures/dumps/<X.Y>.json` holds what CPython X.Y's `pickle.dumps(value, protocol)`
//! wrote for a catalogue of values, with a structural description of each value read back
//! from CPython's own opcode stream (see `python_interop/record_dumps.py`). Each record is
//! rebuilt as a [`Value`] (sharing the same `Arc`s where CPython's memo shares an object)
//! and must encode to exactly CPython's bytes.

#[path = "common/cpython.rs"]
mod cpython;

use cpython::interpreters;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use mpconn::pickle::{dumps_with, EncodeOptions};
use mpconn::value::{Construct, Global, Object, PyStr};
use mpconn::Value;
use num_bigint::BigInt;
use serde_json::Value as J;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/dumps")
}

/// Undoes `packed_hex`: hex where "(XX*N)" stands for N bytes XX.
fn unpack_hex(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len() / 2);
    let mut i = 0;
    let hex = |x: &[u8]| u8::from_str_radix(std::str::from_utf8(x).unwrap(), 16).unwrap();
    while i < b.len() {
        if b[i] == b'(' {
            let end = i + s[i..].find(')').unwrap();
            let byte = hex(&b[i + 1..i + 3]);
            let n: usize = s[i + 4..end].parse().unwrap();
            out.extend(std::iter::repeat(byte).take(n));
            i = end + 1;
        } else {
            out.push(hex(&b[i..i + 2]));
            i += 2;
        }
    }
    out
}

/// Builds the [`Value`] a record describes; `ids` maps description ids to values built so
/// far, so that `["ref", id]` shares the very same `Arc`.
fn build(j: &J, ids: &mut HashMap<u64, Value>) -> Value {
    if let Some(n) = j.as_i64() {
        return Value::Int(n);
    }
    let a = j.as_array().expect("description is a list");
    let tag = a[0].as_str().unwrap();
    let id = || a[1].as_u64().unwrap();
    let items = |x: &J, ids: &mut HashMap<u64, Value>| -> Vec<Value> {
        x.as_array()
            .unwrap()
            .iter()
            .map(|i| build(i, ids))
            .collect()
    };
    let pairs = |x: &J, ids: &mut HashMap<u64, Value>| -> Vec<(Value, Value)> {
        x.as_array()
            .unwrap()
            .iter()
            .map(|p| (build(&p[0], ids), build(&p[1], ids)))
            .collect()
    };
    let v = match tag {
        "none" => return Value::None,
        "bool" => return Value::Bool(a[1].as_bool().unwrap()),
        "int" => return Value::int(a[1].as_str().unwrap().parse::<BigInt>().unwrap()),
        "float" => {
            return Value::Float(f64::from_bits(
                u64::from_str_radix(a[1].as_str().unwrap(), 16).unwrap(),
            ))
        }
        "ref" => return ids[&id()].clone(),
        "aref" => return Value::Ref(id() as u32),
        "anchor" => return Value::Anchor(id() as u32, Box::new(build(&a[2], ids))),
        "str" => Value::Str(PyStr::from(a[2].as_str().unwrap())),
        "strx" => {
            Value::Str(PyStr::from_surrogatepass(&unpack_hex(a[2].as_str().unwrap())).unwrap())
        }
        "strrep" => Value::Str(PyStr::from(
            a[2].as_str()
                .unwrap()
                .repeat(a[3].as_u64().unwrap() as usize),
        )),
        "bytes" => Value::bytes(&unpack_hex(a[2].as_str().unwrap())),
        "bytearray" => Value::ByteArray(Arc::new(unpack_hex(a[2].as_str().unwrap()))),
        "list" => Value::list(items(&a[2], ids)),
        "tuple" => Value::tuple(items(&a[2], ids)),
        "set" => Value::set(items(&a[2], ids)),
        "frozenset" => Value::frozenset(items(&a[2], ids)),
        "dict" => Value::dict(pairs(&a[2], ids)),
        "global" => {
            let s = |v: Value| match v {
                Value::Str(s) => s,
                other => panic!("global part is not a str: {other:?}"),
            };
            let module = s(build(&a[2], ids));
            let name = s(build(&a[3], ids));
            Value::Global(Arc::new(Global {
                module,
                name,
                form: mpconn::value::GlobalForm::Usual,
            }))
        }
        "object" => {
            let construct = match a[2].as_str().unwrap() {
                "Reduce" => Construct::Reduce,
                "NewObj" => Construct::NewObj,
                "NewObjEx" => Construct::NewObjEx,
                other => panic!("construct {other}"),
            };
            let callable = build(&a[3], ids);
            let args = items(&a[4], ids);
            let kwargs = (!a[5].is_null()).then(|| build(&a[5], ids));
            let state = (!a[6].is_null()).then(|| build(&a[6], ids));
            let mut o = Object::reduce(callable, args);
            o.construct = construct;
            o.kwargs = kwargs;
            o.state = state;
            o.list_items = items(&a[7], ids);
            o.dict_items = pairs(&a[8], ids);
            Value::Object(Arc::new(o))
        }
        other => panic!("unknown description tag {other}"),
    };
    ids.insert(id(), v.clone());
    v
}

/// Opcode-level hint for a mismatch: where the bytes part, and pickletools' view of both
/// around there when python3 is at hand.
fn diff_hint(ours: &[u8], theirs: &[u8]) -> String {
    let at = ours
        .iter()
        .zip(theirs)
        .position(|(a, b)| a != b)
        .unwrap_or(ours.len().min(theirs.len()));
    let lo = at.saturating_sub(24);
    let win = |b: &[u8]| {
        b[lo.min(b.len())..(at + 24).min(b.len())]
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<String>()
    };
    let mut s = format!(
        "first difference at byte {at} (lengths ours {} / CPython {})\n  ours    [{lo}..]: {}\n  CPython [{lo}..]: {}\n",
        ours.len(),
        theirs.len(),
        win(ours),
        win(theirs)
    );
    for (who, data) in [("ours", ours), ("CPython", theirs)] {
        let script = format!(
            "import pickletools,sys\nd=bytes.fromhex(sys.stdin.read())\nfor op,arg,pos in pickletools.genops(d):\n    if {lo}-40 <= pos <= {at}+40: print(pos, op.name, repr(arg)[:40])"
        );
        if let Ok(out) = run_python("python3", &script, &hex(data)) {
            s.push_str(&format!("  {who} opcodes near there:\n{out}"));
        }
    }
    s
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn run_python(python: &str, script: &str, stdin: &str) -> std::io::Result<String> {
    use std::io::Write;
    let mut child = Command::new(python)
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    child.stdin.take().unwrap().write_all(stdin.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(std::io::Error::other(
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

struct Record {
    literal: String,
    protocol: u8,
    pickle: Vec<u8>,
    value: J,
}

fn load_fixture(version: &str) -> Vec<Record> {
    let path = fixtures_dir().join(format!("{version}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let j: J = serde_json::from_str(&text).unwrap();
    j["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| Record {
            literal: r["literal"].as_str().unwrap().to_owned(),
            protocol: r["protocol"].as_u64().unwrap() as u8,
            pickle: unpack_hex(r["pickle"].as_str().unwrap()),
            value: r["value"].clone(),
        })
        .collect()
}

/// Encodes every record of one interpreter's fixture and compares with CPython's bytes.
/// `known` lists (literal, protocol) pairs where that interpreter deliberately differs from
/// 3.8–3.14 (what we write); they must then equal the 3.11 bytes.
fn check_version(version: &str) {
    let records = load_fixture(version);
    let baseline: HashMap<(String, u8), Vec<u8>> = load_fixture("3.11")
        .into_iter()
        .map(|r| ((r.literal, r.protocol), r.pickle))
        .collect();
    assert!(records.len() > 400, "catalogue unexpectedly small");
    let mut failures = Vec::new();
    let mut known = Vec::new();
    for r in &records {
        let value = build(&r.value, &mut HashMap::new());
        let ours = match dumps_with(&value, &EncodeOptions::protocol(r.protocol)) {
            Ok(b) => b,
            Err(e) => {
                failures.push(format!(
                    "{} (protocol {}): encode error {e}",
                    r.literal, r.protocol
                ));
                continue;
            }
        };
        if ours == r.pickle {
            continue;
        }
        if baseline.get(&(r.literal.clone(), r.protocol)) == Some(&ours) {
            known.push(format!("{} (protocol {})", r.literal, r.protocol));
            continue;
        }
        failures.push(format!(
            "{} (protocol {}):\n{}",
            r.literal,
            r.protocol,
            diff_hint(&ours, &r.pickle)
        ));
    }
    if !known.is_empty() {
        eprintln!(
            "CPython {version} differs from 3.8-3.14 (we write the older form) for {} records: {:?}",
            known.len(),
            known
        );
    }
    assert!(
        failures.is_empty(),
        "CPython {version}: {} of {} records differ:\n{}",
        failures.len(),
        records.len(),
        failures
            .iter()
            .take(6)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn encodes_byte_identical_to_cpython_3_11() {
    check_version("3.11");
}

#[test]
fn encodes_byte_identical_to_cpython_3_13() {
    check_version("3.13");
}

#[test]
fn encodes_byte_identical_to_cpython_3_14() {
    check_version("3.14");
}

#[test]
fn encodes_like_cpython_3_15_except_its_new_list_batching() {
    check_version("3.15");
}

// ----- round trip through every interpreter ---------------------------------------------

fn s(text: &str) -> Value {
    Value::Str(PyStr::from(text))
}

/// Values our encoder must get across with their identity structure, each with a Python
/// expression (over the loaded `v`) that must be True.
fn round_trip_cases() -> Vec<(Value, &'static str)> {
    let shared_list = Value::list(vec![Value::Int(1)]);
    let shared_tuple = Value::tuple(vec![Value::Int(1), Value::Int(2)]);
    let shared_str = s("shared string");
    let datetime = Value::Object(Arc::new(Object::reduce(
        Value::global("datetime", "datetime"),
        vec![Value::bytes(b"\x07\xe8\x01\x02\x03\x04\x05\x00\x00\x07")],
    )));
    let mut odict = Object::reduce(Value::global("collections", "OrderedDict"), vec![]);
    odict.dict_items = vec![(s("b"), Value::Int(2)), (s("a"), Value::Int(1))];
    let mut namespace = Object::reduce(Value::global("argparse", "Namespace"), vec![]);
    namespace.construct = Construct::NewObj;
    namespace.state = Some(Value::dict(vec![(s("a"), Value::Int(1))]));
    let mut newobj_ex = Object::reduce(Value::global("builtins", "object"), vec![]);
    newobj_ex.construct = Construct::NewObjEx;
    let mut deque = Object::reduce(Value::global("collections", "deque"), vec![]);
    deque.list_items = (0..1001).map(Value::Int).collect();
    let big = Value::int(BigInt::from(1) << 200u32);
    let mut selfish = Object::reduce(Value::global("argparse", "Namespace"), vec![]);
    selfish.construct = Construct::NewObj;
    selfish.state = Some(Value::dict(vec![(s("me"), Value::Ref(5))]));
    let selfish = Value::Anchor(5, Box::new(Value::Object(Arc::new(selfish))));
    let mut odict_cycle = Object::reduce(Value::global("collections", "OrderedDict"), vec![]);
    odict_cycle.dict_items = vec![(s("me"), Value::Ref(6))];
    let odict_cycle = Value::Anchor(6, Box::new(Value::Object(Arc::new(odict_cycle))));
    vec![
        (Value::list(vec![shared_list.clone(), shared_list]), "v == [[1], [1]] and v[0] is v[1]"),
        (
            Value::list(vec![
                Value::dict(vec![(s("k"), shared_tuple.clone())]),
                Value::dict(vec![(s("k"), shared_tuple)]),
            ]),
            "v[0]['k'] == (1, 2) and v[0]['k'] is v[1]['k']",
        ),
        (Value::list(vec![shared_str.clone(), shared_str]), "v[0] == 'shared string' and v[0] is v[1]"),
        (Value::Anchor(1, Box::new(Value::list(vec![Value::Ref(1)]))), "v[0] is v and len(v) == 1"),
        (
            Value::Anchor(2, Box::new(Value::dict(vec![(s("self"), Value::Ref(2))]))),
            "v['self'] is v",
        ),
        (
            Value::Anchor(3, Box::new(Value::tuple(vec![Value::list(vec![Value::Ref(3)])]))),
            "type(v) is tuple and v[0][0] is v",
        ),
        (datetime, "v == __import__('datetime').datetime(2024, 1, 2, 3, 4, 5, 7)"),
        (
            Value::Object(Arc::new(odict)),
            "type(v).__name__ == 'OrderedDict' and list(v.items()) == [('b', 2), ('a', 1)]",
        ),
        (Value::Object(Arc::new(namespace)), "type(v).__name__ == 'Namespace' and v.a == 1"),
        (Value::Object(Arc::new(newobj_ex)), "type(v) is object"),
        (selfish, "type(v).__name__ == 'Namespace' and v.me is v"),
        (odict_cycle, "type(v).__name__ == 'OrderedDict' and v['me'] is v"),
        (Value::Object(Arc::new(deque)), "type(v).__name__ == 'deque' and list(v) == list(range(1001))"),
        (
            Value::Object(Arc::new(Object::reduce(
                Value::global("builtins", "complex"),
                vec![Value::Float(1.5), Value::Float(2.0)],
            ))),
            "v == 1.5+2j",
        ),
        (
            Value::global("collections", "OrderedDict.fromkeys"),
            "v == __import__('collections').OrderedDict.fromkeys",
        ),
        (
            Value::list(vec![
                Value::global("builtins", "float"),
                Value::global("builtins", "sum"),
                Value::global("builtins", "int"),
            ]),
            "v == [float, sum, int]",
        ),
        (
            Value::list(vec![
                Value::bytes(b"\x00\xff"),
                Value::ByteArray(Arc::new(b"ab".to_vec())),
                Value::set(vec![Value::Int(1), Value::Int(2)]),
                Value::frozenset(vec![s("x")]),
                big,
                Value::Float(f64::NAN),
                Value::Str(PyStr::from_code_points([0x61, 0xd800]).unwrap()),
                Value::Int(-1 << 40),
            ]),
            "v[:5] == [b'\\x00\\xff', bytearray(b'ab'), {1, 2}, frozenset({'x'}), 2**200] \
             and type(v[3]) is frozenset and v[5] != v[5] and v[6] == 'a\\ud800' and v[7] == -2**40",
        ),
    ]
}

const LOADER: &str = r#"
import pickle, sys
checks = sys.stdin.read().splitlines()
with open(sys.argv[1], 'rb') as f:
    for check in checks:
        v = pickle.load(f)
        try:
            ok = eval(check)
        except Exception as e:
            ok = 'error %r' % e
        print('ok' if ok is True else 'FAIL %s: %r' % (check, v))
"#;

#[test]
fn every_interpreter_loads_our_pickles_with_identity_and_cycles() {
    let cases = round_trip_cases();
    let checks: String = cases.iter().map(|(_, c)| format!("{c}\n")).collect();
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for protocol in 2..=5u8 {
        let mut data = Vec::new();
        for (v, _) in &cases {
            data.extend(dumps_with(v, &EncodeOptions::protocol(protocol)).unwrap());
        }
        let path = dir.path().join(format!("p{protocol}.pickle"));
        std::fs::write(&path, &data).unwrap();
        for python in interpreters() {
            let script = LOADER.replace("sys.argv[1]", &format!("{:?}", path.to_str().unwrap()));
            let out = run_python(&python, &script, &checks)
                .unwrap_or_else(|e| panic!("{python} protocol {protocol}: {e}"));
            for line in out.lines().filter(|l| *l != "ok") {
                failures.push(format!("{python} protocol {protocol}: {line}"));
            }
            assert_eq!(out.lines().count(), cases.len(), "{python}: {out}");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn protocols_other_than_2_to_5_are_refused() {
    for p in [0u8, 1, 6] {
        assert!(dumps_with(&Value::None, &EncodeOptions::protocol(p)).is_err());
    }
}

#[test]
fn a_ref_outside_its_anchor_is_an_error() {
    let err = dumps_with(&Value::list(vec![Value::Ref(7)]), &EncodeOptions::default()).unwrap_err();
    assert!(err.to_string().contains("Ref(7)"), "{err}");
}

#[test]
fn an_object_built_from_itself_is_an_error_not_a_hang() {
    let o = Object::reduce(Value::global("builtins", "list"), vec![Value::Ref(1)]);
    let v = Value::Anchor(1, Box::new(Value::Object(Arc::new(o))));
    assert!(dumps_with(&v, &EncodeOptions::default()).is_err());
}

/// A chain of `depth` single-item lists around an int.
fn nested(depth: usize) -> Value {
    let mut v = Value::Int(1);
    for _ in 0..depth {
        v = Value::list(vec![v]);
    }
    v
}

#[test]
fn too_deep_nesting_is_an_error_not_a_stack_overflow() {
    let v = nested(200_001);
    let r = dumps_with(&v, &EncodeOptions::default());
    assert!(
        matches!(&r, Err(e) if e.to_string().contains("nesting deeper")),
        "{r:?}"
    );
    // Value's Drop is iterative: a chain this deep drops on a test thread.
    drop(v);
}

#[test]
fn nesting_of_20000_levels_encodes_on_a_default_test_thread() {
    // Deeper than CPython 3.11-3.14 can pickle; 3.15 can, and our decoder accepts 10 000.
    let v = nested(20_000);
    let data = dumps_with(&v, &EncodeOptions::default()).unwrap();
    drop(v);
    // PROTO 4, then per level EMPTY_LIST MEMOIZE ... APPEND, the int, STOP; one FRAME
    // header per 64 KiB.
    let body: usize = 20_000 * 3 + 2 + 1;
    assert_eq!(data.len(), 2 + body + 9 * body.div_ceil(64 * 1024));
    let python3 = run_python(
        "python3",
        "import pickle,sys\nv=pickle.loads(bytes.fromhex(sys.stdin.read()))\nn=0\nwhile isinstance(v,list): v=v[0]; n+=1\nprint(n, v)",
        &hex(&data),
    )
    .unwrap();
    assert_eq!(python3.trim(), "20000 1");
}
