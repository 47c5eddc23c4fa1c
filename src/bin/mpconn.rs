//! `mpconn`: a netcat for Python's `multiprocessing.connection`.
//!
//! `listen` serves CPython clients (printing or echoing what they send), `call`, `send` and
//! `recv` talk to CPython listeners. Every failure ends in one line on stderr and a non-zero
//! exit status; see `mpconn --help`.

#[path = "mpconn/args.rs"]
mod args;
#[path = "mpconn/dis.rs"]
mod dis;
#[path = "mpconn/fail.rs"]
mod fail;
#[path = "mpconn/listen.rs"]
mod listen;
#[path = "mpconn/out.rs"]
mod out;
#[path = "mpconn/peer.rs"]
mod peer;
#[cfg(unix)]
#[path = "mpconn/proxy.rs"]
mod proxy;
#[cfg(unix)]
#[path = "mpconn/replay.rs"]
mod replay;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

fn main() -> ExitCode {
    install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(err),
    };
    let result = match cli.command {
        Command::Listen(a) => listen::run(a),
        Command::Call(a) => peer::call(a),
        Command::Send(a) => peer::send(a),
        Command::Recv(a) => peer::recv(a),
        Command::Dis(a) => dis::run(a),
        #[cfg(unix)]
        Command::Proxy(a) => proxy::run(a),
        #[cfg(unix)]
        Command::Record(a) => proxy::record(a),
        #[cfg(unix)]
        Command::Replay(a) => replay::run(a),
        #[cfg(not(unix))]
        Command::Proxy(_) | Command::Record(_) | Command::Replay(_) => Err(fail::Failure::usage(
            "proxy, record and replay need a Unix platform for now",
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            fail::report(&failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// Help and version go out as clap prints them; a usage error becomes one line, status 2.
fn usage_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // Printing help can only fail on a closed stream; nothing more to say then.
            let _ = err.print();
            ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2))
        }
        _ => {
            let rendered = err.render().to_string();
            let first = rendered
                .lines()
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more"))
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            fail::report(&format!("{first} (try --help)"));
            ExitCode::from(2)
        }
    }
}

/// A bug must still end as one line on stderr, never a backtrace.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_string());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let line = format!("internal error: {what}{place}").replace('\n', " ");
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }));
}
