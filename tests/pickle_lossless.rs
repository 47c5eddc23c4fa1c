//! Lossless pickles: what cloudpickle and dill write (recorded from CPython 3.11 and 3.14
//! into `fixtures/lossless/` by `python_interop/peers/lossless_client.py record`) decodes
//! into a `Value` that keeps every effect the pickle performs, and encodes back to the same
//! bytes. Hand-written pickles pin down the effects model itself (`value/effects.rs`).
//!
//! That the re-encoded pickles *behave* as the originals in CPython (call the function,
//! instantiate the class, ...) is checked by `python_interop/test_lossless.py` on every
//! interpreter.

use std::path::PathBuf;

use mpconn::pickle::{dumps_with, loads, PickleErrorKind};
use mpconn::value::{Effect, Value};
use mpconn::EncodeOptions;

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/lossless");
    let mut out = Vec::new();
    for dir in std::fs::read_dir(&root).expect("fixtures/lossless") {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue; // README.md
        }
        for file in std::fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_some_and(|e| e == "pkl") {
                let name = format!(
                    "{}/{}",
                    dir.file_name().unwrap().to_string_lossy(),
                    path.file_name().unwrap().to_string_lossy()
                );
                out.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    assert!(
        out.len() > 200,
        "fixtures/lossless holds {} pickles",
        out.len()
    );
    out
}

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/lossless")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn protocol_of(data: &[u8]) -> u8 {
    match data {
        [0x80, p, ..] => (*p).clamp(2, 5),
        _ => 2,
    }
}

fn recode(data: &[u8]) -> Vec<u8> {
    let v = loads(data).unwrap();
    dumps_with(&v, &EncodeOptions::protocol(protocol_of(data))).unwrap()
}

/// Every step of every `Effects` in `v`, depth first.
fn steps(v: &Value) -> Vec<Effect> {
    let mut out = Vec::new();
    let mut work = vec![v.clone()];
    while let Some(v) = work.pop() {
        match v {
            Value::Effects(e) => {
                out.extend(e.steps.iter().cloned());
                work.push(e.target.clone());
                work.extend(e.step_values().cloned());
            }
            Value::List(x) | Value::Tuple(x) | Value::Set(x) | Value::FrozenSet(x) => {
                work.extend(x.iter().cloned())
            }
            Value::Dict(d) => work.extend(d.iter().flat_map(|(k, v)| [k.clone(), v.clone()])),
            Value::Object(o) => {
                work.push(o.callable.clone());
                work.extend(o.args.iter().cloned());
                work.extend(o.kwargs.iter().cloned());
                work.extend(o.state.iter().cloned());
                work.extend(o.list_items.iter().cloned());
                work.extend(
                    o.dict_items
                        .iter()
                        .flat_map(|(k, v)| [k.clone(), v.clone()]),
                );
            }
            Value::Anchor(_, inner) => work.push(*inner),
            _ => {}
        }
    }
    out
}

/// What cannot come back byte for byte, and why (also in README "Fidelity").
fn expected_outcome(name: &str) -> &'static str {
    if name.contains("enum.dill") {
        // dill 0.4.1 cannot pickle a dynamic Enum: it writes a class-creating call whose
        // result is thrown away before anything else exists (CPython fails to load it).
        "unrepresentable"
    } else {
        "identical"
    }
}

#[test]
fn cloudpickle_and_dill_pickles_re_encode_to_the_same_bytes() {
    let mut identical = 0;
    let mut total = 0;
    for (name, data) in fixtures() {
        total += 1;
        match expected_outcome(&name) {
            "identical" => {
                let out = recode(&data);
                assert!(
                    out == data,
                    "{name}: re-encoded {} bytes differ from CPython's {}",
                    out.len(),
                    data.len()
                );
                identical += 1;
            }
            _ => {
                let e = loads(&data).unwrap_err();
                assert!(
                    matches!(e.kind, PickleErrorKind::Unrepresentable(_)),
                    "{name}: {e}"
                );
            }
        }
    }
    assert!(identical * 100 >= total * 96, "{identical} of {total}");
}

#[test]
fn cloudpickle_functions_keep_their_state_setter_call() {
    let v = loads(&fixture("py3.11/closure.cloudpickle-p5.pkl")).unwrap();
    let Value::Effects(e) = &v else {
        panic!("expected effects, got {v}")
    };
    let [Effect::SetState {
        state_setter,
        state,
    }] = e.steps.as_slice()
    else {
        panic!("{:?}", e.steps)
    };
    assert_eq!(
        *state_setter,
        Value::global("cloudpickle.cloudpickle", "_function_setstate")
    );
    // (state, slotstate): the closure's cell values travel in slotstate['__closure__'].
    assert!(state.to_string().contains("'__closure__'"), "{state}");
    // Accessors look through the effects to the function object.
    assert_eq!(v.type_name(), "object");
}

