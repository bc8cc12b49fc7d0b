//! Fuzz-style properties of the engines' inputs: arbitrary text through the keyword index,
//! the analyzer, importance (default and configured scorers), summaries, token counts and the
//! hashing embedder; arbitrary vectors, ids and sizes through the HNSW index. Anything may be
//! refused with an error; nothing may panic, and every score stays in its documented range.
//! `FERROMEM_FUZZ_CASES=N` runs more cases.

mod common;

use common::cases;
use ferromem_core::embed::hash_embed;
use ferromem_core::hnsw::{HnswIndex, Metric};
use ferromem_core::importance::{importance, importance_many, ImportanceScorer, Keywords, Weights};
use ferromem_core::keyword::{default_topics, KeywordIndex, Neighbours, Params, Scoring};
use ferromem_core::summary::summarize;
use ferromem_core::text::Analyzer;
use ferromem_core::tokens::{count_tokens, count_tokens_many};
use proptest::prelude::*;

/// Text that stresses analyzers: ASCII words and punctuation, Latin accents, CJK, combining
/// marks, joiners, emoji, digits, long runs and control characters.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[a-zA-Z]{1,12}",
        2 => "[ .,!?;:\"'()\\[\\]\n\t-]{1,3}",
        1 => "[àéîõüßçñøÆŒſǅ]{1,4}",
        1 => "[一-龥ぁ-んァ-ン]{1,4}",
        1 => "[\u{0300}-\u{036F}\u{200B}-\u{200D}\u{FE0F}]{1,3}",
        1 => "[😀-🙏🏻-🏿]{1,3}",
        1 => "[0-9]{1,12}",
        1 => "[\u{0}-\u{1F}\u{7F}-\u{9F}]{1,2}",
        1 => "[a-z]{60,90}",
        1 => any::<String>(),
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|p| p.concat())
}

