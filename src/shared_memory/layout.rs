//! The bytes of a `ShareableList`, as CPython's `multiprocessing/shared_memory.py` lays
//! them out (identical in 3.8 through 3.15). Pure functions over byte buffers: no I/O.
//!
//! For a list of `N` items, from offset 0 of the block:
//!
//! | bytes | what |
//! | --- | --- |
//! | 8 | `N`, native `q` |
//! | 8 × (N + 1) | the item offsets into the data area, native `q`: 0, then each slot's end |
//! | K | the data area: one slot per item, a multiple of 8 bytes each |
//! | 8 × N | each item's `struct` format, `8s` (NUL padded) |
//! | N | each item's back-transform code, `b`: 0 `int`/`float`/`bool`, 1 `str`, 2 `bytes`, 3 `None` |
//!
//! The block is exactly that long (`struct.calcsize` of the whole; no trailing padding).
//! Formats: `q` (int), `d` (float), `xxxxxxx?` (bool: seven zero bytes, then 0 or 1),
//! `xxxxxx?x` (None: all zero), `%ds` (str as UTF-8, bytes; NUL padded to the slot).
//! A `str` or `bytes` slot is `8 * (len // 8 + 1)` bytes, where `len` is the length of the
//! Python object: *code points* for a `str`, and so a slot can be shorter than the UTF-8
//! bytes.
//!
//! "Native" is the machine's byte order and sizes, as `struct` without a prefix uses them:
//! a block is readable only on a machine of the same byte order, in Python as in Rust.
//!
//! Where this module knowingly differs from CPython:
//! * A `str` whose UTF-8 bytes do not fit the slot CPython sizes by code points (nine `é`
//!   get 16 bytes for 18): CPython silently truncates it (and then may not decode it);
//!   [`encode`] sizes such a slot by its bytes instead, so nothing is lost (CPython reads
//!   the result correctly: every offset is stored).
//! * A `str` or `bytes` item ending in NUL: CPython stores it and reads it back without
//!   the NULs; [`encode`] and [`set`] refuse it ([`SharedMemoryError::TrailingNul`]).
//! * A block that does not describe a list that fits in it, or formats and codes CPython
//!   never writes, are typed errors; nothing is read or written outside the buffer.

use super::{Item, Result, SharedMemoryError};

/// Struct format of an `int` item.
pub const FORMAT_INT: &str = "q";
/// Struct format of a `float` item.
pub const FORMAT_FLOAT: &str = "d";
/// Struct format of a `bool` item.
pub const FORMAT_BOOL: &str = "xxxxxxx?";
/// Struct format of a `None` item.
pub const FORMAT_NONE: &str = "xxxxxx?x";

const CODE_AS_IS: i8 = 0;
const CODE_STR: i8 = 1;
const CODE_BYTES: i8 = 2;
const CODE_NONE: i8 = 3;

/// Memory a layout is read from and written to: a byte slice, or a shared memory block
/// (which is copied from and to, never borrowed as a slice).
pub(crate) trait Memory {
    /// The number of bytes.
    fn size(&self) -> usize;
    /// Copies `out.len()` bytes at `offset` into `out`.
    fn read_at(&self, offset: usize, out: &mut [u8]) -> Result<()>;
    /// Copies `data` to `offset`.
    fn write_at(&mut self, offset: usize, data: &[u8]) -> Result<()>;
}

/// Checks that `len` bytes at `offset` fit in `size` bytes.
pub(crate) fn check_bounds(offset: usize, len: usize, size: usize) -> Result<()> {
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(SharedMemoryError::OutOfBounds { offset, len, size }),
    }
}

impl Memory for [u8] {
    fn size(&self) -> usize {
        self.len()
    }

    fn read_at(&self, offset: usize, out: &mut [u8]) -> Result<()> {
        check_bounds(offset, out.len(), self.len())?;
        out.copy_from_slice(&self[offset..offset + out.len()]);
        Ok(())
    }

    fn write_at(&mut self, offset: usize, data: &[u8]) -> Result<()> {
        check_bounds(offset, data.len(), self.len())?;
        self[offset..offset + data.len()].copy_from_slice(data);
        Ok(())
    }
}

fn read_q(mem: &(impl Memory + ?Sized), offset: usize) -> Result<i64> {
    let mut b = [0u8; 8];
    mem.read_at(offset, &mut b)?;
    Ok(i64::from_ne_bytes(b))
}

