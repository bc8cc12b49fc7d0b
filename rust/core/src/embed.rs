//! A model-free text embedder: word, word-bigram and character n-gram features hashed into a
//! fixed number of signed buckets (the "hashing trick"), then L2-normalised.
//!
//! Deterministic across runs and platforms, no model, no network. Texts that share words or
//! word pieces (stems, inflections, typos) get a positive cosine; unrelated texts score near
//! zero, with hash collisions adding noise of roughly `1 / sqrt(dim)` per shared bucket.

use rayon::prelude::*;

use crate::error::{Error, Result};

/// Weight of a whole-word feature.
const WORD: f32 = 1.0;
/// Weight of an adjacent word pair.
const BIGRAM: f32 = 0.7;
/// Weight of each character n-gram of a word (n = 3..=5, with `<` and `>` marking the ends).
const CHARS: f32 = 0.2;
/// Words so common that they say little about a text: a quarter weight, no n-grams.
const STOP: &[&str] = &[
    "a", "about", "all", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by",
    "can", "could", "did", "do", "does", "for", "from", "had", "has", "have", "he", "her", "him",
    "his", "how", "i", "if", "in", "into", "is", "it", "its", "just", "me", "my", "no", "not",
    "of", "on", "or", "our", "she", "so", "some", "that", "the", "their", "them", "then", "there",
    "they", "this", "to", "too", "was", "we", "were", "what", "when", "where", "which", "who",
    "why", "will", "with", "would", "you", "your",
];

fn hash(kind: u64, parts: &[&[u8]]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ kind.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h = (h ^ 0x1f).wrapping_mul(0x0100_0000_01b3);
        }
        for b in *p {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    // splitmix64's finaliser spreads FNV's weak low bits over the whole word.
    h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 31)
}

fn add(out: &mut [f32], h: u64, w: f32) {
    let i = (h % out.len() as u64) as usize;
    out[i] += if h >> 63 == 1 { -w } else { w };
}

/// Lower-cased alphanumeric words of `text`.
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            cur.extend(c.to_lowercase());
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Embeds one text into `out` (length = the dimension); all zeros when it has no words.
pub fn embed_into(text: &str, out: &mut [f32]) {
    out.fill(0.0);
    let ws = words(text);
    let mut prev: Option<&str> = None;
    for w in &ws {
        let stop = STOP.contains(&w.as_str());
        add(out, hash(1, &[w.as_bytes()]), if stop { WORD * 0.25 } else { WORD });
        if let Some(p) = prev {
            add(out, hash(2, &[p.as_bytes(), w.as_bytes()]), BIGRAM);
        }
        prev = Some(w);
        if stop {
            continue;
        }
        let marked: Vec<char> = std::iter::once('<').chain(w.chars()).chain(Some('>')).collect();
        let mut buf = String::new();
        for n in 3..=5 {
            for gram in marked.windows(n) {
                buf.clear();
                buf.extend(gram);
                add(out, hash(3, &[buf.as_bytes()]), CHARS);
            }
        }
    }
    let norm = out.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        out.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Embeds every text (in parallel) into a row-major `texts.len() x dim` matrix.
pub fn hash_embed(texts: &[&str], dim: usize) -> Result<Vec<f32>> {
    if dim == 0 || dim > 65_536 {
        return Err(Error::invalid(format!("dim must be in 1..=65536, got {dim}")));
    }
    let mut out = vec![0.0f32; texts.len() * dim];
    if texts.len() < 64 {
        out.chunks_exact_mut(dim).zip(texts).for_each(|(row, t)| embed_into(t, row));
    } else {
        out.par_chunks_exact_mut(dim).zip(texts.par_iter()).for_each(|(row, t)| embed_into(t, row));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cos(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn deterministic_normalised_and_similar_texts_are_near() {
        let texts = [
            "I prefer PostgreSQL over MySQL for databases.",
            "Which database does she prefer? postgresql",
            "My favourite trail is the Appalachian Trail.",
            "",
            "!!! ???",
        ];
        let a = hash_embed(&texts, 256).unwrap();
        assert_eq!(a, hash_embed(&texts, 256).unwrap());
        let row = |i: usize| &a[i * 256..(i + 1) * 256];
        assert!((cos(row(0), row(0)) - 1.0).abs() < 1e-5);
        assert!(cos(row(0), row(1)) > 0.25, "{}", cos(row(0), row(1)));
        assert!(cos(row(0), row(1)) > cos(row(2), row(1)) + 0.2);
        assert!(row(3).iter().all(|x| *x == 0.0));
        assert!(row(4).iter().all(|x| *x == 0.0));
        assert!(hash_embed(&texts, 0).is_err());
    }

    #[test]
    fn unrelated_words_stay_below_the_noise_floor() {
        let docs = ["filler turn number 7 about nothing much at all", "Hello! My name is Alice."];
        let e = hash_embed(&["zyxwvut"], 1024).unwrap();
        for d in docs {
            let v = hash_embed(&[d], 1024).unwrap();
            assert!(cos(&e, &v).abs() < 0.1, "{d}: {}", cos(&e, &v));
        }
    }
}
