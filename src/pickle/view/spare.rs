//! The buffers of the last view a thread dropped, kept for its next view.
//!
//! A receive loop decodes one message after another; without this, every message would
//! allocate its arena afresh and give it back at the end, and for messages of a few
//! hundred KiB the system allocator hands that memory back to the kernel each time, so
//! the next message pays page faults for all of it (on this project's 2-core test machine,
//! about 40 % of viewing a 369 KB batch of dicts). CPython's allocator keeps its arenas in
//! the same way. The buffers are kept only up to [`KEEP_BYTES`] per thread, and only
//! between views: a view holds its own buffers while it lives.

use std::cell::RefCell;

use super::Packed;

/// The most buffer capacity a thread keeps (bytes); bigger buffers are freed.
pub(super) const KEEP_BYTES: usize = 32 << 20;

/// Vectors a view and its builder use, emptied, with their capacity.
#[derive(Default)]
pub(super) struct Buffers {
    pub(super) nodes: Vec<Packed>,
    pub(super) links: Vec<u32>,
    pub(super) heights: Vec<u32>,
    pub(super) stack: Vec<u32>,
    pub(super) memo: Vec<u32>,
}

impl Buffers {
    fn bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Packed>()
            + (self.links.capacity()
                + self.heights.capacity()
                + self.stack.capacity()
                + self.memo.capacity())
                * 4
    }
}

thread_local! {
    static SPARE: RefCell<Buffers> = RefCell::new(Buffers::default());
}

/// This thread's spare buffers (empty ones when there are none).
pub(super) fn take() -> Buffers {
    SPARE
        .try_with(|s| {
            s.try_borrow_mut()
                .map(|mut s| std::mem::take(&mut *s))
                .unwrap_or_default()
        })
        .unwrap_or_default()
}

/// Keeps `b`'s vectors for this thread's next view (emptied), each where it has more
/// room than the spare one, as long as all the spare buffers together stay under
/// [`KEEP_BYTES`].
pub(super) fn give_back(b: Buffers) {
    let _ = SPARE.try_with(|s| {
        let Ok(mut s) = s.try_borrow_mut() else {
            return;
        };
        keep(&mut s.nodes, b.nodes);
        keep(&mut s.links, b.links);
        keep(&mut s.heights, b.heights);
        keep(&mut s.stack, b.stack);
        keep(&mut s.memo, b.memo);
        if s.bytes() > KEEP_BYTES {
            *s = Buffers::default();
        }
    });
}

/// Keeps the roomier of `spare` and `v`, emptied.
fn keep<T>(spare: &mut Vec<T>, mut v: Vec<T>) {
    if v.capacity() > spare.capacity() {
        v.clear();
        *spare = v;
    }
}
