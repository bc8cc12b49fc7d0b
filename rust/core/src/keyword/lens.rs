//! Document lengths in one byte each (exact below 255, longer ones in a side table).
//!
//! Search reads a document's length for every candidate: a byte array is a quarter of the
//! cache footprint of `u32`s, and its value indexes a per-query table of BM25 length norms.

use rustc_hash::FxHashMap;

/// The byte that says "look the length up in the side table".
pub const LONG: u8 = u8::MAX;

/// Lengths (in terms) of every document ever added, by document number.
#[derive(Clone, Debug, Default)]
pub struct DocLens {
    small: Vec<u8>,
    long: FxHashMap<u32, u32>,
}

impl DocLens {
    /// Appends the length of the next document.
    pub fn push(&mut self, len: u32) {
        if len < LONG as u32 {
            self.small.push(len as u8);
        } else {
            self.long.insert(self.small.len() as u32, len);
            self.small.push(LONG);
        }
    }

    /// The length of `doc`.
    #[inline]
    pub fn get(&self, doc: u32) -> u32 {
        match self.small[doc as usize] {
            LONG => self.long.get(&doc).copied().unwrap_or(LONG as u32),
            short => short as u32,
        }
    }

    /// The byte code of `doc`: its length, or [`LONG`].
    #[inline]
    pub fn code(&self, doc: u32) -> u8 {
        self.small[doc as usize]
    }

    /// Documents held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.small.len()
    }

    /// Every length, in document order.
    #[cfg(test)]
    pub fn to_vec(&self) -> Vec<u32> {
        (0..self.small.len() as u32).map(|d| self.get(d)).collect()
    }

    /// Releases spare capacity.
    pub fn shrink_to_fit(&mut self) {
        self.small.shrink_to_fit();
        self.long.shrink_to_fit();
    }

    /// Makes room for `extra` more lengths (see [`super::reserve_gently`]).
    pub fn reserve(&mut self, extra: usize) {
        super::reserve_gently(&mut self.small, extra);
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.small.capacity() + self.long.capacity() * 9
    }
}

impl FromIterator<u32> for DocLens {
    fn from_iter<I: IntoIterator<Item = u32>>(iter: I) -> Self {
        let mut lens = DocLens::default();
        for len in iter {
            lens.push(len);
        }
        lens
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_lengths_round_trip() {
        let all = [0, 1, 254, 255, 256, 70_000, 3];
        let lens: DocLens = all.iter().copied().collect();
        assert_eq!(lens.to_vec(), all);
        assert_eq!(lens.len(), 7);
        assert_eq!((lens.code(2), lens.code(3), lens.code(4)), (254, LONG, LONG));
    }
}
