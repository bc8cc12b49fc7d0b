"""`CompressedStore`: recent turns kept plain, older ones in small zstd/zlib blocks (Rust)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Hashable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any

from .._core import BlockStore, train_dictionary
from ..errors import CorruptDataError, InvalidArgumentError, InvalidTypeError
from ..message import Message, chrono_key
from .base import Conflict, Partition, Store, Vectors, WriteResult
from .objects import find_conflicts

__all__ = ["CompressedStore"]

_log = logging.getLogger("ferromem")

# A plain message costs its object, its id and text, the dict slots that find it by id, by key
# and by session, and its key: measured with sys.getsizeof on CPython 3.11, rounded up.
PLAIN_OVERHEAD = 420
# Bookkeeping per block (its session entry, its place in the session's list).
BLOCK_OVERHEAD = 120
SESSION_OVERHEAD = 400
TOP_LEVEL = {"zstd": 19, "zlib": 9}
# The full-size dictionary replaces the first one once this many times the text the first was
# trained at has gone into blocks: by then it saves more than its three copies cost.
RETRAIN_FACTOR = 8
_Record = tuple[int, int, str, str, str, str, float, float | None]


def plain_cost(m: Message) -> int:
    """What keeping a message plain costs in bytes."""
    return (
        PLAIN_OVERHEAD + sys.getsizeof(m.content) + (sys.getsizeof(m.metadata) if m.metadata else 0)
    )


def dump_metadata(m: Message) -> str:
    """A message's metadata as stored in a block ("" when empty)."""
    if not m.metadata:
        return ""
    try:
        return json.dumps(m.metadata, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as e:
        raise InvalidTypeError(
            f"metadata of message {m.id!r} must be JSON-serialisable to be compressed: {e}"
        ) from None


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
        [dump_metadata(m) for m in batch],
        [m.timestamp for m in batch],
        [m.importance for m in batch],
    )


def _sorted(msgs: list[Message]) -> bool:
    return all(msgs[i].timestamp <= msgs[i + 1].timestamp for i in range(len(msgs) - 1))


