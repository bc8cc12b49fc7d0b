"""W10: durable memory side by side: ferromem SQLiteMemory (keyword; vector + keyword hybrid)
against Chroma's PersistentClient, LanceDB and SQLite FTS5, in one run.

Messages are LoCoMo turns repeated to N (with a suffix), in S sessions of consecutive turns, each
with a 384-d vector: the real all-MiniLM-L6-v2 vector of its turn (../shared/embeddings) plus a
little noise, so that no embedding model runs during the benchmark (ferromem is given a lookup
embedder; the peers are given the vectors). Queries: LoCoMo questions (keyword, hybrid) and noisy
turn vectors (vector), within a random session and across all of them.

Printed per system: ingest rate, disk bytes, reopen + first search, search p50/p99 within a
random session (keyword, vector, hybrid) and across all sessions; for ferromem also the time to
rebuild the indexes without their snapshots (what a reopen would cost without them).

    python benches/bench_durable.py [--quick] [--n 100000] [--sessions 100]
        [--peers chroma,lancedb,fts5]
"""

from __future__ import annotations

import argparse
import gc
import random
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ferromem
from ferromem import ALL_SESSIONS, Message
from ferromem.memories import durable

import locomo

EMBEDDINGS = Path(__file__).resolve().parent.parent.parent / "shared" / "embeddings"
DIM = 384
BATCH = 1000
RECALL_QUERIES = 100


# ------------------------------------------------------------------ data
class Data:
    def __init__(self, n: int, sessions: int, data: Path, embeddings: Path, seed: int = 0):
        turns, questions = locomo.load(data)
        base = np.load(embeddings / "locomo_dev_minilm.npy").astype(np.float32)
        rng = np.random.default_rng(seed)
        self.n, self.sessions = n, sessions
        self.texts = [
            f"{turns[i % len(turns)].speaker}: {turns[i % len(turns)].text} ({i})" for i in range(n)
        ]
        noise = rng.standard_normal((n, DIM)).astype(np.float32) * 0.02
        vecs = base[np.arange(n) % len(base)] + noise
        self.vectors = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
        per = max(1, n // sessions)
        self.session_of = [f"s{min(i // per, sessions - 1)}" for i in range(n)]
        r = random.Random(seed)
        self.queries = [q.question for q in r.sample(questions, min(200, len(questions)))]
        picks = rng.integers(0, len(base), size=200)
        qv = base[picks] + rng.standard_normal((200, DIM)).astype(np.float32) * 0.05
        self.query_vectors = qv / np.linalg.norm(qv, axis=1, keepdims=True)
        self.query_sessions = [f"s{r.randrange(sessions)}" for _ in range(200)]
        self.lookup = dict(zip(self.texts, self.vectors, strict=True))
        self.position = {t: i for i, t in enumerate(self.texts)}
        # Exact top-10 over every vector for the first RECALL_QUERIES query vectors.
        sims = self.query_vectors[:RECALL_QUERIES] @ self.vectors.T
        top = (
            np.argpartition(-sims, 10, axis=1)[:, :10]
            if n > 10
            else np.tile(np.arange(n), (len(sims), 1))
        )
        self.truth = [set(row.tolist()) for row in top]
        for q, v in zip(self.queries, self.query_vectors, strict=False):
            self.lookup[q] = v


class LookupEmbedder:
    """Precomputed vectors by text: the benchmark measures the memory, not a model."""

    name = "bench-lookup:384"
    dimension = DIM

    def __init__(self, table: dict[str, np.ndarray]) -> None:
        self.table = table

    def __call__(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.table[t] for t in texts]).astype(np.float32)


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] * 1000.0


def _latencies(fn: Callable[[int], Any], n: int) -> tuple[float, float]:
    times = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t)
    return _pct(times, 0.5), _pct(times, 0.99)


def _disk(paths: list[Path]) -> int:
    total = 0
    for p in paths:
        if p.is_file():
            total += p.stat().st_size
        elif p.is_dir():
            total += sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    return total


def _recall(d: Data, found: Callable[[int], list[int]]) -> float:
    """Mean recall@10 of an all-sessions vector search against the exact top 10."""
    hits = sum(len(d.truth[i] & set(found(i))) for i in range(len(d.truth)))
    return hits / (10.0 * len(d.truth))


