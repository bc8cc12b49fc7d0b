//! Text analysis for the keyword index: Unicode word splitting, lower-casing, accent folding,
//! English stop words and a light stemmer, each of which can be switched off.
//!
//! Han, Hiragana and Katakana characters are emitted one per term (those scripts do not
//! separate words with spaces, so single characters are the robust unit without a dictionary).

use std::sync::OnceLock;

use rustc_hash::FxHashSet;

use crate::stem::stem_light;

/// Terms longer than this (in bytes) are dropped: they are hashes, URLs or base64, not words,
/// and indexing them would only grow the vocabulary.
pub const MAX_TERM_BYTES: usize = 64;

/// How text is turned into index terms; the same analyzer must serve documents and queries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Analyzer {
    /// Lower-case every term.
    pub lowercase: bool,
    /// Fold Latin accents (`café` -> `cafe`, `straße` -> `strasse`).
    pub fold_accents: bool,
    /// Drop English stop words (`the`, `and`, `what`...).
    pub stop_words: bool,
    /// Apply the light English stemmer ([`stem_light`]).
    pub stem: bool,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer { lowercase: true, fold_accents: true, stop_words: true, stem: true }
    }
}

/// Base letters of U+00C0..=U+017F (Latin-1 Supplement letters and Latin Extended-A), lower
/// case; `_` marks a character folded by [`fold_multi`] or not folded at all.
const LATIN_FOLD: &[u8; 192] = b"aaaaaa_ceeeeiiiidnooooo_ouuuuy__aaaaaa_ceeeeiiiidnooooo_ouuuuy_yaaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii__jjkkkllllllllllnnnnnnnnnoooooo__rrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";

/// Letters that fold to two ASCII letters.
fn fold_multi(c: char) -> Option<&'static str> {
    Some(match c {
        'Æ' | 'æ' => "ae",
        'Þ' | 'þ' => "th",
        'ß' => "ss",
        'Ĳ' | 'ĳ' => "ij",
        'Œ' | 'œ' => "oe",
        _ => return None,
    })
}

/// True for characters written without spaces between words (each becomes its own term).
fn is_ideographic(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Extension A
        | 0x4E00..=0x9FFF    // CJK Unified Ideographs
        | 0xF900..=0xFAFF    // CJK Compatibility Ideographs
        | 0x20000..=0x2FFFF) // CJK Extensions B..
}

/// English stop words, sorted for binary search (NLTK's list plus contraction tails, which the
/// splitter leaves behind: `don't` -> `don`, `t`).
const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "ain",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "aren",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "couldn",
    "d",
    "did",
    "didn",
    "do",
    "does",
    "doesn",
    "doing",
    "don",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "hadn",
    "has",
    "hasn",
    "have",
    "haven",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "isn",
    "it",
    "its",
    "itself",
    "just",
    "ll",
    "m",
    "ma",
    "me",
    "mightn",
    "more",
    "most",
    "mustn",
    "my",
    "myself",
    "needn",
    "no",
    "nor",
    "not",
    "now",
    "o",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "re",
    "s",
    "same",
    "shan",
    "she",
    "should",
    "shouldn",
    "so",
    "some",
    "such",
    "t",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "ve",
    "very",
    "was",
    "wasn",
    "we",
    "were",
    "weren",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "won",
    "wouldn",
    "y",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

/// A term of at most 16 bytes packed into an integer (zero-padded; terms hold no NUL), so
/// that sets and maps of short terms hash and compare integers instead of strings.
#[inline]
pub fn pack(term: &str) -> Option<u128> {
    pack_bytes(term.as_bytes())
}

/// At most 16 bytes as one integer, zero-padded (little-endian).
#[inline]
pub(crate) fn pack_bytes(b: &[u8]) -> Option<u128> {
    // Whole-word loads, overlapping for lengths between powers of two: copying the bytes into a
    // buffer and reading it back stalled on store forwarding, a fifth of ingestion's time.
    let n = b.len();
    let (lo, hi) = match n {
        0 => (0, 0),
        1..=3 => (
            u64::from(b[0])
                | u64::from(b[n / 2]) << (8 * (n / 2))
                | u64::from(b[n - 1]) << (8 * (n - 1)),
            0,
        ),
        4..=7 => (u64::from(load_u32(b, 0)) | u64::from(load_u32(b, n - 4)) << (8 * (n - 4)), 0),
        8 => (load_u64(b, 0), 0),
        9..=16 => (load_u64(b, 0), load_u64(b, n - 8) >> (8 * (16 - n))),
        _ => return None,
    };
    Some(u128::from(lo) | u128::from(hi) << 64)
}

/// The four bytes of `b` from `at`, little-endian (the caller keeps `at + 4 <= b.len()`).
#[inline]
fn load_u32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

