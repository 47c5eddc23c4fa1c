//! The command line: subcommands, options and their help.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use mpconn::connection::DEFAULT_MAX_MESSAGE_SIZE;
use mpconn::{Address, Digest, Value};

use crate::fail::Failure;

const TOP_HELP: &str = "\
ADDRESS forms:
  HOST:PORT        127.0.0.1:6000, localhost:6000 (Python's ('localhost', 6000))
  [IPV6]:PORT      [::1]:6000
  PATH             /tmp/app.sock, ./app.sock (anything with a '/': a Unix socket)
  @NAME            @app (Linux abstract namespace: Python's '\\0app')

KEY: --authkey TEXT, the MPCONN_AUTHKEY environment variable, or --authkey-file PATH.
No key: no handshake, as in CPython. An empty key still authenticates.

Exit status: 0 on success; otherwise 1 (2 for a bad command line) with one line on stderr
naming the failure: 'authentication failed: ...', 'connection refused: ...', 'timed out ...'.

Examples:
  mpconn listen 127.0.0.1:6000 --authkey peekaboo --echo
  mpconn call 127.0.0.1:6000 --authkey peekaboo \"(1, 2)\" \"'hello'\"
  mpconn send /tmp/app.sock \"['a', 2.5, None]\" \"'close'\"
  mpconn recv @app -n 3

Debugging a Python system:
  mpconn proxy 127.0.0.1:6001 127.0.0.1:6000 --authkey k     # see every message pass
  mpconn record 127.0.0.1:6001 127.0.0.1:6000 s.mpcrec --authkey k   # ... and keep them
  mpconn replay s.mpcrec 127.0.0.1:6000 --authkey k          # replay; report differences
  mpconn dis message.pickle                                   # python -m pickletools";

const LISTEN_HELP: &str = "\
Examples:
  # print what CPython clients send, one Python repr per line
  mpconn listen 127.0.0.1:6000 --authkey peekaboo
  # python3 -c \"from multiprocessing.connection import Client
  #   Client(('127.0.0.1', 6000), authkey=b'peekaboo').send([1, 'two', None])\"
  # prints: [1, 'two', None]

  # an echo server (decode and re-encode every message), key from the environment
  MPCONN_AUTHKEY=peekaboo mpconn listen 127.0.0.1:6000 --echo

  # echo raw messages on a Unix socket, stop after the first connection
  mpconn listen /tmp/app.sock --echo-bytes --once

  # challenge with the legacy HMAC-MD5 form Python 3.11 and older send
  mpconn listen @app --authkey-file key.txt --digest legacy

Once bound, stderr gets 'listening on ADDRESS' (port 0 resolved); after that, stderr only
reports failed handshakes and misbehaving peers, and the listener carries on.";

const CALL_HELP: &str = "\
Examples:
  # each VALUE is a Python literal; one reply line per VALUE
  mpconn call 127.0.0.1:6000 --authkey peekaboo \"(1, 2)\" \"'hello'\" \"{'a': b'x'}\"
  # raw bytes both ways
  mpconn call /tmp/app.sock --bytes hello --timeout 5";

const SEND_HELP: &str = "\
Examples:
  # the seed client: send a list, then 'close'
  mpconn send 127.0.0.1:6000 --authkey 'secret password' \"['a', 2.5, None]\" \"'close'\"
  # send raw UTF-8 with send_bytes
  mpconn send @app --bytes 'hello world'";

const RECV_HELP: &str = "\
Examples:
  # the seed client: three messages from a listener that sends them
  mpconn recv 127.0.0.1:6000 --authkey 'secret password' -n 3
  # raw messages, printed as Python bytes reprs (b'hello')
  mpconn recv /tmp/app.sock --bytes --timeout 2";

const DIS_HELP: &str = "\
Examples:
  # what does this pickle do? (the output of CPython's pickletools.dis)
  python3 -c \"import pickle, sys; sys.stdout.buffer.write(pickle.dumps([1, 'a']))\" | mpconn dis
  # annotated, as 'python3.11 -m pickletools -a' prints it
  mpconn dis -a --python 3.11 message.pickle
  # several files sharing one memo (pickles written by one Pickler)
  mpconn dis -m part1.pickle part2.pickle";

const PROXY_HELP: &str = "\
Examples:
  # Python clients connect to :6001 with key 'front'; the real server is :6000 with 'back'
  mpconn proxy 127.0.0.1:6001 127.0.0.1:6000 --authkey front --upstream-authkey back
  # prints, per message: time, connection, direction, size, repr
  #   12:00:01.204518 #1 client->server 31 bytes ['a', 2.5, None]
  #   12:00:01.205102 #1 server->client 12 bytes 'ok'

  # pickletools disassembly of each message; raw bytes with --bytes
  mpconn proxy /tmp/front.sock /tmp/app.sock --dis
  # one JSON object per message, for tools; record the session for `mpconn replay`
  mpconn proxy @front @app --format jsonl --record session.mpcrec

Keys: the client side uses --authkey / MPCONN_AUTHKEY / --authkey-file and challenges with
--digest; the server side uses --upstream-authkey / MPCONN_UPSTREAM_AUTHKEY /
--upstream-authkey-file (default: the client side's key; --upstream-no-authkey for none)
and answers whatever digest the server challenges with.
Messages are never re-encoded: the bytes each side receives are the bytes the other sent.
A message that does not unpickle is forwarded all the same and shown as undecodable.";

const RECORD_HELP: &str = "\
Examples:
  # record what CPython clients and server say to each other, then replay it
  mpconn record 127.0.0.1:6001 127.0.0.1:6000 session.mpcrec --authkey k
  mpconn replay session.mpcrec 127.0.0.1:6000 --authkey k

The file format (versioned, documented in the crate's `recording` module): 'MPCONNRC',
version, then per record kind, connection, time, direction, length and the message bytes.";

const REPLAY_HELP: &str = "\
Examples:
  # does the new (Rust) server answer as the recorded CPython server did?
  mpconn replay session.mpcrec 127.0.0.1:6000 --authkey k
  # byte for byte rather than by value
  mpconn replay session.mpcrec /tmp/app.sock --exact

Prints one line per message (sent, or received and matching); on the first difference
prints what was expected and what came, and exits with status 1.";

/// A netcat for Python's multiprocessing.connection: serve CPython clients or talk to CPython
/// listeners, byte for byte.
#[derive(Debug, Parser)]
#[command(name = "mpconn", version, after_help = TOP_HELP)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve: print every received object (or echo it back); connections are served
    /// concurrently.
    #[command(after_help = LISTEN_HELP)]
    Listen(ListenArgs),
    /// For each VALUE: send it, receive one reply, print the reply.
    #[command(after_help = CALL_HELP)]
    Call(CallArgs),
    /// Send each VALUE, then close.
    #[command(after_help = SEND_HELP)]
    Send(SendArgs),
    /// Receive N messages (default 1) and print each.
    #[command(after_help = RECV_HELP)]
    Recv(RecvArgs),
    /// Disassemble pickles as `python -m pickletools` does, line for line.
    #[command(after_help = DIS_HELP)]
    Dis(DisArgs),
    /// Stand between clients and a server: forward every message unchanged, both ways,
    /// printing each one.
    #[command(after_help = PROXY_HELP)]
    Proxy(ProxyArgs),
    /// `proxy` that also writes the session to FILE (same as `proxy --record FILE`).
    #[command(after_help = RECORD_HELP)]
    Record(RecordArgs),
    /// Play the client side of a recording against a server; report where its answers
    /// differ from the recorded ones (exit status 1 on the first difference).
    #[command(after_help = REPLAY_HELP)]
    Replay(ReplayArgs),
}

/// Options every subcommand has.
#[derive(Debug, Args)]
pub struct Common {
    /// HOST:PORT, [IPV6]:PORT, a Unix socket PATH (contains '/'), or @NAME (abstract)
    #[arg(value_name = "ADDRESS")]
    pub address: String,
    /// Authentication key as text (MPCONN_AUTHKEY keeps it out of process listings)
    #[arg(
        long,
        value_name = "KEY",
        env = "MPCONN_AUTHKEY",
        hide_env_values = true
    )]
    pub authkey: Option<OsString>,
    /// Read the authentication key from a file (one trailing newline is dropped); wins over
    /// --authkey and MPCONN_AUTHKEY
    #[arg(long, value_name = "PATH")]
    pub authkey_file: Option<PathBuf>,
    /// Digest this side challenges with: sha256 (default), sha384, sha3_256, sha3_384, md5,
    /// or legacy (the bare HMAC-MD5 form of Python 3.11 and older)
    #[arg(long, value_name = "NAME", value_parser = parse_digest, default_value = "sha256")]
    pub digest: Digest,
    /// Bound, in seconds, on connecting, the handshake and each receive
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub timeout: Option<Duration>,
    /// Refuse (and close on) a message announcing more than this many bytes
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_MESSAGE_SIZE)]
    pub max_message_size: usize,
}

