"""The native asyncio twins of `RedisMemory`'s I/O methods.

They run the store's plans on redis-py's asyncio client (see :mod:`ferromem.stores.redis_io`),
so the event loop never waits on a socket in a thread; they check arguments exactly as the sync
methods do (the same helpers). Work on the engines (embedding, indexing) takes the memory's lock
in a worker thread, or at once when the lock is free. Searching and building a context run the
sync methods in a worker thread (their I/O is a few round trips; their work is CPU).
A client that cannot be mirrored in asyncio (TLS passed in as ``client=``) falls back to worker
threads for every twin.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .._core import ImportanceScorer
from ..base import _message_from_args, check_summary, ended_info, session_summary
from ..checks import check_age, check_batch, check_mapping
from ..errors import InvalidArgumentError, InvalidTypeError
from ..filters import compile_filters
from ..message import AllSessions, Message
from ..stores.base import Conflict, WriteResult
from .redis_listing import listing as make_listing

if TYPE_CHECKING:
    from ..base import MemoryBackend, SessionScope
    from ..stores.redis import RedisStore

    _Base = MemoryBackend
else:
    _Base = object

__all__ = ["RedisAsyncTwins"]

R = TypeVar("R")
_CONFLICTS = ("error", "replace", "skip")


class RedisAsyncTwins(_Base):
    """Native asyncio twins for :class:`~ferromem.RedisMemory` (see the module docs)."""

    if TYPE_CHECKING:
        _redis: RedisStore

    # ----------------------------------------------------------------- helpers
    @property
    def _native(self) -> bool:
        return self._redis.link.native_async

    def _with_lock(self, fn: Callable[..., R], *args: Any) -> R:
        with self._lock:
            return fn(*args)

    async def _locked(self, fn: Callable[..., R], *args: Any) -> R:
        """Runs ``fn`` under the memory's lock: at once when it is free, else in a worker
        thread that waits for it (the event loop never blocks on it)."""
        if self._lock.acquire(blocking=False):
            try:
                return fn(*args)
            finally:
                self._lock.release()
        return await asyncio.to_thread(self._with_lock, fn, *args)

    async def _ascope(self, session_id: SessionScope) -> list[str]:
        if isinstance(session_id, AllSessions):
            return await self._redis.asessions()
        return self._scope(session_id)

    def _apply(self, result: WriteResult, messages: list[Message], vectors: Any) -> None:
        self._engines.on_write(result, messages, vectors)

    def _apply_stored(self, result: WriteResult, prepared: list[Message], vectors: Any) -> None:
        self._engines.on_write(result, prepared, vectors)
        self._on_stored(prepared, result.keys)
        for sid in dict.fromkeys(m.session_id for m in prepared):
            self._after_store(sid)

    async def _aremove_keys(self, keys: list[int], found: list[Message | None] | None) -> int:
        if not keys:
            return 0
        result = await self._redis.aremove(keys)
        await self._locked(self._apply, result, [], None)
        if result.removed and found is not None and self._wants_removed:
            gone = set(result.removed)
            self._on_removed([m for k, m in zip(keys, found, strict=True) if k in gone and m])
        return len(result.removed)

    # ----------------------------------------------------------------- writing
    async def aadd_message(
        self, message_or_role: Message | str, content: str | None = None, **fields: Any
    ) -> str:
        """Async twin of :meth:`add_message`, on the asyncio client."""
        msg, session_id = _message_from_args(message_or_role, content, fields)
        return (await self.aadd_messages([msg], session_id=session_id))[0]

    async def aadd_messages(
        self,
        messages: Iterable[Message | Mapping[str, Any]],
        *,
        session_id: SessionScope = None,
        on_conflict: Conflict = "error",
        vectors: Any = None,
    ) -> list[str]:
        """Async twin of :meth:`add_messages`, on the asyncio client."""
        if not self._native:
            return await super().aadd_messages(
                messages, session_id=session_id, on_conflict=on_conflict, vectors=vectors
            )
        check_batch(messages)
        if on_conflict not in _CONFLICTS:
            raise InvalidArgumentError(
                f"on_conflict must be one of {_CONFLICTS}, got {on_conflict!r}"
            )
        self._check_open()
        scorer = self.importance_scorer
        if scorer is None or isinstance(scorer, ImportanceScorer):
            prepared = self._prepare(messages, session_id)
        else:  # a user's scorer may be slow (an LLM): keep it off the event loop
            prepared = await asyncio.to_thread(self._prepare, messages, session_id)
        given = self._given_vectors(vectors, len(prepared))
        if not prepared:
            return []
        vector = self._engines.vector
        vectors = given
        if vector is not None and vectors is None:
            texts = [m.content for m in prepared]
            vectors = await asyncio.to_thread(self._with_lock, vector.embed, texts)
        result = await self._redis.aput(prepared, vectors, on_conflict=on_conflict)
        await self._locked(self._apply_stored, result, prepared, vectors)
        return [m.id for m in prepared if m.id is not None]

    async def adelete_message(self, id: str, *, session_id: SessionScope = None) -> bool:
        """Async twin of :meth:`delete_message`, on the asyncio client."""
        if not isinstance(id, str):
            raise InvalidTypeError(f"id must be str, not {type(id).__name__}")
        return await self.adelete_messages([id], session_id=session_id) > 0

    async def adelete_messages(
        self,
        ids: Iterable[str] | None = None,
        *,
        session_id: SessionScope = None,
        filters: Mapping[str, Any] | None = None,
    ) -> int:
        """Async twin of :meth:`delete_messages`, on the asyncio client."""
        if not self._native:
            return await super().adelete_messages(ids, session_id=session_id, filters=filters)
        predicate = compile_filters(check_mapping(filters, "filters"))
        if ids is None and predicate is None:
            raise InvalidArgumentError("delete_messages needs ids, filters or both")
        if isinstance(ids, str):
            raise InvalidTypeError("ids must be a list of str, not a str")
        id_list = None if ids is None else list(ids)
        for i in id_list or ():
            if not isinstance(i, str):
                raise InvalidTypeError(f"ids must be str, got {type(i).__name__}")
        self._check_open()
        store = self._redis
        everywhere = isinstance(session_id, AllSessions)
        sessions = set(await self._ascope(session_id))
        if id_list is not None:
            hint = None if everywhere else list(sessions)
            keys = [k for k in await store.akeys_of(id_list, hint) if k is not None]
            found = await store.aget(keys)
            picked = [
                (k, m)
                for k, m in zip(keys, found, strict=True)
                if m is not None
                and (everywhere or m.session_id in sessions)
                and (predicate is None or predicate(m.metadata))
            ]
        else:
            assert predicate is not None
            picked = []
            for sid in sessions:
                keys = await store.asession_keys(sid)
                found = await store.aget(keys)
                picked += [
                    (k, m)
                    for k, m in zip(keys, found, strict=True)
                    if m is not None and predicate(m.metadata)
                ]
        return await self._aremove_keys([k for k, _ in picked], [m for _, m in picked])

    async def aclear_session(self, session_id: str | AllSessions) -> None:
        """Async twin of :meth:`clear_session`, on the asyncio client."""
        if not self._native:
            return await super().aclear_session(session_id)
        if session_id is None:
            raise InvalidArgumentError("clear_session needs a session_id (or ALL_SESSIONS)")
        self._check_open()
        for sid in await self._ascope(session_id):
            before = None
            if self._wants_removed:
                keys = await self._redis.asession_keys(sid)
                before = list(zip(keys, await self._redis.aget(keys), strict=True))
            result = await self._redis.aremove_session(sid)
            await self._locked(self._apply, result, [], None)
            if result.removed and before is not None:
                gone = set(result.removed)
                self._on_removed([m for k, m in before if k in gone and m is not None])
        return None

    async def acleanup_session(self, session_id: str | AllSessions) -> None:
        """Async twin of :meth:`cleanup_session`, on the asyncio client."""
        await self.aclear_session(session_id)

    async def acleanup_old_messages(
        self, max_age_days: float, *, session_id: SessionScope = None
    ) -> int:
        """Async twin of :meth:`cleanup_old_messages`, on the asyncio client."""
        if not self._native:
            return await super().acleanup_old_messages(max_age_days, session_id=session_id)
        cutoff = time.time() - check_age(max_age_days) * 86400.0
        self._check_open()
        doomed: list[int] = []
        for sid in await self._ascope(session_id):
            doomed += await self._redis.akeys_before(sid, cutoff)
        found = await self._redis.aget(doomed) if self._wants_removed else None
        return await self._aremove_keys(doomed, found)

    # ----------------------------------------------------------------- reading
    async def aget_message(self, id: str, *, session_id: SessionScope = None) -> Message | None:
        """Async twin of :meth:`get_message`, on the asyncio client."""
        if not isinstance(id, str):
            raise InvalidTypeError(f"id must be str, not {type(id).__name__}")
        found = await self.aget_messages_by_ids([id], session_id=session_id)
        return found[0] if found else None

    async def aget_messages_by_ids(
        self, ids: Iterable[str], *, session_id: SessionScope = None
    ) -> list[Message]:
        """Async twin of :meth:`get_messages_by_ids`, on the asyncio client."""
        if not self._native:
            return await super().aget_messages_by_ids(ids, session_id=session_id)
        if isinstance(ids, str):
            raise InvalidTypeError("ids must be a list of str, not a str")
        id_list = list(ids)
        for i in id_list:
            if not isinstance(i, str):
                raise InvalidTypeError(f"ids must be str, got {type(i).__name__}")
        self._check_open()
        store = self._redis
        everywhere = isinstance(session_id, AllSessions)
        sessions = set() if everywhere else set(self._scope(session_id))
        keys = await store.akeys_of(id_list, None if everywhere else list(sessions))
        present = [k for k in keys if k is not None]
        found = dict(zip(present, await store.aget(present), strict=True))
        cutoff = self._cutoff()
        out = []
        for k in keys:
            m = found.get(k) if k is not None else None
            if m is None or not self._live(m, cutoff):
                continue
            if everywhere or m.session_id in sessions:
                out.append(m)
        return out

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
        """Async twin of :meth:`get_messages`, on the asyncio client."""
        if not self._native:
            return await super().aget_messages(
                session_id, limit, offset=offset, before=before, after=after, filters=filters
            )
        listing = make_listing(limit, offset, before, after, filters, self._cutoff())
        self._check_open()
        sessions = await self._ascope(session_id)
        if listing.empty:
            return []
        found = await self._redis.anewest(
            sessions, listing.newest, after=listing.after, before=listing.before
        )
        return listing.finish(found, several=len(sessions) > 1)

    async def alist_sessions(self, *, user_id: str | None = None) -> list[str]:
        """Async twin of :meth:`list_sessions`, on the asyncio client."""
        if not self._native:
            return await super().alist_sessions(user_id=user_id)
        if user_id is not None and not isinstance(user_id, str):
            raise InvalidTypeError(f"user_id must be str, not {type(user_id).__name__}")
        self._check_open()
        sessions = await self._redis.aknown_sessions()
        if self.bound:
            sessions = [s for s in sessions if s == self.session_id]
        if user_id is None:
            return sessions
        infos = await self._redis.asession_infos(sessions)
        return [
            s
            for s, info in zip(sessions, infos, strict=True)
            if ((info or {}).get("metadata") or {}).get("user_id") == user_id
        ]

    # ----------------------------------------------------------------- sessions with a life
    async def astart_session(
        self, session_id: str | None = None, *, metadata: Mapping[str, Any] | None = None
    ) -> str:
        """Async twin of :meth:`start_session`, on the asyncio client."""
        if not self._native:
            return await super().astart_session(session_id, metadata=metadata)
        if session_id is None:
            session_id = self.session_id if self.bound else uuid.uuid4().hex
        sid = self._scope(session_id)[0]
        if self.bound and sid != self.session_id:
            raise InvalidArgumentError(
                f"a memory bound to {self.session_id!r} cannot start session {sid!r}"
            )
        meta = dict(check_mapping(metadata, "metadata") or {})
        for key in meta:
            if not isinstance(key, str):
                raise InvalidTypeError(f"metadata keys must be str, got {key!r}")
        self._check_open()
        info = await self._redis.asession_info(sid) or {}
        info.update({"started": time.time(), "ended": None, "metadata": meta})
        await self._redis.awrite_session_info(sid, info)
        return sid

    async def aend_session(
        self, session_id: SessionScope = None, summary: str | None = None
    ) -> None:
        """Async twin of :meth:`end_session`, on the asyncio client."""
        if not self._native:
            return await super().aend_session(session_id, summary)
        sid = self._scope(session_id)[0]
        summary = check_summary(summary)
        self._check_open()
        info = await self._redis.asession_info(sid) or {"metadata": {}}
        await self._redis.awrite_session_info(sid, ended_info(info, summary))
        return None

    async def aget_session_summary(self, session_id: SessionScope = None) -> dict[str, Any]:
        """Async twin of :meth:`get_session_summary`, on the asyncio client."""
        if not self._native:
            return await super().aget_session_summary(session_id)
        sid = self._scope(session_id)[0]
        stats = await self.aget_session_stats(sid)
        info = await self._redis.asession_info(sid) or {}
        return session_summary(sid, stats, info, self._context_preamble([sid], None))

    # ----------------------------------------------------------------- stats
    async def aget_stats(self) -> dict[str, Any]:
        """Async twin of :meth:`get_stats`, on the asyncio client."""
        if not self._native:
            return await super().aget_stats()
        self._check_open()
        store = self._redis
        counts = await store.asession_counts()
        usage = await store.ausage_bytes()
        stats: dict[str, Any] = {
            "backend": type(self).__name__,
            "total_messages": sum(counts.values()),
            "active_sessions": len(counts),
        }
        engines = self._engines
        if engines.engines:
            stats.update(await self._locked(engines.stats))
            usage += await self._locked(lambda: sum(e.memory_bytes() for e in engines.engines))
        stats["memory_usage_mb"] = usage / (1024 * 1024)
        stats.update(store.stats())
        stats.update(self._extra_stats())
        return stats

    async def aget_session_stats(self, session_id: SessionScope = None) -> dict[str, Any]:
        """Async twin of :meth:`get_session_stats`, on the asyncio client."""
        if not self._native:
            return await super().aget_session_stats(session_id)
        msgs = await self.aget_messages(session_id)
        first = msgs[0].timestamp if msgs else None
        last = msgs[-1].timestamp if msgs else None
        roles: dict[str, int] = {}
        for m in msgs:
            roles[m.role] = roles.get(m.role, 0) + 1
        scored = [m.importance for m in msgs if m.importance is not None]
        return {
            "session_id": session_id
            if isinstance(session_id, (str, AllSessions))
            else self.session_id,
            "message_count": len(msgs),
            "tokens": sum(self._count_tokens_many([m.content for m in msgs])),
            "first_timestamp": first,
            "last_timestamp": last,
            "duration_hours": (last - first) / 3600.0
            if first is not None and last is not None
            else 0.0,
            "roles": roles,
            "avg_importance": sum(scored) / len(scored) if scored else None,
        }
