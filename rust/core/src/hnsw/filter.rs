//! Scopes of a search: allowed ids, groups, or both (their intersection).

use super::groups::Groups;
use super::search::{EXACT_FRACTION, EXACT_MIN};
use super::{HnswIndex, NONE};

/// The set of slots a scoped search may return, built by [`HnswIndex::filter`] or
/// [`HnswIndex::scope`] for one index and valid until that index changes.
#[derive(Debug)]
pub struct Filter {
    /// Allowed slots (a bit per slot), when ids were given.
    slots: Option<Vec<u64>>,
    /// Allowed groups (a bit per group id), when groups were given.
    groups: Option<Vec<u64>>,
    /// Every allowed live slot, when the scope is small enough to be searched exactly.
    exact: Option<Vec<u32>>,
    len: usize,
}

#[inline(always)]
fn has(bits: &[u64], i: u32) -> bool {
    bits.get(i as usize / 64).is_some_and(|w| w >> (i % 64) & 1 == 1)
}

fn set(bits: &mut [u64], i: u32) -> bool {
    let w = &mut bits[i as usize / 64];
    let fresh = *w >> (i % 64) & 1 == 0;
    *w |= 1 << (i % 64);
    fresh
}

impl Filter {
    /// True when `slot` is in scope (tombstones are checked by the caller).
    #[inline(always)]
    pub(super) fn allows(&self, slot: u32, groups: &Groups) -> bool {
        self.slots.as_ref().is_none_or(|b| has(b, slot))
            && self.groups.as_ref().is_none_or(|b| {
                let g = groups.of(slot);
                g != NONE && has(b, g)
            })
    }
    /// The allowed slots when the scope is to be searched exactly.
    pub(super) fn exact_slots(&self) -> Option<&[u32]> {
        self.exact.as_deref()
    }
    /// How many live vectors the filter allows.
    pub fn len(&self) -> usize {
        self.len
    }
    /// True when the filter allows nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl HnswIndex {
    /// A filter allowing the live vectors among `ids` (unknown ids are ignored).
    pub fn filter(&self, ids: &[u64]) -> Filter {
        self.scope(Some(ids), None)
    }

    /// A filter allowing the live vectors among `ids` (when given) that belong to one of
    /// `groups` (when given). Unknown ids and groups are ignored; with neither, everything is
    /// allowed.
    pub fn scope(&self, ids: Option<&[u64]>, groups: Option<&[&str]>) -> Filter {
        let gbits = groups.map(|names| {
            let mut bits = vec![0u64; self.groups.count().div_ceil(64)];
            for name in names {
                if let Some(g) = self.groups.id(name) {
                    set(&mut bits, g);
                }
            }
            bits
        });
        let in_groups = |s: u32| {
            gbits.as_ref().is_none_or(|b| {
                let g = self.groups.of(s);
                g != NONE && has(b, g)
            })
        };
        let (slots, list) = match ids {
            Some(ids) => {
                let mut bits = vec![0u64; self.slots().div_ceil(64)];
                let mut list = Vec::new();
                for id in ids {
                    if let Some(&s) = self.slot_of.get(id) {
                        if in_groups(s) && set(&mut bits, s) {
                            list.push(s);
                        }
                    }
                }
                (Some(bits), Some(list))
            }
            None => (None, None),
        };
        let len = match (&list, &gbits) {
            (Some(list), _) => list.len(),
            (None, Some(bits)) => (0..self.groups.count() as u32)
                .filter(|g| has(bits, *g))
                .map(|g| self.groups.members(g).len())
                .sum(),
            (None, None) => self.len(),
        };
        let narrow = len < EXACT_MIN || (len as f64) < EXACT_FRACTION * self.len() as f64;
        let exact = if (ids.is_some() || groups.is_some()) && (narrow || self.full_scan()) {
            Some(match list {
                Some(list) => list,
                None => {
                    let bits = gbits.as_deref().unwrap_or(&[]);
                    (0..self.groups.count() as u32)
                        .filter(|g| has(bits, *g))
                        .flat_map(|g| self.groups.members(g).iter().copied())
                        .collect()
                }
            })
        } else {
            None
        };
        Filter { slots, groups: gbits, exact, len }
    }
}
