//! Recordings of relayed sessions: a small, versioned binary file format, its writer and
//! its reader. `mpconn proxy --record FILE` writes one; `mpconn replay FILE ADDRESS` reads
//! one (see [`crate::replay`]).
//!
//! # Format, version 1
//!
//! All integers are big-endian. The file starts with a 12-byte header:
//!
//! | bytes | content |
//! |---|---|
//! | 8 | the magic `MPCONNRC` |
//! | 4 | the format version, `1` (u32) |
//!
//! then records until the end of the file, each:
//!
//! | bytes | content |
//! |---|---|
//! | 1 | kind: `1` opened, `2` message, `3` closed |
//! | 8 | connection number (u64; a relayed pair, numbered from 1) |
//! | 8 | time: nanoseconds since the Unix epoch (u64) |
//! | 1 | direction: `0` client to server, `1` server to client (for `closed`: the side that ended first; `0` for `opened`) |
//! | 8 | length N of the data (u64) |
//! | N | data: a message's bytes exactly as framed on the wire (without the length header); for `opened` the client's address as UTF-8 text; for `closed` the reason as UTF-8 text, empty for a clean close |
//!
//! The handshakes are not recorded (they are between the proxy and each side, with each
//! side's key). A file cut short inside a record reads as [`RecordingError::Truncated`];
//! records of a later kind are refused as [`RecordingError::Invalid`]. A reader of version
//! 1 refuses files of any other version.
//!
//! Reading in Python, for instance:
//!
//! ```text
//! import struct
//! data = open('session.mpcrec', 'rb').read()
//! assert data[:8] == b'MPCONNRC' and struct.unpack('>I', data[8:12]) == (1,)
//! pos = 12
//! while pos < len(data):
//!     kind, conn, ns, direction, n = struct.unpack('>BQQBQ', data[pos:pos + 26])
//!     payload = data[pos + 26:pos + 26 + n]
//!     pos += 26 + n
//! ```

use std::io::{self, Read, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::relay::Direction;

/// The first 8 bytes of every recording.
pub const MAGIC: &[u8; 8] = b"MPCONNRC";
/// The format version this module writes and reads.
pub const VERSION: u32 = 1;
/// Bytes of a record's fixed part (kind, connection, time, direction, length).
const RECORD_HEAD: usize = 26;

/// One record of a recording.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Record {
    /// A client was accepted and connected to the server.
    Opened {
        /// The connection number.
        connection: u64,
        /// When.
        time: SystemTime,
        /// The client's address as text (empty when it had none).
        client: String,
    },
    /// A message passed.
    Message {
        /// The connection number.
        connection: u64,
        /// When it was received by the proxy.
        time: SystemTime,
        /// Which way it went.
        direction: Direction,
        /// Its bytes, as framed on the wire (without the length header).
        data: Vec<u8>,
    },
    /// The pair ended.
    Closed {
        /// The connection number.
        connection: u64,
        /// When.
        time: SystemTime,
        /// The direction whose receive ended first (`ToServer`: the client closed).
        by: Direction,
        /// Why, empty for a clean close.
        reason: String,
    },
}

impl Record {
    /// The connection the record belongs to.
    pub fn connection(&self) -> u64 {
        match self {
            Record::Opened { connection, .. }
            | Record::Message { connection, .. }
            | Record::Closed { connection, .. } => *connection,
        }
    }
}

/// Why a recording cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordingError {
    /// Reading failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The file does not start with the magic.
    #[error("not an mpconn recording (no MPCONNRC header)")]
    NotARecording,
    /// The file is of a format version this reader does not know.
    #[error("recording format version {0} is not supported (this mpconn reads version 1)")]
    UnsupportedVersion(u32),
    /// The file ends inside a record.
    #[error("recording truncated inside a record")]
    Truncated,
    /// A record is malformed.
    #[error("invalid record: {0}")]
    Invalid(String),
}

/// Writes a recording: the header at creation, then one record per call.
#[derive(Debug)]
pub struct RecordingWriter<W: Write> {
    out: W,
}

fn nanos(time: SystemTime) -> u64 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
}

