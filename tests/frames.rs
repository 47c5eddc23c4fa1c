//! Frames: exact bytes recorded from CPython, sizes around the one-write limit, the
//! 64-bit header, truncation, EOF and the bounded allocation of a receiver.
#![cfg(unix)]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use mpconn::wire::frame::{encode_header, parse_header, FrameDecoder, HeaderStatus};
use mpconn::{Connection, Error};
use proptest::prelude::*;

// ----- an allocator recording the largest single allocation made by this thread -----

struct Tracking;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call unchanged to the system allocator; only records sizes.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = LARGEST.try_with(|l| l.set(l.get().max(layout.size())));
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = LARGEST.try_with(|l| l.set(l.get().max(new_size)));
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

/// Runs `f` and returns its result with the largest allocation it made on this thread.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(0));
    let out = f();
    (out, LARGEST.with(|l| l.get()))
}

/// A connection and the raw socket of its peer.
fn pair() -> (Connection, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    (Connection::from_unix(a), b)
}

fn read_all(mut s: UnixStream) -> Vec<u8> {
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    out
}

// ----- CPython's bytes -----

#[test]
fn send_bytes_writes_exactly_what_cpython_writes() {
    for (version, cases) in common::load("frames") {
        for case in cases.iter().filter(|c| c["kind"] == "send") {
            let payload = common::hex(&case["payload"]);
            let wire = common::hex(&case["wire"]);
            let (mut conn, peer) = pair();
            conn.send_bytes(&payload).unwrap();
            drop(conn);
            assert_eq!(
                read_all(peer),
                wire,
                "python {version}, {} bytes",
                case["size"]
            );
        }
    }
}

#[test]
fn recv_bytes_reads_what_cpython_writes() {
    for (version, cases) in common::load("frames") {
        for case in cases
            .iter()
            .filter(|c| c["kind"] == "send" || c["kind"] == "recv")
        {
            let payload = common::hex(&case["payload"]);
            let wire = common::hex(&case["wire"]);
            let (mut conn, mut peer) = pair();
            peer.write_all(&wire).unwrap();
            drop(peer);
            assert_eq!(
                conn.recv_bytes().unwrap(),
                payload,
                "python {version}, {}",
                case["size"]
            );
            assert!(matches!(conn.recv_bytes(), Err(Error::Eof)));
            // The incremental decoder, fed one byte at a time, agrees.
            let mut dec = FrameDecoder::new(None);
            let mut got = None;
            for (i, b) in wire.iter().enumerate() {
                let (used, msg) = dec.feed(std::slice::from_ref(b)).unwrap();
                assert_eq!(used, 1);
                if msg.is_some() {
                    assert_eq!(i, wire.len() - 1);
                    got = msg;
                }
            }
            assert_eq!(got.unwrap(), payload);
        }
    }
}

#[test]
fn headers_match_cpython_including_the_64_bit_form() {
    for (version, cases) in common::load("frames") {
        for case in cases.iter().filter(|c| c["kind"] == "header") {
            let n: u64 = case["size"].parse().unwrap();
            let wire = common::hex(&case["wire"]);
            assert_eq!(encode_header(n).as_bytes(), wire, "python {version}, {n}");
            assert_eq!(
                parse_header(&wire).unwrap(),
                HeaderStatus::Complete {
                    length: n,
                    header_len: wire.len()
                }
            );
        }
    }
}

// ----- sizes -----

#[test]
fn sizes_around_the_one_write_limit_round_trip() {
    for size in [0usize, 1, 16383, 16384, 16385, 65531, 65532, 65537, 1 << 20] {
        let (a, b) = UnixStream::pair().unwrap();
        let mut tx = Connection::from_unix(a);
        let mut rx = Connection::from_unix(b);
        let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let sender = std::thread::spawn(move || {
            tx.send_bytes(&payload).unwrap();
            tx.send_bytes(b"next").unwrap();
            payload
        });
        let got = rx.recv_bytes().unwrap();
        assert_eq!(rx.recv_bytes().unwrap(), b"next");
        assert_eq!(got, sender.join().unwrap(), "{size}");
    }
}

