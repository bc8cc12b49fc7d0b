//! Groups (sessions): each vector may belong to one named group, and searches can be limited to
//! groups. Members are kept per group, so a small group is searched exactly at the cost of its
//! own size, whatever the size of the index.

use rustc_hash::FxHashMap;

use super::{HnswIndex, NONE};
use crate::error::{Error, Result};

/// Longest group name, in bytes.
pub const MAX_GROUP_NAME: usize = 4096;

/// Group names, each slot's group and each group's live members.
#[derive(Debug, Default)]
pub(super) struct Groups {
    names: Vec<String>,
    by_name: FxHashMap<String, u32>,
    members: Vec<Vec<u32>>,
    /// Per slot: its group or [`NONE`]; empty until a group is first used.
    of_slot: Vec<u32>,
    /// Per slot: its position in its group's member list.
    pos: Vec<u32>,
}

/// Refuses names that are too long (they are stored in every snapshot).
pub(super) fn check_names(names: &[&str]) -> Result<()> {
    if let Some((i, n)) = names.iter().enumerate().find(|(_, n)| n.len() > MAX_GROUP_NAME) {
        return Err(Error::invalid(format!(
            "groups[{i}] is {} bytes long (at most {MAX_GROUP_NAME})",
            n.len()
        )));
    }
    Ok(())
}

impl Groups {
    /// Number of group names ever used.
    pub fn count(&self) -> usize {
        self.names.len()
    }
    /// The id of group `name`.
    pub fn id(&self, name: &str) -> Option<u32> {
        self.by_name.get(name).copied()
    }
    /// The group of `slot`, or [`NONE`].
    #[inline(always)]
    pub fn of(&self, slot: u32) -> u32 {
        self.of_slot.get(slot as usize).copied().unwrap_or(NONE)
    }
    /// The live slots of group `g`.
    pub fn members(&self, g: u32) -> &[u32] {
        self.members.get(g as usize).map_or(&[], |m| m.as_slice())
    }
    /// The names, by group id.
    pub fn names(&self) -> &[String] {
        &self.names
    }
    /// Interns `name`, returning its id.
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&g) = self.by_name.get(name) {
            return g;
        }
        let g = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.by_name.insert(name.to_owned(), g);
        self.members.push(Vec::new());
        g
    }
    /// Puts `slot` (currently in no group) into group `name`; `slots` is the slot count.
    pub fn join(&mut self, slot: u32, name: &str, slots: usize) {
        let g = self.intern(name);
        self.put(slot, g, slots);
    }
    /// Puts `slot` (currently in no group) into group `g`.
    pub fn put(&mut self, slot: u32, g: u32, slots: usize) {
        if self.of_slot.len() < slots {
            self.of_slot.resize(slots, NONE);
            self.pos.resize(slots, 0);
        }
        let m = &mut self.members[g as usize];
        self.of_slot[slot as usize] = g;
        self.pos[slot as usize] = m.len() as u32;
        m.push(slot);
    }
    /// Takes `slot` out of its group, if any.
    pub fn leave(&mut self, slot: u32) {
        let g = self.of(slot);
        if g == NONE {
            return;
        }
        let i = self.pos[slot as usize] as usize;
        let m = &mut self.members[g as usize];
        m.swap_remove(i);
        if let Some(&moved) = m.get(i) {
            self.pos[moved as usize] = i as u32;
        }
        self.of_slot[slot as usize] = NONE;
    }
    /// Forgets every membership (names stay interned).
    pub fn clear_members(&mut self) {
        self.members.iter_mut().for_each(Vec::clear);
        self.of_slot.clear();
        self.pos.clear();
    }
    /// The per-slot group ids (for saving), `slots` long.
    pub fn slot_groups(&self, slots: usize) -> Vec<u32> {
        (0..slots as u32).map(|s| self.of(s)).collect()
    }
    /// Bytes held.
    pub fn memory_usage_bytes(&self) -> usize {
        self.names.iter().map(|n| n.capacity() * 2 + 48).sum::<usize>()
            + self.members.iter().map(|m| m.capacity() * 4 + 24).sum::<usize>()
            + self.of_slot.capacity() * 4
            + self.pos.capacity() * 4
    }
}

impl HnswIndex {
    /// Number of live vectors in group `name` (0 for an unknown group).
    pub fn group_len(&self, name: &str) -> usize {
        self.groups.id(name).map_or(0, |g| self.groups.members(g).len())
    }

    /// The names of the groups that have live vectors.
    pub fn group_names(&self) -> Vec<String> {
        let g = &self.groups;
        (0..g.count() as u32)
            .filter(|i| !g.members(*i).is_empty())
            .map(|i| g.names()[i as usize].clone())
            .collect()
    }

    /// The group of a live `id`, if it has one.
    pub fn group_of(&self, id: u64) -> Option<&str> {
        let slot = *self.slot_of.get(&id)?;
        let g = self.groups.of(slot);
        self.groups.names().get(g as usize).map(String::as_str)
    }
}
