//! `mpconn replay FILE ADDRESS`: [`mpconn::replay::replay`], reported message by message.

use std::fs::File;
use std::io::BufReader;

use mpconn::recording::{Record, RecordingReader};
use mpconn::replay::{replay, Compare, Outcome, ReplayOptions, Step};
use mpconn::{loads, ClientOptions, Value};

use crate::args::ReplayArgs;
use crate::fail::{failure, Doing, Failure};
use crate::out;

/// A message as a line shows it: its repr, or its bytes when it does not unpickle.
fn show(data: &[u8]) -> String {
    match loads(data) {
        Ok(v) => v.to_string(),
        Err(_) => format!(
            "(undecodable) {}",
            Value::bytes(&data[..data.len().min(64)])
        ),
    }
}

/// Reads the recording, replays it, prints one line per step; exit status 1 on a difference.
pub fn run(a: ReplayArgs) -> Result<(), Failure> {
    let shown_file = a.file.display().to_string();
    let file = File::open(&a.file)
        .map_err(|e| Failure::usage(format!("cannot open {shown_file}: {e}")))?;
    let reader = RecordingReader::new(BufReader::new(file))
        .map_err(|e| Failure::usage(format!("cannot read {shown_file}: {e}")))?;
    let records: Vec<Record> = reader
        .collect::<Result<_, _>>()
        .map_err(|e| Failure::runtime(format!("cannot read {shown_file}: {e}")))?;
    let common = &a.common;
    let address = common.address()?;
    let mut client = ClientOptions::new();
    client.authkey = common.authkey()?;
    client.digest = common.digest;
    client.timeout = common.timeout;
    client.max_message_size = Some(common.max_message_size);
    let mut options = ReplayOptions::default();
    options.client = client;
    options.timeout = common.timeout;
    options.compare = if a.exact {
        Compare::Exact
    } else {
        Compare::Value
    };
    let mut report = |step: &Step<'_>| match step {
        Step::Connected { connection } => out::line(&format!("#{connection} connected")),
        Step::Sent {
            connection,
            index,
            data,
        } => out::line(&format!(
            "#{connection} message {index} client->server sent {} bytes {}",
            data.len(),
            show(data)
        )),
        Step::Matched {
            connection,
            index,
            data,
        } => out::line(&format!(
            "#{connection} message {index} server->client same {} bytes {}",
            data.len(),
            show(data)
        )),
        _ => {}
    };
    let outcome = replay(&records, &address, &options, &mut report)
        .map_err(|e| failure(&e, Doing::Connect(&common.address)))?;
    match outcome {
        Outcome::Same {
            connections,
            sent,
            received,
        } => {
            out::line(&format!(
                "no difference: {connections} connections, {sent} messages sent, {received} answers as recorded"
            ));
            Ok(())
        }
        Outcome::Differs(d) => {
            out::line(&format!(
                "#{} message {} server->client DIFFERS: {}",
                d.connection, d.index, d.detail
            ));
            out::line(&format!("  recorded: {}", show(&d.expected)));
            if let Some(got) = &d.got {
                out::line(&format!("  received: {}", show(got)));
            }
            Err(Failure::runtime(format!(
                "replay of {shown_file}: connection #{} message {} differs: {}",
                d.connection, d.index, d.detail
            )))
        }
    }
}
