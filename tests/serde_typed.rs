//! The typed path: `#[derive(Serialize, Deserialize)]` types ⇄ [`Value`] ⇄ pickle.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use mpconn::pickle::{dumps_with, EncodeOptions};
use mpconn::value::{Object, PyStr};
use mpconn::{from_value, to_value, Error, Value};
use num_bigint::BigInt;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
enum Kind {
    Fast,
    Slow,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
enum Mode {
    Once,
    Retry(u32),
    Window(u8, u8),
    Backoff { base: f64, max: u32 },
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Job {
    id: u32,
    name: String,
    tags: Vec<String>,
    ratio: f64,
    parent: Option<u32>,
    #[serde(with = "serde_bytes")]
    payload: Vec<u8>,
    point: (i32, i32),
    kind: Kind,
    big: u64,
    mode: Mode,
}

fn job() -> Job {
    Job {
        id: 7,
        name: "job".into(),
        tags: vec!["red".into(), "blue".into()],
        ratio: 0.5,
        parent: None,
        payload: vec![0, 1],
        point: (1, -2),
        kind: Kind::Fast,
        big: u64::MAX,
        mode: Mode::Retry(3),
    }
}

fn s(text: &str) -> Value {
    Value::Str(PyStr::from(text))
}

fn dict_get<'a>(v: &'a Value, key: &str) -> &'a Value {
    match v {
        Value::Dict(pairs) => {
            &pairs
                .iter()
                .find(|(k, _)| matches!(k, Value::Str(s) if s == key))
                .unwrap()
                .1
        }
        other => panic!("not a dict: {other:?}"),
    }
}

