"""`CompressedMemory`: recent turns kept plain, older ones in small zstd/zlib blocks."""

from __future__ import annotations

import json
import logging
import math
import sys
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any, ClassVar

from .._core import BlockStore, KeywordIndex, train_dictionary
from ..base import MemoryBackend, SessionScope, TokenCounter
from ..errors import (
    CorruptDataError,
    InvalidArgumentError,
    InvalidTypeError,
    MemoryLimitError,
)
from ..message import DEFAULT_SESSION, AllSessions, Hit, Message
from ..session_search import top_hits

__all__ = ["CompressedMemory"]

_log = logging.getLogger("ferromem")

# A plain message costs its object, its id and text, the dict slots that find it by id, by key
# and by session, and its key: measured with sys.getsizeof on CPython 3.11, rounded up.
_PLAIN_OVERHEAD = 420
# Python-side bookkeeping per block (its session entry, its place in the session's list).
_BLOCK_OVERHEAD = 120
_SESSION_OVERHEAD = 400
_TOP_LEVEL = {"zstd": 19, "zlib": 9}
_Record = tuple[int, int, str, str, str, str, float, float | None]


class CompressedMemory(MemoryBackend):
    """Long histories in little memory: the newest ``recent`` messages of each session stay
    plain; older ones go into compressed blocks of ``block_messages`` (a compact columnar
    encoding, one standard zstd or zlib frame each; a session's newest block stays open and is
    rewritten as it fills). Once ``dictionary_bytes`` of text
    has gone into blocks, a zstd dictionary is trained from it, kept with the memory, and every
    block is (re)compressed with it.

    Any message comes back by id after decompressing at most one block (an id map in Rust, plus
    a small cache of decoded blocks). ``get_messages``, ``search`` (a Rust keyword index over
    every message, plain or compressed, grouped by session) and ``get_context`` see plain and
    compressed messages alike. :meth:`memory_usage_bytes` counts everything held: blocks,
    dictionary, id map, keyword index, plain messages and bookkeeping.

    **At the limit** (``max_memory_mb``), after every write: first the oldest blocks are
    recompressed at the codec's top level (zstd 19, zlib 9), once each, until usage fits; then the
    oldest blocks (of any session) are evicted, whole, until it fits. Every eviction is logged on
    the ``ferromem`` logger and counted in :meth:`get_stats` (``evicted_blocks``,
    ``evicted_messages``). A write whose newest messages alone, which always stay plain, cannot
    fit raises :class:`MemoryLimitError` and stores nothing. A write is kept or refused: the
    blocks a write fills are never evicted to make room for it, and when the older blocks cannot
    make room the write is refused and taken back out (nothing is evicted when that is known
    in advance).

    A damaged block never takes the others down: reading one of its messages by id raises
    :class:`CorruptDataError` naming the block; listings skip it, log it once and list it in
    ``get_stats()["damaged_blocks"]``; searches leave its messages out.
    """

    #: Text gathered from compressed messages before a dictionary is trained.
    dictionary_bytes: ClassVar[int] = 128 * 1024
    #: Size of the trained dictionary.
    dictionary_size: ClassVar[int] = 32 * 1024

    def __init__(
        self,
        max_memory_mb: float = 50.0,
        codec: str = "zstd",
        level: int = 3,
        recent: int = 20,
        *,
        block_messages: int = 32,
        session_id: str = DEFAULT_SESSION,
        token_counter: TokenCounter | None = None,
    ) -> None:
        super().__init__(session_id=session_id, token_counter=token_counter)
        if isinstance(max_memory_mb, bool) or not isinstance(max_memory_mb, (int, float)):
            raise InvalidTypeError(
                f"max_memory_mb must be a number, not {type(max_memory_mb).__name__}"
            )
        if not (max_memory_mb > 0 and math.isfinite(max_memory_mb)):
            raise InvalidArgumentError(f"max_memory_mb must be > 0 and finite, got {max_memory_mb}")
        for name, value, low, high in (
            ("recent", recent, 0, None),
            ("block_messages", block_messages, 1, 255),
            ("level", level, None, None),
        ):
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidTypeError(f"{name} must be an int, not {type(value).__name__}")
            if (low is not None and value < low) or (high is not None and value > high):
                raise InvalidArgumentError(f"{name} must be in {low}..{high or ''}, got {value}")
        if not isinstance(codec, str):
            raise InvalidTypeError(f"codec must be str, not {type(codec).__name__}")
        self._blocks = BlockStore(codec, level)  # checks codec and level
        self.max_memory_mb = float(max_memory_mb)
        self.codec = codec
        self.level = level
        self.recent = recent
        self.block_messages = block_messages
        self._index = KeywordIndex()
        self._next_key = 0
        self._plain: dict[str, dict[str, Message]] = {}
        self._plain_key: dict[str, int] = {}
        self._plain_by_key: dict[int, Message] = {}
        self._plain_bytes = 0
        self._counts: dict[str, int] = {}
        self._session_blocks: dict[str, list[int]] = {}
        self._block_session: dict[int, str] = {}
        self._open: dict[str, tuple[int, int]] = {}  # session -> (open block, messages held)
        self._samples: list[bytes] | None = []
        self._sample_bytes = 0
        self._train_at = self.dictionary_bytes
        self._damaged: set[int] = set()
        self._recompressed = 0
        self._evicted_blocks = 0
        self._evicted_messages = 0
        self._measured = 0
        self._unmeasured = 0
        self._index_dead = 0
        self._protected: set[int] = set()  # blocks the write in progress filled
        self._measured = self.memory_usage_bytes()  # the fixed costs of an empty memory

    # ------------------------------------------------------------- storage primitives
    def _store(self, messages: Sequence[Message]) -> None:
        for m in messages:
            _dump_metadata(m)  # refuse metadata that could not be compressed, before any change
        self._check_fits(messages)
        start = self._next_key
        self._next_key += len(messages)
        keys = list(range(start, self._next_key))
        touched: dict[str, None] = {}
        for key, m in zip(keys, messages, strict=True):
            assert m.id is not None
            sid = m.session_id
            session = self._plain.get(sid)
            if session is None:
                session = self._plain[sid] = {}
            session[m.id] = m
            self._plain_key[m.id] = key
            self._plain_by_key[key] = m
            self._plain_bytes += _plain_cost(m)
            self._counts[sid] = self._counts.get(sid, 0) + 1
            touched[sid] = None
        self._index.add(
            keys, [m.content for m in messages], groups=[m.session_id for m in messages]
        )
        # A write is kept or refused: the blocks it fills may not be evicted to make room for
        # it, and if the rest cannot make room, the write is taken back out.
        self._protected = set()
        try:
            for sid in touched:
                self._compact(sid)
            # Upper bound of what the write added: plain cost, index postings, block bookkeeping.
            grown = sum(_plain_cost(m) + 4 * len(m.content) for m in messages)
            self._enforce_limit(grown + _SESSION_OVERHEAD * len(touched))
        except BaseException:
            self._take_back(messages)
            raise
        finally:
            self._protected = set()

    def _take_back(self, messages: Sequence[Message]) -> None:
        """Removes a refused write's messages again (wherever compaction put them)."""
        by_session: dict[str, list[str]] = {}
        for m in messages:
            assert m.id is not None
            by_session.setdefault(m.session_id, []).append(m.id)
        for sid, ids in by_session.items():
            self._remove(sid, ids)
        self._measured, self._unmeasured = self.memory_usage_bytes(), 0

    def _load(self, session_id: str) -> list[Message]:
        out: list[Message] = []
        for block in self._session_blocks.get(session_id, ()):
            out.extend(self._block_messages(block, session_id))
        out.extend(self._plain.get(session_id, {}).values())
        return out

    def _session_ids(self) -> list[str]:
        return [sid for sid, n in self._counts.items() if n]

    def _remove(self, session_id: str, ids: Collection[str]) -> int:
        plain = self._plain.get(session_id, {})
        removed_keys: list[int] = []
        packed: list[str] = []
        for mid in ids:
            m = plain.pop(mid, None)
            if m is None:
                packed.append(mid)
            else:
                removed_keys.append(self._drop_plain(m))
        if packed:
            removed_keys.extend(self._blocks.remove_ids(packed))
        self._forget(session_id, removed_keys)
        return len(removed_keys)

    def _clear(self, session_id: str) -> None:
        self._open.pop(session_id, None)
        keys: list[int] = []
        for block in self._session_blocks.pop(session_id, []):
            keys.extend(self._blocks.drop_block(block))
            del self._block_session[block]
            self._damaged.discard(block)
        keys.extend(self._drop_plain(m) for m in self._plain.pop(session_id, {}).values())
        self._unindex(keys)
        self._counts.pop(session_id, None)

    def _get(self, message_id: str) -> Message | None:
        key = self._plain_key.get(message_id)
        if key is not None:
            return self._plain_by_key[key]
        found = self._blocks.get_id(message_id)
        return None if found is None else self._message(found)

    def _count(self, session_id: str) -> int:
        return self._counts.get(session_id, 0)

    def get_message(self, id: str, *, session_id: SessionScope = None) -> Message | None:
        """The message with this id in the bound session (or ``session_id``, or
        ``ALL_SESSIONS``), decompressing at most one block; None if absent.

        Raises :class:`CorruptDataError` naming the block if the message's block is damaged.
        """
        if not isinstance(id, str):
            raise InvalidTypeError(f"id must be str, not {type(id).__name__}")
        with self._lock:
            self._check_open()
            m = self._get(id)
            if m is None:
                return None
            if session_id is None:
                return m if m.session_id == self.session_id else None
            if isinstance(session_id, AllSessions) or m.session_id in self._scope(session_id):
                return m
            return None

    # ------------------------------------------------------------- blocks
    def _compact(self, session_id: str) -> None:
        """Moves a session's plain messages beyond the newest ``recent`` into blocks: first
        into the session's open block (rewritten, until it holds ``block_messages``), then
        into new ones."""
        plain = self._plain.get(session_id)
        if plain is None or len(plain) <= self.recent:
            return
        older = list(islice(plain.values(), len(plain) - self.recent))
        while older:
            block, held = self._open.get(session_id, (-1, self.block_messages))
            room = self.block_messages - held
            batch = older[: room or self.block_messages]
            older = older[len(batch) :]
            if room:
                try:
                    held = self._blocks.extend_block(block, *_columns(self._plain_key, batch))
                except (CorruptDataError, InvalidArgumentError):
                    # The open block was damaged or dropped: these go into a new one.
                    self._open.pop(session_id, None)
                    older = batch + older
                    continue
            else:
                block = self._blocks.add_block(*_columns(self._plain_key, batch))
                held = len(batch)
                self._session_blocks.setdefault(session_id, []).append(block)
                self._block_session[block] = session_id
            self._open[session_id] = (block, held)
            self._protected.add(block)
            self._unplain(session_id, batch)
            self._learn(batch)

    def _unplain(self, session_id: str, batch: list[Message]) -> None:
        plain = self._plain[session_id]
        for m in batch:
            assert m.id is not None
            del plain[m.id]
            self._drop_plain(m)

    def _drop_plain(self, m: Message) -> int:
        """Forgets a plain message's id and key (its session dict is the caller's); returns
        its key."""
        assert m.id is not None
        key = self._plain_key.pop(m.id)
        del self._plain_by_key[key]
        self._plain_bytes -= _plain_cost(m)
        return key

    def _learn(self, batch: list[Message]) -> None:
        """Gathers text until a dictionary can be trained, then trains it once."""
        if self._samples is None:
            return
        for m in batch:
            sample = m.content.encode()
            self._samples.append(sample)
            self._sample_bytes += len(sample)
        if self._sample_bytes < self._train_at:
            return
        try:
            dictionary = train_dictionary(self._samples, self.dictionary_size)
        except InvalidArgumentError:
            # Too uniform or too little to learn from: try again with twice the text.
            self._train_at *= 2
            return
        self._samples = None
        self._blocks.set_dictionary(dictionary)

    def _block_messages(self, block: int, session_id: str) -> list[Message]:
        try:
            records = self._blocks.block_records(block)
        except CorruptDataError as e:
            if block not in self._damaged:
                self._damaged.add(block)
                _log.warning("CompressedMemory: skipping %s (session %r)", e, session_id)
            return []
        return [self._message(r, session_id) for r in records]

    def _message(self, record: _Record, session_id: str | None = None) -> Message:
        """A Message from a decoded record, skipping re-validation (it was valid when stored)."""
        block, _, mid, role, content, meta, timestamp, importance = record
        m = object.__new__(Message)
        put = object.__setattr__
        put(m, "role", role)
        put(m, "content", content)
        put(m, "session_id", session_id or self._block_session[block])
        put(m, "metadata", json.loads(meta) if meta else {})
        put(m, "timestamp", timestamp)
        put(m, "importance", importance)
        put(m, "id", mid)
        return m

    def _forget(self, session_id: str, keys: list[int]) -> None:
        self._unindex(keys)
        left = self._counts.get(session_id, 0) - len(keys)
        if left > 0:
            self._counts[session_id] = left
        else:
            self._counts.pop(session_id, None)
        blocks = self._session_blocks.get(session_id)
        if blocks:
            live = [b for b in blocks if self._blocks.block_level(b) is not None]
            for b in set(blocks) - set(live):
                del self._block_session[b]
            self._session_blocks[session_id] = live

    def _unindex(self, keys: list[int]) -> None:
        present = [k for k in keys if k in self._index]
        if present:
            self._index.remove(present)
            self._index_dead += len(present)
            if self._index_dead > max(10_000, len(self._index)):
                self._rebuild_index()

    def _rebuild_index(self) -> None:
        """A fresh index of the live messages: removal leaves terms and capacity behind in the
        keyword index (compaction frees postings, not the vocabulary), so when most entries
        are dead, re-indexing what is left is what actually returns the memory."""
        keys: list[int] = []
        texts: list[str] = []
        groups: list[str] = []
        for sid, blocks in self._session_blocks.items():
            for block in blocks:
                try:
                    records = self._blocks.block_records(block)
                except CorruptDataError:
                    continue
                keys.extend(r[1] for r in records)
                texts.extend(r[4] for r in records)
                groups.extend(sid for _ in records)
        for key, m in self._plain_by_key.items():
            keys.append(key)
            texts.append(m.content)
            groups.append(m.session_id)
        index = KeywordIndex()
        if keys:
            index.add(keys, texts, groups=groups)
        self._index = index
        self._index_dead = 0

    # ------------------------------------------------------------- the memory limit
    def _limit_bytes(self) -> int:
        return int(self.max_memory_mb * 1024 * 1024)

    def _check_fits(self, messages: Sequence[Message]) -> None:
        """Refuses a write whose messages that would stay plain cannot fit by themselves."""
        limit = self._limit_bytes()
        plain_after = self._plain_bytes + sum(_plain_cost(m) for m in messages)
        if plain_after <= limit:
            return
        by_session: dict[str, list[Message]] = {}
        for m in messages:
            by_session.setdefault(m.session_id, []).append(m)
        plain_after = self._plain_bytes
        for sid, new in by_session.items():
            seq = [*self._plain.get(sid, {}).values(), *new]
            keep = min(len(seq), self.recent)
            plain_after += sum(_plain_cost(m) for m in seq[len(seq) - keep :])
            plain_after -= sum(_plain_cost(m) for m in seq[: len(seq) - len(new)])
        if plain_after > limit:
            raise MemoryLimitError(
                f"the newest messages, which stay plain, need {plain_after / 2**20:.2f} MB, more "
                f"than max_memory_mb={self.max_memory_mb}; raise max_memory_mb or lower recent "
                "(nothing was stored)"
            )

    def _enforce_limit(self, grown: int) -> None:
        """Brings usage under the limit (see the class docs). ``grown`` estimates how much the
        last write added, so that usage is measured (which costs a walk over the index) only
        near the limit; the margin covers what the estimate cannot see (a table growing)."""
        limit = self._limit_bytes()
        self._unmeasured += grown
        if self._measured + self._unmeasured <= 0.75 * limit:
            return
        self._measured, self._unmeasured = self.memory_usage_bytes(), 0
        if self._measured <= limit:
            return
        top = _TOP_LEVEL[self.codec]
        for block in sorted(self._block_session):
            if (self._blocks.block_level(block) or top) < top:
                try:
                    self._blocks.recompress(block, top)
                except CorruptDataError:
                    continue
                self._recompressed += 1
                if self._remeasure() <= limit:
                    return
        evicted = (self._evicted_blocks, self._evicted_messages)
        try:
            self._evict_until(limit)
        finally:
            blocks = self._evicted_blocks - evicted[0]
            if blocks:
                _log.warning(
                    "CompressedMemory over max_memory_mb=%s: evicted the %d oldest blocks "
                    "(%d messages); %d evicted so far",
                    self.max_memory_mb,
                    blocks,
                    self._evicted_messages - evicted[1],
                    self._evicted_messages,
                )

    def _evict_until(self, limit: int) -> None:
        """Evicts the oldest blocks (never one the current write filled) until usage fits.

        When even evicting every such block could not make room, nothing is evicted and the
        write is refused (its caller takes it back out)."""
        evictable = [b for b in sorted(self._block_session) if b not in self._protected]
        # Estimated usage with every evictable block gone (its frame, bookkeeping and its
        # messages' share of the keyword index): refuse before evicting anything for nothing.
        per_doc = self._index.memory_bytes() / max(1, len(self._index) + self._index_dead)
        held = {block: n for block, n in self._open.values()}
        docs = sum(held.get(b, self.block_messages) for b in evictable)
        frames = sum(len(self._blocks.frame(b) or b"") + _BLOCK_OVERHEAD for b in evictable)
        floor = self._measured - frames - docs * per_doc
        if floor > limit:
            raise MemoryLimitError(
                f"CompressedMemory needs {floor / 2**20:.3f} MB even after "
                f"evicting every older block, over max_memory_mb={self.max_memory_mb}; nothing "
                "of this write was stored"
            )
        # The keyword index gives memory back only when rebuilt, so evict until the estimate
        # (with the evicted messages' share of the index gone) fits, rebuild, and check again.
        while evictable:
            per_doc = self._index.memory_bytes() / max(1, len(self._index) + self._index_dead)
            while evictable:
                self._evict(evictable.pop(0))
                if self._remeasure() - self._index_dead * per_doc <= limit:
                    break
            self._rebuild_index()
            if self._remeasure() <= limit:
                return
        over = self._measured = self.memory_usage_bytes()
        if over > limit:
            raise MemoryLimitError(
                f"CompressedMemory holds {over / 2**20:.3f} MB with no older block left to "
                f"evict, over max_memory_mb={self.max_memory_mb}; nothing of this write was "
                f"stored ({self._evicted_messages} older messages evicted so far)"
            )

    def _remeasure(self) -> int:
        self._measured = self.memory_usage_bytes()
        return self._measured

    def _evict(self, block: int) -> None:
        sid = self._block_session.pop(block)
        self._session_blocks[sid].remove(block)
        keys = self._blocks.drop_block(block)
        self._damaged.discard(block)
        self._evicted_blocks += 1
        self._evicted_messages += len(keys)
        self._forget(sid, keys)

    # ------------------------------------------------------------- search and context
    def _search(
        self,
        query: str,
        sessions: list[str],
        limit: int,
        filters: Mapping[str, Any] | None,
    ) -> list[Hit]:
        if not sessions or limit <= 0:
            return []
        group = sessions[0] if len(sessions) == 1 else None
        wanted = None if group is not None else set(sessions)
        return top_hits(
            lambda k: self._index.search(query, k, group=group),
            self._resolve,
            limit,
            filters,
            wanted,
        )

    def _resolve(self, key: int) -> Message | None:
        m = self._plain_by_key.get(key)
        if m is not None:
            return m
        try:
            found = self._blocks.get(key)
        except CorruptDataError:
            return None  # a damaged block's messages cannot be shown; listings report it
        return None if found is None else self._message(found)

    def _recent_iter(self, sessions: list[str]) -> Iterable[Message]:
        if len(sessions) != 1:
            return super()._recent_iter(sessions)
        return self._newest_first(sessions[0])

    def _newest_first(self, session_id: str) -> Iterator[Message]:
        """Plain messages, then blocks newest first, decompressing only as far as needed."""
        plain = list(self._plain.get(session_id, {}).values())
        older = list(self._session_blocks.get(session_id, ()))
        if not _sorted(plain):
            yield from reversed(self._load(session_id))  # base order rules: sort everything
            return
        yield from reversed(plain)
        for block in reversed(older):
            yield from reversed(self._block_messages(block, session_id))

    # ------------------------------------------------------------- figures
    def memory_usage_bytes(self) -> int:
        """Bytes held: blocks, dictionary and id map (Rust), the keyword index, plain messages,
        dictionary training samples and per-block/per-session bookkeeping."""
        samples = self._sample_bytes + 50 * len(self._samples) if self._samples else 0
        return (
            self._blocks.memory_usage_bytes()
            + self._index.memory_bytes()
            + self._plain_bytes
            + samples
            + _BLOCK_OVERHEAD * len(self._block_session)
            + _SESSION_OVERHEAD * len(self._counts)
            + sys.getsizeof(self._plain_key)
            + sys.getsizeof(self._plain_by_key)
        )

    def _memory_usage_bytes(self) -> int:
        return self.memory_usage_bytes()

    def _extra_stats(self) -> dict[str, Any]:
        raw = self._blocks.raw_bytes()
        packed = self._blocks.compressed_bytes()
        return {
            "codec": self.codec,
            "level": self.level,
            "max_memory_mb": self.max_memory_mb,
            "plain_messages": len(self._plain_key),
            "plain_bytes": self._plain_bytes,
            "block_store_bytes": self._blocks.memory_usage_bytes(),
            "compressed_messages": len(self._blocks),
            "blocks": self._blocks.live_blocks(),
            "compressed_bytes": packed,
            "block_ratio": raw / packed if packed else None,
            "dictionary_bytes": len(self._blocks.dictionary or b""),
            "index_bytes": self._index.memory_bytes(),
            "recompressed_blocks": self._recompressed,
            "evicted_blocks": self._evicted_blocks,
            "evicted_messages": self._evicted_messages,
            "damaged_blocks": sorted(self._damaged),
        }

    def __repr__(self) -> str:
        return (
            f"CompressedMemory(max_memory_mb={self.max_memory_mb}, codec={self.codec!r}, "
            f"level={self.level}, recent={self.recent}, session_id={self.session_id!r})"
        )


def _columns(
    keys: Mapping[str, int], batch: list[Message]
) -> tuple[list[int], list[str], list[str], list[str], list[str], list[float], list[float | None]]:
    """A batch of plain messages as the columns ``BlockStore`` takes."""
    ids = [m.id or "" for m in batch]
    return (
        [keys[mid] for mid in ids],
        ids,
        [m.role for m in batch],
        [m.content for m in batch],
        [_dump_metadata(m) for m in batch],
        [m.timestamp for m in batch],
        [m.importance for m in batch],
    )


def _dump_metadata(m: Message) -> str:
    if not m.metadata:
        return ""
    try:
        return json.dumps(m.metadata, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as e:
        raise InvalidTypeError(
            f"metadata of message {m.id!r} must be JSON-serialisable to be compressed: {e}"
        ) from None


def _plain_cost(m: Message) -> int:
    return (
        _PLAIN_OVERHEAD
        + sys.getsizeof(m.content)
        + (sys.getsizeof(m.metadata) if m.metadata else 0)
    )


def _sorted(msgs: list[Message]) -> bool:
    return all(msgs[i].timestamp <= msgs[i + 1].timestamp for i in range(len(msgs) - 1))
