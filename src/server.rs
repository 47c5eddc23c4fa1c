//! Serving many peers at once: a thread per connection, the handshake in that thread.
//!
//! CPython's `Listener.accept()` runs the digest challenge inline, so one silent client
//! stalls every other. [`Server::serve`] only accepts on its own thread; each
//! connection's handshake (under the listener's handshake timeout) and handler run in a
//! worker thread, and every failure closes only that connection and is reported.
//!
//! ```no_run
//! use mpconn::{Listener, ListenerOptions, Family};
//! use mpconn::server::{Server, Report};
//! # fn main() -> mpconn::Result<()> {
//! let listener = Listener::bind_any(Family::Inet, ListenerOptions::new().authkey(b"k"))?;
//! let server = Server::new(listener)?;
//! server.serve(
//!     |conn| loop {
//!         let msg = conn.recv_bytes()?;
//!         conn.send_bytes(&msg)?;
//!     },
//!     |report| eprintln!("{report:?}"),
//! )
//! # }
//! ```
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::{wait, Address, Connection, Error, Listener, Result, Waitable};

/// Default cap on connections served at once by [`Server`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Where a connection failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// During the digest challenge (wrong key, malformed or oversize answer, timeout).
    Handshake,
    /// In the handler.
    Handler,
}

/// What happened, reported to the `report` callback of [`Server::serve`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Report {
    /// A connection was accepted; its handshake runs next, in a worker thread.
    Accepted {
        /// The peer (`None` for an unnamed AF_UNIX peer).
        peer: Option<Address>,
    },
    /// The handshake succeeded (or none was needed); the handler runs now.
    Authenticated {
        /// The peer.
        peer: Option<Address>,
    },
    /// The handler returned, or the peer closed cleanly at a message boundary.
    Finished {
        /// The peer.
        peer: Option<Address>,
    },
    /// The connection failed and was closed; the server goes on.
    Failed {
        /// The peer.
        peer: Option<Address>,
        /// Where it failed.
        stage: Stage,
        /// Why.
        error: Error,
    },
    /// The connection was closed at once: `active` connections were already served.
    Refused {
        /// The peer.
        peer: Option<Address>,
        /// Connections being served.
        active: usize,
    },
    /// `accept` itself failed (e.g. out of descriptors); the server goes on.
    AcceptFailed {
        /// Why.
        error: Error,
    },
}

/// Stops a running [`Server::serve`] from any thread.
#[derive(Clone, Debug)]
pub struct StopHandle {
    stopped: Arc<AtomicBool>,
    wake: Arc<UnixStream>,
}

impl StopHandle {
    /// Makes `serve` return (soon, from its own thread). Connections already accepted
    /// keep running in their threads until their handlers return.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let _ = (&*self.wake).write(&[1]);
    }
}

/// A listener served by a thread per connection.
#[derive(Debug)]
pub struct Server {
    listener: Listener,
    max_connections: usize,
    active: Arc<AtomicUsize>,
    stopped: Arc<AtomicBool>,
    wake_read: UnixStream,
    wake_write: Arc<UnixStream>,
}

/// Gives a connection's slot in an `active` count back when dropped, however its thread
/// ends (also used by [`crate::relay::Proxy`]).
pub(crate) struct ActiveGuard(pub(crate) Arc<AtomicUsize>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Server {
    /// Serves `listener` with at most [`DEFAULT_MAX_CONNECTIONS`] connections at once.
    pub fn new(listener: Listener) -> Result<Server> {
        let (wake_read, wake_write) = UnixStream::pair()?;
        Ok(Server {
            listener,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            active: Arc::new(AtomicUsize::new(0)),
            stopped: Arc::new(AtomicBool::new(false)),
            wake_read,
            wake_write: Arc::new(wake_write),
        })
    }

    /// Sets the cap on connections served at once; more are closed at once and reported
    /// as [`Report::Refused`].
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// The listener served.
    pub fn listener(&self) -> &Listener {
        &self.listener
    }

    /// Connections being served now (handshake or handler running).
    pub fn active(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }

    /// A handle that makes [`Server::serve`] return.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            stopped: self.stopped.clone(),
            wake: self.wake_write.clone(),
        }
    }

    /// Accepts connections until stopped. Each one is authenticated (with the listener's
    /// key, digest and handshake timeout) and handed to `handler` in its own thread;
    /// `report` hears about every accept, success and failure, from any thread.
    /// A handler error of [`Error::Eof`] counts as a clean finish.
    pub fn serve<H, R>(&self, handler: H, report: R) -> Result<()>
    where
        H: Fn(&mut Connection) -> Result<()> + Send + Sync + 'static,
        R: Fn(Report) + Send + Sync + 'static,
    {
        let handler = Arc::new(handler);
        let report = Arc::new(report);
        let wake = self.wake_read.as_fd();
        loop {
            if self.stopped.load(Ordering::SeqCst) {
                return Ok(());
            }
            let ready = wait(&[&self.listener as &dyn Waitable, &wake], None)?;
            if self.stopped.load(Ordering::SeqCst) {
                return Ok(());
            }
            if !ready.contains(&0) {
                continue;
            }
            let pending = match self.listener.accept_pending() {
                Ok(p) => p,
                Err(error) => {
                    report(Report::AcceptFailed { error });
                    // Out of descriptors and the like: give the workers a moment to
                    // release some, but wake at once on stop.
                    let _ = wait(&[&wake], Some(Duration::from_millis(50)));
                    continue;
                }
            };
            let peer = pending.peer();
            let active = self.active.fetch_add(1, Ordering::SeqCst);
            let guard = ActiveGuard(self.active.clone());
            if active >= self.max_connections {
                drop(pending);
                drop(guard);
                report(Report::Refused { peer, active });
                continue;
            }
            report(Report::Accepted { peer: peer.clone() });
            let (handler, worker_report) = (handler.clone(), report.clone());
            let spawned = std::thread::Builder::new()
                .name("mpconn-conn".into())
                .spawn(move || {
                    let _guard = guard;
                    let report = worker_report;
                    let mut conn = match pending.authenticate() {
                        Ok(c) => c,
                        Err(error) => {
                            report(Report::Failed {
                                peer,
                                stage: Stage::Handshake,
                                error,
                            });
                            return;
                        }
                    };
                    report(Report::Authenticated { peer: peer.clone() });
                    match handler(&mut conn) {
                        Ok(()) | Err(Error::Eof) => report(Report::Finished { peer }),
                        Err(error) => report(Report::Failed {
                            peer,
                            stage: Stage::Handler,
                            error,
                        }),
                    }
                });
            if let Err(e) = spawned {
                report(Report::AcceptFailed { error: e.into() });
            }
        }
    }
}
