//! The static tier: one vector per vocabulary token, distilled from a sentence encoder as
//! model2vec does; a text's vector is the normalised mean of its tokens' vectors. No
//! transformer runs at embedding time, so it embeds hundreds of thousands of texts a second.
//!
//! Saved in ferromem's envelope (magic, version, crc32, atomic replace) with the tokenizer
//! inside, so a saved model loads on its own.

use std::path::Path;

use ferromem_core::snapshot::{load_checked, write_atomic, Reader, Writer};
use ferromem_core::{Error, Result};
use rayon::prelude::*;
use tokenizers::Tokenizer;

use crate::encoder::{normalize, tokenizer_from_bytes};
use crate::wordpiece::FastWordPiece;

const MAGIC: &[u8; 8] = b"FMSTATIC";
const VERSION: u32 = 1;
/// Texts per parallel task: tokenizing and averaging one short text takes microseconds.
const CHUNK: usize = 256;

/// A static embedder: token vectors and the tokenizer that splits texts into them.
pub struct StaticModel {
    tokenizer_json: Vec<u8>,
    tokenizer: Tokenizer,
    fast: Option<FastWordPiece>,
    vectors: Vec<f32>,
    dim: usize,
    source: u32,
}

impl StaticModel {
    /// A model from `tokenizer.json`'s bytes and a `rows x dim` matrix of token vectors
    /// (row = token id); `source` records what it was distilled from (a fingerprint).
    pub fn new(
        tokenizer_json: Vec<u8>,
        vectors: Vec<f32>,
        dim: usize,
        source: u32,
    ) -> Result<Self> {
        if dim == 0 || !vectors.len().is_multiple_of(dim) {
            return Err(Error::invalid(format!(
                "vectors ({} values) do not form rows of dimension {dim}",
                vectors.len()
            )));
        }
        if vectors.iter().any(|v| !v.is_finite()) {
            return Err(Error::invalid("vectors hold NaN or infinite values"));
        }
        let rows = vectors.len() / dim;
        let tokenizer =
            tokenizer_from_bytes(&tokenizer_json, Path::new("tokenizer.json"), None, rows)?;
        let fast = FastWordPiece::new(&tokenizer);
        Ok(Self { tokenizer_json, tokenizer, fast, vectors, dim, source })
    }

    /// Length of the vectors.
    pub fn dimension(&self) -> usize {
        self.dim
    }

    /// The fingerprint of the model it was distilled from.
    pub fn source(&self) -> u32 {
        self.source
    }

    /// The token ids of `text`, without special tokens (`word` is scratch space).
    fn token_ids(&self, text: &str, word: &mut String, ids: &mut Vec<u32>) -> Result<()> {
        ids.clear();
        if let Some(fast) = &self.fast {
            if fast.ids(text, word, ids)? {
                return Ok(());
            }
        }
        let encoding = self
            .tokenizer
            .encode_fast(text, false)
            .map_err(|e| Error::invalid(format!("tokenizing failed: {e}")))?;
        ids.extend_from_slice(encoding.get_ids());
        Ok(())
    }

    /// The token ids of each text, without special tokens: what [`Self::embed`] averages.
    pub fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        let (mut word, mut ids) = (String::new(), Vec::new());
        texts.iter().map(|t| self.token_ids(t, &mut word, &mut ids).map(|()| ids.clone())).collect()
    }

    /// Embeds `texts` into a `texts.len() x dimension` matrix: the L2-normalised mean of each
    /// text's token vectors (unknown-word tokens left out); a text without tokens is all zeros.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<f32>> {
        let dim = self.dim;
        let unk = self.tokenizer.token_to_id("[UNK]");
        let mut out = vec![0.0f32; texts.len() * dim];
        out.par_chunks_mut(CHUNK * dim).zip(texts.par_chunks(CHUNK)).try_for_each(
            |(rows, chunk)| -> Result<()> {
                let (mut word, mut ids) = (String::new(), Vec::new());
                for (row, text) in rows.chunks_exact_mut(dim).zip(chunk) {
                    self.token_ids(text, &mut word, &mut ids)?;
                    let mut n = 0usize;
                    for &id in ids.iter().filter(|&&id| Some(id) != unk) {
                        let start = id as usize * dim;
                        if let Some(v) = self.vectors.get(start..start + dim) {
                            row.iter_mut().zip(v).for_each(|(o, v)| *o += v);
                            n += 1;
                        }
                    }
                    if n > 0 {
                        normalize(row);
                    }
                }
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// Writes the model to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut w = Writer::default();
        w.u32(self.source);
        w.u64(self.dim as u64);
        w.bytes(&self.tokenizer_json);
        w.f32s(&self.vectors);
        write_atomic(path, MAGIC, VERSION, &w.buf)
    }

    /// Reads a model written by [`Self::save`]; damage is a `CorruptFile` error naming `path`.
    pub fn load(path: &Path) -> Result<Self> {
        load_checked(path, MAGIC, VERSION, |body| {
            let mut r = Reader::new(body);
            let source = r.u32()?;
            let dim =
                usize::try_from(r.u64()?).map_err(|_| Error::CorruptData("dimension".into()))?;
            let tokenizer_json = r.bytes()?.to_vec();
            let vectors = r.f32s()?;
            if !r.is_done() {
                return Err(Error::CorruptData("trailing bytes".into()));
            }
            Self::new(tokenizer_json, vectors, dim, source)
        })
    }
}
