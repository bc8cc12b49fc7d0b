//! The keyword index: an inverted index of `u32` postings with BM25 or Jaccard scoring,
//! deletion, groups (sessions) and topics.
//!
//! Documents are numbered in insertion order; postings list those numbers in ascending order,
//! so appending keeps every list sorted. New postings go to a small uncompressed tail, which is
//! sealed into the compressed lists ([`sealed`], [`block`]) once it holds an eighth of the
//! documents, so sealing costs a constant amount of copying per document.
//!
//! Deleting clears a bit in `alive` (a tombstone): searches skip dead documents, and their
//! postings leave the lists on [`KeywordIndex::compact`] (which `remove` runs by itself once
//! deletions reach a quarter of the live documents). Document frequencies stay exact: a query's
//! terms are counted once after a deletion ([`KeywordIndex::clean_for`]) and remembered.

mod block;
mod ids;
mod ingest;
mod lens;
mod persist;
mod postings;
mod sealed;
mod search;
pub mod topics;

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

pub use self::block::Cursor;
pub use self::postings::{tf_bucket, Postings, TF_BUCKETS};
use self::sealed::{Sealed, TermRef};
pub use self::search::Neighbours;
pub use self::topics::{default_topics, Topics};
use crate::error::{Error, Result};
use crate::text::Analyzer;

/// Documents in a group-less slot of `doc_group`.
pub const NO_GROUP: u32 = u32::MAX;

/// Deletions that may accumulate before `remove` compacts on its own (see `remove`).
const COMPACT_MIN_DELETED: usize = 4096;

/// Batches smaller than this are analyzed on the calling thread: spawning costs more.
const PARALLEL_MIN: usize = 4096;

/// Makes room for `extra` more items, growing by an eighth of the length when that is more
/// instead of doubling: per-document arrays then hold at most an eighth of spare capacity
/// (doubling left up to half of it, which `memory_bytes` counts), for a few more copies.
pub(crate) fn reserve_gently<T>(v: &mut Vec<T>, extra: usize) {
    if v.capacity() - v.len() < extra {
        v.reserve_exact(extra.max(v.len() / 8));
    }
}

/// Appends to a per-group (or per-topic) list, growing it as [`reserve_gently`] does.
fn push_gently(list: &mut Vec<u32>, doc: u32) {
    if list.len() == list.capacity() {
        list.reserve_exact((list.len() / 8).max(4));
    }
    list.push(doc);
}

/// How documents are scored against a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scoring {
    /// Okapi BM25 with the index's `k1` and `b`.
    Bm25,
    /// The seed's Jaccard similarity of the query's and the document's term sets.
    Jaccard,
}

impl Scoring {
    /// Parses `"bm25"` or `"jaccard"`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "bm25" => Ok(Scoring::Bm25),
            "jaccard" => Ok(Scoring::Jaccard),
            other => Err(Error::invalid(format!(
                "scoring must be \"bm25\" or \"jaccard\", got {other:?}"
            ))),
        }
    }

    /// The name [`Scoring::parse`] accepts.
    pub fn name(self) -> &'static str {
        match self {
            Scoring::Bm25 => "bm25",
            Scoring::Jaccard => "jaccard",
        }
    }
}

/// Scoring parameters and text analysis of an index.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    /// BM25 or Jaccard.
    pub scoring: Scoring,
    /// BM25 term-frequency saturation.
    pub k1: f32,
    /// BM25 length normalisation.
    pub b: f32,
    /// How documents and queries are split into terms.
    pub analyzer: Analyzer,
}

impl Default for Params {
    fn default() -> Self {
        Params { scoring: Scoring::Bm25, k1: 1.2, b: 0.75, analyzer: Analyzer::default() }
    }
}

impl Params {
    /// Checks `k1` and `b` (finite, `k1 >= 0`, `0 <= b <= 1`).
    pub fn validate(&self) -> Result<()> {
        if !self.k1.is_finite() || self.k1 < 0.0 {
            return Err(Error::invalid(format!("k1 must be finite and >= 0, got {}", self.k1)));
        }
        if !(0.0..=1.0).contains(&self.b) {
            return Err(Error::invalid(format!("b must be in [0, 1], got {}", self.b)));
        }
        Ok(())
    }
}

