//! Document number <-> id. Ids usually arrive in ascending order (stores hand out growing
//! keys), and then the id column is itself the lookup table (binary search), saving a hash
//! table of 13 to 26 bytes per document; the first id out of order builds the table.
//!
//! The column holds nothing per document while every id is the first one plus its document
//! number (a store's dense keys), then 4 bytes per document while ids fit in 32 bits, and 8
//! bytes only once one does not.

use rustc_hash::FxHashMap;

/// The ids by document number, in the narrowest form that holds them.
#[derive(Clone, Debug)]
enum Column {
    /// Document `d` has id `start + d`, for `len` documents.
    Run { start: u64, len: usize },
    /// Every id fits in 32 bits.
    Narrow(Vec<u32>),
    /// Any ids.
    Wide(Vec<u64>),
}

impl Default for Column {
    fn default() -> Self {
        Column::Run { start: 0, len: 0 }
    }
}

/// Every document's id by number, and the way back for live documents.
#[derive(Clone, Debug, Default)]
pub struct DocIds {
    column: Column,
    /// Live id -> document, only once ids stopped ascending.
    map: Option<FxHashMap<u64, u32>>,
}

impl DocIds {
    /// The id of document `doc`.
    #[inline]
    pub fn get(&self, doc: u32) -> u64 {
        match &self.column {
            Column::Run { start, len } => {
                debug_assert!((doc as usize) < *len);
                start + u64::from(doc)
            }
            Column::Narrow(ids) => u64::from(ids[doc as usize]),
            Column::Wide(ids) => ids[doc as usize],
        }
    }

    /// Documents ever numbered.
    pub fn len(&self) -> usize {
        match &self.column {
            Column::Run { len, .. } => *len,
            Column::Narrow(ids) => ids.len(),
            Column::Wide(ids) => ids.len(),
        }
    }

    /// The last id numbered.
    fn last(&self) -> Option<u64> {
        let n = self.len();
        (n > 0).then(|| self.get(n as u32 - 1))
    }

    /// The document holding `id` if it is live by `alive`.
    pub fn find(&self, id: u64, alive: impl Fn(u32) -> bool) -> Option<u32> {
        let doc = match &self.map {
            Some(map) => *map.get(&id)?,
            None => match &self.column {
                Column::Run { start, len } => {
                    let doc = id.checked_sub(*start).filter(|&d| d < *len as u64)?;
                    doc as u32
                }
                Column::Narrow(ids) => {
                    let id = u32::try_from(id).ok()?;
                    let at = ids.partition_point(|&x| x < id);
                    (ids.get(at) == Some(&id)).then_some(at as u32)?
                }
                Column::Wide(ids) => {
                    let at = ids.partition_point(|&x| x < id);
                    (ids.get(at) == Some(&id)).then_some(at as u32)?
                }
            },
        };
        alive(doc).then_some(doc)
    }

    /// Numbers `id` as the next document; `alive` says which earlier documents are live (for
    /// building the table when `id` breaks the ascending order).
    pub fn push(&mut self, id: u64, alive: impl Fn(u32) -> bool) {
        let doc = self.len() as u32;
        if self.map.is_none() && self.last().is_some_and(|last| last >= id) {
            let mut map = FxHashMap::default();
            for d in 0..doc {
                if alive(d) {
                    map.insert(self.get(d), d);
                }
            }
            self.map = Some(map);
        }
        if let Some(map) = &mut self.map {
            map.insert(id, doc);
        }
        self.push_column(id);
    }

    fn push_column(&mut self, id: u64) {
        match &mut self.column {
            Column::Run { start, len } if *len == 0 => (*start, *len) = (id, 1),
            Column::Run { start, len } if start.checked_add(*len as u64) == Some(id) => *len += 1,
            Column::Run { start, len } => {
                let (start, len) = (*start, *len);
                let fits =
                    start + len as u64 - 1 <= u64::from(u32::MAX) && id <= u64::from(u32::MAX);
                self.column = if fits {
                    let mut ids = Vec::with_capacity(len + 1);
                    ids.extend((0..len as u64).map(|d| (start + d) as u32));
                    Column::Narrow(ids)
                } else {
                    let mut ids = Vec::with_capacity(len + 1);
                    ids.extend((0..len as u64).map(|d| start + d));
                    Column::Wide(ids)
                };
                self.push_column(id);
            }
            Column::Narrow(ids) => match u32::try_from(id) {
                Ok(narrow) => ids.push(narrow),
                Err(_) => {
                    let mut wide = Vec::with_capacity(ids.len() + 1);
                    wide.extend(ids.iter().map(|&x| u64::from(x)));
                    wide.push(id);
                    self.column = Column::Wide(wide);
                }
            },
            Column::Wide(ids) => ids.push(id),
        }
    }

