//! Exact duplicates: groups larger than `ef_construction` stay reachable, and removal,
//! replacement, scopes and snapshots keep every duplicate.

use super::*;

/// Two clusters of exact duplicates in 1-d under cosine (+1 and -1), `n` vectors in all.
fn two_clusters(n: usize, seed: u64) -> Vec<f32> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            if (x >> 33) % 10 < 4 {
                1.0
            } else {
                -1.0
            }
        })
        .collect()
}

fn graph(dim: usize, metric: Metric) -> HnswIndex {
    let mut index = HnswIndex::new(dim, metric, 12, 100).unwrap();
    index.set_full_scan_bytes(0);
    index
}

#[test]
fn duplicate_clusters_larger_than_ef_construction_stay_reachable() {
    for seed in 0..10 {
        let data = two_clusters(386, seed);
        let ids: Vec<u64> = (0..386).collect();
        let mut index = graph(1, Metric::Cosine);
        index.add(&ids, &data).unwrap();
        let plus = data.iter().filter(|v| **v > 0.0).count();
        for (q, want) in [(0.5f32, plus.min(10)), (-0.5, (386 - plus).min(10))] {
            let (got, d) = index.search(&[q], 1, 10, Some(400), None).unwrap();
            let near = d.iter().filter(|d| **d < 1.0).count();
            assert_eq!(near, want, "seed {seed}, query {q}: {got:?} {d:?}");
            let mut unique = got.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), 10, "no id twice");
        }
    }
}

#[test]
fn removing_a_graph_node_keeps_its_duplicates() {
    let data = vec![1.0f32; 300];
    let ids: Vec<u64> = (0..300).collect();
    let mut index = graph(1, Metric::L2);
    index.add(&[1000], &[50.0]).unwrap();
    index.add(&ids, &data).unwrap();
    // Remove them one by one, graph node first: every removal promotes an alias.
    for i in 0..ids.len() {
        let (got, d) = index.search(&[1.0], 1, 1, Some(10), None).unwrap();
        assert!(got[0] < 300 && index.contains(got[0]), "after {i} removals: {got:?}");
        assert_eq!(d[0], 0.0);
        index.remove(&[got[0]]).unwrap();
        assert_eq!(index.len(), 300 - i);
    }
    let (got, _) = index.search(&[1.0], 1, 1, Some(10), None).unwrap();
    assert_eq!(got, vec![1000]);
    // Readding the same vector after everything is gone works as before.
    index.add(&ids[..5], &data[..5]).unwrap();
    assert_eq!(index.search(&[1.0], 1, 5, Some(10), None).unwrap().0.len(), 5);
}

#[test]
fn duplicates_keep_their_groups_residuals_and_replacement() {
    let dim = 8;
    let base: Vec<f32> = (0..dim).map(|i| i as f32 - 3.5).collect();
    let n = 400;
    let data: Vec<f32> = (0..n).flat_map(|_| base.clone()).collect();
    let ids: Vec<u64> = (0..n as u64).collect();
    let names: Vec<&str> = (0..n).map(|i| if i % 2 == 0 { "even" } else { "odd" }).collect();
    let mut index = graph(dim, Metric::L2);
    index.add_grouped(&ids, &data, Some(&names)).unwrap();
    let odd = index.scope(None, Some(&["odd"]));
    let (got, _) = index.search(&base, 1, 10, Some(20), Some(&odd)).unwrap();
    assert!(got.iter().all(|id| id % 2 == 1), "{got:?}");
    // Removing the graph node keeps its group members apart.
    index.remove(&[0]).unwrap();
    assert_eq!(index.group_len("even"), 199);
    assert_eq!(index.group_len("odd"), 200);
    let even = index.scope(None, Some(&["even"]));
    let (got, _) = index.search(&base, 1, 10, Some(20), Some(&even)).unwrap();
    assert!(got.iter().all(|id| id % 2 == 0 && *id != 0), "{got:?}");
    for id in &got {
        assert_eq!(index.group_of(*id), Some("even"));
    }
    // Replacing a duplicate with another vector moves it out of the group of duplicates.
    let other: Vec<f32> = base.iter().map(|v| -v).collect();
    index.add(&[7], &other).unwrap();
    assert_eq!(index.search(&other, 1, 1, Some(20), None).unwrap().0, vec![7]);
    // A vector very near the duplicates is found as itself.
    let mut close = base.clone();
    close[2] += 0.02;
    index.add(&[5000], &close).unwrap();
    let (got, d) = index.search(&close, 1, 1, Some(20), None).unwrap();
    assert_eq!((got[0], d[0] < 1e-4), (5000, true));
    let v = index.get_vectors(&[5000]).unwrap();
    assert!((v[2] - close[2]).abs() < 1e-4);
}

#[test]
fn duplicates_survive_a_snapshot_and_damage_to_their_table_is_refused() {
    let data = two_clusters(386, 3);
    let ids: Vec<u64> = (0..386).collect();
    let mut index = graph(1, Metric::Cosine);
    index.add(&ids, &data).unwrap();
    let mut back = HnswIndex::from_bytes(&index.to_bytes(b"").unwrap()).unwrap();
    back.set_full_scan_bytes(0);
    for q in [0.5f32, -0.5] {
        assert_eq!(
            back.search(&[q], 1, 10, Some(400), None).unwrap(),
            index.search(&[q], 1, 10, Some(400), None).unwrap()
        );
    }
    back.remove(&ids[..100]).unwrap();
    back.add(&ids[..50], &data[..50]).unwrap();
    assert_eq!(back.len(), 336);
    let (_, d) = back.search(&[0.5], 1, 10, Some(400), None).unwrap();
    assert!(d.iter().all(|d| *d < 1.0));
    // An alias pointing at a slot with another code is refused.
    let bytes = index.to_bytes(b"").unwrap();
    let body = crate::snapshot::unwrap(&bytes, b"FMHNSW\0\x01", 3).unwrap().to_vec();
    let table_end = body.len() - 8;
    let table_at = table_end - 4 * 386;
    let plus = data.iter().position(|v| *v > 0.0).unwrap() as u32;
    let minus = data.iter().position(|v| *v < 0.0).unwrap() as u32;
    let mut bad = body.clone();
    let alias = (0..386u32)
        .find(|s| {
            let at = table_at + 4 * *s as usize;
            u32::from_le_bytes(body[at..at + 4].try_into().unwrap()) != NONE
        })
        .unwrap();
    let target = if data[alias as usize] > 0.0 { minus } else { plus };
    let at = table_at + 4 * alias as usize;
    bad[at..at + 4].copy_from_slice(&target.to_le_bytes());
    let err = HnswIndex::from_bytes(&crate::snapshot::wrap(b"FMHNSW\0\x01", 3, &bad)).unwrap_err();
    assert!(matches!(err, Error::CorruptData(_)), "{err}");
}
