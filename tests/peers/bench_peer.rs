//! Benchmark peer: the Rust side of `make bench`'s transport measurements.
//!
//! ```text
//! bench_peer serve ADDRESS          mpconn Listener; per connection, answers the command
//! bench_peer raw-serve ADDRESS      the same over a bare socket with a fixed 8-byte size
//! bench_peer client ADDRESS rtt N SIZE      N round trips of SIZE bytes; prints seconds
//! bench_peer client ADDRESS stream N SIZE   N one-way messages of SIZE, then one ack
//! bench_peer raw-client ADDRESS rtt|stream N SIZE
//! bench_peer client ADDRESS recv-one SIZE   asks for one SIZE-byte message (memory check)
//! ```
//! The first message of a connection is the command `rtt SIZE N` / `stream SIZE N` /
//! `send SIZE`; `bench/transport_py.py` speaks the same commands with CPython.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
#[cfg(unix)]
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Instant;

use mpconn::{Address, Client, Connection, Listener};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = run(&args) {
        eprintln!("bench_peer: {e}");
        std::process::exit(1);
    }
}

type Res<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn run(args: &[String]) -> Res<()> {
    let arg = |i: usize| -> Res<&str> {
        args.get(i)
            .map(|s| s.as_str())
            .ok_or_else(|| "missing argument (see the doc comment)".into())
    };
    let num = |i: usize| -> Res<usize> { Ok(arg(i)?.parse()?) };
    match arg(0)? {
        "serve" => serve(&arg(1)?.parse()?),
        "raw-serve" => raw_serve(arg(1)?),
        "client" => {
            let mut conn = Client::connect(&arg(1)?.parse()?, None)?;
            match arg(2)? {
                "rtt" => report(client_rtt(&mut conn, num(3)?, num(4)?)?),
                "stream" => report(client_stream(&mut conn, num(3)?, num(4)?)?),
                "recv-one" => {
                    let size = num(3)?;
                    conn.send_bytes(format!("send {size} 1").as_bytes())?;
                    let msg = conn.recv_bytes()?;
                    assert_eq!(msg.len(), size);
                    report(0.0)
                }
                other => Err(format!("unknown client mode {other}").into()),
            }
        }
        "raw-client" => {
            let mut s = RawStream::connect(arg(1)?)?;
            let (n, size) = (num(3)?, num(4)?);
            match arg(2)? {
                "rtt" => report(raw_rtt(&mut s, n, size)?),
                "stream" => report(raw_stream(&mut s, n, size)?),
                other => Err(format!("unknown raw mode {other}").into()),
            }
        }
        other => Err(format!("unknown mode {other}").into()),
    }
}

fn report(seconds: f64) -> Res<()> {
    println!("{seconds:.9}");
    Ok(())
}

fn serve(address: &Address) -> Res<()> {
    let listener = Listener::bind(address, None)?;
    println!("READY {}", listener.address());
    std::io::stdout().flush()?;
    loop {
        let mut conn = listener.accept()?;
        std::thread::spawn(move || {
            let _ = serve_one(&mut conn);
        });
    }
}

fn parse_cmd(cmd: &[u8]) -> Res<(String, usize, usize)> {
    let text = std::str::from_utf8(cmd)?;
    let mut parts = text.split_whitespace();
    let name = parts.next().ok_or("empty command")?.to_string();
    let size = parts.next().ok_or("no size")?.parse()?;
    let n = parts.next().ok_or("no count")?.parse()?;
    Ok((name, size, n))
}

