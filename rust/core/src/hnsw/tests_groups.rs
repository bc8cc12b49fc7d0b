//! Groups (sessions) inside the index: scoped searches, membership through removal and
//! replacement, bad input.

use super::tests::{clustered, near};
use super::*;

const DIM: usize = 24;

/// 6,000 vectors: "big" (3,000, searched on the graph), "mid" (2,950), "small" (50, searched
/// exactly), ids 0.. in that order.
fn grouped() -> (HnswIndex, Vec<f32>) {
    let data = clustered(6000, DIM, 21);
    let ids: Vec<u64> = (0..6000).collect();
    let names: Vec<&str> = (0..6000)
        .map(|i| match i {
            0..3000 => "big",
            3000..5950 => "mid",
            _ => "small",
        })
        .collect();
    let mut index = HnswIndex::new(DIM, Metric::Cosine, 16, 100).unwrap();
    index.set_full_scan_bytes(0);
    index.add_grouped(&ids, &data, Some(&names)).unwrap();
    (index, data)
}

/// The exact top `k` of `q` among `allowed` ids, by the index's own exact search.
fn truth(index: &HnswIndex, q: &[f32], k: usize, allowed: impl Fn(u64) -> bool) -> Vec<u64> {
    let (all, _) = index.search_exact(q, 1, index.len()).unwrap();
    all.into_iter().filter(|id| allowed(*id)).take(k).collect()
}

#[test]
fn a_small_group_is_searched_exactly_and_a_big_one_on_the_graph() {
    let (index, data) = grouped();
    assert_eq!((index.group_len("big"), index.group_len("small")), (3000, 50));
    assert_eq!(index.group_len("nobody"), 0);
    let queries = near(&data, DIM, 20, 5);
    let small = index.scope(None, Some(&["small"]));
    assert!(small.exact_slots().is_some_and(|s| s.len() == 50));
    let big = index.scope(None, Some(&["big"]));
    assert!(big.exact_slots().is_none(), "3,000 of 6,000 is searched on the graph");
    let mut hits = 0;
    for q in queries.chunks_exact(DIM) {
        let (got, _) = index.search(q, 1, 10, Some(64), Some(&small)).unwrap();
        assert_eq!(got, truth(&index, q, 10, |id| id >= 5950));
        let (got, _) = index.search(q, 1, 10, Some(64), Some(&big)).unwrap();
        assert!(got.iter().all(|id| *id < 3000), "{got:?}");
        let want = truth(&index, q, 10, |id| id < 3000);
        hits += got.iter().filter(|g| want.contains(g)).count();
    }
    assert!(hits as f64 / 200.0 >= 0.9, "recall in the big group {}", hits as f64 / 200.0);
}

#[test]
fn a_union_of_groups_and_ids_within_groups() {
    let (index, data) = grouped();
    let q = &data[..DIM];
    let both = index.scope(None, Some(&["small", "mid", "unknown"]));
    assert_eq!(both.len(), 3000);
    let (got, _) = index.search(q, 1, 10, Some(100), Some(&both)).unwrap();
    assert!(got.iter().all(|id| *id >= 3000), "{got:?}");
    // Ids and groups intersect: only the allowed ids that are in the group.
    let ids: Vec<u64> = (0..6000).step_by(7).collect();
    let f = index.scope(Some(&ids), Some(&["small"]));
    let (got, _) = index.search(q, 1, 5, None, Some(&f)).unwrap();
    assert_eq!(got, truth(&index, q, 5, |id| id >= 5950 && id % 7 == 0));
    // Nothing in scope: every row padded.
    let none = index.scope(None, Some(&["unknown"]));
    assert!(none.is_empty());
    let (got, d) = index.search(q, 1, 3, None, Some(&none)).unwrap();
    assert_eq!(got, vec![u64::MAX; 3]);
    assert!(d.iter().all(|x| x.is_infinite()));
}

#[test]
fn membership_follows_removal_and_replacement() {
    let (mut index, data) = grouped();
    index.remove(&[5950, 5951]).unwrap();
    assert_eq!(index.group_len("small"), 48);
    // Re-adding an id under another group moves it.
    index.add_grouped(&[5952], &data[..DIM], Some(&["mid"])).unwrap();
    assert_eq!((index.group_len("small"), index.group_len("mid")), (47, 2951));
    assert_eq!(index.group_of(5952), Some("mid"));
    // Re-adding without groups leaves it in none.
    index.add(&[5953], &data[DIM..2 * DIM]).unwrap();
    assert_eq!((index.group_len("small"), index.group_of(5953)), (46, None));
    let f = index.scope(None, Some(&["small"]));
    let (got, _) = index.search(&data[..DIM], 1, 46, None, Some(&f)).unwrap();
    let mut got = got;
    got.sort_unstable();
    assert_eq!(got, (5954..6000).collect::<Vec<u64>>());
    // Freed slots are reused by the next group's rows.
    index.add_grouped(&[9000, 9001], &data[..2 * DIM], Some(&["new", "new"])).unwrap();
    assert_eq!(index.group_len("new"), 2);
    assert!(index.group_names().contains(&"new".to_string()));
}

#[test]
fn bad_groups_are_refused_and_change_nothing() {
    let (mut index, data) = grouped();
    let err = index.add_grouped(&[1, 2], &data[..2 * DIM], Some(&["a"])).unwrap_err();
    assert!(err.to_string().contains("groups has 1"), "{err}");
    let long = "x".repeat(groups::MAX_GROUP_NAME + 1);
    let err = index.add_grouped(&[7], &data[..DIM], Some(&[long.as_str()])).unwrap_err();
    assert!(err.to_string().contains("groups[0]"), "{err}");
    assert_eq!((index.len(), index.group_len("big")), (6000, 3000));
    assert_eq!(index.group_of(7), Some("big"));
}

#[test]
fn groups_survive_a_round_trip() {
    let (mut index, data) = grouped();
    index.remove(&[5999]).unwrap();
    let mut back = HnswIndex::from_bytes(&index.to_bytes(b"").unwrap()).unwrap();
    // The scan threshold is a runtime setting, not persisted: without this the loaded index
    // scans exactly while the original walks its graph, and the two may differ by a near tie.
    back.set_full_scan_bytes(0);
    assert_eq!(back.group_len("small"), 49);
    assert_eq!(back.group_of(10), Some("big"));
    let q = &data[DIM..2 * DIM];
    for g in ["small", "big"] {
        let (a, b) = (index.scope(None, Some(&[g])), back.scope(None, Some(&[g])));
        assert_eq!(
            index.search(q, 1, 10, Some(50), Some(&a)).unwrap(),
            back.search(q, 1, 10, Some(50), Some(&b)).unwrap()
        );
    }
}
