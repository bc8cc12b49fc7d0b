//! A fast path through BERT's tokenizer (BertNormalizer, BertPreTokenizer, WordPiece) for
//! ASCII text, for the static tier, which is otherwise tokenizer-bound.
//!
//! The `tokenizers` pipeline tracks every character's offsets and builds an `Encoding` per
//! text: most of the time of a static embedding. On ASCII text BERT's normalizer and
//! pre-tokenizer reduce to "drop control characters, lowercase, split on whitespace and
//! isolate punctuation", and a word found whole in the vocabulary is one token (WordPiece
//! matches longest first), so a hash lookup replaces the pipeline. Other words go through the
//! tokenizer's own WordPiece; any other text (non-ASCII, or holding a byte that may begin an
//! added token such as `[CLS]`) through the whole tokenizer. The ids are the same either way.

use ferromem_core::{Error, Result};
use rustc_hash::FxHashMap;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::{Model, ModelWrapper, NormalizerWrapper, PreTokenizerWrapper, Tokenizer};

/// The fast path for one tokenizer; `None` from [`FastWordPiece::new`] when the tokenizer is
/// not plain BERT.
pub struct FastWordPiece {
    /// Whole words of the vocabulary (no `##` continuation pieces).
    words: FxHashMap<Box<str>, u32>,
    wordpiece: WordPiece,
    lowercase: bool,
    /// Bytes after which the whole tokenizer must run: those an added token may start with.
    slow: [bool; 128],
}

impl FastWordPiece {
    /// The fast path for `tok`, if its pipeline is BertNormalizer (with `clean_text`),
    /// BertPreTokenizer and WordPiece.
    pub fn new(tok: &Tokenizer) -> Option<Self> {
        let Some(NormalizerWrapper::BertNormalizer(norm)) = tok.get_normalizer() else {
            return None;
        };
        let Some(PreTokenizerWrapper::BertPreTokenizer(_)) = tok.get_pre_tokenizer() else {
            return None;
        };
        let ModelWrapper::WordPiece(wordpiece) = tok.get_model() else { return None };
        if !norm.clean_text {
            return None;
        }
        let mut slow = [false; 128];
        for token in tok.get_added_tokens_decoder().values() {
            let first = token.content.chars().next()?;
            if first.is_ascii() {
                // Normalised added tokens are matched after lowercasing: both cases go slow.
                slow[first.to_ascii_lowercase() as usize] = true;
                slow[first.to_ascii_uppercase() as usize] = true;
            }
        }
        let prefix = &wordpiece.continuing_subword_prefix;
        let words = wordpiece
            .get_vocab()
            .into_iter()
            .filter(|(w, _)| prefix.is_empty() || !w.starts_with(prefix.as_str()))
            .filter(|(w, _)| w.chars().count() <= wordpiece.max_input_chars_per_word)
            .map(|(w, id)| (w.into_boxed_str(), id))
            .collect();
        Some(Self { words, wordpiece: wordpiece.clone(), lowercase: norm.lowercase, slow })
    }

    /// Appends the ids of `text` (no special tokens) to `ids`, with `word` as scratch space;
    /// returns false, appending nothing, when the text needs the whole tokenizer.
    pub fn ids(&self, text: &str, word: &mut String, ids: &mut Vec<u32>) -> Result<bool> {
        if !text.is_ascii() || text.bytes().any(|b| self.slow[b as usize]) {
            return Ok(false);
        }
        word.clear();
        for b in text.bytes() {
            match b {
                // BertNormalizer's clean_text: these three become spaces, other controls go.
                b' ' | b'\t' | b'\n' | b'\r' => self.flush(word, ids)?,
                0..=0x1f | 0x7f => {}
                _ if b.is_ascii_punctuation() => {
                    self.flush(word, ids)?;
                    word.push(b as char);
                    self.flush(word, ids)?;
                }
                _ if self.lowercase => word.push(b.to_ascii_lowercase() as char),
                _ => word.push(b as char),
            }
        }
        self.flush(word, ids)?;
        Ok(true)
    }

    /// WordPiece of one pre-tokenized word, then clears it.
    fn flush(&self, word: &mut String, ids: &mut Vec<u32>) -> Result<()> {
        if word.is_empty() {
            return Ok(());
        }
        if let Some(&id) = self.words.get(word.as_str()) {
            ids.push(id);
        } else {
            let tokens = self
                .wordpiece
                .tokenize(word)
                .map_err(|e| Error::invalid(format!("tokenizing failed: {e}")))?;
            ids.extend(tokens.iter().map(|t| t.id));
        }
        word.clear();
        Ok(())
    }
}
