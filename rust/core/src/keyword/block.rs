//! The compressed form of one posting list, as tantivy and Lucene store theirs.
//!
//! Layout: a header (`n` postings as a varint, `max_tf` as one byte, the four `min_len` bounds
//! as varints of `len + 1`, 0 meaning none), then `n / 128` full blocks, then the rest.
//! A full block is `last_doc (u32 LE) | doc bits (u8) | tf bits (u8)` followed by 128 strictly
//! ascending doc ids delta-encoded and bit-packed, then the 128 `tf - 1` bit-packed (mostly
//! zero bits: most terms occur once per message). The header's `last_doc` lets a seek step over
//! a block without decoding it. The rest (< 128 postings) is varints, `delta << 1 | (tf == 1)`
//! then `tf` when it is not 1, so short lists (most of a vocabulary) cost a few bytes.

use bitpacking::{BitPacker, BitPacker4x};

use super::postings::TF_BUCKETS;

/// Postings per bit-packed block.
pub const BLOCK: usize = BitPacker4x::BLOCK_LEN;

const BLOCK_HEAD: usize = 6;

/// Appends `v` as a LEB128 varint.
#[inline]
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a varint at `*at`, advancing it; `None` when truncated or longer than 64 bits.
#[inline]
pub fn get_varint(data: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*at)?;
        *at += 1;
        v |= ((b & 0x7f) as u64) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// The summary kept in a list's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Postings in the list.
    pub n: usize,
    /// The largest frequency ever added.
    pub max_tf: u8,
    /// The shortest document per frequency bucket (`u32::MAX`: none).
    pub min_len: [u32; TF_BUCKETS],
}

impl Header {
    /// Parses the header at the start of `data`; returns it and where the blocks start.
    pub fn read(data: &[u8]) -> Option<(Header, usize)> {
        let mut at = 0;
        let n = usize::try_from(get_varint(data, &mut at)?).ok()?;
        let max_tf = *data.get(at)?;
        at += 1;
        let mut min_len = [u32::MAX; TF_BUCKETS];
        for slot in &mut min_len {
            let v = get_varint(data, &mut at)?;
            *slot = if v == 0 { u32::MAX } else { u32::try_from(v - 1).ok()? };
        }
        Some((Header { n, max_tf, min_len }, at))
    }

    fn write(&self, out: &mut Vec<u8>) {
        put_varint(out, self.n as u64);
        out.push(self.max_tf);
        for &len in &self.min_len {
            put_varint(out, if len == u32::MAX { 0 } else { len as u64 + 1 });
        }
    }
}

/// Appends the encoded list of `docs` (strictly ascending) and `tfs` (>= 1) to `out`.
pub fn encode(header: Header, docs: &[u32], tfs: &[u8], out: &mut Vec<u8>) {
    debug_assert_eq!(header.n, docs.len());
    header.write(out);
    encode_body(None, docs, tfs, out);
}

/// Blocks and rest of `docs`, the first block delta-coded from `prev` (the last doc before).
fn encode_body(mut prev: Option<u32>, docs: &[u32], tfs: &[u8], out: &mut Vec<u8>) {
    let packer = BitPacker4x::new();
    let full = docs.len() / BLOCK * BLOCK;
    let mut tf_buf = [0u32; BLOCK];
    for (d, t) in docs[..full].chunks_exact(BLOCK).zip(tfs[..full].chunks_exact(BLOCK)) {
        for (slot, &tf) in tf_buf.iter_mut().zip(t) {
            *slot = tf as u32 - 1;
        }
        let doc_bits = packer.num_bits_strictly_sorted(prev, d);
        let tf_bits = packer.num_bits(&tf_buf);
        let last = d[BLOCK - 1];
        out.extend_from_slice(&last.to_le_bytes());
        out.push(doc_bits);
        out.push(tf_bits);
        let start = out.len();
        out.resize(start + 16 * (doc_bits as usize + tf_bits as usize), 0);
        let written = packer.compress_strictly_sorted(prev, d, &mut out[start..], doc_bits);
        packer.compress(&tf_buf, &mut out[start + written..], tf_bits);
        prev = Some(last);
    }
    for (&doc, &tf) in docs[full..].iter().zip(&tfs[full..]) {
        let delta = prev.map_or(doc as u64 + 1, |p| (doc - p) as u64);
        put_varint(out, delta << 1 | (tf == 1) as u64);
        if tf != 1 {
            out.push(tf);
        }
        prev = Some(doc);
    }
}

