"""`InMemoryBackend`: the dict store that most memories build on."""

from __future__ import annotations

import sys
from collections.abc import Collection, Sequence
from typing import Any

from ..base import MemoryBackend, TokenCounter
from ..message import DEFAULT_SESSION, Message

__all__ = ["InMemoryBackend"]


class InMemoryBackend(MemoryBackend):
    """Messages kept in process memory: per session an insertion-ordered dict of id -> Message,
    plus one id index, so that add, get by id and delete are O(1)."""

    def __init__(
        self, *, session_id: str = DEFAULT_SESSION, token_counter: TokenCounter | None = None
    ) -> None:
        super().__init__(session_id=session_id, token_counter=token_counter)
        self._sessions: dict[str, dict[str, Message]] = {}
        self._by_id: dict[str, Message] = {}

    def _store(self, messages: Sequence[Message]) -> None:
        sessions = self._sessions
        by_id = self._by_id
        for m in messages:
            assert m.id is not None
            session = sessions.get(m.session_id)
            if session is None:
                session = sessions[m.session_id] = {}
            session[m.id] = m
            by_id[m.id] = m

    def _load(self, session_id: str) -> list[Message]:
        session = self._sessions.get(session_id)
        return list(session.values()) if session else []

    def _session_ids(self) -> list[str]:
        return [sid for sid, msgs in self._sessions.items() if msgs]

    def _remove(self, session_id: str, ids: Collection[str]) -> int:
        session = self._sessions.get(session_id)
        if not session:
            return 0
        removed = 0
        for mid in ids:
            if session.pop(mid, None) is not None:
                del self._by_id[mid]
                removed += 1
        if not session:
            del self._sessions[session_id]
        return removed

    def _clear(self, session_id: str) -> None:
        session = self._sessions.pop(session_id, None)
        for mid in session or ():
            del self._by_id[mid]

    def _get(self, message_id: str) -> Message | None:
        return self._by_id.get(message_id)

    def _count(self, session_id: str) -> int:
        return len(self._sessions.get(session_id, ()))

    def _oldest(self, session_id: str) -> Message | None:
        session = self._sessions.get(session_id)
        return next(iter(session.values())) if session else None

    def _memory_usage_bytes(self) -> int:
        # Object headers, the dict slots and the text itself; a cheap, honest estimate.
        per_message = sys.getsizeof(Message.__new__(Message)) + 2 * 100 + 64
        total = 0
        for session in self._sessions.values():
            for m in session.values():
                total += per_message + len(m.content) + len(m.role) + len(m.id or "")
                if m.metadata:
                    total += sys.getsizeof(m.metadata)
        return total

    def _extra_stats(self) -> dict[str, Any]:
        return {}
