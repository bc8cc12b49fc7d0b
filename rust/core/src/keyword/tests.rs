use std::collections::HashMap;

use super::*;

fn index(scoring: Scoring) -> KeywordIndex {
    KeywordIndex::new(Params { scoring, ..Params::default() }, default_topics()).unwrap()
}

/// A tiny deterministic generator (no dependency) for random corpora.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// BM25 of every live document, computed the slow obvious way from the texts.
fn brute_force(
    docs: &[(u64, String, &str)],
    query: &str,
    params: &Params,
    group: Option<&str>,
) -> Vec<(u64, f32)> {
    let a = params.analyzer;
    let analyzed: Vec<(u64, Vec<String>, &str)> =
        docs.iter().map(|(id, text, g)| (*id, a.terms(text), *g)).collect();
    let n = analyzed.len() as f32;
    let avg = (analyzed.iter().map(|d| d.1.len()).sum::<usize>() as f32 / n).max(1.0);
    let mut q = a.terms(query);
    q.sort();
    q.dedup();
    let mut out = vec![];
    for (id, terms, g) in &analyzed {
        if group.is_some_and(|want| want != *g) {
            continue;
        }
        let mut score = 0.0f32;
        let mut hit = false;
        for t in &q {
            let df = analyzed.iter().filter(|d| d.1.contains(t)).count() as f32;
            let tf = terms.iter().filter(|x| *x == t).count() as f32;
            if tf > 0.0 {
                hit = true;
                let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
                let norm = params.k1 * (1.0 - params.b + params.b * terms.len() as f32 / avg);
                score += idf * tf * (params.k1 + 1.0) / (tf + norm);
            }
        }
        if hit {
            out.push((*id, score));
        }
    }
    out.sort_by(|x, y| y.1.total_cmp(&x.1));
    out
}

/// `got` is a valid top k of `all`: same length, scores match the reference's k best within
/// rounding, and each returned id really has the score it was given.
fn assert_top_k(got: &[(u64, f32)], all: &[(u64, f32)], k: usize) {
    let want: Vec<f32> = all.iter().take(k).map(|x| x.1).collect();
    assert_eq!(got.len(), want.len(), "got {got:?}, want {:?}", &all[..want.len()]);
    let truth: HashMap<u64, f32> = all.iter().copied().collect();
    for (i, (id, s)) in got.iter().enumerate() {
        assert!(
            (s - want[i]).abs() <= 1e-4 * want[i].abs().max(1.0),
            "rank {i}: {s} vs {}",
            want[i]
        );
        assert!((truth[id] - s).abs() <= 1e-4 * s.abs().max(1.0), "id {id} mis-scored");
    }
}

#[test]
fn bm25_top_k_matches_brute_force_on_random_corpora_with_deletions_and_groups() {
    let vocab = [
        "apple", "banana", "cherry", "dates", "elder", "fig", "grape", "honey", "kiwi", "lemon",
        "mango", "nut", "olive", "peach", "quince", "rose",
    ];
    let mut rng = Lcg(7);
    for round in 0..30 {
        let mut idx = index(Scoring::Bm25);
        let mut docs: Vec<(u64, String, &str)> = vec![];
        let n = 1 + rng.below(300) as usize;
        let groups = ["a", "b", "c"];
        for i in 0..n {
            let len = rng.below(12) as usize;
            // Skewed vocabulary so that some terms are common and some rare.
            let text: Vec<&str> =
                (0..len).map(|_| vocab[(rng.below(16) * rng.below(16) / 15) as usize]).collect();
            docs.push((i as u64 * 3 + 1, text.join(" "), groups[rng.below(3) as usize]));
        }
        let ids: Vec<u64> = docs.iter().map(|d| d.0).collect();
        let texts: Vec<&str> = docs.iter().map(|d| d.1.as_str()).collect();
        let gs: Vec<&str> = docs.iter().map(|d| d.2).collect();
        // Add in two batches to exercise merging at an offset.
        let cut = n / 2;
        idx.add(&ids[..cut], &texts[..cut], Some(&gs[..cut])).unwrap();
        idx.add(&ids[cut..], &texts[cut..], Some(&gs[cut..])).unwrap();
        let dead: Vec<u64> = ids.iter().copied().filter(|_| rng.below(4) == 0).collect();
        idx.remove(&dead).unwrap();
        docs.retain(|d| !dead.contains(&d.0));
        let params = *idx.params();
        for q in 0..10 {
            let query: Vec<&str> =
                (0..1 + rng.below(4)).map(|_| vocab[rng.below(16) as usize]).collect();
            let query = query.join(" ");
            let k = 1 + rng.below(8) as usize;
            let group = if q % 3 == 0 { Some(groups[q % 3]) } else { None };
            let all = brute_force(&docs, &query, &params, group);
            let got = idx.search(&query, k, group).unwrap();
            assert_top_k(&got, &all, k);
            if round % 2 == 0 {
                idx.clean_for(&query);
                assert!(!idx.needs_cleaning(&query));
                assert_top_k(&idx.search(&query, k, group).unwrap(), &all, k);
            }
        }
    }
}

