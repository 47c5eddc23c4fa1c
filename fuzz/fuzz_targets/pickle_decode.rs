//! Any bytes into the pickle decoder: a typed error or a value, never a panic, and the
//! value prints (repr) and compares without recursion.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = mpconn::DecodeOptions::new().max_alloc(64 << 20);
    if let Ok(v) = mpconn::pickle::loads_with(data, &opts) {
        let _ = v.to_string();
        let _ = v == v.clone();
    }
});
