"""The durable formats the reliability suite kills writers of and damages files of.

Run as a child process: ``python -m tests.reliability.formats write FORMAT PATH SEED`` writes
until it is killed, printing ``ack <ids...>`` after each write that returned (so everything
printed was acknowledged); ``... verify FORMAT PATH`` opens what is there and prints one JSON line:
the ids and contents found, or the error type and message.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np

import ferromem
from ferromem import ALL_SESSIONS, Message
from ferromem.core import HnswIndex, KeywordIndex

#: Every format, and whether it needs a Redis URL (passed as the path).
FORMATS = [
    "json",
    "sqlite",
    "sqlite-compressed",
    "sqlite-encrypted",
    "sqlite-snapshots",
    "memory-save",
    "keyword-snapshot",
    "hnsw-snapshot",
    "redis-aof",
]
DIM = 16
WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
]


def _text(rng: random.Random, n: int) -> str:
    return f"turn {n}: " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))


def _vector(n: int) -> np.ndarray:
    v = np.random.default_rng(n).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def _embedder() -> Any:
    return ferromem.embedders.HashingEmbedder(64)


def open_memory(fmt: str, path: str) -> ferromem.MemoryBackend:
    """The memory of a memory-backed format."""
    if fmt == "json":
        return ferromem.JSONFileMemory(path)
    if fmt == "sqlite":
        return ferromem.SQLiteMemory(path)
    if fmt == "sqlite-compressed":
        return ferromem.SQLiteMemory(path, compression=True)
    if fmt == "sqlite-encrypted":
        return ferromem.SQLiteMemory(path, encryption_key="reliability")
    if fmt == "sqlite-snapshots":
        return ferromem.SQLiteMemory(path, embedder=_embedder(), hybrid=True)
    if fmt == "redis-aof":
        return ferromem.RedisMemory(url=path, prefix="reliability")
    raise ValueError(fmt)


def write(fmt: str, path: str, seed: int) -> None:
    """Writes until killed; prints each acknowledged batch."""
    rng = random.Random(seed)
    n = seed * 1_000_000
    if fmt in ("keyword-snapshot", "hnsw-snapshot"):
        index: Any = KeywordIndex() if fmt == "keyword-snapshot" else HnswIndex(DIM, M=8)
        if Path(path).exists():
            index = type(index).load(path)
        print("ready", flush=True)
        while True:
            ids = list(range(n, n + rng.randint(1, 20)))
            n += len(ids)
            if fmt == "keyword-snapshot":
                index.add(ids, [_text(rng, i) for i in ids])
            else:
                index.add(np.asarray(ids, dtype=np.uint64), np.stack([_vector(i) for i in ids]))
            index.save(path)
            print("ack", *ids, flush=True)
    if fmt == "memory-save":
        mem: Any = ferromem.IndexedMemory.load(path) if Path(path).exists() else None
        mem = mem or ferromem.IndexedMemory()
        print("ready", flush=True)
        while True:
            ids = mem.add_messages([Message("user", _text(rng, n + i)) for i in range(5)])
            n += 5
            mem.save(path)
            print("ack", *ids, flush=True)
    mem = open_memory(fmt, path)
    print("ready", flush=True)
    while True:
        batch = [
            Message("user", _text(rng, n + i), session_id=f"s{rng.randrange(3)}")
            for i in range(rng.randint(1, 5))
        ]
        n += len(batch)
        ids = mem.add_messages(batch, session_id=ALL_SESSIONS)
        print("ack", *ids, flush=True)
        if fmt == "sqlite-snapshots" and rng.random() < 0.3:
            mem.save_indexes()  # type: ignore[attr-defined]


def verify(fmt: str, path: str) -> dict[str, Any]:
    """What a reader finds: ids (and contents) or the error."""
    try:
        if fmt == "keyword-snapshot":
            kw = KeywordIndex.load(path)
            ids = kw.search("turn", max(1, len(kw)))[0].tolist()  # every text has "turn"
            return {"ids": [str(i) for i in ids], "count": len(kw)}
        if fmt == "hnsw-snapshot":
            hnsw = HnswIndex.load(path)
            return {"ids": [str(i) for i in hnsw.ids().tolist()], "count": len(hnsw)}
        if fmt == "memory-save":
            mem: Any = ferromem.IndexedMemory.load(path)
        else:
            mem = open_memory(fmt, path)
        msgs = mem.get_messages(ALL_SESSIONS)
        # A search over everything must resolve every hit (engines caught up or rebuilt).
        for m in msgs[:3]:
            hits = mem.search(m.content, session_id=m.session_id, limit=50)
            if m.id not in {h.message.id for h in hits}:
                return {"error": "WrongSearch", "message": f"{m.id} not found by its own text"}
        out = {"ids": [m.id for m in msgs], "contents": [m.content for m in msgs]}
        mem.close()
        return out
    except ferromem.FerromemError as e:
        return {"error": type(e).__name__, "message": str(e)[:300]}


def main(argv: list[str]) -> None:
    if argv[0] == "write":
        write(argv[1], argv[2], int(argv[3]))
    else:
        print(json.dumps(verify(argv[1], argv[2])), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
