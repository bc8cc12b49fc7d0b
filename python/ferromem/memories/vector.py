"""`VectorMemory`: semantic search over the dict store with the Rust HNSW index, optionally
fused with the Rust keyword index (``hybrid=True``)."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .._core import HnswIndex, KeywordIndex
from ..base import TokenCounter
from ..embedders import Embedder, HashingEmbedder, embed_checked
from ..errors import InvalidArgumentError, InvalidTypeError
from ..fusion import fuse
from ..message import DEFAULT_SESSION, Hit, Message
from .dict_memory import check_positive_int
from .in_memory import InMemoryBackend

__all__ = ["VectorMemory"]

#: Shares of the previous and next turn's BM25 score that the keyword engine adds to a turn
#: (IndexedMemory's defaults).
KEYWORD_NEIGHBOURS = (0.3, 0.1)
#: BM25's length normalisation, as IndexedMemory (which also indexes each turn's role).
KEYWORD_B = 0.3


class VectorMemory(InMemoryBackend):
    """Messages in process memory, searched by embedding similarity through an HNSW index.

    ``embedder`` maps a list of texts to a float32 array ``(n, dim)``; the default is the
    built-in :class:`~ferromem.embedders.HashingEmbedder` (no model, no network). A hit's score
    is the similarity ``1 - distance`` for ``cosine`` and ``ip``, ``1 / (1 + distance)`` for
    ``l2``; hits below ``similarity_threshold`` (or below the embedder's ``min_similarity``
    noise floor) are dropped, and at most ``max_results`` come back per search.

    With ``hybrid=True`` the vector ranking is fused with a neighbour-aware BM25 ranking from the
    Rust keyword index: each ranking's scores are scaled to its best hit and mixed
    ``keyword_weight : 1 - keyword_weight``, and every hit lends ``neighbour_weight`` of its
    score to the turns right before and after it in its session (in a dialogue the answer sits
    next to the question).
    The score is the fused score.

    Session scoping is exact: a search is filtered to the session's vectors inside the index
    (exact search when the session is a small part of the index). Texts that embed to the zero
    vector (no words) are stored but cannot be found by similarity.
    """

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        dimension: int | None = None,
        metric: str = "cosine",
        similarity_threshold: float = 0.0,
        max_results: int = 10,
        M: int = 16,
        ef_construction: int = 200,
        ef_search: int = 64,
        hybrid: bool = False,
        keyword_weight: float = 0.9,
        neighbour_weight: float = 0.2,
        session_id: str = DEFAULT_SESSION,
        token_counter: TokenCounter | None = None,
    ) -> None:
        super().__init__(session_id=session_id, token_counter=token_counter)
        if embedder is not None and not callable(embedder):
            raise InvalidTypeError(f"embedder must be callable, not {type(embedder).__name__}")
        if metric not in ("cosine", "ip", "l2"):
            raise InvalidArgumentError(f"metric must be 'cosine', 'ip' or 'l2', got {metric!r}")
        if isinstance(similarity_threshold, bool) or not isinstance(
            similarity_threshold, (int, float)
        ):
            raise InvalidTypeError(
                f"similarity_threshold must be a float, not {type(similarity_threshold).__name__}"
            )
        if math.isnan(similarity_threshold):
            raise InvalidArgumentError("similarity_threshold must not be NaN")
        self.embedder: Embedder = embedder if embedder is not None else HashingEmbedder()
        declared = getattr(self.embedder, "dimension", None)
        if dimension is not None:
            dimension = check_positive_int(dimension, "dimension")
            if isinstance(declared, int) and declared != dimension:
                raise InvalidArgumentError(
                    f"dimension={dimension} differs from the embedder's dimension {declared}"
                )
        elif isinstance(declared, int):
            dimension = declared
        self.dimension = dimension
        self.metric = metric
        self.similarity_threshold = float(similarity_threshold)
        self.max_results = check_positive_int(max_results, "max_results")
        self.M = check_positive_int(M, "M")
        self.ef_construction = check_positive_int(ef_construction, "ef_construction")
        self.ef_search = check_positive_int(ef_search, "ef_search")
        self.hybrid = bool(hybrid)
        for name, w in (("keyword_weight", keyword_weight), ("neighbour_weight", neighbour_weight)):
            if isinstance(w, bool) or not isinstance(w, (int, float)):
                raise InvalidTypeError(f"{name} must be a float, not {type(w).__name__}")
            if not 0.0 <= w <= 1.0:
                raise InvalidArgumentError(f"{name} must be in [0, 1], got {w}")
        self.keyword_weight = float(keyword_weight)
        self.neighbour_weight = float(neighbour_weight)
        floor = getattr(self.embedder, "min_similarity", None)
        self._noise_floor = float(floor) if isinstance(floor, (int, float)) else None
        self._index: HnswIndex | None = None
        if dimension is not None:
            self._index = HnswIndex(dimension, metric, M, ef_construction)
        self._keywords = KeywordIndex(b=KEYWORD_B) if self.hybrid else None
        self._key_of: dict[str, int] = {}
        self._by_key: dict[int, Message] = {}
        self._vectored: set[int] = set()
        self._next_key = 0

    # ----------------------------------------------------------------- storage
    def _embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return embed_checked(self.embedder, texts, self.dimension)

    def _store(self, messages: Sequence[Message]) -> None:
        # Embed and index first: a bad embedding raises before anything is stored.
        vectors = self._embed([m.content for m in messages])
        if self._index is None:
            self.dimension = int(vectors.shape[1])
            self._index = HnswIndex(self.dimension, self.metric, self.M, self.ef_construction)
        keys = np.arange(self._next_key, self._next_key + len(messages), dtype=np.uint64)
        has_direction = np.any(vectors != 0.0, axis=1) if self.metric == "cosine" else None
        if has_direction is not None and not has_direction.all():
            self._index.add(keys[has_direction], vectors[has_direction])
            indexed = keys[has_direction].tolist()
        else:
            self._index.add(keys, vectors)
            indexed = keys.tolist()
        if self._keywords is not None:
            self._keywords.add(
                keys,
                [f"{m.role} {m.content}" for m in messages],
                groups=[m.session_id for m in messages],
            )
        self._next_key += len(messages)
        self._vectored.update(indexed)
        for key, m in zip(keys.tolist(), messages, strict=True):
            assert m.id is not None
            self._key_of[m.id] = key
            self._by_key[key] = m
        super()._store(messages)

    def _unindex(self, ids: Collection[str]) -> None:
        keys = [self._key_of.pop(mid) for mid in ids if mid in self._key_of]
        if not keys:
            return
        vectored = [k for k in keys if k in self._vectored]
        if vectored and self._index is not None:
            self._index.remove(np.asarray(vectored, dtype=np.uint64))
            self._vectored.difference_update(vectored)
        if self._keywords is not None:
            self._keywords.remove(np.asarray(keys, dtype=np.uint64))
        for k in keys:
            del self._by_key[k]

    def _remove(self, session_id: str, ids: Collection[str]) -> int:
        session = self._sessions.get(session_id, {})
        self._unindex([mid for mid in ids if mid in session])
        return super()._remove(session_id, ids)

    def _clear(self, session_id: str) -> None:
        self._unindex(list(self._sessions.get(session_id, {})))
        super()._clear(session_id)

    # ----------------------------------------------------------------- search
    def _allowed(
        self, sessions: list[str], filters: Mapping[str, Any] | None
    ) -> npt.NDArray[np.uint64] | None:
        """Keys the search may return, or None when that is everything in the index."""
        if not filters and sum(self._count(s) for s in sessions) == len(self._key_of):
            return None
        keys = []
        for sid in sessions:
            for m in self._sessions.get(sid, {}).values():
                if filters and not all(
                    k in m.metadata and m.metadata[k] == v for k, v in filters.items()
                ):
                    continue
                assert m.id is not None
                keys.append(self._key_of[m.id])
        return np.asarray(keys, dtype=np.uint64)

    def _score(self, distance: float) -> float:
        return 1.0 / (1.0 + distance) if self.metric == "l2" else 1.0 - distance

    def _vector_ranking(
        self, query: str, allowed: npt.NDArray[np.uint64] | None, k: int
    ) -> list[tuple[int, float]]:
        index = self._index
        if index is None or len(index) == 0:
            return []
        q = self._embed([query])
        if self.metric == "cosine" and not np.any(q):
            return []
        reachable = len(index) if allowed is None else len(allowed)
        k = min(k, len(index), reachable)
        if k <= 0:
            return []
        keys, dists = index.search(q, k, max(self.ef_search, k), allowed_ids=allowed)
        out = []
        for key, d in zip(keys[0].tolist(), dists[0].tolist(), strict=True):
            if key == 2**64 - 1:
                break
            score = self._score(d)
            if score < self.similarity_threshold:
                continue
            if self._noise_floor is not None and score <= self._noise_floor:
                continue
            out.append((key, score))
        return out

    def _keyword_ranking(
        self, query: str, sessions: list[str], allowed: npt.NDArray[np.uint64] | None, k: int
    ) -> list[tuple[int, float]]:
        assert self._keywords is not None
        allowed_set = None if allowed is None else set(allowed.tolist())
        fetch = k if allowed_set is None else k * 4
        groups: list[str | None] = [None] if allowed is None else list(sessions)
        out: list[tuple[int, float]] = []
        for group in groups:
            if group is not None and not self._keywords.group_len(group):
                continue
            keys, scores = self._keywords.search(
                query, fetch, group=group, neighbour_weights=KEYWORD_NEIGHBOURS
            )
            out.extend(
                (key, score)
                for key, score in zip(keys.tolist(), scores.tolist(), strict=True)
                if allowed_set is None or key in allowed_set
            )
        out.sort(key=lambda ks: -ks[1])
        return out[:k]

    def _search(
        self,
        query: str,
        sessions: list[str],
        limit: int,
        filters: Mapping[str, Any] | None,
    ) -> list[Hit]:
        n = min(limit, self.max_results)
        if n <= 0 or not self._key_of:
            return []
        allowed = self._allowed(sessions, filters)
        if allowed is not None and not len(allowed):
            return []
        if self._keywords is None:
            ranked = self._vector_ranking(query, allowed, n)
            return [Hit(self._by_key[key], score) for key, score in ranked]
        # Hybrid: ferromem.fusion.fuse mixes the two rankings and lets each hit lend a share
        # to the turns just before and after it in its session.
        depth = max(4 * n, 50)
        allowed_set = None if allowed is None else set(allowed.tolist())
        by_key = self._by_key

        def neighbours(key: int) -> list[int]:
            sid = by_key[key].session_id
            return [
                near
                for near in (key - 1, key + 1)
                if (m := by_key.get(near)) is not None
                and m.session_id == sid
                and (allowed_set is None or near in allowed_set)
            ]

        best = fuse(
            self._keyword_ranking(query, sessions, allowed, depth),
            self._vector_ranking(query, allowed, depth),
            neighbours=neighbours,
            keyword_weight=self.keyword_weight,
            neighbour_weight=self.neighbour_weight,
            limit=n,
        )
        return [Hit(by_key[key], score) for key, score in best]

    # ----------------------------------------------------------------- stats
    def _memory_usage_bytes(self) -> int:
        total = super()._memory_usage_bytes()
        if self._index is not None:
            total += self._index.memory_usage_bytes()
        if self._keywords is not None:
            total += self._keywords.memory_bytes()
        return total

    def _extra_stats(self) -> dict[str, Any]:
        return {
            "vectors": len(self._index) if self._index is not None else 0,
            "dimension": self.dimension,
            "metric": self.metric,
            "hybrid": self.hybrid,
            "embedder": repr(self.embedder),
        }
