//! Standard output: one flushed line per message, safe against a closed pipe.

use std::fmt::Display;
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

/// The most characters a received value's repr may take before it is refused: 64 Mi, or 16
/// per byte of the message when that is more. Python's repr of flat data stays within ~10
/// characters per pickle byte; only shared references (one object printed many times) go
/// beyond, and a few hundred bytes of them can describe a repr of 2^60 characters, which
/// would pin a thread and stdout forever.
pub fn repr_budget(message_len: usize) -> usize {
    message_len.saturating_mul(16).max(64 << 20)
}

/// `shown`'s text when it has at most `limit` characters, else `Err(the first limit)`:
/// formatting stops at the limit, so nothing larger is ever built.
pub fn bounded(shown: &dyn Display, limit: usize) -> Result<String, String> {
    let mut out = Bounded {
        text: String::new(),
        chars: 0,
        limit,
        cut: false,
    };
    let _ = std::fmt::write(&mut out, format_args!("{shown}"));
    if out.cut {
        Err(out.text)
    } else {
        Ok(out.text)
    }
}

/// A `fmt::Write` that keeps at most `limit` characters and then refuses more.
struct Bounded {
    text: String,
    chars: usize,
    limit: usize,
    cut: bool,
}

impl std::fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for c in s.chars() {
            if self.chars == self.limit {
                self.cut = true;
                return Err(std::fmt::Error);
            }
            self.text.push(c);
            self.chars += 1;
        }
        Ok(())
    }
}
