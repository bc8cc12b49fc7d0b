"""HNSW side by side with hnswlib: build time on 2 threads, single-query QPS on one thread at
each ef with recall@10 against exact search, and index memory (BENCHMARKS.md W4, W5).

Data: Gaussian clusters (N/100 centres, noise 0.35, L2-normalised), 100,000 x 384 float32 by
default, 1,000 queries from the same distribution, exact top-10 by brute force. ``--n`` runs
smaller.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

os.environ.setdefault("RAYON_NUM_THREADS", "2")

import numpy as np

from ferromem.core import HnswIndex

from locomo import add_data_argument

EFS = (10, 16, 24, 32, 48, 64, 96, 128, 200)
K = 10


def clustered(n: int, q: int, dim: int, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """``n`` data and ``q`` query vectors around ``n // 100`` Gaussian centres, L2-normalised."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // 100), dim), dtype=np.float32)

    def draw(m: int) -> np.ndarray:
        x = centres[rng.integers(0, len(centres), m)]
        x = x + 0.35 * rng.standard_normal((m, dim), dtype=np.float32)
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

    return draw(n), draw(q)


def exact_top(data: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact cosine top-k ids by brute force, in blocks."""
    out = []
    for i in range(0, len(queries), 100):
        sims = queries[i : i + 100] @ data.T
        top = np.argpartition(-sims, k, axis=1)[:, :k]
        out.append(top)
    return np.concatenate(out)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len(set(f.tolist()) & set(t.tolist())) for f, t in zip(found, truth, strict=True))
    return hits / truth.size


def sweep(libs: dict, queries: np.ndarray, truth: np.ndarray, rounds: int) -> dict:
    """QPS (one query per call, one thread) and recall@10 at each ef for each library.

    The queries run in chunks of 50, the libraries alternating chunk by chunk, and each chunk's
    best time over ``rounds`` counts: load from other processes on this shared machine then
    hits both alike instead of whichever happened to run during a burst."""
    rows: dict = {name: {} for name in libs}
    chunks = [(i, queries[i : i + 50]) for i in range(0, len(queries), 50)]
    for ef in EFS:
        for _, set_ef in libs.values():
            set_ef(ef)
        best = {name: [float("inf")] * len(chunks) for name in libs}
        found = {name: np.empty((len(queries), K), dtype=np.int64) for name in libs}
        for r in range(rounds):
            order = list(libs) if r % 2 == 0 else list(reversed(libs))
            for c, (start, chunk) in enumerate(chunks):
                for name in order:
                    query_one = libs[name][0]
                    query_one(chunk[0])  # warm
                    t0 = time.perf_counter()
                    res = [query_one(q) for q in chunk]
                    best[name][c] = min(best[name][c], time.perf_counter() - t0)
                    found[name][start : start + len(chunk)] = res
        for name in libs:
            rows[name][ef] = (len(queries) / sum(best[name]), recall(found[name], truth))
        print(
            f"  ef={ef:4d}  "
            + "  ".join(
                f"{name} {rows[name][ef][0]:8,.0f} QPS recall@10 {rows[name][ef][1]:.4f}"
                for name in libs
            ),
            flush=True,
        )
    return rows


def first_at(rows: dict, target: float) -> tuple[int, float, float] | None:
    for ef, (qps, rec) in sorted(rows.items()):
        if rec >= target:
            return ef, qps, rec
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_data_argument(parser)
    parser.add_argument("--n", type=int, default=100_000, help="vectors (default 100000)")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument(
        "--rounds", type=int, default=3, help="best of N runs of each chunk of queries"
    )
    parser.add_argument("--build-rounds", type=int, default=1, help="best of N builds each")
    parser.add_argument("--quick", action="store_true", help="20k vectors, 300 queries")
    args, _ = parser.parse_known_args()
    if args.quick:
        args.n, args.queries = 20_000, 300
    import hnswlib

    data, queries = clustered(args.n, args.queries, args.dim)
    ids = np.arange(args.n, dtype=np.uint64)
    truth = exact_top(data, queries, K)
    print(
        f"{args.n} x {args.dim} clustered vectors, {args.queries} queries, M=16, "
        f"ef_construction=200, cosine"
    )

    def build_theirs() -> tuple[Any, float]:
        index = hnswlib.Index(space="cosine", dim=args.dim)
        index.init_index(max_elements=args.n, ef_construction=200, M=16)
        index.set_num_threads(2)
        t0 = time.perf_counter()
        index.add_items(data, ids)
        return index, time.perf_counter() - t0

    def build_ours() -> tuple[HnswIndex, float]:
        index = HnswIndex(args.dim, "cosine", M=16, ef_construction=200)
        t0 = time.perf_counter()
        index.add(ids, data)
        return index, time.perf_counter() - t0

    # Builds alternate and the best of --build-rounds counts, so that load from other
    # processes on the machine hits both alike.
    t_theirs = t_ours = float("inf")
    for _ in range(args.build_rounds):
        theirs, t = build_theirs()
        t_theirs = min(t_theirs, t)
        ours, t = build_ours()
        t_ours = min(t_ours, t)
    print(
        f"build (2 threads, best of {args.build_rounds}): hnswlib {t_theirs:.2f} s, "
        f"ferromem {t_ours:.2f} s (ratio {t_ours / t_theirs:.2f}x; target <= 0.5x) "
        f"[kernels: {ours.kernels}]"
    )

    raw = data.nbytes
    mem = ours.memory_usage_bytes()
    # hnswlib keeps per element: level-0 links (4 + 2M*4), the float32 vector and a label.
    hnsw_mem = args.n * (4 + 32 * 4 + args.dim * 4 + 8)
    print(
        f"index memory: ferromem {mem / 1e6:.1f} MB = {mem / raw:.2f}x raw vectors "
        f"({raw / 1e6:.1f} MB; target <= 1.2x); hnswlib level-0 alone {hnsw_mem / raw:.2f}x"
    )

    theirs.set_num_threads(1)
    ef_box = [64]
    rows = sweep(
        {
            "hnswlib": (lambda q: theirs.knn_query(q, k=K)[0][0], theirs.set_ef),
            "ferromem": (
                lambda q: ours.search(q, K, ef_box[0])[0][0],
                lambda ef: ef_box.__setitem__(0, ef),
            ),
        },
        queries,
        truth,
        args.rounds,
    )
    r_theirs, r_ours = rows["hnswlib"], rows["ferromem"]
    for ef in EFS:
        (qt, rt), (qo, ro) = r_theirs[ef], r_ours[ef]
        print(
            f"  ef={ef:4d}: QPS ratio {qo / qt:.2f}x  (recall hnswlib {rt:.4f}, ferromem {ro:.4f})"
        )
    a, b = first_at(r_theirs, 0.95), first_at(r_ours, 0.95)
    if a and b:
        print(
            f"at recall@10 >= 0.95: hnswlib {a[1]:,.0f} QPS (ef={a[0]}, {a[2]:.4f}), "
            f"ferromem {b[1]:,.0f} QPS (ef={b[0]}, {b[2]:.4f}): ratio {b[1] / a[1]:.2f}x "
            f"(target >= 1.5x)"
        )
    else:
        print("recall@10 >= 0.95 not reached by one of the libraries at the swept ef values")


if __name__ == "__main__":
    main()