#[test]
fn words_seen_again_are_indexed_as_the_analyzer_makes_them() {
    // Ingestion remembers what each distinct word became (term, or no term); words that share
    // a stem, differ in case or accents, stop words, words of 16 and 17 bytes (the packed-key
    // limit) and over 64 (dropped) must score exactly as the analyzer's own terms do.
    let vocab = [
        "Cats",
        "cat",
        "CATS",
        "running",
        "run",
        "runs",
        "the",
        "The",
        "and",
        "café",
        "cafe",
        "CAFÉ",
        "sixteen_bytes_ab",
        "sixteenbytesabcd",
        "seventeenbytesabc",
        "seventeenbytesabd",
        "straße",
        "strasse",
        "東京",
        "x1",
        "42",
        &"long".repeat(17),
    ];
    let mut rng = Lcg(11);
    let mut idx = index(Scoring::Bm25);
    let mut docs: Vec<(u64, String, &str)> = vec![];
    for i in 0..400u64 {
        let len = 1 + rng.below(10) as usize;
        let text: Vec<&str> =
            (0..len).map(|_| vocab[rng.below(vocab.len() as u64) as usize]).collect();
        docs.push((i, text.join(if i % 2 == 0 { " " } else { ", " }), ""));
    }
    // One batch, one chunk: its word cache sees every word again and again.
    let ids: Vec<u64> = docs.iter().map(|d| d.0).collect();
    let texts: Vec<&str> = docs.iter().map(|d| d.1.as_str()).collect();
    idx.add(&ids, &texts, None).unwrap();
    let params = *idx.params();
    for word in vocab {
        let all = brute_force(&docs, word, &params, None);
        assert_top_k(&idx.search(word, 10, None).unwrap(), &all, 10);
    }
}

#[test]
fn jaccard_is_the_seeds_set_similarity() {
    let mut idx = index(Scoring::Jaccard);
    idx.add(&[1, 2, 3], &["red apple pie", "red car", "blue sky above"], None).unwrap();
    let got = idx.search("red apple", 10, None).unwrap();
    // {red, apple} vs {red, apple, pie}: 2/3; vs {red, car}: 1/3.
    assert_eq!(got.iter().map(|x| x.0).collect::<Vec<_>>(), [1, 2]);
    assert!((got[0].1 - 2.0 / 3.0).abs() < 1e-6 && (got[1].1 - 1.0 / 3.0).abs() < 1e-6);
    assert_eq!(idx.search("red apple", 10, Some("none")).unwrap(), vec![]);
}

