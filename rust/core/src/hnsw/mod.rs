//! Hierarchical navigable small-world graphs (Malkov & Yashunin, 2018) for approximate
//! nearest-neighbour search.
//!
//! * Every vector is kept as an int8 code that the graph is built and walked on, plus a
//!   half-float residual that the walk's candidates are re-ranked on ([`distance`]): 0.75x the
//!   bytes of `f32`, and precise to about 2^-19 of the largest component.
//! * A node's code, its code header and its level-0 neighbour list share one cache-aligned
//!   block (as in hnswlib), so reaching a node and expanding it touch neighbouring lines.
//! * Inserts of a batch run in parallel on all cores. Neighbour lists are atomic words guarded
//!   for writers by a spin lock in the node's level-0 count word, so readers never block and
//!   writers only contend on the node they edit.
//! * Search takes `ef`; a scoped search (allowed ids, groups) walks the graph while the scope is
//!   broad and searches exactly over the scope when it is narrow, so small scopes stay correct.
//! * Groups (sessions): every vector may belong to one named group; searches can be limited to
//!   one group or a union of groups.
//! * Vectors with the walk code of a graph node are that node's aliases, outside the graph
//!   ([`dups`]), so that a large group of exact duplicates cannot split the graph.
//! * Removal tombstones a node (it still routes searches) and frees its slot for the next
//!   insert, which rewires it. Adding an id that is present replaces its vector.
//! * `save`/`load` and `to_bytes`/`from_bytes` use the checksummed envelope of
//!   [`crate::snapshot`], with opaque caller bytes (`meta`) stored inside.

pub mod distance;
mod dups;
mod filter;
mod groups;
mod insert;
#[cfg(target_arch = "aarch64")]
mod kernels_neon;
mod kernels_scalar;
#[cfg(target_arch = "x86_64")]
mod kernels_x86;
mod metric;
mod persist;
mod quant;
mod search;
mod storage;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use rustc_hash::FxHashMap;

pub use distance::Kernels;
pub use filter::Filter;
pub use metric::Metric;

use crate::error::{Error, Result};
use dups::Dups;
use groups::Groups;
use quant::{CodeHeader, Query};
use storage::{Line, VisitedPool, LINE_WORDS};

/// No node (an empty index's entry point, an absent upper-level block, no group).
const NONE: u32 = u32::MAX;
/// Highest level a node may be drawn at.
const MAX_LEVEL: usize = 15;
/// Largest `meta` a snapshot may carry.
pub const MAX_META_BYTES: usize = 1 << 20;

/// The entry point of the graph: a node on the top level.
#[derive(Clone, Copy, Debug)]
struct Entry {
    node: u32,
    level: usize,
}

/// An HNSW index of `u64`-keyed vectors.
pub struct HnswIndex {
    dim: usize,
    /// Residual half floats per stored vector (`dim` padded to [`distance::LANES`]).
    stride: usize,
    /// Bytes per code (`dim` padded to [`distance::CODE_ALIGN`]).
    code_len: usize,
    /// Words per node block (a multiple of a cache line).
    block: usize,
    metric: Metric,
    m: usize,
    m0: usize,
    ef_construction: usize,
    kernels: Kernels,
    /// Per slot, `block` words: the code, its header (scale, norm^2), the level-0 count word
    /// (bit 31 is the node's write lock), then `m0` neighbours.
    nodes: Vec<Line>,
    /// `stride` residual half floats per slot.
    residuals: Vec<u16>,
    levels: Vec<u8>,
    /// Per slot: offset of its upper-level blocks in `upper`, or [`NONE`].
    upper_at: Vec<u32>,
    /// Per upper level of a node: count word, then `m` neighbours.
    upper: Vec<AtomicU32>,
    ids: Vec<u64>,
    deleted: Vec<bool>,
    slot_of: FxHashMap<u64, u32>,
    free: Vec<u32>,
    groups: Groups,
    /// Slots whose walk code equals a graph node's: kept as that node's aliases.
    dups: Dups,
    entry: Mutex<Entry>,
    rng: u64,
    visited: VisitedPool,
    full_scan_bytes: usize,
    meta: Mutex<Vec<u8>>,
}

impl std::fmt::Debug for HnswIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HnswIndex")
            .field("dim", &self.dim)
            .field("metric", &self.metric)
            .field("m", &self.m)
            .field("ef_construction", &self.ef_construction)
            .field("len", &self.len())
            .field("kernels", &self.kernels)
            .finish()
    }
}

