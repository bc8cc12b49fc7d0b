//! Insertion: slots are claimed serially (vectors written, levels drawn), then the new nodes
//! are linked into the graph in parallel.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::distance::prefetch;
use super::groups;
use super::quant::Query;
use super::search::Cand;
use super::storage::Visited;
use super::{Entry, HnswIndex, NONE};
use crate::error::{Error, Result};

/// Batches smaller than this are linked on the calling thread.
const PARALLEL_MIN: usize = 32;
/// Batches adding at least this many slots reserve exactly.
const EXACT_RESERVE_MIN: usize = 1024;
/// Lists a node is forced into when every neighbour's heuristic rejected it.
const FORCED_LINKS: usize = 3;

impl HnswIndex {
    /// Adds `ids.len()` vectors (row-major, `ids.len() x dim`). An id already present is
    /// replaced; within one call the last row for an id wins. On any invalid input nothing
    /// changes.
    pub fn add(&mut self, ids: &[u64], vectors: &[f32]) -> Result<()> {
        self.add_grouped(ids, vectors, None)
    }

    /// [`HnswIndex::add`] with one group name per row (`None`: the rows belong to no group).
    pub fn add_grouped(
        &mut self,
        ids: &[u64],
        vectors: &[f32],
        groups: Option<&[&str]>,
    ) -> Result<()> {
        self.validate(vectors, ids.len(), "vectors")?;
        if let Some(g) = groups {
            if g.len() != ids.len() {
                return Err(Error::invalid(format!(
                    "groups has {} entries but ids has {}",
                    g.len(),
                    ids.len()
                )));
            }
            groups::check_names(g)?;
        }
        let mut last: FxHashMap<u64, usize> = FxHashMap::default();
        for (row, id) in ids.iter().enumerate() {
            last.insert(*id, row);
        }
        if self.is_empty() && !self.ids.is_empty() {
            self.reset();
        }
        let rows: Vec<usize> = (0..ids.len()).filter(|r| last[&ids[*r]] == *r).collect();
        for &r in &rows {
            self.remove_one(ids[r]);
        }
        let fresh = rows.len().saturating_sub(self.free.len());
        if fresh >= EXACT_RESERVE_MIN {
            // A big batch gets exactly the room it needs rather than a doubling's slack;
            // small adds keep amortised growth.
            self.reserve_exact(fresh);
        }
        self.index_codes();
        let mut work = Vec::with_capacity(rows.len());
        for &r in &rows {
            let slot = self.claim_slot(ids[r], &vectors[r * self.dim..(r + 1) * self.dim])?;
            if let Some(g) = groups {
                self.groups.join(slot, g[r], self.ids.len());
            }
            if self.alias_if_duplicate(slot) {
                continue;
            }
            let level = self.draw_level();
            self.lift(slot, level)?;
            work.push((slot, r));
        }
        let this: &HnswIndex = self;
        let link = |&(slot, r): &(u32, usize)| {
            this.link(slot, &vectors[r * this.dim..(r + 1) * this.dim]);
        };
        let first = work.len().min(1);
        work[..first].iter().for_each(link);
        if work.len() < PARALLEL_MIN {
            work[first..].iter().for_each(link);
        } else {
            work[first..].par_iter().for_each(link);
        }
        Ok(())
    }

    /// Drops every slot (used when the last live vector was removed, so that no tombstone
    /// lingers as an entry point).
    fn reset(&mut self) {
        self.residuals.clear();
        self.levels.clear();
        self.nodes.clear();
        self.upper_at.clear();
        self.upper.clear();
        self.ids.clear();
        self.deleted.clear();
        self.slot_of.clear();
        self.free.clear();
        self.groups.clear_members();
        self.dups.clear();
        *self.entry.get_mut().unwrap_or_else(|p| p.into_inner()) = Entry { node: NONE, level: 0 };
    }

    /// Links the claimed `slot` (holding `row`) into the graph. Safe to run concurrently for
    /// different slots.
    fn link(&self, slot: u32, row: &[f32]) {
        let mut q = Query::default();
        self.query(row, &mut q);
        let level = self.levels[slot as usize] as usize;
        let mut guard = match self.entry.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let entry = *guard;
        if entry.node == NONE {
            *guard = Entry { node: slot, level };
            return;
        }
        // A node that raises the top level keeps the entry lock for its whole insertion, so
        // no other insert starts from a half-linked top.
        let held = if level > entry.level {
            Some(guard)
        } else {
            drop(guard);
            None
        };
        let mut cur = Cand { d: self.dist_code(&q, entry.node), s: entry.node };
        let mut buf = Vec::with_capacity(self.m0);
        for l in (level + 1..=entry.level).rev() {
            self.greedy(&q, &mut cur, l, &mut buf);
        }
        let mut visited = self.visited.take(self.slots());
        let mut eps = vec![cur];
        let (deleted, levels) = (&self.deleted, &self.levels);
        for l in (0..=level.min(entry.level)).rev() {
            visited_reset(&mut visited, self);
            let found = self.search_layer(&q, &eps, self.ef_construction, l, &mut visited, &|s| {
                s != slot
                    && !deleted[s as usize]
                    && levels[s as usize] as usize >= l
                    && self.dups.primary(s).is_none()
            });
            // Up to the level's full capacity, as faiss does: hnswlib's M at level 0 left
            // the graph needing twice the ef for the same recall at 1M vectors.
            let chosen = self.select(&found, self.cap(l));
            self.connect(slot, l, &chosen);
            let mut linked = false;
            for &nb in &chosen {
                linked |= self.backlink(nb, slot, l);
            }
            if !linked {
                // Every neighbour pruned the new node away (an outlier beside a tight cluster):
                // force it into the nearest few lists, or nothing would ever lead to it.
                for &nb in chosen.iter().take(FORCED_LINKS) {
                    self.force_backlink(nb, slot, l);
                }
            }
            if !found.is_empty() {
                eps = found;
            }
        }
        self.visited.give(visited);
        if let Some(mut g) = held {
            *g = Entry { node: slot, level };
        }
    }

