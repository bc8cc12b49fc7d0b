//! Hierarchical navigable small-world graphs (Malkov & Yashunin, 2018) for approximate
//! nearest-neighbour search.
//!
//! * Vectors are stored as half floats with a per-vector scale ([`distance`]), padded for SIMD.
//! * Inserts of a batch run in parallel on all cores. Each node's neighbour lists are atomic
//!   words guarded for writers by a spin lock in the node's level-0 count word, so readers never
//!   block and writers only contend on the node they edit.
//! * Search takes `ef`; filtered search (an allowed-id set) walks the graph while the filter is
//!   broad and switches to exact search over the allowed ids when it is narrow, so very
//!   selective filters stay correct.
//! * Removal tombstones a node (it still routes searches) and frees its slot for the next
//!   insert, which rewires it. Adding an id that is present replaces its vector.
//! * `save`/`load` use the checksummed envelope of [`crate::snapshot`].

pub mod distance;
mod insert;
mod persist;
mod search;
mod storage;

use std::sync::atomic::AtomicU32;
use std::sync::Mutex;

use rustc_hash::FxHashMap;

pub use distance::{Kernels, Metric};
pub use search::Filter;

use crate::error::{Error, Result};
use storage::VisitedPool;

/// No node (an empty index's entry point, an absent upper-level block).
const NONE: u32 = u32::MAX;
/// Highest level a node may be drawn at.
const MAX_LEVEL: usize = 15;

/// The entry point of the graph: a node on the top level.
#[derive(Clone, Copy, Debug)]
struct Entry {
    node: u32,
    level: usize,
}

/// An HNSW index of `u64`-keyed vectors.
pub struct HnswIndex {
    dim: usize,
    stride: usize,
    metric: Metric,
    m: usize,
    m0: usize,
    ef_construction: usize,
    kernels: Kernels,
    /// `stride` half floats per slot.
    vectors: Vec<u16>,
    scales: Vec<f32>,
    levels: Vec<u8>,
    /// Per slot: count word (bit 31 is the node's write lock), then `m0` neighbours.
    links0: Vec<AtomicU32>,
    /// Per slot: offset of its upper-level blocks in `upper`, or [`NONE`].
    upper_at: Vec<u32>,
    /// Per upper level of a node: count word, then `m` neighbours.
    upper: Vec<AtomicU32>,
    ids: Vec<u64>,
    deleted: Vec<bool>,
    slot_of: FxHashMap<u64, u32>,
    free: Vec<u32>,
    entry: Mutex<Entry>,
    rng: u64,
    visited: VisitedPool,
    full_scan_bytes: usize,
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
        Ok(HnswIndex {
            dim,
            stride: dim.div_ceil(distance::LANES) * distance::LANES,
            metric,
            m,
            m0: 2 * m,
            ef_construction,
            kernels: Kernels::detect(),
            vectors: Vec::new(),
            scales: Vec::new(),
            levels: Vec::new(),
            links0: Vec::new(),
            upper_at: Vec::new(),
            upper: Vec::new(),
            ids: Vec::new(),
            deleted: Vec::new(),
            slot_of: FxHashMap::default(),
            free: Vec::new(),
            entry: Mutex::new(Entry { node: NONE, level: 0 }),
            rng: 0x9E37_79B9_7F4A_7C15,
            visited: VisitedPool::default(),
            full_scan_bytes: search::FULL_SCAN_BYTES,
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

    /// Bytes held by the index (vectors, links, id maps), excluding transient search state.
    pub fn memory_usage_bytes(&self) -> usize {
        use std::mem::size_of;
        self.vectors.capacity() * 2
            + self.scales.capacity() * 4
            + self.levels.capacity()
            + self.links0.capacity() * 4
            + self.upper_at.capacity() * 4
            + self.upper.capacity() * 4
            + self.ids.capacity() * 8
            + self.deleted.capacity()
            + self.free.capacity() * 4
            + self.slot_of.capacity() * (size_of::<(u64, u32)>() + 1)
            + size_of::<Self>()
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
            self.deleted[slot as usize] = true;
            self.free.push(slot);
        }
    }

    /// Checks a block of `rows` vectors: length, finiteness, and non-zero norm under cosine.
    fn validate(&self, vectors: &[f32], rows: usize, arg: &str) -> Result<()> {
        if vectors.len() != rows * self.dim {
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

    /// A query padded to the stride (and normalised under cosine), ready for the kernels.
    fn prepare(&self, row: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend_from_slice(row);
        out.resize(self.stride, 0.0);
        if self.metric == Metric::Cosine {
            let norm = out.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
            if norm > 0.0 {
                let inv = (1.0 / norm) as f32;
                out.iter_mut().for_each(|x| *x *= inv);
            }
        }
    }

    fn vector(&self, slot: u32) -> &[u16] {
        let at = slot as usize * self.stride;
        &self.vectors[at..at + self.stride]
    }

    /// Distance from a prepared query to a stored vector.
    #[inline]
    fn dist_q(&self, q: &[f32], slot: u32) -> f32 {
        match self.metric {
            Metric::Cosine => 1.0 - self.kernels.dot_qh(q, self.vector(slot)),
            Metric::InnerProduct => {
                1.0 - self.scales[slot as usize] * self.kernels.dot_qh(q, self.vector(slot))
            }
            Metric::L2 => self.kernels.l2_qh(q, self.scales[slot as usize], self.vector(slot)),
        }
    }

    /// Distance between two stored vectors.
    #[inline]
    fn dist_nodes(&self, a: u32, b: u32) -> f32 {
        if self.metric == Metric::Cosine {
            return 1.0 - self.kernels.dot_hh(self.vector(a), self.vector(b));
        }
        let (sa, sb) = (self.scales[a as usize], self.scales[b as usize]);
        match self.metric {
            Metric::L2 => self.kernels.l2_hh(sa, self.vector(a), sb, self.vector(b)),
            _ => 1.0 - sa * sb * self.kernels.dot_hh(self.vector(a), self.vector(b)),
        }
    }
}

#[cfg(test)]
mod tests;