/// Appends to `out` the list `old` (encoded) followed by `docs`/`tfs` (all larger than its
/// documents), reusing `old`'s full blocks as they are: only its rest is decoded.
pub fn encode_appended(old: &[u8], header: Header, docs: &[u32], tfs: &[u8], out: &mut Vec<u8>) {
    let (old_head, body) = Header::read(old).expect("lists in memory are well formed");
    header.write(out);
    let mut at = body;
    let mut prev = None;
    for _ in 0..old_head.n / BLOCK {
        let bits = old[at + 4] as usize + old[at + 5] as usize;
        prev = Some(u32::from_le_bytes(old[at..at + 4].try_into().expect("4 bytes")));
        at += BLOCK_HEAD + 16 * bits;
    }
    out.extend_from_slice(&old[body..at]);
    let mut rest_docs = Vec::with_capacity(old_head.n % BLOCK + docs.len());
    let mut rest_tfs = Vec::with_capacity(rest_docs.capacity());
    let mut p = prev;
    for _ in 0..old_head.n % BLOCK {
        let (doc, tf) = rest_posting(old, &mut at, p).expect("lists in memory are well formed");
        rest_docs.push(doc);
        rest_tfs.push(tf);
        p = Some(doc);
    }
    rest_docs.extend_from_slice(docs);
    rest_tfs.extend_from_slice(tfs);
    encode_body(prev, &rest_docs, &rest_tfs, out);
}

/// One posting of the varint rest, or `None` when malformed.
#[inline]
fn rest_posting(data: &[u8], at: &mut usize, prev: Option<u32>) -> Option<(u32, u8)> {
    let v = get_varint(data, at)?;
    let delta = v >> 1;
    let doc = match prev {
        None => delta.checked_sub(1)?,
        Some(p) if delta > 0 => (p as u64).checked_add(delta)?,
        Some(_) => return None,
    };
    let doc = u32::try_from(doc).ok()?;
    let tf = if v & 1 == 1 {
        1
    } else {
        let tf = *data.get(*at)?;
        *at += 1;
        tf
    };
    Some((doc, tf))
}

/// Decodes a whole list, checking everything an untrusted one could get wrong (truncation,
/// bit widths, order, zero frequencies, trailing bytes); `None` when any is wrong.
pub fn decode_checked(data: &[u8]) -> Option<(Header, Vec<u32>, Vec<u8>)> {
    let (head, mut at) = Header::read(data)?;
    // Every block takes at least its header, every posting of the rest a byte.
    if head.n / BLOCK * BLOCK_HEAD + head.n % BLOCK > data.len() {
        return None;
    }
    let packer = BitPacker4x::new();
    let mut docs = Vec::with_capacity(head.n);
    let mut tfs = Vec::with_capacity(head.n);
    let mut prev: Option<u32> = None;
    let (mut d, mut t) = ([0u32; BLOCK], [0u32; BLOCK]);
    for _ in 0..head.n / BLOCK {
        let h = data.get(at..at + BLOCK_HEAD)?;
        let last = u32::from_le_bytes(h[..4].try_into().ok()?);
        let (doc_bits, tf_bits) = (h[4], h[5]);
        if doc_bits > 32 || tf_bits > 8 {
            return None;
        }
        at += BLOCK_HEAD;
        let packed = data.get(at..at + 16 * (doc_bits as usize + tf_bits as usize))?;
        let used = packer.decompress_strictly_sorted(prev, packed, &mut d, doc_bits);
        packer.decompress(&packed[used..], &mut t, tf_bits);
        at += packed.len();
        // Deltas wrap on overflow: order is what proves a block was not forged.
        let mut p = prev;
        for (&doc, &tf) in d.iter().zip(&t) {
            if p.is_some_and(|p| doc <= p) || tf >= 255 {
                return None;
            }
            docs.push(doc);
            tfs.push(tf as u8 + 1);
            p = Some(doc);
        }
        if p != Some(last) {
            return None;
        }
        prev = p;
    }
    for _ in 0..head.n % BLOCK {
        let (doc, tf) = rest_posting(data, &mut at, prev)?;
        if tf == 0 {
            return None;
        }
        docs.push(doc);
        tfs.push(tf);
        prev = Some(doc);
    }
    (at == data.len()).then_some((head, docs, tfs))
}

