//! Saving and loading an index in the checksummed envelope of [`crate::snapshot`], to a file or
//! to bytes. Nothing read is trusted: every count is checked against the bytes actually
//! present before anything is allocated for it, and every link, level, group and code is
//! checked, so damage gives [`Error::CorruptFile`] / [`Error::CorruptData`], never a panic.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use rustc_hash::FxHashMap;

use super::groups::MAX_GROUP_NAME;
use super::storage::{advise_huge_pages, Line, LINE_WORDS, LOCK};
use super::{Entry, HnswIndex, Metric, MAX_LEVEL, MAX_META_BYTES, NONE};
use crate::error::{Error, Result};
use crate::snapshot::{at_path, replace_file, unwrap, wrap, Reader, Writer};

const MAGIC: &[u8; 8] = b"FMHNSW\0\x01";
/// 3: version 2 plus the duplicates' table. 2: int8 codes in node blocks, half-float
/// residuals, groups and caller bytes (version 1 held half floats times a scale).
const VERSION: u32 = 3;
/// Version 2 snapshots still load (they have no duplicates' table).
const VERSION_NO_DUPS: u32 = 2;

fn bad(why: impl Into<String>) -> Error {
    Error::CorruptData(why.into())
}

impl HnswIndex {
    /// Writes the index and `meta` (opaque caller bytes, at most 1 MiB) to `path` atomically
    /// (temp file, fsync, rename); `meta` becomes [`HnswIndex::meta`].
    pub fn save(&self, path: &Path, meta: &[u8]) -> Result<()> {
        let bytes = self.to_bytes(meta)?;
        replace_file(path, &bytes)
    }

    /// The snapshot [`HnswIndex::save`] would write, as bytes; `meta` becomes
    /// [`HnswIndex::meta`].
    pub fn to_bytes(&self, meta: &[u8]) -> Result<Vec<u8>> {
        if meta.len() > MAX_META_BYTES {
            return Err(Error::invalid(format!(
                "meta is {} bytes, at most {MAX_META_BYTES} are allowed",
                meta.len()
            )));
        }
        let body = self.encode_body(meta);
        *self.meta.lock().unwrap_or_else(|p| p.into_inner()) = meta.to_vec();
        Ok(wrap(MAGIC, VERSION, &body))
    }

    /// Loads an index written by [`HnswIndex::save`]; damage is [`Error::CorruptFile`].
    pub fn load(path: &Path) -> Result<Self> {
        let bytes =
            std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        Self::from_bytes(&bytes).map_err(|e| at_path(e, path))
    }