# ------------------------------------------------------------------ ferromem
def bench_ferromem(
    d: Data, root: Path, hybrid: bool, ef_construction: int | None = None
) -> dict[str, Any]:
    if ef_construction is not None:
        # Another build setting for the same memory (compared in one run).
        durable.EF_CONSTRUCTION = ef_construction
    path = root / (f"hybrid{ef_construction or ''}.db" if hybrid else "keyword.db")
    kwargs: dict[str, Any] = (
        {"embedder": LookupEmbedder(d.lookup), "hybrid": True} if hybrid else {}
    )
    mem = ferromem.SQLiteMemory(path, **kwargs)
    t = time.perf_counter()
    for i in range(0, d.n, BATCH):
        mem.add_messages(
            [
                Message("user", d.texts[j], session_id=d.session_of[j], timestamp=1.6e9 + j)
                for j in range(i, min(d.n, i + BATCH))
            ],
            session_id=ALL_SESSIONS,
        )
    ingest = time.perf_counter() - t
    t = time.perf_counter()
    mem.close()  # writes the index snapshots
    close = time.perf_counter() - t
    out: dict[str, Any] = {"ingest": d.n / ingest, "close_s": close}
    out["disk"] = _disk([path, Path(str(path) + "-wal"), Path(str(path) + ".ferromem")])
    gc.collect()
    t = time.perf_counter()
    mem = ferromem.SQLiteMemory(path, **kwargs)
    mem.search(d.queries[0], session_id=d.query_sessions[0])
    out["reopen_first_ms"] = (time.perf_counter() - t) * 1000
    q, qs, qv = d.queries, d.query_sessions, d.query_vectors
    m = len(q)
    if hybrid:
        out["hybrid"] = _latencies(lambda i: mem.search(q[i % m], session_id=qs[i % m]), m)
        out["vector"] = _latencies(
            lambda i: mem.search_by_vector(qv[i % m], session_id=qs[i % m]), m
        )
        out["all_vector"] = _latencies(
            lambda i: mem.search_by_vector(qv[i % m], session_id=ALL_SESSIONS), 100
        )
        out["all_hybrid"] = _latencies(lambda i: mem.search(q[i % m], session_id=ALL_SESSIONS), 100)
        out["all_vector_recall"] = _recall(
            d,
            lambda i: [
                d.position[h.message.content]
                for h in mem.search_by_vector(qv[i], session_id=ALL_SESSIONS, limit=10)
            ],
        )
    else:
        out["keyword"] = _latencies(lambda i: mem.search(q[i % m], session_id=qs[i % m]), m)
        out["all_keyword"] = _latencies(
            lambda i: mem.search(q[i % m], session_id=ALL_SESSIONS), 100
        )
    mem.close()
    # Without the snapshots, the first search rebuilds the indexes from the rows.
    shutil.rmtree(str(path) + ".ferromem", ignore_errors=True)
    gc.collect()
    t = time.perf_counter()
    mem = ferromem.SQLiteMemory(path, persist_indexes=False, **kwargs)
    mem.search(d.queries[0], session_id=ALL_SESSIONS)
    out["rebuild_first_ms"] = (time.perf_counter() - t) * 1000
    mem.close()
    return out


# ------------------------------------------------------------------ peers
def _fts_query(text: str) -> str:
    words = [w for w in re.findall(r"[A-Za-z0-9]+", text.lower()) if len(w) > 2]
    return " OR ".join(f'"{w}"' for w in words[:16]) or '"nothing"'


def bench_fts5(d: Data, root: Path) -> dict[str, Any]:
    path = root / "fts5.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("CREATE VIRTUAL TABLE msgs USING fts5(text, session UNINDEXED)")
    t = time.perf_counter()
    for i in range(0, d.n, BATCH):
        db.executemany(
            "INSERT INTO msgs (text, session) VALUES (?, ?)",
            [(d.texts[j], d.session_of[j]) for j in range(i, min(d.n, i + BATCH))],
        )
        db.commit()
    ingest = time.perf_counter() - t
    db.close()
    out: dict[str, Any] = {"ingest": d.n / ingest, "disk": _disk([path, Path(str(path) + "-wal")])}
    t = time.perf_counter()
    db = sqlite3.connect(path)
    q, qs = d.queries, d.query_sessions
    search = (
        "SELECT rowid, text FROM msgs WHERE msgs MATCH ? AND session = ? ORDER BY rank LIMIT 10"
    )
    db.execute(search, (_fts_query(q[0]), qs[0])).fetchall()
    out["reopen_first_ms"] = (time.perf_counter() - t) * 1000
    m = len(q)
    out["keyword"] = _latencies(
        lambda i: db.execute(search, (_fts_query(q[i % m]), qs[i % m])).fetchall(), m
    )
    every = "SELECT rowid, text FROM msgs WHERE msgs MATCH ? ORDER BY rank LIMIT 10"
    out["all_keyword"] = _latencies(
        lambda i: db.execute(every, (_fts_query(q[i % m]),)).fetchall(), 100
    )
    db.close()
    return out


