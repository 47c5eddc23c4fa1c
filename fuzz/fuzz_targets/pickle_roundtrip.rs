//! decode → encode → decode gives an equal value (for values without NaN, where Python's
//! own equality is not reflexive).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = mpconn::DecodeOptions::new().max_alloc(64 << 20);
    let Ok(v) = mpconn::pickle::loads_with(data, &opts) else { return };
    let text = v.to_string();
    if text.contains("nan") {
        return;
    }
    for protocol in [2u8, 3, 4, 5] {
        let bytes = mpconn::pickle::dumps_with(&v, &mpconn::EncodeOptions::protocol(protocol))
            .expect("a decoded value always encodes");
        let back = mpconn::pickle::loads_with(&bytes, &opts).expect("our own pickle decodes");
        assert_eq!(back.to_string(), text, "protocol {protocol}");
    }
});