    /// Makes room for `extra` more ids (see [`super::reserve_gently`]).
    pub fn reserve(&mut self, extra: usize) {
        match &mut self.column {
            Column::Run { .. } => {}
            Column::Narrow(ids) => super::reserve_gently(ids, extra),
            Column::Wide(ids) => super::reserve_gently(ids, extra),
        }
    }

    /// Forgets `id` (already dead in the caller's liveness bits).
    pub fn remove(&mut self, id: u64) {
        if let Some(map) = &mut self.map {
            map.remove(&id);
        }
    }

    /// Every id, by document number.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.len() as u32).map(|d| self.get(d))
    }

    /// Ids by document number, with the table built when they do not ascend.
    pub fn from_vec(ids: Vec<u64>, alive: impl Fn(u32) -> bool) -> Self {
        let mut out = DocIds::default();
        for id in ids {
            out.push(id, &alive);
        }
        out.shrink_to_fit();
        out
    }

    /// Releases spare capacity.
    pub fn shrink_to_fit(&mut self) {
        match &mut self.column {
            Column::Run { .. } => {}
            Column::Narrow(ids) => ids.shrink_to_fit(),
            Column::Wide(ids) => ids.shrink_to_fit(),
        }
        if let Some(map) = &mut self.map {
            map.shrink_to_fit();
        }
    }

    /// Heap bytes held (hash table slots plus control bytes).
    pub fn heap_bytes(&self) -> usize {
        let column = match &self.column {
            Column::Run { .. } => 0,
            Column::Narrow(ids) => ids.capacity() * 4,
            Column::Wide(ids) => ids.capacity() * 8,
        };
        column + self.map.as_ref().map_or(0, |m| m.capacity() * (12 + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_alive(_: u32) -> bool {
        true
    }

    fn check(ids: &DocIds, expected: &[u64]) {
        assert_eq!(ids.len(), expected.len());
        assert_eq!(ids.iter().collect::<Vec<_>>(), expected);
        for (d, &id) in expected.iter().enumerate() {
            assert_eq!(ids.find(id, all_alive), Some(d as u32), "id {id}");
        }
    }

    #[test]
    fn dense_ids_hold_nothing_per_document() {
        let mut ids = DocIds::default();
        for id in 7..1007 {
            ids.push(id, all_alive);
        }
        assert_eq!(ids.heap_bytes(), 0);
        check(&ids, &(7..1007).collect::<Vec<_>>());
        assert_eq!(ids.find(6, all_alive), None);
        assert_eq!(ids.find(1007, all_alive), None);
        assert_eq!(ids.find(500, |d| d != 493), None, "dead documents are not found");
    }

    #[test]
    fn a_gap_narrows_then_a_large_id_widens() {
        let mut ids = DocIds::default();
        let mut expected: Vec<u64> = (0..100).collect();
        expected.extend([150, 151, 4_000_000_000]);
        for &id in &expected {
            ids.push(id, all_alive);
        }
        assert!(matches!(ids.column, Column::Narrow(_)));
        assert!(ids.heap_bytes() < expected.len() * 8);
        check(&ids, &expected);
        assert_eq!(ids.find(120, all_alive), None);
        assert_eq!(ids.find(u64::from(u32::MAX) + 150, all_alive), None);
        expected.extend([u64::MAX - 1, u64::MAX]);
        ids.push(u64::MAX - 1, all_alive);
        ids.push(u64::MAX, all_alive);
        assert!(matches!(ids.column, Column::Wide(_)));
        check(&ids, &expected);
        assert!(ids.map.is_none());
    }

    #[test]
    fn a_run_past_32_bits_goes_wide_and_order_breaks_build_the_table() {
        let start = u64::from(u32::MAX) - 2;
        let mut ids = DocIds::default();
        let mut expected: Vec<u64> = (start..start + 6).collect();
        for &id in &expected {
            ids.push(id, all_alive);
        }
        assert!(matches!(ids.column, Column::Run { .. }));
        ids.push(1, all_alive);
        expected.push(1);
        assert!(matches!(ids.column, Column::Wide(_)));
        assert!(ids.map.is_some());
        check(&ids, &expected);
        let mut back = DocIds::default();
        for id in [5, 3, 4] {
            back.push(id, all_alive);
        }
        check(&back, &[5, 3, 4]);
        let again = DocIds::from_vec(vec![5, 3, 4], all_alive);
        check(&again, &[5, 3, 4]);
    }
}
