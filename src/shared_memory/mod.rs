//! Shared memory: CPython's `multiprocessing.shared_memory`, from Rust.
//!
//! Python processes share large buffers without pickling through named shared memory
//! blocks (`SharedMemory`) and fixed-length lists stored in them (`ShareableList`). This
//! module attaches to and creates the same blocks, by the names Python uses, and reads and
//! writes `ShareableList`s in CPython's exact layout, so the two languages share data
//! both ways:
//!
//! ```python
//! from multiprocessing.shared_memory import SharedMemory, ShareableList
//! sl = ShareableList([1, 2.5, True, None, 'text', b'raw'])
//! print(sl.shm.name)           # e.g. psm_1a2b3c4d: give it to the Rust process
//! ```
//! ```no_run
//! use mpconn::shared_memory::{Item, ShareableList};
//! # fn main() -> mpconn::shared_memory::Result<()> {
//! let mut sl = ShareableList::open("psm_1a2b3c4d")?;
//! assert_eq!(sl.get(4)?, Item::from("text"));
//! sl.set(0, &Item::Int(42))?;  // Python's sl[0] is now 42
//! # Ok(()) }
//! ```
//!
//! * [`SharedMemory`]: a block (`open`, `create`, `create_named`, `read_at`, `write_at`,
//!   `unlink`), POSIX only (`shm_open` + `mmap`; Windows' named file mappings, which
//!   CPython uses there, are not covered yet).
//! * [`ShareableList`]: the list over a block; [`Item`] is one value.
//! * [`layout`]: the byte layout as pure functions (`encode`, `decode`, `get`, `set`),
//!   on every platform, tested against blocks CPython wrote.
//! * [`pickled`]: blocks and lists as CPython pickles them (`conn.send(shm)`), to pass
//!   them over a [`crate::Connection`]: [`SharedMemory::from_value`],
//!   [`SharedMemory::to_value`], and the same on [`ShareableList`].
//! * A `SharedMemoryManager` on either side: see [`crate::managers`]
//!   (`Registry::track_shared_memory` for a server, `ManagerClient::shared_memory` and
//!   friends for a client).
//!
//! ## Names and sizes (as CPython forms them)
//! Python's `SharedMemory.name` is the POSIX name without its leading `/`; CPython puts
//! the `/` back for `shm_open`, and so does this module. Fresh names are `psm_` and 8 hex
//! digits (`_make_filename`: at most 14 characters with the `/`, FreeBSD's limit); a
//! taken name is drawn again. Blocks are created with mode `0o600`. A block's size is
//! what `fstat` reports: exactly the size asked for on Linux, rounded up to whole pages
//! on macOS (Python then reports the rounded size too; a `ShareableList` does not mind).
//! Creating a block of size 0, or attaching to an empty one, is an error in both.
//!
//! ## CPython's resource tracker
//! Every CPython process that creates **or attaches to** a block registers its name with
//! its `resource_tracker` process (3.11 always; 3.13+ unless `track=False` is passed);
//! `unlink()` unregisters it, `close()` does not. When the tracker's last user exits, it
//! `shm_unlink`s every name still registered and warns "There appear to be N leaked
//! shared_memory objects to clean up at shutdown". Nothing in Rust registers anywhere.
//! What follows for mixed programs (the first two, and the `track=False` / unregister
//! remedies, are checked on every interpreter by `python_interop/test_shared_memory.py`):
//! * **Rust creates, Python attaches**: when the Python process exits without calling
//!   `unlink()`, its tracker destroys the block, although Rust owns it. On 3.13+ attach
//!   with `SharedMemory(name, track=False)` (a `ShareableList` cannot pass `track`); on
//!   3.11 call `resource_tracker.unregister(shm._name, "shared_memory")` after attaching.
//! * **Python creates, Rust unlinks**: Python's tracker still holds the name; at exit it
//!   warns about the "leaked" block and that its `shm_unlink` failed (`No such file or
//!   directory`), harmlessly. Let the creating Python process unlink, or unregister.
//! * **Rust creates and unlinks**: no tracker is involved; a Rust process that dies
//!   without unlinking leaves the block in `/dev/shm` (CPython would have cleaned up).
//! * With a `SharedMemoryManager`, CPython's server process normally shares the client's
//!   tracker (it is started by the client); a Rust server, or any server the client did
//!   not start, does not, so a block the server releases is later reported by the
//!   client's tracker as above.

mod error;
mod item;
pub mod layout;
pub mod pickled;

#[cfg(unix)]
mod block;
#[cfg(unix)]
mod shareable_list;

pub use error::{Result, SharedMemoryError};
pub use item::Item;

#[cfg(unix)]
pub use block::{SharedMemory, NAME_PREFIX};
#[cfg(unix)]
pub use shareable_list::ShareableList;
