//! Any bytes into the pickle decoder: a typed error or a value, never a panic, and the
//! value prints (repr) and compares without recursion.
//!
//! The repr is cut at 64 KiB: a pickle of a few kilobytes can share one container
//! thousands of times over (a DAG through the memo), and its repr, like CPython's, is as
//! long as the tree it unfolds into.
#![no_main]
use std::fmt::Write;

use libfuzzer_sys::fuzz_target;

/// A `fmt::Write` that fails once `left` bytes are used up (the repr stops there).
struct Limited {
    out: String,
    left: usize,
}

impl Write for Limited {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if s.len() > self.left {
            return Err(std::fmt::Error);
        }
        self.left -= s.len();
        self.out.push_str(s);
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let opts = mpconn::DecodeOptions::new().max_alloc(4 << 20);
    if let Ok(v) = mpconn::pickle::loads_with(data, &opts) {
        let mut w = Limited {
            out: String::new(),
            left: 64 << 10,
        };
        let _ = write!(w, "{v}");
        let _ = v == v.clone();
    }
});
