//! The tokio twin of `tests/peers/interop_peer.rs` for the cross-version harness
//! (`python_interop/test_async.py`): same commands, same output lines, same exit codes.
//!
//! ```text
//! async_interop_peer serve ADDRESS [--authkey KEY] [--digest D] [--count N] [--max-size BYTES]
//! async_interop_peer client ADDRESS [--authkey KEY] [--digest D] [--sizes 0,1,16384] [--seed S]
//!                                   [--max-size BYTES]
//! ```
//!
//! * `serve` prints `READY <address>`, then serves N connections (default 1, 0 for ever)
//!   **concurrently**, a task each: accepted without the handshake, authenticated in the
//!   task, then every message echoed back until the client closes.
//! * `client` sends one message of pseudo-random bytes per size and checks each echo.
//!
//! Lines on stdout: `READY <address>`, `ACCEPTED`, `ECHO <n>`, `SENT <n> OK`, `OK`, `DONE`,
//! `AUTH_FAILED <reason>`, `MISMATCH ...`, `ERROR <error>`. Exit status: 0 success, 1 other
//! error, 2 mismatch, 3 authentication failed.
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use mpconn::tokio::{AsyncClient, AsyncConnection, AsyncListener};
use mpconn::{Address, ClientOptions, Digest, Error, ListenerOptions};

const EXIT_ERROR: u8 = 1;
const EXIT_MISMATCH: u8 = 2;
const EXIT_AUTH: u8 = 3;

struct Args {
    mode: String,
    address: Address,
    authkey: Option<Vec<u8>>,
    digest: Option<Digest>,
    count: u64,
    max_size: Option<usize>,
    sizes: Vec<usize>,
    seed: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1).collect()) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("async_interop_peer: {message} (see the doc comment for usage)");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let status = match args.mode.as_str() {
        "serve" => serve(&args).await,
        _ => client(&args).await,
    };
    ExitCode::from(status)
}

fn parse_args(argv: Vec<String>) -> Result<Args, String> {
    let mut it = argv.into_iter();
    let mode = it.next().ok_or("missing mode")?;
    if !matches!(mode.as_str(), "serve" | "client") {
        return Err(format!("unknown mode {mode:?}"));
    }
    let text = it.next().ok_or("missing ADDRESS")?;
    let address = text
        .parse::<Address>()
        .map_err(|e| format!("bad address {text:?}: {e}"))?;
    let mut args = Args {
        mode,
        address,
        authkey: None,
        digest: None,
        count: 1,
        max_size: None,
        sizes: vec![0, 1, 16384, 16385, 1 << 20],
        seed: 1,
    };
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| -> Result<u64, String> {
            v.trim()
                .parse::<u64>()
                .map_err(|_| format!("{flag}: not a number: {v:?}"))
        };
        match flag.as_str() {
            "--authkey" => args.authkey = Some(value.into_bytes()),
            "--digest" => {
                args.digest = Some(value.parse().map_err(|e: Error| e.to_string())?);
            }
            "--count" => args.count = number(&value)?,
            "--max-size" => args.max_size = Some(number(&value)? as usize),
            "--seed" => args.seed = number(&value)?,
            "--sizes" => {
                args.sizes = value
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| number(s).map(|n| n as usize))
                    .collect::<Result<_, _>>()?
            }
            _ => return Err(format!("unknown option {flag:?}")),
        }
    }
    Ok(args)
}

/// Prints one line and flushes it (the harness reads stdout line by line).
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn report(context: &str, error: &Error) -> u8 {
    match error {
        Error::Authentication(reason) => {
            say(&format!("AUTH_FAILED {reason}"));
            EXIT_AUTH
        }
        other => {
            say(&format!("ERROR {context}: {other}"));
            EXIT_ERROR
        }
    }
}

async fn serve(args: &Args) -> u8 {
    let mut options = ListenerOptions::new().max_message_size(args.max_size.or(Some(1 << 30)));
    if let Some(key) = &args.authkey {
        options = options.authkey(key);
    }
    if let Some(digest) = args.digest {
        options = options.digest(digest);
    }
    let listener = match AsyncListener::bind_with(&args.address, options) {
        Ok(listener) => listener,
        Err(e) => return report("bind", &e),
    };
    say(&format!("READY {}", listener.address()));
    let mut tasks = Vec::new();
    let mut accepted = 0u64;
    while args.count == 0 || accepted < args.count {
        accepted += 1;
        let pending = match listener.accept_pending().await {
            Ok(pending) => pending,
            Err(e) => return report("accept", &e),
        };
        tasks.push(tokio::spawn(async move {
            let mut conn = match pending.authenticate().await {
                Ok(conn) => conn,
                Err(e) => return report("accept", &e),
            };
            say("ACCEPTED");
            match echo_loop(&mut conn).await {
                Ok(()) => 0,
                Err(e) => report("connection", &e),
            }
        }));
    }
    let mut status = 0;
    for task in tasks {
        status = status.max(task.await.unwrap_or(EXIT_ERROR));
    }
    say("DONE");
    status
}

async fn echo_loop(conn: &mut AsyncConnection) -> mpconn::Result<()> {
    loop {
        let message = match conn.recv_bytes().await {
            Ok(message) => message,
            Err(Error::Eof) => return Ok(()),
            Err(e) => return Err(e),
        };
        conn.send_bytes(&message).await?;
        say(&format!("ECHO {}", message.len()));
    }
}

/// Deterministic bytes for a size (a linear congruential stream; any fixed pattern that
/// varies with position would do, the echo is compared with what was sent).
fn payload(seed: u64, size: usize) -> Vec<u8> {
    let mut state = seed ^ (size as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..size)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect()
}

async fn client(args: &Args) -> u8 {
    let mut options = ClientOptions::new().timeout(Duration::from_secs(60));
    if let Some(key) = &args.authkey {
        options = options.authkey(key);
    }
    if let Some(digest) = args.digest {
        options = options.digest(digest);
    }
    if args.max_size.is_some() {
        options.max_message_size = args.max_size;
    }
    let mut conn = match AsyncClient::connect_with(&args.address, &options).await {
        Ok(conn) => conn,
        Err(e) => return report("connect", &e),
    };
    for &size in &args.sizes {
        let data = payload(args.seed, size);
        if let Err(e) = conn.send_bytes(&data).await {
            return report("exchange", &e);
        }
        let back = match conn.recv_bytes().await {
            Ok(back) => back,
            Err(e) => return report("exchange", &e),
        };
        if back != data {
            say(&format!(
                "MISMATCH sent {size} bytes, got {} back (first difference at {:?})",
                back.len(),
                data.iter().zip(&back).position(|(a, b)| a != b)
            ));
            return EXIT_MISMATCH;
        }
        say(&format!("SENT {size} OK"));
    }
    say("OK");
    0
}