/// Decodes a list built in memory (trusted: malformed data panics rather than misleads).
pub fn decode(data: &[u8]) -> (Header, Vec<u32>, Vec<u8>) {
    decode_checked(data).expect("lists in memory are well formed")
}

/// A read position over a compressed list followed by an uncompressed tail (the postings of
/// documents added since the list was sealed), one window of up to 128 postings at a time.
#[derive(Clone, Debug)]
pub struct Cursor<'a> {
    len: usize,
    pos: usize,
    docs: [u32; BLOCK],
    /// `tf - 1`, as blocks store them.
    tfs: [u32; BLOCK],
    data: &'a [u8],
    at: usize,
    blocks_left: usize,
    rest_left: usize,
    prev: Option<u32>,
    tail_docs: &'a [u32],
    tail_tfs: &'a [u8],
    tail_at: usize,
    total: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the first posting of `sealed` (an encoded list, or empty) then of the tail.
    pub fn new(sealed: &'a [u8], tail_docs: &'a [u32], tail_tfs: &'a [u8]) -> Self {
        let (head, at) = if sealed.is_empty() {
            (Header { n: 0, max_tf: 0, min_len: [u32::MAX; TF_BUCKETS] }, 0)
        } else {
            Header::read(sealed).expect("lists in memory are well formed")
        };
        let mut c = Cursor {
            len: 0,
            pos: 0,
            docs: [0; BLOCK],
            tfs: [0; BLOCK],
            data: sealed,
            at,
            blocks_left: head.n / BLOCK,
            rest_left: head.n % BLOCK,
            prev: None,
            tail_docs,
            tail_tfs,
            tail_at: 0,
            total: head.n + tail_docs.len(),
        };
        c.refill();
        c
    }

    /// Postings in the whole list (deleted documents included until compaction).
    #[inline]
    pub fn list_len(&self) -> usize {
        self.total
    }

    /// The current document, or `u32::MAX` when exhausted.
    #[inline]
    pub fn doc(&self) -> u32 {
        if self.pos < self.len {
            // pos < len <= BLOCK: the mask only spares the bounds check.
            self.docs[self.pos & (BLOCK - 1)]
        } else {
            u32::MAX
        }
    }

    /// The frequency at the current document (call only when not exhausted).
    #[inline]
    pub fn tf(&self) -> u8 {
        self.tfs[self.pos & (BLOCK - 1)] as u8 + 1
    }

    /// Moves to the next document.
    #[inline]
    pub fn next(&mut self) {
        self.pos += 1;
        if self.pos >= self.len {
            self.refill();
        }
    }

    /// Loads the next window: a block, the varint rest, or a slice of the tail.
    fn refill(&mut self) {
        self.pos = 0;
        let data = self.data;
        if self.blocks_left > 0 {
            let at = self.at;
            let (doc_bits, tf_bits) = (data[at + 4], data[at + 5]);
            let packer = BitPacker4x::new();
            let start = at + BLOCK_HEAD;
            let used = packer.decompress_strictly_sorted(
                self.prev,
                &data[start..],
                &mut self.docs,
                doc_bits,
            );
            packer.decompress(&data[start + used..], &mut self.tfs, tf_bits);
            self.at = start + 16 * (doc_bits as usize + tf_bits as usize);
            self.blocks_left -= 1;
            self.prev = Some(self.docs[BLOCK - 1]);
            self.len = BLOCK;
        } else if self.rest_left > 0 {
            let mut at = self.at;
            for i in 0..self.rest_left {
                let (doc, tf) = rest_posting(data, &mut at, self.prev)
                    .expect("lists in memory are well formed");
                self.docs[i] = doc;
                self.tfs[i] = tf as u32 - 1;
                self.prev = Some(doc);
            }
            self.at = at;
            self.len = self.rest_left;
            self.rest_left = 0;
        } else {
            let from = self.tail_at;
            let n = (self.tail_docs.len() - from).min(BLOCK);
            self.docs[..n].copy_from_slice(&self.tail_docs[from..from + n]);
            for (slot, &tf) in self.tfs[..n].iter_mut().zip(&self.tail_tfs[from..from + n]) {
                *slot = tf as u32 - 1;
            }
            self.tail_at = from + n;
            self.len = n;
        }
    }

    /// Moves to the first document `>= target`: whole blocks whose last document is smaller
    /// are stepped over undecoded, then the window is searched.
    #[inline]
    pub fn seek(&mut self, target: u32) {
        if self.doc() >= target {
            return;
        }
        if self.docs[self.len - 1] < target {
            self.skip_windows(target);
            if self.doc() >= target {
                return;
            }
        }
        // Gallop: a probed list's next match is usually a few postings ahead.
        let docs = &self.docs[..self.len];
        let mut lo = self.pos;
        let mut step = 1;
        let mut hi = lo + step;
        while hi < docs.len() && docs[hi] < target {
            lo = hi;
            step <<= 1;
            hi = lo + step;
        }
        let hi = hi.min(docs.len());
        // docs[lo] < target <= docs[hi] (or the window's end).
        self.pos = lo + 1 + docs[lo + 1..hi].partition_point(|&d| d < target);
    }

    /// Drops the current window and loads the first one that can hold `target`.
    #[cold]
    fn skip_windows(&mut self, target: u32) {
        let data = self.data;
        while self.blocks_left > 0 {
            let at = self.at;
            let last = u32::from_le_bytes(data[at..at + 4].try_into().expect("4 bytes"));
            if last >= target {
                self.refill();
                return;
            }
            self.at = at + BLOCK_HEAD + 16 * (data[at + 4] as usize + data[at + 5] as usize);
            self.blocks_left -= 1;
            self.prev = Some(last);
        }
        if self.rest_left > 0 {
            self.refill();
            if self.docs[self.len - 1] >= target {
                return;
            }
        }
        let tail = &self.tail_docs[self.tail_at..];
        self.tail_at += tail.partition_point(|&d| d < target);
        self.refill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: usize, step: u32) -> (Vec<u32>, Vec<u8>) {
        let docs: Vec<u32> = (0..n as u32).map(|i| i * step + (i % 3)).collect();
        let tfs: Vec<u8> = (0..n).map(|i| if i % 5 == 0 { 3 } else { 1 }).collect();
        (docs, tfs)
    }

    fn head(n: usize) -> Header {
        Header { n, max_tf: 3, min_len: [1, u32::MAX, 4, u32::MAX] }
    }

    #[test]
    fn lists_round_trip_and_append_keeps_blocks() {
        for n in [0, 1, 5, 127, 128, 129, 300, 1000] {
            let (docs, tfs) = sample(n, 9);
            let mut enc = vec![];
            encode(head(n), &docs, &tfs, &mut enc);
            assert_eq!(decode(&enc), (head(n), docs.clone(), tfs.clone()));
            for cut in [0, n / 3, n] {
                let mut first = vec![];
                encode(head(cut), &docs[..cut], &tfs[..cut], &mut first);
                let mut both = vec![];
                encode_appended(&first, head(n), &docs[cut..], &tfs[cut..], &mut both);
                assert_eq!(both, enc, "n {n} cut {cut}");
            }
        }
    }

    #[test]
    fn cursor_walks_and_seeks_through_blocks_rest_and_tail() {
        let (docs, tfs) = sample(700, 5);
        let mut enc = vec![];
        encode(head(400), &docs[..400], &tfs[..400], &mut enc);
        let mut c = Cursor::new(&enc, &docs[400..], &tfs[400..]);
        assert_eq!(c.list_len(), 700);
        for (&d, &tf) in docs.iter().zip(&tfs) {
            assert_eq!((c.doc(), c.tf()), (d, tf));
            c.next();
        }
        assert_eq!(c.doc(), u32::MAX);
        for step in [1u32, 3, 40, 700] {
            let mut c = Cursor::new(&enc, &docs[400..], &tfs[400..]);
            let mut target = 0;
            while target < 3600 {
                c.seek(target);
                let want = docs.iter().copied().find(|&d| d >= target).unwrap_or(u32::MAX);
                assert_eq!(c.doc(), want, "target {target}");
                target += step;
            }
        }
    }

    #[test]
    fn damaged_lists_are_refused_without_panicking() {
        let (docs, tfs) = sample(300, 11);
        let mut enc = vec![];
        encode(head(300), &docs, &tfs, &mut enc);
        for i in 0..enc.len() {
            for flip in [0x01u8, 0x10, 0x80] {
                let mut bad = enc.clone();
                bad[i] ^= flip;
                if let Some((_, d, t)) = decode_checked(&bad) {
                    assert!(d.windows(2).all(|w| w[0] < w[1]) && t.iter().all(|&t| t >= 1));
                }
            }
        }
        assert!(decode_checked(&enc[..enc.len() - 1]).is_none());
    }
}
