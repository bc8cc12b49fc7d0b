//! Saving and loading an index in the checksummed envelope of [`crate::snapshot`].

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use rustc_hash::FxHashMap;

use super::distance::Metric;
use super::{Entry, HnswIndex, MAX_LEVEL, NONE};
use crate::error::{Error, Result};
use crate::snapshot::{load_checked, write_atomic, Reader, Writer};

const MAGIC: &[u8; 8] = b"FMHNSW\0\x01";
const VERSION: u32 = 1;
const LOCK: u32 = 1 << 31;

impl HnswIndex {
    /// Writes the index to `path` atomically (temp file, fsync, rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        let entry = match self.entry.lock() {
            Ok(e) => *e,
            Err(p) => *p.into_inner(),
        };
        let mut w = Writer::default();
        w.u32(self.dim as u32);
        w.u32(self.metric.code());
        w.u32(self.m as u32);
        w.u32(self.ef_construction as u32);
        w.u64(self.rng);
        w.u32(entry.node);
        w.u32(entry.level as u32);
        w.u64(self.slots() as u64);
        let ids: Vec<u8> = self.ids.iter().flat_map(|x| x.to_le_bytes()).collect();
        w.bytes(&ids);
        let deleted: Vec<u8> = self.deleted.iter().map(|d| *d as u8).collect();
        w.bytes(&deleted);
        w.bytes(&self.levels);
        w.f32s(&self.scales);
        let halves: Vec<u8> = self.vectors.iter().flat_map(|x| x.to_le_bytes()).collect();
        w.bytes(&halves);
        let links0: Vec<u32> =
            self.links0.iter().map(|a| a.load(Ordering::Acquire)).collect::<Vec<_>>();
        let mut links0 = links0;
        for s in 0..self.slots() {
            links0[s * (1 + self.m0)] &= !LOCK;
        }
        w.u32s(&links0);
        // Upper blocks are written compactly: slots reused at a new level leave old blocks behind.
        let mut upper_at = Vec::with_capacity(self.slots());
        let mut upper = Vec::new();
        for s in 0..self.slots() {
            let level = self.levels[s] as usize;
            if level == 0 {
                upper_at.push(NONE);
                continue;
            }
            upper_at.push(upper.len() as u32);
            let at = self.upper_at[s] as usize;
            let len = level * (1 + self.m);
            upper.extend(self.upper[at..at + len].iter().map(|a| a.load(Ordering::Acquire)));
        }
        w.u32s(&upper_at);
        w.u32s(&upper);
        write_atomic(path, MAGIC, VERSION, &w.buf)
    }

    /// Loads an index written by [`HnswIndex::save`], checking every structural invariant, so
    /// a damaged file is refused with [`Error::CorruptFile`] rather than searched.
    pub fn load(path: &Path) -> Result<Self> {
        load_checked(path, MAGIC, VERSION, Self::decode)
    }

    fn decode(body: &[u8]) -> Result<Self> {
        let bad = |why: String| Error::CorruptData(why);
        let mut r = Reader::new(body);
        let dim = r.u32()? as usize;
        let metric = Metric::from_code(r.u32()?).ok_or_else(|| bad("unknown metric".into()))?;
        let m = r.u32()? as usize;
        let ef_construction = r.u32()? as usize;
        let mut index = HnswIndex::new(dim, metric, m, ef_construction)?;
        index.rng = r.u64()?;
        let entry_node = r.u32()?;
        let entry_level = r.u32()? as usize;
        let slots = usize::try_from(r.u64()?).map_err(|_| bad("slot count".into()))?;
        if slots >= NONE as usize || slots > body.len() {
            return Err(bad(format!("slot count {slots} is impossible")));
        }
        let expect = |what: &str, got: usize, want: usize| {
            if got == want {
                Ok(())
            } else {
                Err(bad(format!("{what}: {got} items, expected {want}")))
            }
        };
        let ids = r.bytes()?;
        expect("ids", ids.len(), slots * 8)?;
        index.ids =
            ids.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8"))).collect();
        let deleted = r.bytes()?;
        expect("tombstones", deleted.len(), slots)?;
        if deleted.iter().any(|d| *d > 1) {
            return Err(bad("tombstone flag is not 0 or 1".into()));
        }
        index.deleted = deleted.iter().map(|d| *d == 1).collect();
        let levels = r.bytes()?;
        expect("levels", levels.len(), slots)?;
        if levels.iter().any(|l| *l as usize > MAX_LEVEL) {
            return Err(bad("node level out of range".into()));
        }
        index.levels = levels.to_vec();
        index.scales = r.f32s()?;
        expect("scales", index.scales.len(), slots)?;
        if index.scales.iter().any(|s| !s.is_finite()) {
            return Err(bad("non-finite vector scale".into()));
        }
        if metric == Metric::Cosine && index.scales.iter().any(|s| *s != 1.0) {
            return Err(bad("cosine vectors must have unit scale".into()));
        }
        let halves = r.bytes()?;
        expect("vector bytes", halves.len(), slots * index.stride * 2)?;
        index.vectors = halves.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        if index.vectors.iter().any(|h| h & 0x7c00 == 0x7c00) {
            return Err(bad("non-finite vector component".into()));
        }
        let links0 = r.u32s()?;
        expect("level-0 links", links0.len(), slots * (1 + index.m0))?;
        let upper_at = r.u32s()?;
        expect("upper offsets", upper_at.len(), slots)?;
        let upper = r.u32s()?;
        if !r.is_done() {
            return Err(bad("trailing bytes after the body".into()));
        }
        let check_list = |list: &[u32], cap: usize| -> Result<()> {
            let n = list[0] as usize;
            if n > cap || list[1..1 + n].iter().any(|s| *s as usize >= slots) {
                return Err(bad("neighbour list out of range".into()));
            }
            Ok(())
        };
        for list in links0.chunks_exact(1 + index.m0) {
            check_list(list, index.m0)?;
        }
        for (s, (&at, &level)) in upper_at.iter().zip(&index.levels).enumerate() {
            let level = level as usize;
            if level == 0 {
                continue;
            }
            let end = (at as usize).checked_add(level * (1 + m)).filter(|e| *e <= upper.len());
            if at == NONE || end.is_none() {
                return Err(bad(format!("upper links of slot {s} out of range")));
            }
            let at = at as usize;
            for list in upper[at..at + level * (1 + m)].chunks_exact(1 + m) {
                check_list(list, m)?;
            }
        }
        if entry_node == NONE {
            if index.deleted.iter().any(|d| !d) {
                return Err(bad("entry point missing".into()));
            }
        } else if entry_node as usize >= slots
            || entry_level > index.levels[entry_node as usize] as usize
        {
            return Err(bad("entry point out of range".into()));
        }
        let mut slot_of = FxHashMap::default();
        for s in 0..slots {
            if index.deleted[s] {
                index.free.push(s as u32);
            } else if slot_of.insert(index.ids[s], s as u32).is_some() {
                return Err(bad(format!("id {} is stored twice", index.ids[s])));
            }
        }
        index.slot_of = slot_of;
        index.links0 = links0.into_iter().map(AtomicU32::new).collect();
        index.upper_at = upper_at;
        index.upper = upper.into_iter().map(AtomicU32::new).collect();
        index.entry = Mutex::new(Entry { node: entry_node, level: entry_level });
        Ok(index)
    }
}
