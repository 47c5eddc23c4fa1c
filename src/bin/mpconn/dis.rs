//! `mpconn dis`: `python -m pickletools` for pickles in files or on stdin.

use std::io::Read;

use mpconn::pickle::dis::{DisOptions, Disassembler};

use crate::args::DisArgs;
use crate::fail::Failure;
use crate::out;

/// Disassembles each FILE (`-`: stdin) in turn, with one memo when `--memo` is given.
pub fn run(a: DisArgs) -> Result<(), Failure> {
    let options = DisOptions::new()
        .indent(a.indentlevel)
        .annotate(if a.annotate { 30 } else { 0 })
        .version(a.python.flavour());
    let files = if a.files.is_empty() {
        vec!["-".to_string()]
    } else {
        a.files
    };
    let mut shared = Disassembler::new(options.clone());
    for name in &files {
        let data = read(name)?;
        if files.len() > 1 {
            let shown = if name == "-" { "<stdin>" } else { name };
            out::text(&format!("{}\n", a.preamble.replace("{name}", shown)));
        }
        let mut fresh;
        let dis = if a.memo {
            &mut shared
        } else {
            fresh = Disassembler::new(options.clone());
            &mut fresh
        };
        let mut text = String::new();
        let result = dis.dis_into(&data, &mut text);
        out::text(&text);
        if let Err(e) = result {
            return Err(Failure::runtime(format!("cannot disassemble {name}: {e}")));
        }
    }
    Ok(())
}

fn read(name: &str) -> Result<Vec<u8>, Failure> {
    if name == "-" {
        let mut data = Vec::new();
        std::io::stdin()
            .read_to_end(&mut data)
            .map_err(|e| Failure::runtime(format!("cannot read stdin: {e}")))?;
        return Ok(data);
    }
    std::fs::read(name).map_err(|e| Failure::usage(format!("cannot read {name}: {e}")))
}
