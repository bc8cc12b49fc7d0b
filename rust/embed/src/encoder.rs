//! A sentence-transformers model: tokenizer, BERT encoder, pooling and normalisation, with
//! batches sorted by length and packed without padding.

use std::path::Path;

use ferromem_core::{Error, Result};
use tokenizers::{Tokenizer, TruncationParams};

use crate::bert::Bert;
use crate::config::{corrupt, read, ModelConfig, Pooling};

/// Tokens per forward pass: large enough for efficient matrix products, small enough that the
/// activations of one pass (`tokens x intermediate_size` floats) stay a few tens of MiB.
const PACK_TOKENS: usize = 4096;

/// Loads `tokenizer.json` from `path`, without padding and with truncation at `max_len`
/// tokens (`None`: no truncation). Vocabularies larger than `vocab_rows` are refused.
pub fn load_tokenizer(path: &Path, max_len: Option<usize>, vocab_rows: usize) -> Result<Tokenizer> {
    let bytes = read(path)?;
    tokenizer_from_bytes(&bytes, path, max_len, vocab_rows)
}

/// [`load_tokenizer`] from the file's bytes (`path` names it in errors).
pub fn tokenizer_from_bytes(
    bytes: &[u8],
    path: &Path,
    max_len: Option<usize>,
    vocab_rows: usize,
) -> Result<Tokenizer> {
    let mut tok = Tokenizer::from_bytes(bytes)
        .map_err(|e| corrupt(path, format!("not a valid tokenizer: {e}")))?;
    tok.with_padding(None);
    let truncation =
        max_len.map(|max_length| TruncationParams { max_length, ..Default::default() });
    tok.with_truncation(truncation).map_err(|e| corrupt(path, format!("truncation: {e}")))?;
    let size = tok.get_vocab_size(true);
    if size > vocab_rows {
        return Err(corrupt(
            path,
            format!("its vocabulary has {size} tokens but the model only {vocab_rows} rows"),
        ));
    }
    Ok(tok)
}

/// Token ids of `texts`, in order (`special`: with `[CLS]` and `[SEP]`). Tokenizes in parallel.
pub fn tokenize(tok: &Tokenizer, texts: &[&str], special: bool) -> Result<Vec<Vec<u32>>> {
    let encodings = tok
        .encode_batch_fast(texts.to_vec(), special)
        .map_err(|e| Error::invalid(format!("tokenizing failed: {e}")))?;
    Ok(encodings.into_iter().map(|e| e.get_ids().to_vec()).collect())
}

/// A loaded sentence-transformers model.
pub struct SentenceEncoder {
    config: ModelConfig,
    tokenizer: Tokenizer,
    bert: Bert,
    fingerprint: u32,
}

