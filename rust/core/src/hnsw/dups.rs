//! Duplicates: vectors whose walk code (int8 code and header) equals that of a graph node are
//! not linked into the graph but hang off that node as aliases.
//!
//! The graph is built and walked on codes, so a group of equal codes larger than
//! `ef_construction` would otherwise fill every candidate list with distance-0 ties: its nodes
//! link only to each other, the links leading out of the group are evicted, and the graph
//! splits (as in hnswlib). With one graph node per distinct code, a group costs one node in the
//! graph and searches return its members (each re-ranked on its own residual).

use std::hash::Hasher;
use std::sync::atomic::Ordering;

use rustc_hash::{FxHashMap, FxHasher};

use super::search::Cand;
use super::{Filter, HnswIndex, NONE};

/// The aliases of graph nodes and the index of codes that finds them.
#[derive(Debug, Default)]
pub(super) struct Dups {
    /// Per graph node that has aliases: the alias slots.
    aliases: FxHashMap<u32, Vec<u32>>,
    /// Per slot: the graph node it is an alias of, or [`NONE`]; empty while there are none.
    alias_of: Vec<u32>,
    /// Code hash -> graph node with that code; built at the first insert (not saved).
    by_code: Option<FxHashMap<u64, u32>>,
}

impl Dups {
    /// True when no slot is an alias.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.aliases.is_empty()
    }
    /// The graph node `slot` is an alias of.
    #[inline(always)]
    pub fn primary(&self, slot: u32) -> Option<u32> {
        self.alias_of.get(slot as usize).copied().filter(|p| *p != NONE)
    }
    /// The aliases of graph node `slot`.
    pub fn aliases(&self, slot: u32) -> &[u32] {
        self.aliases.get(&slot).map_or(&[], Vec::as_slice)
    }
    /// Per slot, its graph node or [`NONE`] (for saving; empty when there are no aliases).
    pub fn alias_table(&self, slots: usize) -> Vec<u32> {
        if self.is_empty() {
            return Vec::new();
        }
        (0..slots as u32).map(|s| self.primary(s).unwrap_or(NONE)).collect()
    }
    /// Records `alias` as an alias of `primary`; `slots` is the slot count.
    pub fn link(&mut self, alias: u32, primary: u32, slots: usize) {
        if self.alias_of.len() < slots {
            self.alias_of.resize(slots, NONE);
        }
        self.alias_of[alias as usize] = primary;
        self.aliases.entry(primary).or_default().push(alias);
    }
    /// Forgets that `alias` is an alias.
    fn unlink(&mut self, alias: u32, primary: u32) {
        self.alias_of[alias as usize] = NONE;
        if let Some(list) = self.aliases.get_mut(&primary) {
            if let Some(i) = list.iter().position(|a| *a == alias) {
                list.swap_remove(i);
            }
            if list.is_empty() {
                self.aliases.remove(&primary);
            }
        }
    }
    /// Forgets everything.
    pub fn clear(&mut self) {
        *self = Dups { by_code: Some(FxHashMap::default()), ..Dups::default() };
    }
    /// Bytes held.
    pub fn memory_usage_bytes(&self) -> usize {
        self.aliases.values().map(|v| v.capacity() * 4 + 40).sum::<usize>()
            + self.alias_of.capacity() * 4
            + self.by_code.as_ref().map_or(0, |m| m.capacity() * 13)
    }
}

impl HnswIndex {
    /// Hash of the walk code and header of `slot`.
    fn code_key(&self, slot: u32) -> u64 {
        let at = slot as usize * self.block;
        let mut h = FxHasher::default();
        for w in &self.words()[at..at + self.code_len / 4 + 2] {
            h.write_u32(w.load(Ordering::Relaxed));
        }
        h.finish()
    }

    /// True when `a` and `b` have the same walk code and header.
    pub(super) fn same_code(&self, a: u32, b: u32) -> bool {
        let w = self.words();
        let n = self.code_len / 4 + 2;
        let (a, b) = (a as usize * self.block, b as usize * self.block);
        (0..n).all(|i| w[a + i].load(Ordering::Relaxed) == w[b + i].load(Ordering::Relaxed))
    }

    /// Makes the code index when it is missing (a fresh load), from the live graph nodes.
    pub(super) fn index_codes(&mut self) {
        if self.dups.by_code.is_some() {
            return;
        }
        let mut map = FxHashMap::default();
        for s in 0..self.slots() as u32 {
            if !self.deleted[s as usize] && self.dups.primary(s).is_none() {
                map.entry(self.code_key(s)).or_insert(s);
            }
        }
        self.dups.by_code = Some(map);
    }

    /// For a freshly claimed `slot`: when a live graph node has its code, records `slot` as its
    /// alias and returns true; else makes `slot` the graph node of its code.
    pub(super) fn alias_if_duplicate(&mut self, slot: u32) -> bool {
        let key = self.code_key(slot);
        let found = self.dups.by_code.as_ref().and_then(|m| m.get(&key)).copied();
        match found {
            Some(p) if p != slot && self.same_code(p, slot) => {
                let slots = self.slots();
                self.dups.link(slot, p, slots);
                true
            }
            Some(_) => false,
            None => {
                if let Some(m) = self.dups.by_code.as_mut() {
                    m.insert(key, slot);
                }
                false
            }
        }
    }

    /// Takes live `slot` out of the duplicate bookkeeping as it is removed. Returns the slot
    /// to free: `slot` itself, or, when `slot` is a graph node with aliases, one alias whose
    /// identity moves into `slot` (same code, so the graph stays valid).
    pub(super) fn leave_dups(&mut self, slot: u32) -> u32 {
        if let Some(p) = self.dups.primary(slot) {
            self.dups.unlink(slot, p);
            return slot;
        }
        let Some(&alias) = self.dups.aliases(slot).last() else {
            let key = self.code_key(slot);
            if let Some(m) = self.dups.by_code.as_mut() {
                if m.get(&key) == Some(&slot) {
                    m.remove(&key);
                }
            }
            return slot;
        };
        self.dups.unlink(alias, slot);
        let (s, a) = (slot as usize, alias as usize);
        let id = self.ids[a];
        self.ids[s] = id;
        self.slot_of.insert(id, slot);
        self.residuals.copy_within(a * self.stride..(a + 1) * self.stride, s * self.stride);
        let g = self.groups.of(alias);
        self.groups.leave(slot);
        self.groups.leave(alias);
        if g != NONE {
            let slots = self.slots();
            self.groups.put(slot, g, slots);
        }
        alias
    }

    /// The walk's graph nodes with their aliases: nodes outside `filter` dropped, each alias
    /// in scope added at its node's distance (at most `cap` aliases in all).
    pub(super) fn with_aliases(
        &self,
        found: Vec<Cand>,
        filter: Option<&Filter>,
        cap: usize,
    ) -> Vec<Cand> {
        if self.dups.is_empty() {
            return found;
        }
        let ok =
            |s: u32| !self.deleted[s as usize] && filter.is_none_or(|f| f.allows(s, &self.groups));
        let mut out = Vec::with_capacity(found.len());
        let mut added = 0;
        for c in found {
            if ok(c.s) {
                out.push(c);
            }
            for &a in self.dups.aliases(c.s) {
                if added >= cap {
                    break;
                }
                if ok(a) {
                    out.push(Cand { d: c.d, s: a });
                    added += 1;
                }
            }
        }
        out
    }
}
