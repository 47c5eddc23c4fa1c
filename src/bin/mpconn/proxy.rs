//! `mpconn proxy` and `mpconn record`: a [`Proxy`] whose observer prints (and records) each
//! message.

use std::fs::File;
use std::io::BufWriter;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use mpconn::pickle::dis::{DisOptions, Disassembler};
use mpconn::recording::{Record, RecordingWriter};
use mpconn::relay::{Event, Observer, Proxy};
use mpconn::{loads, Address, ClientOptions, Listener, ListenerOptions, Value};
use serde_json::json;

use crate::args::{read_key, ProxyArgs, RecordArgs};
use crate::fail::{self, failure, Doing, Failure};
use crate::out;

/// Bound on one message's disassembly (MARK nesting makes it grow with the square of the
/// message's length).
const DIS_OUTPUT_LIMIT: usize = 1 << 20;

/// How each message is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Show {
    /// Python's repr of the unpickled message.
    Repr,
    /// A bytes repr of the raw message.
    Bytes,
    /// The repr line, then the pickletools disassembly.
    Dis,
}

/// Prints each event (text or JSON lines) and writes it to the recording.
struct Printer {
    show: Show,
    jsonl: bool,
    quiet: bool,
    repr_limit: usize,
    dis: DisOptions,
    recording: Option<Mutex<RecordingWriter<BufWriter<File>>>>,
}

/// `mpconn record LISTEN UPSTREAM FILE`: `proxy --record FILE`.
pub fn record(a: RecordArgs) -> Result<(), Failure> {
    let mut proxy = a.proxy;
    proxy.record = Some(a.file);
    run(proxy)
}

/// Binds, reports `listening on ADDRESS` on stderr, relays until killed (or `--once`).
pub fn run(a: ProxyArgs) -> Result<(), Failure> {
    let listen: Address = a
        .listen
        .parse()
        .map_err(|e: mpconn::Error| Failure::usage(e.to_string()))?;
    let upstream: Address = a
        .upstream
        .parse()
        .map_err(|e: mpconn::Error| Failure::usage(e.to_string()))?;
    let key = read_key(&a.authkey_file, &a.authkey)?;
    let upstream_key = if a.upstream_no_authkey {
        None
    } else {
        match read_key(&a.upstream_authkey_file, &a.upstream_authkey)? {
            Some(k) => Some(k),
            None => key.clone(),
        }
    };
    let mut options = ListenerOptions::new();
    options.authkey = key;
    options.digest = a.digest;
    if a.timeout.is_some() {
        options.handshake_timeout = a.timeout;
    }
    options.max_message_size = Some(a.max_message_size);
    let mut client = ClientOptions::new();
    client.authkey = upstream_key;
    client.digest = a.upstream_digest;
    client.timeout = a.timeout;
    client.max_message_size = Some(a.max_message_size);

    let recording = match &a.record {
        Some(path) => {
            let file = File::create(path)
                .map_err(|e| Failure::usage(format!("cannot create {}: {e}", path.display())))?;
            let writer = RecordingWriter::new(BufWriter::new(file))
                .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", path.display())))?;
            Some(Mutex::new(writer))
        }
        None => None,
    };
    let printer = Arc::new(Printer {
        show: if a.dis {
            Show::Dis
        } else if a.bytes {
            Show::Bytes
        } else {
            Show::Repr
        },
        jsonl: a.format == "jsonl",
        quiet: a.quiet,
        repr_limit: a.repr_limit,
        dis: DisOptions::new()
            .version(a.dis_python.flavour())
            .max_output(Some(DIS_OUTPUT_LIMIT)),
        recording,
    });

    let listener =
        Listener::bind_with(&listen, options).map_err(|e| failure(&e, Doing::Bind(&a.listen)))?;
    let proxy = Proxy::new(listener, upstream, client).max_connections(a.max_connections as usize);
    fail::report(&format!("listening on {}", proxy.address()));
    let observer: Arc<dyn Observer> = printer;
    if a.once {
        loop {
            match proxy.accept_one(Arc::clone(&observer)) {
                Ok(Some(pair)) => {
                    let ended = pair.join();
                    return match ended {
                        Ok(Ok(())) => Ok(()),
                        Ok(Err(e)) => Err(Failure::runtime(format!("connection #1: {e}"))),
                        Err(_) => Err(Failure::runtime("connection #1: relay thread panicked")),
                    };
                }
                Ok(None) => continue,
                Err(e) => fail::report(&format!("accepting on {}: {e}", proxy.address())),
            }
        }
    }
    proxy
        .serve(observer)
        .map_err(|e| Failure::runtime(format!("accepting on {}: {e}", proxy.address())))
}

