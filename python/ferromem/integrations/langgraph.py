"""`FerromemStore`: LangGraph long-term memory (a ``BaseStore``) in a ferromem memory
(``pip install 'ferromem[langgraph]'``)."""

from __future__ import annotations

import asyncio
import heapq
import json
import os
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from ..base import MemoryBackend
from ..errors import InvalidArgumentError, InvalidTypeError
from ..message import ALL_SESSIONS, Hit, Message
from . import missing_extra
from .embeddings import FrameworkEmbedder

try:
    from langgraph.store.base import (
        BaseStore,
        GetOp,
        IndexConfig,
        Item,
        ListNamespacesOp,
        MatchCondition,
        Op,
        PutOp,
        Result,
        SearchItem,
        SearchOp,
    )
    from langgraph.store.base import validate_op_namespace as _validate_op
    from langgraph.store.base.embed import ensure_embeddings, get_text_at_path, tokenize_path
except ImportError as e:
    raise missing_extra("ferromem.integrations.langgraph", "langgraph", e) from e

__all__ = ["FerromemStore"]

#: The metadata entry that keeps an item's creation time (its message's timestamp is the time
#: it was last updated); a value may not use this key.
CREATED = "_ferromem_created_at"
#: Marks an item with no text to search (``index=False``, or none of the fields present): a
#: query never finds it (an empty text still embeds to some vector).
UNINDEXED = "_ferromem_unindexed"
_ROLE = "item"


def _session(namespace: tuple[str, ...]) -> str:
    return json.dumps(list(namespace), ensure_ascii=False, separators=(",", ":"))


def _namespace(session: str) -> tuple[str, ...] | None:
    """The namespace a session holds, or None for a session this store did not write."""
    if not session.startswith("["):
        return None
    try:
        labels = json.loads(session)
    except ValueError:
        return None
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        return None
    return tuple(labels)


def _id(namespace: tuple[str, ...], key: str) -> str:
    return json.dumps([*namespace, key], ensure_ascii=False, separators=(",", ":"))


