"""HNSW side by side with hnswlib, faiss (``IndexHNSWFlat``) and usearch, in one run.

For each workload: build time with 2 threads (M=16, ef_construction=200 for every library),
then single-query QPS on one thread (one query per call, as an agent asks) and recall@10
against exact float32 search at each ef, the QPS at recall@10 >= 0.95 and >= 0.99, index
memory, and a recall/QPS plot (PNG) in docs/ (BENCHMARKS.md W4, W5).

Workloads (``--workloads``):
* ``clustered``: Gaussian clusters (N/100 centres, noise 0.35, L2-normalised), ``--n`` x 384
  (100,000 by default; ``--n 1000000`` for the 1M figures), 1,000 queries from the same
  distribution;
* ``real``: all-MiniLM-L6-v2 embeddings of the LoCoMo turns (``--embeddings``, by default
  ../shared/embeddings/locomo_dev_minilm.npy): every 10th turn is a query, the others are
  indexed.

Timing: queries run in chunks of 50, the libraries alternating chunk by chunk, best of
``--rounds`` per chunk, so load from other processes on a shared machine hits all alike.
Every index searches its graph: ferromem's exact scan of small indexes is switched off.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("RAYON_NUM_THREADS", "2")

import numpy as np

from ferromem.core import HnswIndex

from locomo import DEFAULT_DATA

EFS = (10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 160, 200, 256, 320, 400, 512)
K = 10
M, EF_CONSTRUCTION = 16, 200
TARGETS = (0.95, 0.99)
DOCS = Path(__file__).resolve().parent.parent / "docs"

#: name -> (query one vector -> ids, set ef)
Searcher = tuple[Callable[[np.ndarray], Any], Callable[[int], None]]


def clustered(n: int, q: int, dim: int, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """``n`` data and ``q`` query vectors around ``n // 100`` Gaussian centres, L2-normalised."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // 100), dim), dtype=np.float32)

    def draw(m: int) -> np.ndarray:
        out = np.empty((m, dim), dtype=np.float32)
        for i in range(0, m, 100_000):
            j = min(m, i + 100_000)
            x = centres[rng.integers(0, len(centres), j - i)]
            x = x + 0.35 * rng.standard_normal((j - i, dim), dtype=np.float32)
            out[i:j] = x / np.linalg.norm(x, axis=1, keepdims=True)
        return out

    return draw(n), draw(q)


