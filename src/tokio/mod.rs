//! The async API on tokio (feature `tokio`): [`AsyncListener`], [`AsyncClient`],
//! [`AsyncConnection`] and its halves.
//!
//! The same sans-IO core as the blocking endpoints runs underneath: frames are cut by
//! [`crate::wire::frame`] ([`FrameDecoder`](crate::wire::frame::FrameDecoder) keeps a
//! partial frame between reads), the digest challenge is the one
//! [`Handshake`](crate::wire::handshake::Handshake) sequence both shells drive, and
//! values go through the same pickle codec. Only the moving of bytes differs.
//!
//! ```no_run
//! use mpconn::tokio::AsyncClient;
//! use mpconn::Value;
//! # async fn run() -> mpconn::Result<()> {
//! let mut conn = AsyncClient::connect(&"127.0.0.1:6000".parse()?, Some(b"secret")).await?;
//! conn.send(&Value::from("hello")).await?;
//! let reply = conn.recv().await?;
//! println!("{reply}");
//! # Ok(()) }
//! ```
//!
//! # Cancellation safety
//!
//! | operation | cancel-safe? | after cancellation |
//! |---|---|---|
//! | `recv_bytes`, `recv_bytes_max`, `recv_bytes_into` | **yes** | bytes already read stay in the connection (its [`FrameDecoder`](crate::wire::frame::FrameDecoder) and read buffer); the next receive returns the whole message |
//! | `recv`, `recv_with`, `recv_obj` | **yes** | as above (decoding starts only once the message is complete) |
//! | `send_bytes`, `send`, `send_with`, `send_obj` | no | before any byte left: nothing sent, usable; after part of the frame left: the send side gives [`Error::Closed`](crate::Error::Closed) from then on |
//! | [`AsyncListener::accept_pending`] | **yes** | no connection was taken |
//! | [`AsyncListener::accept`], [`AsyncPendingConnection::authenticate`], `deliver_challenge`, `answer_challenge`, [`AsyncClient::connect_with`] | no | that connection is dropped (or must be) |
//!
//! So a receive can sit in a `tokio::select!` loop or under `tokio::time::timeout`:
//!
//! ```no_run
//! # async fn run(conn: &mut mpconn::tokio::AsyncConnection) -> mpconn::Result<()> {
//! use std::time::Duration;
//! loop {
//!     match tokio::time::timeout(Duration::from_secs(1), conn.recv_bytes()).await {
//!         Ok(message) => println!("{} bytes", message?.len()),
//!         Err(_) => println!("nothing for a second; still connected"),
//!     }
//! }
//! # }
//! ```
//!
//! To receive in one task while another sends, split the connection with
//! [`AsyncConnection::into_split`]; [`AsyncRecvHalf::reunite`] puts it back together.
//! [`AsyncConnection::split`] borrows both halves for one task (while a send runs in a
//! `select!` body nothing is received, so two peers both sending more than their socket
//! buffers hold would wait on each other: for heavy traffic both ways, use two tasks):
//!
//! ```no_run
//! # async fn run(conn: &mut mpconn::tokio::AsyncConnection,
//! #              mut outbox: tokio::sync::mpsc::Receiver<Vec<u8>>) -> mpconn::Result<()> {
//! let (rx, tx) = conn.split();
//! loop {
//!     tokio::select! {
//!         message = rx.recv_bytes() => println!("got {} bytes", message?.len()),
//!         Some(out) = outbox.recv() => tx.send_bytes(&out).await?,
//!     }
//! }
//! # }
//! ```
mod client;
mod connection;
mod listener;
mod stream;

pub use client::AsyncClient;
pub use connection::{AsyncConnection, AsyncRecvHalf, AsyncSendHalf};
pub use listener::{AsyncListener, AsyncPendingConnection};

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// Compiles only while the handshake futures can move between threads
    /// (`tokio::spawn(pending.authenticate())`).
    #[allow(dead_code)]
    fn handshake_futures_are_send(pending: AsyncPendingConnection, conn: &mut AsyncConnection) {
        assert_send(&pending.authenticate());
        assert_send(&conn.answer_challenge(b"key"));
    }
}