impl Observer for Printer {
    fn event(&self, event: &Event<'_>) {
        self.record(event);
        // Failures go to stderr even with --quiet, which only silences stdout.
        match event {
            Event::Closed {
                connection,
                error: Some(e),
                ..
            } => fail::report(&format!("connection #{connection}: {e}")),
            Event::Refused {
                connection, reason, ..
            } => fail::report(&format!("connection #{connection}: refused: {reason}")),
            _ => {}
        }
        if self.quiet {
            return;
        }
        match event {
            Event::Message(m) => {
                let shown = describe(m.data, self.show, self.repr_limit, &self.dis);
                if self.jsonl {
                    let mut object = json!({
                        "event": "message",
                        "connection": m.connection,
                        "direction": m.direction.as_str(),
                        "time": iso_time(m.time),
                        "size": m.data.len(),
                    });
                    match &shown.value {
                        Ok(repr) => object["repr"] = json!(repr),
                        Err(e) => object["undecodable"] = json!(e),
                    }
                    if self.show == Show::Bytes {
                        object["hex"] = json!(hex(m.data));
                    }
                    if let Some(dis) = &shown.dis {
                        object["dis"] = json!(dis);
                    }
                    out::line(&object.to_string());
                } else {
                    let body = match (&shown.value, self.show) {
                        (Ok(repr), _) => repr.clone(),
                        (Err(e), _) => {
                            format!("undecodable ({e}): {}", Value::bytes(preview(m.data)))
                        }
                    };
                    let mut text = format!(
                        "{} #{} {} {} bytes {body}\n",
                        clock(m.time),
                        m.connection,
                        m.direction,
                        m.data.len()
                    );
                    if let Some(dis) = &shown.dis {
                        text.push_str(dis);
                    }
                    out::text(&text);
                }
            }
            Event::Opened {
                connection,
                client,
                time,
            } => {
                let who = client
                    .as_ref()
                    .map(|c| c.to_string())
                    .filter(|c| !c.is_empty())
                    .unwrap_or_else(|| "an unnamed peer".into());
                if self.jsonl {
                    out::line(
                        &json!({"event": "opened", "connection": connection,
                                "time": iso_time(*time), "client": who})
                        .to_string(),
                    );
                } else {
                    out::line(&format!("{} #{connection} opened from {who}", clock(*time)));
                }
            }
            Event::Closed {
                connection,
                by,
                error,
                time,
            } => {
                let how = match error {
                    None => format!("closed by the {}", by.sender()),
                    Some(e) => format!("ended by the {}: {e}", by.sender()),
                };
                if self.jsonl {
                    out::line(
                        &json!({"event": "closed", "connection": connection,
                                "time": iso_time(*time), "by": by.sender(),
                                "error": error.map(|e| e.to_string())})
                        .to_string(),
                    );
                } else {
                    out::line(&format!("{} #{connection} {how}", clock(*time)));
                }
            }
            _ => {}
        }
    }
}

impl Printer {
    /// Writes the event to the recording, if there is one; a failing recording is reported
    /// once per failure and the relay goes on.
    fn record(&self, event: &Event<'_>) {
        let Some(recording) = &self.recording else {
            return;
        };
        let record = match event {
            Event::Opened {
                connection,
                client,
                time,
            } => Record::Opened {
                connection: *connection,
                time: *time,
                client: client.as_ref().map(|c| c.to_string()).unwrap_or_default(),
            },
            Event::Message(m) => Record::Message {
                connection: m.connection,
                time: m.time,
                direction: m.direction,
                data: m.data.to_vec(),
            },
            Event::Closed {
                connection,
                by,
                error,
                time,
            } => Record::Closed {
                connection: *connection,
                time: *time,
                by: *by,
                reason: error.map(|e| e.to_string()).unwrap_or_default(),
            },
            _ => return,
        };
        let mut writer = recording.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = writer.write(&record).and_then(|()| writer.flush()) {
            fail::report(&format!("cannot write the recording: {e}"));
        }
    }
}

/// A message as shown: its repr (or why it does not unpickle) and its disassembly.
struct Shown {
    value: Result<String, String>,
    dis: Option<String>,
}

fn describe(data: &[u8], show: Show, limit: usize, dis: &DisOptions) -> Shown {
    let value = match show {
        Show::Bytes => Ok(cut(&Value::bytes(data), limit)),
        _ => loads(data)
            .map(|v| cut(&v, limit))
            .map_err(|e| e.to_string()),
    };
    let dis = (show == Show::Dis).then(|| {
        let mut text = String::new();
        if let Err(e) = Disassembler::new(dis.clone()).dis_into(data, &mut text) {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!("!! {e}\n"));
        }
        text
    });
    Shown { value, dis }
}

/// `shown`'s text, cut at `limit` characters (0: no limit) with a mark saying so.
fn cut(shown: &dyn std::fmt::Display, limit: usize) -> String {
    if limit == 0 {
        return shown.to_string();
    }
    match out::bounded(shown, limit) {
        Ok(text) => text,
        Err(mut text) => {
            text.push_str(&format!("... (cut at {limit} characters)"));
            text
        }
    }
}

/// The first bytes of an undecodable message (enough to recognise it).
fn preview(data: &[u8]) -> &[u8] {
    &data[..data.len().min(64)]
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

/// (days since 1970-01-01, seconds into the day, microseconds) of `time`, in UTC.
fn split_time(time: SystemTime) -> (i64, u64, u32) {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    ((secs / 86_400) as i64, secs % 86_400, since.subsec_micros())
}

/// `HH:MM:SS.ffffff` (UTC).
fn clock(time: SystemTime) -> String {
    let (_, s, micros) = split_time(time);
    format!(
        "{:02}:{:02}:{:02}.{micros:06}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`. The civil date from a day count (Howard Hinnant's
/// `civil_from_days`), written here rather than pulling in a date crate for one line.
fn iso_time(time: SystemTime) -> String {
    let (days, _, _) = split_time(time);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{}Z", clock(time))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times_print_in_utc() {
        // 2026-12-02T11:27:39.5Z is 1796210859.5 seconds after the epoch.
        let t = UNIX_EPOCH + Duration::from_micros(1_796_210_859_500_000);
        assert_eq!(iso_time(t), "2026-12-02T11:27:39.500000Z");
        assert_eq!(iso_time(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
    }
}
