//! Byte-pair merging of one pre-token piece, with tiktoken's exact rule: repeatedly merge the
//! adjacent pair whose bytes have the lowest rank, the leftmost one on ties.
//!
//! Short pieces use tiktoken's own quadratic scan (fastest for the few bytes of a word); long
//! ones (minified code, base64) a heap over a linked list, which makes the same choices in
//! O(n log n), so a megabyte without a space cannot stall a count.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::vocab::{pack, Vocab, PACKED_MAX};

/// Pieces at least this long use the heap.
const LONG_PIECE: usize = 256;
const NONE: u32 = u32::MAX;

/// Slots of the [`Merger`]'s cache of recent pieces (a power of two): 1 MiB per thread and
/// encoding. LoCoMo's turns hold more distinct pieces than 4,096 slots kept (per-call o200k
/// counts: 0.99 -> 0.85 us with 65,536; the slot index also used only 12 hash bits before).
const CACHE_SLOTS: usize = 65536;
/// Where a cache entry keeps its count: above the length that [`pack`] puts in the top byte.
const COUNT_SHIFT: u32 = 124;
const COUNT_BITS: u128 = 0xF << COUNT_SHIFT;

/// Scratch space reused across pieces, so that merging allocates only when a piece is longer
/// than any before it, and a cache of the counts of recent short pieces.
pub(crate) struct Merger {
    /// Recently counted pieces, direct-mapped: the packed key, with the piece's token count in
    /// the top four bits (a piece of at most 15 bytes has at most 15 tokens), so that a lookup
    /// reads one entry (0: empty; only the empty piece packs to 0, and it has 0 tokens). The
    /// vocabulary's hash table is megabytes and every lookup misses the CPU cache; chat repeats
    /// the same tens of thousands of pieces, and this table keeps them close.
    cache: Vec<u128>,
    /// (start, rank of the pair starting here) per part, for the quadratic scan.
    parts: Vec<(usize, u32)>,
    next: Vec<u32>,
    prev: Vec<u32>,
    heap: BinaryHeap<Reverse<(u32, u32)>>,
}

impl Merger {
    /// Empty scratch space and cache.
    pub(crate) fn new() -> Merger {
        Merger {
            cache: vec![0; CACHE_SLOTS],
            parts: Vec::new(),
            next: Vec::new(),
            prev: Vec::new(),
            heap: BinaryHeap::new(),
        }
    }