/// `mpconn listen`.
#[derive(Debug, Args)]
pub struct ListenArgs {
    #[command(flatten)]
    pub common: Common,
    /// Answer each message with the decoded value, re-encoded (prints nothing)
    #[arg(long, conflicts_with = "echo_bytes")]
    pub echo: bool,
    /// Answer each message with the same bytes (prints nothing)
    #[arg(long)]
    pub echo_bytes: bool,
    /// Exit after the first authenticated connection ends
    #[arg(long)]
    pub once: bool,
    /// Serve at most this many connections at once; more are closed at once and reported
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
}

/// `mpconn call`.
#[derive(Debug, Args)]
pub struct CallArgs {
    #[command(flatten)]
    pub common: Common,
    /// Send each VALUE as raw UTF-8 (send_bytes) and print replies as bytes reprs
    #[arg(long)]
    pub bytes: bool,
    /// Python literals ('hello', 42, [1, 2], (1,), {'a': b'x'}, {1, 2}, None)
    #[arg(value_name = "VALUE", required = true, allow_negative_numbers = true)]
    pub values: Vec<String>,
}

/// `mpconn send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub common: Common,
    /// Send each VALUE as raw UTF-8 with send_bytes
    #[arg(long)]
    pub bytes: bool,
    /// Python literals ('hello', 42, [1, 2], (1,), {'a': b'x'}, {1, 2}, None)
    #[arg(value_name = "VALUE", allow_negative_numbers = true)]
    pub values: Vec<String>,
}

