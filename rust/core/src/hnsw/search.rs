//! Search: greedy descent through the upper levels, a beam of width `ef` on level 0, and exact
//! search over the allowed ids when a filter is narrow.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use rayon::prelude::*;

use super::distance::prefetch;
use super::filter::Filter;
use super::quant::Query;
use super::storage::Visited;
use super::{HnswIndex, NONE};
use crate::error::{Error, Result};

/// By default, an index whose vectors take at most this many bytes is searched exactly (as Qdrant's
/// `full_scan_threshold`): a scan that small costs well under a millisecond, and it cannot
/// miss an outlier that the graph's pruning left with no inbound link.
pub const FULL_SCAN_BYTES: usize = 4 << 20;
/// How many neighbours ahead of the distance computation their vectors are prefetched. Eight
/// (was two) keeps more misses in flight: alternated runs at 100k, 32.4 -> 30.6 us per query
/// at ef 16 and a 200k build 28.0 -> 26.1 s (sixteen measured the same as eight).
const PREFETCH_AHEAD: usize = 8;
/// How much of each vector is prefetched: the head only, the hardware streams the rest, and
/// asking for whole vectors would fill the line-fill buffers and stall.
const PREFETCH_BYTES: usize = 4096;
/// Below this many allowed vectors, a filtered search is exact.
pub const EXACT_MIN: usize = 2048;
/// Below this fraction of live vectors allowed, a filtered search is exact.
pub const EXACT_FRACTION: f64 = 0.02;

/// A candidate: distance and slot, ordered by distance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Cand {
    pub d: f32,
    pub s: u32,
}

impl Eq for Cand {}
impl PartialOrd for Cand {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Cand {
    fn cmp(&self, other: &Self) -> Ordering {
        self.d.total_cmp(&other.d).then(self.s.cmp(&other.s))
    }
}

impl HnswIndex {
    /// Moves `cur` downhill on `level` until no neighbour is nearer to `q`.
    pub(super) fn greedy(&self, q: &Query, cur: &mut Cand, level: usize, buf: &mut Vec<u32>) {
        loop {
            let mut moved = false;
            self.neighbours(cur.s, level, buf);
            for &nb in buf.iter() {
                prefetch(self.code(nb).as_ptr(), self.code_len);
            }
            for &nb in buf.iter() {
                let d = self.dist_code(q, nb);
                if d < cur.d {
                    *cur = Cand { d, s: nb };
                    moved = true;
                }
            }
            if !moved {
                return;
            }
        }
    }

    /// Beam search of width `ef` on `level` from `entry`; returns accepted nodes nearest first.
    /// Nodes that `accept` refuses still route the search but are never returned.
    pub(super) fn search_layer(
        &self,
        q: &Query,
        entry: &[Cand],
        ef: usize,
        level: usize,
        visited: &mut Visited,
        accept: &impl Fn(u32) -> bool,
    ) -> Vec<Cand> {
        let mut cands: BinaryHeap<Reverse<Cand>> = BinaryHeap::with_capacity(ef * 4);
        let mut best: BinaryHeap<Cand> = BinaryHeap::with_capacity(ef + 1);
        for c in entry {
            if visited.insert(c.s) {
                cands.push(Reverse(*c));
                if accept(c.s) {
                    best.push(*c);
                }
            }
        }
        while best.len() > ef {
            best.pop();
        }
        let mut fresh = Vec::with_capacity(self.m0);
        let vbytes = (self.code_len + 8).min(PREFETCH_BYTES);
        while let Some(Reverse(c)) = cands.pop() {
            if best.len() >= ef && best.peek().is_some_and(|w| c.d > w.d) {
                break;
            }
            self.unvisited_neighbours(c.s, level, visited, &mut fresh);
            // Ask for the first few fresh vectors at once, then one more per distance: the
            // misses then overlap instead of queueing behind one distance computation each.
            for &nb in fresh.iter().take(PREFETCH_AHEAD) {
                prefetch(self.code(nb).as_ptr(), vbytes);
            }
            for (i, &nb) in fresh.iter().enumerate() {
                if let Some(&ahead) = fresh.get(i + PREFETCH_AHEAD) {
                    prefetch(self.code(ahead).as_ptr(), vbytes);
                }
                let d = self.dist_code(q, nb);
                let full = best.len() >= ef;
                if !full || best.peek().is_some_and(|w| d < w.d) {
                    let cand = Cand { d, s: nb };
                    cands.push(Reverse(cand));
                    if level == 0 {
                        prefetch(self.list(nb, 0).as_ptr(), 4 * (1 + self.m0));
                    }
                    if accept(nb) {
                        if !full {
                            best.push(cand);
                        } else if let Some(mut worst) = best.peek_mut() {
                            // The new one replaces the farthest: one sift instead of a push
                            // and a pop.
                            *worst = cand;
                        }
                    }
                }
            }
        }
        // A sort of the array beats the heap's own sort, which sifts for every element.
        let mut found = best.into_vec();
        found.sort_unstable();
        found
    }