/// The bytes `item` occupies in the data area under `format` (`struct.pack(format, v)`).
fn packed(item: &Item, slot: usize) -> Vec<u8> {
    let mut out = vec![0u8; slot];
    match item {
        Item::Int(i) => out[..8].copy_from_slice(&i.to_ne_bytes()),
        Item::Float(f) => out[..8].copy_from_slice(&f.to_ne_bytes()),
        Item::Bool(b) => out[7] = u8::from(*b),
        Item::None => {}
        Item::Str(s) => out[..s.len()].copy_from_slice(s.as_bytes()),
        Item::Bytes(b) => out[..b.len()].copy_from_slice(b),
    }
    out
}

/// The UTF-8 bytes of a `str`, the bytes of `bytes`; `None` for the fixed-size types.
fn text_bytes(item: &Item) -> Option<&[u8]> {
    match item {
        Item::Str(s) => Some(s.as_bytes()),
        Item::Bytes(b) => Some(b),
        _ => None,
    }
}

/// The back-transform code CPython stores for `item` (`_extract_recreation_code`).
fn code_of(item: &Item) -> i8 {
    match item {
        Item::Str(_) => CODE_STR,
        Item::Bytes(_) => CODE_BYTES,
        Item::None => CODE_NONE,
        _ => CODE_AS_IS,
    }
}

/// The format of a fixed-size item (`_types_mapping`).
fn fixed_format(item: &Item) -> Option<&'static str> {
    match item {
        Item::Int(_) => Some(FORMAT_INT),
        Item::Float(_) => Some(FORMAT_FLOAT),
        Item::Bool(_) => Some(FORMAT_BOOL),
        Item::None => Some(FORMAT_NONE),
        _ => None,
    }
}

/// A `%ds` format, refused when longer than the 8 bytes it is stored in.
fn text_format(slot: usize) -> Result<String> {
    let format = format!("{slot}s");
    if format.len() > 8 {
        return Err(SharedMemoryError::TooLarge { len: slot });
    }
    Ok(format)
}

/// Refuses `str` / `bytes` values CPython would read back shorter.
fn check_no_trailing_nul(item: &Item) -> Result<()> {
    match text_bytes(item) {
        Some(b) if b.last() == Some(&0) => Err(SharedMemoryError::TrailingNul),
        _ => Ok(()),
    }
}

/// The slot size and format CPython's `ShareableList.__init__` gives `item`.
fn slot_of(item: &Item) -> Result<(usize, String)> {
    check_no_trailing_nul(item)?;
    if let Some(format) = fixed_format(item) {
        return Ok((8, format.to_string()));
    }
    let (python_len, bytes_len) = match item {
        Item::Str(s) => (s.chars().count(), s.len()),
        Item::Bytes(b) => (b.len(), b.len()),
        _ => unreachable!("fixed-size items returned above"),
    };
    let mut slot = 8 * (python_len / 8 + 1);
    if bytes_len > slot {
        // CPython would truncate here; see the module docs.
        slot = 8 * (bytes_len / 8 + 1);
    }
    Ok((slot, text_format(slot)?))
}

/// The complete block CPython's `ShareableList(items)` writes, byte for byte (see the
/// module docs for the one case where it differs to keep a value whole).
///
/// ```
/// use mpconn::shared_memory::{layout, Item};
/// let block = layout::encode(&[Item::Int(7), Item::from("hi")]).unwrap();
/// assert_eq!(block.len(), 8 + 3 * 8 + 16 + 2 * 8 + 2);
/// assert_eq!(layout::decode(&block).unwrap(), [Item::Int(7), Item::from("hi")]);
/// ```
pub fn encode(items: &[Item]) -> Result<Vec<u8>> {
    let n = items.len();
    let slots: Vec<(usize, String)> = items.iter().map(slot_of).collect::<Result<_>>()?;
    let data_len: usize = slots.iter().map(|(size, _)| size).sum();
    let mut out = Vec::with_capacity(8 * (n + 2) + data_len + 9 * n);
    out.extend_from_slice(&(n as i64).to_ne_bytes());
    let mut offset = 0usize;
    out.extend_from_slice(&0i64.to_ne_bytes());
    for (size, _) in &slots {
        offset += size;
        out.extend_from_slice(&(offset as i64).to_ne_bytes());
    }
    for (item, (size, _)) in items.iter().zip(&slots) {
        out.extend_from_slice(&packed(item, *size));
    }
    for (_, format) in &slots {
        let mut field = [0u8; 8];
        field[..format.len()].copy_from_slice(format.as_bytes());
        out.extend_from_slice(&field);
    }
    out.extend(items.iter().map(|item| code_of(item) as u8));
    Ok(out)
}