#[test]
fn a_struct_becomes_a_dict_with_fields_in_order() {
    let v = to_value(&job()).unwrap();
    let Value::Dict(pairs) = &v else {
        panic!("{v:?}")
    };
    let keys: Vec<String> = pairs
        .iter()
        .map(|(k, _)| match k {
            Value::Str(s) => s.to_string(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        keys,
        ["id", "name", "tags", "ratio", "parent", "payload", "point", "kind", "big", "mode"]
    );
    assert!(matches!(dict_get(&v, "tags"), Value::List(_)));
    assert!(matches!(dict_get(&v, "point"), Value::Tuple(_)));
    assert!(matches!(dict_get(&v, "parent"), Value::None));
    assert!(matches!(dict_get(&v, "payload"), Value::Bytes(b) if b[..] == [0, 1]));
    assert!(matches!(dict_get(&v, "kind"), Value::Str(s) if s == "Fast"));
    assert!(matches!(dict_get(&v, "big"), Value::BigInt(n) if **n == BigInt::from(u64::MAX)));
    assert!(matches!(dict_get(&v, "mode"), Value::Dict(d) if d.len() == 1));
}

#[test]
fn a_struct_round_trips() {
    let j = job();
    assert_eq!(from_value::<Job>(to_value(&j).unwrap()).unwrap(), j);
    for mode in [
        Mode::Once,
        Mode::Retry(9),
        Mode::Window(1, 2),
        Mode::Backoff { base: 1.5, max: 4 },
    ] {
        let j = Job {
            mode: mode.clone(),
            kind: Kind::Slow,
            parent: Some(3),
            ..job()
        };
        assert_eq!(
            from_value::<Job>(to_value(&j).unwrap()).unwrap(),
            j,
            "{mode:?}"
        );
    }
}

/// `big` in the fixture is 2**64, beyond u64: the struct here uses a u128 for it.
#[derive(Serialize)]
struct JobAsRecorded {
    id: u32,
    name: String,
    tags: Vec<String>,
    ratio: f64,
    parent: Option<u32>,
    #[serde(with = "serde_bytes")]
    payload: Vec<u8>,
    point: (i32, i32),
    kind: Kind,
    big: u128,
    mode: Mode,
}

#[test]
fn a_struct_pickles_to_cpythons_bytes_for_the_same_dict() {
    let j = JobAsRecorded {
        id: 7,
        name: "job".into(),
        tags: vec!["red".into(), "blue".into()],
        ratio: 0.5,
        parent: None,
        payload: vec![0, 1],
        point: (1, -2),
        kind: Kind::Fast,
        big: 1u128 << 64,
        mode: Mode::Retry(3),
    };
    let v = to_value(&j).unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/dumps/3.11.json");
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut checked = 0;
    for r in fixture["records"].as_array().unwrap() {
        if !r["literal"]
            .as_str()
            .unwrap()
            .starts_with("{'id': 7, 'name': 'job'")
        {
            continue;
        }
        let protocol = r["protocol"].as_u64().unwrap() as u8;
        let hex = r["pickle"].as_str().unwrap();
        assert!(
            !hex.contains('('),
            "fixture uses run-length packing; not expected here"
        );
        let expected: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let ours = dumps_with(&v, &EncodeOptions::protocol(protocol)).unwrap();
        assert_eq!(ours, expected, "protocol {protocol}");
        checked += 1;
    }
    assert_eq!(checked, 4);
}

#[test]
fn primitives_round_trip() {
    fn rt<T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(x: T) {
        let v = to_value(&x).unwrap();
        assert_eq!(from_value::<T>(v).unwrap(), x);
    }
    rt(true);
    rt(-5i8);
    rt(i64::MIN);
    rt(u64::MAX);
    rt(i128::MIN);
    rt(u128::MAX);
    rt(1.25f32);
    rt('é');
    rt(String::from("日本"));
    rt(());
    rt(Some(3u8));
    rt(None::<u8>);
    rt(vec![1u16, 2, 3]);
    rt((1u8, "x".to_string(), 2.5f64));
    rt(BTreeMap::from([
        (1u32, "a".to_string()),
        (2, "b".to_string()),
    ]));
    rt(HashMap::from([("k".to_string(), vec![Some(1i32), None])]));
    rt(serde_bytes::ByteBuf::from(vec![0u8, 255]));
}

#[test]
fn python_shapes_are_accepted_where_harmless() {
    // A tuple or a set where a Vec is wanted.
    let t = Value::tuple(vec![Value::Int(1), Value::Int(2)]);
    assert_eq!(from_value::<Vec<i32>>(t).unwrap(), [1, 2]);
    assert_eq!(
        from_value::<Vec<i32>>(Value::set(vec![Value::Int(3)])).unwrap(),
        [3]
    );
    // A list where a tuple is wanted.
    let l = Value::list(vec![Value::Int(1), s("a")]);
    assert_eq!(from_value::<(u8, String)>(l).unwrap(), (1, "a".to_string()));
    // An int where a float is wanted.
    assert_eq!(from_value::<f64>(Value::Int(2)).unwrap(), 2.0);
    // bytes into Vec<u8>.
    assert_eq!(from_value::<Vec<u8>>(Value::bytes(b"ab")).unwrap(), b"ab");
    // A pickled object whose state is a dict (dataclass, SimpleNamespace) into a struct.
    #[derive(Deserialize, Debug, PartialEq)]
    struct P {
        x: i32,
        y: i32,
    }
    let mut o = Object::reduce(Value::global("types", "SimpleNamespace"), vec![]);
    o.state = Some(Value::dict(vec![
        (s("x"), Value::Int(1)),
        (s("y"), Value::Int(2)),
    ]));
    assert_eq!(
        from_value::<P>(Value::Object(Arc::new(o))).unwrap(),
        P { x: 1, y: 2 }
    );
}

#[test]
fn a_mismatch_is_a_value_error_naming_the_place() {
    let mut v = to_value(&job()).unwrap();
    if let Value::Dict(pairs) = &mut v {
        let pairs = Arc::make_mut(pairs);
        pairs[2].1 = Value::list(vec![s("ok"), Value::Int(5)]);
    }
    match from_value::<Job>(v) {
        Err(Error::Value(msg)) => {
            assert!(msg.contains(".tags[1]"), "{msg}");
            assert!(msg.contains("expected a string"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
    match from_value::<u8>(Value::Int(300)) {
        Err(Error::Value(msg)) => assert!(msg.contains("300"), "{msg}"),
        other => panic!("{other:?}"),
    }
    match from_value::<Kind>(s("Medium")) {
        Err(Error::Value(msg)) => assert!(msg.contains("Medium"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_cycle_is_an_error_not_a_hang() {
    let v = Value::Anchor(1, Box::new(Value::list(vec![Value::Ref(1)])));
    assert!(matches!(
        from_value::<Vec<Vec<u8>>>(v),
        Err(Error::Value(_))
    ));
}

#[test]
fn a_lone_surrogate_is_an_error_for_string() {
    let v = Value::Str(PyStr::from_code_points([0xd800]).unwrap());
    assert!(matches!(from_value::<String>(v), Err(Error::Value(_))));
}
