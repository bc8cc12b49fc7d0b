//! Top-k search: BM25 with MaxScore pruning, Jaccard, and the session-scoped walk.
//!
//! MaxScore (Turtle & Flood 1995): query terms are sorted by their score upper bound; once the
//! k-th best score exceeds the summed bounds of the weakest terms, those terms can no longer
//! make a document enter the top k by themselves, so only documents of the remaining
//! ("essential") terms are visited and the weak lists are merely probed with galloping seeks.
//! Documents are visited in ascending order and ties go to the earlier document, so a later
//! document must strictly beat the k-th score, which is what lets equal bounds prune.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rustc_hash::FxHashMap;

use super::block::{Cursor, Header};
use super::lens::LONG;
use super::postings::max_saturation;
use super::sealed::TermRef;
use super::{KeywordIndex, Scoring, NO_GROUP, TF_BUCKETS};
use crate::error::{Error, Result};

/// Lists at least this long get a frequency-1 score table in MaxScore (building one costs
/// about 255 divisions, worth it only when many postings will read it).
const TABLE_MIN_POSTINGS: usize = 2048;

/// Most candidates the pruned neighbour search tries before scoring every match.
const MAX_CANDIDATES: usize = 4096;

/// Upper bounds are inflated by this factor so that float rounding in a document's summed
/// score can never exceed its bound.
const BOUND_SLACK: f32 = 1.0 + 1e-5;

#[derive(Clone, Copy, Debug)]
struct Entry {
    score: f32,
    doc: u32,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Greater means worse, so the max-heap's top is the entry to evict.
    fn cmp(&self, other: &Self) -> Ordering {
        other.score.total_cmp(&self.score).then(self.doc.cmp(&other.doc))
    }
}

/// The best k (score, doc) pairs seen so far.
struct TopK {
    k: usize,
    heap: BinaryHeap<Entry>,
}

impl TopK {
    fn new(k: usize) -> Self {
        TopK { k, heap: BinaryHeap::with_capacity(k.min(4096) + 1) }
    }

    /// The score a new (later) document must strictly beat, or -inf while not full.
    #[inline]
    fn threshold(&self) -> f32 {
        if self.heap.len() < self.k {
            f32::NEG_INFINITY
        } else {
            self.heap.peek().map_or(f32::NEG_INFINITY, |e| e.score)
        }
    }

    /// Offers a document visited in ascending order; true when it entered the top k.
    #[inline]
    fn offer(&mut self, score: f32, doc: u32) -> bool {
        if score <= self.threshold() {
            return false;
        }
        self.heap.push(Entry { score, doc });
        if self.heap.len() > self.k {
            self.heap.pop();
        }
        true
    }

    fn into_sorted(self) -> Vec<Entry> {
        self.heap.into_sorted_vec()
    }
}

/// Weights by which a document also earns the scores of the documents next to it in its group
/// (documents added without a group form one sequence). In a conversation the turn after a
/// matching question is often the answer, so `previous` lets it inherit part of its question's
/// score. Zero weights (the default) give plain BM25 or Jaccard with MaxScore pruning; nonzero
/// weights score every matching document in scope.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Neighbours {
    /// Share of the previous document's score a document earns.
    pub previous: f32,
    /// Share of the next document's score a document earns.
    pub next: f32,
}

impl Neighbours {
    /// Checks that both weights are finite and non-negative.
    pub fn validate(&self) -> Result<()> {
        for (name, w) in [("previous", self.previous), ("next", self.next)] {
            if !w.is_finite() || w < 0.0 {
                return Err(Error::invalid(format!(
                    "neighbour_weights: the {name} weight must be finite and >= 0, got {w}"
                )));
            }
        }
        Ok(())
    }

    fn is_zero(&self) -> bool {
        self.previous == 0.0 && self.next == 0.0
    }
}

/// One query term's list and scoring constants.
#[derive(Clone)]
struct Term<'a> {
    cursor: Cursor<'a>,
    idf: f32,
    bound: f32,
    /// For long lists in MaxScore: the contribution at frequency 1 by length code, so the
    /// commonest posting costs one table read instead of a division.
    at_tf1: Option<Vec<f32>>,
}