#[test]
fn group_search_never_leaves_the_group_and_large_batches_go_parallel() {
    let mut idx = index(Scoring::Bm25);
    let n = 20_000u64;
    let ids: Vec<u64> = (0..n).collect();
    let texts: Vec<String> =
        (0..n).map(|i| format!("common word{} session{}", i % 97, i % 50)).collect();
    let texts: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
    let groups: Vec<String> = (0..n).map(|i| format!("g{}", i % 50)).collect();
    let groups: Vec<&str> = groups.iter().map(|s| s.as_str()).collect();
    idx.add(&ids, &texts, Some(&groups)).unwrap();
    assert_eq!(idx.len(), n as usize);
    assert_eq!(idx.group_len("g7"), 400);
    let hits = idx.search("common word3", 1000, Some("g7")).unwrap();
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|(id, _)| id % 50 == 7));
    let all = idx.search("common", 5, None).unwrap();
    // Equal scores go to the earliest document.
    assert_eq!(all.iter().map(|x| x.0).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
}

#[test]
fn remove_reports_unknown_ids_and_changes_nothing() {
    let mut idx = index(Scoring::Bm25);
    idx.add(&[1, 2], &["alpha", "beta"], None).unwrap();
    match idx.remove(&[2, 99, 98]) {
        Err(Error::UnknownIds(ids)) => assert_eq!(ids, [99, 98]),
        other => panic!("{other:?}"),
    }
    assert_eq!(idx.len(), 2);
    idx.remove(&[2]).unwrap();
    assert!(idx.search("beta", 3, None).unwrap().is_empty());
    assert!(idx.add(&[1], &["again"], None).is_err());
    assert!(idx.add(&[5, 5], &["a", "b"], None).is_err());
    assert!(idx.add(&[5], &["a", "b"], None).is_err());
    assert_eq!(idx.len(), 1);
    idx.add(&[2], &["beta again"], None).unwrap();
    assert_eq!(idx.search("beta", 3, None).unwrap()[0].0, 2);
}

#[test]
fn bad_queries_find_nothing_and_k_zero_is_refused() {
    let mut idx = index(Scoring::Bm25);
    idx.add(&[1], &["hello world"], None).unwrap();
    for q in ["", "   ", "the and of", "?!...", "unknownword"] {
        assert!(idx.search(q, 5, None).unwrap().is_empty(), "{q:?}");
    }
    assert!(matches!(idx.search("hello", 0, None), Err(Error::InvalidArgument(_))));
}

#[test]
fn topics_follow_keywords_deletions_and_groups() {
    let mut idx = index(Scoring::Bm25);
    idx.add(
        &[1, 2, 3, 4],
        &["I write Python code", "SQL databases", "machine learning models", "python again"],
        Some(&["s1", "s1", "s2", "s2"]),
    )
    .unwrap();
    assert_eq!(idx.topic_ids("programming", None).unwrap(), [1, 4]);
    assert_eq!(idx.topic_ids("programming", Some("s2")).unwrap(), [4]);
    assert_eq!(idx.topic_ids("ai_ml", None).unwrap(), [3]);
    idx.remove(&[1]).unwrap();
    assert_eq!(idx.topic_ids("programming", None).unwrap(), [4]);
    assert!(idx.topic_ids("cooking", None).is_err());
}

