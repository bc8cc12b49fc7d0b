//! Snapshots: round trips with caller bytes, and damage that must be refused without a panic,
//! an abort or a huge allocation (truncations, bit flips, and crafted values re-sealed with a
//! valid checksum so that the body's own checks are exercised).

use super::tests::{clustered, near};
use super::*;
use crate::snapshot::{unwrap, wrap};

const MAGIC: &[u8; 8] = b"FMHNSW\0\x01";
const VERSION: u32 = 3;

fn sample() -> (HnswIndex, Vec<f32>) {
    let (n, dim) = (300, 20);
    let data = clustered(n, dim, 31);
    let ids: Vec<u64> = (0..n as u64).map(|i| i * 3 + 1).collect();
    let names: Vec<&str> = (0..n).map(|i| if i % 3 == 0 { "a" } else { "b" }).collect();
    let mut index = HnswIndex::new(dim, Metric::L2, 6, 30).unwrap();
    index.set_full_scan_bytes(0);
    index.add_grouped(&ids, &data, Some(&names)).unwrap();
    index.remove(&ids[..20]).unwrap();
    (index, data)
}

#[test]
fn bytes_round_trip_with_meta() {
    let (index, data) = sample();
    assert_eq!(index.meta(), b"");
    let bytes = index.to_bytes(b"store version 42").unwrap();
    assert_eq!(index.meta(), b"store version 42");
    let mut back = HnswIndex::from_bytes(&bytes).unwrap();
    back.set_full_scan_bytes(0);
    assert_eq!(back.meta(), b"store version 42");
    assert_eq!(back.ids(), index.ids());
    let q = near(&data, 20, 8, 3);
    assert_eq!(
        back.search(&q, 8, 5, Some(40), None).unwrap(),
        index.search(&q, 8, 5, Some(40), None).unwrap()
    );
    assert_eq!(back.get_vectors(&[61, 100]).unwrap(), index.get_vectors(&[61, 100]).unwrap());
    // Saving again without meta stores none.
    let again = HnswIndex::from_bytes(&back.to_bytes(b"").unwrap()).unwrap();
    assert_eq!(again.meta(), b"");
}

#[test]
fn meta_over_one_mib_is_refused() {
    let (index, _) = sample();
    let big = vec![0u8; MAX_META_BYTES + 1];
    let err = index.to_bytes(&big).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)) && err.to_string().contains("meta"), "{err}");
    assert_eq!(index.meta(), b"", "a refused save changes nothing");
    assert!(index.to_bytes(&big[1..]).is_ok());
}