/// Where the parts of a list live in its block, read from its first bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    /// The item offsets into the data area (`N + 1` of them).
    offsets: Vec<usize>,
}

impl Header {
    /// Reads and checks the header: the count, the offsets, and that the format and code
    /// areas fit in the block. The offsets are allocated only after the count is known
    /// to fit, so a hostile count cannot make this allocate more than the block's size.
    pub(crate) fn read(mem: &(impl Memory + ?Sized)) -> Result<Header> {
        let size = mem.size();
        let n = read_q(mem, 0).map_err(|_| corrupt("shorter than 8 bytes"))?;
        let n = usize::try_from(n).map_err(|_| corrupt(&format!("negative length {n}")))?;
        // 8 (count) + 8 (N + 1) (offsets) + 8 N (formats) + N (codes) <= size.
        let fixed = n
            .checked_mul(17)
            .and_then(|x| x.checked_add(16))
            .filter(|&x| x <= size)
            .ok_or_else(|| corrupt(&format!("{n} items cannot fit in {size} bytes")))?;
        let mut raw = vec![0u8; 8 * (n + 1)];
        mem.read_at(8, &mut raw)?;
        let offsets: Vec<usize> = raw
            .chunks_exact(8)
            .map(|c| i64::from_ne_bytes(c.try_into().expect("8 bytes")))
            .map(|o| usize::try_from(o).unwrap_or(usize::MAX))
            .collect();
        let end = offsets[n];
        if !matches!(fixed.checked_add(end), Some(total) if total <= size) {
            return Err(corrupt(&format!(
                "a data area of {end} bytes for {n} items does not fit in {size} bytes"
            )));
        }
        Ok(Header { offsets })
    }

    /// The number of items.
    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    fn data_start(&self) -> usize {
        (self.len() + 2) * 8
    }

    fn formats_start(&self) -> usize {
        self.data_start() + self.offsets[self.len()]
    }

    fn codes_start(&self) -> usize {
        self.formats_start() + 8 * self.len()
    }

    fn check_index(&self, index: usize) -> Result<()> {
        if index >= self.len() {
            return Err(SharedMemoryError::IndexOutOfRange {
                index,
                len: self.len(),
            });
        }
        Ok(())
    }

    /// Item `index`'s format, NULs stripped (`_get_packing_format`).
    fn format(&self, mem: &(impl Memory + ?Sized), index: usize) -> Result<String> {
        let mut field = [0u8; 8];
        mem.read_at(self.formats_start() + 8 * index, &mut field)?;
        let used = field.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
        std::str::from_utf8(&field[..used])
            .map(str::to_string)
            .map_err(|_| SharedMemoryError::UnknownFormat {
                index,
                format: String::from_utf8_lossy(&field[..used]).into_owned(),
            })
    }

    /// Item `index` (`ShareableList.__getitem__`).
    pub(crate) fn get(&self, mem: &(impl Memory + ?Sized), index: usize) -> Result<Item> {
        self.check_index(index)?;
        let format = self.format(mem, index)?;
        let start = self
            .data_start()
            .checked_add(self.offsets[index])
            .ok_or_else(|| corrupt("item offset overflows"))?;
        let unknown = || SharedMemoryError::UnknownFormat {
            index,
            format: format.clone(),
        };
        let raw = match format.as_str() {
            FORMAT_INT | FORMAT_FLOAT | FORMAT_BOOL | FORMAT_NONE => {
                let mut b = [0u8; 8];
                mem.read_at(start, &mut b)?;
                match format.as_str() {
                    FORMAT_INT => Item::Int(i64::from_ne_bytes(b)),
                    FORMAT_FLOAT => Item::Float(f64::from_ne_bytes(b)),
                    FORMAT_BOOL => Item::Bool(b[7] != 0),
                    _ => Item::Bool(b[6] != 0),
                }
            }
            text => {
                let len = text_len(text).ok_or_else(unknown)?;
                // The block bounds the allocation: `len` larger than it fails the read.
                check_bounds(start, len, mem.size())?;
                let mut b = vec![0u8; len];
                mem.read_at(start, &mut b)?;
                Item::Bytes(b)
            }
        };
        let mut code = [0u8; 1];
        mem.read_at(self.codes_start() + index, &mut code)?;
        let code = code[0] as i8;
        let bytes_of = |raw: Item| match raw {
            Item::Bytes(mut b) => {
                let used = b.iter().rposition(|&x| x != 0).map_or(0, |p| p + 1);
                b.truncate(used);
                Ok(b)
            }
            // CPython: `AttributeError: 'int' object has no attribute 'rstrip'`.
            _ => Err(SharedMemoryError::Corrupt(format!(
                "item {index}: format {format:?} with the code of a str/bytes item"
            ))),
        };
        match code {
            CODE_AS_IS => Ok(raw),
            CODE_STR => String::from_utf8(bytes_of(raw)?)
                .map(Item::Str)
                .map_err(|_| SharedMemoryError::NotUtf8 { index }),
            CODE_BYTES => bytes_of(raw).map(Item::Bytes),
            CODE_NONE => Ok(Item::None),
            code => Err(SharedMemoryError::UnknownTransform { index, code }),
        }
    }