#[test]
fn dill_closures_keep_their_discarded_setattr_calls() {
    let v = loads(&fixture("py3.11/closure.dill.pkl")).unwrap();
    let discarded: Vec<String> = steps(&v)
        .iter()
        .filter_map(|s| match s {
            Effect::Discard(call) => Some(call.to_string()),
            _ => None,
        })
        .collect();
    assert!(
        discarded.iter().any(|c| c.contains("'cell_contents'")),
        "{discarded:?}"
    );
}

#[test]
fn dill_recursive_functions_keep_their_late_globals() {
    // dill passes the globals dict to _create_function empty and fills it afterwards
    // (`GET globals 'factorial' GET function SETITEM POP`).
    let v = loads(&fixture("py3.11/recursive.dill-recurse.pkl")).unwrap();
    let late: Vec<Effect> = steps(&v)
        .into_iter()
        .filter(|s| matches!(s, Effect::SetItems { .. }))
        .collect();
    assert_eq!(late.len(), 1, "{v}");
    let Effect::SetItems { pairs, marked } = &late[0] else {
        unreachable!()
    };
    assert!(!marked);
    assert_eq!(pairs[0].0, "factorial");
}

#[test]
fn a_container_filled_through_the_memo_is_filled_at_that_point() {
    // ({}, []) where the dict gets {1: 2} only after the list exists:
    // EMPTY_DICT MEMOIZE EMPTY_LIST MEMOIZE BINGET 0 1 2 SETITEM POP TUPLE2.
    let data = b"\x80\x04}\x94]\x94h\x00K\x01K\x02s0\x86.";
    let v = loads(data).unwrap();
    assert_eq!(v.to_string(), "({}, ([] then: ({} then: [1] = 2)))");
    let out = dumps_with(&v, &EncodeOptions::protocol(4)).unwrap();
    // The same opcodes, in a frame (and the tuple memoized, as CPython's pickler does).
    assert_eq!(&out[11..out.len() - 2], &data[2..data.len() - 1]);
    assert_eq!(loads(&out).unwrap(), v);
}

#[test]
fn a_second_build_is_kept_in_order() {
    let data = b"\x80\x04cbuiltins\nobject\n)\x81}\x94b}\x94b.";
    let v = loads(data).unwrap();
    assert_eq!(
        v.to_string(),
        "(builtins.object.__new__(builtins.object) state={} then: .__setstate__({}))"
    );
    assert_eq!(recode(&recode(data)), recode(data));
}

#[test]
fn a_call_made_for_its_effect_follows_the_value_below_it() {
    let data = b"\x80\x04K\x07cbuiltins\nprint\n)R0.";
    let v = loads(data).unwrap();
    assert_eq!(v.to_string(), "(7 then: builtins.print())");
    assert_eq!(v, loads(&recode(data)).unwrap());
    // Python-like accessors and serde see the value itself.
    assert_eq!(v.as_i64(), Some(7));
    assert_eq!(mpconn::from_value::<i64>(v.clone()).unwrap(), 7);
    // [7] where the 7 is followed by a discarded call.
    let list = loads(b"\x80\x04]\x94K\x07cbuiltins\nprint\n)R0a.").unwrap();
    assert_eq!(list.to_string(), "[(7 then: builtins.print())]");
    assert_eq!(list[0], 7);
    assert_eq!(mpconn::from_value::<Vec<i64>>(list).unwrap(), vec![7]);
    // With nothing below it, it cannot be placed: refused, never dropped.
    let e = loads(b"\x80\x04cbuiltins\nlen\n)R0N.").unwrap_err();
    assert!(matches!(e.kind, PickleErrorKind::Unrepresentable(_)), "{e}");
}

#[test]
fn what_cpython_can_never_call_is_refused() {
    for data in [
        &b"N)R."[..],
        b"K\x01)R.",
        b"\x80\x02]\x94)\x81.",
        b"\x80\x02X\x01\x00\x00\x00a)R.",
    ] {
        let e = loads(data).unwrap_err();
        assert!(
            matches!(e.kind, PickleErrorKind::WrongType(_)),
            "{data:?}: {e}"
        );
    }
}

/// Found by `fuzz/pickle_roundtrip`: items added through a memo GET to a list whose first
/// place in the value is that GET (its own slot was left below the result) belong to the
/// list as first built: decode → encode → decode is a fixpoint.
#[test]
fn fuzz_regression_items_added_where_the_container_first_appears_are_its_own() {
    // EMPTY_LIST BINPUT 0 BINGET 0 NEWTRUE BINPUT 1 APPEND STOP (protocol 2).
    let data = b"\x80\x02]q\x00h\x00\x88q\x01a.";
    let v = loads(data).unwrap();
    assert_eq!(v.to_string(), "[True]");
    for protocol in 2..=5 {
        let out = dumps_with(&v, &EncodeOptions::protocol(protocol)).unwrap();
        assert_eq!(
            loads(&out).unwrap().to_string(),
            "[True]",
            "protocol {protocol}"
        );
    }
}

