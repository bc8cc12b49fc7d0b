//! Tests of the importance scorer.

use super::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn a_plain_turn_scores_the_base() {
    assert!(close(importance("the weather looks fine"), 0.5));
    assert!(close(importance(""), 0.5));
}

#[test]
fn the_seed_signals_still_count() {
    // Emphasis, one per distinct keyword, capped.
    assert!(close(importance("please remember this"), 0.7));
    assert!(close(importance("remember, this is important"), 0.9));
    assert!(close(importance("remember important essential core fundamental"), 0.9));
    // Questions and long turns.
    assert!(close(importance("is it raining"), 0.5));
    assert!(close(importance("is it raining?"), 0.55));
    let long = "word ".repeat(21);
    assert!(close(importance(&long), 0.6));
    assert!(close(importance(&"word ".repeat(20)), 0.5));
}

#[test]
fn matching_is_whole_word_and_case_insensitive() {
    assert!(close(importance("REMEMBER this"), 0.7));
    assert!(close(importance("I remembered it"), 0.7)); // remember* takes any ending
    assert!(close(importance("a high score"), 0.5)); // "core" only as a word
    assert!(close(importance("the hardcore fans"), 0.5));
    assert!(close(importance("I'm allergic to nuts"), 0.75));
    assert!(close(importance("I’m allergic to nuts"), 0.75)); // typographic apostrophe
}

#[test]
fn self_disclosures_plans_dates_numbers_and_names() {
    assert!(close(importance("my name is alice"), 0.75));
    // Two distinct facts, capped at 0.45, and the name Alice.
    assert!(close(importance("Hello! My name is Alice and I work as an engineer."), 1.0));
    assert!(close(importance("i will call them"), 0.65));
    assert!(close(importance("see you tomorrow"), 0.6));
    assert!(close(importance("it costs 40 dollars"), 0.55));
    assert!(close(importance("we met in 2019"), 0.65)); // a year is a date and a number
    assert!(close(importance("on the 3rd"), 0.65));
    assert!(close(importance("we spoke with Maria and Tom and Kim"), 0.6)); // names capped
                                                                            // The first word of a sentence is not a name.
    assert!(close(importance("Yesterday was long. Today too"), 0.6));
    // Shouting is not a name.
    assert!(close(importance("this is URGENT"), 0.5));
}

#[test]
fn short_acknowledgements_score_low() {
    assert!(close(importance("ok thanks"), 0.3));
    assert!(close(importance("Thanks!"), 0.3));
    // A longer turn that merely contains a filler word is not an acknowledgement.
    assert!(close(importance("ok so the plan is to move the meeting"), 0.5));
}

#[test]
fn scores_stay_in_the_unit_interval() {
    let loaded = "Remember: it is important and essential. My name is Bob, I love cats, \
                  I will visit Paris on Monday 12/05/2024, is that critical?";
    assert!(close(importance(loaded), 1.0));
    let w = Weights { base: -3.0, ..Weights::default() };
    let s = ImportanceScorer::new(w, Keywords::default(), 20, 3).unwrap();
    assert!(close(s.score("anything"), 0.0));
}

#[test]
fn weights_and_keywords_are_configurable() {
    let mut w = Weights::default();
    w.set("emphasis", 0.4).unwrap();
    w.set("emphasis_cap", 0.4).unwrap();
    let mut k = Keywords::default();
    k.set("emphasis", vec!["urgent".into(), "asap*".into()]).unwrap();
    let s = ImportanceScorer::new(w, k, 20, 3).unwrap();
    assert!(close(s.score("this is urgent"), 0.9));
    assert!(close(s.score("remember this"), 0.5));
    assert!(close(s.score("ASAPly"), 0.9));
    assert_eq!(s.weights().get("emphasis"), Some(0.4));
    assert_eq!(s.keywords().emphasis, vec!["urgent".to_string(), "asap*".to_string()]);
}

#[test]
fn bad_configuration_is_refused_with_its_name() {
    let mut w = Weights::default();
    let e = w.set("bogus", 1.0).unwrap_err().to_string();
    assert!(e.contains("bogus"), "{e}");
    let e = w.set("base", f64::NAN).unwrap_err().to_string();
    assert!(e.contains("base"), "{e}");
    let e = Keywords::default().set("nope", vec![]).unwrap_err().to_string();
    assert!(e.contains("nope"), "{e}");
    let mut k = Keywords::default();
    k.set("plans", vec!["ok".into(), "  ".into()]).unwrap();
    let e = ImportanceScorer::new(Weights::default(), k, 20, 3).unwrap_err().to_string();
    assert!(e.contains("plans") && e.contains("[1]"), "{e}");
    let w = Weights { name_cap: -1.0, ..Weights::default() };
    let e = ImportanceScorer::new(w, Keywords::default(), 20, 3).unwrap_err().to_string();
    assert!(e.contains("name_cap"), "{e}");
}

#[test]
fn many_equals_one_by_one() {
    let texts: Vec<String> = (0..3000)
        .map(|i| match i % 4 {
            0 => format!("I will meet Sam on day {i}"),
            1 => "ok".to_string(),
            2 => format!("remember that my name is N{i}?"),
            _ => "just chatting about the weather and nothing".to_string(),
        })
        .collect();
    let many = importance_many(&texts);
    for (t, s) in texts.iter().zip(&many) {
        assert_eq!(*s, importance(t) as f32, "{t}");
    }
}

#[test]
fn odd_input_does_not_panic() {
    for t in ["?", "'", "’", "1", "12/", "9th", "é", "🙂 I", "A", "\n\nAb", "x\u{0}y"] {
        let s = importance(t);
        assert!((0.0..=1.0).contains(&s), "{t}: {s}");
    }
}
