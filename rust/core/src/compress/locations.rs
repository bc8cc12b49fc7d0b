//! Where each key's message lives: `block << 8 | slot`, in a table indexed by key.
//!
//! The table is allocated in pages on first use, so that keys stay cheap when dense (4 bytes
//! each, as in a flat array) and a single large key costs one page instead of a table reaching
//! up to it (a key near 2^32 once meant a 16 GiB array).

/// Keys per page: 4096 (a 16 KiB page) keeps a small memory small, and the page table for keys
/// up to 2^32 at 2^20 pointers (8 MiB).
const PAGE_BITS: u32 = 12;
const PAGE_LEN: usize = 1 << PAGE_BITS;
type Page = [u32; PAGE_LEN];
/// The mark of a key with no message.
const NOWHERE: u32 = u32::MAX;

/// The location of a message: its block and its slot in that block.
pub(super) fn location(block: u32, slot: usize) -> u32 {
    block << 8 | (slot as u32 & 0xFF)
}

/// Key -> location, in pages of [`PAGE_LEN`] entries allocated on first use.
#[derive(Default)]
pub(super) struct Locations {
    pages: Vec<Option<Box<Page>>>,
}

fn split(key: u32) -> (usize, usize) {
    ((key >> PAGE_BITS) as usize, key as usize & (PAGE_LEN - 1))
}

impl Locations {
    /// The location of `key`, if it has one.
    pub(super) fn get(&self, key: u32) -> Option<u32> {
        let (page, at) = split(key);
        let loc = *self.pages.get(page)?.as_ref()?.get(at)?;
        (loc != NOWHERE).then_some(loc)
    }

    /// Points `key` at `loc` (which must not be [`NOWHERE`]: blocks stop below 2^24).
    pub(super) fn set(&mut self, key: u32, loc: u32) {
        let (page, at) = split(key);
        if page >= self.pages.len() {
            self.pages.resize_with(page + 1, || None);
        }
        if let Some(slot) = self.pages.get_mut(page) {
            let entries = slot.get_or_insert_with(|| Box::new([NOWHERE; PAGE_LEN]));
            if let Some(e) = entries.get_mut(at) {
                *e = loc;
            }
        }
    }

    /// Forgets where `key` was.
    pub(super) fn clear(&mut self, key: u32) {
        let (page, at) = split(key);
        if let Some(Some(entries)) = self.pages.get_mut(page) {
            if let Some(e) = entries.get_mut(at) {
                *e = NOWHERE;
            }
        }
    }

    /// Bytes held by the pages and the page table.
    pub(super) fn memory_usage_bytes(&self) -> usize {
        let pages = self.pages.iter().flatten().count();
        pages * PAGE_LEN * 4 + self.pages.capacity() * std::mem::size_of::<Option<Box<Page>>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_far_keys() {
        let mut l = Locations::default();
        for k in 0..100_000u32 {
            l.set(k, location(k / 32, (k % 32) as usize));
        }
        assert_eq!(l.get(99_999), Some(location(3124, 31)));
        assert_eq!(l.get(100_000), None);
        let small = l.memory_usage_bytes();
        l.set(u32::MAX - 1, location(7, 1));
        assert_eq!(l.get(u32::MAX - 1), Some(location(7, 1)));
        assert_eq!(l.get(u32::MAX), None);
        // One more page and a page table of 2^20 pointers, not a 16 GiB table.
        assert!(l.memory_usage_bytes() < small + (9 << 20), "{}", l.memory_usage_bytes());
        l.clear(5);
        assert_eq!(l.get(5), None);
        l.clear(u32::MAX);
        assert_eq!(l.get(6), Some(location(0, 6)));
    }
}
