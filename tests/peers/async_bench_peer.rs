//! Benchmark peer on tokio: the async twin of `tests/peers/bench_peer.rs`, same commands.
//!
//! ```text
//! async_bench_peer serve ADDRESS                  AsyncListener; a task per connection
//! async_bench_peer client ADDRESS rtt N SIZE      N round trips of SIZE bytes; prints seconds each
//! async_bench_peer client ADDRESS stream N SIZE   N one-way messages of SIZE, then one ack; prints seconds
//! async_bench_peer client ADDRESS recv-one SIZE   asks for one SIZE-byte message
//! ```
//! The first message of a connection is the command `rtt SIZE N` / `stream SIZE N` /
//! `send SIZE N`, as `bench_peer` and `bench/transport_py.py` speak it, so any pair of
//! the three can be measured against each other.
use std::time::Instant;

use mpconn::tokio::{AsyncClient, AsyncConnection, AsyncListener};
use mpconn::Address;

type Res<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = run(&args).await {
        eprintln!("async_bench_peer: {e}");
        std::process::exit(1);
    }
}

async fn run(args: &[String]) -> Res<()> {
    let arg = |i: usize| -> Res<&str> {
        args.get(i)
            .map(|s| s.as_str())
            .ok_or_else(|| "missing argument (see the doc comment)".into())
    };
    let num = |i: usize| -> Res<usize> { Ok(arg(i)?.parse()?) };
    match arg(0)? {
        "serve" => serve(&arg(1)?.parse()?).await,
        "client" => {
            let mut conn = AsyncClient::connect(&arg(1)?.parse()?, None).await?;
            let seconds = match arg(2)? {
                "rtt" => client_rtt(&mut conn, num(3)?, num(4)?).await?,
                "stream" => client_stream(&mut conn, num(3)?, num(4)?).await?,
                "recv-one" => {
                    let size = num(3)?;
                    conn.send_bytes(format!("send {size} 1").as_bytes()).await?;
                    let msg = conn.recv_bytes().await?;
                    if msg.len() != size {
                        return Err("wrong size".into());
                    }
                    0.0
                }
                other => return Err(format!("unknown client mode {other}").into()),
            };
            println!("{seconds:.9}");
            Ok(())
        }
        other => Err(format!("unknown mode {other}").into()),
    }
}

async fn serve(address: &Address) -> Res<()> {
    let listener = AsyncListener::bind(address, None)?;
    println!("READY {}", listener.address());
    loop {
        let conn = listener.accept().await?;
        tokio::spawn(async move {
            let _ = serve_one(conn).await;
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

async fn serve_one(mut conn: AsyncConnection) -> Res<()> {
    loop {
        let cmd = match conn.recv_bytes().await {
            Ok(c) => c,
            Err(mpconn::Error::Eof) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let (name, size, n) = parse_cmd(&cmd)?;
        match name.as_str() {
            "rtt" => {
                let mut buf = vec![0u8; size.max(1)];
                for _ in 0..n {
                    let len = conn.recv_bytes_into(&mut buf, 0).await?;
                    conn.send_bytes(&buf[..len]).await?;
                }
            }
            "stream" => {
                let mut buf = vec![0u8; size.max(1)];
                for _ in 0..n {
                    conn.recv_bytes_into(&mut buf, 0).await?;
                }
                conn.send_bytes(b"ok").await?;
            }
            "send" => {
                let data = vec![7u8; size];
                for _ in 0..n {
                    conn.send_bytes(&data).await?;
                }
            }
            _ => return Err("unknown command".into()),
        }
    }
}

async fn client_rtt(conn: &mut AsyncConnection, n: usize, size: usize) -> Res<f64> {
    conn.send_bytes(format!("rtt {size} {n}").as_bytes())
        .await?;
    let data = vec![1u8; size];
    let mut buf = vec![0u8; size.max(1)];
    let t0 = Instant::now();
    for _ in 0..n {
        conn.send_bytes(&data).await?;
        conn.recv_bytes_into(&mut buf, 0).await?;
    }
    Ok(t0.elapsed().as_secs_f64() / n as f64)
}

async fn client_stream(conn: &mut AsyncConnection, n: usize, size: usize) -> Res<f64> {
    conn.send_bytes(format!("stream {size} {n}").as_bytes())
        .await?;
    let data = vec![1u8; size];
    let t0 = Instant::now();
    for _ in 0..n {
        conn.send_bytes(&data).await?;
    }
    conn.recv_bytes().await?;
    Ok(t0.elapsed().as_secs_f64())
}