#[test]
fn files_round_trip_and_name_the_path_when_damaged() {
    let (index, _) = sample();
    let dir = std::env::temp_dir().join(format!("ferromem-hnsw-persist-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("i.fmh");
    index.save(&path, b"m").unwrap();
    assert_eq!(HnswIndex::load(&path).unwrap().meta(), b"m");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.truncate(bytes.len() - 3);
    std::fs::write(&path, &bytes).unwrap();
    match HnswIndex::load(&path) {
        Err(Error::CorruptFile { path: p, .. }) => assert_eq!(p, path),
        other => panic!("expected CorruptFile, got {other:?}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Loads `bytes` and, if they load, uses the index: neither may panic.
fn exercise(bytes: &[u8]) -> bool {
    match HnswIndex::from_bytes(bytes) {
        Ok(mut index) => {
            index.set_full_scan_bytes(0);
            let q = vec![0.25f32; index.dim()];
            if !index.is_empty() {
                let k = index.len().min(3);
                let _ = index.search(&q, 1, k, Some(16), None).unwrap();
                let f = index.scope(None, Some(&["a"]));
                let _ = index.search(&q, 1, k, Some(16), Some(&f)).unwrap();
                let _ = index.get_vectors(&index.ids()).unwrap();
            }
            index.add(&[u64::MAX - 1], &q).unwrap();
            true
        }
        Err(Error::CorruptData(_)) => false,
        Err(e) => panic!("damage must be CorruptData, got {e}"),
    }
}

#[test]
fn truncations_and_bit_flips_are_refused() {
    let (index, _) = sample();
    let good = index.to_bytes(b"meta").unwrap();
    for cut in (0..good.len()).step_by(good.len() / 200 + 1) {
        assert!(!exercise(&good[..cut]), "truncation to {cut} bytes was accepted");
    }
    for i in (0..good.len()).step_by(good.len() / 300 + 1) {
        let mut bad = good.clone();
        bad[i] ^= 1 << (i % 8);
        assert!(!exercise(&bad), "flip at byte {i} was accepted");
    }
}

#[test]
fn crafted_values_with_a_valid_checksum_never_panic() {
    let (index, _) = sample();
    let body = unwrap(&index.to_bytes(b"meta").unwrap(), MAGIC, VERSION).unwrap().to_vec();
    let values = [0u32, 1, 2, 0x7f, 0x80, 0xff, 0x7c00, 0x8000_0000, 0x7fff_ffff, u32::MAX];
    let mut accepted = 0;
    let mut seed = 0x9E37_79B9u64;
    for _ in 0..3000 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let at = (seed >> 33) as usize % (body.len() - 4);
        let v = values[(seed >> 20) as usize % values.len()];
        let mut bad = body.clone();
        let width = if seed & 1 == 0 { 4 } else { 1 };
        bad[at..at + width].copy_from_slice(&v.to_le_bytes()[..width]);
        accepted += exercise(&wrap(MAGIC, VERSION, &bad)) as usize;
    }
    // Many overwrites land in values any index may hold (a link to another node, a code):
    // those load and search; the rest are refused. Neither panics.
    assert!(accepted > 0 && accepted < 3000, "{accepted} of 3000 loaded");
}

#[test]
fn crafted_counts_are_refused_before_allocating() {
    let (index, _) = sample();
    let body = unwrap(&index.to_bytes(b"").unwrap(), MAGIC, VERSION).unwrap().to_vec();
    // Header: dim, metric, m, ef_construction (u32 each), rng (u64), entry node and level
    // (u32 each), then the slot count (u64) at byte 32, then the ids' length prefix at 40.
    let patch = |at: usize, v: &[u8]| {
        let mut b = body.clone();
        b[at..at + v.len()].copy_from_slice(v);
        wrap(MAGIC, VERSION, &b)
    };
    for (at, v, why) in [
        (0, 70_000u32.to_le_bytes().to_vec(), "dim"),
        (0, 0u32.to_le_bytes().to_vec(), "dim"),
        (4, 9u32.to_le_bytes().to_vec(), "metric"),
        (8, 1u32.to_le_bytes().to_vec(), "M"),
        (24, u32::MAX.to_le_bytes().to_vec(), "entry"),
        (32, u64::MAX.to_le_bytes().to_vec(), "slot count"),
        (32, (1u64 << 40).to_le_bytes().to_vec(), "slot count"),
        (40, u64::MAX.to_le_bytes().to_vec(), "length"),
    ] {
        let err = HnswIndex::from_bytes(&patch(at, &v)).unwrap_err();
        assert!(matches!(err, Error::CorruptData(_)), "{why}: {err}");
    }
}

#[test]
fn other_versions_and_magics_are_named() {
    let (index, _) = sample();
    let body = unwrap(&index.to_bytes(b"").unwrap(), MAGIC, VERSION).unwrap().to_vec();
    let err = HnswIndex::from_bytes(&wrap(MAGIC, 1, &body)).unwrap_err().to_string();
    assert!(err.contains("version 1"), "{err}");
    let err = HnswIndex::from_bytes(&wrap(b"FMKWIX\0\x01", VERSION, &body)).unwrap_err();
    assert!(err.to_string().contains("magic"), "{err}");
}

#[test]
fn version_2_snapshots_still_load() {
    let (index, data) = sample();
    let body = unwrap(&index.to_bytes(b"m").unwrap(), MAGIC, VERSION).unwrap().to_vec();
    // Version 2 is version 3 without the duplicates' table (an empty list: its length only).
    let meta_at = body.len() - (8 + 1);
    let empty_table = 0u64.to_le_bytes();
    assert_eq!(&body[meta_at - 8..meta_at], &empty_table);
    let v2 = [&body[..meta_at - 8], &body[meta_at..]].concat();
    let back = HnswIndex::from_bytes(&wrap(MAGIC, 2, &v2)).unwrap();
    assert_eq!(back.ids(), index.ids());
    assert_eq!(back.meta(), b"m");
    let q = near(&data, 20, 5, 3);
    assert_eq!(
        back.search(&q, 5, 4, Some(40), None).unwrap(),
        index.search(&q, 5, 4, Some(40), None).unwrap()
    );
}
