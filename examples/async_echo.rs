//! An async echo server and client on tokio.
//!
//! ```text
//! cargo run --features tokio --example async_echo                      # both ends here
//! cargo run --features tokio --example async_echo -- serve 127.0.0.1:6000 secret
//! ```
//! In `serve` mode any `multiprocessing.connection.Client(('127.0.0.1', 6000),
//! authkey=b'secret')` can talk to it: every object it sends comes back.
use std::time::Duration;

use mpconn::tokio::{AsyncClient, AsyncConnection, AsyncListener};
use mpconn::{Address, Error, ListenerOptions, Value};

#[tokio::main]
async fn main() -> mpconn::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        let address: Address = args.get(1).map_or("127.0.0.1:6000", |s| s).parse()?;
        let key = args.get(2).map_or("secret", |s| s).as_bytes();
        return serve(address, key).await;
    }

    // Both ends in one process: a listener on a free port, one client.
    let listener = AsyncListener::bind_with(
        &"127.0.0.1:0".parse()?,
        ListenerOptions::new().authkey(b"secret"),
    )?;
    let address = listener.address();
    tokio::spawn(async move {
        if let Ok(conn) = listener.accept().await {
            let _ = echo(conn).await;
        }
    });

    let mut conn = AsyncClient::connect(&address, Some(b"secret")).await?;
    for text in ["hello", "[1, 'two', (3.0, None)]", "{'k': b'bytes'}"] {
        let value: Value = text.parse().unwrap_or_else(|_| Value::from(text));
        conn.send(&value).await?;
        // A receive is cancel-safe: under a timeout, nothing is lost if it expires.
        match tokio::time::timeout(Duration::from_secs(5), conn.recv()).await {
            Ok(reply) => println!("sent {value}, got back {}", reply?),
            Err(_) => println!("no reply within 5 s"),
        }
    }
    Ok(())
}

async fn serve(address: Address, key: &[u8]) -> mpconn::Result<()> {
    let listener = AsyncListener::bind_with(&address, ListenerOptions::new().authkey(key))?;
    println!("listening on {}", listener.address());
    loop {
        // Accept without the handshake, so that a slow peer never holds up the next one.
        let pending = listener.accept_pending().await?;
        let peer = pending.peer();
        tokio::spawn(async move {
            let result = match pending.authenticate().await {
                Ok(conn) => echo(conn).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => println!("{peer:?}: done"),
                Err(e) => println!("{peer:?}: {e}"),
            }
        });
    }
}

async fn echo(mut conn: AsyncConnection) -> mpconn::Result<()> {
    loop {
        match conn.recv().await {
            Ok(value) => conn.send(&value).await?,
            Err(Error::Eof) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}
