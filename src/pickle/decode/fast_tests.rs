//! The fast path against the graph decoder: same values (identity included) on every
//! fixture CPython wrote, and the same results (errors included) on truncated, mutated
//! and limit-breaking inputs.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use super::{decode, decode_graph, fast};
use crate::pickle::DecodeOptions;
use crate::value::Value;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Every fixture pickle: `(label, bytes)`.
fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/pickles");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let entries: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        for e in entries {
            let label = format!(
                "{file} p{} {:?}",
                e["protocol"],
                e["name"].as_str().unwrap()
            );
            out.push((label, unhex(e["pickle"].as_str().unwrap())));
        }
    }
    assert!(out.len() > 2800, "{} fixtures", out.len());
    out
}

/// A full, non-recursive description of `v`: every scalar, and for every allocation
/// (containers, objects, strings, bytes, globals, big ints) the order in which it was
/// first met, so that two values describe equal exactly when they are equal *and* share
/// the same way.
fn describe(v: &Value) -> String {
    enum Item<'a> {
        V(&'a Value),
        Text(&'static str),
    }
    let mut seen: HashMap<usize, usize> = HashMap::new();
    let mut out = String::new();
    let mut stack = vec![Item::V(v)];
    // Returns true the first time `ptr` is met, after writing its id.
    let mut first = |out: &mut String, tag: &str, ptr: usize| -> bool {
        let n = seen.len();
        match seen.get(&ptr) {
            Some(k) => {
                write!(out, "{tag}@{k}").unwrap();
                false
            }
            None => {
                seen.insert(ptr, n);
                write!(out, "{tag}#{n}").unwrap();
                true
            }
        }
    };
    while let Some(item) = stack.pop() {
        let v = match item {
            Item::Text(t) => {
                out.push_str(t);
                continue;
            }
            Item::V(v) => v,
        };
        let children: Vec<&Value> = match v {
            Value::None | Value::Bool(_) | Value::Int(_) => {
                write!(out, "{v:?}").unwrap();
                continue;
            }
            Value::Float(f) => {
                write!(out, "F{:x}", f.to_bits()).unwrap();
                continue;
            }
            Value::BigInt(b) => {
                if first(&mut out, "I", Arc::as_ptr(b) as usize) {
                    write!(out, "({b})").unwrap();
                }
                continue;
            }
            Value::Str(s) => {
                if first(&mut out, "S", s.as_bytes().as_ptr() as usize) {
                    write!(out, "({:?})", s.as_bytes()).unwrap();
                }
                continue;
            }
            Value::Bytes(b) => {
                if first(&mut out, "B", b.as_ptr() as usize) {
                    write!(out, "({b:?})").unwrap();
                }
                continue;
            }
            Value::ByteArray(b) => {
                if first(&mut out, "BA", Arc::as_ptr(b) as usize) {
                    write!(out, "({b:?})").unwrap();
                }
                continue;
            }
            Value::Global(g) => {
                if first(&mut out, "G", Arc::as_ptr(g) as usize) {
                    write!(out, "({:?} {:?})", g.module, g.name).unwrap();
                }
                continue;
            }
            Value::Ref(id) => {
                write!(out, "R{id}").unwrap();
                continue;
            }
            Value::Anchor(id, inner) => {
                write!(out, "A{id}").unwrap();
                vec![&**inner]
            }
            Value::Effects(e) => {
                write!(out, "E{}", e.steps.len()).unwrap();
                std::iter::once(&e.target).chain(e.step_values()).collect()
            }
            Value::List(a) | Value::Tuple(a) | Value::Set(a) | Value::FrozenSet(a) => {
                let tag = match v {
                    Value::List(_) => "L",
                    Value::Tuple(_) => "T",
                    Value::Set(_) => "ST",
                    _ => "FS",
                };
                if !first(&mut out, tag, Arc::as_ptr(a) as usize) {
                    continue;
                }
                a.iter().collect()
            }
            Value::Dict(a) => {
                if !first(&mut out, "D", Arc::as_ptr(a) as usize) {
                    continue;
                }
                a.iter().flat_map(|(k, v)| [k, v]).collect()
            }
            Value::Object(o) => {
                if !first(&mut out, "O", Arc::as_ptr(o) as usize) {
                    continue;
                }
                write!(
                    out,
                    "{:?}/{}/{}/{}/{}/{}",
                    o.construct,
                    o.args.len(),
                    o.kwargs.is_some(),
                    o.state.is_some(),
                    o.list_items.len(),
                    o.dict_items.len()
                )
                .unwrap();
                let mut c = vec![&o.callable];
                c.extend(o.args.iter());
                c.extend(o.kwargs.iter());
                c.extend(o.state.iter());
                c.extend(o.list_items.iter());
                c.extend(o.dict_items.iter().flat_map(|(k, v)| [k, v]));
                c
            }
        };
        out.push('(');
        stack.push(Item::Text(")"));
        for c in children.into_iter().rev() {
            stack.push(Item::V(c));
            stack.push(Item::Text(","));
        }
    }
    out
}

/// `decode` (fast path, then graph) and the graph decoder alone agree on `data`.
fn agree(label: &str, data: &[u8], o: &DecodeOptions) {
    let both = decode(data, o);
    let graph = decode_graph(data, o);
    match (&both, &graph) {
        (Ok(a), Ok(b)) => assert_eq!(describe(a), describe(b), "{label}"),
        (Err(a), Err(b)) => assert_eq!(a, b, "{label}"),
        _ => panic!("{label}: {both:?} vs {graph:?}"),
    }
    if graph.is_err() {
        assert!(
            fast::decode(data, o).is_none(),
            "{label}: fast path accepted it"
        );
    }
}

#[test]
fn fast_path_equals_graph_decoder_on_every_fixture() {
    let o = DecodeOptions::default();
    let mut fast_ok = 0;
    let mut total = 0;
    for (label, data) in fixtures() {
        total += 1;
        let graph = decode_graph(&data, &o);
        match fast::decode(&data, &o) {
            Some(v) => {
                fast_ok += 1;
                let g = graph.unwrap_or_else(|e| panic!("{label}: fast ok, graph {e}"));
                assert_eq!(describe(&v), describe(&g), "{label}");
            }
            None => {
                if let Ok(g) = &graph {
                    // Cycles and protocol 0/1 text opcodes are left to the graph decoder.
                    let _ = describe(g);
                }
            }
        }
    }
    // The fast path must actually take the fixtures it is meant for.
    assert!(
        fast_ok * 10 >= total * 6,
        "fast path took {fast_ok} of {total}"
    );
}

/// True when `v` holds a cycle (`Value::Anchor` anywhere inside).
fn has_cycle(v: &Value) -> bool {
    let mut work = vec![v];
    while let Some(v) = work.pop() {
        match v {
            Value::Anchor(..) | Value::Ref(_) => return true,
            Value::List(a) | Value::Tuple(a) | Value::Set(a) | Value::FrozenSet(a) => {
                work.extend(a.iter())
            }
            Value::Dict(a) => work.extend(a.iter().flat_map(|(k, v)| [k, v])),
            Value::Object(o) => {
                work.push(&o.callable);
                work.extend(o.args.iter());
                work.extend(o.kwargs.iter());
                work.extend(o.state.iter());
                work.extend(o.list_items.iter());
                work.extend(o.dict_items.iter().flat_map(|(k, v)| [k, v]));
            }
            _ => {}
        }
    }
    false
}

#[test]
fn fast_path_takes_every_acyclic_protocol_2_to_5_fixture() {
    let o = DecodeOptions::default();
    for (label, data) in fixtures() {
        if data.first() != Some(&0x80) || fast::decode(&data, &o).is_some() {
            continue;
        }
        if let Ok(g) = decode_graph(&data, &o) {
            assert!(
                has_cycle(&g),
                "{label}: fast path gave up on an acyclic value"
            );
        }
    }
}

/// A tiny deterministic generator for the mutation tests.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn truncated_and_mutated_fixtures_give_the_same_result_either_way() {
    let limits = [
        DecodeOptions::default(),
        DecodeOptions::new().max_depth(2),
        DecodeOptions::new().max_memo(3),
        DecodeOptions::new().max_alloc(600),
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (label, data) in fixtures() {
        if data.len() > 4096 {
            continue;
        }
        for o in &limits {
            agree(&label, &data, o);
        }
        let step = (data.len() / 24).max(1);
        for cut in (0..data.len()).step_by(step) {
            agree(&format!("{label} cut {cut}"), &data[..cut], &limits[0]);
        }
        for round in 0..6 {
            let mut b = data.clone();
            let i = (rng.next() as usize) % b.len();
            b[i] = match round % 3 {
                0 => rng.next() as u8,
                1 => b[i].wrapping_add(1),
                _ => b[i] ^ 0x80,
            };
            agree(&format!("{label} mutate {i}"), &b, &limits[0]);
            let o = &limits[(round % 3) + 1];
            agree(&format!("{label} mutate {i} limits"), &b, o);
        }
    }
}

#[test]
fn limits_on_hand_written_pickles_agree() {
    // Nesting measured through shared values, memo overwrites, sparse memo indices,
    // in-place changes after sharing, DUP, POP of a MARK, READONLY_BUFFER.
    let cases: &[&[u8]] = &[
        b"\x80\x04]\x94]\x94h\x01a.",        // [[]] via GET: shared, appended
        b"\x80\x04]\x94h\x00a.",             // l.append(l): cycle
        b"\x80\x04]\x94)\x94h\x00\x85a.",    // ([l],) appended into l
        b"\x80\x04]q\x00]q\x00h\x00.",       // memo overwrite
        b"\x80\x04]r\x00\x00\x01\x00h\x00.", // PUT past the dense range
        b"\x80\x04]2a.",                     // DUP then APPEND: l in l
        b"\x80\x04](0a.",                    // POP of a MARK
        b"\x80\x05\x96\x03\x00\x00\x00\x00\x00\x00\x00abc\x98.", // READONLY_BUFFER
        b"\x80\x04]]]]aaa.",                 // depth 4
        b"\x80\x04]\x94]\x94]\x94h\x02h\x01\x86h\x00\x87.", // tuple of shared lists
        b"\x80\x04}\x94h\x00h\x00s.",        // d[d] = d
        b"\x80\x04\x8c\x08builtins\x8c\x03set\x93]K\x01a\x85R.", // set([1])
        b"\x80\x04\x8c\x01m\x8c\x01C\x93)\x81}\x8c\x01a\x8c\x01bsb.", // BUILD
        b"\x80\x04\x8c\x01m\x8c\x01C\x93)\x81\x94h\x00b.", // BUILD with itself
    ];
    for data in cases {
        for depth in 0..6 {
            for alloc in [0, 100, 200, 400, 10_000] {
                for memo in [0, 1, 2, 100] {
                    let o = DecodeOptions::new()
                        .max_depth(depth)
                        .max_alloc(alloc)
                        .max_memo(memo);
                    agree(&format!("{data:?} {depth} {alloc} {memo}"), data, &o);
                }
            }
        }
        agree(&format!("{data:?}"), data, &DecodeOptions::default());
    }
}

#[test]
fn depth_through_shared_values_is_never_refused_by_the_fast_path_alone() {
    // [c, [[c]]] with c nested 3 deep: the graph decoder measures 4, the longest path is
    // 6; between the two limits only the graph decoder can answer.
    let data = b"\x80\x04(]]]aa\x94]]h\x00aal.";
    for depth in 0..8 {
        agree(
            &format!("depth {depth}"),
            data,
            &DecodeOptions::new().max_depth(depth),
        );
    }
}

mod random_programs {
    //! Random opcode sequences from a small alphabet that builds, shares, mutates after
    //! sharing, makes cycles and underflows: whatever comes out, `decode` (fast path
    //! first) and the graph decoder alone must agree, errors included.

    use std::sync::OnceLock;

    use proptest::prelude::*;

    use super::agree;
    use crate::pickle::DecodeOptions;

    /// One opcode with its argument bytes.
    fn op() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(b"]".to_vec()),
            Just(b"}".to_vec()),
            Just(b")".to_vec()),
            Just(b"\x8f".to_vec()),
            Just(b"(".to_vec()),
            Just(b"a".to_vec()),
            Just(b"e".to_vec()),
            Just(b"s".to_vec()),
            Just(b"u".to_vec()),
            Just(b"\x90".to_vec()),
            Just(b"l".to_vec()),
            Just(b"t".to_vec()),
            Just(b"d".to_vec()),
            Just(b"\x91".to_vec()),
            Just(b"\x85".to_vec()),
            Just(b"\x86".to_vec()),
            Just(b"\x87".to_vec()),
            Just(b"0".to_vec()),
            Just(b"1".to_vec()),
            Just(b"2".to_vec()),
            Just(b"\x94".to_vec()),
            Just(b"N".to_vec()),
            Just(b"\x88".to_vec()),
            (0u8..4).prop_map(|i| vec![b'h', i]),
            (0u8..4).prop_map(|i| vec![b'q', i]),
            (0u8..255).prop_map(|i| vec![b'K', i]),
            (0u8..3).prop_map(|n| {
                let mut v = vec![0x8c, n];
                v.extend(vec![b'x'; n as usize]);
                v
            }),
            Just(b"\x8c\x08builtins\x8c\x03set\x93".to_vec()),
            Just(b"\x8c\x01m\x8c\x01C\x93".to_vec()),
            Just(b"R".to_vec()),
            Just(b"\x81".to_vec()),
            Just(b"b".to_vec()),
            Just(b"\x96\x01\x00\x00\x00\x00\x00\x00\x00z".to_vec()),
            Just(b"\x98".to_vec()),
        ]
    }

    fn limits() -> &'static [DecodeOptions] {
        static L: OnceLock<Vec<DecodeOptions>> = OnceLock::new();
        L.get_or_init(|| {
            vec![
                DecodeOptions::default(),
                DecodeOptions::new().max_depth(3),
                DecodeOptions::new().max_memo(2),
                DecodeOptions::new().max_alloc(400),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn random_programs_agree(ops in prop::collection::vec(op(), 0..40), stop in any::<bool>()) {
            let mut data = b"\x80\x04".to_vec();
            for o in &ops {
                data.extend_from_slice(o);
            }
            if stop {
                data.push(b'.');
            }
            for o in limits() {
                agree(&format!("{data:?}"), &data, o);
            }
        }

        #[test]
        fn mutated_fixtures_agree(pick in any::<prop::sample::Index>(),
                                  edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
                                  cut in any::<prop::sample::Index>(), truncate in any::<bool>()) {
            static F: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
            let all = F.get_or_init(super::fixtures);
            let (label, data) = &all[pick.index(all.len())];
            let mut b = data.clone();
            for (at, byte) in &edits {
                let i = at.index(b.len());
                b[i] = *byte;
            }
            if truncate {
                b.truncate(cut.index(b.len() + 1));
            }
            agree(label, &b, &limits()[0]);
        }
    }
}

#[test]
fn gets_after_the_memo_scan_starts_find_their_values() {
    // 100 memoized strings (the scan starts after the 64th), then GETs of an index stored
    // before the scan and of one stored after it, and a GET of an index never stored.
    let mut data = b"\x80\x04]\x94(".to_vec();
    for i in 0..100u8 {
        data.extend_from_slice(&[0x8c, 1, b'0' + i % 10, 0x94]);
    }
    let good = [&data[..], b"h\x05h\x5ae."].concat();
    let v = fast::decode(&good, &DecodeOptions::default()).expect("fast path takes it");
    let Value::List(items) = &v else { panic!() };
    assert_eq!(items.len(), 102);
    let (Value::Str(a), Value::Str(b)) = (&items[4], &items[100]) else {
        panic!()
    };
    assert_eq!(
        a.as_bytes().as_ptr(),
        b.as_bytes().as_ptr(),
        "GET 5 is item 4"
    );
    let (Value::Str(a), Value::Str(b)) = (&items[89], &items[101]) else {
        panic!()
    };
    assert_eq!(
        a.as_bytes().as_ptr(),
        b.as_bytes().as_ptr(),
        "GET 90 is item 89"
    );
    agree("good", &good, &DecodeOptions::default());
    let missing = [&data[..], b"h\xc8e."].concat();
    agree("missing", &missing, &DecodeOptions::default());
    for memo in [63, 64, 65, 100, 101] {
        agree(
            &format!("max_memo {memo}"),
            &good,
            &DecodeOptions::new().max_memo(memo),
        );
    }
}

#[test]
fn an_empty_fill_with_nothing_below_its_mark_is_refused_as_cpython_refuses_it() {
    // Found by `random_programs_agree` under wine: `MARK SETITEMS` (and APPENDS,
    // ADDITEMS) with no items and no container below the mark is a stack underflow for
    // CPython 3.11 (`pickle.loads(b'\x80\x04(u(l.')`), not a fill of nothing.
    for data in [
        &b"\x80\x04(u(l."[..],
        &b"\x80\x04(e(l."[..],
        &b"\x80\x04(\x90(l."[..],
    ] {
        let o = DecodeOptions::default();
        assert!(
            fast::decode(data, &o).is_none(),
            "{data:?}: fast path took it"
        );
        assert!(
            decode_graph(data, &o).is_err(),
            "{data:?}: graph decoder took it"
        );
        agree("empty fill", data, &o);
    }
    // With a container below the mark an empty fill is nothing, as in CPython.
    agree(
        "empty fill of a list",
        b"\x80\x04](e.",
        &DecodeOptions::default(),
    );
}