/// CPython writes a method of a class as `getattr(cls, 'name')` at every protocol
/// (`pickle.dumps(str.index, 4)` from 3.11 here): it reads as the global
/// `builtins.str.index` and, at protocols 4-5, is written back as the same call, byte for
/// byte.
#[test]
fn methods_written_with_getattr_come_back_byte_for_byte() {
    let hex = concat!(
        "80049537000000000000008c086275696c74696e73948c07676574617474729493948c08",
        "6275696c74696e73948c037374729493948c05696e64657894869452942e"
    );
    let data: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let v = loads(&data).unwrap();
    assert_eq!(v, Value::global("builtins", "str.index"));
    assert_eq!(recode(&data), data);
}

/// Pickles CPython 3.11 writes for a list / dict / set subclass or a set that holds an
/// instance whose attribute is that collection: `test.pickletester`'s
/// `test_recursive_{list,dict}_subclass_and_inst` (protocol 0) and
/// `test_recursive_{set,set_subclass}_and_inst` (protocol 2). Recorded with
/// `o = Object(); o.attr = factory([o]); pickle.dumps(o.attr, proto)`, where `Object`,
/// `MyList`, `MyDict` (built from `{1: o}`) and `MySet` are `test.pickletester`'s classes.
/// The collection is built by a call whose argument list leads back to it, so CPython's
/// pickler writes it twice (the outer copy is dropped with `POP`, then a memo `GET`).
const RECURSIVE_THROUGH_ARGUMENTS: [(&str, &[u8]); 4] = [
    (
        "MyList, protocol 0",
        b"ccopy_reg\n_reconstructor\np0\n(ctest.pickletester\nMyList\np1\nc__builtin__\nlist\np2\n\
          (lp3\ng0\n(ctest.pickletester\nObject\np4\nc__builtin__\nobject\np5\nNtp6\nRp7\n(dp8\n\
          Vattr\np9\ng0\n(g1\ng2\n(lp10\ng7\natp11\nRp12\nsbatp13\nR0g12\n.",
    ),
    (
        "MyDict, protocol 0",
        b"ccopy_reg\n_reconstructor\np0\n(ctest.pickletester\nMyDict\np1\nc__builtin__\ndict\np2\n\
          (dp3\nI1\ng0\n(ctest.pickletester\nObject\np4\nc__builtin__\nobject\np5\nNtp6\nRp7\n\
          (dp8\nVattr\np9\ng0\n(g1\ng2\n(dp10\nI1\ng7\nstp11\nRp12\nsbstp13\nR0g12\n.",
    ),
    (
        "set, protocol 2",
        b"\x80\x02c__builtin__\nset\nq\x00]q\x01ctest.pickletester\nObject\nq\x02)\x81q\x03}q\x04\
          X\x04\x00\x00\x00attrq\x05h\x00]q\x06h\x03a\x85q\x07Rq\x08sba\x85q\x09R0h\x08.",
    ),
    (
        "MySet, protocol 2",
        b"\x80\x02ctest.pickletester\nMySet\nq\x00]q\x01ctest.pickletester\nObject\nq\x02)\x81q\x03\
          }q\x04X\x04\x00\x00\x00attrq\x05h\x00]q\x06h\x03a\x85q\x07Rq\x08sba\x85q\x09R0h\x08.",
    ),
];

/// Loads each `name original re-encoding` line (hex) and prints `name` and whether both
/// load into the same shape: the collection's type, its one item an `Object` whose `attr`
/// is the collection itself.
const SAME_SHAPE: &str = r#"
import pickle, sys
import test.pickletester  # the classes the pickles name

def shape(x):
    items = list(x.values()) if isinstance(x, dict) else list(x)
    return (type(x).__name__, len(items),
            [type(i).__name__ == "Object" and i.attr is x for i in items])

for line in sys.stdin:
    name, original, back = line.split()
    a = shape(pickle.loads(bytes.fromhex(original)))
    b = shape(pickle.loads(bytes.fromhex(back)))
    ok = a == b and a[1] == 1 and a[2] == [True]
    print(name, "same" if ok else "DIFFERENT %r %r" % (a, b))
"#;

#[test]
fn a_collection_rebuilt_through_its_own_arguments_comes_back_whole() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut input = String::new();
    let mut names = Vec::new();
    for (name, data) in RECURSIVE_THROUGH_ARGUMENTS {
        for protocol in [2, 4] {
            let back = dumps_with(&loads(data).unwrap(), &EncodeOptions::protocol(protocol))
                .unwrap_or_else(|e| panic!("{name} at protocol {protocol}: {e}"));
            let label = format!("{}@{protocol}", name.replace([' ', ','], ""));
            input += &format!("{label} {} {}\n", hex(data), hex(&back));
            names.push(label);
        }
    }
    let mut child = Command::new("python3")
        .args(["-c", SAME_SHAPE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "python3 failed: {out:?}");
    let expected: Vec<String> = names.iter().map(|n| format!("{n} same")).collect();
    assert_eq!(report.lines().collect::<Vec<_>>(), expected, "{report}");
}
