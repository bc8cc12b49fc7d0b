"""`Store`: the truth every memory keeps its messages in, and what engines are derived from.

A store holds messages (and the vectors an embedder made for them) under integer **keys** it
assigns and never reuses. Engines (the keyword index, the vector index) refer to messages by key
only; a search's keys are resolved through the store. Each store also reports a **version** per
**partition** (the whole store, or one session where sessions change independently, as in
Redis) and the changes since an earlier version, so that engines built from it (in this process
or loaded from a snapshot) catch up with writes made elsewhere instead of being rebuilt.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt

from ..message import Message, chrono_key

__all__ = ["Changes", "Conflict", "Partition", "Store", "Vectors", "WriteResult"]

#: A partition of the change feed: None for the whole store, or a session id.
Partition = str | None
#: What ``add_messages(on_conflict=...)`` does with an id that is already stored.
Conflict = Literal["error", "replace", "skip"]
Vectors = npt.NDArray[np.float32]


@dataclass
class WriteResult:
    """What one write did: the keys of the stored messages (None where a message was skipped),
    the keys it removed (replaced messages), and per partition the version just before and just
    after the write (both read inside the write's transaction, so nothing else happened between
    them: an engine that had seen ``before`` can apply the write and then stand at ``after``)."""

    keys: list[int | None]
    removed: list[int] = field(default_factory=list)
    versions: dict[Partition, tuple[Hashable, Hashable]] = field(default_factory=dict)


@dataclass
class Changes:
    """The changes of one partition since a version: keys added (some may be gone again) and
    keys removed, and the version they lead to."""

    added: list[int]
    removed: list[int]
    version: Hashable


@dataclass
class Loaded:
    """Every message of a partition with its key (and vector, when the store keeps them)."""

    keys: list[int]
    messages: list[Message]
    vectors: Vectors | None
    version: Hashable


class Store(ABC):
    """Where messages live. Every write is one transaction: all of it happens, or none.

    Implementations: :class:`~ferromem.stores.memory.MemoryStore` (in process),
    :class:`~ferromem.stores.sqlite.SQLiteStore`, the JSON file store, the Redis store, the
    compressed block store, and :class:`~ferromem.stores.primitive.PrimitiveStore`, which serves a
    user's backend written with the four storage primitives.
    """

    #: True when other processes may write the store too: engines then check the version before
    #: every read. An in-process store sees every write itself.
    shared: ClassVar[bool] = False
    #: True when the store keeps each message's vector (so engines never re-embed).
    keeps_vectors: ClassVar[bool] = False
    #: True when the store survives the process (its engines are worth persisting).
    durable: ClassVar[bool] = False
    #: True when the store is a server: nothing is asked of it before the first call.
    remote: ClassVar[bool] = False

    # ------------------------------------------------------------------ writes
    @abstractmethod
    def put(
        self,
        messages: Sequence[Message],
        vectors: Vectors | None = None,
        *,
        on_conflict: Conflict = "error",
    ) -> WriteResult:
        """Stores validated messages (ids set) in one transaction.

        An id that is already stored raises ``InvalidArgumentError`` naming it and stores
        nothing (``"error"``), replaces the stored message (``"replace"``: its key is removed and
        the new message gets a new key, in the same transaction), or leaves the stored one and
        skips the new one (``"skip"``). ``vectors`` (one row per message) are kept beside the
        messages by stores that keep vectors."""

    @abstractmethod
    def remove(self, keys: Sequence[int]) -> WriteResult:
        """Removes the given keys (absent ones are ignored) in one transaction; ``removed``
        lists the keys that were there."""

    def remove_session(self, session_id: str) -> WriteResult:
        """Removes every message of a session (stores override this with something cheaper)."""
        return self.remove(self.session_keys(session_id))

    # ------------------------------------------------------------------ reads
    @abstractmethod
    def get(self, keys: Sequence[int]) -> list[Message | None]:
        """The messages under these keys (None for a key that is gone)."""

    @abstractmethod
    def keys_of(
        self, ids: Sequence[str], sessions: Sequence[str] | None = None
    ) -> list[int | None]:
        """The key of each message id (None for an id that is not stored). ``sessions`` is a
        hint: the ids are looked for only there (a store whose ids are indexed per session,
        such as Redis, needs it to avoid asking every session; others may ignore it)."""

    @abstractmethod
    def session_keys(self, session_id: str) -> list[int]:
        """The keys of a session's messages, in chronological order."""

    @abstractmethod
    def sessions(self) -> list[str]:
        """The sessions holding at least one message."""

    @abstractmethod
    def count(self, session_id: str | None = None) -> int:
        """Messages in a session (or in the whole store)."""

    def messages(self, session_id: str) -> list[Message]:
        """A session's messages in chronological order, in a new list the caller may keep."""
        return [m for m in self.get(self.session_keys(session_id)) if m is not None]

    def messages_between(
        self,
        session_id: str,
        *,
        after: float | None = None,
        before: float | None = None,
    ) -> list[Message]:
        """A session's messages with ``after < timestamp < before``, chronological (stores
        with an index on time override this)."""
        msgs = self.messages(session_id)
        if after is not None:
            msgs = [m for m in msgs if m.timestamp > after]
        if before is not None:
            msgs = [m for m in msgs if m.timestamp < before]
        return msgs

    def vectors(self, keys: Sequence[int]) -> Vectors | None:
        """The stored vectors of these keys (a row of NaN for a key stored without one), or
        None when the store keeps no vectors."""
        return None

    def write_vectors(self, keys: Sequence[int], vectors: Vectors) -> None:
        """Stores (or replaces) the vectors of messages already stored (re-embedding)."""
        raise NotImplementedError(f"{type(self).__name__} keeps no vectors")

    def describe(self) -> str:
        """Where the store is, for messages (a path, a server)."""
        return type(self).__name__

    # ------------------------------------------------------------------ the change feed
    def partitions(self, sessions: Sequence[str] | None) -> list[Partition]:
        """The partitions that hold these sessions (None: every session)."""
        return [None]

    @abstractmethod
    def version(self, partition: Partition) -> Hashable:
        """A value that changes with every write to the partition and never repeats."""

    def changes(self, partition: Partition, since: Hashable) -> Changes | None:
        """The changes since ``since``, or None when the store cannot tell (the partition's
        engines are then rebuilt from :meth:`load`)."""
        return None

    def load(self, partition: Partition) -> Loaded:
        """Every message of a partition, with keys and vectors, for (re)building engines."""
        version = self.version(partition)
        sessions = self.sessions() if partition is None else [partition]
        keys = [k for sid in sessions for k in self.session_keys(sid)]
        keys.sort()
        found = self.get(keys)
        pairs = [(k, m) for k, m in zip(keys, found, strict=True) if m is not None]
        kept = [k for k, _ in pairs]
        return Loaded(kept, [m for _, m in pairs], self.vectors(kept), version)

    # ------------------------------------------------------------------ settings and sessions
    def read_setting(self, name: str) -> str | None:
        """A setting recorded with the store (such as the embedder that made its vectors)."""
        return getattr(self, "_settings", {}).get(name)

    def write_setting(self, name: str, value: str) -> None:
        """Records a setting with the store."""
        if not hasattr(self, "_settings"):
            self._settings: dict[str, str] = {}
        self._settings[name] = value

    def session_info(self, session_id: str) -> dict[str, Any] | None:
        """What :meth:`~ferromem.MemoryBackend.start_session` recorded for a session."""
        return getattr(self, "_session_info", {}).get(session_id)

    def write_session_info(self, session_id: str, info: dict[str, Any] | None) -> None:
        """Records (or, with None, forgets) a session's info."""
        if not hasattr(self, "_session_info"):
            self._session_info: dict[str, dict[str, Any]] = {}
        if info is None:
            self._session_info.pop(session_id, None)
        else:
            self._session_info[session_id] = dict(info)

    def known_sessions(self) -> list[str]:
        """Sessions with messages or with recorded info (a started session may be empty)."""
        extra = getattr(self, "_session_info", {})
        return list(dict.fromkeys([*self.sessions(), *extra]))

    # ------------------------------------------------------------------ attachment bytes
    #: True when the store keeps attachment bytes (see :class:`~ferromem.MultiModalMemory`).
    keeps_blobs: ClassVar[bool] = False

    def put_blob(self, digest: str, data: bytes) -> bool:
        """Stores attachment bytes under their SHA-256 (hex), once: False when that digest was
        already stored (content addressing deduplicates)."""
        raise NotImplementedError(f"{type(self).__name__} keeps no attachment bytes")

    def get_blob(self, digest: str) -> bytes | None:
        """The attachment bytes stored under a digest, or None."""
        raise NotImplementedError(f"{type(self).__name__} keeps no attachment bytes")

    def blob_digests(self) -> list[str]:
        """The digests of every stored attachment."""
        raise NotImplementedError(f"{type(self).__name__} keeps no attachment bytes")

    def remove_blobs(self, digests: Sequence[str]) -> int:
        """Removes attachment bytes by digest; returns how many were there."""
        raise NotImplementedError(f"{type(self).__name__} keeps no attachment bytes")

    # ------------------------------------------------------------------ upkeep
    def usage_bytes(self) -> int:
        """Bytes the store holds (an estimate unless the store knows better)."""
        total = 0
        for sid in self.sessions():
            for m in self.messages(sid):
                total += 200 + len(m.content.encode()) + len(m.role) + len(str(m.metadata))
        return total

    def stats(self) -> dict[str, Any]:
        """Store-specific figures for ``get_stats()``."""
        return {}

    def close(self) -> None:  # noqa: B027 - nothing to release by default
        """Releases files and connections."""


def chronological(messages: Iterable[Message]) -> list[Message]:
    """Messages sorted the way every memory lists them."""
    return sorted(messages, key=chrono_key)
