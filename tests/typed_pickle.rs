//! The typed codec, `from_slice` / `to_vec`: pickle bytes ⇄ Rust types with no `Value` in
//! between. Specification: the same results as the `Value` path —
//! `from_slice(b) == from_value(loads(b))` and CPython loads `to_vec(x)` into what it
//! loads from `dumps(to_value(x))` — checked against real CPython (every interpreter on
//! the machine, both directions) and by property tests.

#[path = "common/cpython.rs"]
mod cpython;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use cpython::interpreters;
use mpconn::pickle::{dumps_with, from_slice, to_vec, to_vec_with};
use mpconn::{from_value, loads, to_value, EncodeOptions, Value};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
enum Mode {
    Once,
    Retry(u32),
    Window(u8, u8),
    Backoff { base: f64, max: u32 },
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Item {
    id: i64,
    name: String,
    price: f64,
    tags: (i64, i64, i64),
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Rec {
    id: u64,
    big: i128,
    name: String,
    ratio: f64,
    flag: bool,
    parent: Option<u32>,
    #[serde(with = "serde_bytes")]
    payload: Vec<u8>,
    tags: Vec<String>,
    pair: (i32, String),
    quad: (u8, u8, u8, u8),
    unit: (),
    mode: Mode,
    scores: BTreeMap<String, Vec<f64>>,
    items: Vec<Item>,
}

/// `from_slice` and `from_value(loads(..))` agree: the same value, or both an error
/// with the same message.
fn agree<T: DeserializeOwned + std::fmt::Debug>(data: &[u8]) -> Option<T> {
    let fast = from_slice::<T>(data);
    let slow = loads(data)
        .map_err(mpconn::Error::from)
        .and_then(from_value::<T>);
    match (fast, slow) {
        (Ok(a), Ok(b)) => {
            // Compared as printed, so that NaN fields compare equal.
            assert_eq!(
                format!("{a:?}"),
                format!("{b:?}"),
                "from_slice and from_value(loads) differ"
            );
            Some(a)
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string());
            None
        }
        (a, b) => panic!("from_slice gave {a:?}, from_value(loads) gave {b:?}"),
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Runs `script` under `py` with `input` on stdin; returns stdout, failing on an error.
fn python(py: &str, script: &str, input: &str) -> String {
    let mut child = Command::new(py)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{py}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The interpreters of the matrix; under CI all four must be there.
fn pythons() -> Vec<String> {
    let found = interpreters();
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        assert_eq!(found.len(), 4, "missing interpreters: {found:?}");
    }
    assert!(!found.is_empty());
    found
}

/// Python literals CPython pickles, the Rust type each is read as, and whether it fits.
const CASES: &[(&str, &str, bool)] = &[
    ("rec", "{'id': 2**64 - 1, 'big': -2**100, 'name': 'n\\u00e9\\u4e2d', 'ratio': 0.25, 'flag': True, 'parent': None, 'payload': b'\\x00\\xff' * 200, 'tags': ['a', 'b', 'a'], 'pair': (-7, 'x'), 'quad': (1, 2, 3, 4), 'unit': None, 'mode': {'Backoff': {'base': 1.5, 'max': 9}}, 'scores': {'k': [1.0, 2], 'j': []}, 'items': [{'id': i, 'name': 'item%d' % i, 'price': i * 0.5, 'tags': t} for t in [(1, 2, 3)] for i in range(1500)]}", true),
    ("rec", "{'id': 0, 'big': 2**70, 'name': '', 'ratio': 3, 'flag': False, 'parent': 5, 'payload': b'', 'tags': ['x' * 70000], 'pair': (1, 'y'), 'quad': (0, 0, 0, 0), 'unit': None, 'mode': 'Once', 'scores': {}, 'items': []}", true),
    ("rec", "{'id': 1, 'big': 1, 'name': 'a', 'ratio': 1.0, 'flag': True, 'parent': None, 'payload': b'p', 'tags': [], 'pair': (1, 'y'), 'quad': (0, 0, 0, 0), 'unit': None, 'mode': {'Window': (1, 2)}, 'scores': {'a': [0.5]}, 'items': [{'id': 1, 'name': 'x', 'price': 2, 'tags': (1, 2, 3)}], 'extra': [(1, 2), {3: 4}]}", true),
    ("items", "[{'id': i, 'name': 'item%d' % i, 'price': i * 0.5, 'tags': t} for t in [(1, 2, 3)] for i in range(2001)]", true),
    ("map", "{'k%d' % i: list(range(i % 5)) for i in range(1000)}", true),
    ("map", "{}", true),
    ("pairs", "[(i, 'v%d' % i if i % 3 else None) for i in range(1001)]", true),
    ("pairs", "[(1, s) for s in ['a']] * 2 + [(2, 'x')] * 3", true),
    ("mode", "{'Retry': 3}", true),
    ("mode", "'Once'", true),
    ("vecs", "[[1, 2], [], [3], list(range(1000)), list(range(1001))]", true),
    ("vecs", "[[]] * 3", true),
    ("bytes", "[b'', b'abc', bytearray(b'xy')]", true),
    ("set", "frozenset({1, 2, 3})", true),
    ("set", "{5}", true),
    // Not what the types hold: an error, the same on both paths.
    ("items", "[{'id': 1, 'name': 'x', 'price': 1.0, 'tags': (1, 2)}]", false),
    ("pairs", "[(1, 'a', 3)]", false),
    ("map", "{'k': [1, 'x']}", false),
    ("mode", "{'Retry': 3, 'Once': None}", false),
];

fn check_case(kind: &str, data: &[u8]) -> bool {
    match kind {
        "rec" => agree::<Rec>(data).is_some(),
        "items" => agree::<Vec<Item>>(data).is_some(),
        "map" => agree::<BTreeMap<String, Vec<i64>>>(data).is_some(),
        "pairs" => agree::<Vec<(i64, Option<String>)>>(data).is_some(),
        "mode" => agree::<Mode>(data).is_some(),
        "vecs" => agree::<Vec<Vec<u32>>>(data).is_some(),
        "bytes" => agree::<Vec<serde_bytes::ByteBuf>>(data).is_some(),
        "set" => agree::<Vec<i64>>(data).is_some(),
        other => panic!("{other}"),
    }
}

const DUMP: &str = r#"
import pickle, sys
for line in sys.stdin:
    expr = line.strip()
    obj = eval(expr)
    out = [pickle.dumps(obj).hex()] + [pickle.dumps(obj, protocol=p).hex() for p in range(0, pickle.HIGHEST_PROTOCOL + 1)]
    print(' '.join(out))
"#;

#[test]
fn cpython_pickles_read_as_types_agree_with_the_value_path() {
    let input: String = CASES.iter().map(|(_, e, _)| format!("{e}\n")).collect();
    for py in pythons() {
        let out = python(&py, DUMP, &input);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), CASES.len(), "{py}");
        let mut ok = 0;
        for ((kind, expr, fits), line) in CASES.iter().zip(lines) {
            for (i, h) in line.split(' ').enumerate() {
                let decoded = check_case(kind, &hex(h));
                assert_eq!(decoded, *fits, "{py}: {expr} (pickle #{i})");
                ok += usize::from(decoded);
            }
        }
        assert!(ok >= 15 * 6, "{py}: only {ok} decoded");
    }
}

#[test]
fn typed_decode_reads_the_values_cpython_wrote() {
    let py = &pythons()[0];
    let out = python(py, DUMP, &format!("{}\n", CASES[0].1));
    let data = hex(out.split(' ').next().unwrap());
    let rec: Rec = from_slice(&data).unwrap();
    assert_eq!(rec.id, u64::MAX);
    assert_eq!(rec.big, -(1i128 << 100));
    assert_eq!(rec.name, "né中");
    assert_eq!(rec.payload.len(), 400);
    assert_eq!(rec.tags, ["a", "b", "a"]);
    assert_eq!(rec.quad, (1, 2, 3, 4));
    assert_eq!(rec.mode, Mode::Backoff { base: 1.5, max: 9 });
    assert_eq!(rec.scores["k"], [1.0, 2.0]);
    assert_eq!(rec.items.len(), 1500);
    assert_eq!(
        rec.items[1499],
        Item {
            id: 1499,
            name: "item1499".into(),
            price: 749.5,
            tags: (1, 2, 3)
        }
    );
}

/// A borrowed record: `&str` and `&[u8]` point into the message.
#[derive(Deserialize, Debug, PartialEq)]
struct Borrowed<'a> {
    name: &'a str,
    #[serde(with = "serde_bytes")]
    payload: &'a [u8],
}

