"""`EngineSet`: a memory's engines, kept in step with its store.

Writes made through the memory reach the engines at once (``on_write``). Writes made elsewhere
(another process on the same SQLite file or Redis server) are found through the store's change
feed: before each read, every partition in scope is checked against the version the engines have
seen and caught up from the changes since, or rebuilt from the store when it cannot say.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..fusion import fuse
from ..message import Message
from ..stores.base import Partition, Store, Vectors, WriteResult
from .base import Engine, Ranking
from .keyword import KeywordEngine
from .vector import VectorEngine

__all__ = ["EngineSet"]

_log = logging.getLogger("ferromem")
_UNSEEN = object()


class EngineSet:
    """The keyword and vector engines of one memory (either may be absent) over its store."""

    def __init__(
        self,
        store: Store,
        *,
        keyword: KeywordEngine | None = None,
        vector: VectorEngine | None = None,
        hybrid: bool = False,
        keyword_weight: float = 0.9,
        neighbour_weight: float = 0.2,
    ) -> None:
        self.store = store
        self.keyword = keyword
        self.vector = vector
        self.hybrid = hybrid and keyword is not None and vector is not None
        self.keyword_weight = keyword_weight
        self.neighbour_weight = neighbour_weight
        self.seen: dict[Partition, Any] = {}
        # Keys per partition, for stores whose partitions are rebuilt one at a time (Redis).
        self._partition_keys: dict[str, set[int]] = {}
        self.rebuilds = 0
        self._stamped = False
        # Sessions' key orders read from the store for neighbour lookups, kept until the
        # engines change (a hybrid search over many sessions would otherwise read them all
        # again for every query).
        self._orders: dict[str, tuple[list[int], dict[int, int]]] = {}

    @property
    def engines(self) -> list[Engine]:
        """The engines present, keyword first."""
        return [e for e in (self.keyword, self.vector) if e is not None]

    @property
    def tracked(self) -> bool:
        """Whether the store reports versions, so that engines can be kept (a user's primitive
        backend does not: its searches index the messages in scope each time)."""
        return self.store.version(None) is not None or self.store.partitions(None) != [None]

    # ------------------------------------------------------------------ keeping in step
    def _index(self, keys: Sequence[int], messages: Sequence[Message], vectors: Any) -> None:
        if not len(keys):
            return
        self._orders.clear()
        for engine in self.engines:
            engine.add(keys, messages, vectors if engine is self.vector else None)

    def _drop(self, keys: Sequence[int]) -> None:
        if keys:
            self._orders.clear()
            for engine in self.engines:
                engine.remove(keys)

    def _note_keys(self, partition: Partition, keys: Sequence[int], *, add: bool) -> None:
        if partition is None:
            return
        group = self._partition_keys.setdefault(partition, set())
        if add:
            group.update(keys)
        else:
            group.difference_update(keys)

    def on_write(
        self, result: WriteResult, messages: Sequence[Message], vectors: Vectors | None
    ) -> None:
        """Applies a write made through the memory, per partition, where the engines stood
        just before it; elsewhere the change feed will bring it."""
        if not self.engines:
            return
        stored = [(k, i) for i, k in enumerate(result.keys) if k is not None]
        for partition, (before, after) in result.versions.items():
            if self.seen.get(partition, _UNSEEN) != before:
                continue
            picked = [
                (k, i)
                for k, i in stored
                if partition is None or messages[i].session_id == partition
            ]
            removed = result.removed
            if partition is not None:
                removed = [k for k in removed if k in self._partition_keys.get(partition, ())]
            self._drop(removed)
            self._note_keys(partition, removed, add=False)
            keys = [k for k, _ in picked]
            rows = [i for _, i in picked]
            self._index(
                keys,
                [messages[i] for i in rows],
                vectors[rows] if vectors is not None and rows else None,
            )
            self._note_keys(partition, keys, add=True)
            self.seen[partition] = after

    def sync(self, sessions: Sequence[str] | None) -> None:
        """Brings the engines up to date for ``sessions`` (None: every session)."""
        if not self.engines:
            return
        store = self.store
        for partition in store.partitions(sessions):
            version = store.version(partition)
            seen = self.seen.get(partition, _UNSEEN)
            if seen == version and seen is not _UNSEEN:
                continue
            changes = None if seen is _UNSEEN else store.changes(partition, seen)
            if changes is None:
                self._rebuild(partition)
                continue
            self._drop(changes.removed)
            self._note_keys(partition, changes.removed, add=False)
            fresh = [k for k in changes.added if not self._has(k)]
            if fresh:
                found = store.get(fresh)
                pairs = [(k, m) for k, m in zip(fresh, found, strict=True) if m is not None]
                keys = [k for k, _ in pairs]
                msgs = [m for _, m in pairs]
                self._index(keys, msgs, self._vectors_for(keys, msgs))
                self._note_keys(partition, keys, add=True)
            self.seen[partition] = changes.version

    def _has(self, key: int) -> bool:
        engine = self.keyword or self.vector
        return engine is not None and key in engine

    def _vectors_for(
        self, keys: Sequence[int], messages: Sequence[Message] | None = None
    ) -> Vectors | None:
        """The stored vectors of these keys; rows the store lacks (NaN: stored before an
        embedder was set) are embedded once and written back, so that they are never embedded
        again. None when there is no vector engine (or the store keeps no vectors: the engine
        then embeds)."""
        if self.vector is None or not keys:
            return None
        vectors = self.store.vectors(keys)
        if vectors is None:
            return None
        missing = np.isnan(vectors).any(axis=1)
        if missing.any():
            if messages is None:
                found = self.store.get(keys)
                messages = [m for m in found if m is not None]
                if len(messages) != len(keys):
                    return None
            rows: list[int] = np.flatnonzero(missing).tolist()
            fresh = self.vector.embed([messages[i].content for i in rows])
            vectors[rows] = fresh
            self.stamp_embedder()
            self.store.write_vectors([keys[i] for i in rows], fresh)
        return vectors

    # ------------------------------------------------------------------ the embedder's stamp
    def stamp_embedder(self) -> None:
        """Records the embedder's name and dimension with the store (once)."""
        vector = self.vector
        if vector is None or self._stamped or not self.store.keeps_vectors:
            return
        if vector.dimension is None:
            return
        if self.store.read_setting("embedder") is None:
            self.store.write_setting("dimension", str(vector.dimension))
            self.store.write_setting("embedder", vector.embedder_name)
        self._stamped = True

    def check_embedder(self, *, reembed: bool) -> None:
        """Refuses an embedder other than the one the store's vectors were made with (a silent
        mix of vector spaces would make every similarity meaningless), unless ``reembed``: then
        every message is embedded again now and the new embedder recorded."""
        vector = self.vector
        store = self.store
        if vector is None or not store.keeps_vectors:
            return
        name, dim = store.read_setting("embedder"), store.read_setting("dimension")
        if name is None:
            return
        if vector.dimension is None and dim is not None and dim.isdigit():
            vector.dimension = int(dim)
        same = name == vector.embedder_name and dim == str(vector.dimension)
        if same:
            self._stamped = True
            return
        if not reembed:
            raise InvalidArgumentError(
                f"{store.describe()} holds vectors made by {name} (dimension {dim}); this "
                f"memory's embedder is {vector.embedder_name} (dimension {vector.dimension}). "
                "Open it with the same embedder, or pass reembed=True to embed every message "
                "again with the new one"
            )
        self.reembed()

    def reembed(self, batch: int = 256) -> int:
        """Embeds every stored message again with the current embedder, records it, and
        rebuilds the engines. Returns how many messages were embedded."""
        vector = self.vector
        if vector is None:
            return 0
        done = 0
        for partition in self.store.partitions(None):
            loaded = self.store.load(partition)
            for i in range(0, len(loaded.keys), batch):
                keys = loaded.keys[i : i + batch]
                texts = [m.content for m in loaded.messages[i : i + batch]]
                fresh = vector.embed(texts)
                self.store.write_vectors(keys, fresh)
                done += len(keys)
        if vector.dimension is not None:
            self.store.write_setting("dimension", str(vector.dimension))
        self.store.write_setting("embedder", vector.embedder_name)
        self._stamped = True
        self.reset()
        return done

    def _rebuild(self, partition: Partition) -> None:
        """Indexes a partition afresh from the store (its vectors as stored: never re-embeds
        what the store keeps)."""
        if partition is None:
            for engine in self.engines:
                engine.clear()
            self._partition_keys.clear()
            self._orders.clear()
        else:
            old = self._partition_keys.pop(partition, set())
            self._drop(list(old))
        loaded = self.store.load(partition)
        if self.seen.get(partition, _UNSEEN) is not _UNSEEN:
            self.rebuilds += 1
            _log.info("ferromem: rebuilding the engines of %s from the store", partition or "it")
        vectors = loaded.vectors
        if vectors is not None and self.vector is not None and np.isnan(vectors).any():
            vectors = self._vectors_for(loaded.keys, loaded.messages)
        self._index(loaded.keys, loaded.messages, vectors)
        self._note_keys(partition, loaded.keys, add=True)
        self.seen[partition] = loaded.version

    def start_empty(self) -> None:
        """Declares the engines up to date with the store as it is now (a new, empty store):
        writes then reach them at once, with no rebuild on the first search."""
        for partition in self.store.partitions(None):
            self.seen[partition] = self.store.version(partition)

    def invalidate_orders(self) -> None:
        """Forgets the sessions' key orders (a write reached the engines another way)."""
        self._orders.clear()

    def reset(self) -> None:
        """Forgets what was seen: the next read rebuilds from the store."""
        self.seen.clear()
        self._orders.clear()

    # ------------------------------------------------------------------ search
    def session_of(self, key: int) -> str | None:
        """The session of an indexed key, when an engine knows it (no store read)."""
        return self.vector.session_of(key) if self.vector is not None else None

    def session_order(self, session_id: str) -> tuple[list[int], dict[int, int]]:
        """A session's keys in chronological order and each key's position (read from the
        store once, kept until the engines change)."""
        if session_id not in self._orders:
            keys = self.store.session_keys(session_id)
            self._orders[session_id] = (keys, {k: i for i, k in enumerate(keys)})
        return self._orders[session_id]

    def ranking(
        self,
        query: str | None,
        vector: Vectors | None,
        sessions: Sequence[str] | None,
        k: int,
        neighbours: Any,
    ) -> Ranking:
        """The best ``k`` keys for a text query (or a query vector), by the engines present:
        hybrid fusion when both are, else the one that is."""
        if vector is not None:
            if self.vector is None:
                return []
            return self.vector.search_vector(vector, sessions, k)
        assert query is not None
        if self.hybrid:
            assert self.keyword is not None and self.vector is not None
            depth = max(4 * k, 50)
            return fuse(
                self.keyword.search(query, sessions, depth),
                self.vector.search(query, sessions, depth),
                keyword_weight=self.keyword_weight,
                neighbour_weight=self.neighbour_weight,
                neighbours=lambda key: [n for n in neighbours(key) if n is not None],
                limit=k,
            )
        if self.vector is not None and self.keyword is None:
            return self.vector.search(query, sessions, k)
        if self.keyword is not None:
            return self.keyword.search(query, sessions, k)
        return []

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {"engines": [e.name for e in self.engines]}
        if self.keyword is not None:
            out["indexed_messages"] = len(self.keyword)
            out["index_bytes"] = self.keyword.memory_bytes()
        if self.vector is not None:
            out["vectors"] = len(self.vector)
            out["dimension"] = self.vector.dimension
            out["metric"] = self.vector.metric
            out["embedder"] = self.vector.embedder_name
        out["hybrid"] = self.hybrid
        return out
