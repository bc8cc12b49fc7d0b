"""`SQLiteMemory`: messages in a SQLite file, durable, shared by the processes of one host."""

from __future__ import annotations

import json
import os
import sqlite3
import time
import zlib
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .._atomic import check_path
from ..base import MemoryBackend, TokenCounter
from ..errors import (
    CorruptFileError,
    InvalidArgumentError,
    InvalidTypeError,
    StorageError,
)
from ..message import DEFAULT_SESSION, Message
from .dict_memory import check_positive_int
from .sqlite_codec import Codec

__all__ = ["SQLiteMemory"]

APPLICATION_ID = 0x46524D4D  # "FRMM": marks the file as a ferromem database
SCHEMA_VERSION = 1
KEY_CHECK = b"ferromem-key-check"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ferromem_meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS ferromem_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL,
    role TEXT NOT NULL,
    body BLOB NOT NULL,
    flags INTEGER NOT NULL,
    timestamp REAL NOT NULL,
    importance REAL,
    metadata BLOB NOT NULL,
    crc32 INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ferromem_by_session
    ON ferromem_messages (session_id, timestamp, seq);
"""
_COLUMNS = "id, session_id, role, body, flags, timestamp, importance, metadata, crc32"


def _crc(role: str, body: bytes, metadata: bytes, flags: int) -> int:
    return zlib.crc32(metadata, zlib.crc32(body, zlib.crc32(f"{role}\0{flags}\0".encode())))


class SQLiteMemory(MemoryBackend):
    """Messages in a SQLite database file (WAL mode), durable across restarts and shared by the
    processes of one host. Every batch is one transaction.

    - ``max_messages``: per session; the oldest drop out past it.
    - ``max_age_days``: messages of a session older than this are removed when it is written to.
    - ``compression=True``: longer texts are stored zlib-compressed.
    - ``encryption_key``: texts and metadata are encrypted with AES-256-GCM (needs the
      ``cryptography`` package); roles, sessions and timestamps stay readable so that queries
      work. A database is encrypted or not from its creation on; a wrong key is refused.

    The file is marked with an application id and a schema version; each row carries a CRC-32,
    checked on read. A file that is not a ferromem database raises :class:`CorruptFileError`.
    """

    def __init__(
        self,
        db_path: str | os.PathLike[str],
        session_id: str = DEFAULT_SESSION,
        max_messages: int | None = None,
        encryption_key: str | bytes | None = None,
        compression: bool = False,
        max_age_days: float | None = None,
        *,
        token_counter: TokenCounter | None = None,
    ) -> None:
        super().__init__(session_id=session_id, token_counter=token_counter)
        check_path(db_path, "db_path")
        self.max_messages = (
            None if max_messages is None else check_positive_int(max_messages, "max_messages")
        )
        if max_age_days is not None and (
            isinstance(max_age_days, bool)
            or not isinstance(max_age_days, (int, float))
            or not 0 < max_age_days < float("inf")
        ):
            raise InvalidArgumentError(
                f"max_age_days must be a positive number, got {max_age_days!r}"
            )
        if encryption_key is not None and (
            not isinstance(encryption_key, (str, bytes)) or not encryption_key
        ):
            raise InvalidArgumentError("encryption_key must be a non-empty str or bytes")
        if not isinstance(compression, bool):
            raise InvalidTypeError(f"compression must be a bool, not {type(compression).__name__}")
        self.max_age_days = max_age_days
        self.db_path = str(db_path)
        if self.db_path != ":memory:":
            Path(self.db_path).parent.mkdir(parents=True, exist_ok=True)
        self._evicted = 0
        try:
            self._db = sqlite3.connect(self.db_path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as e:
            raise StorageError(f"{self.db_path}: cannot open: {e}") from e
        try:
            key = self._open_schema(encryption_key)
            self._codec = Codec(compression=compression, key=key)
            self._check_key(key)
        except BaseException:
            self._db.close()
            raise

    # ----------------------------------------------------------------- opening
    def _open_schema(self, secret: str | bytes | None) -> bytes | None:
        """Creates or checks the schema; returns the derived encryption key, if any."""
        try:
            app_id = self._db.execute("PRAGMA application_id").fetchone()[0]
            tables = self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as e:
            raise CorruptFileError(f"{self.db_path}: not a SQLite database: {e}") from e
        if app_id not in (0, APPLICATION_ID):
            raise CorruptFileError(f"{self.db_path}: another application's database")
        with self._write():
            if tables == 0:
                # A new file: mark it as ours so that other tools can recognise it.
                self._db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif app_id == APPLICATION_ID and version != SCHEMA_VERSION:
                raise CorruptFileError(f"{self.db_path}: unsupported schema version {version}")
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    self._db.execute(stmt)
            meta = dict(self._db.execute("SELECT key, value FROM ferromem_meta").fetchall())
            if "encrypted" not in meta:
                meta["encrypted"] = b"1" if secret is not None else b"0"
                if secret is not None:
                    meta["salt"] = os.urandom(16)
                self._db.executemany("INSERT INTO ferromem_meta VALUES (?, ?)", meta.items())
        if self.db_path != ":memory:":
            self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute("PRAGMA busy_timeout = 5000")
        if meta["encrypted"] == b"1":
            if secret is None:
                raise InvalidArgumentError(f"{self.db_path} is encrypted: pass its encryption_key")
            return Codec.derive_key(secret, bytes(meta["salt"]))
        if secret is not None:
            raise InvalidArgumentError(
                f"{self.db_path} was created without encryption; encryption_key cannot be used"
            )
        return None

    def _check_key(self, key: bytes | None) -> None:
        if key is None:
            return
        row = self._db.execute("SELECT value FROM ferromem_meta WHERE key = 'key_check'").fetchone()
        if row is None:
            body, flags = self._codec.encode(KEY_CHECK.decode(), b"key_check")
            with self._write():
                self._db.execute(
                    "INSERT INTO ferromem_meta VALUES ('key_check', ?)", (bytes([flags]) + body,)
                )
            return
        stored = bytes(row[0])
        try:
            self._codec.decode(stored[1:], stored[0], b"key_check")
        except (ValueError, UnicodeDecodeError) as e:
            raise InvalidArgumentError(
                f"encryption_key does not match the key of {self.db_path}"
            ) from e

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One write transaction; rolled back on any error."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as e:
            raise StorageError(f"{self.db_path}: cannot write: {e}") from e
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        try:
            self._db.execute("COMMIT")
        except sqlite3.DatabaseError as e:
            raise StorageError(f"{self.db_path}: commit failed: {e}") from e

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as e:
            raise CorruptFileError(f"{self.db_path}: read failed: {e}") from e

    # ----------------------------------------------------------------- rows <-> messages
    def _encode(self, m: Message) -> tuple[Any, ...]:
        assert m.id is not None
        try:
            meta_json = json.dumps(m.metadata, sort_keys=True, ensure_ascii=False)
        except (TypeError, ValueError) as e:
            raise InvalidArgumentError(f"metadata must be JSON-serialisable: {e}") from e
        assoc = m.id.encode()
        body, flags = self._codec.encode(m.content, assoc)
        meta, _ = self._codec.encode(meta_json, assoc + b"/meta")
        return (
            m.id,
            m.session_id,
            m.role,
            body,
            flags,
            m.timestamp,
            m.importance,
            meta,
            _crc(m.role, body, meta, flags),
        )

    def _decode(self, row: Sequence[Any]) -> Message:
        mid, sid, role, body, flags, ts, importance, meta, crc = row
        body, meta = bytes(body), bytes(meta)
        if _crc(role, body, meta, flags) != crc:
            raise CorruptFileError(f"{self.db_path}: message {mid!r} fails its checksum")
        assoc = mid.encode()
        content = self._codec.decode(body, flags, assoc)
        metadata = json.loads(self._codec.decode(meta, flags & ~1, assoc + b"/meta"))
        return Message(
            role,
            content,
            session_id=sid,
            metadata=metadata,
            timestamp=ts,
            importance=importance,
            id=mid,
        )

    # ----------------------------------------------------------------- storage primitives
    def _store(self, messages: Sequence[Message]) -> None:
        rows = [self._encode(m) for m in messages]
        with self._write():
            try:
                self._db.executemany(
                    f"INSERT INTO ferromem_messages ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", rows
                )
            except sqlite3.IntegrityError as e:
                raise InvalidArgumentError(f"a message id is already stored: {e}") from e

    def _load(self, session_id: str) -> list[Message]:
        rows = self._rows(
            f"SELECT {_COLUMNS} FROM ferromem_messages WHERE session_id = ? "
            "ORDER BY timestamp, seq",
            (session_id,),
        )
        return [self._decode(r) for r in rows]

    def _session_ids(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT DISTINCT session_id FROM ferromem_messages")]

    def _remove(self, session_id: str, ids: Collection[str]) -> int:
        ids = list(ids)
        removed = 0
        with self._write():
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                marks = ",".join("?" * len(chunk))
                cur = self._db.execute(
                    f"DELETE FROM ferromem_messages WHERE session_id = ? AND id IN ({marks})",
                    (session_id, *chunk),
                )
                removed += cur.rowcount
        return removed

    def _clear(self, session_id: str) -> None:
        with self._write():
            self._db.execute("DELETE FROM ferromem_messages WHERE session_id = ?", (session_id,))

    def _get(self, message_id: str) -> Message | None:
        rows = self._rows(f"SELECT {_COLUMNS} FROM ferromem_messages WHERE id = ?", (message_id,))
        return self._decode(rows[0]) if rows else None

    def _count(self, session_id: str) -> int:
        return int(
            self._rows(
                "SELECT count(*) FROM ferromem_messages WHERE session_id = ?", (session_id,)
            )[0][0]
        )

    def _session_version(self, session_id: str) -> tuple[int, int]:
        # Ids only grow and rows are never updated, so (count, newest seq) moves on every insert
        # or delete, by this process or another one: the cached search index stays in step.
        count, newest = self._rows(
            "SELECT count(*), coalesce(max(seq), 0) FROM ferromem_messages WHERE session_id = ?",
            (session_id,),
        )[0]
        return int(count), int(newest)

    def _after_store(self, session_id: str) -> None:
        with self._write():
            if self.max_age_days is not None:
                cutoff = time.time() - self.max_age_days * 86400.0
                cur = self._db.execute(
                    "DELETE FROM ferromem_messages WHERE session_id = ? AND timestamp < ?",
                    (session_id, cutoff),
                )
                self._evicted += cur.rowcount
            if self.max_messages is not None:
                cur = self._db.execute(
                    "DELETE FROM ferromem_messages WHERE seq IN (SELECT seq FROM ferromem_messages"
                    " WHERE session_id = ? ORDER BY timestamp, seq LIMIT max(0, "
                    "(SELECT count(*) FROM ferromem_messages WHERE session_id = ?) - ?))",
                    (session_id, session_id, self.max_messages),
                )
                self._evicted += cur.rowcount

    def _memory_usage_bytes(self) -> int:
        pages = self._rows("PRAGMA page_count")[0][0]
        size = self._rows("PRAGMA page_size")[0][0]
        return int(pages * size)

    def _extra_stats(self) -> dict[str, Any]:
        return {
            "db_path": self.db_path,
            "evicted_messages": self._evicted,
            "encrypted": self._codec._aead is not None,
            "compression": self._codec.compression,
        }

    def close(self) -> None:
        """Closes the database connection."""
        with self._lock:
            if not self._closed:
                self._db.close()
            super().close()