    /// Stores `item` at `index` (`ShareableList.__setitem__`): a `str` or `bytes` must fit
    /// the slot's allocated bytes; the format and code are written before the data, as
    /// CPython writes them.
    pub(crate) fn set(
        &self,
        mem: &mut (impl Memory + ?Sized),
        index: usize,
        item: &Item,
    ) -> Result<()> {
        self.check_index(index)?;
        check_no_trailing_nul(item)?;
        let current = self.format(mem, index)?;
        let start = self
            .data_start()
            .checked_add(self.offsets[index])
            .ok_or_else(|| corrupt("item offset overflows"))?;
        let (format, data) = match (fixed_format(item), text_bytes(item)) {
            (Some(format), _) => (format.to_string(), packed(item, 8)),
            (None, Some(bytes)) => {
                let allocated = self.offsets[index + 1].saturating_sub(self.offsets[index]);
                if bytes.len() > allocated {
                    return Err(SharedMemoryError::TooLong {
                        needed: bytes.len(),
                        available: allocated,
                    });
                }
                let format = if current.ends_with('s') {
                    current
                } else {
                    text_format(allocated)?
                };
                let width = text_len(&format).ok_or_else(|| SharedMemoryError::UnknownFormat {
                    index,
                    format: format.clone(),
                })?;
                if bytes.len() > width {
                    return Err(SharedMemoryError::TooLong {
                        needed: bytes.len(),
                        available: width,
                    });
                }
                // Checked before the padded copy is allocated.
                check_bounds(start, width, mem.size())?;
                (format, packed(item, width))
            }
            (None, None) => unreachable!("every item is fixed-size or text"),
        };
        check_bounds(start, data.len(), mem.size())?;
        let mut field = [0u8; 8];
        field[..format.len()].copy_from_slice(format.as_bytes());
        mem.write_at(self.formats_start() + 8 * index, &field)?;
        mem.write_at(self.codes_start() + index, &[code_of(item) as u8])?;
        mem.write_at(start, &data)
    }

    /// Every item's format joined (`ShareableList.format`).
    pub(crate) fn format_string(&self, mem: &(impl Memory + ?Sized)) -> Result<String> {
        (0..self.len()).map(|i| self.format(mem, i)).collect()
    }
}

