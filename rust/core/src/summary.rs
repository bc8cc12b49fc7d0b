//! Extractive summaries: the most important and most central sentences within a token budget.
//!
//! The texts (conversation turns) are split into sentences. Each sentence gets
//! `0.7 * importance + 0.3 * centrality`, where importance is the [`ImportanceScorer`] score of
//! the sentence and centrality measures how much of the conversation's recurring vocabulary it
//! carries: the sum, over its distinct content words (stop words left out), of `ln(sf)` where
//! `sf` is the number of sentences holding the word, divided by the square root of its word
//! count and scaled so that the most central sentence has 1. A word said once adds nothing; a
//! topic the conversation keeps returning to adds the most. Sentences are then taken best first
//! while they fit the budget (each costs its tokens plus [`SENTENCE_OVERHEAD`] for a role label
//! and a line break), skipping near-duplicates of a sentence already taken (Jaccard similarity
//! of content words >= 0.7) and sentences that score below the scorer's base importance
//! (acknowledgements such as "ok, thanks"), and returned in their original order. No model, no
//! network, and the same input always gives the same summary.

use std::collections::HashMap;

use crate::importance::ImportanceScorer;
use crate::tokens::count_tokens;

/// Tokens reserved per chosen sentence for its role label and line break.
pub const SENTENCE_OVERHEAD: usize = 3;

/// Share of importance in a sentence's score (the rest is centrality): a disclosed fact or an
/// explicit "remember" outweighs a sentence that merely repeats the topic.
const IMPORTANCE_SHARE: f64 = 0.7;

/// Jaccard similarity of content words at which a sentence counts as a repeat.
const DUPLICATE_SIMILARITY: f64 = 0.7;

/// One chosen sentence: the index of the text it comes from and its byte range in that text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sentence {
    /// Index of the source text.
    pub text: usize,
    /// Byte offset of the sentence's first character.
    pub start: usize,
    /// Byte offset just past the sentence's last character.
    pub end: usize,
}

/// The sentences of `text` as byte ranges, trimmed, in order. A sentence ends at `.`, `!` or
/// `?` followed by whitespace (closing quotes and brackets stay with it), or at a line break.
/// Pieces without a letter or digit are left out.
pub fn split_sentences(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let mut end = None;
        if c == b'\n' {
            end = Some(i);
        } else if matches!(c, b'.' | b'!' | b'?') {
            let mut j = i + 1;
            while j < b.len() && matches!(b[j], b'.' | b'!' | b'?' | b'"' | b'\'' | b')' | b']') {
                j += 1;
            }
            if j == b.len() || b[j].is_ascii_whitespace() {
                end = Some(j);
                i = j.saturating_sub(1);
            }
        }
        if let Some(e) = end {
            push_trimmed(text, start, e, &mut out);
            start = e;
        }
        i += 1;
    }
    push_trimmed(text, start, b.len(), &mut out);
    out
}

fn push_trimmed(text: &str, start: usize, end: usize, out: &mut Vec<(usize, usize)>) {
    let piece = &text[start..end];
    let trimmed = piece.trim();
    if trimmed.chars().any(char::is_alphanumeric) {
        let offset = start + (piece.len() - piece.trim_start().len());
        out.push((offset, offset + trimmed.len()));
    }
}

const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at",
    "be", "been", "before", "being", "but", "by", "can", "could", "did", "do", "does", "doing",
    "don", "for", "from", "get", "got", "had", "has", "have", "having", "he", "her", "here",
    "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "just", "like", "ll",
    "me", "more", "most", "my", "no", "not", "now", "of", "on", "one", "only", "or", "other",
    "our", "out", "over", "re", "really", "s", "so", "some", "such", "t", "than", "that", "the",
    "their", "them", "then", "there", "these", "they", "this", "those", "to", "too", "up", "us",
    "ve", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "why",
    "will", "with", "would", "yeah", "yes", "you", "your", "yours",
];

/// Content words of a sentence, as ids into `vocab`, sorted and distinct.
fn content_terms(sentence: &str, vocab: &mut HashMap<String, u32>) -> Vec<u32> {
    let mut terms: Vec<u32> = Vec::new();
    for word in sentence.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        let lower = word.to_lowercase();
        if STOP_WORDS.binary_search(&lower.as_str()).is_ok() {
            continue;
        }
        let next = vocab.len() as u32;
        terms.push(*vocab.entry(lower).or_insert(next));
    }
    terms.sort_unstable();
    terms.dedup();
    terms
}

fn jaccard(a: &[u32], b: &[u32]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut shared) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    shared as f64 / (a.len() + b.len() - shared) as f64
}