#[test]
fn strings_and_bytes_are_borrowed_from_the_message() {
    let py = &pythons()[0];
    let out = python(py, DUMP, "{'name': 'borrowed', 'payload': b'raw'}\n");
    let data = hex(out.split(' ').next().unwrap());
    let b: Borrowed = from_slice(&data).unwrap();
    assert_eq!(
        b,
        Borrowed {
            name: "borrowed",
            payload: b"raw"
        }
    );
    let range = data.as_ptr_range();
    assert!(range.contains(&b.name.as_ptr()));
}

/// Only some fields: the others (tuples, shared tuples, nested containers) are skipped
/// without falling back to `Value`, which could not lend `&str`.
#[derive(Deserialize, Debug, PartialEq)]
struct Partial<'a> {
    name: &'a str,
}

#[test]
fn fields_the_type_lacks_are_skipped_even_when_borrowing() {
    let py = &pythons()[0];
    let expr = "[{'a': (1, 2), 'name': 'n%d' % i, 't': t, 'l': [(1, (2, 3)), {}], 'b': (x, x)} for t in [(7, 8, 9)] for x in ['s'] for i in range(3)]";
    let out = python(py, DUMP, &format!("{expr}\n"));
    for (i, h) in out.trim().split(' ').enumerate().skip(3) {
        let data = hex(h);
        let got: Vec<Partial> = from_slice(&data).unwrap_or_else(|e| panic!("pickle #{i}: {e}"));
        assert_eq!(
            got.iter().map(|p| p.name).collect::<Vec<_>>(),
            ["n0", "n1", "n2"]
        );
    }
}

