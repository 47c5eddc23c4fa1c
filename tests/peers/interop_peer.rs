//! A small Rust peer for the cross-version harness (`python_interop/`) and `make demo`.
//!
//! ```text
//! interop_peer serve ADDRESS [--authkey KEY] [--digest D] [--count N] [--max-size BYTES]
//! interop_peer roundtrip-serve ADDRESS [--authkey KEY] [--digest D] [--count N] [--protocol auto|2..5]
//! interop_peer view-serve ADDRESS [--authkey KEY] [--digest D] [--count N]
//! interop_peer client ADDRESS [--authkey KEY] [--digest D] [--sizes 0,1,16384] [--seed S]
//!                             [--big BYTES] [--max-size BYTES] [--verbose]
//! ```
//!
//! * `serve` listens on ADDRESS (`host:port`, `[v6]:port`, a path, `@abstract`), prints
//!   `READY <address>` (port 0 resolved), then for each of N connections (default 1, 0 for
//!   ever) echoes every message back unchanged until the client closes.
//! * `roundtrip-serve` is the same, but decodes each message as a pickle into a
//!   [`mpconn::Value`] and sends back the value encoded again, with the protocol of the
//!   received pickle (at least 2, the encoder's lowest) or the one given by `--protocol`. An error is
//!   sent back as `\xffMPCONN-ERROR:<message>` (0xff is not a pickle opcode).
//! * `view-serve` is the same, but reads each message with [`mpconn::pickle::loads_view`]
//!   and answers `(borrowed, description)`: whether the view is the borrowed arena, and a
//!   list describing the value as read through the view's accessors alone (see
//!   [`describe`]), for the client to compare with its own description of what it sent.
//! * `client` connects, sends one message of pseudo-random bytes per size and checks that
//!   each comes back unchanged (the other side is an echo server). `--big N` sends one
//!   message of N bytes instead (for the > 2 GiB test): it is made from a seeded 1 MiB block
//!   with the block number stamped in, and the echo is checked block by block, so at most
//!   one copy of the message is in memory at a time.
//!
//! `--authkey` is UTF-8 text; `--digest` is `legacy`, `md5`, `sha256`, `sha384`, `sha3_256`
//! or `sha3_384`: the challenge this side delivers (a listener's, or a client's second step).
//!
//! Lines on stdout: `READY <address>`, `ACCEPTED`, `ECHO <n>`, `SENT <n> OK`, `OK`, `DONE`,
//! `AUTH_FAILED <reason>` (digest challenge failed), `MISMATCH ...`, `ERROR <error>`.
//! Exit status: 0 success, 1 other error, 2 mismatch, 3 authentication failed.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use mpconn::pickle::dumps_with;
use mpconn::{
    loads, Address, Client, ClientOptions, Connection, Digest, EncodeOptions, Error, Listener,
    ListenerOptions,
};

const EXIT_ERROR: u8 = 1;
const EXIT_MISMATCH: u8 = 2;
const EXIT_AUTH: u8 = 3;
const ERROR_PREFIX: &[u8] = b"\xffMPCONN-ERROR:";
const BLOCK: usize = 1 << 20;
const USAGE: &str =
    "usage: interop_peer serve|roundtrip-serve|view-serve|client ADDRESS [--authkey KEY] \
[--digest legacy|md5|sha256|sha384|sha3_256|sha3_384] [--count N] [--max-size BYTES] \
[--protocol auto|2..5] [--sizes LIST] [--seed S] [--big BYTES] [--verbose]";

/// The parsed command line.
struct Args {
    mode: String,
    address: Address,
    authkey: Option<Vec<u8>>,
    digest: Option<Digest>,
    count: u64,
    max_size: Option<usize>,
    protocol: Option<u8>,
    sizes: Vec<usize>,
    seed: u64,
    big: Option<usize>,
    verbose: bool,
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1).collect()) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("interop_peer: {message}\n{USAGE}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let status = match args.mode.as_str() {
        "serve" | "roundtrip-serve" | "view-serve" => serve(&args),
        _ => client(&args),
    };
    ExitCode::from(status)
}

