"""`CompressedMemory`: the compressed block store plus the keyword engine, within a size limit."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any, ClassVar

from ..base import MemoryBackend, SessionScope, TokenCounter
from ..engines.engine_set import EngineSet
from ..engines.keyword import KeywordEngine
from ..errors import InvalidArgumentError, InvalidTypeError, MemoryLimitError
from ..message import AllSessions, Message, chrono_key
from ..stores.base import Conflict, WriteResult
from ..stores.compressed import SESSION_OVERHEAD as _SESSION_OVERHEAD
from ..stores.compressed import CompressedStore, plain_cost
from .saving import SaveLoad

__all__ = ["CompressedMemory"]

ALL = AllSessions()

_log = logging.getLogger("ferromem")


class CompressedMemory(SaveLoad, MemoryBackend):
    """Long histories in little memory: the newest ``recent`` messages of each session stay
    plain; older ones go into compressed blocks of ``block_messages`` (see
    :class:`~ferromem.stores.compressed.CompressedStore`). Once ``dictionary_bytes`` of text has
    gone into blocks, a small zstd dictionary is trained from it, kept with the memory, and every
    block is (re)compressed with it; after 8 times that text, a full-size one replaces it.

    Any message comes back by id after decompressing at most one block. ``get_messages``,
    ``search`` (the keyword engine over every message, plain or compressed, grouped by session)
    and ``get_context`` see plain and compressed messages alike. :meth:`memory_usage_bytes`
    counts everything held: blocks, dictionary, id map, keyword index, plain messages and
    bookkeeping.

    **At the limit** (``max_memory_mb``), after every write: first the oldest blocks are
    recompressed at the codec's top level (zstd 19, zlib 9), once each, until usage fits; then the
    oldest blocks (of any session) are evicted, whole, until it fits. Every eviction is logged on
    the ``ferromem`` logger and counted in :meth:`get_stats` (``evicted_blocks``,
    ``evicted_messages``). A write is kept or refused: the blocks a write fills are never evicted
    to make room for it, and when the older blocks cannot make room the write raises
    :class:`MemoryLimitError` and is taken back out (nothing is evicted when that is known in
    advance).

    A damaged block never takes the others down: reading one of its messages by id raises
    :class:`CorruptDataError` naming the block; listings skip it, log it once and list it in
    ``get_stats()["damaged_blocks"]``; searches leave its messages out.
    """

    #: Text gathered from compressed messages before a dictionary is trained.
    dictionary_bytes: ClassVar[int] = 128 * 1024
    #: Size of the first dictionary, trained at ``dictionary_bytes``: a small one, since a
    #: dictionary is held three times (it and zstd's two digested copies).
    first_dictionary_size: ClassVar[int] = 4 * 1024
    #: Size of the dictionary that replaces it once 8 times that text went into blocks.
    dictionary_size: ClassVar[int] = 32 * 1024

    def __init__(
        self,
        max_memory_mb: float = 50.0,
        codec: str = "zstd",
        level: int = 3,
        recent: int = 20,
        *,
        block_messages: int = 32,
        session_id: str | None = None,
        token_counter: TokenCounter | None = None,
    ) -> None:
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
        store = CompressedStore(
            codec,
            level,
            recent,
            block_messages,
            dictionary_bytes=self.dictionary_bytes,
            dictionary_size=self.dictionary_size,
            first_dictionary_size=self.first_dictionary_size,
        )
        # No topics: nothing reads them here (`search_topics` is IndexedMemory's), and their
        # per-message lists cost 4 bytes per tagged message.
        self._keyword = KeywordEngine(
            index_roles=False, b=0.75, neighbour_weights=(0.0, 0.0), topics={}
        )
        engines = EngineSet(store, keyword=self._keyword)
        engines.start_empty()
        super().__init__(
            session_id=session_id, token_counter=token_counter, store=store, engines=engines
        )
        self._blocks_store = store
        self._blocks = store.blocks
        self.max_memory_mb = float(max_memory_mb)
        self.codec = codec
        self.level = level
        self.recent = recent
        self.block_messages = block_messages
        self._recompressed = 0
        self._evicted_blocks = 0
        self._evicted_messages = 0
        self._unmeasured = 0
        self._indexed_since_compact = 0
        self._measured = self.memory_usage_bytes()  # the fixed costs of an empty memory

    saved_settings = ("max_memory_mb", "codec", "level", "recent", "block_messages")

    # ------------------------------------------------------------- save and load
    def _saved_messages(self) -> list[tuple[int, Message]]:
        store = self._blocks_store
        return [(k, m) for sid in store.sessions() for k, m in store.keyed(sid)]

    def _restore_messages(self, pairs: list[tuple[int, Message]]) -> bool:
        # Blocks are made again (their keys are new, so the index is rebuilt with them).
        msgs = sorted((m for _, m in pairs), key=chrono_key)
        for i in range(0, len(msgs), 10_000):
            self.add_messages(msgs[i : i + 10_000], session_id=ALL)
        return False

    # ------------------------------------------------------------- writes within the limit
    def _write(
        self, prepared: list[Message], on_conflict: Conflict = "error", vectors: Any = None
    ) -> WriteResult:
        store = self._blocks_store
        self._check_fits(prepared)
        store.touched = set()
        result = super()._write(prepared, on_conflict, vectors)
        self._compact_index(len(prepared))
        try:
            new_sessions = sum(1 for m in prepared if store.count(m.session_id) == 1)
            grown = sum(plain_cost(m) + 4 * len(m.content) for m in prepared)
            self._enforce_limit(grown + _SESSION_OVERHEAD * new_sessions)
        except BaseException:
            self._delete_keys([k for k in result.keys if k is not None])
            self._measured, self._unmeasured = self.memory_usage_bytes(), 0
            raise
        finally:
            store.touched = set()
        return result

    def _compact_index(self, added: int) -> None:
        """Compacts the keyword index once a sixteenth of it was added since the last time
        (and at least 4,096 messages). The index keeps new documents in an uncompressed tail
        until it holds an eighth of them, several times the bytes once sealed; compacting
        sooner keeps the tail under a sixteenth, for a copy of the index per 6% of growth."""
        self._indexed_since_compact += added
        index = self._keyword
        if self._indexed_since_compact < 4096 or self._indexed_since_compact * 16 < len(index):
            return
        index.compact()
        self._indexed_since_compact = 0

    def _limit_bytes(self) -> int:
        return int(self.max_memory_mb * 1024 * 1024)

    def _check_fits(self, messages: list[Message]) -> None:
        """Refuses a write whose messages that would stay plain cannot fit by themselves."""
        store = self._blocks_store
        limit = self._limit_bytes()
        plain_after = store.plain_bytes + sum(plain_cost(m) for m in messages)
        if plain_after <= limit:
            return
        by_session: dict[str, list[Message]] = {}
        for m in messages:
            by_session.setdefault(m.session_id, []).append(m)
        plain_after = store.plain_bytes
        for sid, new in by_session.items():
            seq = [*store.plain_messages(sid), *new]
            keep = min(len(seq), self.recent)
            plain_after += sum(plain_cost(m) for m in seq[len(seq) - keep :])
            plain_after -= sum(plain_cost(m) for m in seq[: len(seq) - len(new)])
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
        if self._remeasure() <= limit:
            return
        self._recompressed += self._blocks_store.recompress_oldest(
            lambda: self._remeasure() > limit
        )
        if self._measured <= limit:
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
        store = self._blocks_store
        evictable = store.evictable()
        # Estimated usage with every evictable block gone (its frame, bookkeeping and its
        # messages' share of the keyword index): refuse before evicting anything for nothing.
        per_doc = self._keyword.memory_bytes() / max(1, store.count())
        docs = sum(store.block_messages_held(b) for b in evictable)
        frames = sum(store.block_bytes(b) for b in evictable)
        floor = self._measured - frames - docs * per_doc
        if floor > limit:
            raise MemoryLimitError(
                f"CompressedMemory needs {floor / 2**20:.3f} MB even after evicting every older "
                f"block, over max_memory_mb={self.max_memory_mb}; nothing of this write was "
                "stored"
            )
        # The keyword index gives memory back only when rebuilt, so evict until the estimate
        # (with the evicted messages' share of the index gone) fits, rebuild, and check again.
        while evictable:
            dead = 0
            while evictable:
                result = store.evict(evictable.pop(0))
                self._engines.on_write(result, [], None)
                self._evicted_blocks += 1
                self._evicted_messages += len(result.removed)
                dead += len(result.removed)
                if self._remeasure() - dead * per_doc <= limit:
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

    def _rebuild_index(self) -> None:
        """A fresh keyword index of the live messages: removal leaves terms and capacity
        behind (compaction frees postings, not the vocabulary), so re-indexing what is left is
        what actually gives the memory back."""
        self._engines.reset()
        self._engines.sync(None)

    def _remeasure(self) -> int:
        self._measured = self.memory_usage_bytes()
        return self._measured

    # ------------------------------------------------------------- reading
    def get_message(self, id: str, *, session_id: SessionScope = None) -> Message | None:
        """The message with this id in the session in scope, decompressing at most one block;
        None if absent. Raises :class:`CorruptDataError` naming the block if the message's
        block is damaged."""
        if not isinstance(id, str):
            raise InvalidTypeError(f"id must be str, not {type(id).__name__}")
        with self._lock:
            self._check_open()
            m = self._blocks_store.get_strict_id(id)
            if m is None:
                return None
            if isinstance(session_id, AllSessions) or m.session_id in self._scope(session_id):
                return m
            return None

    def _recent_iter(self, sessions: list[str]) -> Iterable[Message]:
        if len(sessions) != 1:
            return super()._recent_iter(sessions)
        return self._blocks_store.newest_first(sessions[0])

    # ------------------------------------------------------------- figures
    def memory_usage_bytes(self) -> int:
        """Bytes held: blocks, dictionary and id map (Rust), the keyword index, plain messages,
        dictionary training samples and per-block/per-session bookkeeping."""
        return self._blocks_store.usage_bytes() + self._keyword.memory_bytes()

    def _memory_usage_bytes(self) -> int:
        return self.memory_usage_bytes()

    def _extra_stats(self) -> dict[str, Any]:
        return {
            "max_memory_mb": self.max_memory_mb,
            "recompressed_blocks": self._recompressed,
            "evicted_blocks": self._evicted_blocks,
            "evicted_messages": self._evicted_messages,
        }

    def __repr__(self) -> str:
        return (
            f"CompressedMemory(max_memory_mb={self.max_memory_mb}, codec={self.codec!r}, "
            f"level={self.level}, recent={self.recent})"
        )