def bench_chroma(d: Data, root: Path) -> dict[str, Any]:
    import chromadb

    path = root / "chroma"
    client = chromadb.PersistentClient(path=str(path))
    col = client.create_collection("messages", metadata={"hnsw:space": "cosine"})
    t = time.perf_counter()
    step = 5000
    for i in range(0, d.n, step):
        j = min(d.n, i + step)
        col.add(
            ids=[str(k) for k in range(i, j)],
            embeddings=d.vectors[i:j],
            documents=d.texts[i:j],
            metadatas=[{"session": d.session_of[k]} for k in range(i, j)],
        )
    ingest = time.perf_counter() - t
    del col, client
    gc.collect()
    out: dict[str, Any] = {"ingest": d.n / ingest, "disk": _disk([path])}
    qv, qs = d.query_vectors, d.query_sessions
    t = time.perf_counter()
    client = chromadb.PersistentClient(path=str(path))
    col = client.get_collection("messages")
    col.query(query_embeddings=[qv[0]], n_results=10, where={"session": qs[0]})
    out["reopen_first_ms"] = (time.perf_counter() - t) * 1000
    m = len(qv)
    out["vector"] = _latencies(
        lambda i: col.query(
            query_embeddings=[qv[i % m]], n_results=10, where={"session": qs[i % m]}
        ),
        m,
    )
    out["all_vector"] = _latencies(
        lambda i: col.query(query_embeddings=[qv[i % m]], n_results=10), 100
    )
    out["all_vector_recall"] = _recall(
        d,
        lambda i: [int(k) for k in col.query(query_embeddings=[qv[i]], n_results=10)["ids"][0]],
    )
    return out


def bench_lancedb(d: Data, root: Path) -> dict[str, Any]:
    import lancedb
    import pyarrow as pa

    path = root / "lance"
    db = lancedb.connect(str(path))
    schema = pa.schema(
        [
            pa.field("id", pa.int64()),
            pa.field("session", pa.string()),
            pa.field("text", pa.string()),
            pa.field("vector", pa.list_(pa.float32(), DIM)),
        ]
    )
    t = time.perf_counter()
    table = None
    step = 10_000
    for i in range(0, d.n, step):
        j = min(d.n, i + step)
        batch = pa.table(
            {
                "id": pa.array(range(i, j), pa.int64()),
                "session": pa.array(d.session_of[i:j]),
                "text": pa.array(d.texts[i:j]),
                "vector": pa.FixedSizeListArray.from_arrays(pa.array(d.vectors[i:j].ravel()), DIM),
            },
            schema=schema,
        )
        if table is None:
            table = db.create_table("m", batch)
        else:
            table.add(batch)
    assert table is not None
    fts = True
    try:
        from lancedb.index import FTS

        table.create_index("text", config=FTS())
    except Exception as e:  # FTS needs an optional dependency in some versions
        print(f"  lancedb: no full-text index ({type(e).__name__}: {e})")
        fts = False
    ingest = time.perf_counter() - t
    out: dict[str, Any] = {"ingest": d.n / ingest, "disk": _disk([path])}
    qv, qs, q = d.query_vectors, d.query_sessions, d.queries
    t = time.perf_counter()
    db = lancedb.connect(str(path))
    table = db.open_table("m")
    table.search(qv[0]).where(f"session = '{qs[0]}'", prefilter=True).limit(10).to_list()
    out["reopen_first_ms"] = (time.perf_counter() - t) * 1000
    m = len(qv)
    out["vector"] = _latencies(
        lambda i: (
            table.search(qv[i % m])
            .where(f"session = '{qs[i % m]}'", prefilter=True)
            .limit(10)
            .to_list()
        ),
        m,
    )
    out["all_vector"] = _latencies(lambda i: table.search(qv[i % m]).limit(10).to_list(), 100)
    out["all_vector_recall"] = _recall(
        d, lambda i: [int(r["id"]) for r in table.search(qv[i]).limit(10).to_list()]
    )
    if fts:

        def kw(i: int) -> Any:
            return (
                table.search(q[i % m], query_type="fts")
                .where(f"session = '{qs[i % m]}'", prefilter=True)
                .limit(10)
                .to_list()
            )

        out["keyword"] = _latencies(kw, m)
        out["all_keyword"] = _latencies(
            lambda i: table.search(q[i % m], query_type="fts").limit(10).to_list(), 100
        )
    return out


