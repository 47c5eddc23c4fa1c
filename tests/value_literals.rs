//! Literal parsing errors, deep values (no stack overflow), equality, indexing and
//! conversions of `Value`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use mpconn::value::{Construct, Global, Object, PyStr};
use mpconn::{Error, Value};

fn parse(s: &str) -> Value {
    s.parse()
        .unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
}

fn parse_err(s: &str) -> String {
    match s.parse::<Value>() {
        Err(Error::Value(msg)) => msg,
        Err(other) => panic!("{s:?}: expected Error::Value, got {other:?}"),
        Ok(v) => panic!("{s:?} should be refused, parsed as {v}"),
    }
}

fn nested_list(depth: usize) -> Value {
    let mut v = Value::list(Vec::new());
    for _ in 0..depth {
        v = Value::list(vec![v]);
    }
    v
}

#[test]
fn parse_errors_say_where() {
    let msg = parse_err("[1, 2,\n  3 4]");
    assert!(msg.contains("line 2, column 5"), "{msg}");
    assert!(parse_err("'abc").contains("unterminated string"));
    assert!(parse_err("0b12").contains("binary"));
    assert!(parse_err("09").contains("leading zeros"));
    assert!(parse_err("'\\N{BULLET}'").contains("\\N{...}"));
    assert!(parse_err("f'x'").contains("f-strings"));
    assert!(parse_err("'a' b'b'").contains("cannot mix"));
    assert!(parse_err("1 + 2").contains("complex"));
    assert!(parse_err("foo").contains("not a literal"));
    assert!(parse_err("   ").contains("unexpected end"));
}

#[test]
fn nesting_is_limited_not_overflowing() {
    let ok = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
    let v = parse(&ok);
    assert_eq!(v.to_string(), ok);
    let too_deep = format!("{}{}", "[".repeat(1001), "]".repeat(1001));
    assert!(parse_err(&too_deep).contains("nesting deeper than 1000"));
    // A megabyte of openers is refused at the limit, without building anything deep.
    assert!(parse_err(&"(".repeat(1 << 20)).contains("nesting"));
}

#[test]
fn million_deep_list_prints_and_compares_without_overflow() {
    const DEPTH: usize = 1_000_000;
    let a = nested_list(DEPTH);
    let b = nested_list(DEPTH);
    let text = a.to_string();
    assert_eq!(text.len(), 2 * (DEPTH + 1));
    assert!(text.starts_with("[[[[") && text.ends_with("]]]]"));
    assert_eq!(a, b);
    let mut c = Value::list(vec![Value::Int(1)]);
    for _ in 0..DEPTH {
        c = Value::list(vec![c]);
    }
    assert_ne!(a, c);
    // Value's container storage drops iteratively: plain drops must not overflow.
    drop(a);
    drop(b);
    drop(c);
}

#[test]
fn numbers_compare_as_in_python() {
    assert_eq!(parse("1"), parse("1.0"));
    assert_eq!(parse("1"), parse("True"));
    assert_eq!(parse("0"), parse("-0.0"));
    assert_eq!(
        parse("18446744073709551616"),
        parse("18446744073709551616.0")
    );
    assert_ne!(parse("9007199254740993"), parse("9007199254740992.0"));
    assert_ne!(Value::Float(f64::NAN), Value::Float(f64::NAN));
    assert_ne!(parse("1"), parse("'1'"));
    assert_eq!(parse("1+0j"), parse("(1+0j)"));
}

#[test]
fn containers_compare_as_in_python() {
    assert_ne!(parse("[1, 2]"), parse("(1, 2)"));
    assert_eq!(parse("[1, (2, 3)]"), parse("[1.0, (2, 3.0)]"));
    assert_eq!(parse("{'a': 1, 'b': 2}"), parse("{'b': 2, 'a': 1}"));
    assert_ne!(parse("{'a': 1, 'b': 2}"), parse("{'a': 1, 'b': 3}"));
    assert_ne!(parse("{'a': 1}"), parse("{'a': 1, 'b': 2}"));
    assert_eq!(parse("{1, 2, 3}"), parse("{3, 1, 2}"));
    assert_eq!(
        parse("{1, 2}"),
        Value::frozenset(vec![Value::Int(2), Value::Int(1)])
    );
    assert_eq!(parse("b'ab'"), Value::ByteArray(Arc::new(b"ab".to_vec())));
    assert_ne!(parse("b'ab'"), parse("'ab'"));
    assert_eq!(parse("{(1, 2): {3}}"), parse("{(1.0, 2): {3.0}}"));
    // A list shared with itself is equal to itself even when holding nan (identity).
    let shared = Value::list(vec![Value::Float(f64::NAN)]);
    assert_eq!(shared, shared.clone());
    assert_ne!(shared, Value::list(vec![Value::Float(f64::NAN)]));
}

