//! Reading the fixtures recorded by python_interop/record_handshake.py.
//!
//! Each case is one JSON object on its own line whose keys and values are plain strings
//! without escapes, so a tiny tokenizer is enough (no JSON library needed).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

/// One recorded case: key → value.
pub type Case = BTreeMap<String, String>;

/// Every `(python version, cases)` under fixtures/<folder>/, sorted by version.
pub fn load(folder: &str) -> Vec<(String, Vec<Case>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(folder);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
        .into_iter()
        .map(|path| {
            let version = path.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let cases = text
                .lines()
                .filter(|l| l.starts_with("{\"kind\""))
                .map(parse_line)
                .collect();
            (version, cases)
        })
        .collect()
}

fn parse_line(line: &str) -> Case {
    let strings: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
    assert!(strings.len() % 2 == 0, "odd number of strings in {line}");
    strings
        .chunks(2)
        .map(|kv| (kv[0].to_string(), kv[1].to_string()))
        .collect()
}

/// Decodes a hex string.
pub fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The bytes os.urandom returned while recording.
pub fn fixed_random(n: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 7) % 256) as u8).collect()
}
