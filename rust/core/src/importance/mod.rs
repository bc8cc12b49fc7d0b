//! Importance scoring: how much a conversation turn is worth keeping, in `[0, 1]`.
//!
//! The score starts from the Phidata seed's `HierarchicalMemory._calculate_importance` (a base
//! of 0.5, emphasis keywords, a bonus for long turns and for questions) and adds the signals that
//! make a turn worth remembering in practice: facts the speaker discloses about themselves,
//! plans and commitments, dates, numbers and proper names. Short acknowledgements ("ok",
//! "thanks") lose a little. With the default [`Weights`]:
//!
//! | signal | how it is detected | adds |
//! |---|---|---|
//! | base | every turn | 0.50 |
//! | emphasis | `remember*`, `important*`, `always`, `never forget`, `key point`, `essential*`, `core`, `fundamental*`, `critical*`, `crucial*`, `don't forget`, `keep in mind`, `note that` | 0.20 per distinct keyword, at most 0.40 |
//! | self-disclosed fact | `my name is`, `I work as/at/for/in`, `I'm working on`, `I prefer`, `I love/like/hate/enjoy`, `I'm allergic`, `my favorite`, `I live in`, `I'm from`, `my wife/son/dog...`, ... | 0.25 per distinct phrase, at most 0.45 |
//! | plan, goal or commitment | `I will`, `I'll`, `I'm going to`, `I plan to`, `I want to`, `I promise`, `I need to`, `deadline`, `appointment`, `remind me to`, ... | 0.15 per distinct phrase, at most 0.25 |
//! | date | weekday and month names (not the ambiguous `may`/`march`), `tomorrow`, `yesterday`, `next week`, `last month`, ...; years 1900-2099, `12/05`, ordinals such as `3rd` | 0.10 |
//! | number | any digit | 0.05 |
//! | name | a title-case word (`Alice`, not `I` or `OK`) that does not start a sentence | 0.05 each, at most 0.10 |
//! | question | a `?` | 0.05 |
//! | long turn | more than 20 whitespace-separated words | 0.10 |
//! | filler | at most 3 words and an acknowledgement (`ok`, `thanks`, `lol`, `hi`, ...) | -0.20 |
//!
//! The sum is clamped to `[0, 1]` and rounded to four decimals, so a score is deterministic and
//! equal across [`ImportanceScorer::score`] and [`ImportanceScorer::score_many`].
//!
//! Phrases are matched ASCII-case-insensitively as whole words (the seed matched substrings, so
//! its `core` also fired on `score`) by an Aho-Corasick DFA, stepped in the same single pass over
//! the text's bytes that counts words and spots names and numbers. A trailing `*` in a phrase
//! matches any word ending (`remember*` finds `remembered`), and a phrase with an apostrophe also
//! matches the typographic one (`I’m`). Every weight and every phrase list is configurable
//! through [`Weights`] and [`Keywords`].

use std::sync::OnceLock;

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind, StartKind};
use rayon::prelude::*;

use crate::error::{Error, Result};

mod phrases;
use phrases::{DATES, EMPHASIS, FILLERS, PLANS, SELF_FACTS};

/// The phrase lists the scorer matches, one per [`Category`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keywords {
    /// Words that mark a turn as important (the seed's list and a few more).
    pub emphasis: Vec<String>,
    /// Phrases that introduce a fact about the speaker.
    pub self_facts: Vec<String>,
    /// Phrases of plans, intentions and commitments.
    pub plans: Vec<String>,
    /// Words that name a day, a month or a time relative to now.
    pub dates: Vec<String>,
    /// Acknowledgements and greetings that, alone in a short turn, carry little.
    pub fillers: Vec<String>,
}

/// The phrase categories of [`Keywords`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    /// [`Keywords::emphasis`].
    Emphasis,
    /// [`Keywords::self_facts`].
    SelfFact,
    /// [`Keywords::plans`].
    Plan,
    /// [`Keywords::dates`].
    Date,
    /// [`Keywords::fillers`].
    Filler,
}

impl Category {
    /// Every category, in a fixed order.
    pub const ALL: [Category; 5] =
        [Category::Emphasis, Category::SelfFact, Category::Plan, Category::Date, Category::Filler];