# ------------------------------------------------------------------ report
def _fmt(v: Any) -> str:
    if isinstance(v, tuple):
        return f"{v[0]:.2f} / {v[1]:.2f}"
    if isinstance(v, float):
        return f"{v:,.0f}" if v >= 100 else f"{v:.2f}"
    if isinstance(v, int):
        return f"{v / 1e6:.1f} MB"
    return str(v)


def report(n: int, sessions: int, results: dict[str, dict[str, Any]]) -> None:
    rows = [
        ("ingest (msg/s)", "ingest"),
        ("disk", "disk"),
        ("reopen + first search (ms)", "reopen_first_ms"),
        ("rebuild + first search, no snapshot (ms)", "rebuild_first_ms"),
        ("index snapshot save at close (s)", "close_s"),
        ("session keyword p50/p99 (ms)", "keyword"),
        ("session vector p50/p99 (ms)", "vector"),
        ("session hybrid p50/p99 (ms)", "hybrid"),
        ("all sessions keyword p50/p99 (ms)", "all_keyword"),
        ("all sessions vector p50/p99 (ms)", "all_vector"),
        ("all sessions vector recall@10", "all_vector_recall"),
        ("all sessions hybrid p50/p99 (ms)", "all_hybrid"),
    ]
    names = list(results)
    print(f"\nW10 durable memory: {n:,} messages in {sessions:,} sessions, 384-d vectors")
    print("| | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for label, key in rows:
        values = [results[name].get(key, "-") for name in names]
        if key.endswith("recall"):
            cells = [f"{v:.3f}" if isinstance(v, float) else "-" for v in values]
        else:
            cells = [_fmt(v) for v in values]
        if all(c == "-" for c in cells):
            continue
        print(f"| {label} | " + " | ".join(cells) + " |")
    fk = results.get("ferromem keyword", {})
    fh = results.get("ferromem hybrid", {})
    chroma = results.get("chroma", {})
    if chroma.get("ingest") and fh.get("ingest"):
        print(f"vectors: ingest {fh['ingest'] / chroma['ingest']:.1f}x Chroma's (target >= 5x)")
    if results.get("fts5", {}).get("ingest") and fk.get("ingest"):
        print(
            f"keyword: ingest {fk['ingest'] / results['fts5']['ingest']:.2f}x FTS5's (target >= 1x)"
        )
    for r in (fk, fh):
        if r.get("rebuild_first_ms") and r.get("reopen_first_ms"):
            print(
                f"reopen with snapshots {r['reopen_first_ms']:.0f} ms vs rebuild "
                f"{r['rebuild_first_ms']:.0f} ms: "
                f"{r['rebuild_first_ms'] / r['reopen_first_ms']:.1f}x (target >= 10x)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    locomo.add_data_argument(parser)
    parser.add_argument("--embeddings", type=Path, default=EMBEDDINGS)
    parser.add_argument("--quick", action="store_true", help="20k messages, 100 sessions")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--peers", default="fts5,lancedb,chroma")
    parser.add_argument(
        "--hybrid-ef",
        default="",
        help="also run the hybrid memory built with these ef_construction values (e.g. 200)",
    )
    parser.add_argument(
        "--chroma-max",
        type=int,
        default=100_000,
        help="skip Chroma above this size (it ingests ~1k msg/s)",
    )
    args = parser.parse_args()
    n = 20_000 if args.quick else args.n
    d = Data(n, args.sessions, args.data, args.embeddings)
    root = Path(tempfile.mkdtemp(prefix="ferromem-durable-"))
    results: dict[str, dict[str, Any]] = {}
    try:
        results["ferromem keyword"] = bench_ferromem(d, root, hybrid=False)
        default_ef = durable.EF_CONSTRUCTION
        results["ferromem hybrid"] = bench_ferromem(d, root, hybrid=True)
        for ef in [int(e) for e in args.hybrid_ef.split(",") if e]:
            results[f"ferromem hybrid efc={ef}"] = bench_ferromem(d, root, True, ef)
        durable.EF_CONSTRUCTION = default_ef
        peers = [p for p in args.peers.split(",") if p]
        for peer in peers:
            if peer == "chroma" and n > args.chroma_max:
                print(f"  chroma skipped at {n:,} messages (--chroma-max {args.chroma_max:,})")
                continue
            try:
                fn = {"fts5": bench_fts5, "chroma": bench_chroma, "lancedb": bench_lancedb}[peer]
                results[peer] = fn(d, root)
            except ImportError as e:
                print(f"  {peer} not installed ({e}); pip install -r requirements-bench.txt")
        report(n, args.sessions, results)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
