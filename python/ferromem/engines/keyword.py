"""`KeywordEngine`: BM25 (or Jaccard) over the Rust `KeywordIndex`, one group per session."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._core import KeywordIndex
from ..errors import InvalidTypeError
from ..message import Message
from .base import Engine, Ranking

__all__ = ["KeywordEngine"]

# Single adds reach the index in batches of this many (and before any read), so that one
# add_message costs a few list appends instead of a round trip into Rust. Larger batches index
# faster (each learns its words once): 16384 measured 20-30% more single adds per second than
# 4096, for at most some 30 ms of indexing on the first read after them.
_FLUSH_AT = 16384


class KeywordEngine(Engine):
    """Keyword search over a memory's messages.

    ``index_roles`` indexes each turn's role with its text (roles are often speaker names, which
    questions mention). ``neighbour_weights=(previous, next)``: a turn also earns these shares of
    the scores of the turns before and after it in its session, since the answer to a matching
    question is usually the next turn; ``(0, 0)`` gives plain per-turn ranking.
    """

    name = "keyword"

    def __init__(
        self,
        scoring: str = "bm25",
        *,
        k1: float = 1.2,
        b: float = 0.3,
        topics: Mapping[str, Sequence[str]] | None = None,
        index_roles: bool = True,
        neighbour_weights: tuple[float, float] = (0.3, 0.1),
    ) -> None:
        if not isinstance(scoring, str):
            raise InvalidTypeError(f"scoring must be str, not {type(scoring).__name__}")
        if not isinstance(neighbour_weights, tuple) or len(neighbour_weights) != 2:
            raise InvalidTypeError(
                f"neighbour_weights must be a (previous, next) tuple, got {neighbour_weights!r}"
            )
        self.index = KeywordIndex(scoring, k1, b, topics=topics)
        self.index.search("probe", 1, neighbour_weights=neighbour_weights)  # validates them
        self.scoring = scoring
        self.k1 = float(k1)
        self.b = float(b)
        self.index_roles = bool(index_roles)
        self.neighbour_weights = (float(neighbour_weights[0]), float(neighbour_weights[1]))
        self._pending_keys: list[int] = []
        self._pending_texts: list[str] = []
        self._pending_groups: list[str] = []

    def settings(self) -> dict[str, Any]:
        return {
            "scoring": self.scoring,
            "k1": self.k1,
            "b": self.b,
            "index_roles": self.index_roles,
            "topics": self.index.topics,
        }

    def text(self, m: Message) -> str:
        """What gets indexed for a turn."""
        return f"{m.role} {m.content}" if self.index_roles else m.content

    # ------------------------------------------------------------------ upkeep
    def add(self, keys: Sequence[int], messages: Sequence[Message], vectors: Any = None) -> None:
        self._pending_keys.extend(keys)
        self._pending_texts.extend(self.text(m) for m in messages)
        self._pending_groups.extend(m.session_id for m in messages)
        if len(self._pending_keys) >= _FLUSH_AT:
            self.flush()

    def add_one(self, key: int, role: str, content: str, session_id: str) -> None:
        """The single-message fast path of :meth:`add` (no Message needed)."""
        self._pending_keys.append(key)
        self._pending_texts.append(f"{role} {content}" if self.index_roles else content)
        self._pending_groups.append(session_id)
        if len(self._pending_keys) >= _FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        """Hands the pending adds to the index in one batch (all cores, GIL released).

        The pending lists are emptied only once the index took them, so a failure loses
        nothing (and the texts were validated on the way in)."""
        if self._pending_keys:
            self.index.add(self._pending_keys, self._pending_texts, groups=self._pending_groups)
            self._pending_keys, self._pending_texts, self._pending_groups = [], [], []

    def remove(self, keys: Sequence[int]) -> None:
        self.flush()
        present = [k for k in keys if k in self.index]
        if present:
            self.index.remove(present)

    def clear(self) -> None:
        self._pending_keys, self._pending_texts, self._pending_groups = [], [], []
        self.index = KeywordIndex(self.scoring, self.k1, self.b, topics=self.index.topics)

    def save(self, path: Path) -> None:
        """Writes the index to ``path`` (the shared envelope, replaced atomically)."""
        self.flush()
        self.index.save(path)

    def load(self, path: Path) -> None:
        """Replaces the index with the one saved at ``path`` (same settings: the caller
        checked); a damaged file raises CorruptFileError and changes nothing."""
        index = KeywordIndex.load(path)
        self._pending_keys, self._pending_texts, self._pending_groups = [], [], []
        self.index = index

    def __contains__(self, key: int) -> bool:
        self.flush()
        return key in self.index

    def __len__(self) -> int:
        self.flush()
        return len(self.index)

    def compact(self) -> None:
        """Seals the index's uncompressed tail and releases spare capacity."""
        self.flush()
        self.index.compact()

    def memory_bytes(self) -> int:
        self.flush()
        return int(self.index.memory_bytes())

    # ------------------------------------------------------------------ search
    def search(self, query: str, sessions: Sequence[str] | None, k: int) -> Ranking:
        """The best ``k`` keys for ``query`` within ``sessions`` (None: every session)."""
        self.flush()
        if k <= 0:
            return []
        weights = self.neighbour_weights
        if sessions is None or len(sessions) > 8:
            # Across many sessions: one search of the whole index; the caller drops keys of
            # sessions out of scope (and asks for more while it does).
            keys, scores = self.index.search(query, k, neighbour_weights=weights)
            return list(zip(keys.tolist(), scores.tolist(), strict=True))
        out: Ranking = []
        for sid in sessions:
            if not self.index.group_len(sid):
                continue
            keys, scores = self.index.search(query, k, group=sid, neighbour_weights=weights)
            out.extend(zip(keys.tolist(), scores.tolist(), strict=True))
        if len(sessions) > 1:
            out.sort(key=lambda ks: -ks[1])
        return out[:k]

    def neighbours(self, key: int) -> tuple[int | None, int | None]:
        """The keys indexed just before and after ``key`` in its session."""
        self.flush()
        return self.index.neighbours(key)

    def topic_keys(self, topic: str, session_id: str) -> list[int]:
        """Keys of a session's messages tagged with ``topic``."""
        self.flush()
        keys: list[int] = self.index.topic_ids(topic, group=session_id).tolist()
        return keys
