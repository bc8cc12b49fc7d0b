"""`VectorEngine`: similarity search over the Rust HNSW index, with the embedder that fills it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .._core import HnswIndex
from ..embedders import Embedder, HashingEmbedder, embed_checked
from ..errors import InvalidArgumentError, InvalidTypeError
from ..message import Message
from .base import Engine, Ranking

__all__ = ["VectorEngine"]

_NO_ID = 2**64 - 1


def embedder_name(embedder: object) -> str:
    """A stable name for an embedder, recorded beside the vectors it made: its ``name``
    attribute when it has one (ferromem's embedders do), else its qualified class or function
    name with its dimension."""
    name = getattr(embedder, "name", None)
    if isinstance(name, str) and name:
        return name
    if isinstance(embedder, HashingEmbedder):
        return f"hashing:{embedder.dimension}"
    target = embedder if hasattr(embedder, "__qualname__") else type(embedder)
    qual = f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', '?')}"
    dim = getattr(embedder, "dimension", None)
    return f"{qual}:{dim}" if isinstance(dim, int) else qual


def _positive(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"{name} must be an int, not {type(value).__name__}")
    if not 0 < value <= 2**31 - 1:
        raise InvalidArgumentError(f"{name} must be in 1..{2**31 - 1}, got {value}")
    return value


class VectorEngine(Engine):
    """Embeds messages with ``embedder`` and finds them by similarity in an HNSW index.

    A hit's score is the similarity: ``1 - distance`` for ``cosine`` and ``ip``, ``1 / (1 +
    distance)`` for ``l2``. Hits below ``similarity_threshold``, or at or below the embedder's
    ``min_similarity`` noise floor, are dropped. Texts that embed to the zero vector (no words)
    are not indexed under cosine: nothing is similar to them. Session scoping is exact: the
    search is filtered inside the index (exact search when the session is a small part of it).
    """

    name = "vector"

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        dimension: int | None = None,
        metric: str = "cosine",
        M: int = 16,
        ef_construction: int = 200,
        ef_search: int = 64,
        similarity_threshold: float = 0.0,
    ) -> None:
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
            dimension = _positive(dimension, "dimension")
            if isinstance(declared, int) and declared != dimension:
                raise InvalidArgumentError(
                    f"dimension={dimension} differs from the embedder's dimension {declared}"
                )
        elif isinstance(declared, int):
            dimension = declared
        self.dimension = dimension
        self.metric = metric
        self.M = _positive(M, "M")
        self.ef_construction = _positive(ef_construction, "ef_construction")
        self.ef_search = _positive(ef_search, "ef_search")
        self.similarity_threshold = float(similarity_threshold)
        floor = getattr(self.embedder, "min_similarity", None)
        self._noise_floor = float(floor) if isinstance(floor, (int, float)) else None
        self.index: HnswIndex | None = None
        if dimension is not None:
            self.index = HnswIndex(dimension, metric, M, ef_construction)

    @property
    def embedder_name(self) -> str:
        """The embedder's stable name (recorded with stored vectors)."""
        return embedder_name(self.embedder)

    def settings(self) -> dict[str, Any]:
        return {
            "embedder": self.embedder_name,
            "dimension": self.dimension,
            "metric": self.metric,
            "M": self.M,
            "ef_construction": self.ef_construction,
        }

    # ------------------------------------------------------------------ vectors
    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """The embedder's vectors for ``texts``, checked (shape, finite values)."""
        vectors = embed_checked(self.embedder, texts, self.dimension)
        if self.dimension is None and len(texts):
            self.dimension = int(vectors.shape[1])
        return vectors

    def _ensure_index(self, dim: int) -> HnswIndex:
        if self.index is None:
            self.dimension = dim
            self.index = HnswIndex(dim, self.metric, self.M, self.ef_construction)
        return self.index

    def add(self, keys: Sequence[int], messages: Sequence[Message], vectors: Any = None) -> None:
        if not len(keys):
            return
        if vectors is None:
            vectors = self.embed([m.content for m in messages])
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index = self._ensure_index(int(vectors.shape[1]))
        arr = np.asarray(keys, dtype=np.uint64)
        groups = [m.session_id for m in messages]
        if self.metric == "cosine":
            has_direction = np.any(vectors != 0.0, axis=1)
            if not has_direction.all():
                arr, vectors = arr[has_direction], vectors[has_direction]
                groups = [g for g, keep in zip(groups, has_direction.tolist(), strict=True) if keep]
        if len(arr):
            index.add(arr, vectors, groups=groups)

    def remove(self, keys: Sequence[int]) -> None:
        index = self.index
        if index is None:
            return
        present = [k for k in keys if k in index]
        if present:
            index.remove(np.asarray(present, dtype=np.uint64))

    def clear(self) -> None:
        if self.dimension is not None:
            self.index = HnswIndex(self.dimension, self.metric, self.M, self.ef_construction)

    def save(self, path: Path) -> None:
        """Writes the index to ``path`` (the shared envelope, replaced atomically)."""
        if self.index is not None:
            self.index.save(path)

    def load(self, path: Path) -> None:
        """Replaces the index (with its sessions) with the one saved at ``path``; a damaged file
        raises and changes nothing."""
        index = HnswIndex.load(path)
        if index.metric != self.metric or (
            self.dimension is not None and index.dim != self.dimension
        ):
            raise InvalidArgumentError(f"{path}: the snapshot's metric or dimension differ")
        self.index = index
        self.dimension = index.dim

    def __contains__(self, key: int) -> bool:
        return self.index is not None and key in self.index

    def session_of(self, key: int) -> str | None:
        """The session of an indexed key."""
        return self.index.group_of(key) if self.index is not None else None

    def __len__(self) -> int:
        return len(self.index) if self.index is not None else 0

    def memory_bytes(self) -> int:
        return int(self.index.memory_usage_bytes()) if self.index is not None else 0

    def stored_vectors(self, keys: Sequence[int]) -> npt.NDArray[np.float32] | None:
        """The index's vectors of these keys (for a store that keeps none), or None."""
        if self.index is None or not len(keys):
            return None
        vectors: npt.NDArray[np.float32] = self.index.get_vectors(np.asarray(keys, dtype=np.uint64))
        return vectors

    # ------------------------------------------------------------------ search
    def _score(self, distance: float) -> float:
        return 1.0 / (1.0 + distance) if self.metric == "l2" else 1.0 - distance

    def search_vector(
        self, vector: npt.NDArray[np.float32], sessions: Sequence[str] | None, k: int
    ) -> Ranking:
        """The best ``k`` keys for a query vector within ``sessions`` (None: every session):
        the sessions are groups of the index, searched exactly when they are small."""
        index = self.index
        if index is None or not len(index) or k <= 0:
            return []
        if self.metric == "cosine" and not np.any(vector):
            return []
        if sessions is None:
            reachable = len(index)
            scope: dict[str, Any] = {}
        else:
            reachable = sum(index.group_len(s) for s in sessions)
            scope = {"group": sessions[0]} if len(sessions) == 1 else {"groups": list(sessions)}
        k = min(k, reachable)
        if k <= 0:
            return []
        found, dists = index.search(vector.reshape(1, -1), k, max(self.ef_search, k), **scope)
        out: Ranking = []
        for key, d in zip(found[0].tolist(), dists[0].tolist(), strict=True):
            if key == _NO_ID:
                break
            score = self._score(d)
            if score < self.similarity_threshold:
                continue
            if self._noise_floor is not None and score <= self._noise_floor:
                continue
            out.append((key, score))
        return out

    def search(self, query: str, sessions: Sequence[str] | None, k: int) -> Ranking:
        """The best ``k`` keys for a text query (embedded first)."""
        if self.index is None or not len(self.index):
            return []
        return self.search_vector(self.embed([query])[0], sessions, k)
