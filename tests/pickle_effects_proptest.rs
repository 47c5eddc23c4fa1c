//! Property: no pickle that CPython loads is decoded into a `Value` whose re-encoding
//! CPython loads differently (issue 14). mpconn may refuse a pickle (a typed error); what
//! it accepts must come back performing the same effects.
//!
//! proptest generates small pickle *programs* that do what cloudpickle and dill do besides
//! building values: calls whose results are discarded (`operator.setitem(d, k, v)`,
//! `getattr(l, 'append')(x)`), containers filled through the memo after other objects saw
//! them, a second `BUILD`, `DUP`, `POP` of a MARK. Each program is decoded and re-encoded
//! by mpconn; then one CPython process (`python_interop/loads_same.py`) loads every
//! original and every re-encoding and compares the objects (values, attributes, shared
//! references). Expected results come from CPython, never from our encoder.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use mpconn::pickle::{dumps_with, loads, PickleErrorKind};
use mpconn::EncodeOptions;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

/// One step of a generated program. Steps that would not fit the stack at that point
/// (APPEND onto a dict, ...) are skipped by [`assemble`], so most programs load.
#[derive(Clone, Debug)]
enum Op {
    Int(u8),
    Str(u8),
    NewList,
    NewDict,
    /// `types.SimpleNamespace()`, memoized.
    NewNamespace,
    /// A memo GET (index taken modulo the memo size).
    Get(u8),
    /// `x APPEND` onto the list on top.
    Append(u8),
    /// `k v SETITEM` onto the dict on top.
    SetItem(u8, u8),
    /// `{'a': n} BUILD` onto the namespace on top.
    Build(u8),
    /// `operator.setitem(GET d, k, v)` then `POP`.
    CallSetItem(u8, u8, u8),
    /// `getattr(GET l, 'append')(x)` then `POP`.
    CallAppend(u8, u8),
    Pop,
    Dup,
    Mark,
    /// `TUPLE2`.
    Tuple2,
    /// `LIST` of everything above the last MARK.
    List,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<u8>().prop_map(Op::Int),
        (0u8..4).prop_map(Op::Str),
        Just(Op::NewList),
        Just(Op::NewDict),
        Just(Op::NewNamespace),
        any::<u8>().prop_map(Op::Get),
        any::<u8>().prop_map(Op::Append),
        (0u8..4, any::<u8>()).prop_map(|(k, v)| Op::SetItem(k, v)),
        any::<u8>().prop_map(Op::Build),
        (any::<u8>(), 0u8..4, any::<u8>()).prop_map(|(d, k, v)| Op::CallSetItem(d, k, v)),
        (any::<u8>(), any::<u8>()).prop_map(|(l, x)| Op::CallAppend(l, x)),
        Just(Op::Pop),
        Just(Op::Dup),
        Just(Op::Mark),
        Just(Op::Tuple2),
        Just(Op::List),
    ]
}

/// What a stack slot or memo entry holds, as far as the generator needs to know.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Scalar,
    List,
    Dict,
    Namespace,
    Tuple,
}

const KEYS: [&str; 4] = ["a", "b", "k", "x"];

fn push_str(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(&[0x8c, s.len() as u8]);
    b.extend_from_slice(s.as_bytes());
}

