//! decode → encode → decode gives an equal value (for values without NaN, where Python's
//! own equality is not reflexive), compared by repr — which prints effects too (discarded
//! calls, state setters, late fills: `value/effects.rs`) — and, with protocols 3 to 5,
//! encode → decode → encode gives the same bytes: every effect, its place and every
//! memo reference survive a Rust hop, so the re-encoding does in CPython what the input
//! did (`tests/pickle_effects_proptest.rs` checks that against CPython itself).
//!
//! The reprs are compared on their first 64 KiB: a pickle of a few kilobytes can share one
//! container thousands of times over (a DAG through the memo), and its repr, like
//! CPython's, is as long as the tree it unfolds into.
#![no_main]
use std::fmt::Write;

use libfuzzer_sys::fuzz_target;
use mpconn::pickle::PickleErrorKind;

const REPR_LIMIT: usize = 64 << 10;

/// A `fmt::Write` that fails once `left` bytes are used up (the repr stops there).
struct Limited {
    out: String,
    left: usize,
}

impl Write for Limited {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        // Keep exactly the first REPR_LIMIT bytes (cutting inside a piece if needed),
        // so that two reprs with the same start compare equal.
        let take = s.len().min(self.left);
        let cut = (0..=take)
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        self.out.push_str(&s[..cut]);
        self.left -= cut;
        if cut < s.len() {
            self.left = 0;
            return Err(std::fmt::Error);
        }
        Ok(())
    }
}

fn repr(v: &mpconn::Value) -> String {
    let mut w = Limited {
        out: String::new(),
        left: REPR_LIMIT,
    };
    let _ = write!(w, "{v}");
    w.out
}

/// encode with `protocol`; `None` when the value cannot be written with that protocol (a
/// GLOBAL text line below protocol 4 cannot hold every name, as in CPython; ADDITEMS
/// after the fact needs protocol 4).
fn encode(v: &mpconn::Value, protocol: u8) -> Option<Vec<u8>> {
    match mpconn::pickle::dumps_with(v, &mpconn::EncodeOptions::protocol(protocol)) {
        Ok(b) => Some(b),
        Err(e) if protocol < 4 && matches!(e.kind, PickleErrorKind::Unencodable(_)) => None,
        Err(e) => panic!("a decoded value always encodes with protocol {protocol}: {e:?}"),
    }
}

/// encode with `protocol`, then decode (see [`encode`] for `None`).
fn round_trip(
    v: &mpconn::Value,
    protocol: u8,
    opts: &mpconn::DecodeOptions,
) -> Option<mpconn::Value> {
    let bytes = encode(v, protocol)?;
    // Another protocol may cost the decoder more for the same value (protocol 2 writes
    // bytes as `_codecs.encode(str, 'latin1')`; a memoized argument tuple read by many
    // REDUCEs is written out at each one): allow our own pickle more room.
    let roomy = opts.clone().max_alloc(opts.max_alloc.saturating_mul(256));
    Some(mpconn::pickle::loads_with(&bytes, &roomy).expect("our own pickle decodes"))
}

fuzz_target!(|data: &[u8]| {
    let opts = mpconn::DecodeOptions::new().max_alloc(256 << 10);
    let Ok(v) = mpconn::pickle::loads_with(data, &opts) else {
        return;
    };
    let text = repr(&v);
    if text.contains("nan") {
        return;
    }
    // The encoder rewrites two things into equal objects of another shape, as CPython
    // would load them: INST / OBJ objects become REDUCE or NEWOBJ, and protocol 2 maps
    // module names to and from their Python 2 spellings (fix_imports: a global in a
    // module literally named `__builtin__` comes back in `builtins`). Where either may
    // apply (protocol 2, or an `i` / `o` byte anywhere in the input), one round trip may
    // change the shape, and the value must be stable from then on; elsewhere the first
    // round trip must give the same value.
    let may_rewrite = data.iter().any(|&b| b == b'i' || b == b'o');
    for protocol in [2u8, 3, 4, 5] {
        let Some(back) = round_trip(&v, protocol, &opts) else {
            continue;
        };
        if protocol >= 3 && !may_rewrite {
            assert_eq!(repr(&back), text, "protocol {protocol}");
            assert_eq!(back, v, "protocol {protocol}: values differ");
            assert!(
                encode(&back, protocol) == encode(&v, protocol),
                "protocol {protocol}: re-encoding the decoded pickle gives other bytes"
            );
        } else {
            let again = round_trip(&back, protocol, &opts).expect("encoded once already");
            assert_eq!(
                repr(&again),
                repr(&back),
                "protocol {protocol}, second round trip"
            );
        }
    }
});
