//! Where each key's message lives: `block << 8 | slot`, in a table indexed by key.
//!
//! The table is allocated in pages on first use, kept in a map by page number, so that keys stay
//! cheap when dense (4 bytes each, as in a flat array) and a single large key costs one page
//! instead of a table reaching up to it (a key near 2^32 once meant a 16 GiB array).

use rustc_hash::FxHashMap;

/// Keys per page: 256 (a 1 KiB page) keeps a small memory small (a 16 KiB page was a quarter
/// of a 400-message conversation's footprint); the page table's slot per page costs 2%.
const PAGE_BITS: u32 = 8;
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
    pages: FxHashMap<u32, Box<Page>>,
}

fn split(key: u32) -> (u32, usize) {
    (key >> PAGE_BITS, key as usize & (PAGE_LEN - 1))
}

impl Locations {
    /// The location of `key`, if it has one.
    pub(super) fn get(&self, key: u32) -> Option<u32> {
        let (page, at) = split(key);
        let loc = *self.pages.get(&page)?.get(at)?;
        (loc != NOWHERE).then_some(loc)
    }

    /// Points `key` at `loc` (which must not be [`NOWHERE`]: blocks stop below 2^24).
    pub(super) fn set(&mut self, key: u32, loc: u32) {
        let (page, at) = split(key);
        let entries = self.pages.entry(page).or_insert_with(|| Box::new([NOWHERE; PAGE_LEN]));
        if let Some(e) = entries.get_mut(at) {
            *e = loc;
        }
    }

    /// Forgets where `key` was.
    pub(super) fn clear(&mut self, key: u32) {
        let (page, at) = split(key);
        if let Some(e) = self.pages.get_mut(&page).and_then(|p| p.get_mut(at)) {
            *e = NOWHERE;
        }
    }

    /// Bytes held by the pages and the page table.
    pub(super) fn memory_usage_bytes(&self) -> usize {
        self.pages.len() * PAGE_LEN * 4 + self.pages.capacity() * (16 + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_hundred_keys_cost_a_few_kib() {
        let mut l = Locations::default();
        for k in 0..400u32 {
            l.set(k, location(k / 32, (k % 32) as usize));
        }
        // Two 1 KiB pages (a 16 KiB page once made this a quarter of a conversation's footprint).
        assert!(l.memory_usage_bytes() <= 400 * 4 + 1024 + 256, "{}", l.memory_usage_bytes());
    }

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
        // One more page, not a 16 GiB table.
        assert!(l.memory_usage_bytes() < small + (64 << 10), "{}", l.memory_usage_bytes());
        l.clear(5);
        assert_eq!(l.get(5), None);
        l.clear(u32::MAX);
        assert_eq!(l.get(6), Some(location(0, 6)));
    }
}