fn direction_byte(direction: Direction) -> u8 {
    match direction {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

impl<W: Write> RecordingWriter<W> {
    /// Writes the header to `out`.
    ///
    /// # Errors
    /// Writing failed.
    pub fn new(mut out: W) -> io::Result<RecordingWriter<W>> {
        out.write_all(MAGIC)?;
        out.write_all(&VERSION.to_be_bytes())?;
        Ok(RecordingWriter { out })
    }

    /// Appends one record (not flushed: see [`RecordingWriter::flush`]).
    ///
    /// # Errors
    /// Writing failed.
    pub fn write(&mut self, record: &Record) -> io::Result<()> {
        let (kind, connection, time, direction, data): (u8, u64, SystemTime, u8, &[u8]) =
            match record {
                Record::Opened {
                    connection,
                    time,
                    client,
                } => (1, *connection, *time, 0, client.as_bytes()),
                Record::Message {
                    connection,
                    time,
                    direction,
                    data,
                } => (2, *connection, *time, direction_byte(*direction), data),
                Record::Closed {
                    connection,
                    time,
                    by,
                    reason,
                } => (
                    3,
                    *connection,
                    *time,
                    direction_byte(*by),
                    reason.as_bytes(),
                ),
            };
        let mut head = [0u8; RECORD_HEAD];
        head[0] = kind;
        head[1..9].copy_from_slice(&connection.to_be_bytes());
        head[9..17].copy_from_slice(&nanos(time).to_be_bytes());
        head[17] = direction;
        head[18..26].copy_from_slice(&(data.len() as u64).to_be_bytes());
        self.out.write_all(&head)?;
        self.out.write_all(data)
    }

    /// Flushes what was written.
    ///
    /// # Errors
    /// Flushing failed.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Reads a recording record by record; also an iterator of `Result<Record, _>`.
#[derive(Debug)]
pub struct RecordingReader<R: Read> {
    input: R,
    failed: bool,
}

impl<R: Read> RecordingReader<R> {
    /// Reads and checks the header.
    ///
    /// # Errors
    /// [`RecordingError::NotARecording`], [`RecordingError::UnsupportedVersion`], or a
    /// read error.
    pub fn new(mut input: R) -> Result<RecordingReader<R>, RecordingError> {
        let mut header = [0u8; 12];
        match input.read_exact(&mut header) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(RecordingError::NotARecording)
            }
            Err(e) => return Err(e.into()),
        }
        if &header[..8] != MAGIC {
            return Err(RecordingError::NotARecording);
        }
        let version = u32::from_be_bytes([header[8], header[9], header[10], header[11]]);
        if version != VERSION {
            return Err(RecordingError::UnsupportedVersion(version));
        }
        Ok(RecordingReader {
            input,
            failed: false,
        })
    }

    /// The next record, or `None` at the end of the file.
    ///
    /// # Errors
    /// [`RecordingError::Truncated`], [`RecordingError::Invalid`], or a read error.
    pub fn next_record(&mut self) -> Result<Option<Record>, RecordingError> {
        let mut head = [0u8; RECORD_HEAD];
        let mut got = 0;
        while got < RECORD_HEAD {
            match self.input.read(&mut head[got..]) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => return Err(RecordingError::Truncated),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        let word = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&head[at..at + 8]);
            u64::from_be_bytes(b)
        };
        let (kind, connection, ns, dir, len) = (head[0], word(1), word(9), head[17], word(18));
        let time = UNIX_EPOCH + Duration::from_nanos(ns);
        let direction = match dir {
            0 => Direction::ToServer,
            1 => Direction::ToClient,
            other => return Err(RecordingError::Invalid(format!("direction {other}"))),
        };
        // Read what is there rather than trusting the length: a corrupt length cannot make
        // the reader allocate more than the file holds.
        let mut data = Vec::new();
        (&mut self.input).take(len).read_to_end(&mut data)?;
        if data.len() as u64 != len {
            return Err(RecordingError::Truncated);
        }
        let text = |data: Vec<u8>| {
            String::from_utf8(data)
                .map_err(|_| RecordingError::Invalid("text that is not UTF-8".into()))
        };
        Ok(Some(match kind {
            1 => Record::Opened {
                connection,
                time,
                client: text(data)?,
            },
            2 => Record::Message {
                connection,
                time,
                direction,
                data,
            },
            3 => Record::Closed {
                connection,
                time,
                by: direction,
                reason: text(data)?,
            },
            other => return Err(RecordingError::Invalid(format!("record kind {other}"))),
        }))
    }
}

impl<R: Read> Iterator for RecordingReader<R> {
    type Item = Result<Record, RecordingError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let next = self.next_record().transpose();
        if matches!(next, Some(Err(_))) {
            self.failed = true;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back_as_written_and_the_layout_is_the_documented_one() {
        let t = UNIX_EPOCH + Duration::from_nanos(1_234_567_890);
        let records = vec![
            Record::Opened {
                connection: 1,
                time: t,
                client: "127.0.0.1:5000".into(),
            },
            Record::Message {
                connection: 1,
                time: t,
                direction: Direction::ToServer,
                data: b"\x80\x04N.".to_vec(),
            },
            Record::Closed {
                connection: 1,
                time: t,
                by: Direction::ToClient,
                reason: String::new(),
            },
        ];
        let mut w = RecordingWriter::new(Vec::new()).unwrap();
        for r in &records {
            w.write(r).unwrap();
        }
        let bytes = w.into_inner();
        assert_eq!(&bytes[..12], b"MPCONNRC\0\0\0\x01");
        let message = &bytes[12 + RECORD_HEAD + 14..];
        assert_eq!(message[0], 2);
        assert_eq!(&message[1..9], &1u64.to_be_bytes());
        assert_eq!(&message[9..17], &1_234_567_890u64.to_be_bytes());
        assert_eq!(message[17], 0);
        assert_eq!(&message[18..26], &4u64.to_be_bytes());
        assert_eq!(&message[26..30], b"\x80\x04N.");
        let back: Vec<Record> = RecordingReader::new(&bytes[..])
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back, records);
    }

    #[test]
    fn damaged_files_are_refused_by_kind() {
        assert!(matches!(
            RecordingReader::new(&b"MPCONNRX\0\0\0\x01"[..]),
            Err(RecordingError::NotARecording)
        ));
        assert!(matches!(
            RecordingReader::new(&b"MPCONNRC\0\0\0\x02"[..]),
            Err(RecordingError::UnsupportedVersion(2))
        ));
        let mut w = RecordingWriter::new(Vec::new()).unwrap();
        w.write(&Record::Message {
            connection: 1,
            time: UNIX_EPOCH,
            direction: Direction::ToClient,
            data: vec![1, 2, 3],
        })
        .unwrap();
        let bytes = w.into_inner();
        let mut cut = RecordingReader::new(&bytes[..bytes.len() - 1]).unwrap();
        assert!(matches!(cut.next_record(), Err(RecordingError::Truncated)));
        // A length far beyond the file allocates nothing of that size.
        let mut huge = bytes.clone();
        huge[12 + 18..12 + 26].copy_from_slice(&u64::MAX.to_be_bytes());
        let mut r = RecordingReader::new(&huge[..]).unwrap();
        assert!(matches!(r.next_record(), Err(RecordingError::Truncated)));
    }
}