    /// Loads an index from [`HnswIndex::to_bytes`]; damage is [`Error::CorruptData`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let found = bytes.get(8..12).map(|v| u32::from_le_bytes([v[0], v[1], v[2], v[3]]));
        let version = if found == Some(VERSION_NO_DUPS) { VERSION_NO_DUPS } else { VERSION };
        let body = unwrap(bytes, MAGIC, version)?;
        Self::decode_body(body, version).map_err(|e| match e {
            Error::InvalidArgument(r) => Error::CorruptData(r),
            other => other,
        })
    }

    fn encode_body(&self, meta: &[u8]) -> Vec<u8> {
        let entry = match self.entry.lock() {
            Ok(e) => *e,
            Err(p) => *p.into_inner(),
        };
        let slots = self.slots();
        let mut w = Writer::default();
        w.u32(self.dim as u32);
        w.u32(self.metric.code());
        w.u32(self.m as u32);
        w.u32(self.ef_construction as u32);
        w.u64(self.rng);
        w.u32(entry.node);
        w.u32(entry.level as u32);
        w.u64(slots as u64);
        let ids: Vec<u8> = self.ids.iter().flat_map(|x| x.to_le_bytes()).collect();
        w.bytes(&ids);
        let deleted: Vec<u8> = self.deleted.iter().map(|d| *d as u8).collect();
        w.bytes(&deleted);
        w.bytes(&self.levels);
        let halves: Vec<u8> = self.residuals.iter().flat_map(|x| x.to_le_bytes()).collect();
        w.bytes(&halves);
        // Node blocks: code bytes as they are, then header and links as little-endian words.
        let code_words = self.code_len / 4;
        let mut blocks = Vec::with_capacity(slots * self.block * 4);
        for (i, word) in self.words().iter().enumerate() {
            let v = word.load(Ordering::Acquire);
            let at = i % self.block;
            if at < code_words {
                blocks.extend_from_slice(&v.to_ne_bytes());
            } else if at == self.links_at() {
                blocks.extend_from_slice(&(v & !LOCK).to_le_bytes());
            } else {
                blocks.extend_from_slice(&v.to_le_bytes());
            }
        }
        w.bytes(&blocks);
        // Upper blocks are written compactly: slots reused at a new level leave old blocks behind.
        let mut upper_at = Vec::with_capacity(slots);
        let mut upper = Vec::new();
        for s in 0..slots {
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
        let names = self.groups.names();
        w.u64(names.len() as u64);
        for name in names {
            w.bytes(name.as_bytes());
        }
        let slot_groups =
            if names.is_empty() { Vec::new() } else { self.groups.slot_groups(slots) };
        w.u32s(&slot_groups);
        w.u32s(&self.dups.alias_table(slots));
        w.bytes(meta);
        w.buf
    }

    fn decode_body(body: &[u8], version: u32) -> Result<Self> {
        let mut r = Reader::new(body);
        let dim = r.u32()? as usize;
        let metric = Metric::from_code(r.u32()?).ok_or_else(|| bad("unknown metric"))?;
        let m = r.u32()? as usize;
        let ef_construction = r.u32()? as usize;
        let mut index = HnswIndex::new(dim, metric, m, ef_construction)?;
        index.rng = r.u64()?;
        let entry_node = r.u32()?;
        let entry_level = r.u32()? as usize;
        let slots = usize::try_from(r.u64()?).map_err(|_| bad("slot count"))?;
        // Every slot takes at least its 8-byte id, so this bounds what follows by the body.
        if slots >= NONE as usize || slots > body.len() / 8 {
            return Err(bad(format!("slot count {slots} is impossible")));
        }
        let expect = |what: &str, got: usize, want: Option<usize>| {
            if Some(got) == want {
                Ok(())
            } else {
                Err(bad(format!("{what}: {got} items, expected {want:?}")))
            }
        };
        let ids = r.bytes()?;
        expect("ids", ids.len(), slots.checked_mul(8))?;
        index.ids = ids
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        let deleted = r.bytes()?;
        expect("tombstones", deleted.len(), Some(slots))?;
        if deleted.iter().any(|d| *d > 1) {
            return Err(bad("tombstone flag is not 0 or 1"));
        }
        index.deleted = deleted.iter().map(|d| *d == 1).collect();
        let levels = r.bytes()?;
        expect("levels", levels.len(), Some(slots))?;
        if levels.iter().any(|l| *l as usize > MAX_LEVEL) {
            return Err(bad("node level out of range"));
        }
        index.levels = levels.to_vec();
        let halves = r.bytes()?;
        expect("residual bytes", halves.len(), slots.checked_mul(index.stride * 2))?;
        index.residuals = Vec::with_capacity(halves.len() / 2);
        advise_huge_pages(&index.residuals);
        index.residuals.extend(halves.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])));
        // A residual is in [-0.5, 0.5]: exponent at most that of 0.5 (14), and never infinite.
        if index.residuals.iter().any(|h| h & 0x7c00 > 14 << 10) {
            return Err(bad("residual out of range"));
        }
        let blocks = r.bytes()?;
        expect("node block bytes", blocks.len(), slots.checked_mul(index.block * 4))?;
        index.nodes = index.decode_blocks(blocks, slots)?;
        let upper_at = r.u32s()?;
        expect("upper offsets", upper_at.len(), Some(slots))?;
        let upper = r.u32s()?;
        for (s, (&at, &level)) in upper_at.iter().zip(&index.levels).enumerate() {
            let level = level as usize;
            if level == 0 {
                continue;
            }
            let len = level * (1 + m);
            let end = (at as usize).checked_add(len).filter(|e| *e <= upper.len());
            if at == NONE || end.is_none() {
                return Err(bad(format!("upper links of slot {s} out of range")));
            }
            for list in upper[at as usize..at as usize + len].chunks_exact(1 + m) {
                check_list(list, m, slots)?;
            }
        }
        index.decode_groups(&mut r, slots)?;
        let alias_of = if version >= 3 { r.u32s()? } else { Vec::new() };
        let meta = r.bytes()?;
        if meta.len() > MAX_META_BYTES {
            return Err(bad(format!("meta is {} bytes (at most {MAX_META_BYTES})", meta.len())));
        }
        index.meta = Mutex::new(meta.to_vec());
        if !r.is_done() {
            return Err(bad("trailing bytes after the body"));
        }
        if entry_node == NONE {
            if index.deleted.iter().any(|d| !d) {
                return Err(bad("entry point missing"));
            }
        } else if entry_node as usize >= slots
            || entry_level > index.levels[entry_node as usize] as usize
        {
            return Err(bad("entry point out of range"));
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
        index.upper_at = upper_at;
        index.upper = upper.into_iter().map(AtomicU32::new).collect();
        index.entry = Mutex::new(Entry { node: entry_node, level: entry_level });
        index.decode_aliases(&alias_of, slots, entry_node)?;
        Ok(index)
    }

    /// The duplicates' table: each alias is a live level-0 slot, not the entry point, with
    /// the walk code of a live graph node.
    fn decode_aliases(&mut self, alias_of: &[u32], slots: usize, entry: u32) -> Result<()> {
        if alias_of.is_empty() {
            return Ok(());
        }
        if alias_of.len() != slots {
            return Err(bad(format!("aliases: {} items, expected {slots}", alias_of.len())));
        }
        for (s, &p) in alias_of.iter().enumerate() {
            if p == NONE {
                continue;
            }
            let ok = (p as usize) < slots
                && p as usize != s
                && s as u32 != entry
                && !self.deleted[s]
                && !self.deleted[p as usize]
                && self.levels[s] == 0
                && alias_of[p as usize] == NONE
                && self.same_code(s as u32, p);
            if !ok {
                return Err(bad(format!("slot {s} is not a valid alias of slot {p}")));
            }
            self.dups.link(s as u32, p, slots);
        }
        Ok(())
    }

    /// Node blocks from their bytes (length already checked), each block checked: codes in
    /// `[-127, 127]`, finite headers, level-0 lists within bounds.
    fn decode_blocks(&self, bytes: &[u8], slots: usize) -> Result<Vec<Line>> {
        let code_words = self.code_len / 4;
        let mut lines = Vec::with_capacity(slots * self.block / LINE_WORDS);
        advise_huge_pages(&lines);
        let mut block = vec![0u32; self.block];
        for raw in bytes.chunks_exact(self.block * 4) {
            if raw[..self.code_len].contains(&0x80) {
                return Err(bad("code component -128 (codes span -127..=127)"));
            }
            for (i, (w, c)) in block.iter_mut().zip(raw.chunks_exact(4)).enumerate() {
                let b = [c[0], c[1], c[2], c[3]];
                *w = if i < code_words { u32::from_ne_bytes(b) } else { u32::from_le_bytes(b) };
            }
            let (scale, norm2) =
                (f32::from_bits(block[code_words]), f32::from_bits(block[code_words + 1]));
            if !(scale.is_finite() && scale >= 0.0 && norm2.is_finite() && norm2 >= 0.0) {
                return Err(bad("bad code header"));
            }
            check_list(&block[self.links_at()..self.links_at() + 1 + self.m0], self.m0, slots)?;
            for line in block.chunks_exact(LINE_WORDS) {
                lines.push(Line(std::array::from_fn(|k| AtomicU32::new(line[k]))));
            }
        }
        Ok(lines)
    }

    fn decode_groups(&mut self, r: &mut Reader<'_>, slots: usize) -> Result<()> {
        let count = r.len(8)?;
        for g in 0..count {
            let name =
                std::str::from_utf8(r.bytes()?).map_err(|_| bad("group name is not UTF-8"))?;
            if name.len() > MAX_GROUP_NAME {
                return Err(bad("group name too long"));
            }
            if self.groups.intern(name) as usize != g {
                return Err(bad(format!("group {name:?} is stored twice")));
            }
        }
        let of_slot = r.u32s()?;
        if count == 0 && of_slot.is_empty() {
            return Ok(());
        }
        if of_slot.len() != slots {
            return Err(bad(format!("slot groups: {} items, expected {slots}", of_slot.len())));
        }
        for (s, &g) in of_slot.iter().enumerate() {
            if g == NONE {
                continue;
            }
            if g as usize >= count {
                return Err(bad(format!("slot {s} is in unknown group {g}")));
            }
            if self.deleted[s] {
                return Err(bad(format!("removed slot {s} is still in group {g}")));
            }
            self.groups.put(s as u32, g, slots);
        }
        Ok(())
    }
}

fn check_list(list: &[u32], cap: usize, slots: usize) -> Result<()> {
    let n = list[0] as usize;
    if n > cap || list[1..1 + n].iter().any(|s| *s as usize >= slots) {
        return Err(bad("neighbour list out of range"));
    }
    Ok(())
}