fn sample_recs() -> Vec<Rec> {
    let item = |i: i64| Item {
        id: i,
        name: format!("item{i}"),
        price: i as f64 * 0.5,
        tags: (1, 2, 3),
    };
    let base = Rec {
        id: u64::MAX,
        big: i128::MIN,
        name: "né中".into(),
        ratio: -0.0,
        flag: true,
        parent: Some(7),
        payload: vec![0; 70_000],
        tags: (0..1001).map(|i| format!("t{i}")).collect(),
        pair: (i32::MIN, String::new()),
        quad: (1, 2, 3, 255),
        unit: (),
        mode: Mode::Window(1, 2),
        scores: (0..1000)
            .map(|i| (format!("s{i}"), vec![f64::from(i)]))
            .collect(),
        items: (0..2000).map(item).collect(),
    };
    vec![
        base.clone(),
        Rec {
            mode: Mode::Once,
            parent: None,
            payload: vec![],
            tags: vec![],
            scores: BTreeMap::new(),
            items: vec![item(-1)],
            ..base.clone()
        },
        Rec {
            mode: Mode::Backoff { base: 2.5, max: 1 },
            big: 1 << 100,
            id: 255,
            tags: vec!["x".repeat(300)],
            ..base.clone()
        },
        Rec {
            mode: Mode::Retry(70_000),
            ..base
        },
    ]
}

const COMPARE: &str = r#"
import pickle, sys
bad = 0
for line in sys.stdin:
    name, a, b = line.split()
    x, y = pickle.loads(bytes.fromhex(a)), pickle.loads(bytes.fromhex(b))
    if repr(x) != repr(y) or x != y:
        bad += 1
        print('differ', name, repr(x)[:200], repr(y)[:200])
print('done', bad)
"#;

#[test]
fn cpython_loads_to_vec_into_what_dumps_to_value_gives() {
    let mut input = String::new();
    for (i, rec) in sample_recs().iter().enumerate() {
        for protocol in 2..=5 {
            let options = EncodeOptions::protocol(protocol);
            let typed = to_vec_with(rec, &options).unwrap();
            let via_value = dumps_with(&to_value(rec).unwrap(), &options).unwrap();
            input += &format!(
                "rec{i}/p{protocol} {} {}\n",
                to_hex(&typed),
                to_hex(&via_value)
            );
        }
    }
    for py in pythons() {
        let out = python(&py, COMPARE, &input);
        assert_eq!(out.trim(), "done 0", "{py}: {out}");
    }
}

const SHARED_KEYS: &str = r#"
import pickle, sys
data = bytes.fromhex(sys.stdin.read().strip())
jobs = pickle.loads(data)
assert jobs == [{'id': i, 'name': 'job', 'tags': ['a'], 'pt': (1, -2)} for i in range(3)], jobs
# Field names are written once and fetched from the memo: one str object per name.
assert all(a is b for a, b in zip(jobs[0], jobs[2])), 'keys not shared'
print('ok')
"#;

#[test]
fn records_reach_cpython_as_dicts_sharing_their_key_objects() {
    #[derive(Serialize)]
    struct Job {
        id: u8,
        name: &'static str,
        tags: Vec<&'static str>,
        pt: (i32, i32),
    }
    let jobs: Vec<Job> = (0..3)
        .map(|id| Job {
            id,
            name: "job",
            tags: vec!["a"],
            pt: (1, -2),
        })
        .collect();
    let data = to_vec(&jobs).unwrap();
    for py in pythons() {
        assert_eq!(
            python(&py, SHARED_KEYS, &to_hex(&data)).trim(),
            "ok",
            "{py}"
        );
    }
}

