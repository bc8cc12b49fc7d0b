//! Slot storage: node blocks (code, header, level-0 links), upper-level links, per-node write
//! locks, visited sets.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use super::quant::{encode_i8, encode_residual};
use super::{HnswIndex, Metric, NONE};
use crate::error::{Error, Result};

/// Bit 31 of a node's level-0 count word: the node's write lock.
pub(super) const LOCK: u32 = 1 << 31;
/// Words in a cache line.
pub(super) const LINE_WORDS: usize = 16;

/// One cache line of node-block words; blocks are whole lines, so every code starts aligned.
#[repr(C, align(64))]
pub(super) struct Line(pub [AtomicU32; LINE_WORDS]);

impl Line {
    pub(super) fn zeroed() -> Self {
        Line(std::array::from_fn(|_| AtomicU32::new(0)))
    }
}

/// The words of `lines`, in order.
#[inline(always)]
pub(super) fn words(lines: &[Line]) -> &[AtomicU32] {
    // SAFETY: `Line` is `repr(C)` around `[AtomicU32; LINE_WORDS]` (its alignment adds no
    // padding, 64 bytes being 16 words), so the lines are that many words laid end to end.
    unsafe {
        std::slice::from_raw_parts(lines.as_ptr().cast::<AtomicU32>(), lines.len() * LINE_WORDS)
    }
}

/// The bytes of a code, stored in `w` in native byte order (see [`HnswIndex::write_code`]).
#[inline(always)]
pub(super) fn bytes_of(w: &[AtomicU32]) -> &[i8] {
    // SAFETY: the slice covers exactly the words' bytes. Code words are only written through
    // `&mut HnswIndex` (while a slot is claimed), never while a shared borrow such as this one
    // can exist, so reading them as plain bytes races with nothing.
    unsafe { std::slice::from_raw_parts(w.as_ptr().cast::<i8>(), w.len() * 4) }
}

