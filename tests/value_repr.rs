//! `Value`'s `Display` and `FromStr` against CPython 3.11's `repr` and `ast.literal_eval`,
//! recorded by `python_interop/record_reprs.py` into `fixtures/reprs/reprs.json`.

use std::collections::BTreeMap;
use std::sync::Arc;

use mpconn::value::Global;
use mpconn::Value;

/// One fixture entry: a flat JSON object of strings.
type Entry = BTreeMap<String, String>;

/// Reads the fixture file: a JSON array of flat objects whose values are strings.
fn load() -> Vec<Entry> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/reprs/reprs.json");
    let text = std::fs::read_to_string(path).expect("fixtures/reprs/reprs.json is readable");
    let mut p = Json {
        s: text.as_bytes(),
        i: 0,
    };
    p.array()
}

/// A minimal JSON reader for the fixture's shape (array of objects of strings).
struct Json<'a> {
    s: &'a [u8],
    i: usize,
}

impl Json<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) {
        self.ws();
        assert_eq!(
            self.s[self.i] as char, c as char,
            "fixture JSON at byte {}",
            self.i
        );
        self.i += 1;
    }
    fn peek(&mut self) -> u8 {
        self.ws();
        self.s[self.i]
    }
    fn array(&mut self) -> Vec<Entry> {
        let mut out = Vec::new();
        self.eat(b'[');
        while self.peek() != b']' {
            out.push(self.object());
            if self.peek() == b',' {
                self.i += 1;
            }
        }
        self.eat(b']');
        out
    }
    fn object(&mut self) -> Entry {
        let mut out = Entry::new();
        self.eat(b'{');
        while self.peek() != b'}' {
            let k = self.string();
            self.eat(b':');
            let v = self.string();
            out.insert(k, v);
            if self.peek() == b',' {
                self.i += 1;
            }
        }
        self.eat(b'}');
        out
    }
    fn hex4(&mut self) -> u32 {
        let h = std::str::from_utf8(&self.s[self.i..self.i + 4]).unwrap();
        self.i += 4;
        u32::from_str_radix(h, 16).unwrap()
    }
    fn string(&mut self) -> String {
        self.eat(b'"');
        let mut out = String::new();
        loop {
            let c = self.s[self.i];
            self.i += 1;
            match c {
                b'"' => return out,
                b'\\' => {
                    let e = self.s[self.i];
                    self.i += 1;
                    match e {
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        b'r' => out.push('\r'),
                        b'b' => out.push('\x08'),
                        b'f' => out.push('\x0c'),
                        b'u' => {
                            let mut cp = self.hex4();
                            if (0xd800..0xdc00).contains(&cp) {
                                assert_eq!(&self.s[self.i..self.i + 2], b"\\u");
                                self.i += 2;
                                let lo = self.hex4();
                                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                            }
                            out.push(char::from_u32(cp).expect("no lone surrogates in fixtures"));
                        }
                        other => out.push(other as char),
                    }
                }
                _ => out.push(c as char), // the file is ASCII (ensure_ascii)
            }
        }
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The recursive values the script builds, by name, as the decoder would give them.
fn recursive(name: &str) -> Value {
    match name {
        // a = []; a.append(a)
        "list_self" => Value::Anchor(1, Box::new(Value::list(vec![Value::Ref(1)]))),
        // d = {}; d['self'] = d
        "dict_self" => Value::Anchor(
            1,
            Box::new(Value::dict(vec![(Value::from("self"), Value::Ref(1))])),
        ),
        // b = [1]; t = (b, 2); b.append(t); repr(t)
        "tuple_in_list" => Value::Anchor(
            7,
            Box::new(Value::tuple(vec![
                Value::list(vec![Value::Int(1), Value::Ref(7)]),
                Value::Int(2),
            ])),
        ),
        // c = []; c.append({'k': c})
        "list_dict_list" => Value::Anchor(
            3,
            Box::new(Value::list(vec![Value::dict(vec![(
                Value::from("k"),
                Value::Ref(3),
            )])])),
        ),
        other => panic!("unknown recursive case {other}"),
    }
}

#[test]
fn display_and_parse_match_cpython() {
    let entries = load();
    assert!(
        entries.len() > 2000,
        "catalogue has {} entries",
        entries.len()
    );
    let mut failures = Vec::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &entries {
        let kind = e["kind"].as_str();
        *counts.entry(kind).or_default() += 1;
        match kind {
            "literal" => {
                let src = &e["src"];
                match src.parse::<Value>() {
                    Ok(v) => {
                        let got = v.to_string();
                        if got != e["repr"] {
                            failures.push(format!(
                                "literal {src:?}: repr {got:?}, CPython {:?}",
                                e["repr"]
                            ));
                        }
                        // The repr is itself a literal for the same value.
                        match got.parse::<Value>() {
                            Ok(back) if back == v => {}
                            Ok(back) => failures.push(format!(
                                "literal {src:?}: repr {got:?} parses back as {back}"
                            )),
                            // `inf` and `nan` print as names, which are not literals.
                            Err(_) if got.contains("inf") || got.contains("nan") => {}
                            Err(err) => failures
                                .push(format!("literal {src:?}: repr {got:?} refused: {err}")),
                        }
                    }
                    Err(err) => failures.push(format!("literal {src:?} refused: {err}")),
                }
            }
            "float" => {
                let bits = u64::from_str_radix(&e["bits"], 16).unwrap();
                let x = f64::from_bits(bits);
                let got = Value::Float(x).to_string();
                if got != e["repr"] {
                    failures.push(format!(
                        "float {x:e}: repr {got:?}, CPython {:?}",
                        e["repr"]
                    ));
                }
                if x.is_finite() {
                    match e["repr"].parse::<Value>() {
                        Ok(Value::Float(y)) if y.to_bits() == bits => {}
                        other => failures.push(format!(
                            "float repr {:?} parsed back as {other:?}",
                            e["repr"]
                        )),
                    }
                }
            }
            "bytearray" => {
                let v = Value::ByteArray(Arc::new(hex(&e["hex"])));
                let got = v.to_string();
                if got != e["repr"] {
                    failures.push(format!("bytearray: repr {got:?}, CPython {:?}", e["repr"]));
                }
            }
            "global" => {
                let v = Value::Global(Arc::new(Global::new(&e["module"], &e["name"])));
                let got = v.to_string();
                if got != e["repr"] {
                    failures.push(format!("global: repr {got:?}, CPython {:?}", e["repr"]));
                }
            }
            "recursive" => {
                let got = recursive(&e["name"]).to_string();
                if got != e["repr"] {
                    failures.push(format!(
                        "recursive {}: repr {got:?}, CPython {:?}",
                        e["name"], e["repr"]
                    ));
                }
            }
            "error" => {
                if let Ok(v) = e["src"].parse::<Value>() {
                    failures.push(format!(
                        "{:?} is refused by literal_eval but parsed as {v}",
                        e["src"]
                    ));
                }
            }
            other => panic!("unknown fixture kind {other}"),
        }
    }
    eprintln!("checked {counts:?}");
    assert!(
        failures.is_empty(),
        "{} of {} fixture entries differ from CPython:\n{}",
        failures.len(),
        entries.len(),
        failures.join("\n")
    );
}