    /// The category's name as used in configuration (`"emphasis"`, `"self_facts"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Category::Emphasis => "emphasis",
            Category::SelfFact => "self_facts",
            Category::Plan => "plans",
            Category::Date => "dates",
            Category::Filler => "fillers",
        }
    }
}

impl Default for Keywords {
    fn default() -> Self {
        let own = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        Keywords {
            emphasis: own(EMPHASIS),
            self_facts: own(SELF_FACTS),
            plans: own(PLANS),
            dates: own(DATES),
            fillers: own(FILLERS),
        }
    }
}

impl Keywords {
    /// The list of one category.
    pub fn get(&self, category: Category) -> &[String] {
        match category {
            Category::Emphasis => &self.emphasis,
            Category::SelfFact => &self.self_facts,
            Category::Plan => &self.plans,
            Category::Date => &self.dates,
            Category::Filler => &self.fillers,
        }
    }

    /// Replaces the list of the category named `name`; an unknown name is an error.
    pub fn set(&mut self, name: &str, phrases: Vec<String>) -> Result<()> {
        let slot = match name {
            "emphasis" => &mut self.emphasis,
            "self_facts" => &mut self.self_facts,
            "plans" => &mut self.plans,
            "dates" => &mut self.dates,
            "fillers" => &mut self.fillers,
            _ => {
                return Err(Error::invalid(format!(
                    "keywords: unknown category {name:?}; expected one of {:?}",
                    Category::ALL.map(Category::name)
                )))
            }
        };
        *slot = phrases;
        Ok(())
    }
}

/// What each signal adds to the score (see the module doc for the defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weights {
    /// Score of a turn with no signal at all.
    pub base: f64,
    /// Added per distinct emphasis keyword.
    pub emphasis: f64,
    /// Most the emphasis keywords add together.
    pub emphasis_cap: f64,
    /// Added per distinct self-disclosure phrase.
    pub self_fact: f64,
    /// Most the self-disclosure phrases add together.
    pub self_fact_cap: f64,
    /// Added per distinct plan or commitment phrase.
    pub plan: f64,
    /// Most the plan phrases add together.
    pub plan_cap: f64,
    /// Added once when the turn names a date or a day.
    pub date: f64,
    /// Added once when the turn holds a number.
    pub number: f64,
    /// Added per capitalised name.
    pub name: f64,
    /// Most the names add together.
    pub name_cap: f64,
    /// Added once when the turn asks a question.
    pub question: f64,
    /// Added once when the turn has more than [`ImportanceScorer::long_text_words`] words.
    pub long_text: f64,
    /// Added (it is negative by default) to a short acknowledgement.
    pub filler: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            base: 0.5,
            emphasis: 0.2,
            emphasis_cap: 0.4,
            self_fact: 0.25,
            self_fact_cap: 0.45,
            plan: 0.15,
            plan_cap: 0.25,
            date: 0.1,
            number: 0.05,
            name: 0.05,
            name_cap: 0.1,
            question: 0.05,
            long_text: 0.1,
            filler: -0.2,
        }
    }
}

impl Weights {
    /// The names of the weights, as used in configuration.
    pub const NAMES: [&'static str; 14] = [
        "base",
        "emphasis",
        "emphasis_cap",
        "self_fact",
        "self_fact_cap",
        "plan",
        "plan_cap",
        "date",
        "number",
        "name",
        "name_cap",
        "question",
        "long_text",
        "filler",
    ];

    fn slot(&mut self, name: &str) -> Option<&mut f64> {
        Some(match name {
            "base" => &mut self.base,
            "emphasis" => &mut self.emphasis,
            "emphasis_cap" => &mut self.emphasis_cap,
            "self_fact" => &mut self.self_fact,
            "self_fact_cap" => &mut self.self_fact_cap,
            "plan" => &mut self.plan,
            "plan_cap" => &mut self.plan_cap,
            "date" => &mut self.date,
            "number" => &mut self.number,
            "name" => &mut self.name,
            "name_cap" => &mut self.name_cap,
            "question" => &mut self.question,
            "long_text" => &mut self.long_text,
            "filler" => &mut self.filler,
            _ => return None,
        })
    }

    /// The weight called `name`, or None for an unknown name.
    pub fn get(&self, name: &str) -> Option<f64> {
        let mut copy = *self;
        copy.slot(name).map(|v| *v)
    }

