"""`BufferMemory`: the most recent turns of each session within a token budget."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from ..base import TokenCounter
from ..message import DEFAULT_SESSION, Message
from .dict_memory import check_positive_int
from .in_memory import InMemoryBackend

__all__ = ["BufferMemory"]


class BufferMemory(InMemoryBackend):
    """Keeps each session's newest turns within ``max_tokens``; the oldest drop out first.

    Tokens are counted by ``token_counter`` (any ``str -> int`` callable, e.g. a tiktoken
    encoder's ``lambda s: len(enc.encode(s))``) or by ferromem's fast cl100k estimate. The newest
    message always stays, even when it alone is over the budget; :meth:`get_context` then cuts
    it and marks it ``[truncated]``. ``get_stats()["evicted_messages"]`` counts dropped turns.
    """

    def __init__(
        self,
        max_tokens: int = 2000,
        token_counter: TokenCounter | None = None,
        *,
        session_id: str = DEFAULT_SESSION,
    ) -> None:
        super().__init__(session_id=session_id, token_counter=token_counter)
        self.max_tokens = check_positive_int(max_tokens, "max_tokens")
        self._tokens: dict[str, int] = {}
        self._session_tokens: dict[str, int] = {}
        self._evicted = 0

    def _store(self, messages: Sequence[Message]) -> None:
        # Count before storing: a token_counter that raises must leave the buffer unchanged.
        counts = self._count_tokens_many([m.content for m in messages])
        super()._store(messages)
        for m, n in zip(messages, counts, strict=True):
            assert m.id is not None
            self._tokens[m.id] = n
            self._session_tokens[m.session_id] = self._session_tokens.get(m.session_id, 0) + n

    def _remove(self, session_id: str, ids: Collection[str]) -> int:
        present = [i for i in ids if i in self._tokens and self._by_id[i].session_id == session_id]
        removed = super()._remove(session_id, ids)
        for mid in present:
            self._session_tokens[session_id] -= self._tokens.pop(mid)
        if not self._count(session_id):
            self._session_tokens.pop(session_id, None)
        return removed

    def _clear(self, session_id: str) -> None:
        for mid in self._sessions.get(session_id, {}):
            self._tokens.pop(mid, None)
        self._session_tokens.pop(session_id, None)
        super()._clear(session_id)

    def _after_store(self, session_id: str) -> None:
        while (
            self._session_tokens.get(session_id, 0) > self.max_tokens
            and self._count(session_id) > 1
        ):
            oldest = self._oldest(session_id)
            assert oldest is not None and oldest.id is not None
            self._evicted += self._remove(session_id, [oldest.id])

    def _default_budget(self) -> int:
        return self.max_tokens

    def buffered_tokens(self, session_id: str | None = None) -> int:
        """Tokens currently held for a session (the bound one by default)."""
        return self._session_tokens.get(session_id or self.session_id, 0)

    def _extra_stats(self) -> dict[str, Any]:
        return {
            "max_tokens": self.max_tokens,
            "buffered_tokens": sum(self._session_tokens.values()),
            "evicted_messages": self._evicted,
        }