/// An inverted index over documents identified by `u64` ids.
#[derive(Debug)]
pub struct KeywordIndex {
    params: Params,
    topics: Topics,
    /// Compressed lists of every document up to the last seal.
    sealed: Sealed,
    /// The tail: terms of documents added since the last seal, and their uncompressed lists.
    terms: FxHashMap<Box<str>, u32>,
    postings: Vec<Postings>,
    /// Documents added since the last seal.
    tail_docs: usize,
    ids: ids::DocIds,
    lens: lens::DocLens,
    /// Distinct terms per document (for Jaccard), in the byte codes of `lens`.
    uniq: lens::DocLens,
    doc_group: Vec<u32>,
    alive: Vec<u64>,
    /// Live documents.
    live: usize,
    total_len: u64,
    group_ids: FxHashMap<Box<str>, u32>,
    group_names: Vec<Box<str>>,
    group_docs: Vec<Vec<u32>>,
    /// Documents added without a group, in order (purged lazily: readers skip dead ones).
    ungrouped: Vec<u32>,
    topic_docs: Vec<Vec<u32>>,
    epoch: u32,
    /// The epoch at which the lists last held no deleted document.
    clean_epoch: u32,
    /// Live document frequencies of terms counted since then, with the epoch of the count.
    live_df: FxHashMap<TermRef, (u32, u32)>,
    /// Deletions since the last [`KeywordIndex::compact`].
    deleted_since_compact: usize,
}

impl KeywordIndex {
    /// An empty index; `topics` are `(name, keywords)` pairs (see [`default_topics`]).
    pub fn new(params: Params, topics: Vec<(String, Vec<String>)>) -> Result<Self> {
        params.validate()?;
        let topics = Topics::new(topics, &params.analyzer)?;
        let topic_docs = vec![Vec::new(); topics.config.len()];
        Ok(KeywordIndex {
            params,
            topics,
            sealed: Sealed::default(),
            terms: FxHashMap::default(),
            postings: Vec::new(),
            tail_docs: 0,
            ids: ids::DocIds::default(),
            lens: lens::DocLens::default(),
            uniq: lens::DocLens::default(),
            doc_group: Vec::new(),
            alive: Vec::new(),
            live: 0,
            total_len: 0,
            group_ids: FxHashMap::default(),
            group_names: Vec::new(),
            group_docs: Vec::new(),
            ungrouped: Vec::new(),
            topic_docs,
            epoch: 0,
            clean_epoch: 0,
            live_df: FxHashMap::default(),
            deleted_since_compact: 0,
        })
    }

    /// The scoring parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The configured topics, `(name, keywords)`.
    pub fn topics(&self) -> &[(String, Vec<String>)] {
        &self.topics.config
    }

    /// Live (not deleted) documents.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when no live document is held.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// True when `id` is a live document.
    pub fn contains(&self, id: u64) -> bool {
        self.doc_of(id).is_some()
    }

    /// The live document holding `id`.
    fn doc_of(&self, id: u64) -> Option<u32> {
        self.ids.find(id, |d| self.is_alive(d))
    }

    /// Distinct terms held (terms only deleted documents had leave on compaction).
    pub fn vocabulary_len(&self) -> usize {
        let tail_only = self.terms.keys().filter(|t| self.sealed.find(t).is_none()).count();
        self.sealed.len() + tail_only
    }

    /// Live documents of `group` (0 for an unknown group).
    pub fn group_len(&self, group: &str) -> usize {
        self.group_ids.get(group).map_or(0, |&g| self.group_docs[g as usize].len())
    }

    #[inline]
    fn is_alive(&self, doc: u32) -> bool {
        self.alive[(doc >> 6) as usize] >> (doc & 63) & 1 != 0
    }

