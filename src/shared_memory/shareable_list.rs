//! [`ShareableList`]: CPython's fixed-length list in a shared memory block.

use std::fmt;

use super::layout::{self, Header};
use super::{pickled, Item, Result, SharedMemory};
use crate::Value;

/// A list of `int` / `float` / `bool` / `str` / `bytes` / `None` items in a shared memory
/// block, laid out exactly as CPython's `multiprocessing.shared_memory.ShareableList` lays
/// it out (see [`super::layout`]), so a Python process and a Rust process can each read
/// and write the other's lists.
///
/// As in Python the length is fixed when the list is created; an item may be replaced by
/// any other item whose bytes fit the slot it was created with (a `str` of up to 7
/// characters gets 8 bytes, of 8 to 15 gets 16, ...). Every access reads the block
/// afresh (other processes may have written it); like Python, there is no locking.
///
/// ```no_run
/// use mpconn::shared_memory::{Item, ShareableList};
/// # fn main() -> mpconn::shared_memory::Result<()> {
/// // Python: sl = ShareableList(name='psm_1a2b3c4d'); sl[0] += 1
/// let mut sl = ShareableList::open("psm_1a2b3c4d")?;
/// if let Item::Int(n) = sl.get(0)? {
///     sl.set(0, &Item::Int(n + 1))?;
/// }
/// println!("{}", sl); // ShareableList([...], name='psm_1a2b3c4d')
/// # Ok(()) }
/// ```
pub struct ShareableList {
    shm: SharedMemory,
    header: Header,
}

impl ShareableList {
    /// Creates a block just large enough and stores `items` in it:
    /// `ShareableList(items)`.
    pub fn create(items: &[Item]) -> Result<ShareableList> {
        let bytes = layout::encode(items)?;
        let shm = SharedMemory::create(bytes.len())?;
        ShareableList::fill(shm, &bytes)
    }

    /// [`ShareableList::create`] under the name `name`:
    /// `ShareableList(items, name=name)`.
    pub fn create_named(name: &str, items: &[Item]) -> Result<ShareableList> {
        let bytes = layout::encode(items)?;
        let shm = SharedMemory::create_named(name, bytes.len())?;
        ShareableList::fill(shm, &bytes)
    }

    fn fill(mut shm: SharedMemory, bytes: &[u8]) -> Result<ShareableList> {
        let written = shm.write_at(0, bytes).and_then(|()| Header::read(&shm));
        match written {
            Ok(header) => Ok(ShareableList { shm, header }),
            Err(e) => {
                let _ = shm.unlink();
                Err(e)
            }
        }
    }

    /// Attaches to the list in block `name`: `ShareableList(name=name)`. The header
    /// (length and item offsets) is read and checked once, as CPython reads it once.
    pub fn open(name: &str) -> Result<ShareableList> {
        ShareableList::from_shared_memory(SharedMemory::open(name)?)
    }

    /// The list stored in an already attached block.
    pub fn from_shared_memory(shm: SharedMemory) -> Result<ShareableList> {
        let header = Header::read(&shm)?;
        Ok(ShareableList { shm, header })
    }

    /// The list as CPython pickles it (`partial(ShareableList, name=name)()`): sent over a
    /// connection, the Python side gets a `ShareableList` on the same block.
    pub fn to_value(&self) -> Value {
        pickled::shareable_list_to_value(self.name())
    }

    /// Attaches to the list a pickled `ShareableList` names (what a Python
    /// `conn.send(sl)` delivers).
    pub fn from_value(value: &Value) -> Result<ShareableList> {
        let name = pickled::shareable_list_from_value(value)
            .ok_or_else(|| super::block::not_pickled("ShareableList", value))?;
        ShareableList::open(&name)
    }

    /// The block (`sl.shm`).
    pub fn shm(&self) -> &SharedMemory {
        &self.shm
    }

    /// Gives the block back (to unlink it, or to read its raw bytes).
    pub fn into_shared_memory(self) -> SharedMemory {
        self.shm
    }

    /// The block's name (`sl.shm.name`).
    pub fn name(&self) -> &str {
        self.shm.name()
    }

    /// The number of items (`len(sl)`).
    pub fn len(&self) -> usize {
        self.header.len()
    }

    /// Whether the list has no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Item `index` (`sl[index]`).
    pub fn get(&self, index: usize) -> Result<Item> {
        self.header.get(&self.shm, index)
    }

    /// Replaces item `index` (`sl[index] = item`). A `str` or `bytes` longer than the
    /// slot is [`super::SharedMemoryError::TooLong`], as CPython's `ValueError`.
    pub fn set(&mut self, index: usize, item: &Item) -> Result<()> {
        self.header.set(&mut self.shm, index, item)
    }

    /// All items (`list(sl)`).
    pub fn to_vec(&self) -> Result<Vec<Item>> {
        (0..self.len()).map(|i| self.get(i)).collect()
    }

    /// The struct formats of all items, joined (`sl.format`).
    pub fn format(&self) -> Result<String> {
        self.header.format_string(&self.shm)
    }

    /// The position of the first item equal to `item` (`sl.index(item)`; Rust equality:
    /// `Int(1)` does not equal `Float(1.0)` or `Bool(true)` as it would in Python).
    pub fn index(&self, item: &Item) -> Result<Option<usize>> {
        Ok(self.to_vec()?.iter().position(|x| x == item))
    }

    /// How many items equal `item` (`sl.count(item)`, with Rust equality as for
    /// [`ShareableList::index`]).
    pub fn count(&self, item: &Item) -> Result<usize> {
        Ok(self.to_vec()?.iter().filter(|x| *x == item).count())
    }
}

impl fmt::Debug for ShareableList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// CPython's `repr`: `ShareableList([1, 'a'], name='psm_1a2b3c4d')`.
impl fmt::Display for ShareableList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShareableList([")?;
        for i in 0..self.len() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match self.get(i) {
                Ok(item) => write!(f, "{item}")?,
                Err(e) => write!(f, "<{e}>")?,
            }
        }
        write!(f, "], name={})", crate::Value::from(self.name()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_and_lists_move_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<SharedMemory>();
        shareable::<ShareableList>();
    }

    #[test]
    fn a_list_written_here_is_read_back_through_a_second_attachment() {
        let items = [Item::Int(1), Item::from("two"), Item::None];
        let mut a = ShareableList::create(&items).unwrap();
        let b = ShareableList::open(a.name()).unwrap();
        assert_eq!(b.to_vec().unwrap(), items);
        a.set(2, &Item::Float(3.5)).unwrap();
        assert_eq!(b.get(2).unwrap(), Item::Float(3.5));
        assert_eq!(b.format().unwrap(), "q8sd");
        assert_eq!(
            b.to_string(),
            format!("ShareableList([1, 'two', 3.5], name='{}')", a.name())
        );
        assert_eq!(b.index(&Item::from("two")).unwrap(), Some(1));
        a.shm().unlink().unwrap();
    }
}
