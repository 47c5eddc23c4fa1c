//! Property: for generated values, encode → decode gives the value back, for every protocol
//! the encoder writes (2–5): the same Python repr (which tells `1`, `1.0` and `True` apart,
//! and `str` from `bytes`), Python equality, and the same sharing (`[x, x]` stays one
//! object twice).

use std::sync::Arc;

use mpconn::pickle::{dumps_with, loads};
use mpconn::value::PyStr;
use mpconn::{EncodeOptions, Value};
use num_bigint::BigInt;
use proptest::prelude::*;

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::None),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        (any::<i128>(), 0u32..200).prop_map(|(i, shift)| Value::int(BigInt::from(i) << shift)),
        any::<f64>().prop_map(Value::Float),
        ".{0,40}".prop_map(|s: String| Value::from(s.as_str())),
        // Any code points, lone surrogates included.
        prop::collection::vec(
            prop_oneof![0u32..0x80, 0xd800u32..0xe000, 0u32..0x110000],
            0..20
        )
        .prop_map(|cps| Value::Str(PyStr::from_code_points(cps).expect("valid code points"))),
        prop::collection::vec(any::<u8>(), 0..300).prop_map(|b| Value::bytes(&b)),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(|b| Value::ByteArray(Arc::new(b))),
        prop_oneof![
            Just(Value::global("builtins", "float")),
            Just(Value::global("builtins", "sum")),
            Just(Value::global("collections", "OrderedDict")),
        ],
    ]
}

/// Values that may be dict keys or set members (hashable in Python).
fn hashable() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::None),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        "[a-z]{0,8}".prop_map(|s: String| Value::from(s.as_str())),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(|b| Value::bytes(&b)),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::tuple),
            prop::collection::vec(inner, 0..3).prop_map(Value::frozenset),
        ]
    })
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::list),
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::tuple),
            prop::collection::vec((hashable(), inner.clone()), 0..6).prop_map(Value::dict),
            prop::collection::vec(hashable(), 0..6).prop_map(Value::set),
            prop::collection::vec(hashable(), 0..6).prop_map(Value::frozenset),
            // The same object twice: sharing must survive.
            inner.prop_map(|x| Value::list(vec![x.clone(), x])),
        ]
    })
}

/// Every container reached twice in `a` (by allocation) is reached twice in `b` at the
/// same places: compares the sharing of `[x, x]` nodes.
fn same_sharing(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::List(x), Value::List(y)) | (Value::Tuple(x), Value::Tuple(y)) => {
            if x.len() != y.len() {
                return false;
            }
            if x.len() == 2 {
                let shared = |v: &Arc<mpconn::value::Items>| match (&v[0], &v[1]) {
                    (Value::List(p), Value::List(q)) => Some(Arc::ptr_eq(p, q)),
                    // `()` is one object in CPython whatever the pickle says: never memoized.
                    (Value::Tuple(p), Value::Tuple(q)) if !p.is_empty() => Some(Arc::ptr_eq(p, q)),
                    (Value::Dict(p), Value::Dict(q)) => Some(Arc::ptr_eq(p, q)),
                    _ => None,
                };
                if let (Some(s), Some(t)) = (shared(x), shared(y)) {
                    if s && !t {
                        return false;
                    }
                }
            }
            x.iter().zip(y.iter()).all(|(p, q)| same_sharing(p, q))
        }
        (Value::Dict(x), Value::Dict(y)) => x
            .iter()
            .zip(y.iter())
            .all(|((k1, v1), (k2, v2))| same_sharing(k1, k2) && same_sharing(v1, v2)),
        _ => true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn encode_then_decode_gives_the_value_back(v in value(), protocol in 2u8..=5) {
        let bytes = dumps_with(&v, &EncodeOptions::protocol(protocol)).expect("encodes");
        let back = loads(&bytes).expect("our own pickle decodes");
        prop_assert_eq!(back.to_string(), v.to_string());
        if !v.to_string().contains("nan") {
            prop_assert!(back == v, "Python equality: {} vs {}", back, v);
        }
        prop_assert!(same_sharing(&v, &back), "sharing lost in {}", v);
    }
}
