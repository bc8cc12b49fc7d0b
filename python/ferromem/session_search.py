"""Keyword search for backends without an index of their own: the Rust `KeywordIndex` built over
the messages a search may see, optionally cached per session while the session is unchanged."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ._core import KeywordIndex
from .message import Hit, Message

__all__ = ["SessionIndexCache", "index_text", "keyword_search", "matches_filters", "top_hits"]


def matches_filters(message: Message, filters: Mapping[str, Any]) -> bool:
    """True when the message's metadata holds every key of ``filters`` with an equal value."""
    meta = message.metadata
    return all(key in meta and meta[key] == value for key, value in filters.items())


def top_hits(
    search: Callable[[int], tuple[npt.NDArray[np.uint64], npt.NDArray[np.float32]]],
    resolve: Callable[[int], Message | None],
    limit: int,
    filters: Mapping[str, Any] | None,
    sessions: set[str] | None,
) -> list[Hit]:
    """The best ``limit`` hits of an index search whose keys ``resolve`` maps to messages.

    ``search(k)`` returns the index's top ``k`` keys and scores. While ``sessions`` or
    ``filters`` reject hits, the search is repeated with a larger ``k`` until ``limit`` hits
    pass or the index has nothing more to give."""
    k = limit if not filters and sessions is None else max(4 * limit, 64)
    while True:
        keys, scores = search(k)
        hits: list[Hit] = []
        for key, score in zip(keys.tolist(), scores.tolist(), strict=True):
            m = resolve(key)
            if m is None or (sessions is not None and m.session_id not in sessions):
                continue
            if filters and not matches_filters(m, filters):
                continue
            hits.append(Hit(m, score))
            if len(hits) == limit:
                return hits
        if len(keys) < k:
            return hits
        k *= 4


def index_text(m: Message) -> str:
    """What gets indexed for a turn: its role (often a speaker's name) and its text."""
    return f"{m.role} {m.content}"


class _Indexed:
    __slots__ = ("index", "messages")

    def __init__(self, messages: Sequence[Message]) -> None:
        self.messages = list(messages)
        self.index = KeywordIndex()
        if self.messages:
            self.index.add(range(len(self.messages)), [index_text(m) for m in self.messages])

    def search(self, query: str, limit: int) -> list[Hit]:
        ids, scores = self.index.search(query, limit)
        return [
            Hit(self.messages[i], float(s))
            for i, s in zip(ids.tolist(), scores.tolist(), strict=True)
        ]


def keyword_search(query: str, messages: Sequence[Message], limit: int) -> list[Hit]:
    """BM25 over ``messages`` through a transient index (built on all cores, GIL released)."""
    if not messages or limit <= 0:
        return []
    return _Indexed(messages).search(query, limit)


class SessionIndexCache:
    """Per-session indexes reused while a session's version stays the same.

    A backend whose store can say cheaply whether a session changed (a row count and the
    newest row, a change counter) keeps its indexes in step with writes made by other
    processes too; the least recently searched sessions are dropped past ``capacity``.
    """

    def __init__(self, capacity: int = 64) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[str, tuple[Hashable, _Indexed]] = OrderedDict()

    def search(
        self,
        session_id: str,
        version: Hashable,
        load: Callable[[], list[Message]],
        query: str,
        limit: int,
    ) -> list[Hit]:
        """Hits from the session's cached index, rebuilt from ``load()`` when ``version`` moved."""
        entry = self._entries.get(session_id)
        if entry is None or entry[0] != version:
            entry = (version, _Indexed(load()))
            self._entries[session_id] = entry
        self._entries.move_to_end(session_id)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        return entry[1].search(query, limit)

    def clear(self) -> None:
        """Forgets every cached index."""
        self._entries.clear()