impl HnswIndex {
    /// An empty index of `dim`-dimensional vectors; `m` links per node (twice that on level
    /// 0) and a candidate list of `ef_construction` while building.
    pub fn new(dim: usize, metric: Metric, m: usize, ef_construction: usize) -> Result<Self> {
        if dim == 0 || dim > 65_536 {
            return Err(Error::invalid(format!("dim must be in 1..=65536, got {dim}")));
        }
        if !(2..=256).contains(&m) {
            return Err(Error::invalid(format!("M must be in 2..=256, got {m}")));
        }
        if ef_construction == 0 || ef_construction > 100_000 {
            return Err(Error::invalid(format!(
                "ef_construction must be in 1..=100000, got {ef_construction}"
            )));
        }
        let code_len = dim.div_ceil(distance::CODE_ALIGN) * distance::CODE_ALIGN;
        let m0 = 2 * m;
        let block = (code_len / 4 + 2 + 1 + m0).div_ceil(LINE_WORDS) * LINE_WORDS;
        Ok(HnswIndex {
            dim,
            stride: dim.div_ceil(distance::LANES) * distance::LANES,
            code_len,
            block,
            metric,
            m,
            m0,
            ef_construction,
            kernels: Kernels::detect(),
            nodes: Vec::new(),
            residuals: Vec::new(),
            levels: Vec::new(),
            upper_at: Vec::new(),
            upper: Vec::new(),
            ids: Vec::new(),
            deleted: Vec::new(),
            slot_of: FxHashMap::default(),
            free: Vec::new(),
            groups: Groups::default(),
            dups: Dups::default(),
            entry: Mutex::new(Entry { node: NONE, level: 0 }),
            rng: 0x9E37_79B9_7F4A_7C15,
            visited: VisitedPool::default(),
            full_scan_bytes: search::FULL_SCAN_BYTES,
            meta: Mutex::new(Vec::new()),
        })
    }

    /// Uses `kernels` instead of the detected ones (tests compare kernel sets this way).
    pub fn with_kernels(mut self, kernels: Kernels) -> Self {
        self.kernels = kernels;
        self
    }

    /// Searches exactly while the stored vectors take at most `bytes` (0: always use the
    /// graph). Not saved with the index.
    pub fn set_full_scan_bytes(&mut self, bytes: usize) {
        self.full_scan_bytes = bytes;
    }

