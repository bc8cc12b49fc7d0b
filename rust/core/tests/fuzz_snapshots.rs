//! Fuzz-style properties of every snapshot decoder: the shared envelope (magic, version,
//! length, CRC), its body reader, and the keyword and HNSW index bodies behind it, reached
//! through their public `load`. A mutated body is wrapped in a fresh, valid envelope so that
//! the CRC does not stop it: the body decoders must then refuse it with `CorruptFile` or load
//! an index that searches, changes and saves without a panic.
//! `FERROMEM_FUZZ_CASES=N` runs more cases.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{cases, mutate, mutations, scratch};
use ferromem_core::hnsw::{HnswIndex, Metric};
use ferromem_core::keyword::{default_topics, KeywordIndex, Neighbours, Params, Scoring};
use ferromem_core::snapshot::{read_checked, write_atomic, Reader};
use ferromem_core::Error;
use proptest::prelude::*;

const ENVELOPE_HEADER: usize = 20;
const ENVELOPE_FOOTER: usize = 4;

/// A file's magic, version and body, as written by `write_atomic`.
fn envelope(bytes: &[u8]) -> ([u8; 8], u32, Vec<u8>) {
    let magic: [u8; 8] = bytes[..8].try_into().expect("magic");
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("version"));
    (magic, version, bytes[ENVELOPE_HEADER..bytes.len() - ENVELOPE_FOOTER].to_vec())
}

fn fresh_path(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    scratch("snapshots").join(format!("{name}-{}", N.fetch_add(1, Ordering::Relaxed)))
}

fn keyword_snapshot() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let mut index = KeywordIndex::new(Params::default(), default_topics()).expect("index");
        let texts = [
            "I went to the LGBTQ support group yesterday",
            "Melanie painted a sunrise over the lake",
            "we love camping with the kids",
            "the adoption agency called back",
            "pottery class on Tuesday, remember!",
            "café straße naïve",
        ];
        let ids: Vec<u64> = (10..16).collect();
        let groups = ["a", "b", "a", "c", "b", "a"];
        index.add(&ids, &texts, Some(&groups)).expect("add");
        index.add(&[99], &["no group at all"], None).expect("add");
        index.remove(&[12]).expect("remove");
        let path = fresh_path("kw");
        index.save(&path).expect("save");
        std::fs::read(&path).expect("read")
    })
}

fn hnsw_snapshot(metric: Metric) -> Vec<u8> {
    let dim = 5;
    let mut index = HnswIndex::new(dim, metric, 4, 16).expect("index");
    let n = 60;
    let vectors: Vec<f32> =
        (0..n * dim).map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0 + 0.01).collect();
    let ids: Vec<u64> = (0..n as u64).map(|i| i * 3).collect();
    index.add(&ids, &vectors).expect("add");
    index.remove(&[3, 6, 9]).expect("remove");
    let path = fresh_path("hnsw");
    index.save(&path, b"").expect("save");
    std::fs::read(&path).expect("read")
}

fn hnsw_snapshots() -> &'static [Vec<u8>] {
    static BYTES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    BYTES.get_or_init(|| [Metric::Cosine, Metric::L2].into_iter().map(hnsw_snapshot).collect())
}

/// Writes `body` in a valid envelope with the magic and version of `original`.
fn rewrap(original: &[u8], body: &[u8], name: &str) -> PathBuf {
    let (magic, version, _) = envelope(original);
    let path = fresh_path(name);
    write_atomic(&path, &magic, version, body).expect("write");
    path
}

fn assert_refused(e: &Error, path: &Path) {
    assert!(matches!(e, Error::CorruptFile { .. }), "{}: {e}", path.display());
}

/// Uses a loaded keyword index every way a caller can.
fn use_keyword_index(mut index: KeywordIndex, path: &Path) {
    for q in ["support group", "the", "", "café", "kids camping lake"] {
        for group in [None, Some("a"), Some("zzz")] {
            let _ = index.search(q, 3, group);
            let _ = index.search_with(q, 1000, group, Neighbours { previous: 0.5, next: 0.25 });
        }
        let _ = index.needs_cleaning(q);
        index.clean_for(q);
    }
    for topic in ["family", "work", "nope"] {
        let _ = index.topic_ids(topic, None);
        let _ = index.topic_ids(topic, Some("a"));
    }
    let _ = (index.len(), index.memory_bytes(), index.group_len("a"), index.contains(10));
    let _ = index.add(&[500, 501], &["new support text", "another one"], Some(&["a", "new"]));
    let _ = index.remove(&[10, 11, 500]);
    index.compact();
    let _ = index.search("support", 5, None);
    index.save(path).expect("a loaded index saves");
    KeywordIndex::load(path).expect("and loads again");
}

