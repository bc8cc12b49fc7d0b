"""`InMemoryBackend`: a memory over the in-process store, the base of most in-process memories."""

from __future__ import annotations

from ..base import MemoryBackend, TokenCounter
from ..engines.engine_set import EngineSet
from ..engines.keyword import KeywordEngine
from ..engines.vector import VectorEngine
from ..message import Message
from ..stores.memory import MemoryStore
from .saving import SaveLoad

__all__ = ["InMemoryBackend"]


class InMemoryBackend(SaveLoad, MemoryBackend):
    """Messages in process memory (:class:`~ferromem.stores.memory.MemoryStore`), searched by
    the keyword engine (built on the first search when not given) and optionally a vector
    engine, fused when ``hybrid``."""

    def __init__(
        self,
        *,
        session_id: str | None = None,
        token_counter: TokenCounter | None = None,
        keyword: KeywordEngine | None = None,
        vector: VectorEngine | None = None,
        hybrid: bool = False,
        keyword_weight: float = 0.9,
        neighbour_weight: float = 0.2,
        index_eagerly: bool = True,
    ) -> None:
        store = MemoryStore()
        if keyword is None and (vector is None or hybrid):
            keyword = KeywordEngine()
        engines = EngineSet(
            store,
            keyword=keyword,
            vector=vector,
            hybrid=hybrid,
            keyword_weight=keyword_weight,
            neighbour_weight=neighbour_weight,
        )
        if index_eagerly:
            engines.start_empty()
        super().__init__(
            session_id=session_id, token_counter=token_counter, store=store, engines=engines
        )
        self._memory_store = store

    # ----------------------------------------------------------------- save and load
    def _saved_messages(self) -> list[tuple[int, Message]]:
        return self._memory_store.items()

    def _restore_messages(self, pairs: list[tuple[int, Message]]) -> bool:
        keys = self._memory_store.restore(pairs)
        self._on_stored([m for _, m in pairs], keys)
        return True