/// The sentences of `texts` that best summarise them within `max_tokens` (see the module doc),
/// in their original order.
pub fn summarize<S: AsRef<str>>(
    texts: &[S],
    max_tokens: usize,
    scorer: &ImportanceScorer,
) -> Vec<Sentence> {
    struct Candidate {
        at: Sentence,
        terms: Vec<u32>,
        tokens: usize,
        importance: f64,
        centrality: f64,
    }
    let mut vocab: HashMap<String, u32> = HashMap::new();
    let mut candidates: Vec<Candidate> = Vec::new();
    for (t, text) in texts.iter().enumerate() {
        let text = text.as_ref();
        for (start, end) in split_sentences(text) {
            let s = &text[start..end];
            candidates.push(Candidate {
                at: Sentence { text: t, start, end },
                terms: content_terms(s, &mut vocab),
                tokens: count_tokens(s) + SENTENCE_OVERHEAD,
                importance: scorer.score(s),
                centrality: 0.0,
            });
        }
    }
    let mut sentence_freq = vec![0u32; vocab.len()];
    for c in &candidates {
        for &term in &c.terms {
            sentence_freq[term as usize] += 1;
        }
    }
    let mut most = 0.0f64;
    for c in &mut candidates {
        let weight: f64 = c.terms.iter().map(|&t| f64::from(sentence_freq[t as usize]).ln()).sum();
        c.centrality =
            if c.terms.is_empty() { 0.0 } else { weight / (c.terms.len() as f64).sqrt() };
        most = most.max(c.centrality);
    }
    let mut order: Vec<(f64, usize)> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let centrality = if most > 0.0 { c.centrality / most } else { 0.0 };
            (IMPORTANCE_SHARE * c.importance + (1.0 - IMPORTANCE_SHARE) * centrality, i)
        })
        .collect();
    // Best first; among equals the earlier sentence, so the result is deterministic.
    order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    // Acknowledgements and greetings score below the base; they never make a summary.
    let floor = scorer.weights().base;
    let mut chosen: Vec<usize> = Vec::new();
    let mut used = 0usize;
    for (_, i) in order {
        let c = &candidates[i];
        if used + c.tokens > max_tokens || c.importance < floor {
            continue;
        }
        if chosen.iter().any(|&j| jaccard(&candidates[j].terms, &c.terms) >= DUPLICATE_SIMILARITY) {
            continue;
        }
        used += c.tokens;
        chosen.push(i);
    }
    chosen.sort_unstable();
    chosen.into_iter().map(|i| candidates[i].at).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &str) -> Vec<&str> {
        split_sentences(text).into_iter().map(|(s, e)| &text[s..e]).collect()
    }

    fn summary_texts<'a>(texts: &[&'a str], budget: usize) -> Vec<&'a str> {
        summarize(texts, budget, &ImportanceScorer::default())
            .into_iter()
            .map(|s| &texts[s.text][s.start..s.end])
            .collect()
    }

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn sentences_split_on_stops_and_line_breaks() {
        assert_eq!(
            pieces("Hello there! How are you? I'm fine.\nNew line"),
            vec!["Hello there!", "How are you?", "I'm fine.", "New line"]
        );
        assert_eq!(
            pieces("Version 3.5 is out... really?! \"Yes.\" Ok"),
            vec!["Version 3.5 is out...", "really?!", "\"Yes.\"", "Ok"]
        );
        assert_eq!(pieces("  ...  \n\n !!! "), Vec::<&str>::new());
        assert_eq!(pieces("no stop at the end"), vec!["no stop at the end"]);
        assert_eq!(pieces("¿Qué tal? Très bien."), vec!["¿Qué tal?", "Très bien."]);
    }

    #[test]
    fn important_and_central_sentences_win_within_the_budget() {
        let texts = [
            "I want to learn about machine learning.",
            "Sure, machine learning is a big field.",
            "ok",
            "Remember that my name is Alice and I am allergic to peanuts.",
            "The weather is nice today.",
            "Machine learning models learn from data.",
        ];
        let picked = summary_texts(&texts, 40);
        assert!(picked.contains(&"Remember that my name is Alice and I am allergic to peanuts."));
        assert!(picked.iter().any(|s| s.contains("machine learning")));
        assert!(!picked.contains(&"ok"));
        assert!(!summary_texts(&texts, 10_000).contains(&"ok"));
        let used: usize = picked.iter().map(|s| count_tokens(s) + SENTENCE_OVERHEAD).sum();
        assert!(used <= 40);
        // Original order is kept.
        let everything = summary_texts(&texts, 10_000);
        let positions: Vec<usize> =
            picked.iter().map(|p| everything.iter().position(|e| e == p).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn near_duplicates_are_taken_once() {
        let texts = [
            "I love hiking in the mountains.",
            "I love hiking in the mountains!",
            "My dog is called Rex.",
        ];
        let picked = summary_texts(&texts, 10_000);
        assert_eq!(picked.len(), 2, "{picked:?}");
    }

    #[test]
    fn empty_input_or_budget_gives_nothing() {
        assert!(summary_texts(&[], 100).is_empty());
        assert!(summary_texts(&["Hello there, friend."], 0).is_empty());
        assert!(summary_texts(&["", "  ", "?!"], 100).is_empty());
    }

    #[test]
    fn deterministic() {
        let texts: Vec<String> =
            (0..200).map(|i| format!("Turn {i} talks about topic {} and more.", i % 7)).collect();
        let a = summarize(&texts, 120, &ImportanceScorer::default());
        let b = summarize(&texts, 120, &ImportanceScorer::default());
        assert_eq!(a, b);
        assert!(!a.is_empty());
    }
}