fn use_hnsw_index(mut index: HnswIndex, path: &Path) {
    let dim = index.dim();
    let q: Vec<f32> = (0..dim * 2).map(|i| i as f32 * 0.1 - 0.3).collect();
    let ids = index.ids();
    for k in [1, 3, 50] {
        for ef in [None, Some(1), Some(200)] {
            let _ = index.search(&q, 2, k, ef, None);
            let filter = index.filter(&ids[..ids.len().min(5)]);
            let _ = index.search(&q, 2, k, ef, Some(&filter));
        }
        let _ = index.search_exact(&q, 2, k);
    }
    let _ = index.memory_usage_bytes();
    let fresh: Vec<f32> = (0..dim * 3).map(|i| (i % 5) as f32 - 2.0).collect();
    let _ = index.add(&[7, 1_000, 1_001], &fresh);
    let _ = index.remove(&ids[..ids.len().min(4)]);
    let _ = index.search(&q, 2, 1, None, None);
    index.save(path, b"").expect("a loaded index saves");
    HnswIndex::load(path).expect("and loads again");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(300)))]

    #[test]
    fn the_envelope_refuses_every_damaged_file(which in 0usize..3, muts in mutations(4)) {
        let original = match which {
            0 => keyword_snapshot().to_vec(),
            n => hnsw_snapshots()[n - 1].clone(),
        };
        let (magic, version, body) = envelope(&original);
        let damaged = mutate(&original, &muts);
        let path = fresh_path("envelope");
        std::fs::write(&path, &damaged).expect("write");
        match read_checked(&path, &magic, version) {
            // CRC32 catches every change of up to 32 bits; others may collide, rarely.
            Ok(got) => prop_assert!(damaged == original || got != body || muts.len() > 1),
            Err(e) => assert_refused(&e, &path),
        }
    }

    #[test]
    fn the_body_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256),
                                    ops in proptest::collection::vec(0u8..7, 0..32)) {
        let mut r = Reader::new(&bytes);
        for op in ops {
            let _ = match op {
                0 => r.u32().map(|_| ()),
                1 => r.u64().map(|_| ()),
                2 => r.f32().map(|_| ()),
                3 => r.len(8).map(|_| ()),
                4 => r.bytes().map(|_| ()),
                5 => r.u32s().map(|_| ()),
                _ => r.f32s().map(|_| ()),
            };
        }
        let _ = r.is_done();
    }

    #[test]
    fn a_mutated_keyword_snapshot_is_refused_or_usable(muts in mutations(6)) {
        let original = keyword_snapshot();
        let (_, _, body) = envelope(original);
        let path = rewrap(original, &mutate(&body, &muts), "kw-body");
        match KeywordIndex::load(&path) {
            Ok(index) => use_keyword_index(index, &path),
            Err(e) => assert_refused(&e, &path),
        }
    }

    #[test]
    fn a_mutated_hnsw_snapshot_is_refused_or_usable(which in 0usize..2, muts in mutations(6)) {
        let original = &hnsw_snapshots()[which];
        let (_, _, body) = envelope(original);
        let path = rewrap(original, &mutate(&body, &muts), "hnsw-body");
        match HnswIndex::load(&path) {
            Ok(index) => use_hnsw_index(index, &path),
            Err(e) => assert_refused(&e, &path),
        }
    }
}

#[test]
fn the_fixtures_load_and_survive_their_own_use() {
    let path = rewrap(keyword_snapshot(), &envelope(keyword_snapshot()).2, "kw-ok");
    use_keyword_index(KeywordIndex::load(&path).expect("load"), &path);
    for bytes in hnsw_snapshots() {
        let path = rewrap(bytes, &envelope(bytes).2, "hnsw-ok");
        use_hnsw_index(HnswIndex::load(&path).expect("load"), &path);
    }
    let _ = Scoring::parse("bm25");
}
