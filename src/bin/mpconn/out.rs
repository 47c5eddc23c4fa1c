//! Standard output: one flushed line per message, safe against a closed pipe.

use std::io::{ErrorKind, Write};

/// Prints `line` and flushes it, whole, even when several threads print at once.
///
/// When the reader of stdout has gone (`mpconn listen ... | head -1`), there is nobody left
/// to tell anything: the process ends quietly with status 0, as `head`'s writer should.
pub fn line(line: &str) {
    text(&format!("{line}\n"));
}

/// Prints `text` as it is (lines included) and flushes it, whole; see [`line`].
pub fn text(text: &str) {
    let mut out = std::io::stdout().lock();
    let written = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    if let Err(e) = written {
        if e.kind() == ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        crate::fail::report(&format!("cannot write to stdout: {e}"));
        std::process::exit(i32::from(crate::fail::RUNTIME));
    }
}
