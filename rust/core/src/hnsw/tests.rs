//! Recall against brute force, filters, deletion, replacement, persistence, bad input.

use super::*;

impl HnswIndex {
    /// The index with the small-index full scan off, so that tests exercise the graph.
    fn graph_only(mut self) -> Self {
        self.set_full_scan_bytes(0);
        self
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn gauss(&mut self) -> f32 {
        (0..6).map(|_| self.next()).sum::<f32>() * 0.7
    }
}

/// Gaussian clusters around `n / 50 + 1` centres, as in BENCHMARKS.md.
pub(super) fn clustered(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng(seed);
    let centres: Vec<f32> = (0..(n / 50 + 1) * dim).map(|_| rng.gauss()).collect();
    let mut out = Vec::with_capacity(n * dim);
    for i in 0..n {
        let c = (i * 7919) % (n / 50 + 1);
        for d in 0..dim {
            out.push(centres[c * dim + d] + 0.35 * rng.gauss());
        }
    }
    out
}

/// Queries from the same distribution as `clustered(n, dim, seed)`: its rows, jittered.
pub(super) fn near(data: &[f32], dim: usize, rows: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng(seed);
    let n = data.len() / dim;
    (0..rows)
        .flat_map(|r| {
            let at = (r * 7 + 3) % n * dim;
            data[at..at + dim].to_vec()
        })
        .map(|x| x + 0.2 * rng.gauss())
        .collect()
}

fn recall(index: &HnswIndex, queries: &[f32], rows: usize, k: usize, ef: usize) -> f64 {
    let (got, _) = index.search(queries, rows, k, Some(ef), None).unwrap();
    let (truth, _) = index.search_exact(queries, rows, k).unwrap();
    let mut hit = 0;
    for r in 0..rows {
        let t = &truth[r * k..(r + 1) * k];
        hit += got[r * k..(r + 1) * k].iter().filter(|g| t.contains(g)).count();
    }
    hit as f64 / (rows * k) as f64
}

/// Brute force in f64 over the original vectors: the ground truth the half-float storage is
/// held to.
fn brute(data: &[f32], dim: usize, q: &[f32], metric: Metric, k: usize) -> Vec<u64> {
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let mut d: Vec<(f64, u64)> = data
        .chunks_exact(dim)
        .enumerate()
        .map(|(i, v)| {
            let dot: f64 = v.iter().zip(q).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
            let dist = match metric {
                Metric::Cosine => 1.0 - dot / (norm(v) * norm(q)),
                Metric::InnerProduct => 1.0 - dot,
                Metric::L2 => v.iter().zip(q).map(|(a, b)| f64::from(a - b).powi(2)).sum(),
            };
            (dist, i as u64)
        })
        .collect();
    d.sort_by(|a, b| a.0.total_cmp(&b.0));
    d.into_iter().take(k).map(|x| x.1).collect()
}

#[test]
fn recall_against_f64_brute_force_for_every_metric() {
    let (n, dim, k) = (3000, 48, 10);
    let data = clustered(n, dim, 1);
    let queries = near(&data, dim, 50, 99);
    let ids: Vec<u64> = (0..n as u64).collect();
    for metric in [Metric::Cosine, Metric::InnerProduct, Metric::L2] {
        let mut index = HnswIndex::new(dim, metric, 16, 100).unwrap().graph_only();
        index.add(&ids, &data).unwrap();
        assert_eq!(index.len(), n);
        let (got, dists) = index.search(&queries, 50, k, Some(100), None).unwrap();
        let mut hit = 0;
        for (r, q) in queries.chunks_exact(dim).enumerate() {
            let truth = brute(&data, dim, q, metric, k);
            hit += got[r * k..(r + 1) * k].iter().filter(|g| truth.contains(g)).count();
            let row = &dists[r * k..(r + 1) * k];
            assert!(row.windows(2).all(|w| w[0] <= w[1]), "{metric:?}: unsorted {row:?}");
        }
        let rec = hit as f64 / (50 * k) as f64;
        assert!(rec >= 0.95, "{metric:?}: recall {rec}");
    }
}

#[test]
fn every_kernel_set_builds_a_good_graph() {
    let (n, dim) = (1500, 40);
    let data = clustered(n, dim, 3);
    let queries = near(&data, dim, 30, 4);
    let ids: Vec<u64> = (0..n as u64).collect();
    for kernels in Kernels::available() {
        let mut index =
            HnswIndex::new(dim, Metric::Cosine, 8, 64).unwrap().graph_only().with_kernels(kernels);
        index.add(&ids, &data).unwrap();
        let rec = recall(&index, &queries, 30, 10, 64);
        assert!(rec >= 0.95, "{kernels:?}: recall {rec}");
    }
}

#[test]
fn incremental_single_inserts_match_batch_quality() {
    let (n, dim) = (800, 24);
    let data = clustered(n, dim, 5);
    let mut index = HnswIndex::new(dim, Metric::L2, 12, 80).unwrap().graph_only();
    for (i, row) in data.chunks_exact(dim).enumerate() {
        index.add(&[i as u64 * 3], row).unwrap();
    }
    assert!(recall(&index, &near(&data, dim, 20, 6), 20, 5, 50) >= 0.95);
}

/// faiss keeps up to 2M heuristic links for a new node on level 0, hnswlib only M (its list
/// then grows by backlinks). The richer start gave faiss the recall of twice the ef at 1M.
#[test]
fn a_new_node_keeps_up_to_twice_m_links_on_level_zero() {
    let (n, dim, m) = (400, 64, 4);
    // Independent Gaussian rows are near-orthogonal, so the heuristic rejects few of them.
    let mut rng = Rng(11);
    let data: Vec<f32> = (0..(n + 1) * dim).map(|_| rng.gauss()).collect();
    let mut index = HnswIndex::new(dim, Metric::L2, m, 64).unwrap().graph_only();
    let ids: Vec<u64> = (0..n as u64).collect();
    index.add(&ids, &data[..n * dim]).unwrap();
    index.add(&[n as u64], &data[n * dim..]).unwrap();
    let mut links = Vec::new();
    index.neighbours(index.slot_of[&(n as u64)], 0, &mut links);
    assert!(links.len() > m && links.len() <= 2 * m, "{} links", links.len());
}

#[test]
fn narrow_filters_are_exact_and_broad_ones_keep_recall() {
    let (n, dim, k) = (4000, 32, 10);
    let data = clustered(n, dim, 7);
    let ids: Vec<u64> = (0..n as u64).map(|i| i + 1000).collect();
    let mut index = HnswIndex::new(dim, Metric::Cosine, 16, 100).unwrap().graph_only();
    index.add(&ids, &data).unwrap();
    let q = &clustered(1, dim, 8)[..];
    // 30 allowed ids: exact search over them, padded past what exists.
    let allowed: Vec<u64> = ids.iter().copied().step_by(133).collect();
    let f = index.filter(&allowed);
    let (got, d) = index.search(q, 1, k, None, Some(&f)).unwrap();
    let mut truth: Vec<(f32, u64)> = allowed
        .iter()
        .map(|id| {
            let (_, dd) = index.search_exact(q, 1, n).unwrap();
            let (all, _) = index.search_exact(q, 1, n).unwrap();
            let pos = all.iter().position(|x| x == id).unwrap();
            (dd[pos], *id)
        })
        .collect();
    truth.sort_by(|a, b| a.0.total_cmp(&b.0));
    let want: Vec<u64> = truth.iter().take(k).map(|t| t.1).collect();
    assert_eq!(&got[..], &want[..]);
    assert!(d.iter().all(|x| x.is_finite()));
    let small = index.filter(&[ids[5], ids[9], 424242]);
    let (got, d) = index.search(q, 1, 4, None, Some(&small)).unwrap();
    assert_eq!(&got[2..], &[u64::MAX, u64::MAX]);
    assert!(d[2].is_infinite());
    assert!(got[..2].contains(&ids[5]) && got[..2].contains(&ids[9]));
    // Half the ids allowed: a graph search that returns only allowed ids.
    let half: Vec<u64> = ids.iter().copied().filter(|i| i % 2 == 0).collect();
    let f = index.filter(&half);
    let (got, _) = index.search(q, 1, k, Some(64), Some(&f)).unwrap();
    assert!(got.iter().all(|g| g % 2 == 0));
}

#[test]
fn removal_hides_ids_and_frees_slots_for_reuse() {
    let (n, dim) = (1200, 16);
    let data = clustered(n, dim, 9);
    let ids: Vec<u64> = (0..n as u64).collect();
    let mut index = HnswIndex::new(dim, Metric::L2, 8, 60).unwrap().graph_only();
    index.add(&ids, &data).unwrap();
    let slots = index.slots();
    let gone: Vec<u64> = (0..n as u64).step_by(2).collect();
    index.remove(&gone).unwrap();
    assert_eq!(index.len(), n / 2);
    assert!(matches!(index.remove(&[0, 1]), Err(Error::UnknownIds(v)) if v == vec![0]));
    assert!(index.contains(1), "a failed remove removes nothing");
    let (got, _) = index.search(&data, n, 5, Some(40), None).unwrap();
    assert!(got.iter().all(|g| g % 2 == 1));
    // Re-adding fills freed slots rather than growing.
    let new_ids: Vec<u64> = (0..n as u64 / 2).map(|i| 10_000 + i).collect();
    // (Fresh vectors: re-adding copies of live rows would create exact ties.)
    let fresh = clustered(n / 2, dim, 13);
    index.add(&new_ids, &fresh).unwrap();
    assert!(index.slots() <= slots + 1, "{} slots after reuse, {slots} before", index.slots());
    assert_eq!(index.len(), n);
    // Reused slots keep their stale inbound links (no neighbourhood repair yet), so recall
    // after replacing half the index sits a little below a fresh build's.
    let rec = recall(&index, &near(&data, dim, 50, 10), 50, 5, 60);
    assert!(rec >= 0.85, "recall {rec}");
    // Removing everything and adding again starts a fresh graph.
    index.remove(&index.ids()).unwrap();
    assert!(index.is_empty());
    index.add(&[7], &data[..dim]).unwrap();
    let (got, _) = index.search(&data[..dim], 1, 1, None, None).unwrap();
    assert_eq!(got, vec![7]);
}

#[test]
fn duplicate_ids_replace_and_last_row_wins() {
    let dim = 8;
    let mut index = HnswIndex::new(dim, Metric::L2, 4, 20).unwrap().graph_only();
    let a = vec![1.0f32; dim];
    let b = vec![-1.0f32; dim];
    let both: Vec<f32> = a.iter().chain(&b).copied().collect();
    index.add(&[5, 5], &both).unwrap();
    assert_eq!(index.len(), 1);
    let (_, d) = index.search(&b, 1, 1, None, None).unwrap();
    assert!(d[0] < 1e-6);
    index.add(&[5], &a).unwrap();
    assert_eq!(index.len(), 1);
    let (got, d) = index.search(&a, 1, 1, None, None).unwrap();
    assert_eq!((got[0], d[0] < 1e-6), (5, true));
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let dim = 4;
    let mut index = HnswIndex::new(dim, Metric::Cosine, 4, 20).unwrap().graph_only();
    index.add(&[1, 2], &[1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]).unwrap();
    let cases: Vec<(Vec<u64>, Vec<f32>, &str)> = vec![
        (vec![3], vec![1.0, 2.0, 3.0], "dim"),
        (vec![3], vec![1.0, f32::NAN, 0.0, 0.0], "finite"),
        (vec![3, 4], vec![1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, f32::INFINITY], "vectors[1, 3]"),
        (vec![1], vec![0.0; 4], "zero vector"),
    ];
    for (ids, v, msg) in cases {
        let err = index.add(&ids, &v).unwrap_err().to_string();
        assert!(err.contains(msg), "{err} lacks {msg}");
        assert_eq!(index.len(), 2);
        assert_eq!(index.ids(), vec![1, 2]);
    }
    let q = [1.0, 0.0, 0.0, 0.0];
    assert!(index.search(&q, 1, 3, None, None).unwrap_err().to_string().contains("k=3"));
    assert!(index.search(&q, 1, 0, None, None).is_err());
    assert!(index.search(&[0.0; 4], 1, 1, None, None).unwrap_err().to_string().contains("zero"));
    assert!(HnswIndex::new(0, Metric::L2, 16, 200).unwrap_err().to_string().contains("dim"));
    assert!(HnswIndex::new(4, Metric::L2, 1, 200).unwrap_err().to_string().contains("M"));
}

#[test]
fn save_load_round_trips_and_damage_is_refused() {
    let (n, dim) = (600, 20);
    let data = clustered(n, dim, 11);
    let ids: Vec<u64> = (0..n as u64).map(|i| i * 11).collect();
    let mut index = HnswIndex::new(dim, Metric::InnerProduct, 8, 40).unwrap().graph_only();
    index.add(&ids, &data).unwrap();
    index.remove(&ids[..50]).unwrap();
    index.add(&[999_999], &data[..dim]).unwrap();
    let dir = std::env::temp_dir().join(format!("ferromem-hnsw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("index.fmh");
    index.save(&path, b"").unwrap();
    let loaded = HnswIndex::load(&path).unwrap().graph_only();
    assert_eq!(loaded.len(), index.len());
    assert_eq!(loaded.ids(), index.ids());
    let queries = near(&data, dim, 10, 12);
    assert_eq!(
        loaded.search(&queries, 10, 5, Some(30), None).unwrap(),
        index.search(&queries, 10, 5, Some(30), None).unwrap()
    );
    let good = std::fs::read(&path).unwrap();
    for i in (0..good.len()).step_by(good.len() / 40 + 1) {
        let mut bad = good.clone();
        bad[i] ^= 0x10;
        std::fs::write(&path, &bad).unwrap();
        assert!(matches!(HnswIndex::load(&path), Err(Error::CorruptFile { .. })), "byte {i}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn huge_page_advice_covers_only_whole_pages_inside_the_buffer() {
    const HUGE: usize = 2 << 20;
    assert_eq!(storage::huge_range(HUGE, HUGE), Some((HUGE, HUGE)));
    assert_eq!(storage::huge_range(HUGE + 64, 3 * HUGE), Some((2 * HUGE, 2 * HUGE)));
    assert_eq!(storage::huge_range(HUGE + 64, 2 * HUGE), Some((2 * HUGE, HUGE)));
    assert_eq!(storage::huge_range(HUGE + 64, 2 * HUGE - 128), None);
    assert_eq!(storage::huge_range(64, 1000), None);
    assert_eq!(storage::huge_range(usize::MAX - 10, 100), None);
}

/// Where the system leaves huge pages to the program (`madvise` mode), a big index asks for
/// them: its node blocks lie in a mapping the kernel may back with 2 MiB pages.
#[cfg(target_os = "linux")]
#[test]
fn a_big_index_asks_for_huge_pages() {
    let mode = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled");
    if !mode.is_ok_and(|m| m.contains("[madvise]")) {
        return; // "always" needs no advice and "never" ignores it
    }
    // 10,000 blocks of 512 bytes: 5 MB, whole 2 MiB pages inside.
    let (n, dim) = (10_000, 384);
    let data = clustered(n, dim, 1);
    let ids: Vec<u64> = (0..n as u64).collect();
    let mut index = HnswIndex::new(dim, Metric::Cosine, 8, 16).unwrap().graph_only();
    index.add(&ids, &data).unwrap();
    let loaded = HnswIndex::from_bytes(&index.to_bytes(&[]).unwrap()).unwrap();
    // Batches under EXACT_RESERVE_MIN grow the buffers by doubling, slot by slot.
    let mut grown = HnswIndex::new(dim, Metric::Cosine, 8, 16).unwrap().graph_only();
    for (i, rows) in data.chunks(1000 * dim).enumerate() {
        grown.add(&ids[i * 1000..i * 1000 + rows.len() / dim], rows).unwrap();
    }
    for (what, idx) in [("built", &index), ("loaded", &loaded), ("grown", &grown)] {
        let nodes = &idx.nodes;
        let (at, _) = storage::huge_range(nodes.as_ptr() as usize, nodes.len() * 64).unwrap();
        assert_eq!(thp_eligible(at), Some(true), "{what}");
    }
}

/// `THPeligible` of the mapping holding `addr`, from /proc/self/smaps.
#[cfg(target_os = "linux")]
fn thp_eligible(addr: usize) -> Option<bool> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
    let mut inside = false;
    for line in smaps.lines() {
        let head = line.split_whitespace().next().unwrap_or("");
        if let Some((lo, hi)) = head.split_once('-') {
            if let (Ok(lo), Ok(hi)) = (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
            {
                inside = (lo..hi).contains(&addr);
                continue;
            }
        }
        if inside {
            if let Some(v) = line.strip_prefix("THPeligible:") {
                return Some(v.trim() == "1");
            }
        }
    }
    None
}
