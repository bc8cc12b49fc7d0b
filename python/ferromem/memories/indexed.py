"""`IndexedMemory`: the in-process store plus the keyword engine (BM25 or the seed's Jaccard)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..base import SessionScope, TokenCounter
from ..checks import check_count
from ..engines.keyword import KeywordEngine
from ..errors import InvalidArgumentError, InvalidTypeError
from ..message import Message, chrono_key
from .in_memory import InMemoryBackend

__all__ = ["IndexedMemory"]


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
    matters for searches across every session of a large memory). :meth:`get_context` brings
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
        session_id: str | None = None,
        token_counter: TokenCounter | None = None,
    ) -> None:
        if isinstance(neighbour_weights, list) and len(neighbour_weights) == 2:
            neighbour_weights = (neighbour_weights[0], neighbour_weights[1])  # as saved in JSON
        if isinstance(neighbours, bool) or not isinstance(neighbours, int) or neighbours < 0:
            raise InvalidArgumentError(f"neighbours must be an int >= 0, got {neighbours!r}")
        keyword = KeywordEngine(
            scoring,
            k1=k1,
            b=b,
            topics=topics,
            index_roles=index_roles,
            neighbour_weights=neighbour_weights,
        )
        super().__init__(session_id=session_id, token_counter=token_counter, keyword=keyword)
        self._keyword = keyword
        self.scoring = scoring
        self.index_roles = keyword.index_roles
        self.neighbour_weights = keyword.neighbour_weights
        self.neighbours = neighbours

    def _settings(self) -> dict[str, Any]:
        engine = self._keyword
        return {
            "scoring": self.scoring,
            "k1": engine.k1,
            "b": engine.b,
            "topics": engine.index.topics,
            "index_roles": self.index_roles,
            "neighbour_weights": list(self.neighbour_weights),
            "neighbours": self.neighbours,
        }

    # ------------------------------------------------------------- topics and context
    def search_topics(
        self, topic: str, *, session_id: SessionScope = None, limit: int | None = None
    ) -> list[Message]:
        """Messages tagged with ``topic`` (see ``topics``), chronological; ``limit`` keeps the
        newest."""
        if not isinstance(topic, str):
            raise InvalidTypeError(f"topic must be str, not {type(topic).__name__}")
        n = check_count(limit, "limit")
        with self._lock:
            self._check_open()
            self._engines.sync(None)
            store = self._memory_store
            keys = [
                k for sid in self._scope(session_id) for k in self._keyword.topic_keys(topic, sid)
            ]
            msgs = [m for m in store.get(keys) if m is not None]
        msgs.sort(key=chrono_key)
        if n is not None:
            msgs = msgs[-n:] if n else []
        return msgs

    @property
    def topics(self) -> dict[str, list[str]]:
        """Topic name -> keywords, as configured."""
        topics: dict[str, list[str]] = self._keyword.index.topics
        return topics

    def _context_relevant(self, query: str, sessions: list[str]) -> list[Message]:
        """The turns relevant to ``query``, each with its neighbouring turns (the base class
        then adds recent turns and renders everything in chronological order)."""
        return self._with_neighbours(super()._context_relevant(query, sessions))

    def _with_neighbours(self, hits: list[Message]) -> list[Message]:
        """Each hit followed by the turns around it in its session, nearest first."""
        if not self.neighbours or not hits:
            return hits
        store = self._memory_store
        order: dict[str, list[Message]] = {}
        position: dict[str, dict[str, int]] = {}
        out: list[Message] = []
        for m in hits:
            sid = m.session_id
            if sid not in order:
                order[sid] = store.messages(sid)
                position[sid] = {x.id or "": i for i, x in enumerate(order[sid])}
            out.append(m)
            at = position[sid].get(m.id or "")
            if at is None:
                continue
            session = order[sid]
            for d in range(1, self.neighbours + 1):
                for j in (at - d, at + d):
                    if 0 <= j < len(session):
                        out.append(session[j])
        return out

    def _extra_stats(self) -> dict[str, Any]:
        return {"scoring": self.scoring}
