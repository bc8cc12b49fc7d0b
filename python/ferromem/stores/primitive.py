"""`PrimitiveStore`: the store of a user's backend written with the four storage primitives
(``_store``, ``_load``, ``_session_ids``, ``_remove``), as in the Niflheim-X seed's custom memory.

Such a backend knows nothing of keys or versions, so this adapter numbers its messages itself and
reports no version: searches then build a keyword index over the messages in scope each time.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence
from typing import TYPE_CHECKING

from ..message import Message, chrono_key
from .base import Conflict, Partition, Store, Vectors, WriteResult
from .objects import find_conflicts

if TYPE_CHECKING:
    from ..base import MemoryBackend

__all__ = ["PrimitiveStore"]


class PrimitiveStore(Store):
    """Serves a :class:`~ferromem.MemoryBackend` subclass through its storage primitives."""

    def __init__(self, backend: MemoryBackend) -> None:
        self._backend = backend
        self._key_of: dict[str, int] = {}
        self._id_of: dict[int, tuple[str, str]] = {}  # key -> (session, id)
        self._next_key = 0  # never reused: a replaced message's new key is a fresh one
        self._writes = 0

    def _key(self, m: Message) -> int:
        assert m.id is not None
        key = self._key_of.get(m.id)
        if key is None:
            key = self._key_of[m.id] = self._next_key
            self._next_key += 1
            self._id_of[key] = (m.session_id, m.id)
        return key

    def _find(self, message_id: str) -> Message | None:
        get = getattr(self._backend, "_get", None)
        if get is not None:
            found: Message | None = get(message_id)
            return found
        for sid in self._backend._session_ids():
            for m in self._backend._load(sid):
                if m.id == message_id:
                    return m
        return None

    def put(
        self,
        messages: Sequence[Message],
        vectors: Vectors | None = None,
        *,
        on_conflict: Conflict = "error",
    ) -> WriteResult:
        stored = []
        for m in messages:
            assert m.id is not None
            found = self._find(m.id)
            stored.append(None if found is None else self._key(found))
        keep, replace = find_conflicts(messages, stored, on_conflict)
        removed = self.remove(replace).removed if replace else []
        kept = [m for i, m in enumerate(messages) if not keep or keep[i]]
        self._backend._store(kept)
        for m in kept:
            assert m.id is not None
            old = self._key_of.pop(m.id, None)  # a replaced message's id gets a new key
            if old is not None:
                self._id_of.pop(old, None)
        self._writes += 1
        keys: list[int | None] = [
            self._key(m) if not keep or keep[i] else None for i, m in enumerate(messages)
        ]
        return WriteResult(keys, removed)

    def remove(self, keys: Sequence[int]) -> WriteResult:
        by_session: dict[str, list[str]] = {}
        for key in keys:
            where = self._id_of.get(key)
            if where is not None:
                by_session.setdefault(where[0], []).append(where[1])
        removed: list[int] = []
        for sid, ids in by_session.items():
            present = {m.id for m in self._backend._load(sid)}
            gone: Collection[str] = [i for i in ids if i in present]
            if gone:
                self._backend._remove(sid, gone)
                removed.extend(self._key_of[i] for i in gone)
        self._writes += 1
        return WriteResult([], removed)

    def get(self, keys: Sequence[int]) -> list[Message | None]:
        out: list[Message | None] = []
        cache: dict[str, dict[str, Message]] = {}
        for key in keys:
            where = self._id_of.get(key)
            if where is None:
                out.append(None)
                continue
            sid, mid = where
            if sid not in cache:
                cache[sid] = {m.id: m for m in self._backend._load(sid) if m.id is not None}
            out.append(cache[sid].get(mid))
        return out

    def keys_of(
        self, ids: Sequence[str], sessions: Sequence[str] | None = None
    ) -> list[int | None]:
        out: list[int | None] = []
        for mid in ids:
            found = self._find(mid)
            out.append(None if found is None else self._key(found))
        return out

    def session_keys(self, session_id: str) -> list[int]:
        return [self._key(m) for m in self.messages(session_id)]

    def messages(self, session_id: str) -> list[Message]:
        msgs = list(self._backend._load(session_id))
        if any(msgs[i].timestamp > msgs[i + 1].timestamp for i in range(len(msgs) - 1)):
            msgs.sort(key=chrono_key)
        return msgs

    def sessions(self) -> list[str]:
        return list(self._backend._session_ids())

    def count(self, session_id: str | None = None) -> int:
        if session_id is None:
            return sum(len(self._backend._load(s)) for s in self.sessions())
        return len(self._backend._load(session_id))

    def version(self, partition: Partition) -> Hashable:
        return None  # unknown: the backend may change behind our back

    def usage_bytes(self) -> int:
        return super().usage_bytes()
