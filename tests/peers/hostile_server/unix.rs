//! The Unix implementation of the `hostile_server` example (see `main.rs`).
use std::io::Write;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use mpconn::server::{Report, Server, Stage};
use mpconn::{Address, Connection, Error, Listener, ListenerOptions, Value};

const USAGE: &str = "usage: hostile_server ADDRESS [--authkey KEY] [--handshake-timeout-ms N] \
[--max-size BYTES|none]";

pub fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hostile_server: {message}\n{USAGE}");
            ExitCode::from(1)
        }
    }
}

fn run(argv: Vec<String>) -> Result<(), String> {
    let mut argv = argv.into_iter();
    let address: Address = argv
        .next()
        .ok_or("missing ADDRESS")?
        .parse()
        .map_err(|e| format!("{e}"))?;
    let mut options = ListenerOptions::new().backlog(512);
    while let Some(flag) = argv.next() {
        let mut value = || argv.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--authkey" => options = options.authkey(value()?.as_bytes()),
            "--handshake-timeout-ms" => {
                let ms: u64 = value()?.parse().map_err(|e| format!("{flag}: {e}"))?;
                options = options.handshake_timeout(Some(Duration::from_millis(ms)));
            }
            "--max-size" => {
                let v = value()?;
                let max = match v.as_str() {
                    "none" => None,
                    n => Some(n.parse().map_err(|e| format!("{flag}: {e}"))?),
                };
                options = options.max_message_size(max);
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    let listener = Listener::bind_with(&address, options).map_err(|e| format!("{e}"))?;
    let server = Server::new(listener).map_err(|e| format!("{e}"))?;
    say(&format!("READY {}", server.listener().address()));
    let out = Mutex::new(());
    server
        .serve(echo, move |report| {
            let line = describe(&report);
            let _guard = out.lock();
            say(&line);
        })
        .map_err(|e| format!("{e}"))
}

fn say(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

fn echo(conn: &mut Connection) -> mpconn::Result<()> {
    loop {
        let v = conn.recv()?;
        let reply = match v.as_tuple() {
            Some([id, seq, payload]) if payload.as_bytes().is_some() => {
                let crc = crc32(payload.as_bytes().unwrap_or_default());
                Value::tuple(vec![id.clone(), seq.clone(), Value::from(i64::from(crc))])
            }
            _ => v,
        };
        conn.send(&reply)?;
    }
}

/// crc32 as zlib computes it (IEEE, reflected).
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                0xedb8_8320 ^ (crc >> 1)
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn peer(p: &Option<Address>) -> String {
    p.as_ref()
        .map_or_else(|| "-".to_string(), |a| a.to_string())
}

fn kind(e: &Error) -> &'static str {
    match e {
        Error::Eof => "Eof",
        Error::Truncated { .. } => "Truncated",
        Error::MessageTooLong { .. } => "MessageTooLong",
        Error::Authentication(_) => "Authentication",
        Error::BufferTooShort(_) => "BufferTooShort",
        Error::Pickle(_) => "Pickle",
        Error::Value(_) => "Value",
        Error::Address { .. } => "Address",
        Error::Timeout(_) => "Timeout",
        Error::Closed(_) => "Closed",
        Error::Io(_) => "Io",
        _ => "Other",
    }
}

fn describe(report: &Report) -> String {
    match report {
        Report::Accepted { peer: p } => format!("ACCEPTED {}", peer(p)),
        Report::Authenticated { peer: p } => format!("AUTHENTICATED {}", peer(p)),
        Report::Finished { peer: p } => format!("FINISHED {} hwm={}", peer(p), peak_rss()),
        Report::Failed {
            peer: p,
            stage,
            error,
        } => format!(
            "FAILED {} {} {} hwm={} {}",
            peer(p),
            match stage {
                Stage::Handshake => "handshake",
                _ => "handler",
            },
            kind(error),
            peak_rss(),
            error.to_string().replace('\n', " ")
        ),
        Report::Refused { peer: p, active } => format!("REFUSED {} active={active}", peer(p)),
        Report::AcceptFailed { error } => format!("ACCEPT_FAILED {} {error}", kind(error)),
        _ => "REPORT other".to_string(),
    }
}

/// `VmHWM` of this process in bytes (0 when /proc is not there).
fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}
