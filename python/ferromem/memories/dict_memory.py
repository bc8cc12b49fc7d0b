"""`DictMemory`: the simplest in-process memory, with a per-session cap."""

from __future__ import annotations

from typing import Any

from ..base import TokenCounter
from ..checks import check_positive_int
from .in_memory import InMemoryBackend

__all__ = ["DictMemory", "check_positive_int"]


class DictMemory(InMemoryBackend):
    """In-process memory: fast, simple, gone when the process ends.

    Each session keeps at most ``max_messages`` messages; adding more drops the oldest, and
    ``get_stats()["evicted_messages"]`` counts them. Searches use the keyword engine, built on
    the first search.
    """

    saved_settings = ("max_messages",)

    def __init__(
        self,
        max_messages: int = 1000,
        *,
        session_id: str | None = None,
        token_counter: TokenCounter | None = None,
    ) -> None:
        super().__init__(session_id=session_id, token_counter=token_counter, index_eagerly=False)
        self.max_messages = check_positive_int(max_messages, "max_messages")
        self._evicted = 0

    def _after_store(self, session_id: str) -> None:
        excess = self._memory_store.count(session_id) - self.max_messages
        if excess > 0:
            self._evicted += self._delete_keys(self._memory_store.oldest_keys(session_id, excess))

    def _extra_stats(self) -> dict[str, Any]:
        return {"max_messages": self.max_messages, "evicted_messages": self._evicted}