    /// The `k` nearest live vectors to one prepared query, nearest first.
    fn knn(&self, q: &Query, k: usize, ef: usize, filter: Option<&Filter>) -> Vec<Cand> {
        if let Some(slots) = filter.and_then(|f| f.exact_slots()) {
            return self.exact(q, k, slots.iter().copied());
        }
        if self.full_scan() {
            return self.exact(q, k, 0..self.slots() as u32);
        }
        let entry = match self.entry.lock() {
            Ok(e) => *e,
            Err(p) => *p.into_inner(),
        };
        if entry.node == NONE || self.is_empty() {
            return Vec::new();
        }
        let mut cur = Cand { d: self.dist_code(q, entry.node), s: entry.node };
        let mut buf = Vec::with_capacity(self.m0);
        for level in (1..=entry.level).rev() {
            self.greedy(q, &mut cur, level, &mut buf);
        }
        let mut visited = self.visited.take(self.slots());
        let deleted = &self.deleted;
        let dups = !self.dups.is_empty();
        let found = match filter {
            // A node outside the scope still stands for its aliases (graph nodes with aliases
            // are always live).
            Some(f) => self.search_layer(q, &[cur], ef.max(k), 0, &mut visited, &|s| {
                (!deleted[s as usize] && f.allows(s, &self.groups))
                    || (dups && !self.dups.aliases(s).is_empty())
            }),
            None => {
                self.search_layer(q, &[cur], ef.max(k), 0, &mut visited, &|s| !deleted[s as usize])
            }
        };
        self.visited.give(visited);
        let found = self.with_aliases(found, filter, ef.max(k));
        self.rerank(q, found, k)
    }

    /// True when the index is small enough to be searched exactly.
    pub(super) fn full_scan(&self) -> bool {
        self.slots() * self.stride * 2 <= self.full_scan_bytes
    }

    /// The walk's candidates re-ranked on code plus residual, `k` nearest first.
    fn rerank(&self, q: &Query, mut found: Vec<Cand>, k: usize) -> Vec<Cand> {
        let bytes = (self.stride * 2).min(PREFETCH_BYTES);
        for c in found.iter().take(PREFETCH_AHEAD) {
            prefetch(self.residual(c.s).as_ptr(), bytes);
        }
        for i in 0..found.len() {
            if let Some(ahead) = found.get(i + PREFETCH_AHEAD) {
                prefetch(self.residual(ahead.s).as_ptr(), bytes);
            }
            found[i].d = self.dist_exact(q, found[i].s);
        }
        found.sort_unstable();
        // An alias in a slot that a stale link still reaches may come twice (same distance).
        found.dedup_by_key(|c| c.s);
        found.truncate(k);
        found
    }

    /// Exact `k` nearest among `slots` (skipping tombstones).
    fn exact(&self, q: &Query, k: usize, slots: impl Iterator<Item = u32>) -> Vec<Cand> {
        let mut best: BinaryHeap<Cand> = BinaryHeap::with_capacity(k + 1);
        for s in slots {
            if self.deleted[s as usize] {
                continue;
            }
            let d = self.dist_exact(q, s);
            if best.len() < k || best.peek().is_some_and(|w| d < w.d) {
                best.push(Cand { d, s });
                if best.len() > k {
                    best.pop();
                }
            }
        }
        best.into_sorted_vec()
    }

    /// Checks `k` and `ef` and the queries; returns the ef to use.
    fn check_search(
        &self,
        queries: &[f32],
        rows: usize,
        k: usize,
        ef: Option<usize>,
    ) -> Result<usize> {
        if k == 0 {
            return Err(Error::invalid("k must be >= 1"));
        }
        if k > self.len() {
            return Err(Error::invalid(format!(
                "k={k} is larger than the number of vectors in the index ({})",
                self.len()
            )));
        }
        let ef = ef.unwrap_or(64).max(k);
        if ef > 100_000 {
            return Err(Error::invalid(format!("ef must be <= 100000, got {ef}")));
        }
        self.validate(queries, rows, "queries")?;
        Ok(ef)
    }

    /// The `k` nearest neighbours of each of `rows` queries (row-major `rows x dim`), searched
    /// in parallel. Returns ids and distances, `rows x k`, nearest first; a row with fewer
    /// than `k` results (a narrow filter) is padded with id `u64::MAX` and distance infinity.
    pub fn search(
        &self,
        queries: &[f32],
        rows: usize,
        k: usize,
        ef: Option<usize>,
        filter: Option<&Filter>,
    ) -> Result<(Vec<u64>, Vec<f32>)> {
        let ef = self.check_search(queries, rows, k, ef)?;
        let mut ids = vec![u64::MAX; rows * k];
        let mut dists = vec![f32::INFINITY; rows * k];
        let run = |(row, (ids, dists)): (&[f32], (&mut [u64], &mut [f32]))| {
            let mut q = Query::default();
            self.query(row, &mut q);
            for (i, c) in self.knn(&q, k, ef, filter).into_iter().enumerate() {
                ids[i] = self.ids[c.s as usize];
                dists[i] = c.d;
            }
        };
        if rows <= 1 {
            queries
                .chunks_exact(self.dim)
                .zip(ids.chunks_exact_mut(k).zip(dists.chunks_exact_mut(k)))
                .for_each(run);
        } else {
            queries
                .par_chunks_exact(self.dim)
                .zip(ids.par_chunks_exact_mut(k).zip(dists.par_chunks_exact_mut(k)))
                .for_each(run);
        }
        Ok((ids, dists))
    }

    /// Exact nearest neighbours by brute force over every live vector (for tests and as ground
    /// truth); same shape and padding as [`HnswIndex::search`].
    pub fn search_exact(
        &self,
        queries: &[f32],
        rows: usize,
        k: usize,
    ) -> Result<(Vec<u64>, Vec<f32>)> {
        self.check_search(queries, rows, k, None)?;
        let mut ids = vec![u64::MAX; rows * k];
        let mut dists = vec![f32::INFINITY; rows * k];
        let mut q = Query::default();
        for (r, row) in queries.chunks_exact(self.dim).enumerate() {
            self.query(row, &mut q);
            for (i, c) in self.exact(&q, k, 0..self.slots() as u32).into_iter().enumerate() {
                ids[r * k + i] = self.ids[c.s as usize];
                dists[r * k + i] = c.d;
            }
        }
        Ok((ids, dists))
    }
}
