//! Any bytes into the typed decoder (`from_slice`, what `recv_obj` runs on a peer's
//! message): a value or a typed error, never a panic, for a few shapes of type.
#![no_main]
use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = mpconn::DecodeOptions::new().max_alloc(4 << 20);
    let _ = mpconn::pickle::from_slice_with::<Vec<(i64, Option<String>)>>(data, &opts);
    let _ = mpconn::pickle::from_slice_with::<BTreeMap<String, Vec<f64>>>(data, &opts);
    let _ = mpconn::pickle::from_slice_with::<(u8, Vec<Vec<u32>>, bool)>(data, &opts);
    let _ = mpconn::pickle::from_slice_with::<Vec<&str>>(data, &opts);
});
