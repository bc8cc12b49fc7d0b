"""`ObjectStore`: `Message` objects in dicts, the base of the JSON file store (which snapshots
and rolls back its dicts around each file write); the in-process memories use the columnar
:class:`~ferromem.stores.memory.MemoryStore`."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ..errors import InvalidArgumentError
from ..message import Message, chrono_key
from .base import Conflict, Vectors, WriteResult
from .local import LocalStore

__all__ = ["ObjectStore", "find_conflicts"]


def find_conflicts(
    messages: Sequence[Message], stored: list[int | None], on_conflict: Conflict
) -> tuple[list[bool], list[int]]:
    """Which messages to keep and which stored keys to replace, given the key each message's id
    already has (``stored``); raises for ``"error"`` when any id is taken."""
    keep = [True] * len(messages)
    replace: list[int] = []
    for i, key in enumerate(stored):
        if key is None:
            continue
        if on_conflict == "error":
            raise InvalidArgumentError(f"message id {messages[i].id!r} is already stored")
        if on_conflict == "skip":
            keep[i] = False
        else:
            replace.append(key)
    return keep, replace


class ObjectStore(LocalStore):
    """Messages in dicts: by key, by id, and each session's keys in insertion order (which is
    chronological unless a message arrived with an older timestamp than its session's newest;
    such sessions are sorted when listed). Every operation is O(1) per message."""

    def __init__(self) -> None:
        super().__init__()
        self._msgs: dict[int, Message] = {}
        self._by_id: dict[str, int] = {}
        self._sessions: dict[str, dict[int, None]] = {}
        self._newest: dict[str, tuple[float, str]] = {}
        self._unordered: set[str] = set()
        self._next_key = 0

    # ------------------------------------------------------------------ writes
    def put(
        self,
        messages: Sequence[Message],
        vectors: Vectors | None = None,
        *,
        on_conflict: Conflict = "error",
    ) -> WriteResult:
        by_id = self._by_id
        stored = [by_id.get(m.id) if m.id is not None else None for m in messages]
        if any(k is not None for k in stored):
            keep, replace = find_conflicts(messages, stored, on_conflict)
        else:
            keep, replace = [], []
        before = self._version
        removed = self._drop(replace) if replace else []
        keys: list[int | None] = []
        key = self._next_key
        for i, m in enumerate(messages):
            if keep and not keep[i]:
                keys.append(None)
                continue
            mid = m.id
            assert mid is not None
            self._msgs[key] = m
            by_id[mid] = key
            sid = m.session_id
            session = self._sessions.get(sid)
            if session is None:
                session = self._sessions[sid] = {}
            session[key] = None
            at = (m.timestamp, mid)
            newest = self._newest.get(sid)
            if newest is not None and at < newest:
                self._unordered.add(sid)
            else:
                self._newest[sid] = at
            keys.append(key)
            key += 1
        self._next_key = key
        self._wrote([k for k in keys if k is not None], removed)
        return WriteResult(keys, removed, {None: (before, self._version)})

    def _drop(self, keys: Sequence[int]) -> list[int]:
        removed = []
        for key in keys:
            m = self._msgs.pop(key, None)
            if m is None:
                continue
            assert m.id is not None
            del self._by_id[m.id]
            sid = m.session_id
            session = self._sessions[sid]
            del session[key]
            if not session:
                del self._sessions[sid]
                self._newest.pop(sid, None)
                self._unordered.discard(sid)
            removed.append(key)
        return removed

    def remove(self, keys: Sequence[int]) -> WriteResult:
        before = self._version
        removed = self._drop(keys)
        if removed:
            self._wrote([], removed)
        return WriteResult([], removed, {None: (before, self._version)})

    def restore(self, pairs: Sequence[tuple[int, Message]]) -> list[int]:
        """Puts saved messages back under their saved keys (a loaded memory); returns the keys."""
        keys = []
        for key, m in pairs:
            if key in self._msgs or (m.id or "") in self._by_id:
                raise InvalidArgumentError(f"key {key} or id {m.id!r} is already stored")
            self._msgs[key] = m
            self._by_id[m.id or ""] = key
            self._sessions.setdefault(m.session_id, {})[key] = None
            at = (m.timestamp, m.id or "")
            newest = self._newest.get(m.session_id)
            if newest is not None and at < newest:
                self._unordered.add(m.session_id)
            else:
                self._newest[m.session_id] = at
            self._next_key = max(self._next_key, key + 1)
            keys.append(key)
        self._version += 1
        return keys

    def items(self) -> list[tuple[int, Message]]:
        """Every message with its key, in key order."""
        return sorted(self._msgs.items())

    # ------------------------------------------------------------------ reads
    def get(self, keys: Sequence[int]) -> list[Message | None]:
        msgs = self._msgs
        return [msgs.get(k) for k in keys]

    def keys_of(
        self, ids: Sequence[str], sessions: Sequence[str] | None = None
    ) -> list[int | None]:
        by_id = self._by_id
        return [by_id.get(i) for i in ids]

    def session_keys(self, session_id: str) -> list[int]:
        session = self._sessions.get(session_id)
        if not session:
            return []
        if session_id in self._unordered:
            msgs = self._msgs
            return sorted(session, key=lambda k: chrono_key(msgs[k]))
        return list(session)

    def messages(self, session_id: str) -> list[Message]:
        msgs = self._msgs
        return [msgs[k] for k in self.session_keys(session_id)]

    def newest(self, session_id: str, n: int) -> list[Message]:
        """A session's newest ``n`` messages, newest first."""
        session = self._sessions.get(session_id)
        if not session or n <= 0:
            return []
        if session_id in self._unordered:
            return self.messages(session_id)[::-1][:n]
        out = []
        msgs = self._msgs
        for key in reversed(session):
            out.append(msgs[key])
            if len(out) == n:
                break
        return out

    def oldest_keys(self, session_id: str, n: int) -> list[int]:
        """The keys of a session's oldest ``n`` messages."""
        if n <= 0:
            return []
        if session_id in self._unordered:
            return self.session_keys(session_id)[:n]
        out = []
        for key in self._sessions.get(session_id, ()):
            out.append(key)
            if len(out) == n:
                break
        return out

    def sessions(self) -> list[str]:
        return list(self._sessions)

    def count(self, session_id: str | None = None) -> int:
        if session_id is None:
            return len(self._msgs)
        return len(self._sessions.get(session_id, ()))

    def usage_bytes(self) -> int:
        # Object headers, dict slots and the text itself: a cheap, honest estimate.
        per_message = sys.getsizeof(Message.__new__(Message)) + 3 * 100 + 64
        total = 0
        for m in self._msgs.values():
            total += per_message + len(m.content) + len(m.role) + len(m.id or "")
            if m.metadata:
                total += sys.getsizeof(m.metadata)
        return total + self.blob_bytes()
