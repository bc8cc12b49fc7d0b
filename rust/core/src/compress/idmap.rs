//! A compact map from message id strings to store keys: 8 bytes per id instead of the 80+ a
//! hash map of owned strings costs, which is what lets a million compressed messages stay small.
//!
//! Ids are reduced to a 32-bit hash. Most entries live in sorted parallel arrays (binary
//! search); new ones go to a small hash map that is merged in once it grows. A hash that is
//! already taken by another id sends the newcomer to an overflow map of full strings, so two
//! ids never share an entry; an id that was never stored may still meet another's hash, so
//! callers confirm every hit by comparing the id stored with the message.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

const REMOVED: u32 = u32::MAX;
/// New entries the hash map gathers before they are merged into the sorted arrays (or an
/// eighth of those, when more): small, so that a small store does not keep a map of thousands
/// of slots beside a few hundred ids, while merges stay amortised over n / 8 inserts.
const MERGE_MIN: usize = 256;

/// Maps id strings to `u32` keys (see the module docs for the layout).
#[derive(Default)]
pub struct IdMap {
    hashes: Vec<u32>,
    keys: Vec<u32>,
    removed_in_sorted: usize,
    recent: HashMap<u32, u32>,
    overflow: HashMap<Box<str>, u32>,
}

fn hash_id(id: &str) -> u32 {
    // SipHash with fixed keys: stable across runs, and well mixed for ids that share prefixes.
    let mut h = DefaultHasher::new();
    id.hash(&mut h);
    (h.finish() >> 32) as u32
}

impl IdMap {
    /// The key stored for `id`, if any (confirm it against the message's own id).
    pub fn get(&self, id: &str) -> Option<u32> {
        if let Some(&k) = self.overflow.get(id) {
            return Some(k);
        }
        self.get_hash(hash_id(id))
    }

    fn get_hash(&self, h: u32) -> Option<u32> {
        if let Some(&k) = self.recent.get(&h) {
            return Some(k);
        }
        let i = self.hashes.binary_search(&h).ok()?;
        Some(self.keys[i]).filter(|&k| k != REMOVED)
    }

    /// Records `id -> key`. An id whose hash is taken goes to the overflow map.
    pub fn insert(&mut self, id: &str, key: u32) {
        let h = hash_id(id);
        if self.get_hash(h).is_some() {
            self.overflow.insert(id.into(), key);
            return;
        }
        self.recent.insert(h, key);
        if self.recent.len() > MERGE_MIN.max(self.hashes.len() / 8) {
            self.merge();
        }
    }

    /// Forgets `id` if it maps to `key`; returns whether it did.
    pub fn remove(&mut self, id: &str, key: u32) -> bool {
        if self.overflow.get(id) == Some(&key) {
            self.overflow.remove(id);
            return true;
        }
        let h = hash_id(id);
        if self.recent.get(&h) == Some(&key) {
            self.recent.remove(&h);
            return true;
        }
        if let Ok(i) = self.hashes.binary_search(&h) {
            if self.keys[i] == key {
                self.keys[i] = REMOVED;
                self.removed_in_sorted += 1;
                return true;
            }
        }
        false
    }