#[test]
fn duplicate_keys_merge_as_in_python() {
    assert_eq!(
        parse("{1: 'a', 1.0: 'b', True: 'c'}").to_string(),
        "{1: 'c'}"
    );
    assert_eq!(
        parse("{1, 1.0, 2, (1, 2), (1.0, 2)}").to_string(),
        "{1, 2, (1, 2)}"
    );
}

#[test]
fn globals_and_objects_compare_by_fields() {
    assert_eq!(
        Value::global("builtins", "float"),
        Value::global("builtins", "float")
    );
    assert_ne!(
        Value::global("builtins", "float"),
        Value::global("builtins", "int")
    );
    let obj = |state: i64| {
        let mut o = Object::reduce(Value::global("m", "C"), vec![Value::Int(1)]);
        o.state = Some(Value::Int(state));
        Value::from(o)
    };
    assert_eq!(obj(1), obj(1));
    assert_ne!(obj(1), obj(2));
}

#[test]
fn cycles_compare_structurally() {
    let a = Value::Anchor(1, Box::new(Value::list(vec![Value::Ref(1)])));
    let b = Value::Anchor(9, Box::new(Value::list(vec![Value::Ref(9)])));
    assert_eq!(a, b);
    assert_eq!(a.to_string(), "[[...]]");
    let c = Value::Anchor(9, Box::new(Value::list(vec![Value::Int(0)])));
    assert_ne!(a, c);
}

#[test]
fn compare_with_rust_values() {
    assert_eq!(Value::from("x"), "x");
    assert_eq!(Value::from("x"), *"x");
    assert_eq!(Value::from("x"), String::from("x"));
    assert_eq!(Value::Int(3), 3i64);
    assert_eq!(Value::Float(3.0), 3i64);
    assert_eq!(Value::Int(3), 3.0);
    assert_eq!(Value::Bool(true), true);
    assert_eq!(Value::Int(1), true);
    let x = Value::from("x");
    assert!("x" == x);
    assert!(Value::None != 0i64);
}

#[test]
fn objects_and_globals_print_unambiguously() {
    assert_eq!(
        Value::global("builtins", "float").to_string(),
        "<class 'float'>"
    );
    assert_eq!(
        Value::global("builtins", "sum").to_string(),
        "<built-in function sum>"
    );
    assert_eq!(
        Value::global("datetime", "datetime").to_string(),
        "datetime.datetime"
    );
    let dt = Object::reduce(
        Value::global("datetime", "date"),
        vec![Value::bytes(b"\x07\xea\x0b\x15")],
    );
    assert_eq!(
        Value::from(dt).to_string(),
        "datetime.date(b'\\x07\\xea\\x0b\\x15')"
    );
    let mut p = Object::reduce(Value::global("__main__", "P"), vec![Value::Int(1)]);
    p.construct = Construct::NewObj;
    p.state = Some(parse("{'x': 1}"));
    assert_eq!(
        Value::from(p).to_string(),
        "__main__.P.__new__(__main__.P, 1) state={'x': 1}"
    );
    let mut od = Object::reduce(Value::global("collections", "OrderedDict"), vec![]);
    od.dict_items = vec![(Value::from("a"), Value::Int(1))];
    assert_eq!(
        Value::from(od).to_string(),
        "collections.OrderedDict() dict_items={'a': 1}"
    );
    assert_eq!(parse("[1-2.5j, 3j]").to_string(), "[(1-2.5j), 3j]");
}

#[test]
fn lone_surrogates_survive_parse_and_print() {
    let v = parse("'a\\udc80b'");
    let s = v.as_pystr().expect("a str");
    assert_eq!(
        s.code_points().collect::<Vec<_>>(),
        vec![0x61, 0xdc80, 0x62]
    );
    assert_eq!(v.as_str(), None);
    assert_eq!(v.to_string(), "'a\\udc80b'");
    assert_eq!(v.len(), Some(3));
    assert_eq!(
        Value::Str(PyStr::from_code_points([0xd83d, 0xde00]).unwrap()).to_string(),
        "'\\ud83d\\ude00'"
    );
}

