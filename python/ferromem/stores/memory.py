"""`MemoryStore`: messages in process memory, the store of the in-process memories.

The messages live in the Rust core's columns (:class:`~ferromem._core.MessageColumns`): text in
one UTF-8 arena, packed ids, interned sessions and roles, fixed-width timestamps and
importances, metadata encoded compactly. A `Message` is made when one is read, so a million
messages cost about their text, not a Python object graph each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._core import KeywordIndex, MessageColumns
from ..errors import InvalidArgumentError
from ..message import Message
from .base import Conflict, Vectors, WriteResult
from .local import LocalStore
from .objects import find_conflicts

__all__ = ["MemoryStore", "find_conflicts"]


class MemoryStore(LocalStore):
    """Messages in columns, under keys that are never reused; each session's messages in
    insertion order (chronological unless one arrived older than its session's newest; such
    sessions are sorted when listed)."""

    def __init__(self) -> None:
        super().__init__()
        self._cols = MessageColumns()

    # ------------------------------------------------------------------ writes
    def put(
        self,
        messages: Sequence[Message],
        vectors: Vectors | None = None,
        *,
        on_conflict: Conflict = "error",
    ) -> WriteResult:
        before = self._version
        _, keys, removed = self._cols.ingest(messages, on_conflict=on_conflict, score=False)
        self._wrote([k for k in keys if k is not None], removed)
        return WriteResult(keys, removed, {None: (before, self._version)})

    def ingest(
        self,
        items: Sequence[Message | Mapping[str, Any]],
        *,
        target: str | None,
        on_conflict: Conflict,
        index: KeywordIndex | None,
        index_roles: bool,
    ) -> tuple[list[str], list[int | None]]:
        """Validates, names, scores, stores and (with ``index``) keyword-indexes raw messages
        in one call into the core, all or nothing: the batched write path of the memories.
        Returns the ids and the keys (None where skipped)."""
        ids, keys, removed = self._cols.ingest(
            items, target=target, on_conflict=on_conflict, index=index, index_roles=index_roles
        )
        if keys:
            self._wrote(
                [k for k in keys if k is not None] if self._log is not None else [], removed
            )
        return ids, keys

    def remove(self, keys: Sequence[int]) -> WriteResult:
        before = self._version
        removed = self._cols.remove(list(keys))
        if removed:
            self._wrote([], removed)
        return WriteResult([], removed, {None: (before, self._version)})

    def restore(self, pairs: Sequence[tuple[int, Message]]) -> list[int]:
        """Puts saved messages back under their saved keys (a loaded memory); returns the keys."""
        ordered = sorted(pairs, key=lambda p: p[0])
        keys = [k for k, _ in ordered]
        bad = [k for k in keys if not 0 <= k < 2**63]
        if bad:
            raise InvalidArgumentError(f"saved key {bad[0]} is outside 0..2**63")
        self._cols.ingest([m for _, m in ordered], score=False, keys=keys)
        self._version += 1
        return keys

    def items(self) -> list[tuple[int, Message]]:
        """Every message with its key, in key order."""
        keys, msgs = self._cols.items()
        return list(zip(keys, msgs, strict=True))

    # ------------------------------------------------------------------ reads
    def get(self, keys: Sequence[int]) -> list[Message | None]:
        return self._cols.get(list(keys))

    def keys_of(
        self, ids: Sequence[str], sessions: Sequence[str] | None = None
    ) -> list[int | None]:
        return self._cols.keys_of(list(ids))

    def session_keys(self, session_id: str) -> list[int]:
        return self._cols.session_keys(session_id)

    def messages(self, session_id: str) -> list[Message]:
        return self._cols.messages(session_id)

    def newest(self, session_id: str, n: int) -> list[Message]:
        """A session's newest ``n`` messages, newest first."""
        return self._cols.newest(session_id, n) if n > 0 else []

    def oldest_keys(self, session_id: str, n: int) -> list[int]:
        """The keys of a session's oldest ``n`` messages."""
        return self._cols.oldest_keys(session_id, n) if n > 0 else []

    def sessions(self) -> list[str]:
        return self._cols.sessions()

    def count(self, session_id: str | None = None) -> int:
        return self._cols.count(session_id)

    def usage_bytes(self) -> int:
        return int(self._cols.memory_bytes()) + self.blob_bytes()
