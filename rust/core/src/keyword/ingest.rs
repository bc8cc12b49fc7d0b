//! Analysis of a batch of documents into chunk-local postings, run on all cores.
//!
//! Each chunk gets its own small term dictionary so that threads never share a lock; the
//! chunks are then merged into the index in order, one dictionary look-up per distinct term
//! per chunk rather than one per token.

use rustc_hash::FxHashMap;

use super::topics::Topics;
use crate::text::Analyzer;

/// One chunk's postings, with document numbers relative to the chunk's first document.
pub struct Chunk {
    /// Local term id -> term.
    pub terms: Vec<Box<str>>,
    /// Local term id -> (documents, frequencies).
    pub lists: Vec<(Vec<u32>, Vec<u8>)>,
    /// Terms per document (its BM25 length).
    pub lens: Vec<u32>,
    /// Distinct terms per document (for Jaccard), saturating.
    pub uniq: Vec<u16>,
    /// Topic bit mask per document.
    pub topics: Vec<u64>,
}

/// Analyzes `texts` (one chunk) into local postings.
pub fn analyze_chunk(analyzer: &Analyzer, topics: &Topics, texts: &[&str]) -> Chunk {
    let mut dict: FxHashMap<Box<str>, u32> = FxHashMap::default();
    let mut lists: Vec<(Vec<u32>, Vec<u8>)> = Vec::new();
    let mut keywords: Vec<Vec<u16>> = Vec::new();
    let mut lens = Vec::with_capacity(texts.len());
    let mut uniq = Vec::with_capacity(texts.len());
    let mut masks = Vec::with_capacity(if topics.keywords.is_empty() { 0 } else { texts.len() });
    let mut buf = String::new();
    let mut doc_terms: Vec<u32> = Vec::new();
    for (doc, text) in texts.iter().enumerate() {
        doc_terms.clear();
        analyzer.for_each_term(text, &mut buf, |term| {
            let id = match dict.get(term) {
                Some(&id) => id,
                None => {
                    let id = lists.len() as u32;
                    dict.insert(term.into(), id);
                    lists.push((Vec::new(), Vec::new()));
                    if !topics.keywords.is_empty() {
                        keywords.push(topics.keywords_of(term));
                    }
                    id
                }
            };
            doc_terms.push(id);
        });
        doc_terms.sort_unstable();
        let mut distinct = 0u32;
        let mut i = 0;
        while i < doc_terms.len() {
            let t = doc_terms[i];
            let mut j = i + 1;
            while j < doc_terms.len() && doc_terms[j] == t {
                j += 1;
            }
            let list = &mut lists[t as usize];
            list.0.push(doc as u32);
            list.1.push((j - i).min(255) as u8);
            distinct += 1;
            i = j;
        }
        lens.push(u32::try_from(doc_terms.len()).unwrap_or(u32::MAX));
        uniq.push(distinct.min(u16::MAX as u32) as u16);
        if !topics.keywords.is_empty() {
            doc_terms.dedup();
            let kws = doc_terms.iter().map(|&t| keywords[t as usize].as_slice());
            masks.push(topics.mask(kws));
        }
    }
    let mut terms: Vec<Box<str>> = vec![Box::from(""); lists.len()];
    for (term, id) in dict {
        terms[id as usize] = term;
    }
    Chunk { terms, lists, lens, uniq, topics: masks }
}
