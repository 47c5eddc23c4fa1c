//! Shared memory against CPython: `ShareableList` blocks CPython wrote (fixtures from
//! `python_interop/record_shared_memory.py`, one file per interpreter) decode to the
//! same items and encode to the same bytes; assignments change the bytes as CPython's
//! do. The live interop (Python creates / Rust reads and writes, and the reverse; both
//! `SharedMemoryManager` directions, on every interpreter) is in
//! `python_interop/test_shared_memory.py`; here, a Rust client and a Rust server.

use std::path::{Path, PathBuf};

use mpconn::shared_memory::{layout, Item};
use mpconn::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn fixture_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join("fixtures/shared_memory"))
        .expect("fixtures/shared_memory exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        4,
        "one fixture file per interpreter: {files:?}"
    );
    files
}

fn items(literal: &str) -> Vec<Item> {
    let value: Value = literal.parse().unwrap_or_else(|e| panic!("{literal}: {e}"));
    value
        .as_list()
        .expect("a list literal")
        .iter()
        .map(|v| Item::from_value(v).unwrap_or_else(|| panic!("not an item: {v}")))
        .collect()
}

fn item(literal: &str) -> Item {
    items(&format!("[{literal}]")).remove(0)
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

struct Case {
    file: String,
    name: String,
    items: Vec<Item>,
    sets: Vec<(usize, Item)>,
    last: Vec<Item>,
    format: String,
    block: Vec<u8>,
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for path in fixture_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        for case in json.as_array().unwrap() {
            out.push(Case {
                file: path.file_name().unwrap().to_string_lossy().into_owned(),
                name: case["name"].as_str().unwrap().to_string(),
                items: items(case["items"].as_str().unwrap()),
                sets: case["sets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| {
                        (
                            s[0].as_u64().unwrap() as usize,
                            item(s[1].as_str().unwrap()),
                        )
                    })
                    .collect(),
                last: items(case["final"].as_str().unwrap()),
                format: case["format"].as_str().unwrap().to_string(),
                block: hex(case["block"].as_str().unwrap()),
            });
        }
    }
    assert!(out.len() >= 24, "{} cases", out.len());
    out
}

#[test]
fn cpython_blocks_decode_to_their_items_and_format() {
    for c in cases() {
        assert_eq!(
            layout::decode(&c.block).unwrap(),
            c.last,
            "{} {}: decoded items differ",
            c.file,
            c.name
        );
        assert_eq!(
            layout::format(&c.block).unwrap(),
            c.format,
            "{} {}",
            c.file,
            c.name
        );
    }
}

#[test]
fn encoding_and_assigning_gives_cpythons_bytes() {
    for c in cases() {
        let mut block = layout::encode(&c.items).unwrap();
        for (index, value) in &c.sets {
            layout::set(&mut block, *index, value).unwrap();
        }
        assert_eq!(
            block, c.block,
            "{} {}: the block differs from CPython's",
            c.file, c.name
        );
    }
}

#[test]
fn reading_single_items_matches_the_whole_list() {
    for c in cases() {
        for (i, expected) in c.last.iter().enumerate() {
            assert_eq!(
                &layout::get(&c.block, i).unwrap(),
                expected,
                "{} {}[{i}]",
                c.file,
                c.name
            );
        }
        assert!(layout::get(&c.block, c.last.len()).is_err());
    }
}

