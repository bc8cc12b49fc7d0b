//! Analysis of a batch of documents into chunk-local postings, run on all cores.
//!
//! Each chunk gets its own small term dictionary so that threads never share a lock; the
//! chunks are then merged into the index in order, one dictionary look-up per distinct term
//! per chunk rather than one per token.

use rustc_hash::FxHashMap;

use super::topics::Topics;
use crate::text::{pack, Analyzer};

/// One chunk's postings, with document numbers relative to the chunk's first document.
///
/// Postings are in compressed-sparse-row form: term `t`'s documents are
/// `docs[offsets[t]..offsets[t + 1]]`, ascending. Building them with one counting sort over
/// flat arrays, instead of pushing into one growing vector per term, keeps the writes
/// sequential and the allocations few, which is most of the cost of ingestion.
pub struct Chunk {
    /// Local term id -> term.
    pub terms: Vec<Box<str>>,
    /// Start of each term's postings in `docs`/`tfs` (one more entry than terms).
    pub offsets: Vec<u32>,
    /// Documents, grouped by term.
    pub docs: Vec<u32>,
    /// Frequencies, aligned with `docs`.
    pub tfs: Vec<u8>,
    /// Terms per document (its BM25 length).
    pub lens: Vec<u32>,
    /// Distinct terms per document (for Jaccard), saturating.
    pub uniq: Vec<u16>,
    /// Topic bit mask per document (empty when no topics are configured).
    pub topics: Vec<u64>,
}

/// Marks a word that is no term (a stop word, or too long) in `analyze_chunk`'s word cache.
const NOT_A_TERM: u32 = u32::MAX;

/// Analyzes `texts` (one chunk) into local postings.
pub fn analyze_chunk(analyzer: &Analyzer, topics: &Topics, texts: &[&str]) -> Chunk {
    let with_topics = !topics.keywords.is_empty();
    // Local term ids: short terms keyed by their packed bytes (integer hashing), long ones by
    // string; `terms` holds each id's text.
    let mut short: FxHashMap<u128, u32> = FxHashMap::default();
    let mut long: FxHashMap<Box<str>, u32> = FxHashMap::default();
    let mut terms: Vec<Box<str>> = Vec::new();
    let mut keywords: Vec<Vec<u16>> = Vec::new();
    let mut lens = Vec::with_capacity(texts.len());
    let mut uniq = Vec::with_capacity(texts.len());
    let mut masks = Vec::with_capacity(if with_topics { texts.len() } else { 0 });
    // (term, doc, tf) of every distinct term of every document, in document order.
    let mut pair_term: Vec<u32> = Vec::with_capacity(texts.len() * 16);
    let mut pair_doc: Vec<u32> = Vec::with_capacity(texts.len() * 16);
    let mut pair_tf: Vec<u8> = Vec::with_capacity(texts.len() * 16);
    // What each distinct short word became: its local term id, or NOT_A_TERM. Most words of a
    // chunk were seen before, and one integer probe then replaces the stop-word check, the
    // stemmer and the term look-up.
    let mut words: FxHashMap<u128, u32> = FxHashMap::default();
    let mut buf = String::new();
    let mut doc_terms: Vec<u32> = Vec::new();
    for (doc, text) in texts.iter().enumerate() {
        doc_terms.clear();
        analyzer.for_each_word(text, &mut buf, |word| {
            let word_key = pack(word);
            if let Some(&id) = word_key.and_then(|k| words.get(&k)) {
                if id != NOT_A_TERM {
                    doc_terms.push(id);
                }
                return;
            }
            let id = if analyzer.finish_word(word) {
                let term: &str = word;
                let next = terms.len() as u32;
                let id = match pack(term) {
                    Some(key) => *short.entry(key).or_insert(next),
                    None => match long.get(term) {
                        Some(&id) => id,
                        None => *long.entry(term.into()).or_insert(next),
                    },
                };
                if id == next {
                    terms.push(term.into());
                    if with_topics {
                        keywords.push(topics.keywords_of(term));
                    }
                }
                doc_terms.push(id);
                id
            } else {
                NOT_A_TERM
            };
            if let Some(k) = word_key {
                words.insert(k, id);
            }
        });
        doc_terms.sort_unstable();
        let first_pair = pair_term.len();
        let mut i = 0;
        while i < doc_terms.len() {
            let t = doc_terms[i];
            let mut j = i + 1;
            while j < doc_terms.len() && doc_terms[j] == t {
                j += 1;
            }
            pair_term.push(t);
            pair_doc.push(doc as u32);
            pair_tf.push((j - i).min(255) as u8);
            i = j;
        }
        let distinct = pair_term.len() - first_pair;
        lens.push(u32::try_from(doc_terms.len()).unwrap_or(u32::MAX));
        uniq.push(distinct.min(u16::MAX as usize) as u16);
        if with_topics {
            let kws = pair_term[first_pair..].iter().map(|&t| keywords[t as usize].as_slice());
            masks.push(topics.mask(kws));
        }
    }
    // Counting sort of the pairs by term; document order is kept within each term.
    let n_terms = terms.len();
    let mut offsets = vec![0u32; n_terms + 1];
    for &t in &pair_term {
        offsets[t as usize + 1] += 1;
    }
    for t in 0..n_terms {
        offsets[t + 1] += offsets[t];
    }
    let mut fill: Vec<u32> = offsets[..n_terms].to_vec();
    let mut docs = vec![0u32; pair_term.len()];
    let mut tfs = vec![0u8; pair_term.len()];
    for ((&t, &d), &tf) in pair_term.iter().zip(&pair_doc).zip(&pair_tf) {
        let at = fill[t as usize] as usize;
        docs[at] = d;
        tfs[at] = tf;
        fill[t as usize] += 1;
    }
    Chunk { terms, offsets, docs, tfs, lens, uniq, topics: masks }
}
