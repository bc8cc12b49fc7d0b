"""`SQLiteMemory`: messages in a SQLite file, durable, shared by the processes of one host, with
keyword and (given an embedder) vector search whose indexes survive restarts."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from .._atomic import check_path
from ..base import MemoryBackend, TokenCounter
from ..checks import check_positive_int
from ..embedders import Embedder
from ..engines.snapshots import SnapshotDir
from ..errors import FerromemError, InvalidArgumentError, InvalidTypeError
from ..stores.sqlite import SQLiteStore
from .durable import durable_engines

__all__ = ["SQLiteMemory"]

_log = logging.getLogger("ferromem")


def _check_days(value: object, name: str) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0 < value < float("inf")
    ):
        raise InvalidArgumentError(f"{name} must be a positive number, got {value!r}")
    return float(value)


class SQLiteMemory(MemoryBackend):
    """Messages in a SQLite database file (WAL mode), durable across restarts and shared by the
    processes of one host. Every batch is one transaction.

    - ``embedder``: search by meaning, as :class:`~ferromem.VectorMemory` does (``hybrid=True``
      fuses it with keyword search). Each message's vector is stored in its row (float16), and
      the embedder's name and dimension with the database: opening it with another embedder is
      an error unless ``reembed=True``, which embeds every message again. Hits below
      ``similarity_threshold`` are dropped (``float("-inf")`` keeps every hit, as a LangChain
      vector store expects).
    - Indexes survive restarts: the keyword and vector indexes are saved beside the database
      (``<db_path>.ferromem/``) on :meth:`close` (and :meth:`save_indexes`), stamped with the
      version of the database they have seen; on open they are loaded and caught up with every
      change since, by this process or any other, and rebuilt from the rows only when missing or
      damaged (logged). ``persist_indexes=False`` keeps them in process only.
    - ``max_messages`` (alias ``max_messages_per_session``): per session; past
      ``cleanup_threshold`` (default: ``max_messages``) the oldest are removed down to
      ``max_messages``.
    - ``max_age_days``: older messages are neither listed nor found (enforced on every read) and
      are removed when their session is written to, or by :meth:`cleanup_old_messages`.
      ``auto_cleanup`` and ``cleanup_interval`` (the Niflheim-X seed's options) are accepted and
      need nothing: enforcement on read already hides expired messages.
    - ``compression=True``: longer texts are stored zlib-compressed.
    - ``encryption_key``: texts, metadata and vectors are encrypted with AES-256-GCM (needs the
      ``cryptography`` package), and every other column (session, role, timestamp, importance)
      is authenticated with them, so a row cannot be moved or changed without the key. Visible
      without the key: session ids (unless ``hash_session_ids=True``, which stores them as keyed
      hashes), roles, timestamps, importance scores, sizes and counts. Index snapshots are not
      written for an encrypted database (they would hold its words); its indexes are rebuilt
      on open.

    The file is marked with an application id and a schema version; every row carries a CRC-32
    over all its columns, checked on read: a damaged row raises
    :class:`~ferromem.CorruptDataError` naming the file and the message.
    """

    def __init__(
        self,
        db_path: str | os.PathLike[str],
        session_id: str | None = None,
        max_messages: int | None = None,
        encryption_key: str | bytes | None = None,
        compression: bool = False,
        max_age_days: float | None = None,
        *,
        embedder: Embedder | None = None,
        hybrid: bool = False,
        reembed: bool = False,
        similarity_threshold: float = 0.0,
        hash_session_ids: bool = False,
        max_messages_per_session: int | None = None,
        cleanup_threshold: int | None = None,
        auto_cleanup: bool = False,
        cleanup_interval: float | None = None,
        persist_indexes: bool = True,
        token_counter: TokenCounter | None = None,
    ) -> None:
        check_path(db_path, "db_path")
        if max_messages is not None and max_messages_per_session is not None:
            raise InvalidArgumentError("pass max_messages or max_messages_per_session, not both")
        cap = max_messages if max_messages is not None else max_messages_per_session
        self.max_messages = None if cap is None else check_positive_int(cap, "max_messages")
        self.cleanup_threshold = (
            None
            if cleanup_threshold is None
            else check_positive_int(cleanup_threshold, "cleanup_threshold")
        )
        if self.cleanup_threshold is not None and (
            self.max_messages is None or self.cleanup_threshold < self.max_messages
        ):
            raise InvalidArgumentError("cleanup_threshold needs max_messages and must be >= it")
        self.max_age_days = _check_days(max_age_days, "max_age_days")
        _check_days(cleanup_interval, "cleanup_interval")
        if encryption_key is not None and (
            not isinstance(encryption_key, (str, bytes)) or not encryption_key
        ):
            raise InvalidArgumentError("encryption_key must be a non-empty str or bytes")
        for name, flag in (
            ("compression", compression),
            ("hash_session_ids", hash_session_ids),
            ("auto_cleanup", auto_cleanup),
            ("persist_indexes", persist_indexes),
        ):
            if not isinstance(flag, bool):
                raise InvalidTypeError(f"{name} must be a bool, not {type(flag).__name__}")
        if hash_session_ids and encryption_key is None:
            raise InvalidArgumentError("hash_session_ids needs an encryption_key")
        self.db_path = os.fspath(db_path)
        store = SQLiteStore(
            self.db_path,
            encryption_key=encryption_key,
            compression=compression,
            hash_session_ids=hash_session_ids,
        )
        try:
            engines = durable_engines(
                store,
                embedder=embedder,
                hybrid=hybrid,
                reembed=reembed,
                similarity_threshold=similarity_threshold,
            )
            super().__init__(
                session_id=session_id, token_counter=token_counter, store=store, engines=engines
            )
        except BaseException:
            store.close()
            raise
        self._sqlite = store
        self._evicted = 0
        self._snapshots: SnapshotDir | None = None
        if persist_indexes and self.db_path != ":memory:" and not store.codec.encrypted:
            self._snapshots = SnapshotDir(Path(self.db_path + ".ferromem"), store.store_id.hex())
            self._snapshots.load(self._engines)

    # ----------------------------------------------------------------- limits
    def _after_store(self, session_id: str) -> None:
        store = self._sqlite
        cutoff = self._cutoff()
        if cutoff is not None:
            self._evicted += self._delete_keys(store.keys_older_than(session_id, cutoff))
        if self.max_messages is not None:
            count = store.count(session_id)
            threshold = self.cleanup_threshold or self.max_messages
            if count > threshold:
                doomed = store.oldest_keys(session_id, count - self.max_messages)
                self._evicted += self._delete_keys(doomed)

    # ----------------------------------------------------------------- indexes
    def save_indexes(self) -> bool:
        """Saves the keyword and vector indexes beside the database now (``close`` does too);
        returns whether a snapshot was written."""
        with self._lock:
            self._check_open()
            if self._snapshots is None:
                return False
            self._engines.sync(None)
            return self._snapshots.save(self._engines)

    def reembed(self) -> int:
        """Embeds every message again with this memory's embedder (after changing models) and
        records it; returns how many messages were embedded."""
        with self._lock:
            self._check_open()
            if self._engines.vector is None:
                raise InvalidArgumentError("reembed needs an embedder")
            return self._engines.reembed()

    def _extra_stats(self) -> dict[str, Any]:
        return {"evicted_messages": self._evicted, "index_rebuilds": self._engines.rebuilds}

    def close(self) -> None:
        """Saves the index snapshots (when the indexes are in step) and closes the database."""
        with self._lock:
            if not self._closed and self._snapshots is not None:
                try:
                    self._snapshots.save(self._engines)
                except (FerromemError, OSError) as e:
                    _log.warning("ferromem: could not save index snapshots: %s", e)
            super().close()