    /// Number of tokens `piece` encodes to.
    #[inline]
    pub(crate) fn count(&mut self, vocab: &Vocab, piece: &[u8]) -> usize {
        if piece.len() > PACKED_MAX {
            return self.count_uncached(vocab, piece);
        }
        let key = pack(piece);
        let mixed = (key as u64 ^ (key >> 64) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let slot = (mixed >> (64 - CACHE_SLOTS.trailing_zeros())) as usize;
        if let Some(entry) = self.cache.get(slot).filter(|e| **e & !COUNT_BITS == key) {
            return (entry >> COUNT_SHIFT) as usize;
        }
        let n = self.count_uncached(vocab, piece);
        if let Some(entry) = self.cache.get_mut(slot) {
            *entry = key | (n as u128) << COUNT_SHIFT;
        }
        n
    }

    fn count_uncached(&mut self, vocab: &Vocab, piece: &[u8]) -> usize {
        if piece.len() <= 1 || vocab.rank(piece).is_some() {
            return piece.len().min(1);
        }
        self.boundaries(vocab, piece).len() - 1
    }

    /// Appends the ranks of the tokens `piece` encodes to.
    pub(crate) fn encode(&mut self, vocab: &Vocab, piece: &[u8], out: &mut Vec<u32>) {
        if piece.is_empty() {
            return;
        }
        if let Some(rank) = vocab.rank(piece) {
            out.push(rank);
            return;
        }
        let bounds = self.boundaries(vocab, piece);
        for w in bounds.windows(2) {
            // Every part is a token: merging only ever joins pairs that are in the vocabulary,
            // and every single byte is one (checked when the vocabulary loads).
            out.extend(vocab.rank(&piece[w[0]..w[1]]));
        }
    }

    /// Start offsets of the final parts, followed by `piece.len()`.
    fn boundaries(&mut self, vocab: &Vocab, piece: &[u8]) -> Vec<usize> {
        if piece.len() < 2 {
            return if piece.is_empty() { vec![0] } else { vec![0, 1] };
        }
        if piece.len() < LONG_PIECE {
            self.merge_short(vocab, piece);
            self.parts.iter().map(|&(start, _)| start).collect()
        } else {
            self.merge_long(vocab, piece)
        }
    }

    /// tiktoken's `_byte_pair_merge`: O(n * merges), cache-friendly for short pieces.
    fn merge_short(&mut self, vocab: &Vocab, piece: &[u8]) {
        let rank_of = |bytes: &[u8]| vocab.rank(bytes).unwrap_or(NONE);
        let parts = &mut self.parts;
        parts.clear();
        let mut min = (NONE, usize::MAX);
        for (i, pair) in piece.windows(2).enumerate() {
            let rank = vocab.pair_rank(pair[0], pair[1]);
            if rank < min.0 {
                min = (rank, i);
            }
            parts.push((i, rank));
        }
        parts.push((piece.len() - 1, NONE));
        parts.push((piece.len(), NONE));
        // The rank of the pair that part `i` would form with its neighbour after the neighbour
        // at `i + 1` is merged away.
        let pair_after_merge = |parts: &[(usize, u32)], i: usize| {
            if i + 3 < parts.len() {
                rank_of(&piece[parts[i].0..parts[i + 3].0])
            } else {
                NONE
            }
        };
        while min.0 != NONE {
            let i = min.1;
            if i > 0 {
                parts[i - 1].1 = pair_after_merge(parts, i - 1);
            }
            parts[i].1 = pair_after_merge(parts, i);
            parts.remove(i + 1);
            min = (NONE, usize::MAX);
            for (j, &(_, rank)) in parts[..parts.len() - 1].iter().enumerate() {
                if rank < min.0 {
                    min = (rank, j);
                }
            }
        }
        // The last entry is the end sentinel; the one before it, the last part.
        debug_assert_eq!(parts.last().map(|p| p.0), Some(piece.len()));
    }

    /// The same merges through a min-heap of (rank, start) over a linked list of parts.
    fn merge_long(&mut self, vocab: &Vocab, piece: &[u8]) -> Vec<usize> {
        let n = piece.len();
        self.next.clear();
        self.next.extend((1..=n as u32).chain([NONE]));
        self.prev.clear();
        self.prev.extend([NONE].into_iter().chain(0..n as u32));
        self.heap.clear();
        let (next, prev, heap) = (&mut self.next, &mut self.prev, &mut self.heap);
        // A part is named by its start offset and ends where the next live part starts; offset
        // `n` is the end sentinel. The pair of part `i` spans it and the part after it.
        let pair_rank = |next: &[u32], i: u32| -> u32 {
            let j = next[i as usize];
            if j == NONE || j as usize >= n {
                return NONE;
            }
            let end = (next[j as usize] as usize).min(n);
            vocab.rank(&piece[i as usize..end]).unwrap_or(NONE)
        };
        for i in 0..n as u32 {
            let r = pair_rank(next, i);
            if r != NONE {
                heap.push(Reverse((r, i)));
            }
        }
        let mut alive = vec![true; n];
        while let Some(Reverse((rank, i))) = heap.pop() {
            // Entries go stale when their part was merged away or its pair changed; a pair with
            // the same rank has the same bytes, so such an entry is still the right merge.
            if !alive[i as usize] || pair_rank(next, i) != rank {
                continue;
            }
            let j = next[i as usize];
            alive[j as usize] = false;
            let k = next[j as usize];
            next[i as usize] = k;
            if k != NONE {
                prev[k as usize] = i;
            }
            let r = pair_rank(next, i);
            if r != NONE {
                heap.push(Reverse((r, i)));
            }
            let p = prev[i as usize];
            if p != NONE {
                let r = pair_rank(next, p);
                if r != NONE {
                    heap.push(Reverse((r, p)));
                }
            }
        }
        let mut bounds = Vec::new();
        let mut i = 0u32;
        while i != NONE && (i as usize) < n {
            bounds.push(i as usize);
            i = next[i as usize];
        }
        bounds.push(n);
        bounds
    }
}

#[cfg(test)]
mod tests {
    use super::super::vocab::{Vocab, CL100K_BASE};
    use super::*;

    fn vocab() -> Vocab {
        Vocab::load("cl100k_base", CL100K_BASE).unwrap()
    }

    /// A small deterministic generator (no dev-dependency needed for one test).
    fn bytes(seed: u64, len: usize, alphabet: &[u8]) -> Vec<u8> {
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                alphabet[(x % alphabet.len() as u64) as usize]
            })
            .collect()
    }

    #[test]
    fn heap_and_scan_make_the_same_merges() {
        let v = vocab();
        let mut m = Merger::new();
        let alphabets: [&[u8]; 3] = [
            b"ab",
            b"abcdefghijklmnopqrstuvwxyz",
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123456789+/=",
        ];
        for seed in 0..300u64 {
            let alphabet = alphabets[(seed % 3) as usize];
            let piece = bytes(seed, 2 + (seed as usize * 7) % 240, alphabet);
            m.merge_short(&v, &piece);
            let short: Vec<usize> = m.parts.iter().map(|p| p.0).collect();
            let long = m.merge_long(&v, &piece);
            assert_eq!(short, long, "{:?}", String::from_utf8_lossy(&piece));
        }
    }

    #[test]
    fn known_pieces() {
        let v = vocab();
        let mut m = Merger::new();
        assert_eq!(m.count(&v, b""), 0);
        assert_eq!(m.count(&v, b"x"), 1);
        assert_eq!(m.count(&v, b" hello"), 1);
        let mut out = Vec::new();
        m.encode(&v, b" unbelievably", &mut out);
        assert!(out.len() > 1);
        let joined: Vec<u8> = out.iter().flat_map(|&r| v.token(r).unwrap().to_vec()).collect();
        assert_eq!(joined, b" unbelievably");
    }

    #[test]
    fn a_megabyte_piece_merges_quickly_and_round_trips() {
        let v = vocab();
        let mut m = Merger::new();
        let piece =
            bytes(7, 1 << 20, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
        let mut out = Vec::new();
        m.encode(&v, &piece, &mut out);
        let joined: Vec<u8> = out.iter().flat_map(|&r| v.token(r).unwrap().to_vec()).collect();
        assert_eq!(joined, piece);
        assert_eq!(m.count(&v, &piece), out.len());
    }
}