fn parse_args(argv: Vec<String>) -> Result<Args, String> {
    let mut it = argv.into_iter();
    let mode = it.next().ok_or("missing mode")?;
    if !matches!(
        mode.as_str(),
        "serve" | "roundtrip-serve" | "view-serve" | "client"
    ) {
        return Err(format!("unknown mode {mode:?}"));
    }
    let address_text = it.next().ok_or("missing ADDRESS")?;
    let address = address_text
        .parse::<Address>()
        .map_err(|e| format!("bad address {address_text:?}: {e}"))?;
    let mut args = Args {
        mode,
        address,
        authkey: None,
        digest: None,
        count: 1,
        max_size: None,
        protocol: None,
        sizes: vec![0, 1, 16384, 16385, 1 << 20],
        seed: 1,
        big: None,
        verbose: false,
    };
    while let Some(flag) = it.next() {
        if flag == "--verbose" {
            args.verbose = true;
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| -> Result<u64, String> {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: not a number: {v:?}"))
        };
        match flag.as_str() {
            "--authkey" => args.authkey = Some(value.into_bytes()),
            "--digest" => args.digest = Some(parse_digest(&value)?),
            "--count" => args.count = number(&value)?,
            "--max-size" => args.max_size = Some(number(&value)? as usize),
            "--seed" => args.seed = number(&value)?,
            "--big" => args.big = Some(number(&value)? as usize),
            "--protocol" => {
                args.protocol = match value.as_str() {
                    "auto" => None,
                    p => match number(p)? {
                        n @ 2..=5 => Some(n as u8),
                        _ => return Err("--protocol: 2 to 5 or auto".into()),
                    },
                }
            }
            "--sizes" => {
                args.sizes = value
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| number(s.trim()).map(|n| n as usize))
                    .collect::<Result<_, _>>()?
            }
            _ => return Err(format!("unknown option {flag:?}")),
        }
    }
    Ok(args)
}

fn parse_digest(name: &str) -> Result<Digest, String> {
    Ok(match name {
        "legacy" => Digest::Legacy,
        "md5" => Digest::Md5,
        "sha256" => Digest::Sha256,
        "sha384" => Digest::Sha384,
        "sha3_256" => Digest::Sha3_256,
        "sha3_384" => Digest::Sha3_384,
        _ => return Err(format!("unknown digest {name:?}")),
    })
}

/// Prints one protocol line and flushes it (the harness reads stdout line by line).
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Reports an error the way the harness expects and returns the exit status for it.
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

fn serve(args: &Args) -> u8 {
    let mut options = ListenerOptions::new();
    if let Some(key) = &args.authkey {
        options = options.authkey(key);
    }
    if let Some(digest) = args.digest {
        options = options.digest(digest);
    }
    if args.max_size.is_some() {
        options.max_message_size = args.max_size;
    }
    let listener = match Listener::bind_with(&args.address, options) {
        Ok(listener) => listener,
        Err(e) => return report("bind", &e),
    };
    say(&format!("READY {}", listener.address()));
    let mut status = 0;
    let mut served = 0u64;
    while args.count == 0 || served < args.count {
        served += 1;
        let mut conn = match listener.accept() {
            Ok(conn) => conn,
            Err(e) => {
                status = status.max(report("accept", &e));
                if matches!(e, Error::Authentication(_)) || e.is_disconnect() {
                    continue;
                }
                return status;
            }
        };
        say("ACCEPTED");
        let result = if args.mode == "view-serve" {
            answer_loop(&mut conn, args, "VIEW", view_reply)
        } else if args.mode == "roundtrip-serve" {
            answer_loop(&mut conn, args, "ROUNDTRIP", |m| roundtrip(m, args))
        } else {
            echo_loop(&mut conn, args)
        };
        if let Err(e) = result {
            status = status.max(report("connection", &e));
        }
    }
    say("DONE");
    status
}

fn receive(conn: &mut Connection, max: Option<usize>) -> mpconn::Result<Vec<u8>> {
    match max {
        Some(max) => conn.recv_bytes_max(max),
        None => conn.recv_bytes(),
    }
}

/// Echoes messages until the client closes.
fn echo_loop(conn: &mut Connection, args: &Args) -> mpconn::Result<()> {
    loop {
        let message = match receive(conn, args.max_size) {
            Ok(message) => message,
            Err(Error::Eof) => return Ok(()),
            Err(e) => return Err(e),
        };
        conn.send_bytes(&message)?;
        say(&format!("ECHO {}", message.len()));
    }
}