    /// Indexes `texts` under `ids`, each optionally in a group (a session). Ids must be new
    /// and distinct; on error nothing is added. Large batches are analyzed on all cores.
    pub fn add(&mut self, ids: &[u64], texts: &[&str], groups: Option<&[&str]>) -> Result<()> {
        if ids.len() != texts.len() {
            return Err(Error::invalid(format!(
                "ids and texts differ in length ({} ids, {} texts)",
                ids.len(),
                texts.len()
            )));
        }
        if let Some(g) = groups {
            if g.len() != ids.len() {
                return Err(Error::invalid(format!(
                    "groups and ids differ in length ({} groups, {} ids)",
                    g.len(),
                    ids.len()
                )));
            }
        }
        self.check_new_ids(ids)?;
        if self.ids.len() + ids.len() >= u32::MAX as usize {
            return Err(Error::invalid("the index is full (2^32 - 1 documents ever added)"));
        }
        let chunks = if texts.len() < PARALLEL_MIN {
            vec![ingest::analyze_chunk(&self.params.analyzer, &self.topics, texts)]
        } else {
            // Two chunks per thread: enough to even out a slow thread, few enough that each
            // chunk's word cache and term dictionary are learnt (and merged) rarely.
            let size = (texts.len() / (rayon::current_num_threads() * 2)).max(PARALLEL_MIN / 2);
            let (analyzer, topics) = (&self.params.analyzer, &self.topics);
            texts.par_chunks(size).map(|c| ingest::analyze_chunk(analyzer, topics, c)).collect()
        };
        let n = ids.len();
        self.ids.reserve(n);
        self.lens.reserve(n);
        self.uniq.reserve(n);
        reserve_gently(&mut self.doc_group, n);
        let words = (self.ids.len() + n).div_ceil(64) - self.alive.len();
        reserve_gently(&mut self.alive, words);
        let first = self.ids.len() as u32;
        let mut base = first;
        for chunk in chunks {
            let n = chunk.lens.len() as u32;
            self.merge(base, chunk);
            base += n;
        }
        for (i, &id) in ids.iter().enumerate() {
            let doc = first + i as u32;
            let alive = &self.alive;
            self.ids.push(id, |d| alive[(d >> 6) as usize] >> (d & 63) & 1 != 0);
            if doc & 63 == 0 {
                self.alive.push(0);
            }
            self.alive[(doc >> 6) as usize] |= 1 << (doc & 63);
            self.live += 1;
            let group = match groups {
                Some(g) => self.group_of(g[i]),
                None => NO_GROUP,
            };
            self.doc_group.push(group);
            if group != NO_GROUP {
                push_gently(&mut self.group_docs[group as usize], doc);
            } else {
                push_gently(&mut self.ungrouped, doc);
            }
        }
        self.tail_docs += ids.len();
        // Live counts taken since the last deletion no longer hold for the terms just added.
        self.live_df.clear();
        if self.tail_docs * 8 >= self.ids.len() {
            // A seal that fails (4 GiB of postings) leaves the tail as it is, still searchable.
            let _ = self.seal(false);
        }
        Ok(())
    }

    /// Moves the tail into the compressed lists; with `purge`, also drops every deleted
    /// document's postings (and terms left with none).
    fn seal(&mut self, purge: bool) -> Result<()> {
        let mut tail: Vec<(&str, &Postings)> =
            self.terms.iter().map(|(t, &id)| (&**t, &self.postings[id as usize])).collect();
        let alive = &self.alive;
        let keep = |d: u32| alive[(d >> 6) as usize] >> (d & 63) & 1 != 0;
        self.sealed = sealed::merge(&self.sealed, &mut tail, purge, keep)?;
        self.terms = FxHashMap::default();
        self.postings = Vec::new();
        self.tail_docs = 0;
        self.live_df = FxHashMap::default();
        Ok(())
    }

