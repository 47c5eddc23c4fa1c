//! Failures: one line on stderr that names what went wrong, and an exit status.

use std::io::{ErrorKind, Write};

use mpconn::Error;

/// Exit status for a failure at run time (refused, timed out, authentication, ...).
pub const RUNTIME: u8 = 1;
/// Exit status for a bad command line (address, value, key file, option).
pub const USAGE: u8 = 2;

/// Why the command stopped.
#[derive(Debug)]
pub struct Failure {
    /// The process exit status.
    pub code: u8,
    /// The one line printed on stderr.
    pub message: String,
}

impl Failure {
    /// A command-line problem.
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: USAGE,
            message: message.into(),
        }
    }
    /// A run-time problem.
    pub fn runtime(message: impl Into<String>) -> Failure {
        Failure {
            code: RUNTIME,
            message: message.into(),
        }
    }
}

/// Writes one line on stderr (a failing stderr leaves nothing else to do).
pub fn report(message: &str) {
    let line = message.replace('\n', " ");
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// What was being done when an error happened: it completes the message.
#[derive(Clone, Copy, Debug)]
pub enum Doing<'a> {
    /// Connecting (and authenticating) to the address.
    Connect(&'a str),
    /// Binding a listener on the address.
    Bind(&'a str),
    /// Sending to the peer.
    Send(&'a str),
    /// Waiting for a message from the peer.
    Recv(&'a str),
    /// Running the handshake with an accepted peer.
    Handshake(&'a str),
}

/// Describes `err` in one line that starts with the name of the failure where there is one:
/// `authentication failed: ...`, `connection refused: ...`, `timed out ...`.
pub fn describe(err: &Error, doing: Doing<'_>) -> String {
    let (verb, peer) = match doing {
        Doing::Connect(a) => ("connecting to", a),
        Doing::Bind(a) => ("cannot listen on", a),
        Doing::Send(a) => ("sending to", a),
        Doing::Recv(a) => ("waiting for a message from", a),
        Doing::Handshake(a) => ("authenticating", a),
    };
    match err {
        Error::Authentication(_) => format!("{err} ({peer})"),
        Error::Timeout(_) => format!("{err}, {verb} {peer}"),
        Error::Io(e) => match e.kind() {
            ErrorKind::ConnectionRefused => format!("connection refused: {peer}"),
            ErrorKind::NotFound if matches!(doing, Doing::Connect(_)) => {
                format!("connection refused: {peer} (no such socket file)")
            }
            ErrorKind::TimedOut | ErrorKind::WouldBlock => format!("timed out {verb} {peer}"),
            _ => format!("{verb} {peer}: {e}"),
        },
        _ => format!("{verb} {peer}: {err}"),
    }
}

/// `describe` as a run-time [`Failure`].
pub fn failure(err: &Error, doing: Doing<'_>) -> Failure {
    Failure::runtime(describe(err, doing))
}
