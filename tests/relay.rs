//! The relay, recording and replay APIs in Rust alone (the CPython peers are in
//! python_interop/test_proxy.py): a Rust client talks through a `Proxy` to a Rust server.
#![cfg(unix)]

use std::sync::{Arc, Mutex};
use std::thread;

use mpconn::recording::{Record, RecordingReader, RecordingWriter};
use mpconn::relay::{Direction, Event, Proxy};
use mpconn::replay::{replay, Compare, Outcome, ReplayOptions, Step};
use mpconn::{Client, ClientOptions, Digest, Family, Listener, ListenerOptions, Value};

/// A server answering each message with its bytes reversed (`change`: the third answer
/// has one more byte), serving `connections` connections one after the other.
fn server(connections: usize, change: bool) -> (mpconn::Address, thread::JoinHandle<()>) {
    let options = ListenerOptions::new()
        .authkey(b"back")
        .digest(Digest::Sha384);
    let listener = Listener::bind_any(Family::Unix, options).unwrap();
    let address = listener.address();
    let handle = thread::spawn(move || {
        for _ in 0..connections {
            let mut conn = listener.accept().unwrap();
            let mut n = 0;
            while let Ok(mut data) = conn.recv_bytes() {
                n += 1;
                data.reverse();
                if change && n == 3 {
                    data.push(0);
                }
                conn.send_bytes(&data).unwrap();
            }
        }
    });
    (address, handle)
}

/// Every event as a record, as `mpconn proxy --record` writes them.
fn recorder(into: Arc<Mutex<Vec<Record>>>) -> Arc<dyn mpconn::relay::Observer> {
    Arc::new(move |event: &Event<'_>| {
        let record = match event {
            Event::Message(m) => Record::Message {
                connection: m.connection,
                time: m.time,
                direction: m.direction,
                data: m.data.to_vec(),
            },
            Event::Closed {
                connection,
                by,
                time,
                ..
            } => Record::Closed {
                connection: *connection,
                time: *time,
                by: *by,
                reason: String::new(),
            },
            _ => return,
        };
        into.lock().unwrap().push(record);
    })
}

#[test]
fn relayed_bytes_arrive_unchanged_and_a_recording_replays_without_difference() {
    let (upstream, srv) = server(2, false);
    let front = Listener::bind_any(Family::Inet, ListenerOptions::new().authkey(b"front")).unwrap();
    let proxy = Proxy::new(
        front,
        upstream.clone(),
        ClientOptions::new().authkey(b"back").digest(Digest::Md5),
    );
    let events = Arc::new(Mutex::new(Vec::new()));
    let observer = recorder(Arc::clone(&events));
    let address = proxy.address();
    let client = thread::spawn(move || {
        let mut conn = Client::connect(&address, Some(b"front")).unwrap();
        let messages: Vec<Vec<u8>> = vec![
            mpconn::dumps(&Value::from("hello")).unwrap(),
            b"not a pickle".to_vec(),
            vec![7u8; 100_000],
            Vec::new(),
        ];
        for m in &messages {
            conn.send_bytes(m).unwrap();
            let mut expected = m.clone();
            expected.reverse();
            assert_eq!(conn.recv_bytes().unwrap(), expected);
        }
    });
    let pair = proxy.accept_one(Arc::clone(&observer)).unwrap().unwrap();
    client.join().unwrap();
    pair.join().unwrap().unwrap();

    let records = events.lock().unwrap().clone();
    let messages: Vec<_> = records
        .iter()
        .filter_map(|r| match r {
            Record::Message {
                direction, data, ..
            } => Some((*direction, data.len())),
            _ => None,
        })
        .collect();
    assert_eq!(messages.len(), 8);
    assert_eq!(messages[4], (Direction::ToServer, 100_000));
    assert!(matches!(
        records.last(),
        Some(Record::Closed {
            by: Direction::ToServer,
            ..
        })
    ));

    // Through the file format and back, then replayed against the same server.
    let mut writer = RecordingWriter::new(Vec::new()).unwrap();
    for r in &records {
        writer.write(r).unwrap();
    }
    let bytes = writer.into_inner();
    let read: Vec<Record> = RecordingReader::new(&bytes[..])
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(read, records);
    let mut options = ReplayOptions::default();
    options.client = ClientOptions::new().authkey(b"back");
    options.compare = Compare::Exact;
    let mut steps = 0;
    let outcome = replay(&read, &upstream, &options, &mut |s: &Step<'_>| {
        if !matches!(s, Step::Connected { .. }) {
            steps += 1;
        }
    })
    .unwrap();
    assert_eq!(
        outcome,
        Outcome::Same {
            connections: 1,
            sent: 4,
            received: 4
        }
    );
    assert_eq!(steps, 8);
    srv.join().unwrap();
}

#[test]
fn replay_stops_at_the_first_differing_answer() {
    let (upstream, _srv) = server(1, true);
    let hello = mpconn::dumps(&Value::from("hello")).unwrap();
    let mut olleh = hello.clone();
    olleh.reverse();
    let mut records = Vec::new();
    for _ in 0..3 {
        for (direction, data) in [(Direction::ToServer, &hello), (Direction::ToClient, &olleh)] {
            records.push(Record::Message {
                connection: 1,
                time: std::time::SystemTime::now(),
                direction,
                data: data.clone(),
            });
        }
    }
    let mut options = ReplayOptions::default();
    options.client = ClientOptions::new().authkey(b"back");
    let outcome = replay(&records, &upstream, &options, &mut |_: &Step<'_>| {}).unwrap();
    let Outcome::Differs(d) = outcome else {
        panic!("no difference found: {outcome:?}")
    };
    assert_eq!((d.connection, d.index), (1, 6));
    assert_eq!(d.got.as_ref().map(Vec::len), Some(olleh.len() + 1));
}
