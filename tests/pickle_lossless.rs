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