    /// Dimension of the vectors.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// The metric.
    pub fn metric(&self) -> Metric {
        self.metric
    }
    /// Links per node on the upper levels.
    pub fn m(&self) -> usize {
        self.m
    }
    /// Candidate list size while building.
    pub fn ef_construction(&self) -> usize {
        self.ef_construction
    }
    /// The distance kernels in use.
    pub fn kernels(&self) -> Kernels {
        self.kernels
    }
    /// Number of live vectors.
    pub fn len(&self) -> usize {
        self.slot_of.len()
    }
    /// True when no vector is live.
    pub fn is_empty(&self) -> bool {
        self.slot_of.is_empty()
    }
    /// True when `id` is live.
    pub fn contains(&self, id: u64) -> bool {
        self.slot_of.contains_key(&id)
    }
    /// The live ids, in slot order.
    pub fn ids(&self) -> Vec<u64> {
        (0..self.ids.len()).filter(|&s| !self.deleted[s]).map(|s| self.ids[s]).collect()
    }
    /// The caller's bytes stored with the snapshot this index was loaded from or last written
    /// to (empty when none).
    pub fn meta(&self) -> Vec<u8> {
        self.meta.lock().map(|m| m.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Bytes held by the index (vectors, links, id maps, groups), excluding transient search
    /// state.
    pub fn memory_usage_bytes(&self) -> usize {
        use std::mem::size_of;
        self.nodes.capacity() * size_of::<Line>()
            + self.residuals.capacity() * 2
            + self.levels.capacity()
            + self.upper_at.capacity() * 4
            + self.upper.capacity() * 4
            + self.ids.capacity() * 8
            + self.deleted.capacity()
            + self.free.capacity() * 4
            + self.slot_of.capacity() * (size_of::<(u64, u32)>() + 1)
            + self.groups.memory_usage_bytes()
            + self.dups.memory_usage_bytes()
            + size_of::<Self>()
    }

    /// The stored vectors of `ids` (rebuilt from code and residual), row-major
    /// `ids.len() x dim`. Under cosine they come back L2-normalised. Every id must be live,
    /// else [`Error::UnknownIds`] names the missing ones.
    pub fn get_vectors(&self, ids: &[u64]) -> Result<Vec<f32>> {
        let missing: Vec<u64> = ids.iter().copied().filter(|id| !self.contains(*id)).collect();
        if !missing.is_empty() {
            return Err(Error::UnknownIds(missing));
        }
        let mut out = vec![0.0f32; ids.len() * self.dim];
        for (id, dst) in ids.iter().zip(out.chunks_exact_mut(self.dim)) {
            if let Some(&slot) = self.slot_of.get(id) {
                quant::decode(self.code(slot), self.residual(slot), self.header(slot), dst);
            }
        }
        Ok(out)
    }

    /// Removes `ids`; every id must be live, else nothing is removed and
    /// [`Error::UnknownIds`] names the missing ones. Freed slots are reused by later inserts.
    pub fn remove(&mut self, ids: &[u64]) -> Result<()> {
        let missing: Vec<u64> = ids.iter().copied().filter(|id| !self.contains(*id)).collect();
        if !missing.is_empty() {
            return Err(Error::UnknownIds(missing));
        }
        for id in ids {
            self.remove_one(*id);
        }
        Ok(())
    }

    /// Tombstones one live id (a no-op for absent ids, e.g. a duplicate in the same call).
    fn remove_one(&mut self, id: u64) {
        if let Some(slot) = self.slot_of.remove(&id) {
            let freed = self.leave_dups(slot);
            self.deleted[freed as usize] = true;
            self.groups.leave(freed);
            self.free.push(freed);
        }
    }

    /// Checks a block of `rows` vectors: length, finiteness, and non-zero norm under cosine.
    fn validate(&self, vectors: &[f32], rows: usize, arg: &str) -> Result<()> {
        if Some(vectors.len()) != rows.checked_mul(self.dim) {
            return Err(Error::invalid(format!(
                "{arg} must hold {rows} x {} values (dim={}), got {}",
                self.dim,
                self.dim,
                vectors.len()
            )));
        }
        for (r, row) in vectors.chunks_exact(self.dim).enumerate() {
            if let Some(c) = row.iter().position(|x| !x.is_finite()) {
                return Err(Error::invalid(format!(
                    "{arg}[{r}, {c}] is {} (values must be finite)",
                    row[c]
                )));
            }
            if self.metric == Metric::Cosine && row.iter().all(|x| *x == 0.0) {
                return Err(Error::invalid(format!(
                    "{arg}[{r}] is a zero vector, which has no direction under cosine"
                )));
            }
        }
        Ok(())
    }

    /// `row` prepared as a query of this index.
    fn query(&self, row: &[f32], out: &mut Query) {
        out.prepare(row, self.metric, self.stride, self.code_len);
    }

    /// Every word of the node blocks.
    #[inline(always)]
    fn words(&self) -> &[AtomicU32] {
        storage::words(&self.nodes)
    }

    /// The int8 code of `slot`.
    #[inline(always)]
    fn code(&self, slot: u32) -> &[i8] {
        let at = slot as usize * self.block;
        storage::bytes_of(&self.words()[at..at + self.code_len / 4])
    }

    /// The code header of `slot`.
    #[inline(always)]
    fn header(&self, slot: u32) -> CodeHeader {
        let at = slot as usize * self.block + self.code_len / 4;
        let w = &self.words()[at..at + 2];
        CodeHeader {
            scale: f32::from_bits(w[0].load(Ordering::Relaxed)),
            norm2: f32::from_bits(w[1].load(Ordering::Relaxed)),
        }
    }

    /// The half-float residual of `slot`.
    #[inline(always)]
    fn residual(&self, slot: u32) -> &[u16] {
        let at = slot as usize * self.stride;
        &self.residuals[at..at + self.stride]
    }

    /// Walk distance from a prepared query to a stored vector (int8 codes).
    #[inline(always)]
    fn dist_code(&self, q: &Query, slot: u32) -> f32 {
        let dot = self.kernels.dot_i8(&q.code, self.code(slot));
        quant::code_distance(self.metric, dot, q.head, self.header(slot))
    }

    /// Walk distance between two stored vectors (int8 codes).
    #[inline(always)]
    fn dist_nodes(&self, a: u32, b: u32) -> f32 {
        let dot = self.kernels.dot_i8(self.code(a), self.code(b));
        quant::code_distance(self.metric, dot, self.header(a), self.header(b))
    }

    /// Re-ranking distance from a prepared query to a stored vector (code plus residual).
    #[inline]
    fn dist_exact(&self, q: &Query, slot: u32) -> f32 {
        let head = self.header(slot);
        let code = &self.code(slot)[..self.stride];
        let dot = head.scale * self.kernels.dot_qcr(&q.f, code, self.residual(slot));
        match self.metric {
            Metric::Cosine | Metric::InnerProduct => 1.0 - dot,
            Metric::L2 => (q.head.norm2 + head.norm2 - 2.0 * dot).max(0.0),
        }
    }
}

#[cfg(test)]
mod kernel_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_dups;
#[cfg(test)]
mod tests_groups;
#[cfg(test)]
mod tests_persist;
