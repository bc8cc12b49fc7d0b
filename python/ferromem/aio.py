"""`ferromem.aio`: every memory class under the same name, with coroutine methods.

As ``redis.asyncio`` beside ``redis``: ``from ferromem.aio import SQLiteMemory`` and then
``await memory.add_message(...)``, ``await memory.get_messages(...)``,
``await memory.search_messages(...)``. Each class wraps the sync memory of the same name (built
from the same constructor arguments, or passed to :meth:`MemoryBackend.wrap`) and awaits its
async twins (:mod:`ferromem.async_twins`): native asyncio I/O where the store has it (Redis),
a worker thread otherwise, where the Rust engines release the GIL.

Every method of :data:`~ferromem.async_twins.ASYNC_METHODS` is a coroutine here, written once in
:class:`MemoryBackend`; any other method of the wrapped memory (``get_summary``,
``save_indexes``, ...) is reached as a coroutine too, run in a worker thread; plain attributes
(``session_id``, ``bound``, ...) read through.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any, ClassVar, Generic, TypeVar

from . import base as _base
from .async_twins import ASYNC_METHODS
from .errors import InvalidTypeError
from .memories import buffer as _buffer
from .memories import compressed as _compressed
from .memories import dict_memory as _dict
from .memories import hierarchical as _hierarchical
from .memories import indexed as _indexed
from .memories import json_file as _json_file
from .memories import multimodal as _multimodal
from .memories import redis as _redis
from .memories import sqlite as _sqlite
from .memories import summary as _summary
from .memories import vector as _vector
from .message import ALL_SESSIONS, AllSessions, Hit, Message
from .multimodal import Attachment
from .stores.base import Conflict

__all__ = [
    "ALL_SESSIONS",
    "ASYNC_METHODS",
    "Attachment",
    "BufferMemory",
    "CompressedMemory",
    "DictMemory",
    "HierarchicalMemory",
    "IndexedMemory",
    "JSONFileMemory",
    "MemoryBackend",
    "Message",
    "MultiModalMemory",
    "PersistentMemory",
    "RedisMemory",
    "SQLiteMemory",
    "SummaryMemory",
    "VectorMemory",
]

M = TypeVar("M", bound=_base.MemoryBackend)
A = TypeVar("A", bound="MemoryBackend[Any]")
SessionScope = str | AllSessions | None


class MemoryBackend(Generic[M]):
    """The async face of a memory: the methods of :class:`ferromem.MemoryBackend` under the
    same names, as coroutines. ``memory.sync`` is the wrapped (sync) memory.

    A subclass names the sync class it wraps in :attr:`sync_class`; constructing it builds that
    class from the same arguments. A user's own async backend may also subclass this and
    override every method (the Niflheim-X seed's ``CustomMemory``).
    """

    #: The sync memory class this class wraps (constructed from the same arguments).
    sync_class: ClassVar[type[_base.MemoryBackend]]
    sync: M

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cls = getattr(type(self), "sync_class", None)
        if cls is None:
            raise InvalidTypeError(
                f"{type(self).__name__} wraps no memory: subclass a ferromem.aio memory class, "
                "or use MemoryBackend.wrap(memory)"
            )
        self.sync = cls(*args, **kwargs)  # type: ignore[assignment]

    @classmethod
    def wrap(cls: type[A], memory: _base.MemoryBackend) -> A:
        """The async face of an existing sync memory (e.g. one made by ``Class.load(path)``)."""
        if not isinstance(memory, _base.MemoryBackend):
            raise InvalidTypeError(f"memory must be a ferromem memory, not {type(memory).__name__}")
        self = cls.__new__(cls)
        self.sync = memory
        return self

    def __getattr__(self, name: str) -> Any:
        # Only reached for names not defined here: attributes read through, methods become
        # coroutines run in a worker thread.
        if name == "sync":
            raise AttributeError(
                f"{type(self).__name__} wraps no ferromem memory (a subclass that replaces "
                "__init__ must override the methods it uses)"
            )
        if name.startswith("__"):
            raise AttributeError(name)
        value = getattr(self.sync, name)
        if inspect.ismethod(value) and not inspect.iscoroutinefunction(value):
            return _in_thread(value)
        return value

    def __repr__(self) -> str:
        return f"<ferromem.aio {self.sync!r}>"

    # ----------------------------------------------------------------- writing
    async def add_message(
        self, message_or_role: Message | str, content: str | None = None, **fields: Any
    ) -> str:
        """Stores one message; returns its id (see :meth:`ferromem.MemoryBackend.add_message`)."""
        return await self.sync.aadd_message(message_or_role, content, **fields)

    async def add_messages(
        self,
        messages: Iterable[Message | Mapping[str, Any]],
        *,
        session_id: SessionScope = None,
        on_conflict: Conflict = "error",
        vectors: Any = None,
    ) -> list[str]:
        """Stores many messages in one all-or-nothing write; returns their ids."""
        return await self.sync.aadd_messages(
            messages, session_id=session_id, on_conflict=on_conflict, vectors=vectors
        )

    async def update_message(
        self,
        id: str,
        *,
        content: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        importance: float | None = None,
        session_id: SessionScope = None,
    ) -> bool:
        """Changes a stored message; False when no such message is in scope."""
        return await self.sync.aupdate_message(
            id, content=content, metadata=metadata, importance=importance, session_id=session_id
        )

    async def delete_message(self, id: str, *, session_id: SessionScope = None) -> bool:
        """Deletes one message; False when it is not there."""
        return await self.sync.adelete_message(id, session_id=session_id)

    async def delete_messages(
        self,
        ids: Iterable[str] | None = None,
        *,
        session_id: SessionScope = None,
        filters: Mapping[str, Any] | None = None,
    ) -> int:
        """Deletes messages by ids and/or filters in one write; returns how many."""
        return await self.sync.adelete_messages(ids, session_id=session_id, filters=filters)

    async def clear_session(self, session_id: str | AllSessions) -> None:
        """Removes every message of a session (``ALL_SESSIONS``: of every session)."""
        await self.sync.aclear_session(session_id)

    async def cleanup_session(self, session_id: str | AllSessions) -> None:
        """The Niflheim-X seed's name for :meth:`clear_session`."""
        await self.sync.acleanup_session(session_id)

    async def cleanup_old_messages(
        self, max_age_days: float, *, session_id: SessionScope = None
    ) -> int:
        """Removes messages older than ``max_age_days``; returns how many."""
        return await self.sync.acleanup_old_messages(max_age_days, session_id=session_id)

    # ----------------------------------------------------------------- reading
    async def get_message(self, id: str, *, session_id: SessionScope = None) -> Message | None:
        """The message with this id in scope, or None."""
        return await self.sync.aget_message(id, session_id=session_id)

    async def get_messages_by_ids(
        self, ids: Iterable[str], *, session_id: SessionScope = None
    ) -> list[Message]:
        """The messages with these ids in scope, in the order asked."""
        return await self.sync.aget_messages_by_ids(ids, session_id=session_id)

    async def get_messages(
        self,
        session_id: SessionScope = None,
        limit: int | None = None,
        *,
        offset: int | None = None,
        before: Any = None,
        after: Any = None,
        filters: Mapping[str, Any] | None = None,
    ) -> list[Message]:
        """Messages in chronological order (``limit`` keeps the newest)."""
        return await self.sync.aget_messages(
            session_id, limit, offset=offset, before=before, after=after, filters=filters
        )

    async def list_sessions(self, *, user_id: str | None = None) -> list[str]:
        """The sessions this memory can see."""
        return await self.sync.alist_sessions(user_id=user_id)

    async def list_all_sessions(self, *, user_id: str | None = None) -> list[str]:
        """Every session of the store."""
        return await self.sync.alist_all_sessions(user_id=user_id)

    # ----------------------------------------------------------------- searching
    async def search(
        self,
        query: str,
        *,
        session_id: SessionScope = None,
        limit: int | None = None,
        min_score: float | None = None,
        filters: Mapping[str, Any] | None = None,
        recency_half_life: float | None = None,
        importance_weight: float = 0.0,
    ) -> list[Hit]:
        """The messages most relevant to ``query``, best first."""
        return await self.sync.asearch(
            query,
            session_id=session_id,
            limit=limit,
            min_score=min_score,
            filters=filters,
            recency_half_life=recency_half_life,
            importance_weight=importance_weight,
        )

    async def search_by_vector(
        self,
        vector: Any,
        *,
        session_id: SessionScope = None,
        limit: int | None = None,
        min_score: float | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> list[Hit]:
        """The messages nearest to a query vector, best first."""
        return await self.sync.asearch_by_vector(
            vector, session_id=session_id, limit=limit, min_score=min_score, filters=filters
        )

    async def search_messages(
        self, query: str, session_id: SessionScope = None, limit: int = 10
    ) -> list[Message]:
        """:meth:`search` without the scores (the seeds' name)."""
        return await self.sync.asearch_messages(query, session_id, limit)

    async def get_context(
        self,
        query: str | None = None,
        *,
        session_id: SessionScope = None,
        max_tokens: int | None = None,
    ) -> str:
        """Prompt-ready text within ``max_tokens``: recent turns, plus relevant ones."""
        return await self.sync.aget_context(query, session_id=session_id, max_tokens=max_tokens)

    # ----------------------------------------------------------------- sessions and stats
    async def start_session(
        self, session_id: str | None = None, *, metadata: Mapping[str, Any] | None = None
    ) -> str:
        """Starts a session and returns its id."""
        return await self.sync.astart_session(session_id, metadata=metadata)

    async def end_session(
        self, session_id: SessionScope = None, summary: str | None = None
    ) -> None:
        """Marks a session as ended (with an optional summary)."""
        await self.sync.aend_session(session_id, summary)

    async def get_session_summary(self, session_id: SessionScope = None) -> dict[str, Any]:
        """Start, end, turns, tokens and summary of a session."""
        return await self.sync.aget_session_summary(session_id)

    async def get_stats(self) -> dict[str, Any]:
        """``total_messages``, ``active_sessions``, ``memory_usage_mb``, ..."""
        return await self.sync.aget_stats()

    async def get_session_stats(self, session_id: SessionScope = None) -> dict[str, Any]:
        """``message_count``, ``tokens``, timestamps and duration of a session."""
        return await self.sync.aget_session_stats(session_id)

    # ----------------------------------------------------------------- life cycle
    async def close(self) -> None:
        """Releases files and connections (a native async client's too)."""
        aclose = getattr(self.sync, "aclose", None)
        if aclose is not None:
            await aclose()
        else:
            await asyncio.to_thread(self.sync.close)

    async def __aenter__(self: A) -> A:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _in_thread(method: Callable[..., Any]) -> Callable[..., Coroutine[Any, Any, Any]]:
    @functools.wraps(method)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(method, *args, **kwargs)

    return run


class DictMemory(MemoryBackend[_dict.DictMemory]):
    """:class:`ferromem.DictMemory` with coroutine methods."""

    sync_class = _dict.DictMemory


class BufferMemory(MemoryBackend[_buffer.BufferMemory]):
    """:class:`ferromem.BufferMemory` with coroutine methods."""

    sync_class = _buffer.BufferMemory


class SummaryMemory(MemoryBackend[_summary.SummaryMemory]):
    """:class:`ferromem.SummaryMemory` with coroutine methods."""

    sync_class = _summary.SummaryMemory


class IndexedMemory(MemoryBackend[_indexed.IndexedMemory]):
    """:class:`ferromem.IndexedMemory` with coroutine methods."""

    sync_class = _indexed.IndexedMemory


class CompressedMemory(MemoryBackend[_compressed.CompressedMemory]):
    """:class:`ferromem.CompressedMemory` with coroutine methods."""

    sync_class = _compressed.CompressedMemory


class VectorMemory(MemoryBackend[_vector.VectorMemory]):
    """:class:`ferromem.VectorMemory` with coroutine methods."""

    sync_class = _vector.VectorMemory


class HierarchicalMemory(MemoryBackend[_hierarchical.HierarchicalMemory]):
    """:class:`ferromem.HierarchicalMemory` with coroutine methods."""

    sync_class = _hierarchical.HierarchicalMemory


class JSONFileMemory(MemoryBackend[_json_file.JSONFileMemory]):
    """:class:`ferromem.JSONFileMemory` with coroutine methods."""

    sync_class = _json_file.JSONFileMemory


class PersistentMemory(MemoryBackend[_json_file.PersistentMemory]):
    """:class:`ferromem.PersistentMemory` with coroutine methods."""

    sync_class = _json_file.PersistentMemory


class SQLiteMemory(MemoryBackend[_sqlite.SQLiteMemory]):
    """:class:`ferromem.SQLiteMemory` with coroutine methods."""

    sync_class = _sqlite.SQLiteMemory


class RedisMemory(MemoryBackend[_redis.RedisMemory]):
    """:class:`ferromem.RedisMemory` with coroutine methods, on redis-py's asyncio client."""

    sync_class = _redis.RedisMemory


class MultiModalMemory(MemoryBackend[_multimodal.MultiModalMemory]):
    """:class:`ferromem.MultiModalMemory` with coroutine methods."""

    sync_class = _multimodal.MultiModalMemory

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The seed passes ferromem.aio memories as backends: their sync memories do the work.
        for name in ("text_backend", "image_backend", "file_backend"):
            backend = kwargs.get(name)
            if isinstance(backend, MemoryBackend):
                kwargs[name] = backend.sync
        super().__init__(*args, **kwargs)