#[test]
fn save_load_round_trip_and_damage_is_caught() {
    let dir = std::env::temp_dir().join(format!("ferromem-kw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("idx.bin");
    let mut idx = index(Scoring::Bm25);
    idx.add(&[10, 20, 30], &["red fox", "blue fox jumps", "python code"], Some(&["a", "b", "a"]))
        .unwrap();
    idx.remove(&[20]).unwrap();
    idx.save(&path).unwrap();
    let back = KeywordIndex::load(&path).unwrap();
    assert_eq!(back.len(), 2);
    assert_eq!(back.search("fox", 5, None).unwrap(), idx.search("fox", 5, None).unwrap());
    assert_eq!(back.search("fox", 5, Some("a")).unwrap().len(), 1);
    assert_eq!(back.topic_ids("programming", None).unwrap(), [30]);
    let good = std::fs::read(&path).unwrap();
    for i in (0..good.len()).step_by(7) {
        let mut bad = good.clone();
        bad[i] ^= 0x10;
        std::fs::write(&path, &bad).unwrap();
        assert!(matches!(KeywordIndex::load(&path), Err(Error::CorruptFile { .. })), "byte {i}");
    }
}

#[test]
fn memory_is_accounted_and_compact_purges() {
    let mut idx = index(Scoring::Bm25);
    let texts: Vec<String> = (0..1000).map(|i| format!("word{} shared text", i % 10)).collect();
    let texts: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
    let ids: Vec<u64> = (0..1000).collect();
    idx.add(&ids, &texts, None).unwrap();
    idx.remove(&ids[..500]).unwrap();
    let before = idx.memory_bytes();
    idx.compact();
    assert!(idx.memory_bytes() < before);
    assert_eq!(idx.search("shared", 1, None).unwrap()[0].0, 500);
}

#[test]
fn neighbour_weights_match_a_brute_force_fusion() {
    let vocab = ["red", "green", "blue", "cyan", "pink", "gold"];
    let mut rng = Lcg(11);
    for _ in 0..30 {
        let mut idx = index(Scoring::Bm25);
        let n = 1 + rng.below(120) as usize;
        let groups = ["a", "b", ""];
        let mut docs: Vec<(u64, String, &str)> = (0..n)
            .map(|i| {
                let words: Vec<&str> =
                    (0..rng.below(6)).map(|_| vocab[rng.below(6) as usize]).collect();
                (i as u64, words.join(" "), groups[rng.below(3) as usize])
            })
            .collect();
        for (id, text, g) in &docs {
            let group = if g.is_empty() { None } else { Some(&[*g][..]) };
            idx.add(&[*id], &[text.as_str()], group).unwrap();
        }
        let dead: Vec<u64> = (0..n as u64).filter(|_| rng.below(5) == 0).collect();
        idx.remove(&dead).unwrap();
        docs.retain(|d| !dead.contains(&d.0));
        let w = Neighbours { previous: 0.3, next: 0.1 };
        let query = format!("{} {}", vocab[rng.below(6) as usize], vocab[rng.below(6) as usize]);
        for group in [None, Some("a"), Some("b")] {
            let own: HashMap<u64, f32> =
                brute_force(&docs, &query, idx.params(), None).into_iter().collect();
            let mut fused: HashMap<u64, f32> = HashMap::new();
            for g in groups {
                let seq: Vec<u64> = docs.iter().filter(|d| d.2 == g).map(|d| d.0).collect();
                for (i, id) in seq.iter().enumerate() {
                    let s = |j: usize| own.get(&seq[j]).copied().unwrap_or(0.0);
                    let mut f = s(i);
                    if i > 0 {
                        f += 0.3 * s(i - 1);
                    }
                    if i + 1 < seq.len() {
                        f += 0.1 * s(i + 1);
                    }
                    if f > 0.0 && group.is_none_or(|want| want == g) {
                        fused.insert(*id, f);
                    }
                }
            }
            let mut all: Vec<(u64, f32)> = fused.into_iter().collect();
            all.sort_by(|x, y| y.1.total_cmp(&x.1));
            let got = idx.search_with(&query, 5, group, w).unwrap();
            assert_top_k(&got, &all, 5);
        }
    }
    let idx = index(Scoring::Bm25);
    let bad = Neighbours { previous: -1.0, next: 0.0 };
    assert!(idx.search_with("x", 3, None, bad).is_err());
}

#[test]
fn document_frequencies_counted_after_a_deletion_follow_later_adds() {
    // Regression (found by the random-operations property test): `clean_for` caches live
    // document frequencies after a deletion; an add did not invalidate them, so the next
    // search scored with a too-small df (a too-high idf).
    let mut idx = index(Scoring::Bm25);
    let mut docs: Vec<(u64, String, &str)> = Vec::new();
    for i in 0..400u64 {
        let text = if i % 4 == 0 { "fig mango" } else { "apple kiwi" };
        idx.add(&[i], &[text], None).unwrap();
        docs.push((i, text.to_string(), ""));
    }
    idx.compact(); // later adds stay in the tail (a seal would drop the cached counts)
    idx.add(&[400], &["fig"], None).unwrap(); // the term now has a tail list too
    docs.push((400, "fig".to_string(), ""));
    idx.remove(&[0]).unwrap();
    docs.retain(|d| d.0 != 0);
    idx.clean_for("fig");
    for i in 401..410u64 {
        idx.add(&[i], &["fig lemon"], None).unwrap();
        docs.push((i, "fig lemon".to_string(), ""));
    }
    let want = brute_force(&docs, "fig", idx.params(), None);
    assert_top_k(&idx.search("fig", 5, None).unwrap(), &want, 5);
}

#[test]
fn pruned_neighbour_search_equals_the_exhaustive_one() {
    // Large enough for the candidate path (it needs 8x its first 256 candidates), with a
    // skewed vocabulary so that scores tie and candidates must grow, groups, ungrouped
    // documents, deletions and both weights zero in turn.
    let vocab: Vec<String> = (0..40).map(|i| format!("w{i}")).collect();
    let mut rng = Lcg(29);
    for round in 0..4 {
        let mut idx = index(Scoring::Bm25);
        let n = 3000 + rng.below(3000) as usize;
        let groups = ["a", "b", "c", ""];
        for i in 0..n {
            let words: Vec<&str> = (0..1 + rng.below(8))
                .map(|_| vocab[(rng.below(40) * rng.below(40) / 40) as usize].as_str())
                .collect();
            let g = groups[rng.below(4) as usize];
            let group = if g.is_empty() { None } else { Some(&[g][..]) };
            idx.add(&[i as u64], &[words.join(" ").as_str()], group).unwrap();
        }
        let dead: Vec<u64> = (0..n as u64).filter(|_| rng.below(7) == 0).collect();
        idx.remove(&dead).unwrap();
        if round % 2 == 1 {
            idx.compact();
        }
        let weights = [(0.3, 0.1), (0.0, 0.5), (0.8, 0.0), (1.0, 1.0)];
        for q in 0..40 {
            let query = format!(
                "{} {} {}",
                vocab[rng.below(40) as usize],
                vocab[rng.below(10) as usize],
                vocab[rng.below(3) as usize]
            );
            let (previous, next) = weights[q % weights.len()];
            let w = Neighbours { previous, next };
            for k in [1, 10, 60] {
                let pruned = idx.search_with(&query, k, None, w).unwrap();
                let exhaustive = idx.search_exhaustive(&query, k, w).unwrap();
                assert_eq!(pruned, exhaustive, "query {query:?}, k {k}, weights {w:?}");
            }
        }
    }
}

#[test]
fn heavy_deletion_compacts_on_its_own() {
    let mut idx = index(Scoring::Bm25);
    let n = 20_000u64;
    let ids: Vec<u64> = (0..n).collect();
    let texts: Vec<String> = (0..n).map(|i| format!("python word{}", i % 100)).collect();
    let texts: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
    idx.add(&ids, &texts, None).unwrap();
    let full = idx.memory_bytes();
    idx.remove(&ids[..15_000]).unwrap();
    // Every list (and the "programming" topic list) was purged without any query.
    assert!(idx.clean_epoch == idx.epoch && idx.terms.is_empty());
    assert_eq!(idx.topic_docs[0].len(), 5_000);
    assert!(idx.memory_bytes() < full);
    assert_eq!(idx.search("python", 3, None).unwrap()[0].0, 15_000);
}

mod sequences {
    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Debug)]
    enum Op {
        /// Documents as word indexes, each with a group (0 = none).
        Add(Vec<(Vec<u8>, u8)>),
        /// Removes live documents chosen by these numbers.
        Remove(Vec<u16>),
        Search(Vec<u8>, u8, u8),
        Compact,
        SaveLoad,
    }

    fn op() -> impl Strategy<Value = Op> {
        let doc = (prop::collection::vec(0u8..12, 0..8), 0u8..3);
        prop_oneof![
            4 => prop::collection::vec(doc, 1..300).prop_map(Op::Add),
            2 => prop::collection::vec(any::<u16>(), 1..60).prop_map(Op::Remove),
            4 => (prop::collection::vec(0u8..13, 1..4), 1u8..12, 0u8..3)
                .prop_map(|(q, k, g)| Op::Search(q, k, g)),
            1 => Just(Op::Compact),
            1 => Just(Op::SaveLoad),
        ]
    }

    const WORDS: [&str; 13] = [
        "apple", "banana", "cherry", "dates", "elder", "fig", "grape", "honey", "kiwi", "lemon",
        "mango", "olive", "absent",
    ];
    const GROUPS: [&str; 3] = ["", "a", "b"];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// The compressed index (sealed blocks, tail, tombstones, compaction, snapshots) ranks
        /// exactly as BM25 computed from the live texts, in random add/remove/search orders;
        /// ids sometimes arrive out of order.
        #[test]
        fn the_index_matches_a_reference_under_random_operations(
            ops in prop::collection::vec(op(), 1..25),
            descending in any::<bool>(),
        ) {
            let mut idx = index(Scoring::Bm25);
            let mut live: Vec<(u64, String, &str)> = vec![];
            let mut next_id = if descending { 1u64 << 40 } else { 5 };
            let path = std::env::temp_dir()
                .join(format!("ferromem-kw-prop-{}-{descending}", std::process::id()));
            for op in ops {
                match op {
                    Op::Add(docs) => {
                        let mut ids = vec![];
                        let mut texts = vec![];
                        let mut groups = vec![];
                        for (words, g) in docs {
                            let text: Vec<&str> = words.iter().map(|&w| WORDS[w as usize]).collect();
                            ids.push(next_id);
                            next_id = if descending { next_id - 3 } else { next_id + 2 };
                            texts.push(text.join(" "));
                            groups.push(GROUPS[g as usize]);
                        }
                        let strs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
                        // Group-less documents go in a separate batch (groups are per batch).
                        let (with, without): (Vec<usize>, Vec<usize>) =
                            (0..ids.len()).partition(|&i| !groups[i].is_empty());
                        for (part, grouped) in [(with, true), (without, false)] {
                            let pi: Vec<u64> = part.iter().map(|&i| ids[i]).collect();
                            let pt: Vec<&str> = part.iter().map(|&i| strs[i]).collect();
                            let pg: Vec<&str> = part.iter().map(|&i| groups[i]).collect();
                            idx.add(&pi, &pt, grouped.then_some(&pg[..])).unwrap();
                            for &i in &part {
                                live.push((ids[i], texts[i].clone(), groups[i]));
                            }
                        }
                    }
                    Op::Remove(picks) => {
                        if live.is_empty() {
                            continue;
                        }
                        let mut dead: Vec<u64> =
                            picks.iter().map(|&p| live[p as usize % live.len()].0).collect();
                        dead.sort_unstable();
                        dead.dedup();
                        idx.remove(&dead).unwrap();
                        live.retain(|d| !dead.contains(&d.0));
                        prop_assert!(idx.remove(&dead[..1]).is_err());
                    }
                    Op::Search(q, k, g) => {
                        let query: Vec<&str> = q.iter().map(|&w| WORDS[w as usize]).collect();
                        let query = query.join(" ");
                        let group = (g > 0).then(|| GROUPS[g as usize]);
                        let in_group = |d: &&(u64, String, &str)| group.is_none_or(|w| w == d.2);
                        let params = *idx.params();
                        let all = brute_force(&live, &query, &params, group);
                        let k = k as usize;
                        assert_top_k(&idx.search(&query, k, group).unwrap(), &all, k);
                        idx.clean_for(&query);
                        prop_assert!(!idx.needs_cleaning(&query));
                        assert_top_k(&idx.search(&query, k, group).unwrap(), &all, k);
                        if let Some(name) = group {
                            prop_assert_eq!(idx.group_len(name), live.iter().filter(in_group).count());
                        }
                    }
                    Op::Compact => idx.compact(),
                    Op::SaveLoad => {
                        idx.save(&path).unwrap();
                        idx = KeywordIndex::load(&path).unwrap();
                    }
                }
                prop_assert_eq!(idx.len(), live.len());
                for d in live.iter().take(5) {
                    prop_assert!(idx.contains(d.0));
                }
            }
            let _ = std::fs::remove_file(&path);
        }
    }
}
