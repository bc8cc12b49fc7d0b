//! Document number <-> id. Ids usually arrive in ascending order (stores hand out growing
//! keys), and then the id array is itself the lookup table (binary search), saving a hash
//! table of 13 to 26 bytes per document; the first id out of order builds the table.

use rustc_hash::FxHashMap;

/// Every document's id by number, and the way back for live documents.
#[derive(Clone, Debug, Default)]
pub struct DocIds {
    ids: Vec<u64>,
    /// Live id -> document, only once ids stopped ascending.
    map: Option<FxHashMap<u64, u32>>,
}

impl DocIds {
    /// The id of document `doc`.
    #[inline]
    pub fn get(&self, doc: u32) -> u64 {
        self.ids[doc as usize]
    }

    /// Documents ever numbered.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// The document holding `id` if it is live by `alive`.
    pub fn find(&self, id: u64, alive: impl Fn(u32) -> bool) -> Option<u32> {
        let doc = match &self.map {
            Some(map) => *map.get(&id)?,
            None => {
                let at = self.ids.partition_point(|&x| x < id);
                if self.ids.get(at) != Some(&id) {
                    return None;
                }
                at as u32
            }
        };
        alive(doc).then_some(doc)
    }

    /// Numbers `id` as the next document; `alive` says which earlier documents are live (for
    /// building the table when `id` breaks the ascending order).
    pub fn push(&mut self, id: u64, alive: impl Fn(u32) -> bool) {
        let doc = self.ids.len() as u32;
        if self.map.is_none() && self.ids.last().is_some_and(|&last| last >= id) {
            let mut map = FxHashMap::default();
            for (d, &x) in self.ids.iter().enumerate() {
                if alive(d as u32) {
                    map.insert(x, d as u32);
                }
            }
            self.map = Some(map);
        }
        if let Some(map) = &mut self.map {
            map.insert(id, doc);
        }
        self.ids.push(id);
    }

    /// Forgets `id` (already dead in the caller's liveness bits).
    pub fn remove(&mut self, id: u64) {
        if let Some(map) = &mut self.map {
            map.remove(&id);
        }
    }

    /// Every id, by document number.
    pub fn as_slice(&self) -> &[u64] {
        &self.ids
    }

    /// Ids by document number, with the table built when they do not ascend.
    pub fn from_vec(ids: Vec<u64>, alive: impl Fn(u32) -> bool) -> Self {
        let mut out = DocIds { ids: Vec::with_capacity(ids.len()), map: None };
        for id in ids {
            out.push(id, &alive);
        }
        out
    }

    /// Releases spare capacity.
    pub fn shrink_to_fit(&mut self) {
        self.ids.shrink_to_fit();
        if let Some(map) = &mut self.map {
            map.shrink_to_fit();
        }
    }

    /// Heap bytes held (hash table slots plus control bytes).
    pub fn heap_bytes(&self) -> usize {
        self.ids.capacity() * 8 + self.map.as_ref().map_or(0, |m| m.capacity() * (12 + 1))
    }
}