class CompressedStore(Store):
    """The newest ``recent`` messages of each session stay plain; older ones go into compressed
    blocks of ``block_messages`` (a compact columnar encoding, one standard zstd or zlib frame
    each; a session's newest block stays open and is rewritten as it fills). Once
    ``dictionary_bytes`` of text has gone into blocks, a dictionary of ``first_dictionary_size``
    is trained from it and every block is (re)compressed with it; once ``RETRAIN_FACTOR`` times
    that text has, one of ``dictionary_size`` replaces it (a small store would otherwise hold a
    dictionary, three times over in zstd's contexts, larger than what it saves). Any message
    comes back by key or id after decompressing at most one block. A damaged block takes only
    its own messages: reading them by id raises :class:`CorruptDataError` naming the block;
    listings and searches skip them (logged once)."""

    def __init__(
        self,
        codec: str,
        level: int,
        recent: int,
        block_messages: int,
        *,
        dictionary_bytes: int,
        dictionary_size: int,
        first_dictionary_size: int | None = None,
    ) -> None:
        self.blocks = BlockStore(codec, level)  # checks codec and level
        self.codec = codec
        self.level = level
        self.recent = recent
        self.block_messages = block_messages
        self.dictionary_size = dictionary_size
        # The sizes still to train, smallest first (one when the first is the final size).
        first = min(first_dictionary_size or dictionary_size, dictionary_size)
        self._dictionary_sizes = [first] if first == dictionary_size else [first, dictionary_size]
        self._next_key = 0
        self._version = 0
        self._plain: dict[str, dict[str, Message]] = {}
        self._plain_key: dict[str, int] = {}
        self._plain_by_key: dict[int, Message] = {}
        self._plain_peak = 0  # most entries the plain maps held since they were last rebuilt
        self.plain_bytes = 0
        self._counts: dict[str, int] = {}
        self._session_blocks: dict[str, list[int]] = {}
        self.block_session: dict[int, str] = {}
        self._open: dict[str, tuple[int, int]] = {}  # session -> (open block, messages held)
        # Until a dictionary is trained: how much text went into blocks (the samples are read
        # back from the blocks at training time rather than kept, which would double the text).
        self._learning = True
        self._sample_bytes = 0
        self._train_at = dictionary_bytes
        self.damaged: set[int] = set()
        #: Blocks filled by the write in progress (never evicted to make room for it).
        self.touched: set[int] = set()

    # ------------------------------------------------------------------ writes
    def put(
        self,
        messages: Sequence[Message],
        vectors: Vectors | None = None,
        *,
        on_conflict: Conflict = "error",
    ) -> WriteResult:
        for m in messages:
            dump_metadata(m)  # refuse metadata that could not be compressed, before any change
        stored = self.keys_of([m.id or "" for m in messages])
        keep, replace = (
            find_conflicts(messages, stored, on_conflict)
            if any(k is not None for k in stored)
            else ([], [])
        )
        before = self._version
        removed = self._drop(replace) if replace else []
        keys: list[int | None] = []
        touched: dict[str, None] = {}
        for i, m in enumerate(messages):
            if keep and not keep[i]:
                keys.append(None)
                continue
            assert m.id is not None
            key = self._next_key
            self._next_key += 1
            sid = m.session_id
            self._plain.setdefault(sid, {})[m.id] = m
            self._plain_key[m.id] = key
            self._plain_by_key[key] = m
            self.plain_bytes += plain_cost(m)
            self._counts[sid] = self._counts.get(sid, 0) + 1
            touched[sid] = None
            keys.append(key)
        self._plain_peak = max(self._plain_peak, len(self._plain_key))
        for sid in touched:
            self._compact(sid)
        self._shrink_plain_maps()
        self._version += 1
        return WriteResult(keys, removed, {None: (before, self._version)})

    def _shrink_plain_maps(self) -> None:
        """Rebuilds the plain-message maps once they hold under half of their peak: a dict
        keeps the table it grew to, and a big write passes every message through them (the
        rebuild copies what is left, at most as many entries as were removed since the last)."""
        if len(self._plain_key) * 2 < self._plain_peak:
            self._plain_key = dict(self._plain_key)
            self._plain_by_key = dict(self._plain_by_key)
            self._plain = {sid: dict(plain) for sid, plain in self._plain.items()}
            self._plain_peak = len(self._plain_key)

    def remove(self, keys: Sequence[int]) -> WriteResult:
        before = self._version
        removed = self._drop(keys)
        if removed:
            self._version += 1
        return WriteResult([], removed, {None: (before, self._version)})

    def _drop(self, keys: Sequence[int]) -> list[int]:
        removed: list[int] = []
        packed: list[str] = []
        sessions: dict[str, int] = {}
        for key in keys:
            m = self._plain_by_key.get(key)
            if m is not None:
                del self._plain[m.session_id][m.id or ""]
                self._drop_plain(m)
                removed.append(key)
                sessions[m.session_id] = sessions.get(m.session_id, 0) + 1
                continue
            try:
                found = self.blocks.get(key)
            except CorruptDataError:
                found = None
            if found is not None:
                packed.append(found[2])
                sid = self.block_session[found[0]]
                sessions[sid] = sessions.get(sid, 0) + 1
        if packed:
            removed.extend(self.blocks.remove_ids(packed))
        for sid, n in sessions.items():
            self._forget(sid, n)
        return removed

    def remove_session(self, session_id: str) -> WriteResult:
        before = self._version
        self._open.pop(session_id, None)
        keys: list[int] = []
        for block in self._session_blocks.pop(session_id, []):
            keys.extend(self.blocks.drop_block(block))
            del self.block_session[block]
            self.damaged.discard(block)
        keys.extend(self._drop_plain(m) for m in self._plain.pop(session_id, {}).values())
        self._counts.pop(session_id, None)
        if keys:
            self._version += 1
        return WriteResult([], keys, {None: (before, self._version)})

    def _forget(self, session_id: str, n: int) -> None:
        left = self._counts.get(session_id, 0) - n
        if left > 0:
            self._counts[session_id] = left
        else:
            self._counts.pop(session_id, None)
        blocks = self._session_blocks.get(session_id)
        if blocks:
            live = [b for b in blocks if self.blocks.block_level(b) is not None]
            for b in set(blocks) - set(live):
                del self.block_session[b]
                self.damaged.discard(b)
            self._session_blocks[session_id] = live

    def _drop_plain(self, m: Message) -> int:
        """Forgets a plain message's id and key (its session dict is the caller's)."""
        key = self._plain_key.pop(m.id or "")
        del self._plain_by_key[key]
        self.plain_bytes -= plain_cost(m)
        return key

    # ------------------------------------------------------------------ blocks
    def _compact(self, session_id: str) -> None:
        """Moves a session's plain messages beyond the newest ``recent`` into blocks: first
        into the session's open block (rewritten, until it holds ``block_messages``), then
        into new ones."""
        plain = self._plain.get(session_id)
        if plain is None or len(plain) <= self.recent:
            return
        older = list(islice(plain.values(), len(plain) - self.recent))
        moved = len(older)
        while older:
            block, held = self._open.get(session_id, (-1, self.block_messages))
            room = self.block_messages - held
            batch = older[: room or self.block_messages]
            older = older[len(batch) :]
            if room:
                try:
                    held = self.blocks.extend_block(block, *_columns(self._plain_key, batch))
                except (CorruptDataError, InvalidArgumentError):
                    # The open block was damaged or dropped: these go into a new one.
                    self._open.pop(session_id, None)
                    older = batch + older
                    continue
            else:
                block = self.blocks.add_block(*_columns(self._plain_key, batch))
                held = len(batch)
                self._session_blocks.setdefault(session_id, []).append(block)
                self.block_session[block] = session_id
            self._open[session_id] = (block, held)
            self.touched.add(block)
            for m in batch:
                del plain[m.id or ""]
                self._drop_plain(m)
            self._learn(batch)
        if moved > 2 * len(plain):
            # The session's dict keeps the table it grew to (a write of a few hundred turns to
            # one session passes them all through it); a copy is sized for the ``recent`` left.
            self._plain[session_id] = dict(plain)

    def _learn(self, batch: list[Message]) -> None:
        """Gathers text until a dictionary can be trained, then trains it (the small first
        one, then, after ``RETRAIN_FACTOR`` times the text, the full-size one)."""
        if not self._learning:
            return
        self._sample_bytes += sum(len(m.content.encode()) for m in batch)
        if self._sample_bytes < self._train_at:
            return
        samples = [
            record[4].encode()
            for block, session_id in list(self.block_session.items())
            for record in self._block_records(block, session_id)
        ]
        size = self._dictionary_sizes[0]
        try:
            dictionary = train_dictionary(samples, size)
        except InvalidArgumentError:
            # Too uniform or too little to learn from: try again with twice the text.
            self._train_at *= 2
            return
        self.blocks.replace_dictionary(dictionary)  # sets the first one as set_dictionary does
        self._dictionary_sizes.pop(0)
        self._learning = bool(self._dictionary_sizes)
        self._train_at = self._sample_bytes * RETRAIN_FACTOR

    def _block_records(self, block: int, session_id: str) -> list[_Record]:
        try:
            records: list[_Record] = self.blocks.block_records(block)
            return records
        except CorruptDataError as e:
            if block not in self.damaged:
                self.damaged.add(block)
                _log.warning("CompressedMemory: skipping %s (session %r)", e, session_id)
            return []

    def _message(self, record: _Record, session_id: str | None = None) -> Message:
        """A Message from a decoded record, skipping re-validation (it was valid when stored)."""
        block, _, mid, role, content, meta, timestamp, importance = record
        m = object.__new__(Message)
        put = object.__setattr__
        put(m, "role", role)
        put(m, "content", content)
        put(m, "session_id", session_id or self.block_session[block])
        put(m, "metadata", json.loads(meta) if meta else {})
        put(m, "timestamp", timestamp)
        put(m, "importance", importance)
        put(m, "id", mid)
        return m

    def recompress_oldest(self, limit_reached: Any) -> int:
        """Recompresses the oldest blocks at the codec's top level, once each, until
        ``limit_reached()`` is False; returns how many were recompressed."""
        top = TOP_LEVEL[self.codec]
        done = 0
        for block in sorted(self.block_session):
            if (self.blocks.block_level(block) or top) < top:
                try:
                    self.blocks.recompress(block, top)
                except CorruptDataError:
                    continue
                done += 1
                if not limit_reached():
                    break
        return done

    def evictable(self) -> list[int]:
        """Blocks oldest first, except those the write in progress filled."""
        return [b for b in sorted(self.block_session) if b not in self.touched]

    def block_bytes(self, block: int) -> int:
        """What a block costs: its frame and bookkeeping."""
        return len(self.blocks.frame(block) or b"") + BLOCK_OVERHEAD

    def block_messages_held(self, block: int) -> int:
        """How many messages a block holds (an upper bound for a closed block)."""
        held = {b: n for b, n in self._open.values()}
        return held.get(block, self.block_messages)

    def evict(self, block: int) -> WriteResult:
        """Drops a whole block; returns its keys as removed."""
        before = self._version
        sid = self.block_session.pop(block)
        self._session_blocks[sid].remove(block)
        keys = self.blocks.drop_block(block)
        self.damaged.discard(block)
        if self._open.get(sid, (-1, 0))[0] == block:
            del self._open[sid]
        self._forget(sid, len(keys))
        self._version += 1
        return WriteResult([], keys, {None: (before, self._version)})

    # ------------------------------------------------------------------ reads
    def get_strict(self, key: int) -> Message | None:
        """The message under a key; CorruptDataError naming the block when it is damaged."""
        m = self._plain_by_key.get(key)
        if m is not None:
            return m
        found = self.blocks.get(key)
        return None if found is None else self._message(found)

    def get_strict_id(self, message_id: str) -> Message | None:
        """The message with an id; CorruptDataError naming the block when it is damaged."""
        key = self._plain_key.get(message_id)
        if key is not None:
            return self._plain_by_key[key]
        found = self.blocks.get_id(message_id)
        return None if found is None else self._message(found)

    def get(self, keys: Sequence[int]) -> list[Message | None]:
        out: list[Message | None] = []
        for key in keys:
            try:
                out.append(self.get_strict(key))
            except CorruptDataError:
                out.append(None)  # a damaged block's messages cannot be shown
        return out

    def keys_of(
        self, ids: Sequence[str], sessions: Sequence[str] | None = None
    ) -> list[int | None]:
        out: list[int | None] = []
        for mid in ids:
            key = self._plain_key.get(mid)
            if key is None:
                try:
                    found = self.blocks.get_id(mid)
                except CorruptDataError:
                    found = None  # its block is damaged: the id cannot be told apart
                key = None if found is None else found[1]
            out.append(key)
        return out

    def session_keys(self, session_id: str) -> list[int]:
        return [k for k, _ in self.keyed(session_id)]

    def keyed(self, session_id: str) -> list[tuple[int, Message]]:
        out: list[tuple[int, Message]] = []
        for block in self._session_blocks.get(session_id, ()):
            out.extend(
                (r[1], self._message(r, session_id)) for r in self._block_records(block, session_id)
            )
        out.extend(
            (self._plain_key[m.id or ""], m) for m in self._plain.get(session_id, {}).values()
        )
        if not _sorted([m for _, m in out]):
            out.sort(key=lambda km: chrono_key(km[1]))
        return out

    def messages(self, session_id: str) -> list[Message]:
        return [m for _, m in self.keyed(session_id)]

    def newest_first(self, session_id: str) -> Iterator[Message]:
        """Plain messages, then blocks newest first, decompressing only as far as needed."""
        plain = list(self._plain.get(session_id, {}).values())
        if not _sorted(plain) or (
            plain
            and self._session_blocks.get(session_id)
            and not self._blocks_before(session_id, plain[0])
        ):
            yield from reversed(self.messages(session_id))  # order rules: sort everything
            return
        yield from reversed(plain)
        for block in reversed(self._session_blocks.get(session_id, ())):
            for r in reversed(self._block_records(block, session_id)):
                yield self._message(r, session_id)

    def _blocks_before(self, session_id: str, first_plain: Message) -> bool:
        # Blocks are filled in arrival order; a message that arrived with an older timestamp
        # breaks that order, and then everything is sorted instead.
        blocks = self._session_blocks.get(session_id, ())
        if not blocks:
            return True
        records = self._block_records(blocks[-1], session_id)
        return not records or records[-1][6] <= first_plain.timestamp

    def sessions(self) -> list[str]:
        return [sid for sid, n in self._counts.items() if n]

    def count(self, session_id: str | None = None) -> int:
        if session_id is None:
            return sum(self._counts.values())
        return self._counts.get(session_id, 0)

    def version(self, partition: Partition) -> Hashable:
        return self._version

    # ------------------------------------------------------------------ figures
    def usage_bytes(self) -> int:
        """Blocks, dictionary and id map (Rust), plain messages and per-block/per-session
        bookkeeping (the keyword index is the engine's)."""
        return (
            self.blocks.memory_usage_bytes()
            + self.plain_bytes
            + BLOCK_OVERHEAD * len(self.block_session)
            + SESSION_OVERHEAD * len(self._counts)
            + sys.getsizeof(self._plain_key)
            + sys.getsizeof(self._plain_by_key)
        )

    def plain_messages(self, session_id: str) -> list[Message]:
        """A session's plain (newest) messages, in arrival order."""
        return list(self._plain.get(session_id, {}).values())

    def plain_count(self) -> int:
        """Messages kept plain."""
        return len(self._plain_key)

    def stats(self) -> dict[str, Any]:
        raw = self.blocks.raw_bytes()
        packed = self.blocks.compressed_bytes()
        return {
            "codec": self.codec,
            "level": self.level,
            "plain_messages": len(self._plain_key),
            "plain_bytes": self.plain_bytes,
            "block_store_bytes": self.blocks.memory_usage_bytes(),
            "compressed_messages": len(self.blocks),
            "blocks": self.blocks.live_blocks(),
            "compressed_bytes": packed,
            "block_ratio": raw / packed if packed else None,
            "dictionary_bytes": len(self.blocks.dictionary or b""),
            "damaged_blocks": sorted(self.damaged),
        }