    fn check_new_ids(&self, ids: &[u64]) -> Result<()> {
        if let Some(id) = ids.iter().find(|&&id| self.contains(id)) {
            return Err(Error::invalid(format!("ids: id {id} is already in the index")));
        }
        if ids.len() > 1 {
            let mut seen = FxHashSet::with_capacity_and_hasher(ids.len(), Default::default());
            if let Some(id) = ids.iter().find(|&&id| !seen.insert(id)) {
                return Err(Error::invalid(format!("ids: id {id} appears twice in the batch")));
            }
        }
        Ok(())
    }

    fn group_of(&mut self, name: &str) -> u32 {
        if let Some(&g) = self.group_ids.get(name) {
            return g;
        }
        let g = self.group_names.len() as u32;
        self.group_ids.insert(name.into(), g);
        self.group_names.push(name.into());
        self.group_docs.push(Vec::new());
        g
    }

    /// Appends one analyzed chunk whose first document is `base`.
    fn merge(&mut self, base: u32, chunk: ingest::Chunk) {
        for (t, term) in chunk.terms.into_iter().enumerate() {
            let range = chunk.offsets[t] as usize..chunk.offsets[t + 1] as usize;
            let next = self.postings.len() as u32;
            let tid = *self.terms.entry(term).or_insert(next);
            if tid == next {
                self.postings.push(Postings::new());
            }
            let list = &mut self.postings[tid as usize];
            let docs = &chunk.docs[range.clone()];
            let tfs = &chunk.tfs[range];
            list.docs.extend(docs.iter().map(|&d| base + d));
            list.tfs.extend_from_slice(tfs);
            for (&d, &tf) in docs.iter().zip(tfs) {
                list.max_tf = list.max_tf.max(tf);
                let slot = &mut list.min_len[postings::tf_bucket(tf)];
                *slot = (*slot).min(chunk.lens[d as usize]);
            }
        }
        self.total_len += chunk.lens.iter().map(|&l| l as u64).sum::<u64>();
        for (d, mask) in chunk.topics.iter().enumerate() {
            let mut m = *mask;
            while m != 0 {
                let t = m.trailing_zeros() as usize;
                push_gently(&mut self.topic_docs[t], base + d as u32);
                m &= m - 1;
            }
        }
        for &len in &chunk.lens {
            self.lens.push(len);
        }
        for &u in &chunk.uniq {
            self.uniq.push(u as u32);
        }
    }

    /// Deletes `ids`. Every id must be live: otherwise nothing is deleted and the error lists
    /// the unknown ones.
    pub fn remove(&mut self, ids: &[u64]) -> Result<()> {
        let unknown: Vec<u64> = ids.iter().copied().filter(|&id| !self.contains(id)).collect();
        if !unknown.is_empty() {
            return Err(Error::UnknownIds(unknown));
        }
        let mut touched: FxHashSet<u32> = FxHashSet::default();
        for id in ids {
            // A repeated id was removed by its first occurrence.
            let Some(doc) = self.doc_of(*id) else { continue };
            self.ids.remove(*id);
            self.alive[(doc >> 6) as usize] &= !(1 << (doc & 63));
            self.live -= 1;
            self.total_len -= self.lens.get(doc) as u64;
            let g = self.doc_group[doc as usize];
            if g != NO_GROUP {
                touched.insert(g);
            }
        }
        // Group lists are purged eagerly: a session-scoped search walks them, and the cost is
        // the session's size, which is what a session-scoped operation may cost.
        let alive = &self.alive;
        for g in touched {
            self.group_docs[g as usize].retain(|&d| alive[(d >> 6) as usize] >> (d & 63) & 1 != 0);
        }
        if !ids.is_empty() {
            self.epoch = self.epoch.wrapping_add(1);
            self.deleted_since_compact += ids.len();
            // Lists no query reads are never purged lazily; once deletions reach a quarter
            // of the live documents, purge everything (amortised over those deletions).
            if self.deleted_since_compact >= COMPACT_MIN_DELETED
                && self.deleted_since_compact * 4 >= self.len()
            {
                self.compact();
            }
        }
        Ok(())
    }

