"""The async twins of every memory method: the same name with an ``a`` prefix, as in LangChain
and LlamaIndex. Each runs the sync method in a worker thread, where the Rust engines release the
GIL, so that the event loop never blocks. Memories with native async I/O (Redis) override them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .message import AllSessions, Hit, Message
    from .stores.base import Conflict

    SessionScope = str | AllSessions | None

__all__ = ["ASYNC_METHODS", "AsyncTwins"]

R = TypeVar("R")

#: Every method that has an async twin (``a`` + name), and that ``ferromem.aio`` exposes as a
#: coroutine under its plain name.
ASYNC_METHODS = (
    "add_message",
    "add_messages",
    "update_message",
    "delete_message",
    "delete_messages",
    "clear_session",
    "cleanup_session",
    "cleanup_old_messages",
    "get_message",
    "get_messages_by_ids",
    "get_messages",
    "list_sessions",
    "list_all_sessions",
    "search",
    "search_by_vector",
    "search_messages",
    "get_context",
    "start_session",
    "end_session",
    "get_session_summary",
    "get_stats",
    "get_session_stats",
)


class AsyncTwins:
    """``a``-prefixed coroutine twins of the sync methods of :class:`~ferromem.MemoryBackend`."""

    async def _in_thread(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        return await asyncio.to_thread(fn, *args, **kwargs)

    def _sync(self, name: str) -> Callable[..., Any]:
        method: Callable[..., Any] = getattr(self, name)
        return method

    async def aadd_message(
        self, message_or_role: Message | str, content: str | None = None, **fields: Any
    ) -> str:
        """Async twin of :meth:`add_message`."""
        return await self._in_thread(self._sync("add_message"), message_or_role, content, **fields)

    async def aadd_messages(
        self,
        messages: Iterable[Message | Mapping[str, Any]],
        *,
        session_id: SessionScope = None,
        on_conflict: Conflict = "error",
        vectors: Any = None,
    ) -> list[str]:
        """Async twin of :meth:`add_messages`."""
        return await self._in_thread(
            self._sync("add_messages"),
            messages,
            session_id=session_id,
            on_conflict=on_conflict,
            vectors=vectors,
        )

    async def aupdate_message(
        self,
        id: str,
        *,
        content: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        importance: float | None = None,
        session_id: SessionScope = None,
    ) -> bool:
        """Async twin of :meth:`update_message`."""
        return await self._in_thread(
            self._sync("update_message"),
            id,
            content=content,
            metadata=metadata,
            importance=importance,
            session_id=session_id,
        )

    async def adelete_message(self, id: str, *, session_id: SessionScope = None) -> bool:
        """Async twin of :meth:`delete_message`."""
        return await self._in_thread(self._sync("delete_message"), id, session_id=session_id)

    async def adelete_messages(
        self,
        ids: Iterable[str] | None = None,
        *,
        session_id: SessionScope = None,
        filters: Mapping[str, Any] | None = None,
    ) -> int:
        """Async twin of :meth:`delete_messages`."""
        return await self._in_thread(
            self._sync("delete_messages"), ids, session_id=session_id, filters=filters
        )

    async def aclear_session(self, session_id: str | AllSessions) -> None:
        """Async twin of :meth:`clear_session`."""
        await self._in_thread(self._sync("clear_session"), session_id)

    async def acleanup_session(self, session_id: str | AllSessions) -> None:
        """Async twin of :meth:`cleanup_session`."""
        await self._in_thread(self._sync("cleanup_session"), session_id)

    async def acleanup_old_messages(
        self, max_age_days: float, *, session_id: SessionScope = None
    ) -> int:
        """Async twin of :meth:`cleanup_old_messages`."""
        return await self._in_thread(
            self._sync("cleanup_old_messages"), max_age_days, session_id=session_id
        )

    async def aget_message(self, id: str, *, session_id: SessionScope = None) -> Message | None:
        """Async twin of :meth:`get_message`."""
        return await self._in_thread(self._sync("get_message"), id, session_id=session_id)

    async def aget_messages_by_ids(
        self, ids: Iterable[str], *, session_id: SessionScope = None
    ) -> list[Message]:
        """Async twin of :meth:`get_messages_by_ids`."""
        return await self._in_thread(self._sync("get_messages_by_ids"), ids, session_id=session_id)

    async def aget_messages(
        self,
        session_id: SessionScope = None,
        limit: int | None = None,
        *,
        offset: int | None = None,
        before: Any = None,
        after: Any = None,
        filters: Mapping[str, Any] | None = None,
    ) -> list[Message]:
        """Async twin of :meth:`get_messages`."""
        return await self._in_thread(
            self._sync("get_messages"),
            session_id,
            limit,
            offset=offset,
            before=before,
            after=after,
            filters=filters,
        )

    async def alist_sessions(self, *, user_id: str | None = None) -> list[str]:
        """Async twin of :meth:`list_sessions`."""
        return await self._in_thread(self._sync("list_sessions"), user_id=user_id)

    async def alist_all_sessions(self, *, user_id: str | None = None) -> list[str]:
        """Async twin of :meth:`list_all_sessions`."""
        return await self._in_thread(self._sync("list_all_sessions"), user_id=user_id)

    async def asearch(
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
        """Async twin of :meth:`search`."""
        return await self._in_thread(
            self._sync("search"),
            query,
            session_id=session_id,
            limit=limit,
            min_score=min_score,
            filters=filters,
            recency_half_life=recency_half_life,
            importance_weight=importance_weight,
        )

    async def asearch_by_vector(
        self,
        vector: Any,
        *,
        session_id: SessionScope = None,
        limit: int | None = None,
        min_score: float | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> list[Hit]:
        """Async twin of :meth:`search_by_vector`."""
        return await self._in_thread(
            self._sync("search_by_vector"),
            vector,
            session_id=session_id,
            limit=limit,
            min_score=min_score,
            filters=filters,
        )

    async def asearch_messages(
        self, query: str, session_id: SessionScope = None, limit: int = 10
    ) -> list[Message]:
        """Async twin of :meth:`search_messages`."""
        return await self._in_thread(self._sync("search_messages"), query, session_id, limit)

    async def aget_context(
        self,
        query: str | None = None,
        *,
        session_id: SessionScope = None,
        max_tokens: int | None = None,
    ) -> str:
        """Async twin of :meth:`get_context`."""
        return await self._in_thread(
            self._sync("get_context"), query, session_id=session_id, max_tokens=max_tokens
        )

    async def astart_session(
        self, session_id: str | None = None, *, metadata: Mapping[str, Any] | None = None
    ) -> str:
        """Async twin of :meth:`start_session`."""
        return await self._in_thread(self._sync("start_session"), session_id, metadata=metadata)

    async def aend_session(
        self, session_id: SessionScope = None, summary: str | None = None
    ) -> None:
        """Async twin of :meth:`end_session`."""
        await self._in_thread(self._sync("end_session"), session_id, summary)

    async def aget_session_summary(self, session_id: SessionScope = None) -> dict[str, Any]:
        """Async twin of :meth:`get_session_summary`."""
        return await self._in_thread(self._sync("get_session_summary"), session_id)

    async def aget_stats(self) -> dict[str, Any]:
        """Async twin of :meth:`get_stats`."""
        return await self._in_thread(self._sync("get_stats"))

    async def aget_session_stats(self, session_id: SessionScope = None) -> dict[str, Any]:
        """Async twin of :meth:`get_session_stats`."""
        return await self._in_thread(self._sync("get_session_stats"), session_id)
