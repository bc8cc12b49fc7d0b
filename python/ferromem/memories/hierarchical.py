"""`HierarchicalMemory`: short-term, medium-term and long-term tiers chosen by importance."""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from itertools import islice
from typing import Any

from .._core import ImportanceScorer, KeywordIndex
from ..base import ContextSection, ImportanceCallable, SessionScope, TokenCounter
from ..errors import InvalidArgumentError, InvalidTypeError
from ..message import DEFAULT_SESSION, Hit, Message, chrono_key
from .dict_memory import check_positive_int
from .in_memory import InMemoryBackend

__all__ = ["TIERS", "HierarchicalMemory"]

#: The tier names of :meth:`HierarchicalMemory.get_tier`.
TIERS = ("short_term", "medium_term", "long_term")


def _check_threshold(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidTypeError(f"{name} must be a float, not {type(value).__name__}")
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise InvalidArgumentError(f"{name} must be in [0, 1], got {value!r}")
    return float(value)


class HierarchicalMemory(InMemoryBackend):
    """Every turn, sorted into three tiers by its importance (see :func:`ferromem.core.importance`).

    * **short-term**: the newest ``short_term_size`` turns of each session;
    * **medium-term**: turns whose importance is above ``medium_threshold`` (facts, preferences,
      plans), which a query finds through the Rust keyword index that also serves
      :meth:`search`;
    * **long-term**: turns above ``long_threshold``, the core facts.

    :meth:`get_context` combines them within ``max_tokens``: the long-term core first (at most
    half the budget, most important first), then, chronologically, the medium-term turns most
    relevant to ``query`` (up to ``relevant_limit``) and the short-term turns. A turn appears once.
    Importance comes from ``Message.importance`` when given, else from ``importance_scorer``: an
    :class:`~ferromem.core.ImportanceScorer` (the default one when None), or any callable
    ``list[str] -> list[float]``, such as an LLM asked to rate each turn in [0, 1]. Every turn stays
    stored and searchable; the tiers are indexes over the store, rebuilt as turns come and go.
    """

    def __init__(
        self,
        short_term_size: int = 10,
        medium_threshold: float = 0.7,
        long_threshold: float = 0.9,
        *,
        relevant_limit: int = 3,
        importance_scorer: ImportanceScorer | ImportanceCallable | None = None,
        session_id: str = DEFAULT_SESSION,
        token_counter: TokenCounter | None = None,
    ) -> None:
        super().__init__(session_id=session_id, token_counter=token_counter)
        self.short_term_size = check_positive_int(short_term_size, "short_term_size")
        self.medium_threshold = _check_threshold(medium_threshold, "medium_threshold")
        self.long_threshold = _check_threshold(long_threshold, "long_threshold")
        if self.long_threshold < self.medium_threshold:
            raise InvalidArgumentError(
                f"long_threshold ({long_threshold}) must be >= medium_threshold "
                f"({medium_threshold})"
            )
        self.relevant_limit = check_positive_int(relevant_limit, "relevant_limit")
        scorer_ok = isinstance(importance_scorer, ImportanceScorer) or callable(importance_scorer)
        if importance_scorer is not None and not scorer_ok:
            raise InvalidTypeError(
                "importance_scorer must be a ferromem.core.ImportanceScorer or a callable "
                f"list[str] -> list[float], not {type(importance_scorer).__name__}"
            )
        self.importance_scorer = importance_scorer
        self._medium: dict[str, dict[str, Message]] = {}
        self._long: dict[str, dict[str, Message]] = {}
        # Every turn in the Rust keyword index (one group per session, integer keys): search
        # runs on it, and the medium tier's relevant turns are its hits that are medium-term.
        self._index = KeywordIndex()
        self._key_of: dict[str, int] = {}
        self._by_key: dict[int, Message] = {}
        self._next_key = 0
        # Sessions whose insertion order is not chronological (a timestamp from the past).
        self._unordered: set[str] = set()
        self._newest: dict[str, tuple[float, str]] = {}

    # ----------------------------------------------------------------- tier upkeep
    def _store(self, messages: Sequence[Message]) -> None:
        super()._store(messages)
        keys: list[int] = []
        texts: list[str] = []
        groups: list[str] = []
        for m in messages:
            assert m.id is not None
            sid = m.session_id
            at = chrono_key(m)
            newest = self._newest.get(sid)
            if newest is not None and at < newest:
                self._unordered.add(sid)
            else:
                self._newest[sid] = at
            key = self._next_key
            self._next_key += 1
            self._key_of[m.id] = key
            self._by_key[key] = m
            keys.append(key)
            texts.append(m.content)
            groups.append(sid)
            score = m.importance if m.importance is not None else 0.0
            if score > self.medium_threshold:
                self._medium.setdefault(sid, {})[m.id] = m
            if score > self.long_threshold:
                self._long.setdefault(sid, {})[m.id] = m
        if keys:
            self._index.add(keys, texts, groups=groups)

    def _untier(self, session_id: str, ids: Iterable[str]) -> None:
        medium = self._medium.get(session_id, {})
        long = self._long.get(session_id, {})
        keys = []
        for mid in ids:
            medium.pop(mid, None)
            long.pop(mid, None)
            key = self._key_of.pop(mid, None)
            if key is not None:
                del self._by_key[key]
                keys.append(key)
        if keys:
            self._index.remove(keys)
        for tier in (self._medium, self._long):
            if not tier.get(session_id, True):
                del tier[session_id]

    def _remove(self, session_id: str, ids: Collection[str]) -> int:
        session = self._sessions.get(session_id, {})
        present = [mid for mid in ids if mid in session]
        removed = super()._remove(session_id, present)
        self._untier(session_id, present)
        if not self._count(session_id):
            self._forget_order(session_id)
        return removed

    def _clear(self, session_id: str) -> None:
        ids = list(self._sessions.get(session_id, ()))
        super()._clear(session_id)
        self._untier(session_id, ids)
        self._forget_order(session_id)

    def _forget_order(self, session_id: str) -> None:
        self._unordered.discard(session_id)
        self._newest.pop(session_id, None)

    # ----------------------------------------------------------------- tiers
    def _short_term(self, session_id: str) -> list[Message]:
        """The newest ``short_term_size`` turns of a session, newest first."""
        session = self._sessions.get(session_id)
        if not session:
            return []
        if session_id in self._unordered:
            return heapq.nlargest(self.short_term_size, session.values(), key=chrono_key)
        return list(islice(reversed(session.values()), self.short_term_size))

    def _tier(self, name: str, session_id: str) -> list[Message]:
        if name == "short_term":
            return self._short_term(session_id)[::-1]
        table = self._medium if name == "medium_term" else self._long
        return sorted(table.get(session_id, {}).values(), key=chrono_key)

    def get_tier(self, tier: str, session_id: SessionScope = None) -> list[Message]:
        """The turns of one tier (``"short_term"``, ``"medium_term"`` or ``"long_term"``) of the
        bound session (or ``session_id``; ``ALL_SESSIONS`` for every session), chronological."""
        if tier not in TIERS:
            raise InvalidArgumentError(f"tier must be one of {TIERS}, got {tier!r}")
        with self._lock:
            self._check_open()
            msgs = [m for sid in self._scope(session_id) for m in self._tier(tier, sid)]
        msgs.sort(key=chrono_key)
        return msgs

    # ----------------------------------------------------------------- context
    def _context_preamble(self, sessions: list[str], query: str | None) -> list[ContextSection]:
        core = [m for sid in sessions for m in self._long.get(sid, {}).values()]
        if not core:
            return []
        # Most important first, then the newest: what the section keeps when space runs out.
        core.sort(key=lambda m: (m.importance or 0.0, *chrono_key(m)), reverse=True)
        return [("Core knowledge", core)]

    def _ranked(
        self, query: str, sessions: list[str], limit: int, keep: Callable[[Message], bool]
    ) -> list[Hit]:
        """The best ``limit`` turns of ``sessions`` for ``query`` that ``keep`` accepts, asking
        the index for more while ``keep`` turns hits down."""
        groups: list[str | None] = list(sessions) if len(sessions) <= 8 else [None]
        wanted = set(sessions)
        hits: list[Hit] = []
        for group in groups:
            k = limit
            while True:
                keys, scores = self._index.search(query, k, group=group)
                found = [
                    Hit(m, score)
                    for key, score in zip(keys.tolist(), scores.tolist(), strict=True)
                    if (m := self._by_key[key]).session_id in wanted and keep(m)
                ]
                if len(found) >= limit or len(keys) < k:
                    break
                k *= 4
            hits.extend(found[:limit])
        hits.sort(key=lambda h: -h.score)
        return hits[:limit]

    def _search(
        self, query: str, sessions: list[str], limit: int, filters: Mapping[str, Any] | None
    ) -> list[Hit]:
        if not sessions or limit <= 0:
            return []
        if not filters:
            return self._ranked(query, sessions, limit, lambda m: True)
        wanted = filters.items()
        return self._ranked(
            query,
            sessions,
            limit,
            lambda m: all(k in m.metadata and m.metadata[k] == v for k, v in wanted),
        )

    def _context_relevant(self, query: str, sessions: list[str]) -> list[Message]:
        medium = self._medium
        hits = self._ranked(
            query,
            sessions,
            self.relevant_limit,
            lambda m: m.id is not None and m.id in medium.get(m.session_id, ()),
        )
        return [h.message for h in hits]

    def _recent_iter(self, sessions: list[str]) -> Iterable[Message]:
        if len(sessions) == 1:
            return self._short_term(sessions[0])
        recent = [m for sid in sessions for m in self._short_term(sid)]
        return heapq.nlargest(self.short_term_size, recent, key=chrono_key)

    # ----------------------------------------------------------------- stats
    def get_session_stats(self, session_id: SessionScope = None) -> dict[str, Any]:
        """The base figures plus the size of each tier: ``short_term``, ``medium_term``,
        ``long_term``."""
        stats = super().get_session_stats(session_id)
        with self._lock:
            sessions = self._scope(session_id)
            stats["short_term"] = sum(min(self._count(s), self.short_term_size) for s in sessions)
            stats["medium_term"] = sum(len(self._medium.get(s, ())) for s in sessions)
            stats["long_term"] = sum(len(self._long.get(s, ())) for s in sessions)
        return stats

    def _extra_stats(self) -> dict[str, Any]:
        return {
            "short_term_size": self.short_term_size,
            "medium_threshold": self.medium_threshold,
            "long_threshold": self.long_threshold,
            "medium_term_messages": sum(len(t) for t in self._medium.values()),
            "long_term_messages": sum(len(t) for t in self._long.values()),
        }
