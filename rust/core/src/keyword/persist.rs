//! Saving and loading a keyword index in the shared snapshot envelope (magic, version, CRC32,
//! atomic replace). Deleted documents keep their slots so document numbers stay stable, but
//! their postings are not written.

use std::path::Path;

use rustc_hash::FxHashMap;

use super::postings::Postings;
use super::{tf_bucket, KeywordIndex, Params, Scoring, NO_GROUP, TF_BUCKETS};
use crate::error::{Error, Result};
use crate::snapshot::{load_checked, write_atomic, Reader, Writer};
use crate::text::Analyzer;

const MAGIC: &[u8; 8] = b"FMKWIDX\0";
const VERSION: u32 = 1;

impl KeywordIndex {
    /// Writes the index to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut w = Writer::default();
        let p = &self.params;
        w.u32(match p.scoring {
            Scoring::Bm25 => 0,
            Scoring::Jaccard => 1,
        });
        w.f32(p.k1);
        w.f32(p.b);
        w.u32(p.analyzer.to_bits());
        w.u64(self.topics.config.len() as u64);
        for (name, words) in &self.topics.config {
            w.bytes(name.as_bytes());
            w.u64(words.len() as u64);
            for word in words {
                w.bytes(word.as_bytes());
            }
        }
        w.u64(self.ids.len() as u64);
        for &id in &self.ids {
            w.u64(id);
        }
        w.u32s(&self.lens.to_vec());
        w.u32s(&self.uniq.iter().map(|&u| u as u32).collect::<Vec<_>>());
        w.u32s(&self.doc_group);
        w.u64(self.alive.len() as u64);
        for &word in &self.alive {
            w.u64(word);
        }
        w.u64(self.group_names.len() as u64);
        for name in &self.group_names {
            w.bytes(name.as_bytes());
        }
        w.u64(self.terms.len() as u64);
        for (term, &tid) in &self.terms {
            let list = &self.postings[tid as usize];
            let (docs, tfs): (Vec<u32>, Vec<u8>) = list
                .docs
                .iter()
                .zip(&list.tfs)
                .filter(|(&d, _)| self.is_alive(d))
                .map(|(&d, &tf)| (d, tf))
                .unzip();
            w.bytes(term.as_bytes());
            w.u32s(&docs);
            w.bytes(&tfs);
            w.u32(list.max_tf as u32);
            for &len in &list.min_len {
                w.u32(len);
            }
        }
        for list in &self.topic_docs {
            let live: Vec<u32> = list.iter().copied().filter(|&d| self.is_alive(d)).collect();
            w.u32s(&live);
        }
        write_atomic(path, MAGIC, VERSION, &w.buf)
    }

    /// Reads an index written by [`KeywordIndex::save`]; any damage is a `CorruptFile` error.
    pub fn load(path: &Path) -> Result<Self> {
        load_checked(path, MAGIC, VERSION, Self::decode)
    }

    fn decode(body: &[u8]) -> Result<Self> {
        let bad = |m: String| Error::CorruptData(m);
        let mut r = Reader::new(body);
        let scoring = match r.u32()? {
            0 => Scoring::Bm25,
            1 => Scoring::Jaccard,
            s => return Err(bad(format!("unknown scoring {s}"))),
        };
        let params =
            Params { scoring, k1: r.f32()?, b: r.f32()?, analyzer: Analyzer::from_bits(r.u32()?) };
        let n_topics = r.len(16)?;
        let mut topics = Vec::with_capacity(n_topics);
        for _ in 0..n_topics {
            let name = utf8(r.bytes()?)?;
            let n_words = r.len(8)?;
            let words = (0..n_words).map(|_| utf8(r.bytes()?)).collect::<Result<Vec<_>>>()?;
            topics.push((name, words));
        }
        let mut index = KeywordIndex::new(params, topics)?;
        let n_docs = r.len(8)?;
        if n_docs >= u32::MAX as usize {
            return Err(bad(format!("{n_docs} documents exceed the u32 numbering")));
        }
        index.ids = (0..n_docs).map(|_| r.u64()).collect::<Result<_>>()?;
        index.lens = r.u32s()?.into_iter().collect();
        let uniq = r.u32s()?;
        index.uniq = uniq.iter().map(|&u| u.min(u16::MAX as u32) as u16).collect();
        index.doc_group = r.u32s()?;
        let n_words = r.len(8)?;
        index.alive = (0..n_words).map(|_| r.u64()).collect::<Result<_>>()?;
        if index.lens.len() != n_docs
            || index.uniq.len() != n_docs
            || index.doc_group.len() != n_docs
            || index.alive.len() != n_docs.div_ceil(64)
        {
            return Err(bad("document arrays differ in length".into()));
        }
        let n_groups = r.len(8)?;
        for g in 0..n_groups {
            let name = utf8(r.bytes()?)?;
            if index.group_of(&name) != g as u32 {
                return Err(bad(format!("group {name:?} appears twice")));
            }
        }
        for doc in 0..n_docs as u32 {
            if !index.is_alive(doc) {
                continue;
            }
            let id = index.ids[doc as usize];
            if index.by_id.insert(id, doc).is_some() {
                return Err(bad(format!("id {id} is held by two documents")));
            }
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
        if n_docs % 64 != 0 && index.alive.last().is_some_and(|w| w >> (n_docs % 64) != 0) {
            return Err(bad("liveness bits set past the last document".into()));
        }
        let n_terms = r.len(8 + 8 + 8 + 8)?;
        let mut terms = FxHashMap::default();
        terms.reserve(n_terms);
        let mut postings = Vec::with_capacity(n_terms);
        for tid in 0..n_terms as u32 {
            let term = utf8(r.bytes()?)?;
            let docs = r.u32s()?;
            let tfs = r.bytes()?.to_vec();
            let max_tf = r.u32()?;
            let mut min_len = [0u32; TF_BUCKETS];
            for slot in &mut min_len {
                *slot = r.u32()?;
            }
            if tfs.len() != docs.len() || max_tf > 255 {
                return Err(bad(format!("posting list of {term:?} is malformed")));
            }
            if docs.windows(2).any(|w| w[0] >= w[1])
                || docs.iter().any(|&d| (d as usize) >= n_docs || !index.is_alive(d))
            {
                return Err(bad(format!("posting list of {term:?} is out of order or range")));
            }
            if docs.iter().zip(&tfs).any(|(&d, &tf)| {
                tf == 0 || tf as u32 > max_tf || index.lens.get(d) < min_len[tf_bucket(tf)]
            }) {
                return Err(bad(format!("posting list of {term:?} breaks its bounds")));
            }
            if terms.insert(term.into_boxed_str(), tid).is_some() {
                return Err(bad("a term appears twice".into()));
            }
            postings.push(Postings { docs, tfs, max_tf: max_tf as u8, min_len, clean_epoch: 0 });
        }
        index.terms = terms;
        index.postings = postings;
        for t in 0..index.topic_docs.len() {
            let list = r.u32s()?;
            if list.windows(2).any(|w| w[0] >= w[1])
                || list.iter().any(|&d| (d as usize) >= n_docs || !index.is_alive(d))
            {
                return Err(bad("a topic list is out of order or range".into()));
            }
            index.topic_docs[t] = list;
        }
        if !r.is_done() {
            return Err(bad("trailing bytes after the index".into()));
        }
        Ok(index)
    }
}

fn utf8(b: &[u8]) -> Result<String> {
    String::from_utf8(b.to_vec()).map_err(|_| Error::CorruptData("a string is not UTF-8".into()))
}