    /// Sets the weight called `name`; an unknown name or a non-finite value is an error.
    pub fn set(&mut self, name: &str, value: f64) -> Result<()> {
        if !value.is_finite() {
            return Err(Error::invalid(format!("weights[{name:?}] must be finite, got {value}")));
        }
        let slot = self.slot(name).ok_or_else(|| {
            Error::invalid(format!(
                "weights: unknown weight {name:?}; expected one of {:?}",
                Weights::NAMES
            ))
        })?;
        *slot = value;
        Ok(())
    }

    fn validate(&self) -> Result<()> {
        for name in Weights::NAMES {
            let value = self.get(name).unwrap_or(f64::NAN);
            if !value.is_finite() {
                return Err(Error::invalid(format!(
                    "weights[{name:?}] must be finite, got {value}"
                )));
            }
            if name.ends_with("_cap") && value < 0.0 {
                return Err(Error::invalid(format!("weights[{name:?}] must be >= 0, got {value}")));
            }
        }
        Ok(())
    }
}

/// One automaton pattern: its category, the phrase it came from (for counting distinct
/// phrases) and whether it matches any word ending.
#[derive(Clone, Copy, Debug)]
struct PatternInfo {
    category: Category,
    phrase: u32,
    prefix: bool,
}

/// An Aho-Corasick automaton over some categories' phrases, matching whole words.
#[derive(Clone, Debug)]
struct PhraseMatcher {
    dfa: DFA,
    start: StateID,
    /// Per automaton pattern: what it stands for and its length in bytes.
    patterns: Vec<(PatternInfo, usize)>,
}

impl PhraseMatcher {
    fn new(keywords: &Keywords, categories: &[Category]) -> Result<Self> {
        let mut needles: Vec<String> = Vec::new();
        let mut patterns: Vec<(PatternInfo, usize)> = Vec::new();
        let mut phrase_id: u32 = 0;
        for &category in categories {
            for (i, raw) in keywords.get(category).iter().enumerate() {
                let prefix = raw.ends_with('*');
                let phrase = raw.trim_end_matches('*').trim().to_ascii_lowercase();
                if !phrase.chars().any(char::is_alphanumeric) {
                    return Err(Error::invalid(format!(
                        "keywords[{:?}][{i}] must hold a word, got {raw:?}",
                        category.name()
                    )));
                }
                let info = PatternInfo { category, phrase: phrase_id, prefix };
                if phrase.contains('\'') {
                    let curly = phrase.replace('\'', "\u{2019}");
                    patterns.push((info, curly.len()));
                    needles.push(curly);
                }
                patterns.push((info, phrase.len()));
                needles.push(phrase);
                phrase_id += 1;
            }
        }
        // Standard semantics: every state knows all the phrases that end where it is reached,
        // which is what an overlapping search reports.
        let dfa = DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .start_kind(StartKind::Unanchored)
            .prefilter(false)
            .build(&needles)
            .map_err(|e| Error::invalid(format!("keywords: {e}")))?;
        let start =
            dfa.start_state(Anchored::No).map_err(|e| Error::invalid(format!("keywords: {e}")))?;
        Ok(PhraseMatcher { dfa, start, patterns })
    }

    /// Adds the phrases that end at `end` in state `sid` to `hits`, if they are whole words.
    /// Overlapping matches are all tried, so a candidate that fails the word test ("this week"
    /// in "this weekend") cannot hide one that passes ("weekend").
    #[inline(never)]
    fn record(&self, text: &[u8], end: usize, sid: StateID, hits: &mut PhraseHits) {
        for k in 0..self.dfa.match_len(sid) {
            let (info, len) = self.patterns[self.dfa.match_pattern(sid, k).as_usize()];
            let start = end - len;
            let starts_word = start == 0 || !is_word_byte(text[start - 1]);
            let ends_word = info.prefix || end == text.len() || !is_word_byte(text[end]);
            if starts_word && ends_word {
                hits.add(info);
            }
        }
    }

    /// Adds the distinct phrases found in `text` as whole words to `hits`.
    fn find(&self, text: &[u8], hits: &mut PhraseHits) {
        let mut sid = self.start;
        for (i, &c) in text.iter().enumerate() {
            sid = self.dfa.next_state(Anchored::No, sid, c);
            if self.dfa.is_special(sid) && self.dfa.is_match(sid) {
                self.record(text, i + 1, sid, hits);
            }
        }
    }

