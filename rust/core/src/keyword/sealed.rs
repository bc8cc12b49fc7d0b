//! The sealed part of the index: every term's compressed posting list in one byte arena, found
//! through an FST of the sorted terms (a few bytes per term instead of a hash table entry and
//! a heap string).

use fst::{Map, MapBuilder, Streamer};

use super::block::{self, Header};
use super::postings::Postings;
use crate::error::{Error, Result};

/// Terms and their compressed lists, immutable between seals.
#[derive(Debug)]
pub struct Sealed {
    dict: Map<Vec<u8>>,
    /// Start of each term's list in `arena` (one more entry than terms).
    offsets: Vec<u32>,
    arena: Vec<u8>,
}

impl Default for Sealed {
    fn default() -> Self {
        Sealed { dict: Map::default(), offsets: vec![0], arena: Vec::new() }
    }
}

/// Where a term's postings are: its sealed ordinal and its tail id, either possibly absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TermRef {
    /// Ordinal in the sealed dictionary.
    pub sealed: Option<u32>,
    /// Id in the tail's dictionary.
    pub tail: Option<u32>,
}

impl Sealed {
    /// Terms held.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The ordinal of `term`.
    pub fn find(&self, term: &str) -> Option<u32> {
        self.dict.get(term).map(|o| o as u32)
    }

    /// The encoded list of ordinal `ord`.
    #[inline]
    pub fn list(&self, ord: u32) -> &[u8] {
        &self.arena[self.offsets[ord as usize] as usize..self.offsets[ord as usize + 1] as usize]
    }

    /// Every `(term, ordinal)` in term order.
    pub fn terms(&self) -> Vec<(Vec<u8>, u32)> {
        let mut out = Vec::with_capacity(self.len());
        let mut s = self.dict.stream();
        while let Some((k, v)) = s.next() {
            out.push((k.to_vec(), v as u32));
        }
        out
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.dict.as_fst().as_bytes().len() + self.offsets.capacity() * 4 + self.arena.capacity()
    }
}

/// Builds a [`Sealed`] from terms given in ascending byte order with their encoded lists.
pub struct SealedBuilder {
    dict: MapBuilder<Vec<u8>>,
    offsets: Vec<u32>,
    arena: Vec<u8>,
}

impl SealedBuilder {
    /// An empty builder.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        SealedBuilder { dict: MapBuilder::memory(), offsets: vec![0], arena: Vec::new() }
    }

    /// The arena to append the next term's list to (then call [`SealedBuilder::finish_term`]).
    pub fn arena(&mut self) -> &mut Vec<u8> {
        &mut self.arena
    }

    /// Records the list just appended as `term`'s; terms must come in ascending order.
    pub fn finish_term(&mut self, term: &[u8]) -> Result<()> {
        let end = u32::try_from(self.arena.len())
            .map_err(|_| Error::invalid("the keyword index is full (4 GiB of postings)"))?;
        let ord = self.offsets.len() as u64 - 1;
        self.dict
            .insert(term, ord)
            .map_err(|e| Error::CorruptData(format!("terms out of order: {e}")))?;
        self.offsets.push(end);
        Ok(())
    }

    /// The sealed dictionary and arena.
    pub fn build(self) -> Result<Sealed> {
        let bytes = self.dict.into_inner().map_err(|e| Error::CorruptData(e.to_string()))?;
        let dict = Map::new(bytes).map_err(|e| Error::CorruptData(e.to_string()))?;
        let mut arena = self.arena;
        arena.shrink_to_fit();
        let mut offsets = self.offsets;
        offsets.shrink_to_fit();
        Ok(Sealed { dict, offsets, arena })
    }
}

/// Merges `sealed` with tail lists (`tail`: term, list; in any order) into a new [`Sealed`],
/// keeping only postings `keep` accepts when `filter` is set (then terms left without any
/// posting are dropped). Without filtering, lists only the tail touches are appended to,
/// not re-encoded.
pub fn merge(
    sealed: &Sealed,
    tail: &mut [(&str, &Postings)],
    filter: bool,
    keep: impl Fn(u32) -> bool,
) -> Result<Sealed> {
    tail.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = SealedBuilder::new();
    let mut old = sealed.dict.stream();
    let mut next_old = old.next().map(|(k, v)| (k.to_vec(), v as u32));
    let mut ti = 0;
    loop {
        let take_old = match (&next_old, tail.get(ti)) {
            (None, None) => break,
            (Some(_), None) => (true, false),
            (None, Some(_)) => (false, true),
            (Some((k, _)), Some((t, _))) => match k.as_slice().cmp(t.as_bytes()) {
                std::cmp::Ordering::Less => (true, false),
                std::cmp::Ordering::Greater => (false, true),
                std::cmp::Ordering::Equal => (true, true),
            },
        };
        let (term, ord) = match take_old {
            (true, _) => {
                let (k, v) = next_old.take().expect("checked");
                (k, Some(v))
            }
            _ => (tail[ti].0.as_bytes().to_vec(), None),
        };
        let new = if take_old.1 {
            ti += 1;
            Some(tail[ti - 1].1)
        } else {
            None
        };
        if take_old.0 {
            next_old = old.next().map(|(k, v)| (k.to_vec(), v as u32));
        }
        let old_list = ord.map(|o| sealed.list(o));
        if write_list(old_list, new, filter, &keep, out.arena()) {
            out.finish_term(&term)?;
        }
    }
    out.build()
}

/// Appends one term's merged list; false when it came out empty (and nothing was written).
fn write_list(
    old: Option<&[u8]>,
    new: Option<&Postings>,
    filter: bool,
    keep: &impl Fn(u32) -> bool,
    arena: &mut Vec<u8>,
) -> bool {
    let mut head = old
        .map_or(Header { n: 0, max_tf: 0, min_len: [u32::MAX; super::TF_BUCKETS] }, |l| {
            Header::read(l).expect("lists in memory are well formed").0
        });
    if let Some(p) = new {
        head.n += p.docs.len();
        head.max_tf = head.max_tf.max(p.max_tf);
        for (slot, &len) in head.min_len.iter_mut().zip(&p.min_len) {
            *slot = (*slot).min(len);
        }
    }
    if !filter {
        match (old, new) {
            (Some(l), None) => arena.extend_from_slice(l),
            (Some(l), Some(p)) => block::encode_appended(l, head, &p.docs, &p.tfs, arena),
            (None, Some(p)) => block::encode(head, &p.docs, &p.tfs, arena),
            (None, None) => return false,
        }
        return true;
    }
    let (mut docs, mut tfs) = old.map_or((Vec::new(), Vec::new()), |l| {
        let (_, d, t) = block::decode(l);
        (d, t)
    });
    if let Some(p) = new {
        docs.extend_from_slice(&p.docs);
        tfs.extend_from_slice(&p.tfs);
    }
    let mut w = 0;
    for r in 0..docs.len() {
        if keep(docs[r]) {
            docs[w] = docs[r];
            tfs[w] = tfs[r];
            w += 1;
        }
    }
    if w == 0 {
        return false;
    }
    head.n = w;
    block::encode(head, &docs[..w], &tfs[..w], arena);
    true
}