#[test]
fn a_64_bit_header_for_a_small_payload_is_accepted() {
    let (mut conn, mut peer) = pair();
    peer.write_all(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 2, b'o', b'k'])
        .unwrap();
    assert_eq!(conn.recv_bytes().unwrap(), b"ok");
}

// ----- EOF and truncation -----

fn recv_after(wire: &[u8]) -> Result<Vec<u8>, Error> {
    let (mut conn, mut peer) = pair();
    peer.write_all(wire).unwrap();
    drop(peer);
    conn.recv_bytes()
}

#[test]
fn eof_at_a_boundary_is_eof() {
    assert!(matches!(recv_after(b""), Err(Error::Eof)));
}

#[test]
fn eof_inside_a_header_is_truncated() {
    let r = recv_after(&[0, 0]);
    assert!(
        matches!(
            r,
            Err(Error::Truncated {
                expected: 4,
                received: 2
            })
        ),
        "{r:?}"
    );
    let r = recv_after(&[0xff, 0xff, 0xff, 0xff, 0, 0]);
    assert!(
        matches!(
            r,
            Err(Error::Truncated {
                expected: 12,
                received: 6
            })
        ),
        "{r:?}"
    );
}

#[test]
fn eof_inside_a_payload_is_truncated() {
    let r = recv_after(&[0, 0, 0, 10, 1, 2, 3]);
    assert!(
        matches!(
            r,
            Err(Error::Truncated {
                expected: 10,
                received: 3
            })
        ),
        "{r:?}"
    );
    // A large payload (read around the internal buffer).
    let mut wire = 200_000u32.to_be_bytes().to_vec();
    wire.extend(std::iter::repeat(7u8).take(150_000));
    let (mut conn, mut peer) = pair();
    let writer = std::thread::spawn(move || peer.write_all(&wire).unwrap());
    let r = conn.recv_bytes();
    writer.join().unwrap();
    assert!(
        matches!(
            r,
            Err(Error::Truncated {
                expected: 200_000,
                received: 150_000
            })
        ),
        "{r:?}"
    );
}

#[test]
fn a_message_then_eof_gives_the_message_then_eof() {
    let (mut conn, mut peer) = pair();
    peer.write_all(&[0, 0, 0, 1, b'x']).unwrap();
    drop(peer);
    assert_eq!(conn.recv_bytes().unwrap(), b"x");
    assert!(matches!(conn.recv_bytes(), Err(Error::Eof)));
}

#[test]
fn the_decoder_tells_eof_from_truncation() {
    let mut dec = FrameDecoder::new(None);
    // The decoder's own error, as users see it (`mpconn::Error`).
    assert!(matches!(Error::from(dec.eof_error()), Error::Eof));
    let _ = dec.feed(&[0, 0]).unwrap();
    assert!(matches!(
        Error::from(dec.eof_error()),
        Error::Truncated {
            expected: 4,
            received: 2
        }
    ));
    let _ = dec.feed(&[0, 5, 1]).unwrap();
    assert!(matches!(
        Error::from(dec.eof_error()),
        Error::Truncated {
            expected: 5,
            received: 1
        }
    ));
}

#[test]
fn a_negative_length_other_than_minus_one_is_refused() {
    assert!(recv_after(&[0xff, 0xff, 0xff, 0xfe]).is_err());
    assert!(parse_header(&[0x80, 0, 0, 0]).is_err());
}

// ----- bounded allocation -----

