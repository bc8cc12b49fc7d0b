"""ferromem.core.HnswIndex: recall against brute force, filters, deletion, persistence, and bad
input that must leave the index unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ferromem import CorruptFileError, InvalidArgumentError, InvalidTypeError, UnknownIdError
from ferromem.core import HnswIndex

MISSING = np.uint64(2**64 - 1)


def clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // 20), dim))
    x = centres[rng.integers(0, len(centres), n)] + 0.35 * rng.standard_normal((n, dim))
    return x.astype(np.float32)


def distances(data: np.ndarray, queries: np.ndarray, metric: str) -> np.ndarray:
    d64, q64 = data.astype(np.float64), queries.astype(np.float64)
    if metric == "cosine":
        dn = d64 / np.linalg.norm(d64, axis=1, keepdims=True)
        qn = q64 / np.linalg.norm(q64, axis=1, keepdims=True)
        dist = 1.0 - qn @ dn.T
    elif metric == "ip":
        dist = 1.0 - q64 @ d64.T
    else:
        dist = (q64**2).sum(1)[:, None] + (d64**2).sum(1)[None, :] - 2 * q64 @ d64.T
    return dist


def brute(data: np.ndarray, queries: np.ndarray, metric: str, k: int) -> np.ndarray:
    return np.argsort(distances(data, queries, metric), axis=1, kind="stable")[:, :k]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 1200),
    dim=st.sampled_from([1, 3, 16, 37, 64]),
    metric=st.sampled_from(["cosine", "ip", "l2"]),
    seed=st.integers(0, 2**16),
)
def test_recall_against_brute_force(n: int, dim: int, metric: str, seed: int) -> None:
    # Under cosine, 1-d data is two clusters of exact duplicates (kept as graph-node aliases).
    data = clustered(n, dim, seed)
    if metric == "cosine":
        data[np.linalg.norm(data, axis=1) == 0] = 1.0
    index = HnswIndex(dim, metric, M=12, ef_construction=100, full_scan_bytes=0)
    ids = np.arange(n, dtype=np.uint64) * 3 + 7
    index.add(ids, data)
    assert len(index) == n
    rng = np.random.default_rng(seed + 1)
    queries = data[rng.integers(0, n, 20)] + 0.1 * rng.standard_normal((20, dim)).astype(np.float32)
    if metric == "cosine":
        queries[np.linalg.norm(queries, axis=1) == 0] = 1.0
    k = min(10, n)
    got, dists = index.search(queries, k=k, ef=120)
    assert got.shape == dists.shape == (20, k)
    assert got.dtype == np.uint64 and dists.dtype == np.float32
    assert np.all(np.diff(dists, axis=1) >= -1e-6)
    # A hit is any id as near as the true k-th neighbour (ties count; stored vectors are
    # quantised, so distances within ~1e-3 relative may swap).
    dist = distances(data, queries, metric)
    kth = np.sort(dist, axis=1)[:, k - 1]
    tol = 2e-3 * (1.0 + np.abs(dist).max(axis=1))
    pos = ((got - 7) // 3).astype(np.int64)
    assert np.all((got - 7) % 3 == 0) and np.all(pos < n)
    found = np.take_along_axis(dist, pos, axis=1)
    assert all(len(set(r)) == k for r in got.tolist()), "no id twice in a row"
    hits = (found <= kth[:, None] + tol[:, None]).sum()
    assert hits / got.size >= 0.9


def test_exact_duplicate_clusters_stay_reachable() -> None:
    # Regression: a duplicate group larger than ef_construction used to link only to itself
    # (as in hnswlib), so the graph split; duplicates are now aliases of one graph node.
    rng = np.random.default_rng(0)
    n, failures = 386, 0
    for _ in range(10):
        data = np.where(rng.random((n, 1)) < 0.4, 1.0, -1.0).astype(np.float32)
        index = HnswIndex(1, "cosine", M=12, ef_construction=100, full_scan_bytes=0)
        index.add(np.arange(n, dtype=np.uint64), data)
        _, dists = index.search(np.array([[0.5]], np.float32), k=10, ef=400)
        failures += int((dists[0] > 1).any())
    assert failures == 0


def test_distances_match_the_metric() -> None:
    a = np.array([[3.0, 4.0], [1.0, 0.0]], dtype=np.float32)
    q = np.array([1.0, 0.0], dtype=np.float32)
    for metric, want in [("cosine", [0.0, 0.4]), ("ip", [0.0, -2.0]), ("l2", [0.0, 20.0])]:
        index = HnswIndex(2, metric)
        index.add(np.array([1, 2], dtype=np.uint64), a)
        ids, d = index.search(q, k=2)
        assert ids.shape == (1, 2)
        assert d[0] == pytest.approx(sorted(want), abs=2e-3)


def test_filtered_search_allowed_ids_exact_when_narrow() -> None:
    data = clustered(3000, 16, 1)
    ids = np.arange(3000, dtype=np.uint64)
    index = HnswIndex(16, "l2", M=8, ef_construction=60, full_scan_bytes=0)
    index.add(ids, data)
    allowed = ids[::97]
    got, d = index.search(data[5], k=5, allowed_ids=allowed)
    truth = allowed[brute(data[allowed.astype(np.int64)], data[5:6], "l2", 5)[0]]
    assert got[0].tolist() == truth.tolist()
    got, d = index.search(data[5], k=3, allowed_ids=[10, 20, 123456])
    assert sorted(got[0, :2].tolist()) == [10, 20] and got[0, 2] == MISSING
    assert np.isinf(d[0, 2])
    even = ids[ids % 2 == 0]
    got, _ = index.search(data[:20], k=10, ef=64, allowed_ids=even)
    assert np.all(got % 2 == 0)


def test_remove_replace_and_slot_reuse() -> None:
    data = clustered(500, 8, 2)
    index = HnswIndex(8, "cosine", M=8, ef_construction=50, full_scan_bytes=0)
    index.add(np.arange(500, dtype=np.uint64), data)
    before = index.memory_usage_bytes()
    index.remove(np.arange(0, 500, 2, dtype=np.uint64))
    assert len(index) == 250 and 0 not in index and 1 in index
    got, _ = index.search(data, k=5, ef=50)
    assert np.all(got % 2 == 1)
    index.add(np.arange(1000, 1250, dtype=np.uint64), data[:250])
    assert len(index) == 500
    assert index.memory_usage_bytes() <= before * 1.1, "freed slots are reused"
    with pytest.raises(UnknownIdError, match="0"):
        index.remove([0, 1])
    assert 1 in index, "a failed remove removes nothing"
    # Duplicate ids replace: the later vector wins, the count does not grow.
    index.add([1], data[400:401])
    assert len(index) == 500
    ids, d = index.search(data[400], k=1)
    assert d[0, 0] < 1e-3 and ids[0, 0] == 1


def test_save_load_round_trip_and_corruption(tmp_path: Path) -> None:
    data = clustered(800, 24, 3)
    index = HnswIndex(24, "ip", M=8, ef_construction=40)
    index.add(np.arange(800, dtype=np.uint64) + 5, data)
    index.remove([5, 6, 7])
    path = tmp_path / "index.fmh"
    index.save(path)
    loaded = HnswIndex.load(str(path))
    assert (loaded.dim, loaded.metric, loaded.M, loaded.ef_construction) == (24, "ip", 8, 40)
    assert sorted(loaded.ids().tolist()) == sorted(index.ids().tolist())
    a, b = index.search(data[:10], k=5, ef=40), loaded.search(data[:10], k=5, ef=40)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    raw = path.read_bytes()
    for pos in (3, len(raw) // 2, len(raw) - 2):
        bad = bytearray(raw)
        bad[pos] ^= 0x01
        path.write_bytes(bytes(bad))
        with pytest.raises(CorruptFileError):
            HnswIndex.load(path)
    path.write_bytes(raw[:-9])
    with pytest.raises(CorruptFileError):
        HnswIndex.load(path)


def test_inputs_are_borrowed_or_converted() -> None:
    index = HnswIndex(4, "l2")
    f64 = np.eye(4)  # float64: converted
    index.add(np.array([1, 2, 3, 4], dtype=np.int64), f64)
    strided = np.eye(8, dtype=np.float32)[::2, ::2]  # non-contiguous: converted
    index.add([10, 11, 12, 13], strided)
    fortran = np.asfortranarray(np.eye(4, dtype=np.float32) * 2)
    index.add(range(20, 24), fortran)
    assert len(index) == 12
    ids, _ = index.search([0.0, 0.0, 0.0, 2.0], k=1)
    assert ids[0, 0] == 23
    ids, _ = index.search(np.eye(4, dtype=np.float32)[:, 1], k=1)
    assert ids.shape == (1, 1)


def snapshot(index: HnswIndex) -> tuple[list[int], bytes]:
    ids = sorted(index.ids().tolist())
    _, d = index.search(np.ones(4, dtype=np.float32), k=len(index))
    return ids, d.tobytes()


GOOD = np.eye(4, dtype=np.float32)


@pytest.mark.parametrize(
    ("ids", "vectors", "exc", "match"),
    [
        ([9], np.ones((1, 3), dtype=np.float32), InvalidArgumentError, "dim=4"),
        ([9, 10], np.ones((1, 4), dtype=np.float32), InvalidArgumentError, "rows"),
        ([9], np.array([[1.0, np.nan, 0, 0]], dtype=np.float32), InvalidArgumentError, "finite"),
        ([9], np.array([[1.0, 0, np.inf, 0]]), InvalidArgumentError, r"vectors\[0, 2\]"),
        ([9], np.zeros((1, 4), dtype=np.float32), InvalidArgumentError, "zero vector"),
        ([-1], GOOD[:1], InvalidArgumentError, "ids"),
        ([1.5], GOOD[:1], InvalidTypeError, "ids"),
        ("abc", GOOD[:1], InvalidTypeError, "ids"),
        ([9], np.array([["a", "b", "c", "d"]]), InvalidTypeError, "vectors"),
        ([9], np.ones((1, 1, 4), dtype=np.float32), InvalidArgumentError, "shape"),
    ],
)
def test_bad_add_leaves_the_index_unchanged(
    ids: object, vectors: object, exc: type[Exception], match: str
) -> None:
    index = HnswIndex(4, "cosine")
    index.add([1, 2, 3, 4], GOOD)
    before = snapshot(index)
    with pytest.raises(exc, match=match):
        index.add(ids, vectors)  # type: ignore[arg-type]
    assert snapshot(index) == before


def test_bad_search_arguments() -> None:
    index = HnswIndex(4, "cosine")
    index.add([1, 2], GOOD[:2])
    with pytest.raises(InvalidArgumentError, match="k=3"):
        index.search(GOOD[0], k=3)
    with pytest.raises(InvalidArgumentError, match="k"):
        index.search(GOOD[0], k=0)
    with pytest.raises(InvalidArgumentError, match="zero"):
        index.search(np.zeros(4, dtype=np.float32), k=1)
    with pytest.raises(InvalidArgumentError, match="queries"):
        index.search(np.ones(5, dtype=np.float32), k=1)
    with pytest.raises(InvalidArgumentError, match="finite"):
        index.search(np.array([np.nan, 1, 1, 1], dtype=np.float32), k=1)
    with pytest.raises(InvalidArgumentError, match="metric"):
        HnswIndex(4, "hamming")
    with pytest.raises(InvalidArgumentError, match="dim"):
        HnswIndex(0)
    with pytest.raises(InvalidArgumentError, match="M"):
        HnswIndex(4, M=1)
    assert len(index) == 2


def test_concurrent_searches_share_one_index() -> None:
    from concurrent.futures import ThreadPoolExecutor

    data = clustered(2000, 32, 4)
    index = HnswIndex(32, "cosine", M=8, ef_construction=40, full_scan_bytes=0)
    index.add(np.arange(2000, dtype=np.uint64), data)
    expected = index.search(data[:50], k=5, ef=50)[0]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: index.search(data[i], k=5, ef=50)[0][0], range(50)))
    assert np.array_equal(np.stack(results), expected)


def test_small_indexes_scan_exactly_and_find_outliers_beside_duplicates() -> None:
    rng = np.random.default_rng(5)
    base = rng.standard_normal(64).astype(np.float32)
    dupes = base + 0.001 * rng.standard_normal((2000, 64)).astype(np.float32)
    outlier = base + 0.8 * rng.standard_normal(64).astype(np.float32)
    data = np.vstack([dupes, outlier[None, :]])
    index = HnswIndex(64, "cosine")
    index.add(np.arange(2001, dtype=np.uint64), data)
    ids, _ = index.search(outlier, k=1)
    assert ids[0, 0] == 2000
