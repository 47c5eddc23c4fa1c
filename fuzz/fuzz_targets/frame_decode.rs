//! Any bytes into `FrameDecoder`, fed in random-sized pieces: never a panic, and the
//! messages and the error are the same whatever the chunking (compared with feeding the
//! whole input at once), the header parser agrees, and EOF gives the right error. The
//! connection core (`wire::receive::Receiver`, with a small read buffer so that both its
//! buffered and its direct paths run) cuts the same messages and ends in the same error.
//!
//! Input layout: byte 0 picks the maximum message size, byte 1 seeds the chunk sizes,
//! the rest is the byte stream.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mpconn::wire::frame::{parse_header, FrameDecoder, HeaderStatus};
use mpconn::wire::receive::{Event, ReadInto, Receiver};

/// What feeding a stream gives: the messages, then the error (if any) and how many
/// bytes were used before it, and whether the decoder ended at a message boundary.
#[derive(Debug, PartialEq)]
struct Outcome {
    messages: Vec<Vec<u8>>,
    error: Option<String>,
    at_boundary: bool,
}

/// The decoder's EOF error after the whole stream.
fn eof_error(max: Option<usize>, stream: &[u8]) -> mpconn::wire::FrameError {
    let mut dec = FrameDecoder::new(max);
    let mut rest = stream;
    while !rest.is_empty() {
        let (used, _) = dec.feed(rest).expect("no error on this stream");
        rest = &rest[used..];
    }
    dec.eof_error()
}

fn run(max: Option<usize>, stream: &[u8], mut next_chunk: impl FnMut() -> usize) -> Outcome {
    let mut dec = FrameDecoder::new(max);
    let mut messages = Vec::new();
    let mut pos = 0;
    while pos < stream.len() {
        let end = (pos + next_chunk()).min(stream.len());
        let mut piece = &stream[pos..end];
        while !piece.is_empty() {
            match dec.feed(piece) {
                Ok((used, msg)) => {
                    assert!(used <= piece.len(), "used more than fed");
                    if let Some(m) = msg {
                        messages.push(m);
                    } else {
                        // Without a message, everything fed must have been used.
                        assert_eq!(used, piece.len(), "bytes left over without a message");
                    }
                    piece = &piece[used..];
                    pos += used;
                }
                Err(e) => {
                    return Outcome {
                        messages,
                        error: Some(format!("{e}")),
                        at_boundary: dec.at_boundary(),
                    }
                }
            }
        }
    }
    let at_boundary = dec.at_boundary();
    let eof = dec.eof_error();
    assert_eq!(
        at_boundary,
        matches!(eof, mpconn::wire::FrameError::Eof),
        "EOF error {eof:?} disagrees with at_boundary"
    );
    Outcome {
        messages,
        error: None,
        at_boundary,
    }
}

/// The same stream through a `Receiver` reading pieces of `next_chunk()` bytes.
fn run_core(max: Option<usize>, stream: &[u8], mut next_chunk: impl FnMut() -> usize) -> Outcome {
    let mut recv = Receiver::new(16);
    recv.set_max_message_size(max);
    let mut messages = Vec::new();
    let mut rest = stream;
    let error = loop {
        match recv.next(max, false) {
            Ok(Event::Buffered(r)) => messages.push(recv.message(r).to_vec()),
            Ok(Event::Owned(m)) => messages.push(m),
            Ok(Event::Header { .. }) => unreachable!("not asked for"),
            Ok(Event::Read) => {
                let want = next_chunk().min(rest.len());
                let n = match recv.read_into() {
                    ReadInto::Buffer(b) => {
                        let n = want.min(b.len());
                        b[..n].copy_from_slice(&rest[..n]);
                        n
                    }
                    ReadInto::Payload { payload, lacking } => {
                        let n = want.min(lacking);
                        payload.extend_from_slice(&rest[..n]);
                        n
                    }
                };
                rest = &rest[n..];
                if let Err(e) = recv.after_read(Ok(n)) {
                    break e;
                }
            }
            Err(e) => break e,
        }
    };
    Outcome {
        messages,
        error: Some(format!("{error}")),
        at_boundary: matches!(error, mpconn::Error::Eof),
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let max = match data[0] % 4 {
        0 => None,
        1 => Some(0),
        2 => Some(64),
        _ => Some(1 << 16),
    };
    let stream = &data[2..];

    // The header parser: a complete header never claims more bytes than given.
    match parse_header(stream) {
        Ok(HeaderStatus::Complete { header_len, .. }) => assert!(header_len <= stream.len()),
        Ok(HeaderStatus::Incomplete { needed }) => assert!(needed > 0 && needed <= 12),
        Err(_) => {}
    }

    let whole = run(max, stream, || usize::MAX);
    let mut state = u32::from(data[1]) | 0x100;
    let chunked = run(max, stream, || {
        // xorshift: pieces of 1 to 16 bytes, sometimes 1.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 16) as usize + 1
    });
    assert_eq!(whole, chunked, "chunking changed the outcome");
    let bytewise = run(max, stream, || 1);
    assert_eq!(
        whole, bytewise,
        "byte-at-a-time feeding changed the outcome"
    );
    // The core ends every stream in an error: EOF (or the decoder's EOF error), or the
    // decoder's own error.
    let core = run_core(max, stream, || 7);
    assert_eq!(core.messages, whole.messages, "the core cut other messages");
    let expected_error = match &whole.error {
        Some(e) => e.clone(),
        None => format!("{}", eof_error(max, stream)),
    };
    assert_eq!(core.error, Some(expected_error), "the core ended otherwise");
    for m in &whole.messages {
        if let Some(max) = max {
            assert!(m.len() <= max, "a message over the maximum was returned");
        }
    }
});
