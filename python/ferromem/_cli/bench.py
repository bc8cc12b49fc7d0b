"""``ferromem bench``: a quick side-by-side run of ferromem and SQLite FTS5 (the peer that every
Python has) on the same messages: batch ingestion and top-10 keyword search, in process and on
disk, best of a few alternating rounds, printed with the ratio."""

from __future__ import annotations

import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO, TypeVar

from ..memories.indexed import IndexedMemory
from ..memories.sqlite import SQLiteMemory
from ..message import ALL_SESSIONS, Message

__all__ = ["bench", "corpus"]

T = TypeVar("T")
_WORD = re.compile(r"[a-z]{4,}")


def corpus(base: Sequence[Message], n: int) -> list[Message]:
    """``n`` messages made by repeating ``base`` (each copy with a distinct suffix), in
    sessions of 100 messages."""
    if not base:
        raise ValueError("no messages to benchmark with")
    out = []
    for i in range(n):
        m = base[i % len(base)]
        copy = i // len(base)
        text = f"{m.content} #{copy}" if copy else m.content
        out.append(Message(m.role, text, session_id=f"s{i // 100}", timestamp=1.7e9 + i))
    return out


def _queries(messages: Sequence[Message], count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    words = sorted({w for m in messages[:5000] for w in _WORD.findall(m.content.lower())})
    if not words:
        raise ValueError("the messages hold no words to query")
    return [" ".join(rng.sample(words, min(2, len(words)))) for _ in range(count)]


def _fts_create(db: sqlite3.Connection) -> None:
    db.execute("CREATE VIRTUAL TABLE m USING fts5(session UNINDEXED, role UNINDEXED, content)")


def _fts_ingest(db: sqlite3.Connection, messages: Sequence[Message]) -> None:
    with db:
        db.executemany(
            "INSERT INTO m(session, role, content) VALUES (?, ?, ?)",
            [(m.session_id, m.role, m.content) for m in messages],
        )


def _fts_query(text: str) -> str:
    return " OR ".join(f'"{w}"' for w in text.split())


def _best_seconds(fn: Callable[[], None], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _p50_ms(run: Callable[[T], object], queries: Sequence[T]) -> float:
    times = []
    for q in queries:
        start = time.perf_counter()
        run(q)
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def _row(out: TextIO, what: str, ours: float, peer: float, unit: str, higher: bool) -> None:
    ratio = ours / peer if higher else peer / ours
    digits = 3 if unit == "ms" else 0
    out.write(f"{what:<34} {ours:>12,.{digits}f} {peer:>12,.{digits}f}  {unit:<9} {ratio:6.2f}x\n")


def bench(
    base: Sequence[Message],
    *,
    messages: int,
    queries: int,
    rounds: int,
    out: TextIO | None = None,
) -> None:
    """Runs the comparison on ``messages`` messages built from ``base`` and prints it."""
    out = out if out is not None else sys.stdout
    data = corpus(base, messages)
    qs = _queries(data, queries)
    out.write(f"ferromem bench: {len(data):,} messages, {len(qs)} queries, best of {rounds}\n")
    out.write(f"{'workload':<34} {'ferromem':>12} {'FTS5':>12}  {'unit':<9} {'ratio':>6}\n")

    # In process: IndexedMemory against FTS5 in an in-memory database, alternating rounds.
    def ours_mem() -> None:
        IndexedMemory().add_messages(data, session_id=ALL_SESSIONS)

    def fts_mem() -> None:
        db = sqlite3.connect(":memory:")
        _fts_create(db)
        _fts_ingest(db, data)
        db.close()

    t_ours = t_fts = float("inf")
    for _ in range(rounds):
        t_ours = min(t_ours, _best_seconds(ours_mem, 1))
        t_fts = min(t_fts, _best_seconds(fts_mem, 1))
    _row(out, "ingest, in process", len(data) / t_ours, len(data) / t_fts, "msg/s", True)

    memory = IndexedMemory()
    memory.add_messages(data, session_id=ALL_SESSIONS)
    fts = sqlite3.connect(":memory:")
    _fts_create(fts)
    _fts_ingest(fts, data)
    sql = "SELECT rowid FROM m WHERE m MATCH ? ORDER BY bm25(m) LIMIT 10"
    ours_ms = _p50_ms(lambda q: memory.search(q, session_id=ALL_SESSIONS, limit=10), qs)
    fts_ms = _p50_ms(lambda q: fts.execute(sql, (_fts_query(q),)).fetchall(), qs)
    _row(out, "top-10 search, all sessions, p50", ours_ms, fts_ms, "ms", False)
    sql_s = "SELECT rowid FROM m WHERE m MATCH ? AND session = ? ORDER BY bm25(m) LIMIT 10"
    rng = random.Random(11)
    pairs = [(q, f"s{rng.randrange(max(1, len(data) // 100))}") for q in qs]
    ours_ms = _p50_ms(lambda p: memory.search(p[0], session_id=p[1], limit=10), pairs)
    fts_ms = _p50_ms(lambda p: fts.execute(sql_s, (_fts_query(p[0]), p[1])).fetchall(), pairs)
    _row(out, "top-10 search, one session, p50", ours_ms, fts_ms, "ms", False)
    fts.close()

    # On disk: SQLiteMemory against FTS5 in a file, both one transaction per batch.
    with tempfile.TemporaryDirectory(prefix="ferromem-bench-") as tmp:
        n = [0]

        def ours_disk() -> None:
            n[0] += 1
            with SQLiteMemory(Path(tmp) / f"f{n[0]}.db", persist_indexes=False) as m:
                m.add_messages(data, session_id=ALL_SESSIONS)

        def fts_disk() -> None:
            n[0] += 1
            db = sqlite3.connect(Path(tmp) / f"s{n[0]}.db")
            db.execute("PRAGMA journal_mode=WAL")
            _fts_create(db)
            _fts_ingest(db, data)
            db.close()

        t_ours = t_fts = float("inf")
        for _ in range(rounds):
            t_ours = min(t_ours, _best_seconds(ours_disk, 1))
            t_fts = min(t_fts, _best_seconds(fts_disk, 1))
        _row(out, "ingest, SQLite file", len(data) / t_ours, len(data) / t_fts, "msg/s", True)
    out.write("ratio: how many times better ferromem is (above 1) or worse (below 1)\n")
