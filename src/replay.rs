//! Replaying the client side of a recording against a server, and reporting where the
//! server's answers differ from the recorded ones: a recorded CPython session becomes a
//! regression test for whatever now serves that address (a Rust replacement, a new version).
//!
//! Each recorded connection is replayed in turn, in the order it was opened: connect (and
//! authenticate with [`ReplayOptions::client`]), then walk its messages in recorded order,
//! sending each client-to-server message as recorded (the same bytes) and receiving one
//! message for each server-to-client one, compared with the recorded message by value
//! ([`Compare::Value`]: both unpickled and compared as Python's `==` would, falling back to
//! bytes when the recorded one does not unpickle) or byte for byte ([`Compare::Exact`]).
//! The replay stops at the first difference.
//!
//! Limits of the method: connections are replayed one after another, not concurrently as
//! they may have been recorded; a server whose answers depend on timing or on other clients
//! may answer differently for that reason alone.

use std::time::Duration;

use crate::recording::Record;
use crate::relay::Direction;
use crate::{Address, Client, ClientOptions, Error, Result, Value};

/// How a received message is compared with the recorded one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compare {
    /// Unpickled and compared as values (the default): a server that pickles the same
    /// objects differently (another protocol, another memo layout) still matches.
    #[default]
    Value,
    /// Compared byte for byte.
    Exact,
}

/// Options of [`replay`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ReplayOptions {
    /// How answers are compared.
    pub compare: Compare,
    /// Key, digest and limits for connecting to the server.
    pub client: ClientOptions,
    /// Bound on waiting for each answer (`None`: wait as long as it takes).
    pub timeout: Option<Duration>,
}

/// One step of a replay, as it happens.
#[derive(Debug)]
#[non_exhaustive]
pub enum Step<'a> {
    /// Connected (and authenticated) for recorded connection `connection`.
    Connected {
        /// The recorded connection number.
        connection: u64,
    },
    /// Sent a recorded client message.
    Sent {
        /// The recorded connection number.
        connection: u64,
        /// The message's number within its connection, from 1.
        index: usize,
        /// Its bytes.
        data: &'a [u8],
    },
    /// Received an answer that matches the recorded one.
    Matched {
        /// The recorded connection number.
        connection: u64,
        /// The message's number within its connection, from 1.
        index: usize,
        /// The bytes received.
        data: &'a [u8],
    },
}

/// Where a server's answer first differs from the recording.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    /// The recorded connection number.
    pub connection: u64,
    /// The message's number within its connection, from 1.
    pub index: usize,
    /// The recorded message.
    pub expected: Vec<u8>,
    /// What the server sent instead (`None`: it sent nothing, see `detail`).
    pub got: Option<Vec<u8>>,
    /// What differs, in words.
    pub detail: String,
}

/// What [`replay`] found.
#[derive(Clone, Debug, PartialEq)]
#[must_use = "a replay's outcome says whether the server answered as recorded"]
pub enum Outcome {
    /// Every answer matched: `connections` replayed, `sent` and `received` messages.
    Same {
        /// Connections replayed.
        connections: usize,
        /// Messages sent.
        sent: usize,
        /// Answers received and matched.
        received: usize,
    },
    /// The first difference.
    Differs(Difference),
}

/// Replays the client side of `records` against `address`; `report` sees every step.
///
/// # Errors
/// Failing to connect or authenticate, or to send; a server that closes or times out where
/// an answer was recorded is a [`Difference`], not an error.
pub fn replay(
    records: &[Record],
    address: &Address,
    options: &ReplayOptions,
    report: &mut dyn FnMut(&Step<'_>),
) -> Result<Outcome> {
    let mut order: Vec<u64> = Vec::new();
    for r in records {
        if !order.contains(&r.connection()) {
            order.push(r.connection());
        }
    }
    let (mut sent, mut received) = (0, 0);
    for &connection in &order {
        let mut conn = Client::connect_with(address, &options.client)?;
        conn.set_read_timeout(options.timeout)?;
        report(&Step::Connected { connection });
        let messages = records.iter().filter_map(|r| match r {
            Record::Message {
                connection: c,
                direction,
                data,
                ..
            } if *c == connection => Some((*direction, data)),
            _ => None,
        });
        for (i, (direction, data)) in messages.enumerate() {
            let index = i + 1;
            match direction {
                Direction::ToServer => {
                    conn.send_bytes(data)?;
                    sent += 1;
                    report(&Step::Sent {
                        connection,
                        index,
                        data,
                    });
                }
                Direction::ToClient => {
                    let got = match conn.recv_bytes() {
                        Ok(got) => got,
                        Err(e) => {
                            let detail = match e {
                                Error::Eof => "the server closed the connection instead".into(),
                                e => format!("no answer: {e}"),
                            };
                            return Ok(Outcome::Differs(Difference {
                                connection,
                                index,
                                expected: data.clone(),
                                got: None,
                                detail,
                            }));
                        }
                    };
                    if let Some(detail) = differs(data, &got, options.compare) {
                        return Ok(Outcome::Differs(Difference {
                            connection,
                            index,
                            expected: data.clone(),
                            got: Some(got),
                            detail,
                        }));
                    }
                    received += 1;
                    report(&Step::Matched {
                        connection,
                        index,
                        data: &got,
                    });
                }
            }
        }
    }
    Ok(Outcome::Same {
        connections: order.len(),
        sent,
        received,
    })
}

/// `None` when `got` matches `expected` under `compare`; otherwise what differs.
pub fn differs(expected: &[u8], got: &[u8], compare: Compare) -> Option<String> {
    if expected == got {
        return None;
    }
    if compare == Compare::Exact {
        let at = expected
            .iter()
            .zip(got)
            .position(|(a, b)| a != b)
            .unwrap_or(expected.len().min(got.len()));
        return Some(format!(
            "the bytes differ at offset {at} ({} bytes recorded, {} received)",
            expected.len(),
            got.len()
        ));
    }
    let want = crate::loads(expected);
    let have = crate::loads(got);
    match (want, have) {
        (Ok(a), Ok(b)) if values_equal(&a, &b) => None,
        (Ok(a), Ok(b)) => Some(format!("expected {a}, received {b}")),
        (Ok(a), Err(e)) => Some(format!("expected {a}, received an undecodable message ({e})")),
        (Err(_), _) => Some(format!(
            "the recorded message does not unpickle and the bytes differ ({} bytes recorded, {} received)",
            expected.len(),
            got.len()
        )),
    }
}

/// Python's `==` on decoded values, as [`Value`]'s `PartialEq` implements it.
fn values_equal(a: &Value, b: &Value) -> bool {
    a == b
}