impl SentenceEncoder {
    /// Loads the model directory `dir` (see [`ModelConfig::load`]); a missing file is an I/O
    /// error and a damaged one a `CorruptFile` error, each naming the file.
    pub fn load(dir: &Path) -> Result<Self> {
        let config = ModelConfig::load(dir)?;
        let tokenizer = load_tokenizer(
            &config.tokenizer_path,
            Some(config.max_seq_length),
            config.bert.vocab_size,
        )?;
        let weights = read(&config.weights_path)?;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&read(&config.config_path)?);
        crc.update(&weights);
        let fingerprint = crc.finalize();
        let bert = Bert::load(&config, &weights)?;
        Ok(Self { config, tokenizer, bert, fingerprint })
    }

    /// Length of the sentence vectors.
    pub fn dimension(&self) -> usize {
        self.config.dimension()
    }

    /// Longest input in tokens; longer texts are truncated to it.
    pub fn max_seq_length(&self) -> usize {
        self.config.max_seq_length
    }

    /// A checksum of the configuration files and the weights: names this exact model.
    pub fn fingerprint(&self) -> u32 {
        self.fingerprint
    }

    /// The model's configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The tokenizer (truncating at [`Self::max_seq_length`], no padding).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Embeds `texts` into a row-major `texts.len() x dimension` matrix.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<f32>> {
        let lowered: Vec<String>;
        let texts = if self.config.lowercase {
            lowered = texts.iter().map(|t| t.to_lowercase()).collect();
            lowered.iter().map(String::as_str).collect()
        } else {
            texts.to_vec()
        };
        let ids = tokenize(&self.tokenizer, &texts, true)?;
        self.embed_ids(&ids)
    }

    /// Embeds already tokenized sequences (each within [`Self::max_seq_length`]).
    pub fn embed_ids(&self, ids: &[Vec<u32>]) -> Result<Vec<f32>> {
        let dim = self.dimension();
        let mut out = vec![0.0f32; ids.len() * dim];
        // Longest first, as sentence-transformers does: packs of similar lengths balance the
        // per-sequence attention work across threads.
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(ids[i].len()));
        let mut start = 0;
        while start < order.len() {
            let mut end = start;
            let mut tokens = 0;
            while end < order.len()
                && (end == start || tokens + ids[order[end]].len() <= PACK_TOKENS)
            {
                tokens += ids[order[end]].len();
                end += 1;
            }
            let pack: Vec<&[u32]> = order[start..end].iter().map(|&i| ids[i].as_slice()).collect();
            let hidden = self.bert.forward(&pack)?;
            let mut row = 0;
            for (&i, seq) in order[start..end].iter().zip(&pack) {
                let h = self.bert.config().hidden_size;
                let states = &hidden[row * h..(row + seq.len()) * h];
                pool(states, h, self.config.pooling, &mut out[i * dim..(i + 1) * dim]);
                if self.config.normalize {
                    normalize(&mut out[i * dim..(i + 1) * dim]);
                }
                row += seq.len();
            }
            start = end;
        }
        Ok(out)
    }

    /// The model's vector of every token of its vocabulary, as model2vec distils it: each
    /// token alone between `[CLS]` and `[SEP]`, mean-pooled over the three positions.
    /// Returns a `vocab_size x hidden_size` matrix (ids the tokenizer lacks stay zero).
    pub fn token_vectors(&self) -> Result<Vec<f32>> {
        let h = self.bert.config().hidden_size;
        let rows = self.bert.config().vocab_size;
        let (cls, sep) =
            match (self.tokenizer.token_to_id("[CLS]"), self.tokenizer.token_to_id("[SEP]")) {
                (Some(c), Some(s)) => (c, s),
                _ => {
                    return Err(corrupt(
                        &self.config.tokenizer_path,
                        "it has no [CLS] and [SEP] tokens",
                    ))
                }
            };
        let vocab = self.tokenizer.get_vocab_size(true).min(rows);
        let ids: Vec<Vec<u32>> = (0..vocab as u32).map(|id| vec![cls, id, sep]).collect();
        let mean = Pooling { cls: false, max: false, mean: true, mean_sqrt_len: false };
        let mut out = vec![0.0f32; rows * h];
        for (chunk_ids, chunk_out) in
            ids.chunks(PACK_TOKENS / 3).zip(out.chunks_mut(PACK_TOKENS / 3 * h))
        {
            let pack: Vec<&[u32]> = chunk_ids.iter().map(Vec::as_slice).collect();
            let hidden = self.bert.forward(&pack)?;
            for (states, row) in hidden.chunks_exact(3 * h).zip(chunk_out.chunks_exact_mut(h)) {
                pool(states, h, mean, row);
            }
        }
        Ok(out)
    }
}

/// Pools `states` (`len x h` token vectors) into `out` (`parts x h`), in sentence-transformers'
/// order: cls, max, mean, mean_sqrt_len.
fn pool(states: &[f32], h: usize, pooling: Pooling, out: &mut [f32]) {
    let len = (states.len() / h).max(1) as f32;
    let mut parts = out.chunks_exact_mut(h);
    let sum = |o: &mut [f32], scale: f32| {
        o.fill(0.0);
        for row in states.chunks_exact(h) {
            o.iter_mut().zip(row).for_each(|(o, v)| *o += v);
        }
        o.iter_mut().for_each(|v| *v *= scale);
    };
    for (on, mode) in [
        (pooling.cls, Mode::Cls),
        (pooling.max, Mode::Max),
        (pooling.mean, Mode::Mean),
        (pooling.mean_sqrt_len, Mode::MeanSqrtLen),
    ] {
        if !on {
            continue;
        }
        let Some(o) = parts.next() else { break };
        match mode {
            Mode::Cls => o.copy_from_slice(&states[..h]),
            Mode::Max => {
                o.fill(f32::NEG_INFINITY);
                for row in states.chunks_exact(h) {
                    o.iter_mut().zip(row).for_each(|(o, v)| *o = o.max(*v));
                }
            }
            Mode::Mean => sum(o, 1.0 / len),
            Mode::MeanSqrtLen => sum(o, 1.0 / len.sqrt()),
        }
    }
}

enum Mode {
    Cls,
    Max,
    Mean,
    MeanSqrtLen,
}

/// L2-normalises `v` (as torch's `normalize`, with its 1e-12 floor).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
}
