//! [`SharedMemory`]: a POSIX shared memory block by the name CPython gives it.

use std::ffi::CString;
use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

use memmap2::{MmapOptions, MmapRaw};

use super::layout::{check_bounds, Memory};
use super::{pickled, Result, SharedMemoryError};
use crate::Value;

/// The prefix of the names CPython picks (`_SHM_NAME_PREFIX` on POSIX).
pub const NAME_PREFIX: &str = "psm_";

/// A shared memory block: CPython's `multiprocessing.shared_memory.SharedMemory`.
///
/// Blocks are named as Python names them: the `name` a Python user sees
/// (`SharedMemory.name`, e.g. `psm_1a2b3c4d`) is the POSIX name without its leading
/// `/`, and this type prepends the `/` exactly as CPython does, so a name passed between
/// the two languages means the same block (on Linux, the file `/dev/shm/psm_1a2b3c4d`).
///
/// * [`SharedMemory::open`] attaches to an existing block (`SharedMemory(name)`);
/// * [`SharedMemory::create`] makes a new one with a fresh `psm_` + 8 hex digits name
///   (`SharedMemory(create=True, size=n)`), [`SharedMemory::create_named`] with a name
///   of the caller's (`FileExistsError` → [`io::ErrorKind::AlreadyExists`]);
/// * dropping the value unmaps and closes it (`close()`); only [`SharedMemory::unlink`]
///   destroys the block, as in CPython. Nothing here registers with CPython's
///   `resource_tracker`: see the module docs for what a Python process attached to the
///   same block does at exit.
///
/// The bytes are shared with other processes, which may write them at any time: they are
/// read and written by copying ([`SharedMemory::read_at`], [`SharedMemory::write_at`],
/// [`SharedMemory::to_vec`]), and [`SharedMemory::as_slice`] is `unsafe` for that reason.
/// There is no synchronisation, as in Python: use a lock (a manager `Lock`, a pipe) to
/// order writers and readers.
///
/// ```no_run
/// use mpconn::shared_memory::SharedMemory;
/// # fn main() -> mpconn::shared_memory::Result<()> {
/// let mut block = SharedMemory::create(1024)?;
/// block.write_at(0, b"hello")?;
/// println!("attach from Python with SharedMemory({:?})", block.name());
/// let mut first = [0u8; 5];
/// block.read_at(0, &mut first)?;
/// block.unlink()?;
/// # Ok(()) }
/// ```
pub struct SharedMemory {
    /// The POSIX name, leading `/` included (CPython's `_name`).
    posix_name: String,
    size: usize,
    map: MmapRaw,
    // Kept open for the block's life, as CPython keeps `_fd`.
    _file: File,
}

impl fmt::Debug for SharedMemory {
    /// CPython's `repr`: `SharedMemory('psm_1a2b3c4d', size=1024)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedMemory({:?}, size={})", self.name(), self.size)
    }
}

/// The POSIX name CPython forms from a user's name: a `/` in front, always.
fn posix_name(name: &str) -> Result<CString> {
    CString::new(format!("/{name}")).map_err(|_| SharedMemoryError::InvalidName(name.into()))
}