/// `mpconn recv`.
#[derive(Debug, Args)]
pub struct RecvArgs {
    #[command(flatten)]
    pub common: Common,
    /// How many messages to receive
    #[arg(short = 'n', value_name = "N", default_value_t = 1)]
    pub count: u64,
    /// Receive raw messages (recv_bytes) and print them as bytes reprs
    #[arg(long)]
    pub bytes: bool,
}

/// `mpconn proxy`.
#[derive(Debug, Args)]
#[cfg_attr(not(unix), allow(dead_code))]
pub struct ProxyArgs {
    /// Where clients connect: HOST:PORT, [IPV6]:PORT, a Unix socket PATH, or @NAME
    #[arg(value_name = "LISTEN")]
    pub listen: String,
    /// The server messages go to (same forms)
    #[arg(value_name = "UPSTREAM")]
    pub upstream: String,
    /// Key clients must answer with (MPCONN_AUTHKEY keeps it out of process listings)
    #[arg(
        long,
        value_name = "KEY",
        env = "MPCONN_AUTHKEY",
        hide_env_values = true
    )]
    pub authkey: Option<OsString>,
    /// Read the clients' key from a file (one trailing newline dropped)
    #[arg(long, value_name = "PATH")]
    pub authkey_file: Option<PathBuf>,
    /// Digest clients are challenged with: sha256 (default), sha384, sha3_256, sha3_384,
    /// md5, or legacy
    #[arg(long, value_name = "NAME", value_parser = parse_digest, default_value = "sha256")]
    pub digest: Digest,
    /// Key for the server (default: the clients' key)
    #[arg(
        long,
        value_name = "KEY",
        env = "MPCONN_UPSTREAM_AUTHKEY",
        hide_env_values = true
    )]
    pub upstream_authkey: Option<OsString>,
    /// Read the server's key from a file
    #[arg(long, value_name = "PATH")]
    pub upstream_authkey_file: Option<PathBuf>,
    /// Connect to the server without a key (no handshake), whatever the clients' key
    #[arg(long, conflicts_with_all = ["upstream_authkey", "upstream_authkey_file"])]
    pub upstream_no_authkey: bool,
    /// Digest the proxy challenges the server with after answering it
    #[arg(long, value_name = "NAME", value_parser = parse_digest, default_value = "sha256")]
    pub upstream_digest: Digest,
    /// Bound, in seconds, on connecting, each handshake and each receive (both sides)
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub timeout: Option<Duration>,
    /// Refuse (and close the pair on) a message announcing more than this many bytes, from
    /// either side
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_MESSAGE_SIZE)]
    pub max_message_size: usize,
    /// Relay at most this many clients at once; more are closed at once and reported
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Exit after the first relayed connection ends
    #[arg(long)]
    pub once: bool,
    /// Show each message as its raw bytes (a bytes repr) instead of its unpickled repr
    #[arg(long, conflicts_with = "dis")]
    pub bytes: bool,
    /// Show each message's pickletools disassembly under its line
    #[arg(long)]
    pub dis: bool,
    /// With --dis: whose pickletools to match, as `mpconn dis --python`
    #[arg(long, value_name = "VERSION", default_value = "3.15", value_parser = parse_python)]
    pub dis_python: PythonVersion,
    /// Cut reprs longer than this many characters (0: never), marking the cut
    #[arg(long, value_name = "CHARS", default_value_t = 1000)]
    pub repr_limit: usize,
    /// Output format: text (default) or jsonl (one JSON object per event)
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "jsonl"])]
    pub format: String,
    /// Also write the session to FILE (see `mpconn record --help`)
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Print nothing per message (with --record: only record)
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// `mpconn record`.
#[derive(Debug, Args)]
#[cfg_attr(not(unix), allow(dead_code))]
pub struct RecordArgs {
    #[command(flatten)]
    pub proxy: ProxyArgs,
    /// The recording to write
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// `mpconn replay`.
#[derive(Debug, Args)]
#[cfg_attr(not(unix), allow(dead_code))]
pub struct ReplayArgs {
    /// The recording to play (from `mpconn record` or `proxy --record`)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub common: Common,
    /// Compare answers byte for byte (default: by unpickled value)
    #[arg(long)]
    pub exact: bool,
}

/// `mpconn dis`.
#[derive(Debug, Args)]
pub struct DisArgs {
    /// Pickle files; `-` (or none) reads stdin. Each is disassembled through its first STOP
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,
    /// Annotate each line with a short description of the opcode
    #[arg(short = 'a', long)]
    pub annotate: bool,
    /// Blanks by which each MARK level indents
    #[arg(short = 'l', long, value_name = "N", default_value_t = 4)]
    pub indentlevel: usize,
    /// Keep the memo from one file to the next
    #[arg(short = 'm', long)]
    pub memo: bool,
    /// Line printed before each file when there are several ({name}: the file)
    #[arg(
        short = 'p',
        long,
        value_name = "TEXT",
        default_value = "==> {name} <==",
        allow_hyphen_values = true
    )]
    pub preamble: String,
    /// Whose pickletools to match where versions differ: 3.11, 3.13, 3.14 or 3.15 (3.12
    /// prints as 3.11)
    #[arg(long, value_name = "VERSION", default_value = "3.15", value_parser = parse_python)]
    pub python: PythonVersion,
}