// ----- properties -------------------------------------------------------------------

fn item() -> impl Strategy<Value = Item> {
    (
        any::<i64>(),
        ".{0,12}",
        any::<f64>(),
        any::<(i64, i64, i64)>(),
    )
        .prop_map(|(id, name, price, tags)| Item {
            id,
            name,
            price,
            tags,
        })
}

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![
        Just(Mode::Once),
        any::<u32>().prop_map(Mode::Retry),
        any::<(u8, u8)>().prop_map(|(a, b)| Mode::Window(a, b)),
        (any::<f64>(), any::<u32>()).prop_map(|(base, max)| Mode::Backoff { base, max }),
    ]
}

prop_compose! {
    fn rec()(
        id in any::<u64>(), big in any::<i128>(), name in ".{0,20}", ratio in any::<f64>(),
        flag in any::<bool>(), parent in any::<Option<u32>>(),
        payload in prop::collection::vec(any::<u8>(), 0..40),
        tags in prop::collection::vec("[a-z]{0,4}", 0..5),
        pair in (any::<i32>(), ".{0,5}"), quad in any::<(u8, u8, u8, u8)>(), mode in mode(),
        scores in prop::collection::btree_map("[a-z]{0,3}", prop::collection::vec(any::<f64>(), 0..3), 0..4),
        items in prop::collection::vec(item(), 0..4),
    ) -> Rec {
        Rec { id, big, name, ratio, flag, parent, payload, tags, pair, quad, unit: (), mode, scores, items }
    }
}

/// Python-shaped values, for agreement on input that does not fit the types.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::None),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        (0i64..4).prop_map(Value::Int),
        any::<f64>().prop_map(Value::Float),
        "[a-c]{0,3}".prop_map(|s: String| Value::from(s.as_str())),
        prop::collection::vec(any::<u8>(), 0..4).prop_map(|b| Value::bytes(&b)),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::list),
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::tuple),
            prop::collection::vec(
                (
                    "[a-c]{0,2}".prop_map(|s: String| Value::from(s.as_str())),
                    inner.clone()
                ),
                0..4
            )
            .prop_map(Value::dict),
            inner.prop_map(|x| Value::list(vec![x.clone(), x])),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn to_vec_then_from_slice_gives_the_value_back(r in rec(), protocol in 2u8..=5) {
        let data = to_vec_with(&r, &EncodeOptions::protocol(protocol)).unwrap();
        let back: Rec = from_slice(&data).unwrap();
        // NaN != NaN: compare through the bits of the pickles instead.
        let again = to_vec_with(&back, &EncodeOptions::protocol(protocol)).unwrap();
        prop_assert_eq!(again, data);
    }

    #[test]
    fn to_vec_decodes_to_what_dumps_to_value_gives(r in rec(), protocol in 2u8..=5) {
        let options = EncodeOptions::protocol(protocol);
        let typed = loads(&to_vec_with(&r, &options).unwrap()).unwrap();
        let via_value = loads(&dumps_with(&to_value(&r).unwrap(), &options).unwrap()).unwrap();
        prop_assert_eq!(typed.to_string(), via_value.to_string());
    }

    #[test]
    fn from_slice_agrees_with_from_value_on_any_pickle(v in value(), protocol in 2u8..=5) {
        let data = dumps_with(&v, &EncodeOptions::protocol(protocol)).unwrap();
        agree::<Vec<(i64, Option<String>)>>(&data);
        agree::<Vec<Vec<u32>>>(&data);
        agree::<BTreeMap<String, Vec<i64>>>(&data);
        agree::<(i64, String)>(&data);
        agree::<Vec<Item>>(&data);
        agree::<Mode>(&data);
        agree::<serde_json::Value>(&data);
    }

    #[test]
    fn from_slice_reads_records_from_the_value_encoder(r in rec()) {
        let data = dumps_with(&to_value(&r).unwrap(), &EncodeOptions::protocol(4)).unwrap();
        if let Some(back) = agree::<Rec>(&data) {
            prop_assert_eq!(to_vec(&back).unwrap(), to_vec(&r).unwrap());
        } else {
            prop_assert!(false, "did not decode");
        }
    }

    #[test]
    fn damaged_pickles_never_panic_and_still_agree(
        v in value(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut data = dumps_with(&v, &EncodeOptions::protocol(4)).unwrap();
        for (at, byte) in flips {
            let i = at.index(data.len());
            data[i] = byte;
        }
        agree::<Vec<(i64, Option<String>)>>(&data);
        agree::<BTreeMap<String, Vec<i64>>>(&data);
        agree::<serde_json::Value>(&data);
        agree::<Rec>(&data);
    }
}
