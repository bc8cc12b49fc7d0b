//! One term's posting list: ascending `u32` document numbers with their term frequencies,
//! plus the bounds that let search skip documents that cannot reach the top k.

/// Frequency buckets of [`Postings::min_len`].
pub const TF_BUCKETS: usize = 4;

/// The bucket of frequency `tf` (>= 1).
#[inline]
pub fn tf_bucket(tf: u8) -> usize {
    (tf.max(1) as usize - 1).min(TF_BUCKETS - 1)
}

/// The documents containing one term, in ascending document order.
#[derive(Clone, Debug, Default)]
pub struct Postings {
    /// Document numbers, strictly ascending.
    pub docs: Vec<u32>,
    /// Term frequency in each document (saturating at 255; BM25 is flat long before that).
    pub tfs: Vec<u8>,
    /// The largest frequency ever added: an upper bound that stays valid after deletions.
    pub max_tf: u8,
    /// The shortest document ever added (in terms) per frequency bucket (1, 2, 3, 4 and more):
    /// with `max_tf`, bounds the term's score far more tightly than one shortest length,
    /// since the shortest documents rarely repeat a term. Stays valid after deletions.
    pub min_len: [u32; TF_BUCKETS],
    /// The deletion epoch up to which `docs` holds no deleted document.
    pub clean_epoch: u32,
}

impl Postings {
    /// An empty list, clean as of `epoch`.
    pub fn new(epoch: u32) -> Self {
        Postings { min_len: [u32::MAX; TF_BUCKETS], clean_epoch: epoch, ..Default::default() }
    }

    /// Appends a document; `doc` must be larger than every document already held.
    pub fn push(&mut self, doc: u32, tf: u8, len: u32) {
        debug_assert!(self.docs.last().is_none_or(|&d| d < doc));
        self.docs.push(doc);
        self.tfs.push(tf);
        self.max_tf = self.max_tf.max(tf);
        let slot = &mut self.min_len[tf_bucket(tf)];
        *slot = (*slot).min(len);
    }

    /// The largest value of `tf / (tf + c0 + c1 * len)` any posting can have: the BM25
    /// saturation part of the term's score bound.
    pub fn max_saturation(&self, c0: f32, c1: f32) -> f32 {
        let mut best = 0.0f32;
        for (b, &len) in self.min_len.iter().enumerate() {
            if len == u32::MAX {
                continue;
            }
            let tf = if b + 1 < TF_BUCKETS { (b + 1) as f32 } else { self.max_tf as f32 };
            best = best.max(tf / (tf + c0 + c1 * len as f32));
        }
        best
    }

    /// Drops the documents `alive` rejects and marks the list clean as of `epoch`.
    pub fn retain(&mut self, epoch: u32, alive: impl Fn(u32) -> bool) {
        let mut w = 0;
        for r in 0..self.docs.len() {
            let d = self.docs[r];
            if alive(d) {
                self.docs[w] = d;
                self.tfs[w] = self.tfs[r];
                w += 1;
            }
        }
        self.docs.truncate(w);
        self.tfs.truncate(w);
        self.clean_epoch = epoch;
    }

    /// Heap bytes held (by capacity).
    pub fn heap_bytes(&self) -> usize {
        self.docs.capacity() * 4 + self.tfs.capacity()
    }
}

/// A read position in a posting list.
#[derive(Clone, Copy, Debug)]
pub struct Cursor<'a> {
    docs: &'a [u32],
    tfs: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the first document of `p`.
    pub fn new(p: &'a Postings) -> Self {
        Cursor { docs: &p.docs, tfs: &p.tfs, pos: 0 }
    }

    /// Length of the whole list.
    #[inline]
    pub fn list_len(&self) -> usize {
        self.docs.len()
    }

    /// The current document, or `u32::MAX` when exhausted.
    #[inline]
    pub fn doc(&self) -> u32 {
        self.docs.get(self.pos).copied().unwrap_or(u32::MAX)
    }

    /// The frequency at the current document (call only when not exhausted).
    #[inline]
    pub fn tf(&self) -> u8 {
        self.tfs[self.pos]
    }

    /// Moves to the next document.
    #[inline]
    pub fn next(&mut self) {
        self.pos += 1;
    }

    /// Moves to the first document `>= target` by galloping then binary search, so a seek
    /// costs the logarithm of the distance skipped, not of the list.
    #[inline]
    pub fn seek(&mut self, target: u32) {
        let docs = self.docs;
        if self.pos >= docs.len() || docs[self.pos] >= target {
            return;
        }
        let mut lo = self.pos;
        let mut step = 1;
        let mut hi = lo + step;
        while hi < docs.len() && docs[hi] < target {
            lo = hi;
            step <<= 1;
            hi = lo + step;
        }
        let hi = hi.min(docs.len());
        // docs[lo] < target; the answer lies in (lo, hi].
        self.pos = lo + 1 + docs[lo + 1..hi].partition_point(|&d| d < target);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seek_lands_on_the_first_doc_at_or_after_the_target() {
        let mut p = Postings::new(0);
        for d in (0..1000).step_by(3) {
            p.push(d, 1, 5);
        }
        for target in 0..1005u32 {
            let mut c = Cursor::new(&p);
            c.seek(target);
            let want = p.docs.iter().copied().find(|&d| d >= target).unwrap_or(u32::MAX);
            assert_eq!(c.doc(), want, "target {target}");
        }
        let mut c = Cursor::new(&p);
        let mut seen = vec![];
        for target in [0, 4, 4, 100, 101, 998, 999] {
            c.seek(target);
            seen.push(c.doc());
        }
        assert_eq!(seen, [0, 6, 6, 102, 102, 999, 999]);
    }

    #[test]
    fn retain_keeps_frequencies_aligned() {
        let mut p = Postings::new(0);
        for d in 0..10 {
            p.push(d, d as u8 + 1, 3);
        }
        p.retain(7, |d| d % 2 == 1);
        assert_eq!(p.docs, [1, 3, 5, 7, 9]);
        assert_eq!(p.tfs, [2, 4, 6, 8, 10]);
        assert_eq!((p.clean_epoch, p.max_tf), (7, 10));
    }
}
