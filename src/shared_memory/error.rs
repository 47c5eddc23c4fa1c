//! [`SharedMemoryError`]: what can go wrong with a block or a `ShareableList`.

/// Everything that can go wrong attaching to, creating, reading or writing shared memory.
///
/// Operating-system failures keep their [`std::io::Error`]: a block that does not exist is
/// [`std::io::ErrorKind::NotFound`] (Python's `FileNotFoundError`), a name already taken is
/// [`std::io::ErrorKind::AlreadyExists`] (`FileExistsError`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SharedMemoryError {
    /// `shm_open`, `ftruncate`, `fstat`, `mmap` or `shm_unlink` failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A block name CPython could not use either (it holds a NUL byte).
    #[error("invalid shared memory name {0:?}")]
    InvalidName(String),
    /// Creating a block of size 0 (CPython: `ValueError("'size' must be a positive number
    /// different from zero")`), or attaching to an empty one (`cannot mmap an empty file`).
    #[error("a shared memory block cannot be empty")]
    Empty,
    /// A read or write outside the block.
    #[error("{len} bytes at offset {offset} do not fit in a block of {size} bytes")]
    OutOfBounds {
        /// Where the access starts.
        offset: usize,
        /// How many bytes it covers.
        len: usize,
        /// The block's size.
        size: usize,
    },
    /// A `ShareableList` index outside the list (CPython's `IndexError`).
    #[error("index {index} out of range for a ShareableList of {len} items")]
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// The list's length.
        len: usize,
    },
    /// A `str` or `bytes` value longer than the slot it is written to (CPython:
    /// `ValueError("bytes/str item exceeds available storage")`).
    #[error("bytes/str item exceeds available storage: {needed} bytes, the slot has {available}")]
    TooLong {
        /// The value's encoded length.
        needed: usize,
        /// The slot's length.
        available: usize,
    },
    /// A `str` or `bytes` value larger than the format field can describe (CPython fails
    /// an assertion: the format `"%ds"` must fit in 8 characters).
    #[error("a {len}-byte str/bytes item needs a slot format longer than 8 characters")]
    TooLarge {
        /// The value's encoded length.
        len: usize,
    },
    /// A `str` or `bytes` value ending in NUL bytes: CPython strips trailing NULs when it
    /// reads an item back, so the value would not survive; refused rather than lost.
    #[error("a str/bytes item ending in a NUL byte would lose it (CPython strips trailing NULs)")]
    TrailingNul,
    /// A slot's packing format is not one CPython's `ShareableList` writes.
    #[error("item {index}: unknown packing format {format:?}")]
    UnknownFormat {
        /// The item.
        index: usize,
        /// The format as stored (lossily decoded).
        format: String,
    },
    /// A slot's back-transform code is not one of CPython's 0-3 (CPython: `KeyError`).
    #[error("item {index}: unknown back-transform code {code}")]
    UnknownTransform {
        /// The item.
        index: usize,
        /// The code as stored.
        code: i8,
    },
    /// A `str` item whose bytes are not UTF-8 (CPython: `UnicodeDecodeError`).
    #[error("item {index}: str bytes are not UTF-8")]
    NotUtf8 {
        /// The item.
        index: usize,
    },
    /// A value that is not a pickled `SharedMemory` / `ShareableList` (its `repr`, cut).
    #[error("not a pickled {expected}: {value}")]
    NotPickled {
        /// What was expected.
        expected: &'static str,
        /// The value's `repr`, cut to 200 characters.
        value: String,
    },
    /// The block's contents do not describe a `ShareableList` that fits in it.
    #[error("not a ShareableList: {0}")]
    Corrupt(String),
}

/// Shorthand for results of this module.
pub type Result<T, E = SharedMemoryError> = std::result::Result<T, E>;