/// Asks Linux to back `v`'s whole buffer, spare capacity included, with 2 MiB pages where the
/// system leaves that to the program (transparent huge pages in `madvise` mode, the usual
/// default). A graph step reads a few lines of a random node: over 4 KiB pages nearly every
/// one also misses the TLB. Pages already touched stay as they are until the kernel merges
/// them; the advice only changes how memory is mapped, never what it holds.
pub(super) fn advise_huge_pages<T>(v: &Vec<T>) {
    #[cfg(target_os = "linux")]
    if let Some((at, len)) = huge_range(v.as_ptr() as usize, v.capacity() * size_of::<T>()) {
        // SAFETY: the range lies inside `v`'s allocation, and MADV_HUGEPAGE is advice that
        // leaves contents and validity alone. A refusal (THP off) is harmless.
        unsafe { libc::madvise(at as *mut libc::c_void, len, libc::MADV_HUGEPAGE) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

/// The whole 2 MiB pages inside `bytes` bytes from `start`: (first address, length).
pub(super) fn huge_range(start: usize, bytes: usize) -> Option<(usize, usize)> {
    const HUGE: usize = 2 << 20;
    let lo = start.checked_next_multiple_of(HUGE)?;
    let hi = start.checked_add(bytes)? / HUGE * HUGE;
    (hi > lo).then(|| (lo, hi - lo))
}

/// Holds a node's write lock until dropped.
pub(super) struct NodeGuard<'a> {
    word: &'a AtomicU32,
}

impl Drop for NodeGuard<'_> {
    fn drop(&mut self) {
        self.word.fetch_and(!LOCK, Ordering::Release);
    }
}

impl HnswIndex {
    /// Word offset of the level-0 count word in a node block.
    #[inline(always)]
    pub(super) fn links_at(&self) -> usize {
        self.code_len / 4 + 2
    }

    /// The neighbour list of `slot` on `level`: a count word, then the neighbours.
    #[inline(always)]
    pub(super) fn list(&self, slot: u32, level: usize) -> &[AtomicU32] {
        if level == 0 {
            let at = slot as usize * self.block + self.links_at();
            &self.words()[at..at + 1 + self.m0]
        } else {
            let at = self.upper_at[slot as usize] as usize + (level - 1) * (1 + self.m);
            &self.upper[at..at + 1 + self.m]
        }
    }

    /// The current links of `slot` on `level`. Lock-free: a list being rewritten may be seen
    /// half old, half new, and every entry either way is a valid node.
    #[inline]
    fn links(&self, slot: u32, level: usize) -> &[AtomicU32] {
        // A reused slot may sit lower than stale links from its previous life suggest.
        if level > 0 && level > self.levels[slot as usize] as usize {
            return &[];
        }
        let list = self.list(slot, level);
        let n = ((list[0].load(Ordering::Acquire) & !LOCK) as usize).min(list.len() - 1);
        &list[1..1 + n]
    }

    /// Copies the neighbours of `slot` on `level` into `out`.
    #[inline]
    pub(super) fn neighbours(&self, slot: u32, level: usize, out: &mut Vec<u32>) {
        out.clear();
        out.extend(self.links(slot, level).iter().map(|a| a.load(Ordering::Relaxed)));
    }

    /// Sets `out` to the neighbours of `slot` on `level` that `visited` has not seen, and marks
    /// them: one pass over the list instead of a copy and then a filter.
    #[inline]
    pub(super) fn unvisited_neighbours(
        &self,
        slot: u32,
        level: usize,
        visited: &mut Visited,
        out: &mut Vec<u32>,
    ) {
        out.clear();
        visited.mark_new(self.links(slot, level), out);
    }

    /// Takes the write lock of `slot` (all its levels).
    pub(super) fn lock(&self, slot: u32) -> NodeGuard<'_> {
        let word = &self.words()[slot as usize * self.block + self.links_at()];
        let mut spins = 0u32;
        loop {
            let cur = word.load(Ordering::Relaxed);
            if cur & LOCK == 0
                && word
                    .compare_exchange_weak(cur, cur | LOCK, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                return NodeGuard { word };
            }
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }

    /// Rewrites the neighbours of `slot` on `level`; the caller holds the node's lock.
    pub(super) fn write_list(&self, slot: u32, level: usize, items: &[u32]) {
        let list = self.list(slot, level);
        for (cell, v) in list[1..].iter().zip(items) {
            cell.store(*v, Ordering::Relaxed);
        }
        let count = items.len().min(list.len() - 1) as u32;
        // Level 0's count word carries the lock bit, which stays set until the guard drops.
        let lock = if level == 0 { LOCK } else { 0 };
        list[0].store(count | lock, Ordering::Release);
    }

    /// Advises 2 MiB pages for the buffers a search reads at random: node blocks and residuals.
    fn advise_walk_buffers(&self) {
        advise_huge_pages(&self.nodes);
        advise_huge_pages(&self.residuals);
    }

    /// Makes room for `n` more slots without over-allocating.
    pub(super) fn reserve_exact(&mut self, n: usize) {
        self.nodes.reserve_exact(n * self.block / LINE_WORDS);
        self.residuals.reserve_exact(n * self.stride);
        self.advise_walk_buffers();
        self.levels.reserve_exact(n);
        self.upper_at.reserve_exact(n);
        self.ids.reserve_exact(n);
        self.deleted.reserve_exact(n);
        self.slot_of.reserve(n);
    }

    /// Claims a slot for a new vector: a freed one (never the entry point) or a fresh one.
    /// Writes its vector and empty lists on level 0 ([`HnswIndex::lift`] raises it); the
    /// graph links come later.
    pub(super) fn claim_slot(&mut self, id: u64, row: &[f32]) -> Result<u32> {
        let entry = self.entry.get_mut().map(|e| e.node).unwrap_or(NONE);
        let reuse = self.free.iter().rposition(|s| *s != entry).map(|i| self.free.swap_remove(i));
        let slot = match reuse {
            Some(s) => s,
            None => {
                let s = u32::try_from(self.ids.len())
                    .ok()
                    .filter(|s| *s < NONE)
                    .ok_or_else(|| Error::invalid("the index is full (2^32 - 1 slots)"))?;
                let room = (self.nodes.capacity(), self.residuals.capacity());
                self.nodes.extend((0..self.block / LINE_WORDS).map(|_| Line::zeroed()));
                self.residuals.resize(self.residuals.len() + self.stride, 0);
                if room != (self.nodes.capacity(), self.residuals.capacity()) {
                    self.advise_walk_buffers();
                }
                self.levels.push(0);
                self.upper_at.push(NONE);
                self.ids.push(0);
                self.deleted.push(false);
                s
            }
        };
        let i = slot as usize;
        self.encode(row, i);
        self.levels[i] = 0;
        let at = i * self.block + self.links_at();
        self.words()[at].store(0, Ordering::Relaxed);
        self.upper_at[i] = NONE;
        self.ids[i] = id;
        self.deleted[i] = false;
        self.slot_of.insert(id, slot);
        Ok(slot)
    }

    /// Gives a claimed slot (on level 0) its `level` and empty upper lists.
    pub(super) fn lift(&mut self, slot: u32, level: usize) -> Result<()> {
        if level == 0 {
            return Ok(());
        }
        let at = u32::try_from(self.upper.len())
            .ok()
            .filter(|a| (*a as usize) + level * (1 + self.m) < NONE as usize)
            .ok_or_else(|| Error::invalid("the index is full (upper links)"))?;
        self.upper.extend((0..level * (1 + self.m)).map(|_| AtomicU32::new(0)));
        self.upper_at[slot as usize] = at;
        self.levels[slot as usize] = level as u8;
        Ok(())
    }

    /// Stores `row` in slot `i`: its int8 code with header, and its residual. Under cosine the
    /// row is normalised first.
    fn encode(&mut self, row: &[f32], i: usize) {
        let mut x = row.to_vec();
        if self.metric == Metric::Cosine {
            let norm = row.iter().map(|v| f64::from(*v) * f64::from(*v)).sum::<f64>().sqrt();
            let inv = (1.0 / norm) as f32;
            x.iter_mut().for_each(|v| *v *= inv);
        }
        let mut code = vec![0i8; self.code_len];
        let head = encode_i8(&x, &mut code);
        let res = &mut self.residuals[i * self.stride..(i + 1) * self.stride];
        encode_residual(&x, &code, head, res);
        self.write_code(i as u32, &code, head.scale, head.norm2);
    }

    /// Writes a code and its header into the block of `slot`. The code's bytes go into words in
    /// native byte order, so that [`super::storage::bytes_of`] reads them back in order.
    pub(super) fn write_code(&mut self, slot: u32, code: &[i8], scale: f32, norm2: f32) {
        let at = slot as usize * self.block;
        let w = &self.words()[at..at + self.code_len / 4 + 2];
        for (cell, c) in w.iter().zip(code.chunks_exact(4)) {
            cell.store(
                u32::from_ne_bytes([c[0] as u8, c[1] as u8, c[2] as u8, c[3] as u8]),
                Ordering::Relaxed,
            );
        }
        w[self.code_len / 4].store(scale.to_bits(), Ordering::Relaxed);
        w[self.code_len / 4 + 1].store(norm2.to_bits(), Ordering::Relaxed);
    }

    /// Draws a level from the exponential distribution with rate `ln(M)`.
    pub(super) fn draw_level(&mut self) -> usize {
        // splitmix64: small, fast and reproducible across platforms.
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let u = ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let level = -u.ln() / (self.m as f64).ln();
        (level as usize).min(super::MAX_LEVEL)
    }

    /// Slot count (live and tombstoned).
    pub(super) fn slots(&self) -> usize {
        self.ids.len()
    }
}

/// Nodes seen by one search: a generation stamp per slot, so clearing is O(1).
pub(super) struct Visited {
    marks: Vec<u16>,
    stamp: u16,
}

impl Visited {
    /// Forgets every mark (O(1) but for a rare full wipe).
    pub(super) fn clear(&mut self, slots: usize) {
        self.reset(slots);
    }

    fn reset(&mut self, slots: usize) {
        if self.marks.len() < slots {
            self.marks.resize(slots, 0);
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.marks.fill(0);
            self.stamp = 1;
        }
    }

    /// Appends the slots of `list` not marked yet to `out`, marking them. The stamp and the
    /// marks stay in registers across the loop (`insert` in a loop reloaded both each time).
    #[inline]
    fn mark_new(&mut self, list: &[AtomicU32], out: &mut Vec<u32>) {
        out.reserve(list.len());
        let stamp = self.stamp;
        let marks = &mut self.marks[..];
        for a in list {
            let s = a.load(Ordering::Relaxed);
            let m = &mut marks[s as usize];
            if *m != stamp {
                *m = stamp;
                out.push(s);
            }
        }
    }

    /// Marks `slot`; true when it was not marked before.
    #[inline]
    pub(super) fn insert(&mut self, slot: u32) -> bool {
        let m = &mut self.marks[slot as usize];
        if *m == self.stamp {
            false
        } else {
            *m = self.stamp;
            true
        }
    }
}

/// Visited sets reused across searches, one per concurrent search.
#[derive(Default)]
pub(super) struct VisitedPool {
    free: Mutex<Vec<Visited>>,
}

impl VisitedPool {
    pub(super) fn take(&self, slots: usize) -> Visited {
        let got = self.free.lock().ok().and_then(|mut f| f.pop());
        let mut v = got.unwrap_or(Visited { marks: Vec::new(), stamp: 0 });
        v.reset(slots);
        v
    }

    pub(super) fn give(&self, v: Visited) {
        if let Ok(mut f) = self.free.lock() {
            f.push(v);
        }
    }
}