#[test]
fn indexing_reads_like_serde_json() {
    let v = parse("{'a': [10, 20, (30,)], 2: 'two', 'n': None}");
    assert_eq!(v["a"][1], 20i64);
    assert_eq!(v["a"][2][0], 30i64);
    assert!(v["missing"].is_none());
    assert!(v["a"][99].is_none());
    assert_eq!(v.get(2), Some(&Value::from("two")));
    assert_eq!(v.get(2.0), Some(&Value::from("two")));
    assert_eq!(v.get("n"), Some(&Value::None));
    assert_eq!(v.get("zz"), None);
    assert_eq!(
        v["a"].get(-1).and_then(|t| t.get_index(0)),
        Some(&Value::Int(30))
    );
    assert_eq!(v["a"].get(-4), None);
    let anchored = Value::Anchor(1, Box::new(parse("{'k': [1]}")));
    assert_eq!(anchored["k"][0], 1i64);
}

#[test]
fn accessors() {
    let v = parse("[1, 2.5, 'x', b'y', None, True, 99999999999999999999]");
    let items = v.as_list().unwrap();
    assert_eq!(items[0].as_i64(), Some(1));
    assert_eq!(items[0].as_f64(), Some(1.0));
    assert_eq!(items[1].as_f64(), Some(2.5));
    assert_eq!(items[1].as_i64(), None);
    assert_eq!(items[2].as_str(), Some("x"));
    assert_eq!(items[3].as_bytes(), Some(&b"y"[..]));
    assert!(items[4].is_none());
    assert_eq!(items[5].as_bool(), Some(true));
    assert_eq!(items[6].as_i64(), None);
    assert_eq!(
        items[6].as_bigint().unwrap().to_string(),
        "99999999999999999999"
    );
    assert_eq!(v.len(), Some(7));
    assert!(parse("()").is_empty());
    assert_eq!(parse("(1,)").as_tuple().map(<[Value]>::len), Some(1));
    assert_eq!(parse("{1}").as_slice().map(<[Value]>::len), Some(1));
    assert_eq!(
        parse("{1: 2}").as_dict().map(<[(Value, Value)]>::len),
        Some(1)
    );
    assert_eq!(Value::Int(1).len(), None);
}

#[test]
fn conversions_from_and_to_rust() {
    assert_eq!(Value::from(vec![1u8, 2]).to_string(), "b'\\x01\\x02'");
    assert_eq!(Value::from(&b"ab"[..]).to_string(), "b'ab'");
    assert_eq!(Value::from(vec![1u16, 2]).to_string(), "[1, 2]");
    assert_eq!(Value::from(vec!["a", "b"]).to_string(), "['a', 'b']");
    assert_eq!(Value::from(u128::MAX).to_string(), u128::MAX.to_string());
    assert_eq!(Value::from(i128::MIN).to_string(), i128::MIN.to_string());
    assert_eq!(Value::from(Some(1.5)).to_string(), "1.5");
    assert_eq!(Value::from(None::<i32>).to_string(), "None");
    assert_eq!(Value::from(()).to_string(), "()");
    assert_eq!(Value::from((1,)).to_string(), "(1,)");
    assert_eq!(
        Value::from((1, "a", 2.5, true, None::<u8>, vec![1i32])).to_string(),
        "(1, 'a', 2.5, True, None, [1])"
    );
    let mut bt = BTreeMap::new();
    bt.insert("b", 2);
    bt.insert("a", 1);
    assert_eq!(Value::from(bt).to_string(), "{'a': 1, 'b': 2}");
    let mut hm = HashMap::new();
    hm.insert(1, vec![true]);
    assert_eq!(Value::from(hm).to_string(), "{1: [True]}");
    assert_eq!(Value::from(Global::new("m", "n")).to_string(), "m.n");

    assert_eq!(i64::try_from(&parse("-5")).unwrap(), -5);
    assert_eq!(f64::try_from(parse("5")).unwrap(), 5.0);
    assert!(bool::try_from(parse("True")).unwrap());
    assert_eq!(String::try_from(parse("'s'")).unwrap(), "s");
    assert_eq!(Vec::<u8>::try_from(parse("b'b'")).unwrap(), b"b");
    match i64::try_from(parse("'s'")) {
        Err(Error::Value(msg)) => assert!(msg.contains("found str"), "{msg}"),
        other => panic!("expected Error::Value, got {other:?}"),
    }
    assert!(String::try_from(parse("'\\ud800'")).is_err());
}