#[cfg(unix)]
#[test]
fn a_rust_shared_memory_manager_releases_what_it_tracks_when_stopped() {
    use mpconn::managers::{ManagerClient, ManagerError, ManagerServer, Registry};
    use mpconn::shared_memory::{SharedMemory, SharedMemoryError};

    let gone = |name: &str| {
        matches!(SharedMemory::open(name),
            Err(SharedMemoryError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound)
    };
    let mut registry = Registry::new();
    let segments = registry.track_shared_memory();
    let server = ManagerServer::bind(&"127.0.0.1:0".parse().unwrap(), Some(b"k"), registry)
        .unwrap()
        .spawn()
        .unwrap();
    let m = ManagerClient::connect(server.address(), Some(b"k")).unwrap();
    let block = m.shared_memory(10).unwrap();
    let list = m.shareable_list(&[Item::Int(1), Item::from("a")]).unwrap();
    assert_eq!(segments.segments(), [block.name(), list.name()]);
    assert_eq!(m.list_segments().unwrap(), [block.name(), list.name()]);
    m.release_segment(list.name()).unwrap();
    assert!(gone(list.name()));
    assert!(matches!(
        m.release_segment(list.name()),
        Err(ManagerError::Traceback(t)) if t.contains("ValueError")
    ));
    assert!(!gone(block.name()));
    server.shutdown().unwrap();
    assert!(
        gone(block.name()),
        "stopping the server unlinks the tracked block"
    );
    assert!(segments.segments().is_empty());
}

#[test]
fn a_plain_manager_does_not_know_the_segment_calls() {
    use mpconn::managers::{ManagerClient, ManagerError, ManagerServer, Registry};

    let server = ManagerServer::bind(&"127.0.0.1:0".parse().unwrap(), None, Registry::new())
        .unwrap()
        .spawn()
        .unwrap();
    let m = ManagerClient::connect(server.address(), None).unwrap();
    assert!(matches!(
        m.list_segments(),
        Err(ManagerError::Traceback(t)) if t.contains("'list_segments' unrecognized")
    ));
    server.shutdown().unwrap();
}

mod generated {
    use mpconn::shared_memory::{layout, Item, SharedMemoryError};
    use proptest::prelude::*;

    fn item() -> impl Strategy<Value = Item> {
        prop_oneof![
            any::<i64>().prop_map(Item::Int),
            any::<f64>()
                .prop_filter("NaN never equals itself", |f| !f.is_nan())
                .prop_map(Item::Float),
            any::<bool>().prop_map(Item::Bool),
            ".{0,40}".prop_map(Item::Str),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Item::Bytes),
            Just(Item::None),
        ]
    }

    fn ends_in_nul(item: &Item) -> bool {
        match item {
            Item::Str(s) => s.ends_with('\0'),
            Item::Bytes(b) => b.last() == Some(&0),
            _ => false,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn encoded_lists_decode_to_the_same_items(items in proptest::collection::vec(item(), 0..12)) {
            match layout::encode(&items) {
                Ok(block) => prop_assert_eq!(layout::decode(&block).unwrap(), items),
                Err(SharedMemoryError::TrailingNul) => {
                    prop_assert!(items.iter().any(ends_in_nul))
                }
                Err(e) => prop_assert!(false, "{e}"),
            }
        }

        #[test]
        fn assigned_items_are_read_back_or_refused(
            items in proptest::collection::vec(item(), 1..8),
            index in 0usize..8,
            value in item(),
        ) {
            let items: Vec<Item> = items.into_iter().filter(|i| !ends_in_nul(i)).collect();
            prop_assume!(!items.is_empty());
            let mut block = layout::encode(&items).unwrap();
            match layout::set(&mut block, index, &value) {
                Ok(()) => prop_assert_eq!(layout::get(&block, index).unwrap(), value),
                Err(SharedMemoryError::IndexOutOfRange { .. }) => prop_assert!(index >= items.len()),
                Err(SharedMemoryError::TooLong { .. } | SharedMemoryError::TrailingNul) => {
                    prop_assert_eq!(layout::decode(&block).unwrap(), items)
                }
                Err(e) => prop_assert!(false, "{e}"),
            }
        }

        #[test]
        fn damaged_blocks_give_items_or_errors_never_a_panic(
            items in proptest::collection::vec(item(), 0..6),
            damage in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
            index in 0usize..6,
            value in item(),
        ) {
            let items: Vec<Item> = items.into_iter().filter(|i| !ends_in_nul(i)).collect();
            let mut block = layout::encode(&items).unwrap();
            for (at, byte) in damage {
                let at = at % block.len();
                block[at] = byte;
            }
            let _ = layout::decode(&block);
            let _ = layout::format(&block);
            let _ = layout::get(&block, index);
            let _ = layout::set(&mut block, index, &value);
        }
    }
}