def _time(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def _path(field: str) -> tuple[str, str | list[str]]:
    """A field of ``index`` as LangGraph reads it ("$" is the whole value, as JSON)."""
    return (field, field) if field == "$" else (field, tokenize_path(field))


def _value(m: Message) -> tuple[dict[str, Any], float]:
    """An item's value and creation time from its message."""
    value = dict(m.metadata)
    created = value.pop(CREATED, m.timestamp)
    value.pop(UNINDEXED, None)
    return value, created if isinstance(created, (int, float)) else m.timestamp


def _key(m: Message) -> str:
    """An item's key: the last label of its message id."""
    try:
        labels = json.loads(m.id or "")
    except ValueError:
        return m.id or ""
    return labels[-1] if isinstance(labels, list) and labels and isinstance(labels[-1], str) else ""


def _matches(condition: MatchCondition, namespace: tuple[str, ...]) -> bool:
    path = condition.path
    if len(namespace) < len(path):
        return False
    labels = (
        namespace if condition.match_type == "prefix" else namespace[len(namespace) - len(path) :]
    )
    return all(p == "*" or p == label for p, label in zip(path, labels, strict=False))


class FerromemStore(BaseStore):
    """LangGraph's long-term memory store in a ferromem memory: an item is a message of the
    session its namespace names, its value the message's metadata and its text (the fields
    ``index`` names, as LangGraph's stores do) the message's content.

    - ``FerromemStore("memory.db", index=...)`` keeps the items in a SQLite file (durable,
      shared by the processes of one host); ``FerromemStore()`` in process; or pass any ferromem
      memory (its own embedder is then used, and ``index`` may only name ``fields``).
    - ``index`` as in LangGraph: ``{"embed": Embeddings | function | "provider:model",
      "dims": N, "fields": ["$"]}``. With it, ``search(query=...)`` is semantic (the query
      embedded with ``embed_query``); without it, ``query`` is matched by ferromem's BM25
      keyword index.
    - ``search(filter=...)`` matches value fields, with ``$eq $ne $gt $gte $lt $lte`` and
      also ``$in $nin $exists $and $or $not``. Without a query, items come most recently
      updated first.
    - Values must be JSON objects; the keys ``_ferromem_created_at`` and
      ``_ferromem_unindexed`` are reserved. An item put with ``index=False`` (or with none of
      the indexed fields) is listed and read but never found by a query.

    In one :meth:`batch`, reads see the store as it was before the batch's writes (as in
    LangGraph's ``InMemoryStore``); writes to one item keep the last.
    """

    supports_ttl = False

    def __init__(
        self,
        memory: MemoryBackend | str | os.PathLike[str] | None = None,
        *,
        index: IndexConfig | None = None,
    ) -> None:
        self.index_config = index
        self._embedder: FrameworkEmbedder | None = None
        fields: list[str] = ["$"]
        if index is not None:
            if not isinstance(index, Mapping):
                raise InvalidTypeError(f"index must be a dict, not {type(index).__name__}")
            fields = list(index.get("fields") or ["$"])
            embed = index.get("embed")
            if embed is not None:
                if isinstance(memory, MemoryBackend):
                    raise InvalidArgumentError(
                        "index['embed'] makes a memory's embedder: pass it to the memory you "
                        "build, or pass a path instead of a memory"
                    )
                self._embedder = FrameworkEmbedder(ensure_embeddings(embed))
        self._fields: list[tuple[str, str | list[str]]] = [_path(f) for f in fields]
        self._owns_memory = not isinstance(memory, MemoryBackend)
        if isinstance(memory, MemoryBackend):
            self.memory = memory
        elif memory is None:
            if self._embedder is None:
                from ..memories.indexed import IndexedMemory

                self.memory = IndexedMemory()
            else:
                from ..memories.vector import VectorMemory

                self.memory = VectorMemory(self._embedder, similarity_threshold=float("-inf"))
        elif isinstance(memory, (str, os.PathLike)):
            from ..memories.sqlite import SQLiteMemory

            self.memory = SQLiteMemory(
                memory, embedder=self._embedder, similarity_threshold=float("-inf")
            )
        else:
            raise InvalidTypeError(
                f"memory must be a ferromem memory, a path or None, not {type(memory).__name__}"
            )

    def close(self) -> None:
        """Closes the memory this store opened (a memory passed in stays open)."""
        if self._owns_memory:
            self.memory.close()

    def __enter__(self) -> FerromemStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ items and messages
    def _item(self, m: Message) -> Item:
        value, created = _value(m)
        return Item(
            value=value,
            key=_key(m),
            namespace=_namespace(m.session_id) or (),
            created_at=_time(created),
            updated_at=_time(m.timestamp),
        )

    def _search_item(self, m: Message, score: float | None = None) -> SearchItem:
        value, created = _value(m)
        namespace = _namespace(m.session_id) or ()
        return SearchItem(namespace, _key(m), value, _time(created), _time(m.timestamp), score)

    def _text(self, op: PutOp) -> str:
        if op.index is False:
            return ""
        value = op.value or {}
        paths = self._fields if op.index is None else [_path(f) for f in op.index]
        texts = [t for _, path in paths for t in get_text_at_path(value, path)]
        return "\n".join(texts)

    def _message(self, op: PutOp, created: float | None, now: float) -> Message:
        value = op.value
        if not isinstance(value, Mapping):
            raise InvalidTypeError(f"an item's value must be a dict, not {type(value).__name__}")
        for reserved in (CREATED, UNINDEXED):
            if reserved in value:
                raise InvalidArgumentError(
                    f"an item's value may not use the reserved key {reserved!r}"
                )
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise InvalidArgumentError(f"item {op.key!r}: the value is not JSON ({e})") from None
        text = self._text(op)
        meta = {**value, CREATED: created if created is not None else now}
        if not text.strip():
            meta[UNINDEXED] = True
        return Message(
            _ROLE,
            text,
            session_id=_session(op.namespace),
            metadata=meta,
            timestamp=now,
            id=_id(op.namespace, op.key),
        )

    # ------------------------------------------------------------------ operations
    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Runs the operations: reads first (in order), then the writes, last one per item."""
        ops = list(ops)
        for op in ops:
            _validate_op(op)
        results: list[Result] = []
        puts: dict[tuple[tuple[str, ...], str], PutOp] = {}
        for op in ops:
            if isinstance(op, GetOp):
                results.append(self._get(op))
            elif isinstance(op, SearchOp):
                results.append(self._search(op))
            elif isinstance(op, ListNamespacesOp):
                results.append(self._list_namespaces(op))
            elif isinstance(op, PutOp):
                puts[(op.namespace, op.key)] = op
                results.append(None)
            else:
                raise InvalidTypeError(f"unknown store operation {type(op).__name__}")
        if puts:
            self._write(list(puts.values()))
        return results

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Async twin of :meth:`batch` (the work runs in a thread)."""
        return await asyncio.to_thread(self.batch, list(ops))

    def _get(self, op: GetOp) -> Item | None:
        m = self.memory.get_message(_id(op.namespace, op.key), session_id=_session(op.namespace))
        return self._item(m) if m is not None else None

    def _write(self, puts: list[PutOp]) -> None:
        now = time.time()
        removed = [_id(op.namespace, op.key) for op in puts if op.value is None]
        kept = [op for op in puts if op.value is not None]
        if kept:
            ids = [_id(op.namespace, op.key) for op in kept]
            before = {
                m.id: m.metadata.get(CREATED, m.timestamp)
                for m in self.memory.get_messages_by_ids(ids, session_id=ALL_SESSIONS)
            }
            messages = [
                self._message(op, before.get(i), now) for op, i in zip(kept, ids, strict=True)
            ]
            self.memory.add_messages(messages, session_id=ALL_SESSIONS, on_conflict="replace")
        if removed:
            self.memory.delete_messages(removed, session_id=ALL_SESSIONS)

    def _sessions(self, prefix: tuple[str, ...]) -> list[str]:
        out = []
        for sid in self.memory.list_all_sessions():
            ns = _namespace(sid)
            if ns is not None and ns[: len(prefix)] == prefix:
                out.append(sid)
        return out

    def _search(self, op: SearchOp) -> list[SearchItem]:
        sessions = self._sessions(op.namespace_prefix)
        want = op.offset + op.limit
        if not sessions or want <= 0:
            return []
        if op.query is None or not op.query.strip():
            found = [
                m for sid in sessions for m in self.memory.get_messages(sid, filters=op.filter)
            ]
            found.sort(key=lambda m: (-m.timestamp, m.id or ""))
            return [self._search_item(m) for m in found[op.offset : want]]
        hits = self._ranked(op.query, sessions, want, op.filter)
        return [self._search_item(h.message, h.score) for h in hits[op.offset : want]]

    def _ranked(
        self, query: str, sessions: list[str], n: int, filters: dict[str, Any] | None
    ) -> list[Hit]:
        """The best ``n`` hits for ``query`` over ``sessions``: one search per session, merged
        by score (the memory's search takes one session, or all of them)."""
        vector = self._embedder.embed_query(query) if self._embedder is not None else None
        indexed = {UNINDEXED: {"$exists": False}}
        filters = indexed if not filters else {"$and": [filters, indexed]}

        def one(sid: str) -> list[Hit]:
            if vector is not None:
                return self.memory.search_by_vector(
                    vector, session_id=sid, limit=n, filters=filters
                )
            return self.memory.search(query, session_id=sid, limit=n, filters=filters)

        runs = [one(sid) for sid in sessions]
        return heapq.nlargest(n, (h for run in runs for h in run), key=lambda h: h.score)

    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        namespaces = [
            ns for sid in self.memory.list_all_sessions() if (ns := _namespace(sid)) is not None
        ]
        if op.match_conditions:
            namespaces = [
                ns for ns in namespaces if all(_matches(c, ns) for c in op.match_conditions)
            ]
        if op.max_depth is not None:
            namespaces = [ns[: op.max_depth] for ns in namespaces]
        unique = sorted(set(namespaces))
        return unique[op.offset : op.offset + op.limit]

    def __repr__(self) -> str:
        return f"FerromemStore({self.memory!r})"
