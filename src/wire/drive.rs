//! One handshake loop for every shell: [`drive`] runs a [`Handshake`] over anything that
//! can send and receive whole messages ([`MessageIo`]), so the blocking and the tokio
//! connections share it instead of each writing it out.
//!
//! The blocking shell's futures never wait (they do their I/O when first polled), and
//! [`block_on_ready`] polls them once; the tokio shell awaits the same future.
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use super::handshake::{Handshake, Step, MAX_HANDSHAKE_MESSAGE};
use crate::error::AuthError;
use crate::{Error, Result};

/// A shell's way to move one handshake message.
pub(crate) trait MessageIo {
    /// Sends `message` as one message.
    async fn send_message(&mut self, message: &[u8]) -> Result<()>;
    /// Receives one message of at most `max` bytes.
    async fn recv_message(&mut self, max: usize) -> Result<Vec<u8>>;
    /// Shuts the connection down after a failed authentication, refusing further use.
    fn fail_authentication(&mut self);
}

/// Runs `handshake` to the end over `io`. A wrong answer sends `#FAILURE#`; any
/// authentication failure shuts the connection down.
pub(crate) async fn drive(io: &mut impl MessageIo, mut handshake: Handshake) -> Result<()> {
    let mut received: Option<Vec<u8>> = None;
    loop {
        match handshake.step(received.take().as_deref()) {
            Ok(Step::Send(message)) => io.send_message(&message).await?,
            Ok(Step::Receive) => {
                received = Some(match io.recv_message(MAX_HANDSHAKE_MESSAGE).await {
                    Err(Error::MessageTooLong { length, .. }) => {
                        return Err(Error::Authentication(format!(
                        "handshake message of {length} bytes, the maximum is {MAX_HANDSHAKE_MESSAGE}"
                    )))
                    }
                    other => other?,
                })
            }
            Ok(Step::Done) => return Ok(()),
            Ok(Step::Reject { reply, error }) => {
                let _ = io.send_message(reply).await;
                io.fail_authentication();
                return Err(error.into());
            }
            Err(e) => {
                if let AuthError::Failed(_) = e {
                    io.fail_authentication();
                }
                return Err(e.into());
            }
        }
    }
}

struct NoWake;

impl Wake for NoWake {
    fn wake(self: Arc<Self>) {}
}

/// The output of a future that completes when first polled (a blocking shell's
/// [`MessageIo`] future).
///
/// # Panics
/// When the future is pending: a caller bug (it was given a future that waits).
pub(crate) fn block_on_ready<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(NoWake));
    match pin!(future).poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a blocking shell's future waited"),
    }
}