/// Answers each message with `answer(message)`, or with an error reply when it fails,
/// until the client closes; logs `<TAG> <in> -> <out> bytes` or `<TAG>_ERROR <why>`.
fn answer_loop(
    conn: &mut Connection,
    args: &Args,
    tag: &str,
    answer: impl Fn(&[u8]) -> Result<Vec<u8>, String>,
) -> mpconn::Result<()> {
    loop {
        let message = match receive(conn, args.max_size) {
            Ok(message) => message,
            Err(Error::Eof) => return Ok(()),
            Err(e) => return Err(e),
        };
        match answer(&message) {
            Ok(pickle) => {
                conn.send_bytes(&pickle)?;
                say(&format!(
                    "{tag} {} -> {} bytes",
                    message.len(),
                    pickle.len()
                ));
            }
            Err(why) => {
                let mut out = ERROR_PREFIX.to_vec();
                out.extend_from_slice(why.as_bytes());
                conn.send_bytes(&out)?;
                say(&format!("{tag}_ERROR {why}"));
            }
        }
    }
}

/// The value decoded and encoded again, with the received protocol (at least 2) or
/// `--protocol`.
fn roundtrip(message: &[u8], args: &Args) -> Result<Vec<u8>, String> {
    let received = match message {
        [0x80, p, ..] => *p,
        _ => 0,
    };
    let protocol = args.protocol.unwrap_or(received.clamp(2, 5));
    let value = loads(message).map_err(|e| format!("decode: {e}"))?;
    dumps_with(&value, &EncodeOptions::protocol(protocol))
        .map_err(|e| format!("encode (protocol {protocol}): {e}"))
}

/// `(borrowed, describe(view))` for the message read with `loads_view`.
fn view_reply(message: &[u8]) -> Result<Vec<u8>, String> {
    let view = mpconn::pickle::loads_view(message).map_err(|e| format!("decode: {e}"))?;
    let mut out = Vec::new();
    describe(view.root(), &mut Vec::new(), &mut out);
    let reply = mpconn::Value::tuple(vec![
        mpconn::Value::Bool(view.is_borrowed()),
        mpconn::Value::list(out),
    ]);
    mpconn::dumps(&reply).map_err(|e| format!("encode: {e}"))
}

/// Describes `r` in depth-first order, through the view's public accessors only:
/// `(type, value)` for a scalar (a float as its 8 big-endian bytes, an int beyond i64 as
/// `("bigint",)`), `(type, len, k)` for the k-th container met (then its items; a dict's
/// keys and values in turn), `("ref", k)` when container k is met again. Empty tuples and
/// frozensets, and bytearrays, are described as values (Python shares the empty ones).
/// `python_interop/peers/view_client.py` describes the sent object the same way.
fn describe<'v>(
    r: mpconn::pickle::ViewRef<'v>,
    seen: &mut Vec<mpconn::pickle::ViewRef<'v>>,
    out: &mut Vec<mpconn::Value>,
) {
    use mpconn::Value as V;
    let kind = r.type_name();
    let pair = |a: &str, b: V| V::tuple(vec![V::from(a), b]);
    match kind {
        "NoneType" => out.push(pair(kind, V::None)),
        "bool" => out.push(pair(kind, V::Bool(r.as_bool().unwrap()))),
        "int" => out.push(match r.as_i64() {
            Some(i) => pair(kind, V::Int(i)),
            None => V::tuple(vec![V::from("bigint")]),
        }),
        "float" => out.push(pair(kind, V::bytes(&r.as_f64().unwrap().to_be_bytes()))),
        "str" => out.push(pair(
            kind,
            V::Str(mpconn::value::PyStr::from_surrogatepass(r.as_str_bytes().unwrap()).unwrap()),
        )),
        "bytes" | "bytearray" => out.push(pair(kind, V::bytes(r.as_bytes().unwrap()))),
        "tuple" | "frozenset" if r.is_empty() => out.push(V::tuple(vec![V::from(kind)])),
        "list" | "tuple" | "dict" | "set" | "frozenset" => {
            if let Some(k) = seen.iter().position(|s| s.is(&r)) {
                out.push(pair("ref", V::Int(k as i64)));
                return;
            }
            let len = r.len().unwrap() as i64;
            out.push(V::tuple(vec![
                V::from(kind),
                V::Int(len),
                V::Int(seen.len() as i64),
            ]));
            seen.push(r);
            if kind == "dict" {
                for (k, v) in r.items().unwrap() {
                    describe(k, seen, out);
                    describe(v, seen, out);
                }
            } else {
                for item in r.iter().unwrap() {
                    describe(item, seen, out);
                }
            }
        }
        other => out.push(V::tuple(vec![V::from("other"), V::from(other)])),
    }
}