impl KeywordIndex {
    /// Where the distinct known terms of `query` are, and how many distinct terms it has.
    pub(crate) fn query_terms(&self, query: &str) -> (Vec<TermRef>, usize) {
        let mut terms: Vec<String> = Vec::new();
        self.params.analyzer.for_each_term(query, &mut String::new(), |t| {
            if !terms.iter().any(|s| s == t) {
                terms.push(t.to_string());
            }
        });
        let known = terms.iter().filter_map(|t| self.term_ref(t)).collect();
        (known, terms.len())
    }

    fn term_ref(&self, term: &str) -> Option<TermRef> {
        let r = TermRef { sealed: self.sealed.find(term), tail: self.terms.get(term).copied() };
        (r.sealed.is_some() || r.tail.is_some()).then_some(r)
    }

    /// A cursor over a term's sealed list then its tail list.
    fn cursor(&self, r: TermRef) -> Cursor<'_> {
        let sealed = r.sealed.map_or(&[][..], |o| self.sealed.list(o));
        match r.tail {
            Some(t) => {
                let p = &self.postings[t as usize];
                Cursor::new(sealed, &p.docs, &p.tfs)
            }
            None => Cursor::new(sealed, &[], &[]),
        }
    }

    /// A term's posting count and score bounds over its sealed and tail lists.
    fn stats(&self, r: TermRef) -> Header {
        let mut h = match r.sealed {
            Some(o) => {
                Header::read(self.sealed.list(o)).expect("lists in memory are well formed").0
            }
            None => Header { n: 0, max_tf: 0, min_len: [u32::MAX; TF_BUCKETS] },
        };
        if let Some(t) = r.tail {
            let p = &self.postings[t as usize];
            h.n += p.docs.len();
            h.max_tf = h.max_tf.max(p.max_tf);
            for (slot, &len) in h.min_len.iter_mut().zip(&p.min_len) {
                *slot = (*slot).min(len);
            }
        }
        h
    }

    /// Live documents in a term's lists, counted.
    pub(crate) fn count_live(&self, r: TermRef) -> u32 {
        let mut c = self.cursor(r);
        let mut n = 0;
        while c.doc() != u32::MAX {
            n += self.is_alive(c.doc()) as u32;
            c.next();
        }
        n
    }

    /// Live documents in a term's lists: the posting count when nothing was deleted since the
    /// lists were purged, else the count [`KeywordIndex::clean_for`] remembered, else counted.
    fn doc_freq(&self, r: TermRef, postings: usize) -> usize {
        if self.epoch == self.clean_epoch {
            return postings;
        }
        match self.live_df.get(&r) {
            Some(&(e, df)) if e == self.epoch => df as usize,
            _ => self.count_live(r) as usize,
        }
    }

    /// The best `k` documents for `query`, best first, as `(id, score)`; with `group`, only
    /// documents of that group, at a cost that grows with the group rather than the index.
    /// Empty, stop-word-only or unknown-term queries find nothing.
    pub fn search(&self, query: &str, k: usize, group: Option<&str>) -> Result<Vec<(u64, f32)>> {
        self.search_with(query, k, group, Neighbours::default())
    }

    /// [`KeywordIndex::search`] where each document also earns shares of its neighbours'
    /// scores (see [`Neighbours`]).
    pub fn search_with(
        &self,
        query: &str,
        k: usize,
        group: Option<&str>,
        neighbours: Neighbours,
    ) -> Result<Vec<(u64, f32)>> {
        self.search_impl(query, k, group, neighbours, true)
    }

    /// [`KeywordIndex::search_with`] scoring every matching document (the reference the
    /// pruned neighbour search is tested against).
    #[cfg(test)]
    pub(crate) fn search_exhaustive(
        &self,
        query: &str,
        k: usize,
        neighbours: Neighbours,
    ) -> Result<Vec<(u64, f32)>> {
        self.search_impl(query, k, None, neighbours, false)
    }

    fn search_impl(
        &self,
        query: &str,
        k: usize,
        group: Option<&str>,
        neighbours: Neighbours,
        prune: bool,
    ) -> Result<Vec<(u64, f32)>> {
        neighbours.validate()?;
        if k == 0 {
            return Err(Error::invalid("k must be >= 1, got 0"));
        }
        let group = match group {
            None => None,
            Some(name) => match self.group_ids.get(name) {
                Some(&g) => Some(g),
                None => return Ok(Vec::new()),
            },
        };
        let (tids, n_query) = self.query_terms(query);
        if tids.is_empty() || self.is_empty() {
            return Ok(Vec::new());
        }
        let n = self.len() as f32;
        let avg_len = (self.total_len as f32 / n).max(1.0);
        let Bm25Consts { c0, c1, k1p1 } = self.bm25_constants(avg_len);
        let mut terms: Vec<Term<'_>> = tids
            .iter()
            .map(|&t| {
                let h = self.stats(t);
                let df = self.doc_freq(t, h.n) as f32;
                let idf = match self.params.scoring {
                    Scoring::Bm25 => (1.0 + (n - df + 0.5) / (df + 0.5)).ln(),
                    Scoring::Jaccard => 1.0,
                };
                let bound = idf * k1p1 * max_saturation(h.max_tf, &h.min_len, c0, c1) * BOUND_SLACK;
                Term { cursor: self.cursor(t), idf, bound, at_tf1: None }
            })
            .collect();
        let postings_total: usize = terms.iter().map(|t| t.cursor.list_len()).sum();
        if !neighbours.is_zero() {
            let scored = match group {
                Some(g) => {
                    let docs = &self.group_docs[g as usize];
                    if docs.len() * terms.len() * 2 < postings_total {
                        self.collect_group(&mut terms, docs, n_query)
                    } else {
                        let keep = |d: u32| self.doc_group[d as usize] == g;
                        self.collect_lists(&mut terms, n_query, keep)
                    }
                }
                None => {
                    if prune && self.params.scoring == Scoring::Bm25 {
                        let cap = postings_total / 4;
                        if let Some(top) = self.fuse_candidates(&terms, neighbours, k, cap) {
                            return Ok(top
                                .into_iter()
                                .map(|e| (self.ids.get(e.doc), e.score))
                                .collect());
                        }
                    }
                    self.collect_lists(&mut terms, n_query, |_| true)
                }
            };
            let top = self.fuse(&scored, neighbours, k);
            return Ok(top.into_iter().map(|e| (self.ids.get(e.doc), e.score)).collect());
        }
        let top = match group {
            Some(g) => {
                let docs = &self.group_docs[g as usize];
                if docs.len() * terms.len() * 2 < postings_total {
                    self.walk_group(&mut terms, docs, k, n_query)
                } else {
                    let keep = |d: u32| self.doc_group[d as usize] == g;
                    self.walk_lists(&mut terms, k, n_query, keep)
                }
            }
            None => self.walk_lists(&mut terms, k, n_query, |_| true),
        };
        Ok(top.into_iter().map(|e| (self.ids.get(e.doc), e.score)).collect())
    }

    fn bm25_constants(&self, avg_len: f32) -> Bm25Consts {
        let (k1, b) = (self.params.k1, self.params.b);
        Bm25Consts { c0: k1 * (1.0 - b), c1: k1 * b / avg_len, k1p1: k1 + 1.0 }
    }

    /// One term's contribution to document `doc` at the cursor.
    #[inline]
    fn bm25(&self, t: &Term<'_>, doc: u32, c: &Bm25Consts) -> f32 {
        let tf = t.cursor.tf() as f32;
        t.idf * tf * c.k1p1 / (tf + c.c0 + c.c1 * self.lens.get(doc) as f32)
    }

    /// [`KeywordIndex::bm25`] through the per-query tables of `max_score`.
    #[inline]
    fn bm25_coded(&self, t: &Term<'_>, doc: u32, code: u8, norms: &[f32], c: &Bm25Consts) -> f32 {
        if code == LONG {
            return self.bm25(t, doc, c);
        }
        let tf = t.cursor.tf();
        if tf == 1 {
            if let Some(table) = &t.at_tf1 {
                return table[code as usize];
            }
        }
        let tf = tf as f32;
        t.idf * tf * c.k1p1 / (tf + norms[code as usize])
    }

    #[inline]
    fn jaccard(&self, matched: usize, doc: u32, n_query: usize) -> f32 {
        let union = n_query + self.uniq.get(doc) as usize - matched;
        matched as f32 / union.max(1) as f32
    }

    /// Document-at-a-time over the posting lists, keeping documents `keep` accepts.
    fn walk_lists(
        &self,
        terms: &mut [Term<'_>],
        k: usize,
        n_query: usize,
        keep: impl Fn(u32) -> bool,
    ) -> Vec<Entry> {
        let mut top = TopK::new(k);
        match self.params.scoring {
            Scoring::Jaccard => loop {
                let doc = terms.iter().map(|t| t.cursor.doc()).min().unwrap_or(u32::MAX);
                if doc == u32::MAX {
                    break;
                }
                let mut matched = 0;
                for t in terms.iter_mut() {
                    if t.cursor.doc() == doc {
                        matched += 1;
                        t.cursor.next();
                    }
                }
                if self.is_alive(doc) && keep(doc) {
                    top.offer(self.jaccard(matched, doc, n_query), doc);
                }
            },
            Scoring::Bm25 => self.max_score(terms, &mut top, keep),
        }
        top.into_sorted()
    }

    fn max_score(&self, terms: &mut [Term<'_>], top: &mut TopK, keep: impl Fn(u32) -> bool) {
        let n = self.len() as f32;
        let c = self.bm25_constants((self.total_len as f32 / n).max(1.0));
        terms.sort_by(|a, b| a.bound.total_cmp(&b.bound));
        // prefix[i] = summed bounds of the i weakest terms.
        let mut prefix = vec![0.0f32; terms.len() + 1];
        for (i, t) in terms.iter().enumerate() {
            prefix[i + 1] = prefix[i] + t.bound;
        }
        // Length norms by length code, and frequency-1 contributions for long lists.
        let norms: Vec<f32> = (0..LONG as u32).map(|len| c.c0 + c.c1 * len as f32).collect();
        for t in terms.iter_mut() {
            if t.cursor.list_len() >= TABLE_MIN_POSTINGS {
                t.at_tf1 = Some(norms.iter().map(|n| t.idf * c.k1p1 / (1.0 + n)).collect());
            }
        }
        let mut essential = 0;
        loop {
            let doc = terms[essential..].iter().map(|t| t.cursor.doc()).min().unwrap_or(u32::MAX);
            if doc == u32::MAX {
                break;
            }
            let code = self.lens.code(doc);
            let mut score = 0.0f32;
            for t in terms[essential..].iter_mut() {
                if t.cursor.doc() == doc {
                    score += self.bm25_coded(t, doc, code, &norms, &c);
                    t.cursor.next();
                }
            }
            if !self.is_alive(doc) || !keep(doc) {
                continue;
            }
            let threshold = top.threshold();
            let mut pruned = false;
            for i in (0..essential).rev() {
                if score + prefix[i + 1] <= threshold {
                    pruned = true;
                    break;
                }
                let t = &mut terms[i];
                t.cursor.seek(doc);
                if t.cursor.doc() == doc {
                    score += self.bm25_coded(t, doc, code, &norms, &c);
                }
            }
            if !pruned && top.offer(score, doc) {
                let threshold = top.threshold();
                while essential < terms.len() && prefix[essential + 1] <= threshold {
                    essential += 1;
                }
                if essential == terms.len() {
                    break;
                }
            }
        }
    }

    /// Scores the documents of one group by probing each term's list, for groups much
    /// smaller than the lists.
    fn walk_group(
        &self,
        terms: &mut [Term<'_>],
        docs: &[u32],
        k: usize,
        n_query: usize,
    ) -> Vec<Entry> {
        let n = self.len() as f32;
        let c = self.bm25_constants((self.total_len as f32 / n).max(1.0));
        let mut top = TopK::new(k);
        for &doc in docs {
            let mut score = 0.0f32;
            let mut matched = 0;
            for t in terms.iter_mut() {
                t.cursor.seek(doc);
                if t.cursor.doc() == doc {
                    matched += 1;
                    if self.params.scoring == Scoring::Bm25 {
                        score += self.bm25(t, doc, &c);
                    }
                }
            }
            if matched == 0 {
                continue;
            }
            if self.params.scoring == Scoring::Jaccard {
                score = self.jaccard(matched, doc, n_query);
            }
            top.offer(score, doc);
        }
        top.into_sorted()
    }
}

impl KeywordIndex {
    /// The score of the document every cursor at `doc` points to, advancing those cursors.
    fn score_and_advance(
        &self,
        terms: &mut [Term<'_>],
        doc: u32,
        n_query: usize,
        c: &Bm25Consts,
    ) -> f32 {
        let mut score = 0.0f32;
        let mut matched = 0;
        for t in terms.iter_mut() {
            if t.cursor.doc() == doc {
                matched += 1;
                if self.params.scoring == Scoring::Bm25 {
                    score += self.bm25(t, doc, c);
                }
                t.cursor.next();
            }
        }
        match self.params.scoring {
            Scoring::Bm25 => score,
            Scoring::Jaccard => self.jaccard(matched, doc, n_query),
        }
    }

    /// Every live matching document that `keep` accepts, with its score, in document order.
    fn collect_lists(
        &self,
        terms: &mut [Term<'_>],
        n_query: usize,
        keep: impl Fn(u32) -> bool,
    ) -> Vec<(u32, f32)> {
        let c = self.bm25_constants((self.total_len as f32 / self.len() as f32).max(1.0));
        let mut out = Vec::new();
        loop {
            let doc = terms.iter().map(|t| t.cursor.doc()).min().unwrap_or(u32::MAX);
            if doc == u32::MAX {
                return out;
            }
            let score = self.score_and_advance(terms, doc, n_query, &c);
            if self.is_alive(doc) && keep(doc) {
                out.push((doc, score));
            }
        }
    }

    /// Every matching document of a group, probing the lists at each of the group's documents.
    fn collect_group(
        &self,
        terms: &mut [Term<'_>],
        docs: &[u32],
        n_query: usize,
    ) -> Vec<(u32, f32)> {
        let c = self.bm25_constants((self.total_len as f32 / self.len() as f32).max(1.0));
        let mut out = Vec::new();
        for &doc in docs {
            let mut any = false;
            for t in terms.iter_mut() {
                t.cursor.seek(doc);
                any |= t.cursor.doc() == doc;
            }
            if any {
                out.push((doc, self.score_and_advance(terms, doc, n_query, &c)));
            }
        }
        out
    }

    /// The fused top k over the whole index without scoring every matching document: the
    /// best `m` documents by their own score (MaxScore), their neighbours, and those
    /// neighbours' neighbours are scored exactly, and every candidate's fused score is
    /// computed as [`KeywordIndex::fuse`] would (same terms, same order of additions, so the
    /// same bits). Any other document and both of its neighbours score at most the m-th own
    /// score, so it fuses to at most that times `1 + previous + next`: once the k-th
    /// candidate beats this bound the answer is exact. Otherwise `m` grows, up to
    /// [`MAX_CANDIDATES`], `cap` and an eighth of the index; then None (the exhaustive walk is
    /// cheaper than more rounds: ties on a repeated text can need thousands of candidates).
    fn fuse_candidates(
        &self,
        terms: &[Term<'_>],
        w: Neighbours,
        k: usize,
        cap: usize,
    ) -> Option<Vec<Entry>> {
        let c = self.bm25_constants((self.total_len as f32 / self.len() as f32).max(1.0));
        let reach = 1.0 + w.previous + w.next;
        let mut m = k.saturating_mul(4).max(256);
        while m <= MAX_CANDIDATES.min(cap).min(self.len() / 8) {
            let mut walked = terms.to_vec();
            let mut best = TopK::new(m);
            self.max_score(&mut walked, &mut best, |_| true);
            let full = best.heap.len() == m;
            let floor = best.threshold();
            let mut candidates: Vec<u32> = best.heap.iter().map(|e| e.doc).collect();
            let mut around: FxHashMap<u32, (Option<u32>, Option<u32>)> = FxHashMap::default();
            // Twice: the best documents' neighbours become candidates, then the candidates'
            // neighbours are added to be scored (only documents in `around` are candidates).
            for _ in 0..2 {
                let mut found = Vec::new();
                for &doc in &candidates {
                    let near = *around.entry(doc).or_insert_with(|| self.neighbour_docs(doc));
                    found.extend(near.0.into_iter().chain(near.1));
                }
                candidates.extend(found);
                candidates.sort_unstable();
                candidates.dedup();
            }
            let scores = self.score_docs(terms, &candidates, &c);
            let score = |d: Option<u32>| {
                d.map_or(0.0, |d| candidates.binary_search(&d).map_or(0.0, |i| scores[i]))
            };
            let mut top = TopK::new(k);
            for (&doc, &own) in candidates.iter().zip(&scores) {
                let Some(&(prev, next)) = around.get(&doc) else { continue };
                let mut fused = 0.0f32;
                if w.previous > 0.0 {
                    fused += w.previous * score(prev);
                }
                fused += own;
                if w.next > 0.0 {
                    fused += w.next * score(next);
                }
                if fused > 0.0 {
                    top.offer(fused, doc);
                }
            }
            if !full || top.threshold() > floor * reach * BOUND_SLACK {
                return Some(top.into_sorted());
            }
            m = m.saturating_mul(4);
        }
        None
    }

    /// The ids of the live documents indexed just before and after `id` in its group (or
    /// in the ungrouped sequence): the neighbours whose shares the neighbour weights add.
    /// None at either end, and both None for an id that is not indexed.
    pub fn neighbours(&self, id: u64) -> (Option<u64>, Option<u64>) {
        let Some(doc) = self.doc_of(id) else { return (None, None) };
        let (prev, next) = self.neighbour_docs(doc);
        (prev.map(|d| self.ids.get(d)), next.map(|d| self.ids.get(d)))
    }

    /// The live documents just before and after `doc` in its group (or in the ungrouped
    /// sequence, which is purged lazily, so dead documents are stepped over).
    fn neighbour_docs(&self, doc: u32) -> (Option<u32>, Option<u32>) {
        let g = self.doc_group[doc as usize];
        let seq: &[u32] =
            if g == NO_GROUP { &self.ungrouped } else { &self.group_docs[g as usize] };
        let Ok(pos) = seq.binary_search(&doc) else { return (None, None) };
        let prev = seq[..pos].iter().rev().find(|&&d| self.is_alive(d)).copied();
        let next = seq[pos + 1..].iter().find(|&&d| self.is_alive(d)).copied();
        (prev, next)
    }

    /// The BM25 score of each of `docs` (ascending), summed over the terms in their order as
    /// [`KeywordIndex::score_and_advance`] does; 0 for a document no term matches.
    fn score_docs(&self, terms: &[Term<'_>], docs: &[u32], c: &Bm25Consts) -> Vec<f32> {
        let mut terms = terms.to_vec();
        docs.iter()
            .map(|&doc| {
                let mut score = 0.0f32;
                for t in terms.iter_mut() {
                    t.cursor.seek(doc);
                    if t.cursor.doc() == doc {
                        score += self.bm25(t, doc, c);
                    }
                }
                score
            })
            .collect()
    }

    /// Adds each document's neighbour shares to the scores and keeps the best k.
    fn fuse(&self, scored: &[(u32, f32)], w: Neighbours, k: usize) -> Vec<Entry> {
        let mut fused: FxHashMap<u32, f32> = FxHashMap::default();
        fused.reserve(scored.len() * 3);
        for &(doc, score) in scored {
            *fused.entry(doc).or_default() += score;
            let (prev, next) = self.neighbour_docs(doc);
            if let Some(prev) = prev.filter(|_| w.next > 0.0) {
                *fused.entry(prev).or_default() += w.next * score;
            }
            if let Some(next) = next.filter(|_| w.previous > 0.0) {
                *fused.entry(next).or_default() += w.previous * score;
            }
        }
        let mut all: Vec<(u32, f32)> = fused.into_iter().collect();
        all.sort_unstable_by_key(|&(d, _)| d);
        let mut top = TopK::new(k);
        for (doc, score) in all {
            top.offer(score, doc);
        }
        top.into_sorted()
    }
}

/// BM25 constants of one query: `norm = c0 + c1 * len`, numerator factor `k1 + 1`.
struct Bm25Consts {
    c0: f32,
    c1: f32,
    k1p1: f32,
}
