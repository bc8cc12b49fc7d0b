//! Saving and loading a keyword index in the shared snapshot envelope (magic, version, CRC32,
//! atomic replace).
//!
//! Version 2 stores what memory holds, compactly: per-document data as varints (ids as
//! zig-zag deltas, so ascending keys cost a byte each; groups run-length coded), terms sorted
//! and front-coded, each posting list in its compressed form ([`super::block`]), purged of
//! deleted documents. Deleted documents keep their slots so document numbers stay stable.
//! Nothing read is trusted: every count is capped by the bytes left, every list is decoded and
//! checked (order, range, liveness, bounds) before the index is used.

use std::path::Path;

use super::block::{self, get_varint, put_varint};
use super::postings::Postings;
use super::sealed::{self, SealedBuilder};
use super::{ids::DocIds, tf_bucket, KeywordIndex, Params, Scoring, NO_GROUP};
use crate::error::{Error, Result};
use crate::snapshot::{load_checked, write_atomic};
use crate::text::Analyzer;

const MAGIC: &[u8; 8] = b"FMKWIDX\0";
const VERSION: u32 = 2;

fn bad(m: impl Into<String>) -> Error {
    Error::CorruptData(m.into())
}

/// Little-endian and varint reads that fail, never panic, past the end.
struct Body<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Body<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| bad(format!("truncated body at byte {}", self.at)))?;
        let out = &self.buf[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn f32(&mut self) -> Result<f32> {
        Ok(f32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn varint(&mut self) -> Result<u64> {
        get_varint(self.buf, &mut self.at).ok_or_else(|| bad("truncated or overlong varint"))
    }
    fn small(&mut self, max: u64, what: &str) -> Result<u32> {
        let v = self.varint()?;
        if v > max {
            return Err(bad(format!("{what} {v} is out of range")));
        }
        Ok(v as u32)
    }
    /// A count of items taking at least `unit` bytes each, capped by the bytes left.
    fn count(&mut self, unit: usize) -> Result<usize> {
        let n = self.varint()?;
        let left = (self.buf.len() - self.at) as u64;
        if n.saturating_mul(unit as u64) > left {
            return Err(bad(format!("count {n} exceeds the {left} bytes left")));
        }
        Ok(n as usize)
    }
    fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.count(1)?;
        self.take(n)
    }
    fn string(&mut self) -> Result<String> {
        utf8(self.bytes()?.to_vec())
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

impl KeywordIndex {
    /// Writes the index to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut w = Vec::new();
        let p = &self.params;
        w.extend_from_slice(&u32::from(p.scoring == Scoring::Jaccard).to_le_bytes());
        w.extend_from_slice(&p.k1.to_le_bytes());
        w.extend_from_slice(&p.b.to_le_bytes());
        w.extend_from_slice(&p.analyzer.to_bits().to_le_bytes());
        put_varint(&mut w, self.topics.config.len() as u64);
        for (name, words) in &self.topics.config {
            put_bytes(&mut w, name.as_bytes());
            put_varint(&mut w, words.len() as u64);
            for word in words {
                put_bytes(&mut w, word.as_bytes());
            }
        }
        let n = self.ids.len();
        put_varint(&mut w, n as u64);
        let mut prev = 0u64;
        for id in self.ids.iter() {
            let delta = id.wrapping_sub(prev) as i64;
            put_varint(&mut w, ((delta << 1) ^ (delta >> 63)) as u64);
            prev = id;
        }
        for d in 0..n as u32 {
            put_varint(&mut w, self.lens.get(d) as u64);
            put_varint(&mut w, self.uniq.get(d) as u64);
        }
        let mut runs: Vec<(u32, u64)> = Vec::new();
        for &g in &self.doc_group {
            match runs.last_mut() {
                Some((last, len)) if *last == g => *len += 1,
                _ => runs.push((g, 1)),
            }
        }
        put_varint(&mut w, runs.len() as u64);
        for (g, len) in runs {
            put_varint(&mut w, g.wrapping_add(1) as u64);
            put_varint(&mut w, len);
        }
        for &word in &self.alive {
            w.extend_from_slice(&word.to_le_bytes());
        }
        put_varint(&mut w, self.group_names.len() as u64);
        for name in &self.group_names {
            put_bytes(&mut w, name.as_bytes());
        }
        // The lists as memory holds them when nothing was deleted or added since the last
        // seal, else merged and purged into a temporary copy.
        let purged;
        let lists = if self.terms.is_empty() && self.epoch == self.clean_epoch {
            &self.sealed
        } else {
            let mut tail: Vec<(&str, &Postings)> =
                self.terms.iter().map(|(t, &id)| (&**t, &self.postings[id as usize])).collect();
            purged = sealed::merge(&self.sealed, &mut tail, true, |d| self.is_alive(d))?;
            &purged
        };
        let terms = lists.terms();
        put_varint(&mut w, terms.len() as u64);
        let mut last: &[u8] = &[];
        for (term, ord) in &terms {
            let shared = last.iter().zip(term).take_while(|(a, b)| a == b).count();
            put_varint(&mut w, shared as u64);
            put_bytes(&mut w, &term[shared..]);
            put_bytes(&mut w, lists.list(*ord));
            last = term;
        }
        for list in &self.topic_docs {
            let live: Vec<u32> = list.iter().copied().filter(|&d| self.is_alive(d)).collect();
            put_varint(&mut w, live.len() as u64);
            let mut prev = 0u32;
            for d in live {
                put_varint(&mut w, (d - prev) as u64);
                prev = d;
            }
        }
        write_atomic(path, MAGIC, VERSION, &w)
    }

    /// Reads an index written by [`KeywordIndex::save`]; any damage is a `CorruptFile` error.
    pub fn load(path: &Path) -> Result<Self> {
        load_checked(path, MAGIC, VERSION, Self::decode)
    }

    fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Body { buf: body, at: 0 };
        let scoring = match r.u32()? {
            0 => Scoring::Bm25,
            1 => Scoring::Jaccard,
            s => return Err(bad(format!("unknown scoring {s}"))),
        };
        let params =
            Params { scoring, k1: r.f32()?, b: r.f32()?, analyzer: Analyzer::from_bits(r.u32()?) };
        let n_topics = r.count(2)?;
        let mut topics = Vec::with_capacity(n_topics);
        for _ in 0..n_topics {
            let name = r.string()?;
            let n_words = r.count(1)?;
            let words = (0..n_words).map(|_| r.string()).collect::<Result<Vec<_>>>()?;
            topics.push((name, words));
        }
        let mut index = KeywordIndex::new(params, topics)?;
        let n_docs = r.count(3)?;
        if n_docs >= u32::MAX as usize {
            return Err(bad(format!("{n_docs} documents exceed the u32 numbering")));
        }
        let mut ids = Vec::with_capacity(n_docs);
        let mut prev = 0u64;
        for _ in 0..n_docs {
            let z = r.varint()?;
            let delta = ((z >> 1) as i64) ^ -((z & 1) as i64);
            prev = prev.wrapping_add(delta as u64);
            ids.push(prev);
        }
        for _ in 0..n_docs {
            index.lens.push(r.small(u32::MAX as u64, "a document length")?);
            index.uniq.push(r.small(u16::MAX as u64, "a distinct-term count")?);
        }
        let n_runs = r.count(2)?;
        index.doc_group.reserve(n_docs);
        for _ in 0..n_runs {
            let g = r.small(u32::MAX as u64, "a group")?.wrapping_sub(1);
            let len = r.varint()?;
            if len == 0 || len > (n_docs - index.doc_group.len()) as u64 {
                return Err(bad("group runs exceed the documents"));
            }
            index.doc_group.extend(std::iter::repeat_n(g, len as usize));
        }
        if index.doc_group.len() != n_docs {
            return Err(bad("group runs do not cover the documents"));
        }
        let words = r.take(n_docs.div_ceil(64) * 8)?;
        index.alive =
            words.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8"))).collect();
        if n_docs % 64 != 0 && index.alive.last().is_some_and(|w| w >> (n_docs % 64) != 0) {
            return Err(bad("liveness bits set past the last document"));
        }
        let alive = &index.alive;
        index.ids = DocIds::from_vec(ids, |d| alive[(d >> 6) as usize] >> (d & 63) & 1 != 0);
        let n_groups = r.count(1)?;
        for g in 0..n_groups {
            let name = r.string()?;
            if index.group_of(&name) != g as u32 {
                return Err(bad(format!("group {name:?} appears twice")));
            }
        }
        for doc in 0..n_docs as u32 {
            if !index.is_alive(doc) {
                continue;
            }
            let id = index.ids.get(doc);
            if index.ids.find(id, |d| d == doc).is_none() {
                return Err(bad(format!("id {id} is held by two documents")));
            }
            index.live += 1;
            index.total_len += index.lens.get(doc) as u64;
            let g = index.doc_group[doc as usize];
            if g == NO_GROUP {
                index.ungrouped.push(doc);
            } else {
                let list = index
                    .group_docs
                    .get_mut(g as usize)
                    .ok_or_else(|| bad(format!("document {doc} has unknown group {g}")))?;
                list.push(doc);
            }
        }
        index.sealed = index.read_lists(&mut r)?;
        for t in 0..index.topic_docs.len() {
            let n = r.count(1)?;
            let mut list = Vec::with_capacity(n);
            let mut prev: Option<u32> = None;
            for _ in 0..n {
                let delta = r.small(u32::MAX as u64, "a topic delta")?;
                let d = match prev {
                    None => delta,
                    Some(p) if delta > 0 => {
                        p.checked_add(delta).ok_or_else(|| bad("topic overflow"))?
                    }
                    Some(_) => return Err(bad("a topic list is out of order")),
                };
                if d as usize >= n_docs || !index.is_alive(d) {
                    return Err(bad("a topic list is out of range"));
                }
                list.push(d);
                prev = Some(d);
            }
            index.topic_docs[t] = list;
        }
        if r.at != body.len() {
            return Err(bad("trailing bytes after the index"));
        }
        Ok(index)
    }

    /// Reads the front-coded terms and their lists, checking every list in full.
    fn read_lists(&self, r: &mut Body<'_>) -> Result<sealed::Sealed> {
        let n_docs = self.ids.len();
        let n_terms = r.count(3)?;
        let mut out = SealedBuilder::new();
        let mut term: Vec<u8> = Vec::new();
        for _ in 0..n_terms {
            let shared = r.varint()?;
            if shared > term.len() as u64 {
                return Err(bad("a term shares more than the previous term has"));
            }
            term.truncate(shared as usize);
            term.extend_from_slice(r.bytes()?);
            let text = std::str::from_utf8(&term).map_err(|_| bad("a term is not UTF-8"))?;
            let list = r.bytes()?;
            let (head, docs, tfs) = block::decode_checked(list)
                .ok_or_else(|| bad(format!("posting list of {text:?} is malformed")))?;
            if docs.is_empty() || docs.iter().any(|&d| (d as usize) >= n_docs || !self.is_alive(d))
            {
                return Err(bad(format!("posting list of {text:?} is empty or out of range")));
            }
            if docs
                .iter()
                .zip(&tfs)
                .any(|(&d, &tf)| tf > head.max_tf || self.lens.get(d) < head.min_len[tf_bucket(tf)])
            {
                return Err(bad(format!("posting list of {text:?} breaks its bounds")));
            }
            out.arena().extend_from_slice(list);
            // Out-of-order or repeated terms are refused by the dictionary builder.
            out.finish_term(&term)?;
        }
        out.build()
    }
}

fn utf8(b: Vec<u8>) -> Result<String> {
    String::from_utf8(b).map_err(|_| bad("a string is not UTF-8"))
}
