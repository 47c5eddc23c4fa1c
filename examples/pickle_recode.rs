//! Decodes pickle files into `mpconn::Value` and encodes them again with the same protocol
//! (2 for protocols 0 and 1): a quick look at what a Rust hop does to a pickle.
//!
//! ```text
//! pickle_recode FILE...      # prints `identical`, `differs` or `error: ...` per file,
//!                            # writes FILE.recoded next to each file that encodes
//! pickle_recode --show FILE  # prints the decoded value (Python-like repr)
//! ```

use std::process::ExitCode;

use mpconn::pickle::{dumps_with, loads};
use mpconn::EncodeOptions;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        eprintln!("usage: pickle_recode [--show] FILE...");
        return ExitCode::from(2);
    }
    let show = args[0] == "--show";
    let mut status = ExitCode::SUCCESS;
    for path in args.iter().skip(usize::from(show)) {
        let data = match std::fs::read(path) {
            Ok(d) => d,
            Err(e) => {
                println!("{path}: error: {e}");
                status = ExitCode::FAILURE;
                continue;
            }
        };
        let value = match loads(&data) {
            Ok(v) => v,
            Err(e) => {
                println!("{path}: error: {e}");
                status = ExitCode::FAILURE;
                continue;
            }
        };
        if show {
            println!("{value}");
            continue;
        }
        let protocol = match data.as_slice() {
            [0x80, p, ..] => (*p).clamp(2, 5),
            _ => 2,
        };
        match dumps_with(&value, &EncodeOptions::protocol(protocol)) {
            Ok(out) => {
                let verdict = if out == data { "identical" } else { "differs" };
                println!("{path}: {verdict}");
                if let Err(e) = std::fs::write(format!("{path}.recoded"), &out) {
                    println!("{path}: error: {e}");
                    status = ExitCode::FAILURE;
                }
            }
            Err(e) => {
                println!("{path}: error: {e}");
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}