    /// How many links a node keeps on `level`.
    fn cap(&self, level: usize) -> usize {
        if level == 0 {
            self.m0
        } else {
            self.m
        }
    }

    /// The heuristic of the HNSW paper (hnswlib's `getNeighborsByHeuristic2`): walk the
    /// candidates nearest first and keep one only if it is nearer to the base than to every
    /// neighbour kept so far, which spreads links across directions.
    fn select(&self, sorted: &[Cand], m: usize) -> Vec<u32> {
        if sorted.len() <= m {
            return sorted.iter().map(|c| c.s).collect();
        }
        let mut kept: Vec<u32> = Vec::with_capacity(m);
        for c in sorted {
            if kept.len() >= m {
                break;
            }
            if kept.iter().all(|&r| self.dist_nodes(c.s, r) >= c.d) {
                kept.push(c.s);
            }
        }
        kept
    }

    /// Sets the new node's own links on `level`, merging any that other inserts already added.
    fn connect(&self, slot: u32, level: usize, chosen: &[u32]) {
        let _g = self.lock(slot);
        let mut nbs = Vec::new();
        self.neighbours(slot, level, &mut nbs);
        if nbs.is_empty() {
            self.write_list(slot, level, chosen);
            return;
        }
        for c in chosen {
            if !nbs.contains(c) {
                nbs.push(*c);
            }
        }
        self.write_pruned(slot, level, nbs);
    }

    /// Adds `new` to the links of `nb` on `level`. A full list is updated incrementally: the
    /// list already satisfies the selection heuristic, so `new` only has to pass against the
    /// nearer links, and the farther links only have to be rechecked against `new`. That is
    /// O(M) distances instead of the O(M^2) of rerunning the heuristic over the whole list.
    /// Returns whether `nb` now links to `new`.
    fn backlink(&self, nb: u32, new: u32, level: usize) -> bool {
        let _g = self.lock(nb);
        let mut nbs = Vec::new();
        self.neighbours(nb, level, &mut nbs);
        if nbs.contains(&new) {
            return true;
        }
        let cap = self.cap(level);
        if nbs.len() < cap {
            nbs.push(new);
            self.write_list(nb, level, &nbs);
            return true;
        }
        for &s in &nbs {
            prefetch(self.code(s).as_ptr(), self.code_len);
        }
        let d_new = self.dist_nodes(nb, new);
        let mut cands: Vec<Cand> =
            nbs.iter().map(|&s| Cand { d: self.dist_nodes(nb, s), s }).collect();
        cands.sort_unstable();
        let p = cands.partition_point(|c| c.d <= d_new);
        if cands[..p].iter().any(|c| self.dist_nodes(new, c.s) < d_new) {
            return false;
        }
        let mut out: Vec<u32> = Vec::with_capacity(cap + 1);
        out.extend(cands[..p].iter().map(|c| c.s));
        out.push(new);
        out.extend(cands[p..].iter().filter(|c| self.dist_nodes(c.s, new) >= c.d).map(|c| c.s));
        out.truncate(cap);
        self.write_list(nb, level, &out);
        true
    }

    /// Puts `new` in the links of `nb`, evicting the farthest link when the list is full.
    fn force_backlink(&self, nb: u32, new: u32, level: usize) {
        let _g = self.lock(nb);
        let mut nbs = Vec::new();
        self.neighbours(nb, level, &mut nbs);
        if nbs.contains(&new) {
            return;
        }
        let cap = self.cap(level);
        if nbs.len() >= cap {
            let far = (0..nbs.len()).max_by(|&a, &b| {
                self.dist_nodes(nb, nbs[a]).total_cmp(&self.dist_nodes(nb, nbs[b]))
            });
            if let Some(i) = far {
                nbs.swap_remove(i);
            }
        }
        nbs.push(new);
        self.write_list(nb, level, &nbs);
    }

    /// Writes `nbs` as the links of `slot` (lock held), pruned to the level's capacity.
    fn write_pruned(&self, slot: u32, level: usize, nbs: Vec<u32>) {
        let cap = self.cap(level);
        if nbs.len() <= cap {
            self.write_list(slot, level, &nbs);
            return;
        }
        let mut cands: Vec<Cand> =
            nbs.iter().map(|&s| Cand { d: self.dist_nodes(slot, s), s }).collect();
        cands.sort_unstable();
        let kept = self.select(&cands, cap);
        self.write_list(slot, level, &kept);
    }
}

fn visited_reset(v: &mut Visited, index: &HnswIndex) {
    v.clear(index.slots());
}
