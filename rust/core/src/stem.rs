//! A light English stemmer: steps 1a, 1b and 1c of Porter's algorithm (plurals, `-ed`, `-ing`,
//! final `-y`). It conflates the inflections that matter for recall (`paintings`, `painted`,
//! `painting` -> `paint`) without the aggressive derivational steps that merge unrelated words.
//! Words that are not plain ASCII letters are left alone.

fn is_consonant(w: &[u8], i: usize) -> bool {
    match w[i] {
        b'a' | b'e' | b'i' | b'o' | b'u' => false,
        b'y' => i == 0 || !is_consonant(w, i - 1),
        _ => true,
    }
}

/// Porter's measure: the number of vowel-consonant sequences in `w`.
fn measure(w: &[u8]) -> usize {
    let mut m = 0;
    let mut prev_vowel = false;
    for i in 0..w.len() {
        let cons = is_consonant(w, i);
        if cons && prev_vowel {
            m += 1;
        }
        prev_vowel = !cons;
    }
    m
}

fn has_vowel(w: &[u8]) -> bool {
    (0..w.len()).any(|i| !is_consonant(w, i))
}

fn ends_double_consonant(w: &[u8]) -> bool {
    let n = w.len();
    n >= 2 && w[n - 1] == w[n - 2] && is_consonant(w, n - 1)
}

/// Consonant-vowel-consonant at the end, the last not `w`, `x` or `y` (`hop`, not `snow`).
fn ends_cvc(w: &[u8]) -> bool {
    let n = w.len();
    n >= 3
        && is_consonant(w, n - 3)
        && !is_consonant(w, n - 2)
        && is_consonant(w, n - 1)
        && !matches!(w[n - 1], b'w' | b'x' | b'y')
}

/// Stems `word` in place (see the module docs); words of two letters or fewer are kept.
pub fn stem_light(word: &mut String) {
    // Every rule below ends in s, d, g or y; most words end otherwise and leave at once.
    if word.len() <= 2
        || !matches!(word.as_bytes()[word.len() - 1], b's' | b'd' | b'g' | b'y')
        || !word.bytes().all(|b| b.is_ascii_lowercase())
    {
        return;
    }
    // Step 1a: plurals.
    if word.ends_with("sses") || word.ends_with("ies") {
        word.truncate(word.len() - 2);
    } else if word.ends_with('s') && !word.ends_with("ss") {
        word.truncate(word.len() - 1);
    }
    // Step 1b: -eed, -ed, -ing.
    let w = word.as_bytes();
    let n = w.len();
    let mut fix = false;
    if word.ends_with("eed") {
        if measure(&w[..n - 3]) > 0 {
            word.truncate(n - 1);
        }
    } else if word.ends_with("ed") && has_vowel(&w[..n - 2]) {
        word.truncate(n - 2);
        fix = true;
    } else if word.ends_with("ing") && has_vowel(&w[..n - 3]) {
        word.truncate(n - 3);
        fix = true;
    }
    if fix {
        let w = word.as_bytes();
        if word.ends_with("at") || word.ends_with("bl") || word.ends_with("iz") {
            word.push('e');
        } else if ends_double_consonant(w) && !matches!(w[w.len() - 1], b'l' | b's' | b'z') {
            word.truncate(w.len() - 1);
        } else if measure(w) == 1 && ends_cvc(w) {
            word.push('e');
        }
    }
    // Step 1c: a final y after a vowel-bearing stem becomes i (happy -> happi).
    let w = word.as_bytes();
    if w.len() > 1 && w[w.len() - 1] == b'y' && has_vowel(&w[..w.len() - 1]) {
        word.truncate(w.len() - 1);
        word.push('i');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(w: &str) -> String {
        let mut w = w.to_string();
        stem_light(&mut w);
        w
    }

    #[test]
    fn porter_step_one_examples() {
        // From Porter (1980), steps 1a-1c.
        for (word, stem) in [
            ("caresses", "caress"),
            ("ponies", "poni"),
            ("ties", "ti"),
            ("caress", "caress"),
            ("cats", "cat"),
            ("feed", "feed"),
            ("agreed", "agree"),
            ("plastered", "plaster"),
            ("bled", "bled"),
            ("motoring", "motor"),
            ("sing", "sing"),
            ("conflated", "conflate"),
            ("troubled", "trouble"),
            ("sized", "size"),
            ("hopping", "hop"),
            ("tanned", "tan"),
            ("falling", "fall"),
            ("hissing", "hiss"),
            ("fizzed", "fizz"),
            ("failing", "fail"),
            ("filing", "file"),
            ("happy", "happi"),
            ("sky", "sky"),
        ] {
            assert_eq!(s(word), stem, "{word}");
        }
    }

    #[test]
    fn inflections_meet_and_odd_words_survive() {
        assert_eq!(s("paintings"), s("painted"));
        assert_eq!(s("painting"), "paint");
        assert_eq!(s("is"), "is");
        assert_eq!(s("naïve"), "naïve");
        assert_eq!(s("abc123s"), "abc123s");
        assert_eq!(s("sss"), "sss");
    }
}
