//! Any bytes from a peer into a real `Connection` over a socket pair: the handshake in
//! either role, then receiving (raw or unpickled) until the stream ends. Never a panic
//! or a hang: every receive ends in a value or a typed error, and after an error inside
//! a message the connection refuses further use.
//!
//! Input layout: byte 0 picks the mode (bits 0-1: no handshake / deliver / answer /
//! answer then deliver; bit 2: `recv` instead of `recv_bytes`; bit 3: a 64-byte maximum
//! message size), the rest is what the peer sends before closing its side.
#![no_main]
use std::io::Write;
use std::os::unix::net::UnixStream;

use libfuzzer_sys::fuzz_target;
use mpconn::{Connection, DecodeOptions, Digest, Error};

const KEY: &[u8] = b"fuzz key";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, peer_bytes)) = data.split_first() else {
        return;
    };
    // Stay within the socket buffers so that the write never blocks.
    if peer_bytes.len() > 64 * 1024 {
        return;
    }
    let (ours, mut theirs) = UnixStream::pair().expect("socketpair");
    theirs.write_all(peer_bytes).expect("write into the pair");
    // EOF after the bytes; our replies still land in `theirs`' receive buffer.
    theirs
        .shutdown(std::net::Shutdown::Write)
        .expect("shutdown");
    let mut conn = Connection::from_unix(ours);
    if mode & 8 != 0 {
        conn.set_max_message_size(Some(64));
    }
    let handshake = match mode & 3 {
        0 => Ok(()),
        1 => conn.deliver_challenge(KEY, Digest::Sha256),
        2 => conn.answer_challenge(KEY),
        _ => conn
            .answer_challenge(KEY)
            .and_then(|()| conn.deliver_challenge(KEY, Digest::Legacy)),
    };
    if let Err(e) = handshake {
        assert!(!format!("{e:?}{e}").contains("fuzz key"));
        return;
    }
    let options = DecodeOptions::new().max_alloc(64 << 10);
    loop {
        let r = if mode & 4 != 0 {
            conn.recv_with(&options).map(|_| ())
        } else {
            conn.recv_bytes().map(|_| ())
        };
        match r {
            Ok(()) => continue,
            Err(Error::Eof) => break,
            Err(Error::Pickle(_)) => continue,
            Err(_) => {
                // Mid-message failures poison the connection.
                let again = conn.recv_bytes();
                assert!(matches!(again, Err(Error::Closed(_))), "{again:?}");
                break;
            }
        }
    }
});
