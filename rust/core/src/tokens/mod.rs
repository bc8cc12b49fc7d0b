//! Token counting: OpenAI's `o200k_base` and `cl100k_base` exactly, or a fast approximation.
//!
//! The exact encodings give the same tokens as tiktoken's `encode_ordinary` (special tokens such
//! as `<|endoftext|>` count as the text they are). They pre-tokenize with the same patterns
//! ([`split`]), then merge each piece with tiktoken's byte-pair rule ([`bpe`]) over the
//! vocabularies compiled into the crate ([`vocab`]); a piece that is a whole token, as most words
//! are, costs one hash lookup. [`approx`] is the earlier estimate of cl100k without a vocabulary.

use std::cell::RefCell;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use rayon::prelude::*;

use crate::error::{Error, Result};

mod approx;
mod bpe;
mod split;
mod vocab;

pub use approx::{count_tokens, count_tokens_many};

use bpe::Merger;
use split::{Pattern, Splitter};
use vocab::Vocab;

/// A way of counting tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// The fast estimate of `cl100k_base` ([`count_tokens`]); no vocabulary, not exact.
    Approx,
    /// OpenAI's `cl100k_base` (GPT-4, GPT-3.5-turbo, text-embedding-3), exact.
    Cl100kBase,
    /// OpenAI's `o200k_base` (GPT-4o, GPT-4.1, o1, o3, o4-mini), exact.
    O200kBase,
}

impl Encoding {
    /// Every encoding, in the order the names are listed in messages.
    pub const ALL: [Encoding; 3] = [Encoding::Approx, Encoding::Cl100kBase, Encoding::O200kBase];

    /// The name users pass (`"approx"`, `"cl100k_base"`, `"o200k_base"`).
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Approx => "approx",
            Encoding::Cl100kBase => "cl100k_base",
            Encoding::O200kBase => "o200k_base",
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Encoding {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        Encoding::ALL.into_iter().find(|e| e.name() == name).ok_or_else(|| {
            Error::invalid(format!(
                "encoding must be 'approx', 'cl100k_base' or 'o200k_base', not {name:?}"
            ))
        })
    }
}

/// An exact tokenizer: a vocabulary and its pre-tokenizer, loaded once per process.
struct Tokenizer {
    vocab: Vocab,
    splitter: Splitter,
}

impl Tokenizer {
    fn get(encoding: Encoding) -> Result<Option<&'static Tokenizer>> {
        static CL100K: OnceLock<std::result::Result<Tokenizer, String>> = OnceLock::new();
        static O200K: OnceLock<std::result::Result<Tokenizer, String>> = OnceLock::new();
        let (cell, file, pattern) = match encoding {
            Encoding::Approx => return Ok(None),
            Encoding::Cl100kBase => (&CL100K, vocab::CL100K_BASE, Pattern::Cl100k),
            Encoding::O200kBase => (&O200K, vocab::O200K_BASE, Pattern::O200k),
        };
        let loaded = cell.get_or_init(|| {
            let load = || -> Result<Tokenizer> {
                Ok(Tokenizer {
                    vocab: Vocab::load(encoding.name(), file)?,
                    splitter: Splitter::new(pattern),
                })
            };
            load().map_err(|e| e.to_string())
        });
        match loaded {
            Ok(t) => Ok(Some(t)),
            Err(msg) => Err(Error::CorruptData(msg.clone())),
        }
    }

    fn count(&self, merger: &mut Merger, text: &str) -> Result<usize> {
        let mut n = 0;
        self.splitter.for_each_piece(text, |piece| n += merger.count(&self.vocab, piece))?;
        Ok(n)
    }
}

thread_local! {
    /// Each thread's merge scratch and piece cache, one per exact encoding.
    static MERGERS: RefCell<[Option<Merger>; 2]> = const { RefCell::new([None, None]) };
}

/// Runs `f` with this thread's [`Merger`] for `encoding`.
fn with_merger<R>(encoding: Encoding, f: impl FnOnce(&mut Merger) -> R) -> R {
    let slot = usize::from(encoding == Encoding::O200kBase);
    MERGERS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut mergers) => f(mergers[slot].get_or_insert_with(Merger::new)),
        // Only a re-entrant call could find it borrowed; it gets scratch space of its own.
        Err(_) => f(&mut Merger::new()),
    })
}

/// Tokens in `text` under `encoding`.
pub fn count(text: &str, encoding: Encoding) -> Result<usize> {
    match Tokenizer::get(encoding)? {
        None => Ok(count_tokens(text)),
        Some(t) => with_merger(encoding, |m| t.count(m, text)),
    }
}

/// [`count`] for many texts, spread over all cores; counts saturate at `u32::MAX`.
pub fn count_many<S: AsRef<str> + Sync>(texts: &[S], encoding: Encoding) -> Result<Vec<u32>> {
    let Some(t) = Tokenizer::get(encoding)? else {
        return Ok(count_tokens_many(texts));
    };
    let one = |merger: &mut Merger, text: &S| {
        t.count(merger, text.as_ref()).map(|n| u32::try_from(n).unwrap_or(u32::MAX))
    };
    // Below this, handing work to other threads costs more than it saves; with one thread in
    // the pool, handing it over costs a context switch and gains nothing.
    if texts.len() < 64 || rayon::current_num_threads() < 2 {
        return with_merger(encoding, |m| texts.iter().map(|text| one(m, text)).collect());
    }
    texts
        .par_chunks(256)
        .flat_map_iter(|chunk| {
            with_merger(encoding, |m| chunk.iter().map(|text| one(m, text)).collect::<Vec<_>>())
        })
        .collect()
}

/// The token ids of `text` under an exact encoding (tiktoken's `encode_ordinary`).
pub fn encode(text: &str, encoding: Encoding) -> Result<Vec<u32>> {
    let t = Tokenizer::get(encoding)?.ok_or_else(|| {
        Error::invalid("encoding 'approx' counts tokens without a vocabulary and has no token ids")
    })?;
    let mut out = Vec::new();
    with_merger(encoding, |m| {
        t.splitter.for_each_piece(text, |piece| m.encode(&t.vocab, piece, &mut out))
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests;