    /// Counts the live documents of `query`'s terms (once per deletion epoch), so that a
    /// search after deletions scores with exact document frequencies without recounting.
    pub fn clean_for(&mut self, query: &str) {
        if self.epoch == self.clean_epoch {
            return;
        }
        for t in self.query_terms(query).0 {
            if self.live_df.get(&t).is_none_or(|&(e, _)| e != self.epoch) {
                let df = self.count_live(t);
                self.live_df.insert(t, (self.epoch, df));
            }
        }
    }

    /// True when [`KeywordIndex::clean_for`] would change something for `query`.
    pub fn needs_cleaning(&self, query: &str) -> bool {
        self.epoch != self.clean_epoch
            && self
                .query_terms(query)
                .0
                .iter()
                .any(|t| self.live_df.get(t).is_none_or(|&(e, _)| e != self.epoch))
    }

    /// Purges every posting list and topic list of deleted documents, compresses the tail and
    /// releases spare capacity (after a bulk load, or after many deletions).
    pub fn compact(&mut self) {
        self.deleted_since_compact = 0;
        if self.seal(self.epoch != self.clean_epoch).is_ok() {
            self.clean_epoch = self.epoch;
        }
        let alive = &self.alive;
        let is_alive = |d: u32| alive[(d >> 6) as usize] >> (d & 63) & 1 != 0;
        let lists = self.topic_docs.iter_mut().chain(self.group_docs.iter_mut());
        for list in lists.chain(std::iter::once(&mut self.ungrouped)) {
            list.retain(|&d| is_alive(d));
            list.shrink_to_fit();
        }
        self.ids.shrink_to_fit();
        self.lens.shrink_to_fit();
        self.uniq.shrink_to_fit();
        self.doc_group.shrink_to_fit();
        self.alive.shrink_to_fit();
        self.live_df.shrink_to_fit();
    }

    /// Ids of the live documents tagged with `topic` (optionally only those in `group`), in
    /// insertion order.
    pub fn topic_ids(&self, topic: &str, group: Option<&str>) -> Result<Vec<u64>> {
        let t = self.topics.find(topic).ok_or_else(|| {
            let names: Vec<&str> = self.topics.config.iter().map(|(n, _)| n.as_str()).collect();
            Error::invalid(format!("topic: unknown topic {topic:?}; known topics: {names:?}"))
        })?;
        let g = match group {
            None => None,
            Some(name) => match self.group_ids.get(name) {
                Some(&g) => Some(g),
                None => return Ok(Vec::new()),
            },
        };
        Ok(self.topic_docs[t]
            .iter()
            .copied()
            .filter(|&d| self.is_alive(d) && g.is_none_or(|g| self.doc_group[d as usize] == g))
            .map(|d| self.ids.get(d))
            .collect())
    }

    /// Bytes held by the index's data structures (by capacity, including hash tables).
    pub fn memory_bytes(&self) -> usize {
        let map_entry = |key: usize| key + 8 + 1; // slot plus control byte (hashbrown)
        let tail: usize = self.terms.keys().map(|k| k.len() + 16).sum::<usize>()
            + self.terms.capacity() * map_entry(16 + 4)
            + self.postings.iter().map(|p| p.heap_bytes()).sum::<usize>()
            + self.postings.capacity() * std::mem::size_of::<Postings>()
            + self.live_df.capacity() * (std::mem::size_of::<(TermRef, (u32, u32))>() + 1);
        let docs = self.ids.heap_bytes()
            + self.lens.heap_bytes()
            + self.uniq.heap_bytes()
            + self.doc_group.capacity() * 4
            + self.alive.capacity() * 8;
        let groups: usize = self.group_docs.iter().map(|g| g.capacity() * 4 + 24).sum::<usize>()
            + self.group_names.iter().map(|n| 2 * (n.len() + 16) + 5).sum::<usize>()
            + self.group_ids.capacity() * map_entry(16 + 4);
        let topics: usize = self.topic_docs.iter().map(|t| t.capacity() * 4).sum::<usize>()
            + self.ungrouped.capacity() * 4;
        self.sealed.heap_bytes() + tail + docs + groups + topics
    }
}

#[cfg(test)]
mod tests;