/// A CPython version `3.N` given on the command line.
#[derive(Clone, Copy, Debug)]
pub struct PythonVersion {
    /// The minor version.
    pub minor: u32,
}

impl PythonVersion {
    /// The pickletools flavour of this version.
    pub fn flavour(self) -> mpconn::pickle::dis::Pickletools {
        mpconn::pickle::dis::Pickletools::for_python(3, self.minor)
    }
}

fn parse_python(s: &str) -> Result<PythonVersion, String> {
    s.strip_prefix("3.")
        .and_then(|m| m.parse::<u32>().ok())
        .filter(|m| (8..=99).contains(m))
        .map(|minor| PythonVersion { minor })
        .ok_or_else(|| format!("{s:?} is not a Python version such as 3.11 or 3.14"))
}

impl Common {
    /// The address, parsed as [`Address`] reads it.
    pub fn address(&self) -> Result<Address, Failure> {
        self.address
            .parse::<Address>()
            .map_err(|e| Failure::usage(e.to_string()))
    }

    /// The key from --authkey-file, --authkey or MPCONN_AUTHKEY; `None` means no handshake.
    pub fn authkey(&self) -> Result<Option<Vec<u8>>, Failure> {
        read_key(&self.authkey_file, &self.authkey)
    }
}

#[cfg_attr(not(unix), allow(dead_code))]
/// A key from a file (wins), a text argument or its environment variable; `None`: no key.
pub fn read_key(
    file: &Option<PathBuf>,
    text: &Option<OsString>,
) -> Result<Option<Vec<u8>>, Failure> {
    if let Some(path) = file {
        let mut key = std::fs::read(path)
            .map_err(|e| Failure::usage(format!("cannot read key file {}: {e}", path.display())))?;
        if key.ends_with(b"\n") {
            key.pop();
            if key.ends_with(b"\r") {
                key.pop();
            }
        }
        return Ok(Some(key));
    }
    Ok(text.clone().map(os_bytes))
}

