"""`BufferMemory`: the most recent turns of each session within a token budget."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..base import TokenCounter
from ..checks import check_positive_int
from ..message import Message
from .in_memory import InMemoryBackend

__all__ = ["BufferMemory"]


class BufferMemory(InMemoryBackend):
    """Keeps each session's newest turns within ``max_tokens``; the oldest drop out first.

    Tokens are counted by ``token_counter`` (any ``str -> int`` callable, e.g. a tiktoken
    encoder's ``lambda s: len(enc.encode(s))``) or by ferromem's fast cl100k estimate. The newest
    message always stays, even when it alone is over the budget; :meth:`get_context` then cuts
    it and marks it ``[truncated]``. ``get_stats()["evicted_messages"]`` counts dropped turns.
    """

    saved_settings = ("max_tokens",)

    def __init__(
        self,
        max_tokens: int = 2000,
        token_counter: TokenCounter | None = None,
        *,
        session_id: str | None = None,
    ) -> None:
        super().__init__(session_id=session_id, token_counter=token_counter, index_eagerly=False)
        self.max_tokens = check_positive_int(max_tokens, "max_tokens")
        self._tokens: dict[str, int] = {}
        self._session_tokens: dict[str, int] = {}
        self._evicted = 0

    def _write(
        self, prepared: list[Message], on_conflict: Any = "error", vectors: Any = None
    ) -> Any:
        # Count before storing: a token_counter that raises must leave the buffer unchanged.
        self._counting = self._count_tokens_many([m.content for m in prepared])
        return super()._write(prepared, on_conflict, vectors)

    def _on_stored(self, messages: Sequence[Message], keys: Sequence[int | None]) -> None:
        counts = self.__dict__.pop("_counting", None)
        if counts is None or len(counts) != len(messages):  # restored by load()
            counts = self._count_tokens_many([m.content for m in messages])
        for m, n, key in zip(messages, counts, keys, strict=True):
            if key is None:
                continue
            assert m.id is not None
            self._tokens[m.id] = n
            self._session_tokens[m.session_id] = self._session_tokens.get(m.session_id, 0) + n

    def _on_removed(self, messages: Sequence[Message]) -> None:
        for m in messages:
            n = self._tokens.pop(m.id or "", 0)
            left = self._session_tokens.get(m.session_id, 0) - n
            if left > 0 or self._memory_store.count(m.session_id):
                self._session_tokens[m.session_id] = left
            else:
                self._session_tokens.pop(m.session_id, None)

    def _after_store(self, session_id: str) -> None:
        store = self._memory_store
        while (
            self._session_tokens.get(session_id, 0) > self.max_tokens
            and store.count(session_id) > 1
        ):
            self._evicted += self._delete_keys(store.oldest_keys(session_id, 1))

    def _default_budget(self) -> int:
        return self.max_tokens

    def buffered_tokens(self, session_id: str | None = None) -> int:
        """Tokens currently held for a session (the bound or default one by default)."""
        return self._session_tokens.get(session_id or self.session_id, 0)

    def _extra_stats(self) -> dict[str, Any]:
        return {
            "max_tokens": self.max_tokens,
            "buffered_tokens": sum(self._session_tokens.values()),
            "evicted_messages": self._evicted,
        }