    /// [`Self::find`] and the text's [`Shape`] in one pass over its bytes.
    fn scan(&self, b: &[u8], hits: &mut PhraseHits) -> Shape {
        let mut shape = Shape::default();
        let mut sid = self.start;
        let mut prev = b' ';
        let mut digit = false;
        let mut question = false;
        let mut words = 0usize;
        for (i, &c) in b.iter().enumerate() {
            sid = self.dfa.next_state(Anchored::No, sid, c);
            if self.dfa.is_special(sid) && self.dfa.is_match(sid) {
                self.record(b, i + 1, sid, hits);
            }
            words += usize::from(is_space(prev) & !is_space(c));
            digit |= c.is_ascii_digit();
            question |= c == b'?';
            if (c.is_ascii_uppercase() || c.is_ascii_digit()) && !is_word_byte(prev) {
                // A capital or a digit opens a word: the rare, slower checks.
                if c.is_ascii_digit() {
                    shape.date = shape.date || is_numeric_date(b, i);
                } else if b.get(i + 1).is_some_and(u8::is_ascii_lowercase) && !opens_sentence(b, i)
                {
                    // A title-case word that does not open a sentence is taken for a name.
                    shape.names += 1;
                }
            }
            prev = c;
        }
        shape.words = words;
        shape.number = digit;
        shape.question = question;
        shape
    }
}

/// A configured importance scorer: weights, phrase lists and the automata built from them.
#[derive(Clone, Debug)]
pub struct ImportanceScorer {
    weights: Weights,
    keywords: Keywords,
    long_text_words: usize,
    short_text_words: usize,
    /// Every category but fillers, run over every text.
    phrases: PhraseMatcher,
    /// Fillers, run only over short texts: words such as "ok" and "no" hide inside many longer
    /// words, and skipping them keeps the main pass free of useless candidate matches.
    fillers: PhraseMatcher,
}

impl Default for ImportanceScorer {
    fn default() -> Self {
        // The built-in lists are valid; a failure here would be a bug in this file.
        Self::new(Weights::default(), Keywords::default(), 20, 3)
            .expect("the default importance configuration is valid")
    }
}

impl ImportanceScorer {
    /// A scorer with these weights and phrases. A turn of more than `long_text_words` words gets
    /// [`Weights::long_text`]; one of at most `short_text_words` words with a filler phrase gets
    /// [`Weights::filler`]. Empty phrases and non-finite weights are errors.
    pub fn new(
        weights: Weights,
        keywords: Keywords,
        long_text_words: usize,
        short_text_words: usize,
    ) -> Result<Self> {
        weights.validate()?;
        let phrases = PhraseMatcher::new(
            &keywords,
            &[Category::Emphasis, Category::SelfFact, Category::Plan, Category::Date],
        )?;
        let fillers = PhraseMatcher::new(&keywords, &[Category::Filler])?;
        Ok(ImportanceScorer {
            weights,
            keywords,
            long_text_words,
            short_text_words,
            phrases,
            fillers,
        })
    }

    /// The weights in use.
    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    /// The phrase lists in use.
    pub fn keywords(&self) -> &Keywords {
        &self.keywords
    }

    /// Words above which a turn counts as long.
    pub fn long_text_words(&self) -> usize {
        self.long_text_words
    }

    /// Words up to which a turn with a filler phrase counts as an acknowledgement.
    pub fn short_text_words(&self) -> usize {
        self.short_text_words
    }

    /// Importance of `text` in `[0, 1]`, rounded to four decimals.
    pub fn score(&self, text: &str) -> f64 {
        let bytes = text.as_bytes();
        let mut phrases = PhraseHits::default();
        let shape = self.phrases.scan(bytes, &mut phrases);
        let short = shape.words <= self.short_text_words;
        if short {
            self.fillers.find(bytes, &mut phrases);
        }
        let w = &self.weights;
        let mut s = w.base;
        s += (w.emphasis * f64::from(phrases.count(Category::Emphasis))).min(w.emphasis_cap);
        s += (w.self_fact * f64::from(phrases.count(Category::SelfFact))).min(w.self_fact_cap);
        s += (w.plan * f64::from(phrases.count(Category::Plan))).min(w.plan_cap);
        if shape.date || phrases.count(Category::Date) > 0 {
            s += w.date;
        }
        if shape.number {
            s += w.number;
        }
        s += (w.name * f64::from(shape.names)).min(w.name_cap);
        if shape.question {
            s += w.question;
        }
        if shape.words > self.long_text_words {
            s += w.long_text;
        }
        if short && phrases.count(Category::Filler) > 0 {
            s += w.filler;
        }
        (s.clamp(0.0, 1.0) * 10_000.0).round() / 10_000.0
    }

