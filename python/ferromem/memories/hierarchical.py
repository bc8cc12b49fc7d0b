"""`HierarchicalMemory`: short-term, medium-term and long-term tiers chosen by importance."""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from typing import Any

from .._core import ImportanceScorer
from ..base import ContextSection, ImportanceCallable, SessionScope, TokenCounter
from ..engines.keyword import KeywordEngine
from ..errors import InvalidArgumentError, InvalidTypeError
from ..message import Message, chrono_key
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

    saved_settings = ("short_term_size", "medium_threshold", "long_threshold", "relevant_limit")

    def __init__(
        self,
        short_term_size: int = 10,
        medium_threshold: float = 0.7,
        long_threshold: float = 0.9,
        *,
        relevant_limit: int = 3,
        importance_scorer: ImportanceScorer | ImportanceCallable | None = None,
        session_id: str | None = None,
        token_counter: TokenCounter | None = None,
    ) -> None:
        super().__init__(
            session_id=session_id,
            token_counter=token_counter,
            keyword=KeywordEngine(index_roles=False, b=0.75, neighbour_weights=(0.0, 0.0)),
        )
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

    # ----------------------------------------------------------------- tier upkeep
    def _on_stored(self, messages: Sequence[Message], keys: Sequence[int | None]) -> None:
        for m, key in zip(messages, keys, strict=True):
            if key is None:
                continue
            assert m.id is not None
            score = m.importance if m.importance is not None else 0.0
            if score > self.medium_threshold:
                self._medium.setdefault(m.session_id, {})[m.id] = m
            if score > self.long_threshold:
                self._long.setdefault(m.session_id, {})[m.id] = m

    def _on_removed(self, messages: Sequence[Message]) -> None:
        for m in messages:
            for tier in (self._medium, self._long):
                table = tier.get(m.session_id)
                if table is not None:
                    table.pop(m.id or "", None)
                    if not table:
                        del tier[m.session_id]

    # ----------------------------------------------------------------- tiers
    def _short_term(self, session_id: str) -> list[Message]:
        """The newest ``short_term_size`` turns of a session, newest first."""
        return self._memory_store.newest(session_id, self.short_term_size)

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

    def _context_relevant(self, query: str, sessions: list[str]) -> list[Message]:
        medium = self._medium

        def in_medium(m: Message) -> bool:
            return m.id is not None and m.id in medium.get(m.session_id, ())

        hits = self._search(query, None, sessions, self.relevant_limit, None, in_medium)
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
            store = self._memory_store
            stats["short_term"] = sum(min(store.count(s), self.short_term_size) for s in sessions)
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
