//! Pre-tokenization: the pieces that tiktoken's regular expressions cut a text into before BPE.
//!
//! ASCII text (nearly all chat, code and JSON) is split by a hand-written scanner that follows
//! the patterns alternative by alternative; it is checked against the regular expressions by
//! the differential tests below. Text with other characters goes through `regex-automata` with
//! the patterns as `bpe-openai` rewrites them without look-ahead (a `\s+(?!\S)` becomes `\s+\s`
//! minus its last character), which keeps Unicode's letter and number classes exact.
//!
//! A text is first cut where a line break is followed by a non-space ASCII character: no piece
//! of either pattern crosses such a point, so each line takes the fast path on its own and one
//! emoji does not send a whole document down the slow one.

use std::sync::OnceLock;

use regex_automata::meta::Regex;
use regex_automata::{Anchored, Input};

use crate::error::{Error, Result};

/// Which of OpenAI's pre-tokenizer patterns to follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pattern {
    /// `cl100k_base`: letters with one leading non-letter, digit groups of up to three, ...
    Cl100k,
    /// `o200k_base`: like cl100k, but words split at case changes and keep their contraction.
    O200k,
}

const CL100K_MAIN: &str = concat!(
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}",
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+$",
);
const O200K_MAIN: &str = concat!(
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+",
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*",
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+$",
);
/// `\s+(?!\S)`: the match minus its last character.
const WHITESPACE_LOOKAHEAD: &str = r"\s+\s";
const WHITESPACE: &str = r"\s+";

/// Splits texts into pre-token pieces for one pattern.
pub(crate) struct Splitter {
    pattern: Pattern,
    /// The main alternatives, the look-ahead rewrite, and the single-space fallback, tried in
    /// that order (leftmost-first, as the backtracking original). Compiled on first need: ASCII
    /// text never needs it, and compiling the Unicode classes takes longer than loading the
    /// vocabulary.
    regex: OnceLock<std::result::Result<Regex, String>>,
}

impl Splitter {
    /// A splitter for `pattern`.
    pub(crate) fn new(pattern: Pattern) -> Splitter {
        Splitter { pattern, regex: OnceLock::new() }
    }

    fn regex(&self) -> Result<&Regex> {
        let main = match self.pattern {
            Pattern::Cl100k => CL100K_MAIN,
            Pattern::O200k => O200K_MAIN,
        };
        let compiled = self.regex.get_or_init(|| {
            Regex::new_many(&[main, WHITESPACE_LOOKAHEAD, WHITESPACE]).map_err(|e| e.to_string())
        });
        compiled.as_ref().map_err(|e| Error::CorruptData(format!("pre-tokenizer pattern: {e}")))
    }

    /// Calls `f` with each piece of `text`, in order; the pieces concatenate to `text`.
    pub(crate) fn for_each_piece(&self, text: &str, mut f: impl FnMut(&[u8])) -> Result<()> {
        if text.is_ascii() {
            self.ascii(text.as_bytes(), &mut f);
            return Ok(());
        }
        let bytes = text.as_bytes();
        let mut start = 0;
        for cut in line_cuts(bytes).chain([bytes.len()]) {
            // Cuts follow an ASCII '\n', so both ends are character boundaries.
            let Some(segment) = text.get(start..cut) else { continue };
            if segment.is_ascii() {
                self.ascii(segment.as_bytes(), &mut f);
            } else {
                self.unicode(segment, &mut f)?;
            }
            start = cut;
        }
        Ok(())
    }

    fn ascii(&self, b: &[u8], f: &mut impl FnMut(&[u8])) {
        let mut i = 0;
        while i < b.len() {
            let end = match self.pattern {
                Pattern::Cl100k => cl100k_piece(b, i),
                Pattern::O200k => o200k_piece(b, i),
            };
            f(&b[i..end]);
            i = end;
        }
    }

    fn unicode(&self, text: &str, f: &mut impl FnMut(&[u8])) -> Result<()> {
        let regex = self.regex()?;
        let mut last = 0;
        while last < text.len() {
            let rest = &text[last..];
            let end = match regex.find(Input::new(rest).anchored(Anchored::Yes)) {
                Some(m) if m.pattern().as_usize() == 1 => {
                    // The look-ahead rewrite: give back the character it peeked at.
                    let peeked = rest[..m.end()].chars().next_back().map_or(0, char::len_utf8);
                    m.end() - peeked
                }
                Some(m) => m.end(),
                None => 0,
            };
            // Every character matches some alternative; should none, emit it alone rather
            // than loop or panic.
            let end =
                if end == 0 { rest.chars().next().map_or(rest.len(), char::len_utf8) } else { end };
            f(&rest.as_bytes()[..end]);
            last += end;
        }
        Ok(())
    }
}