/// The width of a `%ds` format (`s` alone is one byte, as in `struct`).
fn text_len(format: &str) -> Option<usize> {
    let digits = format.strip_suffix('s')?;
    if digits.is_empty() {
        return Some(1);
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn corrupt(what: &str) -> SharedMemoryError {
    SharedMemoryError::Corrupt(what.to_string())
}

/// Every item of the list stored in `block` (`list(ShareableList(name=...))`).
pub fn decode(block: &[u8]) -> Result<Vec<Item>> {
    let header = Header::read(block)?;
    (0..header.len()).map(|i| header.get(block, i)).collect()
}

/// Item `index` of the list stored in `block` (`sl[index]`).
pub fn get(block: &[u8], index: usize) -> Result<Item> {
    Header::read(block)?.get(block, index)
}

/// Stores `item` at `index` of the list in `block` (`sl[index] = item`).
pub fn set(block: &mut [u8], index: usize, item: &Item) -> Result<()> {
    Header::read(block)?.set(block, index, item)
}

/// The struct format of every item of the list in `block`, joined
/// (`ShareableList.format`).
pub fn format(block: &[u8]) -> Result<String> {
    Header::read(block)?.format_string(block)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_list_is_sixteen_zero_bytes() {
        assert_eq!(encode(&[]).unwrap(), [0u8; 16]);
        assert_eq!(decode(&[0u8; 16]).unwrap(), []);
    }

    #[test]
    fn str_slots_are_sized_by_code_points_unless_the_bytes_do_not_fit() {
        // 7 code points, 14 bytes: CPython allocates 8 and would truncate; we take 16.
        let (slot, format) = slot_of(&Item::from("ééééééé")).unwrap();
        assert_eq!((slot, format.as_str()), (16, "16s"));
        // 4 code points, 8 bytes: the slot CPython gives (8) holds them exactly.
        assert_eq!(slot_of(&Item::from("éééé")).unwrap().0, 8);
        assert_eq!(slot_of(&Item::from("abcdefgh")).unwrap().0, 16);
        assert_eq!(slot_of(&Item::from("")).unwrap().0, 8);
    }

    #[test]
    fn trailing_nuls_are_refused_not_lost() {
        assert!(matches!(
            encode(&[Item::from(&b"a\0"[..])]),
            Err(SharedMemoryError::TrailingNul)
        ));
        let mut block = encode(&[Item::from("abc")]).unwrap();
        assert!(matches!(
            set(&mut block, 0, &Item::from("x\0")),
            Err(SharedMemoryError::TrailingNul)
        ));
        assert_eq!(decode(&block).unwrap(), [Item::from("abc")]);
    }

    #[test]
    fn set_follows_cpython_slot_rules() {
        let mut block = encode(&[Item::Int(1), Item::from("abcdefghij")]).unwrap();
        // A str goes into an int's 8-byte slot: the format becomes 8s.
        set(&mut block, 0, &Item::from("12345678")).unwrap();
        assert!(matches!(
            set(&mut block, 0, &Item::from("123456789")),
            Err(SharedMemoryError::TooLong {
                needed: 9,
                available: 8
            })
        ));
        // An int goes into a str's slot; a str then gets the whole slot back.
        set(&mut block, 1, &Item::Float(0.5)).unwrap();
        assert_eq!(format(&block).unwrap(), "8sd");
        set(&mut block, 1, &Item::from("0123456789abcde")).unwrap();
        assert_eq!(format(&block).unwrap(), "8s16s");
        assert_eq!(
            decode(&block).unwrap(),
            [Item::from("12345678"), Item::from("0123456789abcde")]
        );
        assert!(matches!(
            set(&mut block, 2, &Item::None),
            Err(SharedMemoryError::IndexOutOfRange { index: 2, len: 2 })
        ));
    }

    #[test]
    fn hostile_headers_are_errors_without_large_allocations() {
        let mut block = encode(&[Item::Int(1)]).unwrap();
        block[..8].copy_from_slice(&i64::MAX.to_ne_bytes());
        assert!(matches!(decode(&block), Err(SharedMemoryError::Corrupt(_))));
        block[..8].copy_from_slice(&(-1i64).to_ne_bytes());
        assert!(matches!(decode(&block), Err(SharedMemoryError::Corrupt(_))));
        let mut block = encode(&[Item::Int(1)]).unwrap();
        block[16..24].copy_from_slice(&i64::MAX.to_ne_bytes());
        assert!(matches!(decode(&block), Err(SharedMemoryError::Corrupt(_))));
        // A format claiming more bytes than the block has.
        let mut block = encode(&[Item::from("ab")]).unwrap();
        let formats = 24 + 8;
        block[formats..formats + 8].copy_from_slice(b"9999999s");
        assert!(matches!(
            decode(&block),
            Err(SharedMemoryError::OutOfBounds { .. })
        ));
        block[formats..formats + 8].copy_from_slice(b"i\0\0\0\0\0\0\0");
        assert!(matches!(
            decode(&block),
            Err(SharedMemoryError::UnknownFormat { .. })
        ));
        let mut block = encode(&[Item::Int(1)]).unwrap();
        let last = block.len() - 1;
        block[last] = 9;
        assert!(matches!(
            decode(&block),
            Err(SharedMemoryError::UnknownTransform { code: 9, .. })
        ));
        block[last] = 1;
        assert!(matches!(decode(&block), Err(SharedMemoryError::Corrupt(_))));
        assert!(matches!(
            decode(&[1, 2]),
            Err(SharedMemoryError::Corrupt(_))
        ));
    }
}
