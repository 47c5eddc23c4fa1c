//! Whatever bytes a peer sends, `dis` (which `mpconn proxy --dis` runs on every message)
//! and the recording reader return, with an error or not, and never panic; a bounded
//! disassembly stays within its bound (plus the last line).

use mpconn::pickle::dis::{DisOptions, Disassembler, Pickletools};
use proptest::prelude::*;

/// Opcode bytes and argument-ish bytes, so that inputs get past the first opcode often.
fn pickle_like() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        prop::sample::select(b"(.0123456789IJKLMNSTUVXabcdeghijlopqrstu]})\n'\"\\ ".to_vec()),
        0x80u8..=0x98,
        any::<u8>(),
    ];
    prop::collection::vec(byte, 0..400)
}

proptest! {
    #[test]
    fn dis_never_panics(data in pickle_like()) {
        for version in [Pickletools::Py311, Pickletools::Py313, Pickletools::Py314, Pickletools::Py315] {
            for annotate in [0, 30] {
                let options = DisOptions::new()
                    .version(version)
                    .annotate(annotate)
                    .max_output(Some(4096));
                let mut out = String::new();
                let _ = Disassembler::new(options).dis_into(&data, &mut out);
                prop_assert!(out.len() <= 4096 + 2 * data.len() + 200);
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn recording_reader_never_panics(tail in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut data = b"MPCONNRC\0\0\0\x01".to_vec();
        data.extend_from_slice(&tail);
        if let Ok(reader) = mpconn::recording::RecordingReader::new(&data[..]) {
            for record in reader {
                let _ = record;
            }
        }
    }
}