/// `shm_open(name, flags, 0o600)`.
fn shm_open(name: &CString, flags: libc::c_int) -> io::Result<File> {
    // On Apple platforms `shm_open` is variadic and the mode goes as a promoted `c_uint`;
    // elsewhere it is a `mode_t` argument.
    #[cfg(not(target_vendor = "apple"))]
    let mode = 0o600 as libc::mode_t;
    #[cfg(target_vendor = "apple")]
    let mode = 0o600 as libc::c_uint;
    // SAFETY: `name` is a NUL-terminated string that outlives the call.
    let fd = unsafe { libc::shm_open(name.as_ptr(), flags, mode) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by shm_open and is owned by nobody else.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// `shm_unlink(name)`.
fn shm_unlink(name: &CString) -> io::Result<()> {
    // SAFETY: `name` is a NUL-terminated string that outlives the call.
    if unsafe { libc::shm_unlink(name.as_ptr()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The error for a value that is not the pickled form of `expected`.
pub(crate) fn not_pickled(expected: &'static str, value: &Value) -> SharedMemoryError {
    let text = value.to_string();
    let value = match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    };
    SharedMemoryError::NotPickled { expected, value }
}

/// A fresh name as CPython's `_make_filename` draws it: `psm_` and 4 random bytes in hex
/// (14 characters with the `/`, within FreeBSD's limit).
fn random_name() -> String {
    let bytes: [u8; 4] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{NAME_PREFIX}{hex}")
}

impl SharedMemory {
    /// Attaches to the existing block `name` (as Python's `SharedMemory(name)`, without
    /// registering it anywhere). Its size is the size of the block (`fstat`): exact on
    /// Linux; macOS rounds a block up to whole pages, and CPython reports that size too.
    ///
    /// A missing block is an [`io::ErrorKind::NotFound`] error; an empty one
    /// [`SharedMemoryError::Empty`].
    pub fn open(name: &str) -> Result<SharedMemory> {
        let posix = posix_name(name)?;
        let file = shm_open(&posix, libc::O_RDWR)?;
        SharedMemory::map(posix, file)
    }

    /// Creates a new block of `size` bytes (zero-filled) under a fresh name: Python's
    /// `SharedMemory(create=True, size=size)`. Names are drawn until one is free.
    pub fn create(size: usize) -> Result<SharedMemory> {
        if size == 0 {
            return Err(SharedMemoryError::Empty);
        }
        loop {
            let posix = posix_name(&random_name())?;
            match shm_open(&posix, libc::O_RDWR | libc::O_CREAT | libc::O_EXCL) {
                Ok(file) => return SharedMemory::sized(posix, file, size),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Creates a new block `name` of `size` bytes: `SharedMemory(name, create=True,
    /// size=size)`. A name already in use is an [`io::ErrorKind::AlreadyExists`] error.
    pub fn create_named(name: &str, size: usize) -> Result<SharedMemory> {
        if size == 0 {
            return Err(SharedMemoryError::Empty);
        }
        let posix = posix_name(name)?;
        let file = shm_open(&posix, libc::O_RDWR | libc::O_CREAT | libc::O_EXCL)?;
        SharedMemory::sized(posix, file, size)
    }

    /// Sizes a block just created; on failure unlinks it again, as CPython does.
    fn sized(posix: CString, file: File, size: usize) -> Result<SharedMemory> {
        let made = file
            .set_len(size as u64)
            .map_err(SharedMemoryError::from)
            .and_then(|()| SharedMemory::map(posix.clone(), file));
        if made.is_err() {
            let _ = shm_unlink(&posix);
        }
        made
    }

    fn map(posix: CString, file: File) -> Result<SharedMemory> {
        let size = usize::try_from(file.metadata()?.len())
            .map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
        if size == 0 {
            return Err(SharedMemoryError::Empty);
        }
        let map = MmapOptions::new().len(size).map_raw(&file)?;
        Ok(SharedMemory {
            posix_name: posix.into_string().expect("formed from a str"),
            size,
            map,
            _file: file,
        })
    }

    /// The name Python uses for the block (`SharedMemory.name`: no leading `/`).
    pub fn name(&self) -> &str {
        &self.posix_name[1..]
    }

    /// The block's size in bytes (`SharedMemory.size`).
    pub fn size(&self) -> usize {
        self.size
    }

    /// Copies `out.len()` bytes at `offset` into `out` (`bytes(shm.buf[a:b])`).
    pub fn read_at(&self, offset: usize, out: &mut [u8]) -> Result<()> {
        check_bounds(offset, out.len(), self.size)?;
        // SAFETY: the range is inside the mapping (checked above); no reference into the
        // shared bytes is formed, and `out` cannot overlap a mapping we own.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.map.as_ptr().add(offset),
                out.as_mut_ptr(),
                out.len(),
            );
        }
        Ok(())
    }

    /// Copies `data` into the block at `offset` (`shm.buf[a:b] = data`).
    pub fn write_at(&mut self, offset: usize, data: &[u8]) -> Result<()> {
        check_bounds(offset, data.len(), self.size)?;
        // SAFETY: as in `read_at`; `&mut self` keeps this process's own writes ordered.
        unsafe {
            std::ptr::copy_nonoverlapping(
                data.as_ptr(),
                self.map.as_mut_ptr().add(offset),
                data.len(),
            );
        }
        Ok(())
    }

    /// A copy of the whole block (`bytes(shm.buf)`).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.size];
        self.read_at(0, &mut out)
            .expect("the whole block is in bounds");
        out
    }

    /// The first byte of the mapping, for zero-copy use with your own synchronisation.
    pub fn as_ptr(&self) -> *mut u8 {
        self.map.as_mut_ptr()
    }

    /// The block as a slice, without copying (`shm.buf`).
    ///
    /// # Safety
    /// No other process or thread may write the block while the slice lives (Rust
    /// assumes the bytes behind a `&[u8]` do not change).
    pub unsafe fn as_slice(&self) -> &[u8] {
        std::slice::from_raw_parts(self.map.as_ptr(), self.size)
    }

    /// The block as a mutable slice, without copying.
    ///
    /// # Safety
    /// No other process may read or write the block while the slice lives.
    pub unsafe fn as_mut_slice(&mut self) -> &mut [u8] {
        std::slice::from_raw_parts_mut(self.map.as_mut_ptr(), self.size)
    }

    /// Destroys the block's name (`SharedMemory.unlink()`): processes that have it mapped
    /// keep their mapping; nobody can attach any more. Call it once, in one process.
    pub fn unlink(&self) -> Result<()> {
        let posix = CString::new(self.posix_name.as_str()).expect("checked when created");
        Ok(shm_unlink(&posix)?)
    }

    /// The block as CPython pickles it (`SharedMemory(name, False, size)`): send it over a
    /// connection and the Python side gets a `SharedMemory` attached to the same block.
    pub fn to_value(&self) -> Value {
        pickled::shared_memory_to_value(self.name(), self.size)
    }

    /// Attaches to the block a pickled `SharedMemory` names (what a Python
    /// `conn.send(shm)` delivers).
    pub fn from_value(value: &Value) -> Result<SharedMemory> {
        let (name, _size) = pickled::shared_memory_from_value(value)
            .ok_or_else(|| not_pickled("SharedMemory", value))?;
        SharedMemory::open(&name)
    }

    /// Destroys the block `name` without attaching to it (`shm_unlink("/" + name)`).
    pub fn unlink_name(name: &str) -> Result<()> {
        Ok(shm_unlink(&posix_name(name)?)?)
    }
}

impl Memory for SharedMemory {
    fn size(&self) -> usize {
        self.size
    }

    fn read_at(&self, offset: usize, out: &mut [u8]) -> Result<()> {
        SharedMemory::read_at(self, offset, out)
    }

    fn write_at(&mut self, offset: usize, data: &[u8]) -> Result<()> {
        SharedMemory::write_at(self, offset, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cpythons_and_blocks_round_trip() {
        let mut a = SharedMemory::create(100).unwrap();
        assert!(
            a.name().starts_with("psm_") && a.name().len() == 12,
            "{a:?}"
        );
        assert_eq!(a.size(), 100);
        a.write_at(95, b"abcde").unwrap();
        let b = SharedMemory::open(a.name()).unwrap();
        let mut tail = [0u8; 5];
        b.read_at(95, &mut tail).unwrap();
        assert_eq!(&tail, b"abcde");
        assert!(matches!(
            a.write_at(96, b"abcde"),
            Err(SharedMemoryError::OutOfBounds { .. })
        ));
        let taken = SharedMemory::create_named(a.name(), 10).unwrap_err();
        assert!(
            matches!(&taken, SharedMemoryError::Io(e) if e.kind() == io::ErrorKind::AlreadyExists)
        );
        a.unlink().unwrap();
        let gone = SharedMemory::open(a.name()).unwrap_err();
        assert!(matches!(&gone, SharedMemoryError::Io(e) if e.kind() == io::ErrorKind::NotFound));
        // The mapping outlives the name.
        assert_eq!(b.to_vec()[95..], *b"abcde");
        assert!(matches!(
            SharedMemory::create(0),
            Err(SharedMemoryError::Empty)
        ));
        assert!(matches!(
            SharedMemory::open("a\0b"),
            Err(SharedMemoryError::InvalidName(_))
        ));
    }
}
