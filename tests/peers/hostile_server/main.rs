//! The server the hostile-peer harness (`python_interop/test_hostile.py`) attacks: a
//! [`mpconn::server::Server`] with an echo handler that decodes every message, in its own
//! process so that its peak memory can be measured alone.
//!
//! ```text
//! hostile_server ADDRESS [--authkey KEY] [--handshake-timeout-ms N] [--max-size BYTES|none]
//! ```
//!
//! Prints `READY <address>`, then one line per report of the server:
//!
//! ```text
//! ACCEPTED <peer>
//! AUTHENTICATED <peer>
//! FINISHED <peer> hwm=<bytes>
//! FAILED <peer> <handshake|handler> <kind> hwm=<bytes> <message>
//! REFUSED <peer> active=<n>
//! ACCEPT_FAILED <kind> <message>
//! ```
//!
//! `<peer>` is `host:port` (or `-` for an unnamed AF_UNIX peer); `hwm` is the process's
//! peak resident set (`VmHWM`) when the report was made; `<kind>` names the error variant
//! (`Eof`, `Truncated`, `MessageTooLong`, `Authentication`, `Pickle`, `Io`, `Timeout`, ...).
//!
//! The handler unpickles each message (`recv`); a tuple `(id, seq, bytes)` is answered with
//! `(id, seq, zlib.crc32(bytes))`, anything else is sent back re-encoded. Runs until killed.

#[cfg(unix)]
mod unix;

#[cfg(unix)]
fn main() -> std::process::ExitCode {
    unix::main()
}

#[cfg(not(unix))]
fn main() {
    eprintln!("hostile_server uses mpconn::server, which needs a Unix system");
    std::process::exit(1);
}