fn serve_one(conn: &mut Connection) -> Res<()> {
    loop {
        let cmd = match conn.recv_bytes() {
            Ok(c) => c,
            Err(mpconn::Error::Eof) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let (name, size, n) = parse_cmd(&cmd)?;
        match name.as_str() {
            "rtt" => {
                let mut buf = vec![0u8; size.max(1)];
                for _ in 0..n {
                    let len = conn.recv_bytes_into(&mut buf, 0)?;
                    conn.send_bytes(&buf[..len])?;
                }
            }
            "stream" => {
                let mut buf = vec![0u8; size.max(1)];
                for _ in 0..n {
                    conn.recv_bytes_into(&mut buf, 0)?;
                }
                conn.send_bytes(b"ok")?;
            }
            "send" => {
                let data = vec![7u8; size];
                for _ in 0..n {
                    conn.send_bytes(&data)?;
                }
            }
            _ => return Err("unknown command".into()),
        }
    }
}

fn client_rtt(conn: &mut Connection, n: usize, size: usize) -> Res<f64> {
    conn.send_bytes(format!("rtt {size} {n}").as_bytes())?;
    let data = vec![1u8; size];
    let mut buf = vec![0u8; size.max(1)];
    let t0 = Instant::now();
    for _ in 0..n {
        conn.send_bytes(&data)?;
        conn.recv_bytes_into(&mut buf, 0)?;
    }
    Ok(t0.elapsed().as_secs_f64() / n as f64)
}

fn client_stream(conn: &mut Connection, n: usize, size: usize) -> Res<f64> {
    conn.send_bytes(format!("stream {size} {n}").as_bytes())?;
    let data = vec![1u8; size];
    let t0 = Instant::now();
    for _ in 0..n {
        conn.send_bytes(&data)?;
    }
    conn.recv_bytes()?;
    Ok(t0.elapsed().as_secs_f64())
}

/// A bare TCP or Unix stream: the physical limit the framed protocol is compared with.
enum RawStream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
}

impl RawStream {
    fn connect(address: &str) -> Res<RawStream> {
        #[cfg(unix)]
        if address.contains('/') {
            return Ok(RawStream::Unix(UnixStream::connect(address)?));
        }
        {
            let s = TcpStream::connect(address)?;
            s.set_nodelay(true)?;
            Ok(RawStream::Tcp(s))
        }
    }
    fn io(&mut self) -> &mut dyn ReadWrite {
        match self {
            RawStream::Tcp(s) => s,
            #[cfg(unix)]
            RawStream::Unix(s) => s,
        }
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn raw_serve(address: &str) -> Res<()> {
    let handle = |mut s: Box<dyn ReadWrite + Send>| -> Res<()> {
        let mut hdr = [0u8; 16];
        s.read_exact(&mut hdr)?;
        let size = u64::from_be_bytes(hdr[..8].try_into()?) as usize;
        let n = u64::from_be_bytes(hdr[8..].try_into()?) as usize;
        let mode = size >> 62;
        let size = size & ((1 << 62) - 1);
        let mut buf = vec![0u8; size.max(1)];
        for _ in 0..n {
            s.read_exact(&mut buf[..size])?;
            if mode == 0 {
                s.write_all(&buf[..size])?;
            }
        }
        if mode == 1 {
            s.write_all(b"ok")?;
        }
        Ok(())
    };
    #[cfg(unix)]
    if address.contains('/') {
        let _ = std::fs::remove_file(address);
        let l = UnixListener::bind(address)?;
        println!("READY {address}");
        std::io::stdout().flush()?;
        for s in l.incoming() {
            let s = s?;
            std::thread::spawn(move || handle(Box::new(s)).map_err(|e| e.to_string()));
        }
        return Ok(());
    }
    {
        let l = TcpListener::bind(address)?;
        println!("READY {}", l.local_addr()?);
        std::io::stdout().flush()?;
        for s in l.incoming() {
            let s = s?;
            s.set_nodelay(true)?;
            std::thread::spawn(move || handle(Box::new(s)).map_err(|e| e.to_string()));
        }
    }
    Ok(())
}

fn raw_header(mode: u64, size: usize, n: usize) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[..8].copy_from_slice(&((mode << 62) | size as u64).to_be_bytes());
    h[8..].copy_from_slice(&(n as u64).to_be_bytes());
    h
}

fn raw_rtt(s: &mut RawStream, n: usize, size: usize) -> Res<f64> {
    let io = s.io();
    io.write_all(&raw_header(0, size, n))?;
    let data = vec![1u8; size];
    let mut buf = vec![0u8; size];
    let t0 = Instant::now();
    for _ in 0..n {
        io.write_all(&data)?;
        io.read_exact(&mut buf)?;
    }
    Ok(t0.elapsed().as_secs_f64() / n as f64)
}

fn raw_stream(s: &mut RawStream, n: usize, size: usize) -> Res<f64> {
    let io = s.io();
    io.write_all(&raw_header(1, size, n))?;
    let data = vec![1u8; size];
    let t0 = Instant::now();
    for _ in 0..n {
        io.write_all(&data)?;
    }
    let mut ok = [0u8; 2];
    io.read_exact(&mut ok)?;
    Ok(t0.elapsed().as_secs_f64())
}
