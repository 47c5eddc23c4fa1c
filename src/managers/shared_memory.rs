//! `SharedMemoryManager`, both sides: the segment tracking CPython's `SharedMemoryServer`
//! adds to a manager ([`SegmentTracker`]), and the client calls of CPython's
//! `SharedMemoryManager` (`ManagerClient::shared_memory`, `shareable_list`,
//! `track_segment`, `release_segment`, `list_segments`).
//!
//! In CPython (`managers.py`, the same in 3.11 to 3.15 but for a mutable default argument
//! fixed in 3.13), `SharedMemoryManager.SharedMemory(size)` and `.ShareableList(seq)` are
//! not typeids: the *client* creates the block itself and sends the control request
//! `track_segment(name)`; the server keeps the names in a list, `release_segment(name)`
//! unlinks one and forgets it, `list_segments()` returns the list, and `shutdown` unlinks
//! every tracked block before the server stops. The manager registers no typeids of its
//! own. A Rust [`super::ManagerServer`] with [`Registry::track_shared_memory`] does the same,
//! for CPython and Rust clients alike.

use std::sync::{Arc, Mutex, PoisonError};

use super::server::ExtraControl;
use super::{as_str, brief, s, ManagerClient, ManagerError, Registry, Result};
use crate::Value;

/// The extra control functions of CPython's `SharedMemoryServer`.
pub const SEGMENT_METHODS: &[&str] = &["track_segment", "release_segment", "list_segments"];

/// The block names a shared-memory manager tracks (CPython's `_SharedMemoryTracker`),
/// answering `track_segment`, `release_segment` and `list_segments`, and unlinking every
/// tracked block when the server stops.
///
/// Names are kept in a list, duplicates included, as CPython keeps them.
/// Where it knowingly differs from CPython: a name that is not a `str` is refused at
/// `track_segment` (CPython stores any object and fails when releasing it); at shutdown a
/// block that is already gone is skipped (CPython's `shutdown` then fails with
/// `FileNotFoundError` and the server keeps running with the remaining names).
#[derive(Debug, Default)]
pub struct SegmentTracker {
    names: Mutex<Vec<String>>,
}

impl SegmentTracker {
    fn names(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.names.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The tracked names, in the order they were tracked (`list_segments()`).
    pub fn segments(&self) -> Vec<String> {
        self.names().clone()
    }

    /// Tracks `name` (`track_segment(name)`).
    pub fn track(&self, name: &str) {
        self.names().push(name.to_string());
    }

    /// Forgets `name` and unlinks its block (`release_segment(name)`); the `Err` is the
    /// Python exception line CPython's server would raise.
    pub fn release(&self, name: &str) -> Result<(), String> {
        {
            let mut names = self.names();
            let at = names
                .iter()
                .position(|n| n == name)
                .ok_or("ValueError: list.remove(x): x not in list")?;
            names.remove(at);
        }
        unlink(name)
    }

    /// Unlinks every tracked block and forgets them all (what `shutdown` does first).
    /// Blocks already gone are skipped.
    pub fn release_all(&self) {
        let names = std::mem::take(&mut *self.names());
        for name in names {
            let _ = unlink(&name);
        }
    }
}

#[cfg(unix)]
fn unlink(name: &str) -> Result<(), String> {
    use crate::shared_memory::{SharedMemory, SharedMemoryError};
    SharedMemory::unlink_name(name).map_err(|e| match e {
        SharedMemoryError::Io(e) if e.kind() == std::io::ErrorKind::NotFound => {
            format!("FileNotFoundError: [Errno 2] No such file or directory: '/{name}'")
        }
        e => format!("OSError: {e}"),
    })
}

#[cfg(not(unix))]
fn unlink(_name: &str) -> Result<(), String> {
    // On Windows a named mapping disappears with its last handle: CPython's `unlink()`
    // does nothing there either.
    Ok(())
}

impl ExtraControl for SegmentTracker {
    fn names(&self) -> &[&str] {
        SEGMENT_METHODS
    }

    fn call(
        &self,
        method: &str,
        args: &[Value],
        kwargs: &[(Value, Value)],
    ) -> Result<Value, String> {
        let name = || match (args, kwargs) {
            ([name], []) => as_str(name)
                .ok_or_else(|| format!("TypeError: segment names are str, not {}", brief(name))),
            ([], [(k, name)]) if as_str(k) == Some("segment_name") => as_str(name)
                .ok_or_else(|| format!("TypeError: segment names are str, not {}", brief(name))),
            _ => Err(format!(
                "TypeError: {method}() takes 2 positional arguments but {} were given",
                args.len() + kwargs.len() + 1
            )),
        };
        match method {
            "track_segment" => {
                self.track(name()?);
                Ok(Value::None)
            }
            "release_segment" => self.release(name()?).map(|()| Value::None),
            "list_segments" => {
                if !args.is_empty() || !kwargs.is_empty() {
                    return Err(format!(
                        "TypeError: list_segments() takes 1 positional argument but {} were given",
                        args.len() + kwargs.len() + 1
                    ));
                }
                Ok(Value::list(self.segments().iter().map(|n| s(n)).collect()))
            }
            _ => Err(format!("AssertionError: '{method}' unrecognized")),
        }
    }

