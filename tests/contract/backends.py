"""The backends the contract suite runs against: one line per memory class.

Each factory takes a per-test directory and keyword arguments (``session_id``) and returns a
fresh memory whose limits are large enough not to interfere with the behavioural tests.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import ferromem

from ..redis_server import shared_redis_url
from .custom_backend import ListMemory

Factory = Callable[..., ferromem.MemoryBackend]


def _redis_factory(prefix: str) -> Factory:
    # A fresh key prefix per test isolates tests that share one server.
    return lambda **kw: ferromem.RedisMemory(url=shared_redis_url(), prefix=prefix, **kw)


BACKENDS: dict[str, Callable[[Path], Factory]] = {
    "custom": lambda d: lambda **kw: ListMemory(**kw),
    "dict": lambda d: lambda **kw: ferromem.DictMemory(max_messages=100_000, **kw),
    "buffer": lambda d: lambda **kw: ferromem.BufferMemory(max_tokens=1_000_000, **kw),
    "jsonfile": lambda d: lambda **kw: ferromem.JSONFileMemory(d / "memory.json", **kw),
    "summary": lambda d: lambda **kw: ferromem.SummaryMemory(summarize_after=50, **kw),
    "hierarchical": lambda d: lambda **kw: ferromem.HierarchicalMemory(**kw),
    "indexed": lambda d: lambda **kw: ferromem.IndexedMemory(**kw),
    "vector": lambda d: lambda **kw: ferromem.VectorMemory(**kw),
    "vector-hybrid": lambda d: lambda **kw: ferromem.VectorMemory(hybrid=True, **kw),
    "compressed": lambda d: (
        lambda **kw: ferromem.CompressedMemory(recent=2, block_messages=3, **kw)
    ),
    "redis": lambda d: _redis_factory(uuid4().hex),
    "sqlite": lambda d: lambda **kw: ferromem.SQLiteMemory(d / "memory.db", **kw),
    "sqlite-vector": lambda d: (
        lambda **kw: ferromem.SQLiteMemory(
            d / "vector.db", embedder=ferromem.embedders.HashingEmbedder(256), **kw
        )
    ),
    "sqlite-hybrid": lambda d: (
        lambda **kw: ferromem.SQLiteMemory(
            d / "hybrid.db", embedder=ferromem.embedders.HashingEmbedder(256), hybrid=True, **kw
        )
    ),
    "jsonfile-vector": lambda d: (
        lambda **kw: ferromem.JSONFileMemory(
            d / "vector.json", embedder=ferromem.embedders.HashingEmbedder(256), **kw
        )
    ),
    "sqlite-sealed": lambda d: (
        lambda **kw: ferromem.SQLiteMemory(
            d / "sealed.db", compression=True, encryption_key="s3cret", **kw
        )
    ),
}


#: Backends whose memory survives closing and reopening it.
DURABLE = sorted(name for name in BACKENDS if name.startswith(("sqlite", "jsonfile", "redis")))


def reopen_kwargs(name: str) -> dict[str, Any]:
    """Extra arguments a backend needs to reopen the same store (none so far)."""
    return {}
