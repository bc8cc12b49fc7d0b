//! The byte-pair vocabularies compiled into the crate: OpenAI's `cl100k_base` and `o200k_base`.
//!
//! Each ships as a compact file made by `vocab/make_vocab.py` from the files tiktoken downloads
//! (their SHA-256 checked there, and again by the Python tests, which rebuild the original file
//! from this one): a header with magic, version, token count and CRC-32, then one zstd frame of
//! `u8 length, bytes` per rank. 1.3 MB for both, against 47 MB of prebuilt tables in
//! `bpe-openai` and 5.3 MB of base64 text in `tiktoken-rs`.

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"FMVOCAB\x00";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 20;
/// No vocabulary we ship decompresses to more than this (o200k_base: 1.6 MB).
const MAX_BODY: usize = 4 << 20;

/// The embedded `cl100k_base` vocabulary file.
pub(crate) const CL100K_BASE: &[u8] = include_bytes!("vocab/cl100k_base.fmv");
/// The embedded `o200k_base` vocabulary file.
pub(crate) const O200K_BASE: &[u8] = include_bytes!("vocab/o200k_base.fmv");

/// Tokens up to this many bytes are looked up by a packed integer key (nearly all of them, and
/// all that chat words need): hashing and comparing one `u128` is several times cheaper than a
/// byte slice, and these lookups are most of the time spent counting.
pub(crate) const PACKED_MAX: usize = 15;
/// Marks a pair with no rank in [`Vocab::pair_ranks`].
const NO_RANK: u32 = u32::MAX;

/// Token bytes by rank and the rank of each token's bytes.
pub(crate) struct Vocab {
    /// Every token's bytes, in rank order (the tests decode with it; counting never needs it).
    #[cfg(test)]
    tokens: Vec<&'static [u8]>,
    /// Rank of each token of up to [`PACKED_MAX`] bytes, by [`pack`]ed key.
    short: FxHashMap<u128, u32>,
    /// Rank of each longer token.
    long: FxHashMap<&'static [u8], u32>,
    /// Rank of every two-byte token, indexed by the two bytes (the first step of every merge).
    pair_ranks: Vec<u32>,
}

/// A short byte string as one integer: its bytes, and its length in the top byte (a piece may
/// hold NUL bytes, so the zero padding alone would not tell "a" from "a\0").
#[inline]
pub(crate) fn pack(bytes: &[u8]) -> u128 {
    let n = bytes.len().min(PACKED_MAX);
    crate::text::pack_bytes(&bytes[..n]).unwrap_or(0) | (n as u128) << 120
}

impl Vocab {
    /// Decodes an embedded vocabulary file. The body is leaked on purpose: a vocabulary is
    /// loaded once per process into a static, and borrowing from one allocation saves 200k small
    /// ones.
    pub(crate) fn load(name: &str, file: &[u8]) -> Result<Vocab> {
        let bad = |why: &str| Error::CorruptData(format!("embedded {name} vocabulary: {why}"));
        let header = file.get(..HEADER_LEN).ok_or_else(|| bad("shorter than its header"))?;
        let word = |at: usize| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&header[at..at + 4]);
            u32::from_le_bytes(b)
        };
        if &header[..8] != MAGIC {
            return Err(bad("bad magic"));
        }
        if word(8) != VERSION {
            return Err(bad("unknown version"));
        }
        let count = word(12) as usize;
        let body = zstd::bulk::decompress(&file[HEADER_LEN..], MAX_BODY)
            .map_err(|e| bad(&format!("zstd: {e}")))?;
        if crc32fast::hash(&body) != word(16) {
            return Err(bad("checksum mismatch"));
        }
        let body: &'static [u8] = Box::leak(body.into_boxed_slice());
        let mut tokens = Vec::new();
        let mut at = 0;
        while at < body.len() {
            let len = body[at] as usize;
            let token = body.get(at + 1..at + 1 + len).ok_or_else(|| bad("truncated token"))?;
            tokens.push(token);
            at += 1 + len;
        }
        if tokens.len() != count {
            return Err(bad("token count differs from the header"));
        }
        let mut short = FxHashMap::default();
        short.reserve(count);
        let mut long = FxHashMap::default();
        let mut pair_ranks = vec![NO_RANK; 1 << 16];
        for (rank, &token) in tokens.iter().enumerate() {
            let rank = rank as u32;
            let fresh = if token.len() <= PACKED_MAX {
                short.insert(pack(token), rank).is_none()
            } else {
                long.insert(token, rank).is_none()
            };
            if !fresh {
                return Err(bad("a token appears twice"));
            }
            if let [a, b] = token {
                pair_ranks[usize::from(*a) << 8 | usize::from(*b)] = rank;
            }
        }
        let vocab = Vocab {
            #[cfg(test)]
            tokens,
            short,
            long,
            pair_ranks,
        };
        // Byte-level BPE needs every single byte as a token: a piece always encodes.
        if (0..=255u8).any(|b| vocab.rank(&[b]).is_none()) {
            return Err(bad("a single byte is missing"));
        }
        Ok(vocab)
    }

    /// The rank of a token's bytes, if they are one token.
    #[inline]
    pub(crate) fn rank(&self, bytes: &[u8]) -> Option<u32> {
        if bytes.len() <= PACKED_MAX {
            self.short.get(&pack(bytes)).copied()
        } else {
            self.long.get(bytes).copied()
        }
    }

    /// The rank of the two-byte token `a b`, or `u32::MAX` when there is none.
    #[inline]
    pub(crate) fn pair_rank(&self, a: u8, b: u8) -> u32 {
        self.pair_ranks.get(usize::from(a) << 8 | usize::from(b)).copied().unwrap_or(NO_RANK)
    }

    /// The bytes of token `rank`, if there is such a token.
    #[cfg(test)]
    pub(crate) fn token(&self, rank: u32) -> Option<&'static [u8]> {
        self.tokens.get(rank as usize).copied()
    }

    /// Number of tokens (ranks are `0..len`).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.tokens.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_vocabularies_load_with_their_sizes() {
        let cl = Vocab::load("cl100k_base", CL100K_BASE).unwrap();
        assert_eq!(cl.len(), 100_256);
        assert_eq!(cl.rank(b"hello"), Some(15339));
        assert_eq!(cl.token(15339), Some(&b"hello"[..]));
        let o = Vocab::load("o200k_base", O200K_BASE).unwrap();
        assert_eq!(o.len(), 199_998);
        assert_eq!(o.rank(b"hello"), Some(24912));
        assert_eq!(o.token(200_000), None);
    }

    #[test]
    fn damaged_files_are_errors_not_panics() {
        let mut file = CL100K_BASE.to_vec();
        assert!(Vocab::load("x", &file[..10]).is_err());
        file[0] ^= 1;
        assert!(Vocab::load("x", &file).is_err());
        file[0] ^= 1;
        file[8] = 2; // version
        assert!(Vocab::load("x", &file).is_err());
        file[8] = 1;
        file[12] ^= 1; // count
        assert!(Vocab::load("x", &file).is_err());
        file[12] ^= 1;
        file[16] ^= 1; // crc
        assert!(Vocab::load("x", &file).is_err());
        file[16] ^= 1;
        let last = file.len() - 1;
        file[last] ^= 0x55; // the zstd frame's own checksum or content
        assert!(Vocab::load("x", &file).is_err());
        file[last] ^= 0x55;
        assert!(Vocab::load("x", &file).is_ok());
    }
}
