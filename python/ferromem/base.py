"""`MemoryBackend`: the one interface every memory shares, and the behaviour written once for all.

A backend supplies only storage primitives (``_store``, ``_load``, ``_session_ids``, ``_remove``),
as a user's custom backend would. Everything else lives here once: session binding and
``ALL_SESSIONS``, validation, ids, limits, search on top of ``_search``, context assembly within a
token budget, stats, cleanup, and the async twins, which run the work in a worker thread (the
Rust engines release the GIL) so that the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import numpy as np

from . import _core
from ._core import ImportanceScorer
from .context import ContextBuilder
from .errors import FerromemError, InvalidArgumentError, InvalidTypeError
from .message import DEFAULT_SESSION, AllSessions, Hit, Message, chrono_key, new_message_id
from .session_search import SessionIndexCache, keyword_search, matches_filters
from .tokens import TokenCounterSpec, resolve_token_counter

__all__ = ["ContextSection", "ImportanceCallable", "MemoryBackend", "SessionScope", "TokenCounter"]

SessionScope = str | AllSessions | None
#: ``token_counter=``: an encoding name or a ``str -> int`` callable (see :mod:`ferromem.tokens`).
TokenCounter = TokenCounterSpec
#: A user-supplied importance scorer: one score in [0, 1] per text.
ImportanceCallable = Callable[[list[str]], Sequence[float]]
#: A leading block of :meth:`MemoryBackend.get_context`: a title and its text or messages.
ContextSection = tuple[str, str | Sequence[Message]]

R = TypeVar("R")
B = TypeVar("B", bound="MemoryBackend")


def _check_limit(value: object, name: str, *, allow_none: bool = True) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 0:
        raise InvalidArgumentError(f"{name} must be >= 0, got {value}")
    return value


def _check_age(max_age_days: object) -> float:
    if isinstance(max_age_days, bool) or not isinstance(max_age_days, (int, float)):
        raise InvalidTypeError(f"max_age_days must be a number, not {type(max_age_days).__name__}")
    if not max_age_days >= 0 or math.isinf(max_age_days):
        raise InvalidArgumentError(f"max_age_days must be finite and >= 0, got {max_age_days}")
    return float(max_age_days)


def _check_batch(messages: object) -> None:
    if isinstance(messages, (str, bytes, Message, Mapping)) or messages is None:
        raise InvalidTypeError(
            f"messages must be a list of Message or dict, not {type(messages).__name__}"
        )


def _message_from_args(
    message_or_role: Message | str | None, content: str | None, fields: dict[str, Any]
) -> tuple[Message, SessionScope]:
    """The message and target session of an ``add_message(...)`` call (validated)."""
    if isinstance(message_or_role, Message):
        if content is not None or fields:
            raise InvalidArgumentError(
                "pass either a Message, or role and content with fields, not both"
            )
        return message_or_role, None
    if message_or_role is None:
        raise InvalidTypeError("message must be a Message or a role str, not None")
    if content is None:
        raise InvalidTypeError("content must be str, not None")
    session_id = fields.pop("session_id", None)
    return Message(message_or_role, content, **fields), session_id


def _check_query(query: object) -> str:
    if not isinstance(query, str):
        raise InvalidTypeError(f"query must be str, not {type(query).__name__}")
    return query


class MemoryBackend(ABC):
    """The shared interface of every ferromem memory (see API.md).

    A memory is bound to one session by its constructor; ``session_id=None`` in any method means
    that session, and reaching across sessions needs :data:`ALL_SESSIONS`, spelled out. All public
    methods are thread-safe (one re-entrant lock per memory).

    Subclasses implement the storage primitives below; indexed backends also override
    :meth:`_search`, and may override ``_get``/``_count`` when they can do better than a scan.
    """

    #: Token budget of :meth:`get_context` when ``max_tokens`` is not given.
    default_context_tokens: ClassVar[int] = 2000
    #: How many search hits :meth:`get_context` considers when a query is given.
    context_search_limit: ClassVar[int] = 10
    #: Scores ``Message.importance`` when a message arrives without one: None for the default
    #: scorer of :func:`ferromem.core.importance`, a configured
    #: :class:`~ferromem.core.ImportanceScorer`, or any callable ``list[str] -> list[float]``
    #: (an LLM judging importance) returning one score in [0, 1] per text.
    importance_scorer: ImportanceScorer | ImportanceCallable | None = None

    def __init__(
        self, *, session_id: str = DEFAULT_SESSION, token_counter: TokenCounter | None = None
    ) -> None:
        if not isinstance(session_id, str) or not session_id:
            raise InvalidArgumentError(f"session_id must be a non-empty str, got {session_id!r}")
        self._token_counter = resolve_token_counter(token_counter)
        self.session_id = session_id
        self._lock = threading.RLock()
        self._closed = False
        self._index_cache = SessionIndexCache()

    # ----------------------------------------------------------------- storage primitives
    @abstractmethod
    def _store(self, messages: Sequence[Message]) -> None:
        """Stores validated messages (ids, sessions and timestamps set), in order."""

    @abstractmethod
    def _load(self, session_id: str) -> list[Message]:
        """Every message of one session, in the order they were stored."""

    @abstractmethod
    def _session_ids(self) -> list[str]:
        """The sessions that hold at least one message."""

    @abstractmethod
    def _remove(self, session_id: str, ids: Collection[str]) -> int:
        """Removes the given ids from one session; returns how many were removed."""

    def _clear(self, session_id: str) -> None:
        """Removes a whole session (backends override this with something cheaper)."""
        self._remove(session_id, [m.id for m in self._load(session_id) if m.id is not None])

    def _get(self, message_id: str) -> Message | None:
        """The message with this id in any session, or None (a scan unless overridden)."""
        for sid in self._session_ids():
            for m in self._load(sid):
                if m.id == message_id:
                    return m
        return None

    def _count(self, session_id: str) -> int:
        """How many messages one session holds."""
        return len(self._load(session_id))

    def _search(
        self,
        query: str,
        sessions: list[str],
        limit: int,
        filters: Mapping[str, Any] | None,
    ) -> list[Hit]:
        """Best ``limit`` hits for ``query`` in ``sessions`` (BM25 through the Rust keyword index).

        One session without filters, in a backend that reports :meth:`_session_version`, is
        searched through an index cached until the session changes; otherwise an index is
        built over the messages in scope for this search."""
        if len(sessions) == 1 and not filters:
            version = self._session_version(sessions[0])
            if version is not None:
                sid = sessions[0]
                return self._index_cache.search(sid, version, lambda: self._load(sid), query, limit)
        candidates = [m for sid in sessions for m in self._load(sid)]
        if filters:
            candidates = [m for m in candidates if matches_filters(m, filters)]
        return keyword_search(query, candidates, limit)

    def _session_version(self, session_id: str) -> Hashable | None:
        """A value that changes whenever the session changes, or None when the backend cannot
        tell cheaply (then searches build a fresh index each time)."""
        return None

    def _memory_usage_bytes(self) -> int:
        """Bytes held for messages (an estimate unless the backend knows better)."""
        total = 0
        for sid in self._session_ids():
            for m in self._load(sid):
                total += 200 + len(m.content.encode()) + len(m.role) + len(str(m.metadata))
        return total

    def _extra_stats(self) -> dict[str, Any]:
        """Backend-specific entries added to :meth:`get_stats`."""
        return {}

    def _context_preamble(self, sessions: list[str], query: str | None) -> list[ContextSection]:
        """Sections that lead the context: ``(title, text)`` for a summary, or ``(title,
        messages)`` for core facts given best first (shown in time order, not repeated among the
        turns)."""
        return []

    def _context_relevant(self, query: str, sessions: list[str]) -> list[Message]:
        """The turns most relevant to ``query``, best first (search hits unless overridden)."""
        return [h.message for h in self._search(query, sessions, self.context_search_limit, None)]

    def _after_store(self, session_id: str) -> None:  # noqa: B027 - an optional hook
        """Called after messages were added to a session (limits, summaries)."""

    # ----------------------------------------------------------------- helpers
    def _check_open(self) -> None:
        if self._closed:
            raise FerromemError(f"{type(self).__name__} is closed")

    def _scope(self, session_id: SessionScope) -> list[str]:
        """The sessions a call reaches: the bound one, a named one, or all of them."""
        if session_id is None:
            return [self.session_id]
        if isinstance(session_id, AllSessions):
            return self._session_ids()
        if not isinstance(session_id, str) or not session_id:
            raise InvalidArgumentError(
                f"session_id must be a non-empty str or ALL_SESSIONS, got {session_id!r}"
            )
        return [session_id]

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` as this memory counts them (its ``token_counter``, by default
        o200k_base exactly; see :mod:`ferromem.tokens`)."""
        return self._token_counter(text)

    def _count_tokens_many(self, texts: Sequence[str]) -> list[int]:
        return self._token_counter.count_many(texts)

    def _prepare(
        self, items: Iterable[object], session_id: SessionScope, *, check_stored: bool = True
    ) -> list[Message]:
        """Validates items into storable messages: session, id, timestamp and importance set.

        Caller-given ids are checked against the store unless ``check_stored`` is False (an
        async backend checks them itself, without blocking)."""
        keep_own = isinstance(session_id, AllSessions)
        target = None if keep_own else self._scope(session_id)[0]
        staged: list[tuple[Message, str, str]] = []
        seen: set[str] = set()
        for i, item in enumerate(items):
            if isinstance(item, Message):
                msg = item
            elif isinstance(item, Mapping):
                msg = Message.from_dict(item)
            else:
                raise InvalidTypeError(
                    f"messages[{i}] must be a Message or a dict, not {type(item).__name__}"
                )
            sid = msg.session_id
            if target is not None and sid != target:
                if sid != DEFAULT_SESSION:
                    raise InvalidArgumentError(
                        f"message session_id {sid!r} differs from the target session {target!r};"
                        " pass session_id=ALL_SESSIONS to keep each message's own session"
                    )
                sid = target
            mid = msg.id
            if mid is None:
                mid = new_message_id()
            elif mid in seen or (check_stored and self._get(mid) is not None):
                raise InvalidArgumentError(f"message id {mid!r} is already stored")
            seen.add(mid)
            staged.append((msg, sid, mid))
        unscored = [msg.content for msg, _, _ in staged if msg.importance is None]
        scores = iter(self._score_importance(unscored) if unscored else ())
        out: list[Message] = []
        for msg, sid, mid in staged:
            if msg.importance is None:
                msg = _with(msg, session_id=sid, id=mid, importance=next(scores))
            elif sid is not msg.session_id or mid is not msg.id:
                msg = _with(msg, session_id=sid, id=mid)
            out.append(msg)
        return out

    def _score_importance(self, texts: list[str]) -> list[float]:
        """Importance of each text (in Rust, batched), for messages stored without one."""
        scorer = self.importance_scorer
        if scorer is not None and not isinstance(scorer, ImportanceScorer):
            return _call_importance(scorer, texts)
        if len(texts) == 1:
            return [_core.importance(texts[0]) if scorer is None else scorer.score(texts[0])]
        scores = _core.importance_many(texts) if scorer is None else scorer.score_many(texts)
        # The core rounds to four decimals; float32 blurs that, so round the doubles back.
        rounded: list[float] = np.round(scores.astype(np.float64), 4).tolist()
        return rounded

    # ----------------------------------------------------------------- public API
    def add_message(
        self, message_or_role: Message | str, content: str | None = None, **fields: Any
    ) -> str:
        """Stores one message and returns its id.

        Takes a :class:`Message`, or ``role, content`` plus any Message field as keywords
        (``session_id``, ``metadata``, ``timestamp``, ``importance``, ``id``).
        """
        msg, session_id = _message_from_args(message_or_role, content, fields)
        return self.add_messages([msg], session_id=session_id)[0]

    def add_messages(
        self, messages: Iterable[Message | Mapping[str, Any]], *, session_id: SessionScope = None
    ) -> list[str]:
        """Stores many messages at once (the fast path) and returns their ids in order.

        Each item goes to ``session_id`` (the bound session by default). An item that names a
        different session is refused unless ``session_id=ALL_SESSIONS``, which keeps each item's
        own session.
        """
        _check_batch(messages)
        with self._lock:
            self._check_open()
            prepared = self._prepare(messages, session_id)
            if not prepared:
                return []
            self._store(prepared)
            for sid in dict.fromkeys(m.session_id for m in prepared):
                self._after_store(sid)
            return [m.id for m in prepared if m.id is not None]

    def get_messages(
        self, session_id: SessionScope = None, limit: int | None = None
    ) -> list[Message]:
        """Messages in chronological order; ``limit`` keeps the newest ``limit``."""
        n = _check_limit(limit, "limit")
        with self._lock:
            self._check_open()
            sessions = self._scope(session_id)
            msgs = [m for sid in sessions for m in self._load(sid)]
        if len(sessions) > 1 or not _is_sorted(msgs):
            msgs.sort(key=chrono_key)
        if n is not None:
            msgs = msgs[-n:] if n else []
        return msgs

    def search(
        self,
        query: str,
        *,
        session_id: SessionScope = None,
        limit: int = 10,
        min_score: float = 0.0,
        filters: Mapping[str, Any] | None = None,
    ) -> list[Hit]:
        """The messages most relevant to ``query``, best first.

        ``filters`` keeps only messages whose metadata has exactly these key/value pairs.
        An empty or whitespace-only query finds nothing.
        """
        query = _check_query(query)
        n = _check_limit(limit, "limit", allow_none=False)
        if isinstance(min_score, bool) or not isinstance(min_score, (int, float)):
            raise InvalidTypeError(f"min_score must be a float, not {type(min_score).__name__}")
        if math.isnan(min_score):
            raise InvalidArgumentError("min_score must not be NaN")
        if filters is not None and not isinstance(filters, Mapping):
            raise InvalidTypeError(f"filters must be a dict, not {type(filters).__name__}")
        if not n or not query.strip():
            return []
        with self._lock:
            self._check_open()
            hits = self._search(query, self._scope(session_id), n, filters)
        return [h for h in hits if h.score >= min_score][:n]

    def search_messages(
        self, query: str, session_id: SessionScope = None, limit: int = 10
    ) -> list[Message]:
        """:meth:`search` without the scores (the seeds' name)."""
        return [h.message for h in self.search(query, session_id=session_id, limit=limit)]

    def get_context(
        self,
        query: str | None = None,
        *,
        session_id: SessionScope = None,
        max_tokens: int | None = None,
    ) -> str:
        """Prompt-ready text within ``max_tokens``: recent turns, plus relevant ones for ``query``.

        Turns are role-labelled (``role: content``) and chronological, led by any summary or
        core facts the memory keeps (at most half the budget). The result never exceeds the
        budget as counted by this memory's token counter; when even the newest turn does not fit
        whole it is cut, not dropped, and ends with ``[truncated]``.
        """
        if query is not None:
            query = _check_query(query)
        budget = _check_limit(max_tokens, "max_tokens")
        if budget is None:
            budget = self._default_budget()
        with self._lock:
            self._check_open()
            sessions = self._scope(session_id)
            builder = ContextBuilder(self.count_tokens, budget, self._count_tokens_many)
            for title, body in self._context_preamble(sessions, query):
                if isinstance(body, str):
                    builder.add_section(title, body)
                else:
                    builder.add_message_section(title, body)
            if query and query.strip():
                builder.add_relevant(self._context_relevant(query, sessions))
            builder.add_recent(self._recent_iter(sessions))
            return builder.render()

    def _default_budget(self) -> int:
        return self.default_context_tokens

    def _recent_iter(self, sessions: list[str]) -> Iterable[Message]:
        """Messages newest first, for filling the context with recent turns."""
        msgs = [m for sid in sessions for m in self._load(sid)]
        if len(sessions) > 1 or not _is_sorted(msgs):
            msgs.sort(key=chrono_key)
        return reversed(msgs)

    def delete_message(self, id: str, *, session_id: SessionScope = None) -> bool:
        """Deletes one message of the bound session (or of ``session_id``); False if absent."""
        if not isinstance(id, str):
            raise InvalidTypeError(f"id must be str, not {type(id).__name__}")
        with self._lock:
            self._check_open()
            msg = self._get(id)
            if msg is None or msg.session_id not in self._scope(session_id):
                return False
            return self._remove(msg.session_id, [id]) > 0

    def clear_session(self, session_id: str | AllSessions) -> None:
        """Removes every message of ``session_id`` (``ALL_SESSIONS``: of every session).

        Clearing a session that holds nothing is a no-op.
        """
        if session_id is None:
            raise InvalidArgumentError("clear_session needs a session_id (or ALL_SESSIONS)")
        with self._lock:
            self._check_open()
            for sid in self._scope(session_id):
                self._clear(sid)

    def get_stats(self) -> dict[str, Any]:
        """Totals over the whole memory: ``total_messages``, ``active_sessions``,
        ``memory_usage_mb`` and backend-specific figures."""
        with self._lock:
            self._check_open()
            sessions = self._session_ids()
            stats: dict[str, Any] = {
                "backend": type(self).__name__,
                "total_messages": sum(self._count(s) for s in sessions),
                "active_sessions": len(sessions),
                "memory_usage_mb": self._memory_usage_bytes() / (1024 * 1024),
            }
            stats.update(self._extra_stats())
            return stats

    def get_session_stats(self, session_id: SessionScope = None) -> dict[str, Any]:
        """Figures for one session (or ``ALL_SESSIONS``): ``message_count``, ``tokens``,
        ``first_timestamp``, ``last_timestamp``, ``duration_hours``, ``roles``,
        ``avg_importance``."""
        msgs = self.get_messages(session_id)
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

    def cleanup_old_messages(self, max_age_days: float, *, session_id: SessionScope = None) -> int:
        """Removes messages older than ``max_age_days`` from the bound session (or
        ``session_id``; ``ALL_SESSIONS`` for every session). Returns how many were removed."""
        cutoff = time.time() - _check_age(max_age_days) * 86400.0
        removed = 0
        with self._lock:
            self._check_open()
            for sid in self._scope(session_id):
                old = [m.id for m in self._load(sid) if m.timestamp < cutoff and m.id is not None]
                if old:
                    removed += self._remove(sid, old)
        return removed

    def close(self) -> None:
        """Releases files and connections; the memory cannot be used afterwards."""
        with self._lock:
            self._closed = True

    def __enter__(self: B) -> B:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        """Messages in the bound session."""
        with self._lock:
            self._check_open()
            return self._count(self.session_id)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(session_id={self.session_id!r})"

    # ----------------------------------------------------------------- async twins
    # The same work in a worker thread: the event loop stays free while the Rust engines run
    # with the GIL released. Each twin calls the (possibly overridden) sync method.
    async def _in_thread(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def aadd_message(
        self, message_or_role: Message | str, content: str | None = None, **fields: Any
    ) -> str:
        """Async twin of :meth:`add_message`."""
        return await self._in_thread(self.add_message, message_or_role, content, **fields)

    async def aadd_messages(
        self, messages: Iterable[Message | Mapping[str, Any]], *, session_id: SessionScope = None
    ) -> list[str]:
        """Async twin of :meth:`add_messages`."""
        return await self._in_thread(self.add_messages, messages, session_id=session_id)

    async def aget_messages(
        self, session_id: SessionScope = None, limit: int | None = None
    ) -> list[Message]:
        """Async twin of :meth:`get_messages`."""
        return await self._in_thread(self.get_messages, session_id, limit)

    async def asearch(
        self,
        query: str,
        *,
        session_id: SessionScope = None,
        limit: int = 10,
        min_score: float = 0.0,
        filters: Mapping[str, Any] | None = None,
    ) -> list[Hit]:
        """Async twin of :meth:`search`."""
        return await self._in_thread(
            self.search,
            query,
            session_id=session_id,
            limit=limit,
            min_score=min_score,
            filters=filters,
        )

    async def asearch_messages(
        self, query: str, session_id: SessionScope = None, limit: int = 10
    ) -> list[Message]:
        """Async twin of :meth:`search_messages`."""
        return await self._in_thread(self.search_messages, query, session_id, limit)

    async def aget_context(
        self,
        query: str | None = None,
        *,
        session_id: SessionScope = None,
        max_tokens: int | None = None,
    ) -> str:
        """Async twin of :meth:`get_context`."""
        return await self._in_thread(
            self.get_context, query, session_id=session_id, max_tokens=max_tokens
        )

    async def adelete_message(self, id: str, *, session_id: SessionScope = None) -> bool:
        """Async twin of :meth:`delete_message`."""
        return await self._in_thread(self.delete_message, id, session_id=session_id)

    async def aclear_session(self, session_id: str | AllSessions) -> None:
        """Async twin of :meth:`clear_session`."""
        await self._in_thread(self.clear_session, session_id)

    async def aget_stats(self) -> dict[str, Any]:
        """Async twin of :meth:`get_stats`."""
        return await self._in_thread(self.get_stats)

    async def aget_session_stats(self, session_id: SessionScope = None) -> dict[str, Any]:
        """Async twin of :meth:`get_session_stats`."""
        return await self._in_thread(self.get_session_stats, session_id)

    async def acleanup_old_messages(
        self, max_age_days: float, *, session_id: SessionScope = None
    ) -> int:
        """Async twin of :meth:`cleanup_old_messages`."""
        return await self._in_thread(self.cleanup_old_messages, max_age_days, session_id=session_id)


def _call_importance(scorer: ImportanceCallable, texts: list[str]) -> list[float]:
    """Scores from a user's importance callable, checked: one float in [0, 1] per text."""
    scores = list(scorer(list(texts)))
    if len(scores) != len(texts):
        raise InvalidArgumentError(
            f"importance_scorer returned {len(scores)} scores for {len(texts)} texts"
        )
    out: list[float] = []
    for i, x in enumerate(scores):
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise InvalidTypeError(
                f"importance_scorer returned {type(x).__name__} for text {i}, not a float"
            )
        if not 0.0 <= x <= 1.0:
            raise InvalidArgumentError(
                f"importance_scorer returned {x!r} for text {i}, not in [0, 1]"
            )
        out.append(float(x))
    return out


def _is_sorted(msgs: list[Message]) -> bool:
    return all(msgs[i].timestamp <= msgs[i + 1].timestamp for i in range(len(msgs) - 1))


def _with(message: Message, **changes: Any) -> Message:
    """A copy of a validated message with trusted fields changed, skipping re-validation."""
    copy = object.__new__(Message)
    for name in Message.__slots__:
        object.__setattr__(copy, name, changes.get(name, getattr(message, name)))
    return copy
