//! One term's uncompressed posting list in the tail (documents added since the last seal):
//! ascending `u32` document numbers with their term frequencies, plus the bounds that let
//! search skip documents that cannot reach the top k.

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
}

impl Postings {
    /// An empty list.
    pub fn new() -> Self {
        Postings { min_len: [u32::MAX; TF_BUCKETS], ..Default::default() }
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

    /// Heap bytes held (by capacity).
    pub fn heap_bytes(&self) -> usize {
        self.docs.capacity() * 4 + self.tfs.capacity()
    }
}

/// The largest value of `tf / (tf + c0 + c1 * len)` any posting of a list with these bounds
/// can have: the BM25 saturation part of the term's score bound.
pub fn max_saturation(max_tf: u8, min_len: &[u32; TF_BUCKETS], c0: f32, c1: f32) -> f32 {
    let mut best = 0.0f32;
    for (b, &len) in min_len.iter().enumerate() {
        if len == u32::MAX {
            continue;
        }
        let tf = if b + 1 < TF_BUCKETS { (b + 1) as f32 } else { max_tf as f32 };
        best = best.max(tf / (tf + c0 + c1 * len as f32));
    }
    best
}