    /// [`Self::score`] of many texts as `f32`, spread over all cores.
    pub fn score_many<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Vec<f32> {
        if texts.len() < 512 {
            return texts.iter().map(|t| self.score(t.as_ref()) as f32).collect();
        }
        texts.par_iter().with_min_len(256).map(|t| self.score(t.as_ref()) as f32).collect()
    }
}

/// Bytes that continue a word: ASCII letters and digits, and any byte of a non-ASCII character.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80
}

/// The distinct phrases matched in one text, per category (a handful at most, so a small array).
#[derive(Default)]
struct PhraseHits {
    seen: [(u32, u8); 24],
    len: usize,
}

impl PhraseHits {
    fn add(&mut self, info: PatternInfo) {
        let entry = (info.phrase, info.category as u8);
        if self.seen[..self.len].contains(&entry) || self.len == self.seen.len() {
            return;
        }
        self.seen[self.len] = entry;
        self.len += 1;
    }

    fn count(&self, category: Category) -> u32 {
        self.seen[..self.len].iter().filter(|e| e.1 == category as u8).count() as u32
    }
}

/// What one byte pass finds: word count, question, numbers, numeric dates, names.
#[derive(Default, Debug, PartialEq, Eq)]
struct Shape {
    words: usize,
    question: bool,
    number: bool,
    date: bool,
    names: u32,
}

fn is_space(c: u8) -> bool {
    c == b' ' || (b'\t'..=b'\r').contains(&c)
}

/// Whether the word at `i` is the first of a sentence: nothing but spaces, quotes and brackets
/// between it and the start of the text, a line break, or a `.`, `!` or `?`.
fn opens_sentence(b: &[u8], i: usize) -> bool {
    for &c in b[..i].iter().rev() {
        match c {
            b'\n' | b'.' | b'!' | b'?' => return true,
            b'"' | b'\'' | b'(' | b'[' | b'*' | b'-' => {}
            c if is_space(c) => {}
            _ => return false,
        }
    }
    true
}

fn run_end(b: &[u8], start: usize, pred: impl Fn(u8) -> bool) -> usize {
    let mut j = start;
    while j < b.len() && pred(b[j]) {
        j += 1;
    }
    j
}

/// A year (1900-2099), a day/month pair (`12/05`, `3-4`) or an ordinal (`1st`, `22nd`).
fn is_numeric_date(b: &[u8], start: usize) -> bool {
    let end = run_end(b, start, |x| x.is_ascii_digit());
    let digits = &b[start..end];
    if digits.len() == 4 && (digits.starts_with(b"19") || digits.starts_with(b"20")) {
        return true;
    }
    if digits.len() <= 2 {
        if end + 1 < b.len() && (b[end] == b'/' || b[end] == b'-') && b[end + 1].is_ascii_digit() {
            return true;
        }
        let suffix_end = run_end(b, end, |x| x.is_ascii_alphabetic());
        if suffix_end - end == 2 {
            let s = [b[end].to_ascii_lowercase(), b[end + 1].to_ascii_lowercase()];
            return matches!(&s, b"st" | b"nd" | b"rd" | b"th");
        }
    }
    false
}

/// The scorer with the default configuration, built once.
pub fn default_scorer() -> &'static ImportanceScorer {
    static DEFAULT: OnceLock<ImportanceScorer> = OnceLock::new();
    DEFAULT.get_or_init(ImportanceScorer::default)
}

/// Importance of `text` in `[0, 1]` with the default configuration (see the module doc).
pub fn importance(text: &str) -> f64 {
    default_scorer().score(text)
}

/// [`importance`] of many texts, spread over all cores.
pub fn importance_many<S: AsRef<str> + Sync>(texts: &[S]) -> Vec<f32> {
    default_scorer().score_many(texts)
}

#[cfg(test)]
mod tests;