/// One VALUE from the command line, ready to send.
#[derive(Debug)]
pub enum Payload {
    /// `--bytes`: the UTF-8 of the argument, sent with `send_bytes`.
    Raw(Vec<u8>),
    /// A Python literal, pickled with `send`.
    Value(Value),
}

/// Parses VALUEs as Python literals (or takes them as UTF-8 bytes with `raw`).
pub fn values(texts: &[String], raw: bool) -> Result<Vec<Payload>, Failure> {
    texts
        .iter()
        .map(|t| {
            if raw {
                Ok(Payload::Raw(t.as_bytes().to_vec()))
            } else {
                t.parse::<Value>()
                    .map(Payload::Value)
                    .map_err(|e| Failure::usage(format!("invalid VALUE {t:?}: {e}")))
            }
        })
        .collect()
}

#[cfg(unix)]
fn os_bytes(s: OsString) -> Vec<u8> {
    use std::os::unix::ffi::OsStringExt;
    s.into_vec()
}

#[cfg(not(unix))]
fn os_bytes(s: OsString) -> Vec<u8> {
    s.to_string_lossy().into_owned().into_bytes()
}

fn parse_digest(s: &str) -> Result<Digest, String> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "legacy" => Digest::Legacy,
        "md5" => Digest::Md5,
        "sha256" => Digest::Sha256,
        "sha384" => Digest::Sha384,
        "sha3_256" => Digest::Sha3_256,
        "sha3_384" => Digest::Sha3_384,
        _ => return Err("expected legacy, md5, sha256, sha384, sha3_256 or sha3_384".to_string()),
    })
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if secs.is_nan() || secs <= 0.0 {
        return Err("the timeout must be more than 0 seconds".to_string());
    }
    Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}
