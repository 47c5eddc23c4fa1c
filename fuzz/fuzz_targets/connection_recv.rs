//! Any bytes from a peer into the sans-IO connection core (`wire::receive::Receiver`,
//! the one both the blocking and the tokio shells drive), with no sockets: the handshake
//! in either role, then receiving (raw, into a caller's buffer, or unpickled) until the
//! bytes run out. Reads come in pieces whose sizes the input picks, and a receive into a
//! caller's buffer is sometimes abandoned half-way (as a cancelled async receive is).
//! Never a panic; every receive ends in a message or a typed error; after an error
//! inside a message the receiver refuses further use; and the messages are the ones the
//! reference `FrameDecoder` cuts from the same bytes.
//!
//! Input layout: byte 0 picks the mode (bits 0-1: no handshake / deliver / answer /
//! answer then deliver; bits 2-3: `recv_bytes` / `recv` / `recv_bytes_into` / that,
//! abandoned half-way now and then; bit 4: a 64-byte maximum message size; bit 5: a
//! 16-byte read buffer instead of 64), byte 1 seeds the read sizes, the rest is what the
//! peer sends before closing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mpconn::wire::frame::FrameDecoder;
use mpconn::wire::handshake::{Digest, Handshake, Step, MAX_HANDSHAKE_MESSAGE};
use mpconn::wire::receive::{Event, ReadInto, Receiver};
use mpconn::{DecodeOptions, Error};

const KEY: &[u8] = b"fuzz key";

/// The peer's bytes, handed out in pieces.
struct Peer<'a> {
    bytes: &'a [u8],
    state: u32,
}

impl Peer<'_> {
    fn read(&mut self, into: &mut [u8]) -> usize {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 17;
        self.state ^= self.state << 5;
        let n = ((self.state % 40) as usize + 1)
            .min(into.len())
            .min(self.bytes.len());
        into[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        n
    }

    fn coin(&mut self) -> bool {
        self.state = self.state.rotate_left(7) ^ 0x9e37_79b9;
        self.state & 1 == 1
    }
}

/// One read where the receiver wants it.
fn fill(recv: &mut Receiver, peer: &mut Peer) -> mpconn::Result<()> {
    let n = match recv.read_into() {
        ReadInto::Buffer(buf) => peer.read(buf),
        ReadInto::Payload { payload, lacking } => {
            let mut chunk = vec![0; lacking.min(1 << 16)];
            let n = peer.read(&mut chunk);
            payload.extend_from_slice(&chunk[..n]);
            n
        }
    };
    recv.after_read(Ok(n))
}

fn recv_vec(recv: &mut Receiver, peer: &mut Peer, max: Option<usize>) -> mpconn::Result<Vec<u8>> {
    loop {
        match recv.next(max, false)? {
            Event::Buffered(r) => return Ok(recv.message(r).to_vec()),
            Event::Owned(m) => return Ok(m),
            Event::Header { .. } => unreachable!("not asked for"),
            Event::Read => fill(recv, peer)?,
        }
    }
}

/// As the shells' `recv_bytes_into`, into a 100-byte buffer; with `abandon`, a direct
/// fill may stop half-way and be dropped, and the receive starts over.
fn recv_into(recv: &mut Receiver, peer: &mut Peer, abandon: bool) -> mpconn::Result<Vec<u8>> {
    let mut buf = [0u8; 100];
    let max = recv.max_message_size();
    loop {
        match recv.next(max, true)? {
            Event::Buffered(r) => {
                let n = mpconn::wire::receive::copy_message(recv.message(r), &mut buf)?;
                return Ok(buf[..n].to_vec());
            }
            Event::Owned(m) => {
                let n = mpconn::wire::receive::move_message(m, &mut buf)?;
                return Ok(buf[..n].to_vec());
            }
            Event::Header { length } if length > buf.len() as u64 => {
                return Err(Error::BufferTooShort(recv_vec(recv, peer, max)?))
            }
            Event::Header { length } => {
                let stop = abandon && peer.coin();
                let mut fill = recv.fill_directly(&mut buf[..length as usize]);
                while !fill.is_done() {
                    let n = peer.read(fill.remaining());
                    fill.after_read(Ok(n))?;
                    if stop {
                        break;
                    }
                }
                if fill.is_done() {
                    let n = fill.len();
                    drop(fill);
                    return Ok(buf[..n].to_vec());
                }
            }
            Event::Read => fill(recv, peer)?,
        }
    }
}

/// The handshake against the peer's bytes; what we would send is dropped.
fn handshake(recv: &mut Receiver, peer: &mut Peer, mut h: Handshake) -> mpconn::Result<()> {
    let mut received: Option<Vec<u8>> = None;
    loop {
        match h.step(received.take().as_deref())? {
            Step::Send(_) => {}
            Step::Receive => {
                let max = recv.limit(MAX_HANDSHAKE_MESSAGE);
                received = Some(recv_vec(recv, peer, max)?);
            }
            Step::Done => return Ok(()),
            Step::Reject { error, .. } => return Err(error.into()),
        }
    }
}

/// The messages `FrameDecoder` cuts from `bytes` under `max`, until its first error.
fn reference(bytes: &[u8], max: Option<usize>) -> Vec<Vec<u8>> {
    let mut dec = FrameDecoder::new(max);
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        match dec.feed(rest) {
            Ok((used, m)) => {
                out.extend(m);
                rest = &rest[used..];
            }
            Err(_) => break,
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let [mode, seed, peer_bytes @ ..] = data else {
        return;
    };
    let mut peer = Peer {
        bytes: peer_bytes,
        state: u32::from(*seed) | 0x100,
    };
    let mut recv = Receiver::new(if mode & 32 != 0 { 16 } else { 64 });
    if mode & 16 != 0 {
        recv.set_max_message_size(Some(64));
    }
    let shaken = match mode & 3 {
        0 => Ok(()),
        1 => handshake(&mut recv, &mut peer, Handshake::deliver(KEY, Digest::Sha256)),
        2 => handshake(&mut recv, &mut peer, Handshake::answer(KEY)),
        _ => handshake(&mut recv, &mut peer, Handshake::client(KEY, Digest::Legacy)),
    };
    if let Err(e) = shaken {
        assert!(!format!("{e:?}{e}").contains("fuzz key"));
        return;
    }
    // Without a handshake, every message must be the reference decoder's.
    let expected = (mode & 3 == 0).then(|| reference(peer_bytes, recv.max_message_size()));
    let options = DecodeOptions::new().max_alloc(64 << 10);
    let max = recv.max_message_size();
    let mut got = Vec::new();
    loop {
        let r = match (mode >> 2) & 3 {
            0 => recv_vec(&mut recv, &mut peer, max),
            1 => recv_vec(&mut recv, &mut peer, max).map(|m| {
                let _ = mpconn::pickle::loads_with(&m, &options);
                m
            }),
            n => recv_into(&mut recv, &mut peer, n == 3),
        };
        match r {
            Ok(m) => got.push(m),
            Err(Error::Eof) => {
                if let Some(expected) = &expected {
                    assert_eq!(&got, expected, "the core cut other messages");
                }
                break;
            }
            Err(Error::BufferTooShort(m)) => got.push(m),
            Err(_) => {
                // Mid-message failures poison the receiver.
                let again = recv.next(None, false);
                assert!(matches!(again, Err(Error::Closed(_))), "{again:?}");
                break;
            }
        }
    }
});