#[test]
fn message_too_long_allocates_nothing_for_the_announced_size() {
    let (mut conn, mut peer) = pair();
    // A header announcing 2 GiB followed by 10 bytes.
    peer.write_all(&0x7fff_fff0u32.to_be_bytes()).unwrap();
    peer.write_all(&[0; 10]).unwrap();
    let (r, largest) = largest_allocation(|| conn.recv_bytes_max(1000));
    assert!(
        matches!(
            r,
            Err(Error::MessageTooLong {
                length: 0x7fff_fff0,
                max: 1000
            })
        ),
        "{r:?}"
    );
    assert!(largest <= 64 * 1024, "allocated {largest} bytes");
    // The connection is closed: the peer sees EOF and we refuse further use.
    assert!(matches!(conn.recv_bytes(), Err(Error::Closed(_))));
    let mut rest = Vec::new();
    peer.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
}

#[test]
fn a_huge_announced_length_without_bytes_allocates_only_what_arrives() {
    // No limit at all: a 64-bit header announcing 2^62, then 10 bytes and EOF.
    let (mut conn, mut peer) = pair();
    conn.set_max_message_size(None);
    let mut wire = vec![0xff, 0xff, 0xff, 0xff];
    wire.extend_from_slice(&(1u64 << 62).to_be_bytes());
    wire.extend_from_slice(&[0; 10]);
    peer.write_all(&wire).unwrap();
    drop(peer);
    let (r, largest) = largest_allocation(|| conn.recv_bytes());
    assert!(
        matches!(
            r,
            Err(Error::MessageTooLong { .. }) | Err(Error::Truncated { received: 10, .. })
        ),
        "{r:?}"
    );
    assert!(largest <= 1 << 20, "allocated {largest} bytes");

    // 2 GiB announced, 10 bytes sent: truncated, at most 1 MiB reserved.
    let (mut conn, mut peer) = pair();
    conn.set_max_message_size(None);
    peer.write_all(&0x7fff_fff0u32.to_be_bytes()).unwrap();
    peer.write_all(&[0; 10]).unwrap();
    drop(peer);
    let (r, largest) = largest_allocation(|| conn.recv_bytes());
    assert!(
        matches!(
            r,
            Err(Error::Truncated {
                expected: 0x7fff_fff0,
                received: 10
            })
        ),
        "{r:?}"
    );
    assert!(largest <= 1 << 20, "allocated {largest} bytes");
}

#[test]
fn the_decoder_checks_the_maximum_before_allocating() {
    let mut dec = FrameDecoder::new(Some(100));
    let (r, largest) = largest_allocation(|| dec.feed(&[0x7f, 0xff, 0xff, 0xff]));
    let r = r.map_err(Error::from);
    assert!(matches!(r, Err(Error::MessageTooLong { .. })), "{r:?}");
    assert!(largest < 1024, "allocated {largest} bytes");
    let mut dec = FrameDecoder::new(None);
    let (r, largest) = largest_allocation(|| dec.feed(&[0x7f, 0xff, 0xff, 0xff, 1, 2]));
    assert_eq!(r.unwrap(), (6, None));
    assert!(largest <= 1 << 20, "allocated {largest} bytes");
}

proptest! {
    #[test]
    fn random_bytes_never_panic_the_decoder(
        data in proptest::collection::vec(any::<u8>(), 0..512),
        chunk in 1usize..64,
        max in proptest::option::of(0usize..1000),
    ) {
        let mut dec = FrameDecoder::new(max);
        for piece in data.chunks(chunk) {
            let mut piece = piece;
            loop {
                match dec.feed(piece) {
                    Ok((used, _)) => {
                        piece = &piece[used..];
                        if piece.is_empty() { break; }
                    }
                    Err(_) => return Ok(()),
                }
            }
        }
        let _ = dec.eof_error();
        let _ = parse_header(&data);
    }

    #[test]
    fn random_bytes_never_panic_a_connection(
        data in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let (mut conn, mut peer) = pair();
        peer.write_all(&data).unwrap();
        drop(peer);
        for _ in 0..8 {
            if conn.recv_bytes_max(4096).is_err() { break; }
        }
    }
}