/// Offsets just after a `'\n'` that a non-space ASCII character other than `/` follows: piece
/// boundaries in both patterns (a piece that holds a line break continues only with more
/// whitespace, or in o200k with slashes).
fn line_cuts(b: &[u8]) -> impl Iterator<Item = usize> + '_ {
    b.iter().enumerate().filter_map(move |(i, &c)| {
        let next = *b.get(i + 1)?;
        let starts_piece = next.is_ascii() && next != b'/' && class(next) != Class::Space;
        (c == b'\n' && starts_piece).then_some(i + 1)
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Upper,
    Lower,
    Digit,
    /// `\s` within ASCII: tab, line feed, vertical tab, form feed, carriage return, space.
    Space,
    /// Anything else: punctuation, symbols, control characters (`[^\s\p{L}\p{N}]`).
    Other,
}

/// The class of every byte, looked up rather than matched: the scanner asks for several per byte.
static CLASSES: [Class; 256] = {
    let mut table = [Class::Other; 256];
    let mut c = 0;
    while c < 256 {
        table[c] = match c as u8 {
            b'A'..=b'Z' => Class::Upper,
            b'a'..=b'z' => Class::Lower,
            b'0'..=b'9' => Class::Digit,
            b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' => Class::Space,
            _ => Class::Other,
        };
        c += 1;
    }
    table
};

#[inline]
fn class(c: u8) -> Class {
    CLASSES[usize::from(c)]
}

#[inline]
fn is_letter(c: u8) -> bool {
    c.is_ascii_alphabetic()
}

/// End of the run of bytes from `i` that satisfy `keep`.
#[inline]
fn run(b: &[u8], mut i: usize, keep: impl Fn(u8) -> bool) -> usize {
    while i < b.len() && keep(b[i]) {
        i += 1;
    }
    i
}

/// `\p{N}{1,3}` at a digit `i`: its end (looking at no more than three bytes, so that a long
/// number stays linear).
#[inline]
fn digits(b: &[u8], i: usize) -> usize {
    let stop = b.len().min(i + 3);
    run(&b[..stop], i, |c| c.is_ascii_digit())
}

/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)` at `i`: its end.
#[inline]
fn contraction(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'\'') {
        return None;
    }
    let at = |k: usize| b.get(i + k).map(u8::to_ascii_lowercase);
    match (at(1), at(2)) {
        (Some(b's' | b't' | b'm' | b'd'), _) => Some(i + 2),
        (Some(b'r' | b'v'), Some(b'e')) | (Some(b'l'), Some(b'l')) => Some(i + 3),
        _ => None,
    }
}

/// `[^\r\n\p{L}\p{N}]`: the one character that may lead a word.
#[inline]
fn may_lead_word(c: u8) -> bool {
    c != b'\r' && c != b'\n' && matches!(class(c), Class::Space | Class::Other)
}

/// The whitespace alternatives shared by both patterns, at a whitespace byte `i`:
/// `\s*[\r\n]+` (up to the run's last line break), `\s+(?!\S)`, `\s+`.
#[inline]
fn whitespace_piece(b: &[u8], i: usize) -> usize {
    let end = run(b, i, |c| class(c) == Class::Space);
    if let Some(nl) = b[i..end].iter().rposition(|&c| c == b'\n' || c == b'\r') {
        return i + nl + 1;
    }
    if end == b.len() || end - i == 1 {
        end
    } else {
        end - 1
    }
}

/// `' ?[^\s\p{L}\p{N}]+'` then `tail` (a run of line breaks, and in o200k also slashes).
#[inline]
fn punctuation_piece(b: &[u8], i: usize, tail: impl Fn(u8) -> bool) -> Option<usize> {
    let j = if b[i] == b' ' && b.get(i + 1).is_some_and(|&c| class(c) == Class::Other) {
        i + 1
    } else {
        i
    };
    if class(b[j]) != Class::Other {
        return None;
    }
    let end = run(b, j, |c| class(c) == Class::Other);
    Some(run(b, end, tail))
}

/// The cl100k piece that starts at `i` (ASCII), and its end.
fn cl100k_piece(b: &[u8], i: usize) -> usize {
    let c = b[i];
    if let Some(end) = contraction(b, i) {
        return end;
    }
    if is_letter(c) {
        return run(b, i, is_letter);
    }
    if may_lead_word(c) && b.get(i + 1).is_some_and(|&n| is_letter(n)) {
        return run(b, i + 1, is_letter);
    }
    if class(c) == Class::Digit {
        return digits(b, i);
    }
    if let Some(end) = punctuation_piece(b, i, |c| c == b'\r' || c == b'\n') {
        return end;
    }
    whitespace_piece(b, i)
}

/// An o200k word from the letter at `j`: capitals then lower-case letters (at least one), or
/// failing that capitals alone; then an optional contraction.
#[inline]
fn o200k_word(b: &[u8], j: usize) -> usize {
    let upper = run(b, j, |c| c.is_ascii_uppercase());
    let lower = run(b, upper, |c| c.is_ascii_lowercase());
    contraction(b, lower).unwrap_or(lower)
}

/// The o200k piece that starts at `i` (ASCII), and its end.
fn o200k_piece(b: &[u8], i: usize) -> usize {
    let c = b[i];
    if may_lead_word(c) && b.get(i + 1).is_some_and(|&n| is_letter(n)) {
        return o200k_word(b, i + 1);
    }
    if is_letter(c) {
        return o200k_word(b, i);
    }
    if class(c) == Class::Digit {
        return digits(b, i);
    }
    if let Some(end) = punctuation_piece(b, i, |c| c == b'\r' || c == b'\n' || c == b'/') {
        return end;
    }
    whitespace_piece(b, i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces_fast(s: &Splitter, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        s.for_each_piece(text, |p| out.push(String::from_utf8(p.to_vec()).unwrap())).unwrap();
        out
    }

    fn pieces_regex(s: &Splitter, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        s.unicode(text, &mut |p: &[u8]| out.push(String::from_utf8(p.to_vec()).unwrap())).unwrap();
        out
    }

    /// Deterministic pseudo-random texts over an alphabet rich in the patterns' corner cases.
    fn texts(alphabet: &[&str], n: usize, seed: u64) -> Vec<String> {
        let mut x = seed | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        (0..n)
            .map(|_| {
                let len = (next() % 40) as usize;
                (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect()
            })
            .collect()
    }

    const ASCII: &[&str] = &[
        " ", " ", "  ", "\t", "\n", "\r", "\r\n", "\x0b", "\x0c", "'", "'s", "'S", "'re", "'Ll",
        "'ve", "'d", "'m", "'t", "'x", "a", "b", "s", "t", "e", "l", "Z", "AB", "Hello", "HTTP",
        "word", "0", "12", "4567", "/", "//", ".", "...", "(", ")", "-", "_", "#", "\"", "$",
        "\x00", "\x1c", "\x7f", "ll", "re", "?!",
    ];

    #[test]
    fn ascii_scanner_matches_the_regex() {
        for pattern in [Pattern::Cl100k, Pattern::O200k] {
            let s = Splitter::new(pattern);
            for (k, text) in texts(ASCII, 20_000, 42 + pattern as u64).iter().enumerate() {
                assert_eq!(
                    pieces_fast(&s, text),
                    pieces_regex(&s, text),
                    "{pattern:?} #{k} {text:?}"
                );
            }
        }
    }

    #[test]
    fn line_cuts_do_not_change_the_pieces() {
        let mixed: Vec<&str> = ASCII
            .iter()
            .copied()
            .chain(["é", "Ö", "日本", "\u{a0}", "\u{85}", "\u{2028}", "🙂", "\u{301}"])
            .collect();
        for pattern in [Pattern::Cl100k, Pattern::O200k] {
            let s = Splitter::new(pattern);
            for text in texts(&mixed, 20_000, 7 + pattern as u64) {
                assert_eq!(pieces_fast(&s, &text), pieces_regex(&s, &text), "{pattern:?} {text:?}");
            }
        }
    }

    #[test]
    fn known_splits() {
        let cl = Splitter::new(Pattern::Cl100k);
        assert_eq!(
            pieces_fast(&cl, "I'm here  now\n\n12345"),
            ["I", "'m", " here", " ", " now", "\n\n", "123", "45"]
        );
        let o = Splitter::new(Pattern::O200k);
        assert_eq!(
            pieces_fast(&o, "HELLOworld I'm CamelCase a/b"),
            ["HELLOworld", " I'm", " Camel", "Case", " a", "/b"]
        );
    }
}