/// xorshift64*: a small deterministic generator (no dependency, same bytes on every run).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for chunk in &mut chunks {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let last = self.next().to_le_bytes();
        rest.copy_from_slice(&last[..rest.len()]);
    }
}

fn payload(seed: u64, size: usize) -> Vec<u8> {
    let mut buf = vec![0u8; size];
    Rng::new(seed ^ (size as u64).rotate_left(32)).fill(&mut buf);
    buf
}

/// The big message's 1 MiB base block.
fn big_block(seed: u64) -> Vec<u8> {
    payload(seed ^ 0xB16, BLOCK)
}

/// Writes block `index` of the big message into `out` (the base block with its index stamped
/// into the first 8 bytes, so a reordered or repeated block is caught too).
fn big_chunk(base: &[u8], index: usize, out: &mut [u8]) {
    out.copy_from_slice(&base[..out.len()]);
    let stamp = (index as u64).to_le_bytes();
    let n = out.len().min(8);
    out[..n].copy_from_slice(&stamp[..n]);
}

fn preview(data: &[u8]) -> String {
    let head: String = data.iter().take(24).map(|b| format!("{b:02x}")).collect();
    if data.len() > 24 {
        head + "..."
    } else {
        head
    }
}

fn client(args: &Args) -> u8 {
    let mut options = ClientOptions::new().timeout(Duration::from_secs(60));
    if let Some(key) = &args.authkey {
        options = options.authkey(key);
    }
    if let Some(digest) = args.digest {
        options = options.digest(digest);
    }
    // The crate's default maximum stays in force unless raised (the big message needs it).
    let max = args.max_size.or(args.big.map(|n| n.saturating_add(1)));
    if max.is_some() {
        options.max_message_size = max;
    }
    let mut conn = match Client::connect_with(&args.address, &options) {
        Ok(conn) => conn,
        Err(e) => return report("connect", &e),
    };
    if args.verbose {
        say(&format!("rust connected to {}", args.address));
    }
    let result = match args.big {
        Some(size) => big_exchange(&mut conn, args.seed, size, max),
        None => sizes_exchange(&mut conn, args, max),
    };
    match result {
        Ok(Ok(())) => {
            say("OK");
            0
        }
        Ok(Err(mismatch)) => {
            say(&format!("MISMATCH {mismatch}"));
            EXIT_MISMATCH
        }
        Err(e) => report("exchange", &e),
    }
}

type Checked = mpconn::Result<Result<(), String>>;

fn sizes_exchange(conn: &mut Connection, args: &Args, max: Option<usize>) -> Checked {
    for &size in &args.sizes {
        let data = payload(args.seed, size);
        conn.send_bytes(&data)?;
        if args.verbose {
            say(&format!("rust   -> {size:8} bytes  {}", preview(&data)));
        }
        let back = receive(conn, max)?;
        if back != data {
            return Ok(Err(format!(
                "sent {size} bytes, got {} back (first difference at {:?})",
                back.len(),
                data.iter().zip(&back).position(|(a, b)| a != b)
            )));
        }
        if args.verbose {
            say(&format!(
                "rust   <- {:8} bytes  {}",
                back.len(),
                preview(&back)
            ));
        }
        say(&format!("SENT {size} OK"));
    }
    Ok(Ok(()))
}

fn big_exchange(conn: &mut Connection, seed: u64, size: usize, max: Option<usize>) -> Checked {
    let base = big_block(seed);
    {
        let mut data = vec![0u8; size];
        for (index, chunk) in data.chunks_mut(BLOCK).enumerate() {
            big_chunk(&base, index, chunk);
        }
        conn.send_bytes(&data)?;
    } // the sent copy is gone before the echo arrives
    let back = receive(conn, max)?;
    if back.len() != size {
        return Ok(Err(format!("sent {size} bytes, got {} back", back.len())));
    }
    let mut expected = vec![0u8; BLOCK];
    for (index, chunk) in back.chunks(BLOCK).enumerate() {
        let want = &mut expected[..chunk.len()];
        big_chunk(&base, index, want);
        if chunk != &want[..] {
            return Ok(Err(format!(
                "block {index} of the {size}-byte echo differs"
            )));
        }
    }
    say(&format!("SENT {size} OK"));
    Ok(Ok(()))
}
