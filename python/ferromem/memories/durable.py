"""The engines of a durable memory (SQLite, Redis, JSON file): keyword search by default;
with an embedder, search by meaning (fused with keywords when ``hybrid``), with the embedder's
name and dimension recorded in the store so that vectors of two models never mix."""

from __future__ import annotations

from ..embedders import Embedder
from ..engines.engine_set import EngineSet
from ..engines.keyword import KeywordEngine
from ..engines.vector import VectorEngine
from ..stores.base import Store

__all__ = ["EF_CONSTRUCTION", "KEYWORD_NEIGHBOURS", "durable_engines"]

#: The HNSW candidate list while a durable memory's vector index is built: Chroma's and
#: Qdrant's default (hnswlib's is 200). Insertion dominates ingest with vectors and costs about
#: linearly in it; a search within a session is exact whatever it is, and an all-sessions
#: search measured the same recall@10 at 100 as at 200 on LoCoMo sentence vectors
#: (docs/results/hnsw_ingest.md).
EF_CONSTRUCTION = 100

#: Shares of the previous and next turn's BM25 score that the hybrid's keyword ranking adds to a
#: turn (as in VectorMemory).
KEYWORD_NEIGHBOURS = (0.3, 0.1)


def durable_engines(
    store: Store,
    *,
    embedder: Embedder | None,
    hybrid: bool,
    reembed: bool,
    keyword_weight: float = 0.9,
    neighbour_weight: float = 0.2,
    similarity_threshold: float = 0.0,
) -> EngineSet:
    """Keyword engine alone without an embedder (the IndexedMemory defaults); with one, the
    vector engine (plus a keyword engine when ``hybrid``), checked against the embedder the
    store's vectors were made with (see :meth:`EngineSet.check_embedder`)."""
    if embedder is None:
        engines = EngineSet(store, keyword=KeywordEngine())
        _fresh(engines)
        return engines
    vector = VectorEngine(
        embedder, ef_construction=EF_CONSTRUCTION, similarity_threshold=similarity_threshold
    )
    keyword = KeywordEngine(neighbour_weights=KEYWORD_NEIGHBOURS) if hybrid else None
    engines = EngineSet(
        store,
        keyword=keyword,
        vector=vector,
        hybrid=hybrid,
        keyword_weight=keyword_weight,
        neighbour_weight=neighbour_weight,
    )
    engines.check_embedder(reembed=reembed)
    _fresh(engines)
    return engines


def _fresh(engines: EngineSet) -> None:
    """A new, empty store: the engines are in step from the start, so that writes reach them
    at once instead of a rebuild at the first search."""
    if not engines.store.remote and engines.store.count() == 0:
        engines.start_empty()