/// The eight bytes of `b` from `at`, little-endian (the caller keeps `at + 8 <= b.len()`).
#[inline]
fn load_u64(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// True when `term` (lower case) is an English stop word.
#[inline]
pub fn is_stop_word(term: &str) -> bool {
    // An integer hash probe: string hashing and comparison were a quarter of ingestion.
    static SET: OnceLock<FxHashSet<u128>> = OnceLock::new();
    let set = SET.get_or_init(|| STOP_WORDS.iter().filter_map(|w| pack(w)).collect());
    term.len() <= 10 && pack(term).is_some_and(|p| set.contains(&p))
}

impl Analyzer {
    /// The analyzer flags packed in a `u32` (for snapshots).
    pub fn to_bits(self) -> u32 {
        u32::from(self.lowercase)
            | u32::from(self.fold_accents) << 1
            | u32::from(self.stop_words) << 2
            | u32::from(self.stem) << 3
    }

    /// The analyzer encoded by [`Analyzer::to_bits`].
    pub fn from_bits(bits: u32) -> Self {
        Analyzer {
            lowercase: bits & 1 != 0,
            fold_accents: bits & 2 != 0,
            stop_words: bits & 4 != 0,
            stem: bits & 8 != 0,
        }
    }

    /// Calls `emit` with every term of `text`, in order; `buf` is scratch space reused across
    /// calls so that analysis allocates nothing in the steady state.
    pub fn for_each_term(&self, text: &str, buf: &mut String, mut emit: impl FnMut(&str)) {
        self.for_each_word(text, buf, |word| {
            if self.finish_word(word) {
                emit(word);
            }
        });
    }

    /// Calls `word` with every word of `text`, in order, lower-cased and folded but not yet
    /// checked against the stop words nor stemmed: [`Analyzer::finish_word`] does that, so that
    /// a caller can remember what each distinct word became instead of finishing it again.
    pub fn for_each_word(&self, text: &str, buf: &mut String, mut word: impl FnMut(&mut String)) {
        buf.clear();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b.is_ascii_alphanumeric() {
                buf.push(char::from(if self.lowercase { b.to_ascii_lowercase() } else { b }));
                i += 1;
                continue;
            }
            if b.is_ascii() {
                end_word(buf, &mut word);
                i += 1;
                continue;
            }
            // `i` is on a character boundary: only whole ASCII bytes and characters are skipped.
            let Some(c) = text[i..].chars().next() else { break };
            i += c.len_utf8();
            if c.is_alphanumeric() {
                if is_ideographic(c) {
                    end_word(buf, &mut word);
                    buf.push(c);
                    end_word(buf, &mut word);
                } else {
                    self.push_char(c, buf);
                }
            } else if !is_joiner(c) {
                end_word(buf, &mut word);
            }
        }
        end_word(buf, &mut word);
    }

    /// Turns a word from [`Analyzer::for_each_word`] into its term, in place; false when the
    /// word is no term (too long, or a stop word).
    #[inline]
    pub fn finish_word(&self, word: &mut String) -> bool {
        if word.len() > MAX_TERM_BYTES || (self.stop_words && is_stop_word(word)) {
            return false;
        }
        if self.stem {
            stem_light(word);
        }
        true
    }

    /// Every term of `text`, as owned strings (for tests and debugging; the index streams).
    pub fn terms(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.for_each_term(text, &mut String::new(), |t| out.push(t.to_string()));
        out
    }

    fn push_char(&self, c: char, buf: &mut String) {
        if self.fold_accents {
            let cp = c as u32;
            if (0xC0..0x180).contains(&cp) {
                let folded = LATIN_FOLD[(cp - 0xC0) as usize];
                if folded != b'_' {
                    buf.push(folded as char);
                    return;
                }
                if let Some(s) = fold_multi(c) {
                    buf.push_str(s);
                    return;
                }
            }
        }
        if self.lowercase {
            buf.extend(c.to_lowercase());
        } else {
            buf.push(c);
        }
    }
}

/// Hands a finished word in `buf` to `word` and empties `buf`.
#[inline]
fn end_word(buf: &mut String, word: &mut impl FnMut(&mut String)) {
    if !buf.is_empty() {
        word(buf);
        buf.clear();
    }
}

/// Combining marks and zero-width joiners continue a word rather than split it.
fn is_joiner(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x200C | 0x200D)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_is_the_zero_padded_bytes_at_every_length() {
        let text = "abcdefghijklmnopqrstuvwxyz";
        for n in 0..=text.len() {
            let term = &text[..n];
            let want = (n <= 16).then(|| {
                let mut b = [0u8; 16];
                b[..n].copy_from_slice(term.as_bytes());
                u128::from_le_bytes(b)
            });
            assert_eq!(pack(term), want, "length {n}");
        }
    }

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(STOP_WORDS.iter().all(|w| w.len() <= 10));
    }

    #[test]
    fn splits_lowercases_folds_and_drops_stop_words() {
        let a = Analyzer::default();
        assert_eq!(a.terms("The CAFÉ in Zürich, Straße!"), ["cafe", "zurich", "strasse"]);
        assert_eq!(a.terms("What's the plan?"), ["plan"]);
        assert_eq!(a.terms("... !!! the and"), Vec::<String>::new());
        assert_eq!(a.terms(""), Vec::<String>::new());
    }

    #[test]
    fn every_step_can_be_switched_off() {
        let raw =
            Analyzer { lowercase: false, fold_accents: false, stop_words: false, stem: false };
        assert_eq!(raw.terms("The Cafés"), ["The", "Cafés"]);
        assert_eq!(Analyzer::from_bits(raw.to_bits()), raw);
        assert_eq!(Analyzer::from_bits(Analyzer::default().to_bits()), Analyzer::default());
    }

    #[test]
    fn non_latin_scripts_become_terms() {
        let a = Analyzer::default();
        assert_eq!(a.terms("Привет мир"), ["привет", "мир"]);
        assert_eq!(a.terms("東京タワー"), ["東", "京", "タ", "ワ", "ー"].map(String::from));
        assert_eq!(a.terms("مرحبا بالعالم"), ["مرحبا", "بالعالم"]);
    }

    #[test]
    fn very_long_terms_are_dropped() {
        let a = Analyzer::default();
        let long = "x".repeat(MAX_TERM_BYTES + 1);
        assert_eq!(a.terms(&format!("hello {long} world")), ["hello", "world"]);
    }
}