    fn merge(&mut self) {
        let mut fresh: Vec<(u32, u32)> = self.recent.drain().collect();
        // The map's table would otherwise stay at the size it grew to, held empty.
        self.recent.shrink_to_fit();
        fresh.sort_unstable();
        let n = self.hashes.len() - self.removed_in_sorted + fresh.len();
        let (mut hashes, mut keys) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let mut old = self.hashes.iter().zip(&self.keys).filter(|(_, &k)| k != REMOVED).peekable();
        let mut new = fresh.into_iter().peekable();
        loop {
            let take_old = match (old.peek(), new.peek()) {
                (Some((&ho, _)), Some(&(hn, _))) => ho < hn,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let (h, k) = if take_old { old.next().map(|(&h, &k)| (h, k)) } else { new.next() }
                .expect("peeked");
            hashes.push(h);
            keys.push(k);
        }
        self.hashes = hashes;
        self.keys = keys;
        self.removed_in_sorted = 0;
    }

    /// Live entries.
    pub fn len(&self) -> usize {
        self.hashes.len() - self.removed_in_sorted + self.recent.len() + self.overflow.len()
    }

    /// Whether no id is mapped.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held, counting allocated capacity and hash-map control bytes.
    pub fn memory_usage_bytes(&self) -> usize {
        let map_slot = |entry: usize, cap: usize| cap * (entry + 1) * 8 / 7;
        self.hashes.capacity() * 4
            + self.keys.capacity() * 4
            + map_slot(8, self.recent.capacity())
            + map_slot(24, self.overflow.capacity())
            + self.overflow.keys().map(|k| k.len()).sum::<usize>()
    }
}

/// Two distinct ids with the same 32-bit hash (found by a birthday search), for tests.
#[cfg(test)]
pub(crate) fn colliding_ids() -> (String, String) {
    let mut seen = HashMap::new();
    for i in 0u64.. {
        let id = format!("{i:024x}");
        if let Some(other) = seen.insert(hash_id(&id), id.clone()) {
            return (other, id);
        }
    }
    unreachable!("u64 ids outnumber u32 hashes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_collisions_keep_both_ids_apart() {
        let (a, b) = colliding_ids();
        assert_eq!(hash_id(&a), hash_id(&b));
        let mut m = IdMap::default();
        m.insert(&a, 1);
        assert_eq!(m.get(&b), Some(1), "a false hit that callers must confirm");
        m.insert(&b, 2);
        assert_eq!((m.get(&a), m.get(&b)), (Some(1), Some(2)));
        assert!(m.remove(&a, 1));
        assert_eq!((m.get(&a), m.get(&b)), (None, Some(2)));
    }

    #[test]
    fn inserts_merges_and_removes() {
        let mut m = IdMap::default();
        for i in 0..20_000u32 {
            m.insert(&format!("id-{i}"), i);
        }
        assert_eq!(m.len(), 20_000);
        assert!(!m.hashes.is_empty(), "merged into the sorted arrays");
        for i in (0..20_000u32).step_by(7) {
            assert_eq!(m.get(&format!("id-{i}")), Some(i));
        }
        assert_eq!(m.get("nope"), None);
        assert!(m.remove("id-3", 3));
        assert!(!m.remove("id-3", 3));
        assert!(!m.remove("id-4", 99), "wrong key leaves the entry");
        assert_eq!(m.get("id-3"), None);
        assert_eq!(m.get("id-4"), Some(4));
        m.insert("id-3", 77);
        assert_eq!(m.get("id-3"), Some(77));
        assert!(m.memory_usage_bytes() < 20_000 * 16);
    }

    #[test]
    fn a_small_map_holds_about_its_entries() {
        let mut m = IdMap::default();
        for i in 0..400u32 {
            m.insert(&format!("id-{i}"), i);
        }
        // 8 bytes per id in the sorted arrays, plus the unmerged rest in a small hash map (a
        // map of 4,096 entries once sat beside a few hundred ids).
        assert!(m.memory_usage_bytes() <= 400 * 8 + 3 * 1024, "{}", m.memory_usage_bytes());
        for i in 0..400u32 {
            assert_eq!(m.get(&format!("id-{i}")), Some(i));
        }
    }

    #[test]
    fn colliding_hashes_go_to_the_overflow() {
        let mut m = IdMap::default();
        m.insert("a", 1);
        // Simulate a collision: the same hash already present under another key.
        let h = hash_id("b");
        m.recent.insert(h, 5);
        m.insert("b", 2);
        assert_eq!(m.get("b"), Some(2));
        assert!(m.remove("b", 2));
        assert_eq!(m.get("b"), Some(5), "the other owner of the hash is untouched");
    }
}
