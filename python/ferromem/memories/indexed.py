"""`IndexedMemory`: the dict store plus the Rust keyword index (BM25 or the seed's Jaccard)."""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from .._core import KeywordIndex
from .._core import importance as _importance
from ..base import SessionScope, TokenCounter, _check_limit
from ..errors import InvalidArgumentError, InvalidTypeError
from ..message import DEFAULT_SESSION, Hit, Message, check_text, chrono_key, new_message_id
from ..session_search import top_hits
from .in_memory import InMemoryBackend

__all__ = ["IndexedMemory"]

# Single adds are indexed in batches of this many (and before any read), so that one
# add_message costs a few list appends instead of a round trip into Rust.
_FLUSH_AT = 4096

_new_message = object.__new__
_set = object.__setattr__


class IndexedMemory(InMemoryBackend):
    """In-process memory with a full-text index for fast, ranked search.

    ``scoring="bm25"`` (default) ranks with Okapi BM25 (``k1``, ``b``) over lower-cased,
    accent-folded, stemmed terms without stop words; ``"jaccard"`` keeps the seed's set
    similarity. Every session is a group of the index, so a session's search costs in proportion
    to the session, not to the whole memory. ``topics`` maps topic names to keyword lists (the
    seed's four by default) for :meth:`search_topics`. ``index_roles`` indexes each turn's role
    with its text (roles are often speaker names, which questions mention).
    ``neighbour_weights=(previous, next)``: a turn also earns these shares of the scores of the
    turns before and after it in its session, since the answer to a matching question is
    usually the next turn; ``(0, 0)`` gives plain per-turn ranking (and MaxScore pruning, which
    matters for searches across every session of a large memory: with weights, every matching
    turn in scope is scored). :meth:`get_context` brings
    each relevant turn with ``neighbours`` turns on each side of it.

    The defaults (``b=0.3``, roles indexed, weights ``(0.3, 0.1)``) were chosen on the LoCoMo
    dev conversations (``benches/bench_keyword_recall.py --variants`` shows each choice).
    """

    def __init__(
        self,
        scoring: str = "bm25",
        *,
        k1: float = 1.2,
        b: float = 0.3,
        topics: Mapping[str, Sequence[str]] | None = None,
        index_roles: bool = True,
        neighbour_weights: tuple[float, float] = (0.3, 0.1),
        neighbours: int = 1,
        session_id: str = DEFAULT_SESSION,
        token_counter: TokenCounter | None = None,
    ) -> None:
        super().__init__(session_id=session_id, token_counter=token_counter)
        if not isinstance(scoring, str):
            raise InvalidTypeError(f"scoring must be str, not {type(scoring).__name__}")
        if isinstance(neighbours, bool) or not isinstance(neighbours, int) or neighbours < 0:
            raise InvalidArgumentError(f"neighbours must be an int >= 0, got {neighbours!r}")
        self._index = KeywordIndex(scoring, k1, b, topics=topics)
        if not isinstance(neighbour_weights, tuple) or len(neighbour_weights) != 2:
            raise InvalidTypeError(
                f"neighbour_weights must be a (previous, next) tuple, got {neighbour_weights!r}"
            )
        self._index.search("probe", 1, neighbour_weights=neighbour_weights)  # validates
        self.neighbour_weights = (float(neighbour_weights[0]), float(neighbour_weights[1]))
        self.scoring = scoring
        self.index_roles = bool(index_roles)
        self.neighbours = neighbours
        # Index keys are positions in `_by_key` (None once deleted): appending to a list is the
        # cheapest way to number messages on the single-add path.
        self._key_of: dict[str, int] = {}
        self._by_key: list[Message | None] = []
        self._pending_keys: list[int] = []
        self._pending_texts: list[str] = []
        self._pending_groups: list[str] = []

    # ------------------------------------------------------------- index upkeep
    def _text(self, m: Message) -> str:
        return f"{m.role} {m.content}" if self.index_roles else m.content

    def _store(self, messages: Sequence[Message]) -> None:
        super()._store(messages)
        key = len(self._by_key)
        keys = list(range(key, key + len(messages)))
        key_of = self._key_of
        for k, m in zip(keys, messages, strict=True):
            assert m.id is not None
            key_of[m.id] = k
        self._by_key.extend(messages)
        self._pending_keys.extend(keys)
        self._pending_texts.extend(self._text(m) for m in messages)
        self._pending_groups.extend(m.session_id for m in messages)
        if len(self._pending_keys) >= _FLUSH_AT:
            self._flush()

    def _flush(self) -> None:
        """Hands the pending adds to the index in one batch (all cores, GIL released)."""
        if self._pending_keys:
            keys, texts, groups = self._pending_keys, self._pending_texts, self._pending_groups
            self._pending_keys, self._pending_texts, self._pending_groups = [], [], []
            self._index.add(keys, texts, groups=groups)

    def _unindex(self, ids: Collection[str]) -> None:
        self._flush()
        keys = [self._key_of.pop(mid) for mid in ids if mid in self._key_of]
        for k in keys:
            self._by_key[k] = None
        if keys:
            self._index.remove(keys)

    def _remove(self, session_id: str, ids: Collection[str]) -> int:
        session = self._sessions.get(session_id, {})
        present = [mid for mid in ids if mid in session]
        removed = super()._remove(session_id, present)
        self._unindex(present)
        return removed

    def _clear(self, session_id: str) -> None:
        ids = list(self._sessions.get(session_id, ()))
        super()._clear(session_id)
        self._unindex(ids)

    # ------------------------------------------------------------- fast single add
    def add_message(
        self, message_or_role: Message | str, content: str | None = None, **fields: Any
    ) -> str:
        """Stores one message and returns its id (see :meth:`MemoryBackend.add_message`).

        ``add_message(role, content)`` into the bound session takes a lean path that skips the
        general validation machinery but checks the same things; anything else goes the
        general way.
        """
        if fields or type(message_or_role) is not str or type(content) is not str:
            return super().add_message(message_or_role, content, **fields)
        if not message_or_role:
            raise InvalidArgumentError("role must not be empty")
        check_text(message_or_role, "role")
        check_text(content, "content")
        with self._lock:
            self._check_open()
            sid = self.session_id
            mid = new_message_id()
            msg = _new_message(Message)
            _set(msg, "role", message_or_role)
            _set(msg, "content", content)
            _set(msg, "session_id", sid)
            _set(msg, "metadata", {})
            _set(msg, "timestamp", time.time())
            _set(
                msg,
                "importance",
                _importance(content)
                if self.importance_scorer is None
                else self._score_importance([content])[0],
            )
            _set(msg, "id", mid)
            session = self._sessions.get(sid)
            if session is None:
                session = self._sessions[sid] = {}
            session[mid] = msg
            self._by_id[mid] = msg
            by_key = self._by_key
            self._key_of[mid] = len(by_key)
            self._pending_keys.append(len(by_key))
            by_key.append(msg)
            self._pending_texts.append(
                f"{message_or_role} {content}" if self.index_roles else content
            )
            self._pending_groups.append(sid)
            if len(self._pending_keys) >= _FLUSH_AT:
                self._flush()
            self._after_store(sid)
            return mid

    # ------------------------------------------------------------- search
    def _search(
        self,
        query: str,
        sessions: list[str],
        limit: int,
        filters: Mapping[str, Any] | None,
    ) -> list[Hit]:
        self._flush()
        if not sessions or limit <= 0:
            return []
        if len(sessions) == 1:
            return self._search_scope(query, limit, filters, sessions[0], None)
        wanted = set(sessions)
        everything = wanted.issuperset(self._sessions)
        return self._search_scope(query, limit, filters, None, None if everything else wanted)

    def _search_scope(
        self,
        query: str,
        limit: int,
        filters: Mapping[str, Any] | None,
        group: str | None,
        sessions: set[str] | None,
    ) -> list[Hit]:
        """Top ``limit`` in one group (or all), over-fetching while filters reject hits."""
        return top_hits(
            lambda k: self._index.search(
                query, k, group=group, neighbour_weights=self.neighbour_weights
            ),
            self._by_key.__getitem__,
            limit,
            filters,
            sessions,
        )

    def search_topics(
        self, topic: str, *, session_id: SessionScope = None, limit: int | None = None
    ) -> list[Message]:
        """Messages tagged with ``topic`` (see ``topics``), chronological; ``limit`` keeps the
        newest."""
        if not isinstance(topic, str):
            raise InvalidTypeError(f"topic must be str, not {type(topic).__name__}")
        limit = _check_limit(limit, "limit")
        with self._lock:
            self._check_open()
            self._flush()
            by_key = self._by_key
            msgs = [
                m
                for sid in self._scope(session_id)
                for k in self._index.topic_ids(topic, group=sid).tolist()
                if (m := by_key[k]) is not None
            ]
        msgs.sort(key=chrono_key)
        if limit is not None:
            msgs = msgs[-limit:] if limit else []
        return msgs

    @property
    def topics(self) -> dict[str, list[str]]:
        """Topic name -> keywords, as configured."""
        return self._index.topics

    # ------------------------------------------------------------- context
    def _context_relevant(self, query: str, sessions: list[str]) -> list[Message]:
        """The turns relevant to ``query``, each with its neighbouring turns (the base class
        then adds recent turns and renders everything in chronological order)."""
        return self._with_neighbours(super()._context_relevant(query, sessions))

    def _with_neighbours(self, hits: list[Message]) -> list[Message]:
        """Each hit followed by the turns around it in its session, nearest first."""
        if not self.neighbours or not hits:
            return hits
        order: dict[str, list[str]] = {}
        out: list[Message] = []
        for m in hits:
            sid = m.session_id
            if sid not in order:
                order[sid] = list(self._sessions.get(sid, ()))
            ids = order[sid]
            out.append(m)
            assert m.id is not None
            try:
                at = ids.index(m.id)
            except ValueError:
                continue
            for d in range(1, self.neighbours + 1):
                for j in (at - d, at + d):
                    if 0 <= j < len(ids):
                        out.append(self._by_id[ids[j]])
        return out

    # ------------------------------------------------------------- stats
    def _memory_usage_bytes(self) -> int:
        self._flush()
        return super()._memory_usage_bytes() + self._index.memory_bytes()

    def _extra_stats(self) -> dict[str, Any]:
        self._flush()
        return {
            "scoring": self.scoring,
            "indexed_messages": len(self._index),
            "index_bytes": self._index.memory_bytes(),
        }
