"""`VectorMemory`: semantic search over the in-process store with the vector engine (Rust HNSW),
optionally fused with the keyword engine (``hybrid=True``)."""

from __future__ import annotations

from typing import Any

from ..base import TokenCounter
from ..checks import check_positive_int, check_weight
from ..embedders import Embedder
from ..engines.keyword import KeywordEngine
from ..engines.vector import VectorEngine
from .in_memory import InMemoryBackend

__all__ = ["VectorMemory"]

#: Shares of the previous and next turn's BM25 score that the keyword engine adds to a turn in
#: the hybrid (IndexedMemory's defaults).
KEYWORD_NEIGHBOURS = (0.3, 0.1)


class VectorMemory(InMemoryBackend):
    """Messages in process memory, searched by embedding similarity through an HNSW index.

    ``embedder`` maps a list of texts to a float32 array ``(n, dim)``; the default is the
    built-in :class:`~ferromem.embedders.HashingEmbedder` (no model, no network); for meaning,
    :class:`~ferromem.embedders.LocalEmbedder`. A hit's score is the similarity ``1 - distance``
    for ``cosine`` and ``ip``, ``1 / (1 + distance)`` for ``l2``; hits below
    ``similarity_threshold`` (or below the embedder's ``min_similarity`` noise floor) are
    dropped. ``max_results`` is the number of hits :meth:`search` returns when no ``limit`` is
    given (an explicit ``limit`` is honoured).

    With ``hybrid=True`` the vector ranking is fused with a neighbour-aware BM25 ranking from the
    keyword engine (see :func:`ferromem.fusion.fuse`); the score is the fused score.

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
        session_id: str | None = None,
        token_counter: TokenCounter | None = None,
    ) -> None:
        vector = VectorEngine(
            embedder,
            dimension=dimension,
            metric=metric,
            M=M,
            ef_construction=ef_construction,
            ef_search=ef_search,
            similarity_threshold=similarity_threshold,
        )
        keyword = KeywordEngine(neighbour_weights=KEYWORD_NEIGHBOURS) if hybrid else None
        super().__init__(
            session_id=session_id,
            token_counter=token_counter,
            keyword=keyword,
            vector=vector,
            hybrid=bool(hybrid),
            keyword_weight=check_weight(keyword_weight, "keyword_weight"),
            neighbour_weight=check_weight(neighbour_weight, "neighbour_weight"),
        )
        self.default_search_limit = check_positive_int(max_results, "max_results")
        self._vector = vector
        self.hybrid = bool(hybrid)
        self.keyword_weight = float(keyword_weight)
        self.neighbour_weight = float(neighbour_weight)

    def _settings(self) -> dict[str, Any]:
        vector = self._vector
        return {
            "dimension": vector.dimension,
            "metric": vector.metric,
            "similarity_threshold": vector.similarity_threshold,
            "max_results": self.default_search_limit,
            "M": vector.M,
            "ef_construction": vector.ef_construction,
            "ef_search": vector.ef_search,
            "hybrid": self.hybrid,
            "keyword_weight": self.keyword_weight,
            "neighbour_weight": self.neighbour_weight,
        }

    @property
    def max_results(self) -> int:
        """Hits a search returns when no ``limit`` is given."""
        return self.default_search_limit

    @property
    def embedder(self) -> Embedder:
        """The embedder that makes the vectors."""
        return self._vector.embedder

    @property
    def dimension(self) -> int | None:
        """The vectors' dimension (known once the first vector is made, when not declared)."""
        return self._vector.dimension

    @property
    def metric(self) -> str:
        """``cosine``, ``ip`` or ``l2``."""
        return self._vector.metric

    @property
    def similarity_threshold(self) -> float:
        """Hits below this similarity are dropped."""
        return self._vector.similarity_threshold

    def _extra_stats(self) -> dict[str, Any]:
        return {}
