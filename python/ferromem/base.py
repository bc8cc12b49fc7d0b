"""`MemoryBackend`: the one interface every memory shares, and the behaviour written once for all.

A memory is a **store** (the truth: where messages live) plus **engines** derived from it (the
keyword index, the vector index, their hybrid). Everything else lives here once: bound and shared
sessions and ``ALL_SESSIONS``, validation, ids and importance, all-or-nothing writes, search on
the engines with filters and time-aware ranking, context assembly within a token budget, stats,
cleanup, sessions with a life, and the async twins (see :mod:`ferromem.async_twins`).

A user's own backend may instead implement only four storage primitives (``_store``, ``_load``,
``_session_ids``, ``_remove``), as in the Niflheim-X seed; it then gets everything else too.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import numpy as np
import numpy.typing as npt

from . import _core
from ._core import ImportanceScorer
from .async_twins import AsyncTwins
from .checks import (
    check_age,
    check_batch,
    check_count,
    check_mapping,
    check_positive_int,
    check_query,
    check_score,
    check_time,
    check_weight,
)
from .context import ContextBuilder
from .engines.engine_set import EngineSet
from .engines.keyword import KeywordEngine
from .engines.vector import VectorEngine
from .errors import FerromemError, InvalidArgumentError, InvalidTypeError
from .filters import Predicate, compile_filters
from .message import (
    DEFAULT_SESSION,
    AllSessions,
    Hit,
    Message,
    check_text,
    chrono_key,
    new_message_id,
)
from .session_search import keyword_search
from .stores.base import Conflict, Store, WriteResult
from .stores.memory import MemoryStore
from .stores.primitive import PrimitiveStore
from .tokens import TokenCounterSpec, resolve_token_counter

__all__ = ["ContextSection", "ImportanceCallable", "MemoryBackend", "SessionScope", "TokenCounter"]

SessionScope = str | AllSessions | None
#: ``token_counter=``: an encoding name or a ``str -> int`` callable (see :mod:`ferromem.tokens`).
TokenCounter = TokenCounterSpec
#: A user-supplied importance scorer: one score in [0, 1] per text.
ImportanceCallable = Callable[[list[str]], Sequence[float]]
#: A leading block of :meth:`MemoryBackend.get_context`: a title and its text or messages.
ContextSection = tuple[str, str | Sequence[Message]]

B = TypeVar("B", bound="MemoryBackend")
_CONFLICTS = ("error", "replace", "skip")


#: The keywords of ``add_message(role, content, ...)`` that the batched path takes as they are.
_SINGLE_FIELDS = frozenset({"session_id", "metadata", "timestamp", "importance", "id"})
_UNSEEN = object()


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


class MemoryBackend(AsyncTwins):
    """The shared interface of every ferromem memory (see API.md and docs/api.md).

    **Bound or shared.** A memory constructed with ``session_id=...`` is *bound* to that
    session: ``session_id=None`` in any method means that session, and a message naming another
    session is refused unless the call says :data:`ALL_SESSIONS`. A memory constructed without
    ``session_id`` is *shared*: a :class:`Message` keeps its own session, and ``session_id=None``
    in a method means the default session (``"default"``). Reading, searching or deleting across
    sessions always needs ``ALL_SESSIONS``, spelled out; naming another session explicitly is
    always allowed.

    All public methods are thread-safe (one re-entrant lock per memory).
    """

    #: Token budget of :meth:`get_context` when ``max_tokens`` is not given.
    default_context_tokens: ClassVar[int] = 2000
    #: How many search hits :meth:`get_context` considers when a query is given.
    context_search_limit: ClassVar[int] = 10
    #: Hits :meth:`search` returns when ``limit`` is not given.
    default_search_limit: int = 10
    #: Messages older than this many days are neither listed nor found (None: no limit).
    max_age_days: float | None = None
    #: Scores ``Message.importance`` when a message arrives without one: None for the default
    #: scorer of :func:`ferromem.core.importance`, a configured
    #: :class:`~ferromem.core.ImportanceScorer`, or any callable ``list[str] -> list[float]``
    #: (an LLM judging importance) returning one score in [0, 1] per text.
    importance_scorer: ImportanceScorer | ImportanceCallable | None = None

    def __init__(
        self,
        *,
        session_id: str | None = None,
        token_counter: TokenCounter | None = None,
        store: Store | None = None,
        engines: EngineSet | None = None,
    ) -> None:
        if session_id is not None and (not isinstance(session_id, str) or not session_id):
            raise InvalidArgumentError(f"session_id must be a non-empty str, got {session_id!r}")
        if session_id is not None:
            check_text(session_id, "session_id")
        #: True when the memory is bound to :attr:`session_id` (see the class docs).
        self.bound = session_id is not None
        self.session_id = session_id if session_id is not None else DEFAULT_SESSION
        self._token_counter = resolve_token_counter(token_counter)
        self._lock = threading.RLock()
        self._closed = False
        if store is None:
            if type(self)._store is MemoryBackend._store:
                raise InvalidTypeError(
                    f"{type(self).__name__} must pass a store to MemoryBackend.__init__ or "
                    "implement the primitives _store, _load, _session_ids and _remove"
                )
            store = PrimitiveStore(self)
        self._store_impl = store
        self._engines = engines if engines is not None else EngineSet(store)
        self._wants_removed = type(self)._on_removed is not MemoryBackend._on_removed

    # ----------------------------------------------------------------- a user's primitives
    def _store(self, messages: Sequence[Message]) -> None:
        """Stores validated messages (ids, sessions and timestamps set), in order."""
        raise NotImplementedError

    def _load(self, session_id: str) -> list[Message]:
        """Every message of one session, in the order they were stored."""
        raise NotImplementedError

    def _session_ids(self) -> list[str]:
        """The sessions that hold at least one message."""
        raise NotImplementedError

    def _remove(self, session_id: str, ids: Collection[str]) -> int:
        """Removes the given ids from one session; returns how many were removed."""
        raise NotImplementedError

    # ----------------------------------------------------------------- hooks for subclasses
    def _on_stored(self, messages: Sequence[Message], keys: Sequence[int | None]) -> None:
        """Called after messages were stored through this memory (a skipped one has key None)."""

    def _on_removed(self, messages: Sequence[Message]) -> None:
        """Called after messages were removed through this memory."""

    def _after_store(self, session_id: str) -> None:
        """Called after messages were added to a session (limits, summaries)."""

    def _context_preamble(self, sessions: list[str], query: str | None) -> list[ContextSection]:
        """Sections that lead the context: ``(title, text)`` for a summary, or ``(title,
        messages)`` for core facts given best first (shown in time order, not repeated among the
        turns)."""
        return []

    def _context_relevant(self, query: str, sessions: list[str]) -> list[Message]:
        """The turns most relevant to ``query``, best first (search hits unless overridden)."""
        hits = self._search(query, None, sessions, self.context_search_limit, None)
        return [h.message for h in hits]

    def _extra_stats(self) -> dict[str, Any]:
        """Memory-specific entries added to :meth:`get_stats`."""
        return {}

    def _default_budget(self) -> int:
        return self.default_context_tokens

    # ----------------------------------------------------------------- helpers
    @property
    def store(self) -> Store:
        """The store this memory keeps its messages in."""
        return self._store_impl

    def _cutoff(self) -> float | None:
        """Messages older than this epoch time are expired (see :attr:`max_age_days`)."""
        if self.max_age_days is None:
            return None
        return time.time() - self.max_age_days * 86400.0

    def _live(self, m: Message | None, cutoff: float | None) -> bool:
        return m is not None and (cutoff is None or m.timestamp >= cutoff)

    def _check_open(self) -> None:
        if self._closed:
            raise FerromemError(f"{type(self).__name__} is closed")

    def _scope(self, session_id: SessionScope) -> list[str]:
        """The sessions a call reaches: the default or bound one, a named one, or all."""
        if session_id is None:
            return [self.session_id]
        if isinstance(session_id, AllSessions):
            return self._store_impl.sessions()
        if not isinstance(session_id, str) or not session_id:
            raise InvalidArgumentError(
                f"session_id must be a non-empty str or ALL_SESSIONS, got {session_id!r}"
            )
        return [check_text(session_id, "session_id")]

    def _engine_scope(self, session_id: SessionScope) -> list[str] | None:
        """The sessions for the engines: None means every session (one search of the whole
        index, cheaper than naming them all)."""
        return None if isinstance(session_id, AllSessions) else self._scope(session_id)

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` as this memory counts them (its ``token_counter``, by default
        o200k_base exactly; see :mod:`ferromem.tokens`)."""
        return self._token_counter(text)

    def _count_tokens_many(self, texts: Sequence[str]) -> list[int]:
        return self._token_counter.count_many(texts)

    # ----------------------------------------------------------------- the write path
    def _prepare(self, items: Iterable[object], session_id: SessionScope) -> list[Message]:
        """Validates items into storable messages: session, id, timestamp and importance set.

        The target session is ``session_id`` when given; otherwise the bound session (a bound
        memory) or each message's own session (a shared memory). A message naming another
        session than an explicit or bound target is refused unless ``ALL_SESSIONS``."""
        if isinstance(session_id, AllSessions) or (session_id is None and not self.bound):
            target = None
        else:
            target = self._scope(session_id)[0]
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
            elif mid in seen:
                raise InvalidArgumentError(f"message id {mid!r} appears twice in one batch")
            seen.add(mid)
            staged.append((msg, sid, mid))
        unscored = [msg.content for msg, _, _ in staged if msg.importance is None]
        scores = iter(self._score_importance(unscored) if unscored else ())
        out: list[Message] = []
        for msg, sid, mid in staged:
            if msg.importance is None:
                msg = _with(msg, session_id=sid, id=mid, importance=next(scores))
            elif sid is not msg.session_id or mid is not msg.id:
                msg = _with(msg, session_id=sid, id=mid, importance=msg.importance)
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

    def _write(
        self,
        prepared: list[Message],
        on_conflict: Conflict = "error",
        vectors: npt.NDArray[np.float32] | None = None,
    ) -> WriteResult:
        """Embeds (when a vector engine is present and no ``vectors`` were given), stores in one
        transaction, updates the engines and runs the hooks. Nothing is written when embedding
        fails."""
        store = self._store_impl
        replaced: list[Message | None] = []
        if on_conflict == "replace" and self._wants_removed:
            old_keys = [k for k in store.keys_of([m.id or "" for m in prepared]) if k is not None]
            replaced = store.get(old_keys)
        vector = self._engines.vector
        if vector is None:
            vectors = None
        elif vectors is None:
            vectors = vector.embed([m.content for m in prepared])
        if vectors is not None:
            self._engines.stamp_embedder()
        result = store.put(prepared, vectors, on_conflict=on_conflict)
        self._engines.on_write(result, prepared, vectors)
        if replaced:
            self._on_removed([m for m in replaced if m is not None])
        self._on_stored(prepared, result.keys)
        return result

    def _delete_keys(self, keys: Sequence[int]) -> int:
        """Removes keys from the store and the engines; returns how many were there."""
        if not keys:
            return 0
        store = self._store_impl
        before = store.get(keys) if self._wants_removed else None
        result = store.remove(keys)
        self._engines.on_write(result, [], None)
        if result.removed and before is not None:
            gone = set(result.removed)
            self._on_removed([m for k, m in zip(keys, before, strict=True) if k in gone and m])
        return len(result.removed)

    # ----------------------------------------------------------------- public API: writing
    def add_message(
        self, message_or_role: Message | str, content: str | None = None, **fields: Any
    ) -> str:
        """Stores one message and returns its id.

        Takes a :class:`Message`, or ``role, content`` plus any Message field as keywords
        (``session_id``, ``metadata``, ``timestamp``, ``importance``, ``id``).
        """
        if (
            type(message_or_role) is str
            and type(content) is str
            and _SINGLE_FIELDS.issuperset(fields)
            and (store := self._columnar()) is not None
        ):
            # The batched path with one message: no Message made, the index add buffered.
            if fields:
                target = fields.pop("session_id", None)
                item = {"role": message_or_role, "content": content, **fields}
            else:
                target, item = None, {"role": message_or_role, "content": content}
            with self._lock:
                self._check_open()
                return self._ingest(store, [item], target, "error", single=True)[0]
        msg, session_id = _message_from_args(message_or_role, content, fields)
        return self.add_messages([msg], session_id=session_id)[0]

    def add_messages(
        self,
        messages: Iterable[Message | Mapping[str, Any]],
        *,
        session_id: SessionScope = None,
        on_conflict: Conflict = "error",
        vectors: Any = None,
    ) -> list[str]:
        """Stores many messages in one all-or-nothing write and returns their ids in order.

        Where each goes: see the class docs (bound or shared). ``on_conflict`` decides what an
        id that is already stored does: ``"error"`` (refuse the whole batch), ``"replace"``
        (an upsert: the stored message is replaced, re-indexed and re-embedded) or ``"skip"``
        (keep the stored one; its id is still returned). ``vectors`` (one row per message, in a
        memory with a vector engine) are stored instead of embedding the texts: vectors made
        elsewhere, by the same embedder.
        """
        check_batch(messages)
        if on_conflict not in _CONFLICTS:
            raise InvalidArgumentError(
                f"on_conflict must be one of {_CONFLICTS}, got {on_conflict!r}"
            )
        with self._lock:
            self._check_open()
            if vectors is None and (store := self._columnar()) is not None:
                return self._ingest(store, messages, session_id, on_conflict)
            prepared = self._prepare(messages, session_id)
            given = self._given_vectors(vectors, len(prepared))
            if not prepared:
                return []
            self._write(prepared, on_conflict, given)
            for sid in dict.fromkeys(m.session_id for m in prepared):
                self._after_store(sid)
            return [m.id for m in prepared if m.id is not None]

    def _columnar(self) -> MemoryStore | None:
        """The columnar store when a write may take the batched path in the core: nothing of
        the Python write path (hooks, a vector engine, a custom importance scorer, an engine
        that indexes more than the text, such as captions) is needed."""
        store = self._store_impl
        if (
            type(store) is MemoryStore
            and self._engines.vector is None
            and type(self._engines.keyword) in (KeywordEngine, type(None))
            and self.importance_scorer is None
            and type(self)._hooks_plain
        ):
            return store
        return None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._hooks_plain = all(
            getattr(cls, name) is getattr(MemoryBackend, name)
            for name in ("_on_stored", "_on_removed", "_after_store", "_prepare", "_write")
        )

    _hooks_plain: ClassVar[bool] = True

    def _ingest(
        self,
        store: MemoryStore,
        items: Iterable[object],
        session_id: SessionScope,
        on_conflict: Conflict,
        *,
        single: bool = False,
    ) -> list[str]:
        """:meth:`add_messages` in one call into the core: validation, ids, importance,
        storing and keyword indexing, all or nothing (the lock is held)."""
        if session_id is None:
            target = self.session_id if self.bound else None
        elif isinstance(session_id, AllSessions):
            target = None
        else:
            target = self._scope(session_id)[0]
        engines = self._engines
        keyword = engines.keyword
        in_step = keyword is not None and engines.seen.get(None, _UNSEEN) == store._version
        batch = in_step and not single
        if batch:
            keyword.flush()  # type: ignore[union-attr]
        ids, keys = store.ingest(
            items,  # type: ignore[arg-type]
            target=target,
            on_conflict=on_conflict,
            index=keyword.index if batch else None,  # type: ignore[union-attr]
            index_roles=keyword.index_roles if keyword is not None else True,
        )
        if in_step and keys:
            assert keyword is not None
            if single and keys[0] is not None:
                [item] = items  # type: ignore[misc]
                role, content = item["role"], item["content"]  # type: ignore[index]
                keyword.add_one(keys[0], role, content, target or DEFAULT_SESSION)
            engines.seen[None] = store._version
            engines.invalidate_orders()
        return ids

    def _given_vectors(self, vectors: Any, n: int) -> npt.NDArray[np.float32] | None:
        """Caller-made vectors, checked: one finite row per message, of the engine's dimension."""
        if vectors is None:
            return None
        engine = self._engines.vector
        if engine is None:
            raise InvalidArgumentError(
                f"{type(self).__name__} has no vector engine: vectors cannot be stored"
            )
        try:
            arr = np.ascontiguousarray(vectors, dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise InvalidTypeError(f"vectors must be an array of floats: {e}") from e
        dim = engine.dimension
        if arr.ndim != 2 or arr.shape[0] != n or (dim is not None and arr.shape[1] != dim):
            want = f"({n}, {dim if dim is not None else 'dim'})"
            raise InvalidArgumentError(f"vectors has shape {arr.shape}, expected {want}")
        if not np.isfinite(arr).all():
            raise InvalidArgumentError("vectors must not contain NaN or infinite values")
        if dim is None:
            engine.dimension = int(arr.shape[1])
        return arr

    def update_message(
        self,
        id: str,
        *,
        content: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        importance: float | None = None,
        session_id: SessionScope = None,
    ) -> bool:
        """Changes a stored message's content, metadata or importance; False when no such
        message is in scope. It is re-indexed (and re-embedded) in the same write. A new
        content without a new importance is scored again."""
        if not isinstance(id, str):
            raise InvalidTypeError(f"id must be str, not {type(id).__name__}")
        with self._lock:
            self._check_open()
            old = self._find(id, session_id)
            if old is None:
                return False
            changes: dict[str, Any] = {}
            if content is not None:
                changes["content"] = content
                if importance is None:
                    changes["importance"] = None
            if metadata is not None:
                changes["metadata"] = metadata
            if importance is not None:
                changes["importance"] = importance
            if not changes:
                return True
            new = old.replace(**changes)
            prepared = self._prepare([new], ALL)
            self._write(prepared, "replace")
            return True

    def delete_message(self, id: str, *, session_id: SessionScope = None) -> bool:
        """Deletes one message of the session in scope; False when it is not there."""
        if not isinstance(id, str):
            raise InvalidTypeError(f"id must be str, not {type(id).__name__}")
        return self.delete_messages([id], session_id=session_id) > 0

    def delete_messages(
        self,
        ids: Iterable[str] | None = None,
        *,
        session_id: SessionScope = None,
        filters: Mapping[str, Any] | None = None,
    ) -> int:
        """Deletes, in one write, the messages with these ids (and/or matching ``filters``)
        in the session in scope; returns how many were removed. Ids elsewhere are ignored."""
        predicate = compile_filters(check_mapping(filters, "filters"))
        if ids is None and predicate is None:
            raise InvalidArgumentError("delete_messages needs ids, filters or both")
        if isinstance(ids, str):
            raise InvalidTypeError("ids must be a list of str, not a str")
        id_list = None if ids is None else list(ids)
        for i in id_list or ():
            if not isinstance(i, str):
                raise InvalidTypeError(f"ids must be str, got {type(i).__name__}")
        with self._lock:
            self._check_open()
            store = self._store_impl
            sessions = set(self._scope(session_id))
            everywhere = isinstance(session_id, AllSessions)
            if id_list is not None:
                hint = None if everywhere else list(sessions)
                keys = [k for k in store.keys_of(id_list, hint) if k is not None]
                found = store.get(keys)
                doomed = [
                    k
                    for k, m in zip(keys, found, strict=True)
                    if m is not None
                    and (everywhere or m.session_id in sessions)
                    and (predicate is None or predicate(m.metadata))
                ]
            else:
                assert predicate is not None
                doomed = [
                    k for sid in sessions for k, m in self._keyed(sid) if predicate(m.metadata)
                ]
            return self._delete_keys(doomed)

    def clear_session(self, session_id: str | AllSessions) -> None:
        """Removes every message of ``session_id`` (``ALL_SESSIONS``: of every session).

        Clearing a session that holds nothing is a no-op.
        """
        if session_id is None:
            raise InvalidArgumentError("clear_session needs a session_id (or ALL_SESSIONS)")
        with self._lock:
            self._check_open()
            for sid in self._scope(session_id):
                self._clear_one(sid)

    def _keyed(self, session_id: str) -> list[tuple[int, Message]]:
        """A session's messages with their keys, chronological."""
        store = self._store_impl
        keys = store.session_keys(session_id)
        return [(k, m) for k, m in zip(keys, store.get(keys), strict=True) if m is not None]

    def _clear_one(self, session_id: str) -> None:
        before = self._keyed(session_id) if self._wants_removed else None
        result = self._store_impl.remove_session(session_id)
        self._engines.on_write(result, [], None)
        if result.removed and before is not None:
            gone = set(result.removed)
            self._on_removed([m for k, m in before if k in gone])

    def cleanup_session(self, session_id: str | AllSessions) -> None:
        """The Niflheim-X seed's name for :meth:`clear_session`."""
        self.clear_session(session_id)

    def cleanup_old_messages(self, max_age_days: float, *, session_id: SessionScope = None) -> int:
        """Removes messages older than ``max_age_days`` from the session in scope
        (``ALL_SESSIONS`` for every session). Returns how many were removed."""
        cutoff = time.time() - check_age(max_age_days) * 86400.0
        with self._lock:
            self._check_open()
            doomed = [
                k
                for sid in self._scope(session_id)
                for k, m in self._keyed(sid)
                if m.timestamp < cutoff
            ]
            return self._delete_keys(doomed)

    # ----------------------------------------------------------------- public API: reading
    def _find(self, id: str, session_id: SessionScope) -> Message | None:
        hint = None if isinstance(session_id, AllSessions) else self._scope(session_id)
        key = self._store_impl.keys_of([id], hint)[0]
        if key is None:
            return None
        m = self._store_impl.get([key])[0]
        if m is None or not self._live(m, self._cutoff()):
            return None
        if isinstance(session_id, AllSessions) or m.session_id in self._scope(session_id):
            return m
        return None

    def get_message(self, id: str, *, session_id: SessionScope = None) -> Message | None:
        """The message with this id in the session in scope, or None."""
        if not isinstance(id, str):
            raise InvalidTypeError(f"id must be str, not {type(id).__name__}")
        with self._lock:
            self._check_open()
            return self._find(id, session_id)

    def get_messages_by_ids(
        self, ids: Iterable[str], *, session_id: SessionScope = None
    ) -> list[Message]:
        """The messages with these ids in the session in scope, in the order asked; ids that
        are missing (or elsewhere) are left out."""
        if isinstance(ids, str):
            raise InvalidTypeError("ids must be a list of str, not a str")
        id_list = list(ids)
        for i in id_list:
            if not isinstance(i, str):
                raise InvalidTypeError(f"ids must be str, got {type(i).__name__}")
        with self._lock:
            self._check_open()
            store = self._store_impl
            everywhere = isinstance(session_id, AllSessions)
            keys = store.keys_of(id_list, None if everywhere else self._scope(session_id))
            present = [k for k in keys if k is not None]
            found = dict(zip(present, store.get(present), strict=True))
            sessions = set() if everywhere else set(self._scope(session_id))
            cutoff = self._cutoff()
            out = []
            for k in keys:
                m = found.get(k) if k is not None else None
                if m is None or not self._live(m, cutoff):
                    continue
                if everywhere or m.session_id in sessions:
                    out.append(m)
            return out

    def get_messages(
        self,
        session_id: SessionScope = None,
        limit: int | None = None,
        *,
        offset: int | None = None,
        before: Any = None,
        after: Any = None,
        filters: Mapping[str, Any] | None = None,
    ) -> list[Message]:
        """Messages in chronological order.

        ``before``/``after`` (epoch seconds or datetimes) keep messages strictly between them;
        ``filters`` keeps those whose metadata match (see :mod:`ferromem.filters`); then
        ``offset`` skips that many of the newest and ``limit`` keeps the newest ``limit`` of
        the rest: pages go back in time, ``get_messages(limit=20, offset=20)`` being the second
        page of the newest twenty.
        """
        if (
            limit is None
            and offset is None
            and after is None
            and before is None
            and filters is None
            and self.max_age_days is None
        ):
            # The common call, a whole session: nothing to check or filter, and the store's
            # list is already new (no copy).
            with self._lock:
                self._check_open()
                sessions = self._scope(session_id)
                store = self._store_impl
                if len(sessions) == 1:
                    return store.messages(sessions[0])
                msgs = [m for sid in sessions for m in store.messages(sid)]
            msgs.sort(key=chrono_key)
            return msgs
        n = check_count(limit, "limit")
        skip = check_count(offset, "offset") or 0
        lo = check_time(after, "after")
        hi = check_time(before, "before")
        predicate = compile_filters(check_mapping(filters, "filters"))
        cutoff = self._cutoff()
        if cutoff is not None and (lo is None or lo < cutoff):
            lo = cutoff - 1e-6  # ``after`` is exclusive; the cutoff itself is still live
        with self._lock:
            self._check_open()
            sessions = self._scope(session_id)
            store = self._store_impl
            if lo is None and hi is None:
                msgs = [m for sid in sessions for m in store.messages(sid)]
            else:
                msgs = [
                    m for sid in sessions for m in store.messages_between(sid, after=lo, before=hi)
                ]
        if len(sessions) > 1:
            msgs.sort(key=chrono_key)
        if predicate is not None:
            msgs = [m for m in msgs if predicate(m.metadata)]
        if skip:
            msgs = msgs[:-skip] if skip < len(msgs) else []
        if n is not None:
            msgs = msgs[-n:] if n else []
        return msgs

    def list_sessions(self, *, user_id: str | None = None) -> list[str]:
        """The sessions this memory can see: a bound memory lists only its own session; a
        shared one (or a call through ``ALL_SESSIONS`` of a bound one, see
        :meth:`list_all_sessions`) lists every session with messages or started. ``user_id``
        keeps the sessions started with that ``user_id`` in their metadata."""
        if self.bound:
            with self._lock:
                self._check_open()
                mine = [s for s in self._store_impl.known_sessions() if s == self.session_id]
            return self._by_user(mine, user_id)
        return self.list_all_sessions(user_id=user_id)

    def list_all_sessions(self, *, user_id: str | None = None) -> list[str]:
        """Every session of the store (with messages, or started), bound memory or not."""
        with self._lock:
            self._check_open()
            return self._by_user(self._store_impl.known_sessions(), user_id)

    def _by_user(self, sessions: list[str], user_id: str | None) -> list[str]:
        if user_id is None:
            return sessions
        if not isinstance(user_id, str):
            raise InvalidTypeError(f"user_id must be str, not {type(user_id).__name__}")
        store = self._store_impl
        out = []
        for s in sessions:
            info = store.session_info(s) or {}
            if (info.get("metadata") or {}).get("user_id") == user_id:
                out.append(s)
        return out

    # ----------------------------------------------------------------- public API: searching
    def search(
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
        """The messages most relevant to ``query``, best first.

        ``limit`` (default :attr:`default_search_limit`) hits at most; ``min_score`` drops
        weaker hits (none by default); ``filters`` keeps messages whose metadata match
        (``{"key": value}`` or operators, see :mod:`ferromem.filters`). An empty or
        whitespace-only query finds nothing.

        Time-aware ranking (off by default): with ``recency_half_life`` (seconds) and/or
        ``importance_weight`` (in [0, 1]) the score becomes ``(1 - importance_weight) *
        relevance * 0.5 ** (age / recency_half_life) + importance_weight * importance``, where
        ``relevance`` is the engine score divided by the best hit's (so in [0, 1]) and ``age``
        is the time since the message (0 for future timestamps). Candidates are the engine's
        best ``4 * limit``, re-ranked.
        """
        query = check_query(query)
        return self._search_checked(
            query, None, session_id, limit, min_score, filters, recency_half_life,
            importance_weight,
        )  # fmt: skip

    def search_by_vector(
        self,
        vector: Any,
        *,
        session_id: SessionScope = None,
        limit: int | None = None,
        min_score: float | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> list[Hit]:
        """The messages nearest to a query vector (a memory with a vector engine), best first."""
        if self._engines.vector is None:
            raise InvalidArgumentError(
                f"{type(self).__name__} has no vector engine: pass embedder=... to search by vector"
            )
        try:
            arr = np.asarray(vector, dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise InvalidTypeError(f"vector must be a sequence of floats: {e}") from e
        dim = self._engines.vector.dimension
        if arr.ndim != 1 or (dim is not None and arr.shape[0] != dim):
            raise InvalidArgumentError(
                f"vector must have shape ({dim if dim is not None else 'dim'},), got {arr.shape}"
            )
        if not np.isfinite(arr).all():
            raise InvalidArgumentError("vector must not contain NaN or infinite values")
        return self._search_checked(None, arr, session_id, limit, min_score, filters, None, 0.0)

    def _search_checked(
        self,
        query: str | None,
        vector: npt.NDArray[np.float32] | None,
        session_id: SessionScope,
        limit: int | None,
        min_score: float | None,
        filters: Mapping[str, Any] | None,
        recency_half_life: float | None,
        importance_weight: float,
    ) -> list[Hit]:
        n = check_count(limit, "limit")
        if n is None:
            n = self.default_search_limit
        floor = check_score(min_score, "min_score")
        predicate = compile_filters(check_mapping(filters, "filters"))
        half_life = check_score(recency_half_life, "recency_half_life")
        if half_life is not None and not half_life > 0:
            raise InvalidArgumentError(f"recency_half_life must be > 0, got {half_life}")
        weight = check_weight(importance_weight, "importance_weight")
        if not n or (query is not None and not query.strip()):
            return []
        blend = half_life is not None or weight > 0
        with self._lock:
            self._check_open()
            hits = self._search(query, vector, session_id, 4 * n if blend else n, predicate)
        if blend:
            hits = _blend(hits, half_life, weight)[:n]
        if floor is not None:
            hits = [h for h in hits if h.score >= floor]
        return hits[:n]

    def _search(
        self,
        query: str | None,
        vector: npt.NDArray[np.float32] | None,
        session_id: SessionScope | list[str],
        n: int,
        predicate: Predicate | None,
        keep: Callable[[Message], bool] | None = None,
    ) -> list[Hit]:
        """The best ``n`` hits in scope that ``predicate`` (on metadata) and ``keep`` (on the
        message) accept, from the engines (asking for more while hits fall out of scope or are
        turned down), or from a keyword index built over the messages in scope when the memory
        keeps no engines."""
        if isinstance(session_id, list):
            sessions: list[str] | None = session_id
        else:
            sessions = self._engine_scope(session_id)
        engines = self._engines
        if not engines.engines or not engines.tracked:
            if query is None:
                return []
            scope = sessions if sessions is not None else self._store_impl.sessions()
            candidates = [m for sid in scope for m in self._store_impl.messages(sid)]
            if predicate is not None:
                candidates = [m for m in candidates if predicate(m.metadata)]
            if keep is not None:
                candidates = [m for m in candidates if keep(m)]
            cutoff = self._cutoff()
            if cutoff is not None:
                candidates = [m for m in candidates if m.timestamp >= cutoff]
            return keyword_search(query, candidates, n)
        engines.sync(sessions)
        wanted = None if sessions is None else set(sessions)
        store = self._store_impl
        cutoff = self._cutoff()
        if cutoff is not None:
            young = keep
            keep = lambda m: m.timestamp >= cutoff and (young is None or young(m))  # noqa: E731
        picky = predicate is not None or keep is not None
        k = n if not picky and (wanted is None or len(wanted) <= 8) else max(4 * n, 64)
        neighbours = self._neighbours(wanted, predicate)
        while True:
            ranking = engines.ranking(query, vector, sessions, k, neighbours)
            found = store.get([key for key, _ in ranking])
            hits: list[Hit] = []
            for (_, score), m in zip(ranking, found, strict=True):
                if m is None or (wanted is not None and m.session_id not in wanted):
                    continue
                if predicate is not None and not predicate(m.metadata):
                    continue
                if keep is not None and not keep(m):
                    continue
                hits.append(Hit(m, score))
                if len(hits) == n:
                    return hits
            if len(ranking) < k:
                return hits
            k *= 4

    def _neighbours(
        self, wanted: set[str] | None, predicate: Predicate | None
    ) -> Callable[[int], tuple[int | None, int | None]]:
        """For the hybrid fusion: the keys just before and after a key in its session (in
        scope and passing the filter). Across all sessions the keyword index tells; within
        given sessions, their chronological orders (read from the store once and kept until
        the engines change) do. A neighbour's metadata is read only when a filter must be
        checked."""
        store = self._store_impl
        engines = self._engines
        passing: dict[int, bool] = {}

        def passes(key: int) -> bool:
            if predicate is None:
                return True
            if key not in passing:
                m = store.get([key])[0]
                passing[key] = m is not None and predicate(m.metadata)
            return passing[key]

        def adjacent(key: int) -> tuple[int | None, int | None]:
            if wanted is None and engines.keyword is not None:
                # Across all sessions, hits fall in many sessions: the keyword index knows
                # each one's neighbours (in the order they were indexed, as keyword search
                # uses them) without reading every session's order from the store.
                return engines.keyword.neighbours(key)
            sid = engines.session_of(key)
            if sid is None:
                m = store.get([key])[0]
                sid = m.session_id if m is not None else None
            if sid is None or (wanted is not None and sid not in wanted):
                return (None, None)
            keys, at = engines.session_order(sid)
            i = at.get(key)
            if i is None:
                return (None, None)
            return (keys[i - 1] if i > 0 else None, keys[i + 1] if i + 1 < len(keys) else None)

        def around(key: int) -> tuple[int | None, int | None]:
            before, after = adjacent(key)
            return (
                before if before is not None and passes(before) else None,
                after if after is not None and passes(after) else None,
            )

        return around

    def search_messages(
        self, query: str, session_id: SessionScope = None, limit: int = 10
    ) -> list[Message]:
        """:meth:`search` without the scores (the seeds' name)."""
        return [h.message for h in self.search(query, session_id=session_id, limit=limit)]

    # ----------------------------------------------------------------- context
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
            query = check_query(query)
        budget = check_count(max_tokens, "max_tokens")
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

    def _recent_iter(self, sessions: list[str]) -> Iterable[Message]:
        """Messages newest first, for filling the context with recent turns."""
        cutoff = self._cutoff()
        msgs = [
            m
            for sid in sessions
            for m in self._store_impl.messages(sid)
            if cutoff is None or m.timestamp >= cutoff
        ]
        if len(sessions) > 1:
            msgs.sort(key=chrono_key)
        return reversed(msgs)

    # ----------------------------------------------------------------- sessions with a life
    def start_session(
        self, session_id: str | None = None, *, metadata: Mapping[str, Any] | None = None
    ) -> str:
        """Starts a session (a new id when none is given) and returns its id; ``metadata``
        (such as ``user_id`` and ``agent_id``) is kept with it. A bound memory starts only its
        own session."""
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
        with self._lock:
            self._check_open()
            info = self._store_impl.session_info(sid) or {}
            info.update({"started": time.time(), "ended": None, "metadata": meta})
            self._store_impl.write_session_info(sid, info)
        return sid

    def end_session(self, session_id: SessionScope = None, summary: str | None = None) -> None:
        """Marks a session as ended (its messages stay), with an optional ``summary`` (as in
        the Phidata seed's ``end_session(session_id, "...")``)."""
        sid = self._scope(session_id)[0]
        summary = check_summary(summary)
        with self._lock:
            self._check_open()
            info = self._store_impl.session_info(sid) or {"metadata": {}}
            self._store_impl.write_session_info(sid, ended_info(info, summary))

    def get_session_summary(self, session_id: SessionScope = None) -> dict[str, Any]:
        """The Phidata seed's session summary: ``session_id``, ``started``, ``ended``,
        ``metadata``, ``turns``, ``tokens``, first/last message times, and ``summary`` (given to
        :meth:`end_session`, else the running summary when the memory keeps one); also under
        the seed's names ``message_count``, ``avg_importance``, ``start_time`` and
        ``end_time`` (the first and last message times)."""
        sid = self._scope(session_id)[0]
        stats = self.get_session_stats(sid)
        with self._lock:
            info = self._store_impl.session_info(sid) or {}
        return session_summary(sid, stats, info, self._context_preamble([sid], None))

    # ----------------------------------------------------------------- stats and life cycle
    def get_stats(self) -> dict[str, Any]:
        """Totals over the whole memory: ``total_messages``, ``active_sessions``,
        ``memory_usage_mb`` and memory-specific figures."""
        with self._lock:
            self._check_open()
            store = self._store_impl
            sessions = store.sessions()
            stats: dict[str, Any] = {
                "backend": type(self).__name__,
                "total_messages": sum(store.count(s) for s in sessions),
                "active_sessions": len(sessions),
                "memory_usage_mb": self._memory_usage_bytes() / (1024 * 1024),
            }
            if self._engines.engines:
                stats.update(self._engines.stats())
            stats.update(store.stats())
            stats.update(self._extra_stats())
            return stats

    def _memory_usage_bytes(self) -> int:
        engines = sum(e.memory_bytes() for e in self._engines.engines)
        return self._store_impl.usage_bytes() + engines

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

    def close(self) -> None:
        """Releases files and connections; the memory cannot be used afterwards."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._store_impl.close()

    def __enter__(self: B) -> B:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        """Messages in the bound (or default) session."""
        with self._lock:
            self._check_open()
            return self._store_impl.count(self.session_id)

    def __repr__(self) -> str:
        # getattr: a user's subclass may replace __init__ entirely (the Phidata seed's classes)
        if not getattr(self, "bound", False):
            return f"{type(self).__name__}(shared)"
        bound = f"session_id={self.session_id!r}"
        return f"{type(self).__name__}({bound})"


ALL = AllSessions()


def _blend(hits: list[Hit], half_life: float | None, weight: float) -> list[Hit]:
    """Re-ranks hits by relevance, recency and importance (see :meth:`MemoryBackend.search`)."""
    if not hits:
        return hits
    best = max(h.score for h in hits)
    now = time.time()
    out = []
    for h in hits:
        relevance = h.score / best if best > 0 else 0.0
        if half_life is not None:
            age = max(0.0, now - h.message.timestamp)
            relevance *= math.pow(0.5, age / half_life)
        importance = h.message.importance or 0.0
        out.append(Hit(h.message, (1.0 - weight) * relevance + weight * importance))
    out.sort(key=lambda h: -h.score)
    return out


def check_summary(summary: object) -> str | None:
    """An ``end_session`` summary: None or a str."""
    if summary is not None and not isinstance(summary, str):
        raise InvalidTypeError(f"summary must be a str, not {type(summary).__name__}")
    return None if summary is None else check_text(summary, "summary")


def ended_info(info: dict[str, Any], summary: str | None) -> dict[str, Any]:
    """A session's info once ended (keeping an earlier summary unless a new one is given)."""
    info = dict(info)
    info.setdefault("started", None)
    info["ended"] = time.time()
    if summary is not None:
        info["summary"] = summary
    return info


def session_summary(
    sid: str, stats: dict[str, Any], info: dict[str, Any], preamble: list[ContextSection]
) -> dict[str, Any]:
    """What :meth:`MemoryBackend.get_session_summary` returns, from the session's stats, its
    recorded info and the memory's context preamble (a running summary)."""
    kept = [body for _, body in preamble if isinstance(body, str)]
    summary = info.get("summary") or (kept[0] if kept else None)
    return {
        "session_id": sid,
        "started": info.get("started"),
        "ended": info.get("ended"),
        "metadata": dict(info.get("metadata") or {}),
        "turns": stats["message_count"],
        "tokens": stats["tokens"],
        "first_timestamp": stats["first_timestamp"],
        "last_timestamp": stats["last_timestamp"],
        "summary": summary,
        "message_count": stats["message_count"],
        "avg_importance": stats["avg_importance"],
        "start_time": stats["first_timestamp"],
        "end_time": stats["last_timestamp"],
    }


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


_new = object.__new__
_set = object.__setattr__


def _with(message: Message, *, session_id: str, id: str, importance: float | None) -> Message:
    """A copy of a validated message with its session, id and importance set, skipping
    re-validation (the write path's hot spot)."""
    copy = _new(Message)
    _set(copy, "role", message.role)
    _set(copy, "content", message.content)
    _set(copy, "session_id", session_id)
    _set(copy, "metadata", message.metadata)
    _set(copy, "timestamp", message.timestamp)
    _set(copy, "importance", importance)
    _set(copy, "id", id)
    return copy


# Re-exported for memories that build engines from their constructor arguments.
__all__ += ["KeywordEngine", "VectorEngine", "check_positive_int"]