/// The program as a protocol 4 pickle: `MARK`, the steps that fit, a `LIST` per MARK
/// still open, `STOP` (the result is a list of whatever the steps left on the stack).
fn assemble(ops: &[Op]) -> Vec<u8> {
    let mut b = vec![0x80, 4, b'('];
    let mut memo: Vec<Kind> = Vec::new();
    let mut stack: Vec<Kind> = Vec::new();
    let mut marks: Vec<usize> = vec![0];
    let pick = |memo: &[Kind], want: Kind, i: u8| -> Option<u8> {
        let found: Vec<usize> = (0..memo.len()).filter(|&j| memo[j] == want).collect();
        (!found.is_empty()).then(|| found[i as usize % found.len()] as u8)
    };
    for op in ops {
        let above = stack.len() - marks.last().copied().unwrap_or(0);
        let top = stack.last().copied();
        match op {
            Op::Int(n) => {
                b.extend_from_slice(&[b'K', *n]);
                stack.push(Kind::Scalar);
            }
            Op::Str(i) => {
                push_str(&mut b, KEYS[*i as usize % KEYS.len()]);
                stack.push(Kind::Scalar);
            }
            Op::NewList | Op::NewDict | Op::NewNamespace => {
                let kind = match op {
                    Op::NewList => {
                        b.push(b']');
                        Kind::List
                    }
                    Op::NewDict => {
                        b.push(b'}');
                        Kind::Dict
                    }
                    _ => {
                        b.extend_from_slice(b"ctypes\nSimpleNamespace\n)R");
                        Kind::Namespace
                    }
                };
                b.push(0x94);
                memo.push(kind);
                stack.push(kind);
            }
            Op::Get(i) if !memo.is_empty() => {
                let j = *i as usize % memo.len();
                b.extend_from_slice(&[b'h', j as u8]);
                stack.push(memo[j]);
            }
            Op::Append(x) if above >= 1 && top == Some(Kind::List) => {
                b.extend_from_slice(&[b'K', *x, b'a']);
            }
            Op::SetItem(k, v) if above >= 1 && top == Some(Kind::Dict) => {
                push_str(&mut b, KEYS[*k as usize % KEYS.len()]);
                b.extend_from_slice(&[b'K', *v, b's']);
            }
            Op::Build(n) if above >= 1 && top == Some(Kind::Namespace) => {
                b.extend_from_slice(&[b'}', 0x8c, 1, b'a', b'K', *n, b's', b'b']);
            }
            Op::CallSetItem(d, k, v) => {
                if let Some(j) = pick(&memo, Kind::Dict, *d) {
                    b.extend_from_slice(b"coperator\nsetitem\n");
                    b.extend_from_slice(&[b'h', j]);
                    push_str(&mut b, KEYS[*k as usize % KEYS.len()]);
                    b.extend_from_slice(&[b'K', *v, 0x87, b'R', b'0']);
                }
            }
            Op::CallAppend(l, x) => {
                if let Some(j) = pick(&memo, Kind::List, *l) {
                    b.extend_from_slice(b"cbuiltins\ngetattr\n");
                    b.extend_from_slice(&[b'h', j]);
                    b.extend_from_slice(b"\x8c\x06append\x86R");
                    b.extend_from_slice(&[b'K', *x, 0x85, b'R', b'0']);
                }
            }
            Op::Pop if above >= 1 => {
                b.push(b'0');
                stack.pop();
            }
            Op::Dup if above >= 1 => {
                b.push(b'2');
                stack.push(top.unwrap());
            }
            Op::Mark => {
                b.push(b'(');
                marks.push(stack.len());
            }
            Op::Tuple2 if above >= 2 => {
                b.push(0x86);
                stack.truncate(stack.len() - 2);
                stack.push(Kind::Tuple);
            }
            Op::List if marks.len() > 1 => {
                b.push(b'l');
                stack.truncate(marks.pop().unwrap());
                stack.push(Kind::Scalar);
            }
            _ => {}
        }
    }
    b.resize(b.len() + marks.len(), b'l');
    b.push(b'.');
    b
}

/// A 4-byte big-endian length, then the bytes.
fn record(out: &mut Vec<u8>, data: Option<&[u8]>) {
    match data {
        Some(d) => {
            out.extend_from_slice(&(d.len() as u32).to_be_bytes());
            out.extend_from_slice(d);
        }
        None => out.extend_from_slice(&u32::MAX.to_be_bytes()),
    }
}

#[test]
fn re_encoded_effect_programs_load_the_same_in_cpython() {
    const CASES: usize = 1500;
    let strategy = proptest::collection::vec(op(), 1..24);
    let mut runner = TestRunner::deterministic();
    let mut stream = Vec::new();
    let mut accepted = 0;
    for _ in 0..CASES {
        let ops = strategy.new_tree(&mut runner).unwrap().current();
        let original = assemble(&ops);
        let again = match loads(&original) {
            Ok(v) => {
                Some(dumps_with(&v, &EncodeOptions::protocol(4)).expect("a decoded value encodes"))
            }
            // The generator writes programs CPython loads: the only acceptable refusal is
            // an effect mpconn cannot place (a call discarded right after a MARK).
            Err(e) => {
                assert!(
                    matches!(e.kind, PickleErrorKind::Unrepresentable(_)),
                    "{e} for {ops:?}"
                );
                None
            }
        };
        accepted += usize::from(again.is_some());
        record(&mut stream, Some(&original));
        record(&mut stream, again.as_deref());
    }

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python_interop/loads_same.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&stream));
    let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(|l| l.unwrap())
        .collect();
    writer.join().unwrap().unwrap();
    assert!(child.wait().unwrap().success(), "{lines:?}");
    let mismatches: Vec<&String> = lines.iter().filter(|l| l.starts_with("MISMATCH")).collect();
    assert!(
        mismatches.is_empty(),
        "{} re-encodings load differently in CPython:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(20)
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let summary = lines.last().expect("a SUMMARY line");
    let fields: Vec<usize> = summary
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap())
        .collect();
    let (pairs, loaded) = (fields[0], fields[1]);
    assert_eq!(pairs, CASES, "{summary}");
    // Enough programs must load in CPython and be accepted by mpconn for the property to
    // have teeth.
    assert!(loaded >= CASES / 4, "{summary}");
    assert!(accepted >= CASES / 4, "{accepted} accepted; {summary}");
    eprintln!("{summary} (mpconn accepted {accepted})");
}