    fn on_shutdown(&self) {
        self.release_all();
    }
}

impl Registry {
    /// Makes the server a `SharedMemoryServer`: it answers `track_segment`,
    /// `release_segment` and `list_segments`, and unlinks the tracked blocks when it stops
    /// (on `shutdown`, [`super::ServerHandle::shutdown`] or drop). Returns the tracker, to
    /// look at from Rust.
    ///
    /// ```no_run
    /// use mpconn::managers::{ManagerServer, Registry};
    /// # fn main() -> mpconn::Result<()> {
    /// // Python: SharedMemoryManager(address=('127.0.0.1', 50000), authkey=b'key')
    /// //             .get_server().serve_forever()
    /// let mut registry = Registry::new();
    /// let segments = registry.track_shared_memory();
    /// let server = ManagerServer::bind(&"127.0.0.1:50000".parse()?, Some(b"key"), registry)?;
    /// server.serve_forever()?; // CPython clients: SharedMemoryManager(...).connect()
    /// assert!(segments.segments().is_empty()); // all released at shutdown
    /// # Ok(()) }
    /// ```
    pub fn track_shared_memory(&mut self) -> Arc<SegmentTracker> {
        let tracker = Arc::new(SegmentTracker::default());
        self.set_extra_control(Arc::clone(&tracker) as Arc<dyn ExtraControl>);
        tracker
    }
}

/// The client side of CPython's `SharedMemoryManager`, for any manager that answers the
/// segment calls (CPython's `SharedMemoryManager` server or a Rust one with
/// [`Registry::track_shared_memory`]).
impl ManagerClient {
    /// `track_segment(name)`: the manager will unlink block `name` at shutdown.
    pub fn track_segment(&self, name: &str) -> Result<()> {
        self.dispatch("track_segment", vec![s(name)]).map(drop)
    }

    /// `release_segment(name)`: the manager unlinks block `name` now and forgets it.
    pub fn release_segment(&self, name: &str) -> Result<()> {
        self.dispatch("release_segment", vec![s(name)]).map(drop)
    }

    /// `list_segments()`: the names the manager tracks.
    pub fn list_segments(&self) -> Result<Vec<String>> {
        let v = self.dispatch("list_segments", Vec::new())?;
        let bad = || ManagerError::Protocol(format!("list_segments returned {}", brief(&v)));
        super::as_items(&v)
            .ok_or_else(bad)?
            .iter()
            .map(|n| as_str(n).map(str::to_string).ok_or_else(bad))
            .collect()
    }

    /// A new block of `size` bytes, tracked by the manager
    /// (`SharedMemoryManager.SharedMemory(size)`): created here, then `track_segment`;
    /// when tracking fails the block is unlinked again and the error returned.
    #[cfg(unix)]
    pub fn shared_memory(&self, size: usize) -> Result<crate::shared_memory::SharedMemory> {
        let block = crate::shared_memory::SharedMemory::create(size)?;
        if let Err(e) = self.track_segment(block.name()) {
            let _ = block.unlink();
            return Err(e);
        }
        Ok(block)
    }

    /// A new `ShareableList` holding `items`, tracked by the manager
    /// (`SharedMemoryManager.ShareableList(sequence)`).
    #[cfg(unix)]
    pub fn shareable_list(
        &self,
        items: &[crate::shared_memory::Item],
    ) -> Result<crate::shared_memory::ShareableList> {
        let list = crate::shared_memory::ShareableList::create(items)?;
        if let Err(e) = self.track_segment(list.name()) {
            let _ = list.shm().unlink();
            return Err(e);
        }
        Ok(list)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::shared_memory::SharedMemory;

    #[test]
    fn the_tracker_answers_like_cpythons_shared_memory_server() {
        let t = SegmentTracker::default();
        let a = SharedMemory::create(8).unwrap();
        let b = SharedMemory::create(8).unwrap();
        assert_eq!(
            t.call("track_segment", &[s(a.name())], &[]),
            Ok(Value::None)
        );
        assert_eq!(
            t.call("track_segment", &[s(b.name())], &[]),
            Ok(Value::None)
        );
        let listed = t.call("list_segments", &[], &[]).unwrap();
        assert_eq!(
            listed.to_string(),
            format!("['{}', '{}']", a.name(), b.name())
        );
        assert_eq!(
            t.call("release_segment", &[s(a.name())], &[]),
            Ok(Value::None)
        );
        assert!(SharedMemory::open(a.name()).is_err());
        assert_eq!(
            t.call("release_segment", &[s(a.name())], &[]),
            Err("ValueError: list.remove(x): x not in list".into())
        );
        assert!(t
            .call("track_segment", &[Value::Int(1)], &[])
            .unwrap_err()
            .starts_with("TypeError"));
        // A block already gone is skipped at shutdown; the others are still unlinked.
        t.track("psm_gone0000");
        t.track(b.name());
        t.on_shutdown();
        assert!(SharedMemory::open(b.name()).is_err());
        assert!(t.segments().is_empty());
    }
}