def real(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """LoCoMo MiniLM embeddings: every 10th row a query, the rest indexed (L2-normalised)."""
    x = np.load(path).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    mask = np.arange(len(x)) % 10 == 0
    return np.ascontiguousarray(x[~mask]), np.ascontiguousarray(x[mask])


def exact_top(data: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact cosine top-k ids by brute force in float32, in blocks."""
    out = []
    for i in range(0, len(queries), 100):
        sims = queries[i : i + 100] @ data.T
        out.append(np.argpartition(-sims, k, axis=1)[:, :k])
    return np.concatenate(out)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len(set(f.tolist()) & set(t.tolist())) for f, t in zip(found, truth, strict=True))
    return hits / truth.size


def build_all(names: list[str], data: np.ndarray, rounds: int) -> tuple[dict, dict]:
    """Each library's index and its best build time (2 threads) over ``rounds``, alternating."""
    n, dim = data.shape
    ids = np.arange(n, dtype=np.uint64)

    def ferromem() -> Any:
        index = HnswIndex(dim, "cosine", M=M, ef_construction=EF_CONSTRUCTION, full_scan_bytes=0)
        t0 = time.perf_counter()
        index.add(ids, data)
        return index, time.perf_counter() - t0

    def hnswlib() -> Any:
        import hnswlib as lib

        index = lib.Index(space="cosine", dim=dim)
        index.init_index(max_elements=n, ef_construction=EF_CONSTRUCTION, M=M)
        index.set_num_threads(2)
        t0 = time.perf_counter()
        index.add_items(data, ids)
        return index, time.perf_counter() - t0

    def faiss() -> Any:
        import faiss as lib

        lib.omp_set_num_threads(2)
        index = lib.IndexHNSWFlat(dim, M, lib.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = EF_CONSTRUCTION
        t0 = time.perf_counter()
        index.add(data)
        return index, time.perf_counter() - t0

    def usearch() -> Any:
        from usearch.index import Index

        index = Index(ndim=dim, metric="cos", connectivity=M, expansion_add=EF_CONSTRUCTION)
        t0 = time.perf_counter()
        index.add(ids, data, threads=2)
        return index, time.perf_counter() - t0

    builders = {"ferromem": ferromem, "hnswlib": hnswlib, "faiss": faiss, "usearch": usearch}
    indexes: dict = {}
    times = {name: float("inf") for name in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):
            indexes.pop(name, None)
            indexes[name], t = builders[name]()
            times[name] = min(times[name], t)
    return indexes, times


def searchers(indexes: dict) -> dict[str, Searcher]:
    """One-query-per-call search functions on one thread, and their ef setters."""
    out: dict[str, Searcher] = {}
    for name, index in indexes.items():
        if name == "ferromem":
            box = [64]
            out[name] = (
                lambda q, i=index, b=box: i.search(q, K, b[0])[0][0],
                lambda ef, b=box: b.__setitem__(0, ef),
            )
        elif name == "hnswlib":
            index.set_num_threads(1)
            out[name] = (lambda q, i=index: i.knn_query(q, k=K)[0][0], index.set_ef)
        elif name == "faiss":
            import faiss as lib

            lib.omp_set_num_threads(1)

            def set_ef(ef: int, i: Any = index) -> None:
                i.hnsw.efSearch = ef

            out[name] = (lambda q, i=index: i.search(q[None, :], K)[1][0], set_ef)
        elif name == "usearch":

            def set_exp(ef: int, i: Any = index) -> None:
                i.expansion_search = ef

            out[name] = (lambda q, i=index: i.search(q, K, threads=1).keys, set_exp)
    return out


def sweep(libs: dict[str, Searcher], queries: np.ndarray, truth: np.ndarray, rounds: int) -> dict:
    """QPS and recall@10 at each ef for each library (chunks alternate between libraries)."""
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
                f"{name} {rows[name][ef][0]:7,.0f} QPS r={rows[name][ef][1]:.4f}" for name in libs
            ),
            flush=True,
        )
        if all(rec >= 0.999 for _, rec in (rows[name][ef] for name in libs)):
            break
    return rows


def best_at(rows: dict, target: float) -> tuple[int, float, float] | None:
    """QPS at the smallest ef whose recall@10 reaches ``target`` (the operating point a user
    would pick; the highest QPS among all such ef would reward noise)."""
    for ef, (qps, rec) in sorted(rows.items()):
        if rec >= target:
            return ef, qps, rec
    return None


def interpolated_at(rows: dict, target: float) -> float | None:
    """QPS at exactly recall@10 ``target``: log QPS interpolated linearly in recall between the
    ef steps on either side of it. The first qualifying step alone favours whichever library
    lands just above the line; at the lowest ef that already reaches it, that step's QPS."""
    below = None
    for _, (qps, rec) in sorted(rows.items()):
        if rec >= target:
            if below is None:
                return qps
            t = (target - below[1]) / (rec - below[1])
            return math.exp(math.log(below[0]) + t * (math.log(qps) - math.log(below[0])))
        below = (qps, rec)
    return None


def plot(rows: dict, title: str, path: Path) -> None:
    """Recall@10 against QPS for every library (log QPS axis)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for name, pts in rows.items():
        efs = sorted(pts)
        ax.plot(
            [pts[e][1] for e in efs],
            [pts[e][0] for e in efs],
            marker="o",
            markersize=3,
            linewidth=2.2 if name == "ferromem" else 1.4,
            label=name,
        )
    for t in TARGETS:
        ax.axvline(t, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("recall@10 (against exact float32 search)")
    ax.set_ylabel("queries per second (one thread, one query per call)")
    ax.set_yscale("log")
    lo = min(rec for pts in rows.values() for _, rec in pts.values())
    ax.set_xlim(max(0.8, lo - 0.005), 1.0005)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    print(f"plot: {path}")


def run(label: str, data: np.ndarray, queries: np.ndarray, args: argparse.Namespace) -> None:
    n, dim = data.shape
    print(
        f"\n=== {label}: {n:,} x {dim} vectors, {len(queries)} queries, M={M}, "
        f"ef_construction={EF_CONSTRUCTION}, cosine",
        flush=True,
    )
    truth = exact_top(data, queries, K)
    names = ["ferromem", *args.peers]
    indexes, times = build_all(names, data, args.build_rounds)
    fastest = min((times[p], p) for p in args.peers) if args.peers else None
    print(
        f"build (2 threads, best of {args.build_rounds}): "
        + ", ".join(f"{name} {times[name]:.2f} s" for name in names)
        + f" [ferromem kernels: {indexes['ferromem'].kernels}]"
    )
    if fastest:
        print(
            f"  build: fastest peer {fastest[1]} {fastest[0]:.2f} s / ferromem "
            f"{times['ferromem']:.2f} s = {fastest[0] / times['ferromem']:.2f}x faster "
            f"(target >= 2x)"
        )
    raw = data.nbytes
    mem = indexes["ferromem"].memory_usage_bytes()
    print(
        f"memory: ferromem index {mem / 1e6:.1f} MB = {mem / raw:.2f}x the raw float32 vectors "
        f"({raw / 1e6:.1f} MB; target <= 1.2x)"
    )
    if "usearch" in indexes:
        um = indexes["usearch"].memory_usage
        print(f"  usearch ({indexes['usearch'].dtype}) reports {um / 1e6:.1f} MB")
    rows = sweep(searchers(indexes), queries, truth, args.rounds)
    for target in TARGETS:
        ours = best_at(rows["ferromem"], target)
        peers = {p: best_at(rows[p], target) for p in args.peers}
        line = f"at recall@10 >= {target}: " + ", ".join(
            f"{p} {v[1]:,.0f} QPS (ef={v[0]}, r={v[2]:.4f})" if v else f"{p} not reached"
            for p, v in {"ferromem": ours, **peers}.items()
        )
        print(line)
        reached = [(v[1], p) for p, v in peers.items() if v]
        if ours and reached:
            q, p = max(reached)
            print(f"  ratio to the best peer ({p}): {ours[1] / q:.2f}x (target >= 1.5x)")
        exact = {p: interpolated_at(rows[p], target) for p in ["ferromem", *args.peers]}
        print(
            f"  interpolated at exactly {target}: "
            + ", ".join(f"{p} {q:,.0f} QPS" for p, q in exact.items() if q)
        )
        others = [(q, p) for p, q in exact.items() if q and p != "ferromem"]
        if exact["ferromem"] and others:
            q, p = max(others)
            print(f"  ratio to the best peer ({p}), interpolated: {exact['ferromem'] / q:.2f}x")
    title = f"{label}: {n:,} x {dim}, M={M}, ef_construction={EF_CONSTRUCTION}, k={K}"
    if args.json:
        record = {"title": title, "build_s": times, "memory_bytes": mem, "raw_bytes": raw}
        record["rows"] = {name: {str(ef): v for ef, v in pts.items()} for name, pts in rows.items()}
        path = Path(args.json) / f"hnsw_{label}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=1))
        print(f"results: {path}")
    if args.plot:
        plot(rows, title, DOCS / f"hnsw_recall_qps_{label}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--embeddings",
        type=Path,
        default=DEFAULT_DATA.parent / "embeddings" / "locomo_dev_minilm.npy",
        help="real sentence embeddings (.npy, n x dim float32)",
    )
    parser.add_argument("--n", type=int, default=100_000, help="clustered vectors (100000)")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="best of N runs of each chunk")
    parser.add_argument("--build-rounds", type=int, default=1, help="best of N builds each")
    parser.add_argument(
        "--workloads", default="clustered,real", help="comma list of: clustered, real"
    )
    parser.add_argument(
        "--peers", default="hnswlib,faiss,usearch", help="comma list of hnswlib, faiss, usearch"
    )
    parser.add_argument("--no-plot", dest="plot", action="store_false", help="skip the PNGs")
    parser.add_argument("--json", help="directory to write each workload's figures to (JSON)")
    parser.add_argument("--plot-from", nargs="+", help="only redraw plots from JSON files")
    parser.add_argument("--quick", action="store_true", help="20k vectors, 300 queries, no plot")
    args, _ = parser.parse_known_args()
    if args.quick:
        args.n, args.queries, args.rounds, args.plot = 20_000, 300, 2, False
    args.peers = [p for p in args.peers.split(",") if p]
    if args.plot_from:
        for f in args.plot_from:
            record = json.loads(Path(f).read_text())
            rows = {
                name: {int(ef): tuple(v) for ef, v in pts.items()}
                for name, pts in record["rows"].items()
            }
            label = Path(f).stem.removeprefix("hnsw_")
            plot(rows, record["title"], DOCS / f"hnsw_recall_qps_{label}.png")
        return
    for workload in args.workloads.split(","):
        if workload == "clustered":
            data, queries = clustered(args.n, args.queries, args.dim)
            label = f"{args.n // 1000}k" if args.n < 1_000_000 else f"{args.n // 1_000_000}M"
            run(label, data, queries, args)
        elif workload == "real":
            data, queries = real(args.embeddings)
            run("locomo_minilm", data, queries, args)
        else:
            parser.error(f"unknown workload {workload!r}")


if __name__ == "__main__":
    main()