fn weight_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(-1.0),
        Just(1e308),
        Just(-1e308),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::MIN_POSITIVE),
        -10.0f64..10.0,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(300)))]

    #[test]
    fn keyword_index_takes_any_text(
        texts in proptest::collection::vec(hostile_text(), 1..12),
        queries in proptest::collection::vec(hostile_text(), 1..4),
        k in prop_oneof![Just(1usize), Just(3), Just(usize::MAX), 0usize..50],
        jaccard in any::<bool>(),
        flags in 0u32..16,
        weights in (-1.0f32..2.0, -1.0f32..2.0),
    ) {
        let params = Params {
            scoring: if jaccard { Scoring::Jaccard } else { Scoring::Bm25 },
            analyzer: Analyzer::from_bits(flags),
            ..Params::default()
        };
        let mut index = KeywordIndex::new(params, default_topics()).expect("index");
        let strs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let ids: Vec<u64> = (0..strs.len() as u64).map(|i| i * 7 + u64::MAX / 2).collect();
        let groups: Vec<&str> = strs.iter().map(|t| if t.len() % 2 == 0 { "even" } else { t }).collect();
        index.add(&ids, &strs, Some(&groups)).expect("distinct ids are accepted");
        let neighbours = Neighbours { previous: weights.0, next: weights.1 };
        for q in &queries {
            for group in [None, Some("even"), Some(q.as_str())] {
                if let Ok(hits) = index.search_with(q, k, group, neighbours) {
                    prop_assert!(hits.len() <= k);
                    prop_assert!(hits.iter().all(|(id, s)| ids.contains(id) && s.is_finite()));
                }
            }
            index.clean_for(q);
        }
        for topic in ["family", "nope"] {
            let _ = index.topic_ids(topic, Some("even"));
        }
        index.remove(&ids[..1]).expect("remove");
        index.compact();
        let _ = index.search(&queries[0], 5, None);
    }

    #[test]
    fn topics_and_analyzer_take_any_text(
        name in hostile_text(),
        words in proptest::collection::vec(hostile_text(), 0..4),
        text in hostile_text(),
        flags in 0u32..16,
    ) {
        let analyzer = Analyzer::from_bits(flags);
        for term in analyzer.terms(&text) {
            prop_assert!(!term.is_empty());
        }
        let params = Params { analyzer, ..Params::default() };
        if let Ok(mut index) = KeywordIndex::new(params, vec![(name.clone(), words)]) {
            index.add(&[1], &[&text], None).expect("add");
            let _ = index.topic_ids(&name, None);
        }
    }

    #[test]
    fn importance_summary_tokens_and_embeddings_take_any_text(
        texts in proptest::collection::vec(hostile_text(), 0..10),
        budget in prop_oneof![Just(0usize), Just(usize::MAX), 0usize..400],
        dim in prop_oneof![Just(0usize), Just(1), Just(65_537), Just(usize::MAX), 1usize..300],
    ) {
        for t in &texts {
            let s = importance(t);
            prop_assert!((0.0..=1.0).contains(&s), "{s} for {t:?}");
            let _ = count_tokens(t);
        }
        let many = importance_many(&texts);
        prop_assert_eq!(many.len(), texts.len());
        prop_assert_eq!(count_tokens_many(&texts).len(), texts.len());
        let scorer = ferromem_core::importance::default_scorer();
        for s in summarize(&texts, budget, scorer) {
            let text = &texts[s.text];
            prop_assert!(s.start <= s.end && text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
        }
        let strs: Vec<&str> = texts.iter().map(String::as_str).collect();
        match hash_embed(&strs, dim) {
            Ok(v) => {
                prop_assert_eq!(v.len(), strs.len() * dim);
                prop_assert!(v.iter().all(|x| x.is_finite()));
            }
            Err(e) => prop_assert!(e.to_string().contains("dim"), "{}", e),
        }
    }

    #[test]
    fn a_configured_scorer_takes_any_weights_and_phrases(
        values in proptest::collection::vec(weight_value(), Weights::NAMES.len()),
        phrases in proptest::collection::vec(proptest::collection::vec(hostile_text(), 0..4), 5),
        long in prop_oneof![Just(0usize), Just(usize::MAX), 0usize..40],
        short in prop_oneof![Just(0usize), Just(usize::MAX), 0usize..10],
        texts in proptest::collection::vec(hostile_text(), 1..6),
    ) {
        let mut weights = Weights::default();
        for (name, v) in Weights::NAMES.iter().zip(values) {
            let _ = weights.set(name, v);
        }
        let mut keywords = Keywords::default();
        for (category, list) in ["emphasis", "self_facts", "plans", "dates", "fillers"].iter().zip(phrases) {
            let _ = keywords.set(category, list);
        }
        if let Ok(scorer) = ImportanceScorer::new(weights, keywords, long, short) {
            for t in &texts {
                let s = scorer.score(t);
                prop_assert!((0.0..=1.0).contains(&s), "{s} for {t:?}");
            }
            let _ = scorer.score_many(&texts);
            let _ = summarize(&texts, 50, &scorer);
        }
    }

    #[test]
    fn hnsw_takes_any_vectors_ids_and_sizes(
        dim in 1usize..9,
        rows in 0usize..40,
        raw in proptest::collection::vec(prop_oneof![
            8 => -2.0f32..2.0,
            1 => Just(0.0f32),
            1 => Just(f32::NAN),
            1 => Just(f32::INFINITY),
            1 => Just(f32::MAX),
            1 => Just(f32::MIN_POSITIVE),
            1 => Just(1e-40f32),
        ], 0..400),
        ids in proptest::collection::vec(prop_oneof![0u64..8, Just(u64::MAX), any::<u64>()], 0..40),
        metric in 0usize..3,
        m in prop_oneof![Just(0usize), Just(1), Just(2), Just(300), 2usize..8],
        k in prop_oneof![Just(0usize), Just(usize::MAX), 1usize..50],
        ef in proptest::option::of(prop_oneof![Just(0usize), Just(usize::MAX), 1usize..300]),
    ) {
        let metric = [Metric::Cosine, Metric::InnerProduct, Metric::L2][metric];
        let Ok(mut index) = HnswIndex::new(dim, metric, m, 16) else { return Ok(()) };
        // An empty `raw` cycles to nothing: the batch then has no rows at all.
        let vectors: Vec<f32> = raw.iter().copied().cycle().take(rows * dim).collect();
        let n = ids.len().min(vectors.len() / dim.max(1));
        let _ = index.add(&ids[..n], &vectors[..n * dim]);
        let _ = index.add(&ids, &vectors);
        let q: Vec<f32> = raw.iter().copied().take(dim).chain(std::iter::repeat(0.5)).take(dim).collect();
        if let Ok((found, dists)) = index.search(&q, 1, k, ef, None) {
            prop_assert_eq!(found.len(), k);
            prop_assert_eq!(dists.len(), k);
        }
        let filter = index.filter(&ids);
        let _ = index.search(&q, 1, k.min(3), ef, Some(&filter));
        let _ = index.search_exact(&q, 1, k.min(5));
        let _ = index.remove(&ids[..ids.len().min(3)]);
        let _ = index.remove(&[u64::MAX, 12345]);
        let _ = index.search(&q, 1, 1, None, None);
    }
}
