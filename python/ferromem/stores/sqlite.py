"""`SQLiteStore`: messages (and vectors) in a SQLite file, shared by the processes of one host.

Layout (schema version 2): ``ferromem_messages`` holds one row per message under an integer key
that only grows (AUTOINCREMENT), with its vector in a BLOB column (float16, or sealed in an
encrypted database); ``ferromem_removed`` logs removed keys, so that engines (in this process, in
another one, or loaded from a snapshot) catch up with every change since the version they saw;
``ferromem_sessions`` keeps each session's message count (kept in the same transactions, so
that a damaged index, which would silently list fewer rows, is detected) and info;
``ferromem_meta`` the store's identity, settings and key check. Every batch is one
``BEGIN IMMEDIATE`` transaction; the file is in WAL mode.
"""

from __future__ import annotations

import json
import os
import sqlite3
import struct
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from .. import _core
from ..errors import CorruptDataError, CorruptFileError, InvalidArgumentError, StorageError
from ..message import Message
from .base import Changes, Conflict, Loaded, Partition, Store, Vectors, WriteResult
from .objects import find_conflicts
from .sqlite_codec import Codec, row_ad

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "SQLiteStore"]

# A damaged schema can put bytes that are not UTF-8 into SQLite's error message, which the
# sqlite3 module then fails to decode: that is damage too.
_DB_ERRORS = (sqlite3.DatabaseError, UnicodeDecodeError)

APPLICATION_ID = 0x46524D4D  # "FRMM": marks the file as a ferromem database
SCHEMA_VERSION = 2
KEY_CHECK = b"ferromem-key-check"
# Removed keys kept in the log before the oldest half is dropped (engines older than what is
# left are rebuilt from the store).
LOG_LIMIT = 200_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ferromem_meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS ferromem_messages (
    key INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL,
    role TEXT NOT NULL,
    body BLOB NOT NULL,
    flags INTEGER NOT NULL,
    timestamp REAL NOT NULL,
    importance REAL,
    metadata BLOB NOT NULL,
    vector BLOB,
    crc32 INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ferromem_by_session ON ferromem_messages (session_id, timestamp, id);
CREATE TABLE IF NOT EXISTS ferromem_removed (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ferromem_sessions (
    session_id TEXT PRIMARY KEY,
    name BLOB,
    info BLOB,
    count INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS ferromem_blobs (
    digest TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    data BLOB NOT NULL
);
"""
_COLS = "key, id, session_id, role, body, flags, timestamp, importance, metadata, vector, crc32"
_CHUNK = 500


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


class SQLiteStore(Store):
    """A SQLite file as the store (see the module docs)."""

    shared = True
    keeps_vectors = True
    durable = True

    def __init__(
        self,
        path: str,
        *,
        encryption_key: str | bytes | None = None,
        compression: bool = False,
        hash_session_ids: bool = False,
    ) -> None:
        self.path = path
        if path != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StorageError(f"{path}: cannot create its directory: {e}") from e
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as e:
            raise StorageError(f"{path}: cannot open: {e}") from e
        try:
            self._db.execute("PRAGMA busy_timeout = 10000")
            meta = self._open_schema(encryption_key, hash_session_ids)
            key = None
            if meta["encrypted"] == b"1":
                if encryption_key is None:
                    raise InvalidArgumentError(f"{path} is encrypted: pass its encryption_key")
                key = Codec.derive_key(encryption_key, bytes(meta["salt"]))
            elif encryption_key is not None:
                raise InvalidArgumentError(
                    f"{path} was created without encryption; encryption_key cannot be used"
                )
            self.codec = Codec(compression=compression, key=key)
            self.store_id = bytes(meta["store_id"])
            self.hashed_sessions = meta.get("hashed_sessions") == b"1"
            if key is not None:
                self._check_key(meta)
            if path != ":memory:":
                self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            self._db.close()
            raise
        self._names: dict[str, str] = {}  # stored (hashed) session id -> real one
        self._data_version = -1
        self._version: tuple[int, int] = (0, 0)

    # ------------------------------------------------------------------ opening
    def _open_schema(self, secret: str | bytes | None, hash_session_ids: bool) -> dict[str, bytes]:
        """Creates or checks the schema and the store's meta rows, in one transaction (two
        processes creating one database at once both end up with the same meta)."""
        try:
            app_id = self._db.execute("PRAGMA application_id").fetchone()[0]
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            tables = self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except _DB_ERRORS as e:
            raise CorruptFileError(f"{self.path}: not a SQLite database: {e}") from e
        if app_id not in (0, APPLICATION_ID) or (app_id == 0 and tables):
            raise CorruptFileError(f"{self.path}: another application's database")
        if app_id == APPLICATION_ID and version != SCHEMA_VERSION:
            raise CorruptFileError(
                f"{self.path}: schema version {version}, this ferromem reads {SCHEMA_VERSION}"
            )
        with self._write():
            if self._db.execute("PRAGMA application_id").fetchone()[0] == 0:
                self._db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    self._db.execute(stmt)
            rows = self._db.execute("SELECT key, value FROM ferromem_meta").fetchall()
            if any(not isinstance(k, str) or not isinstance(v, bytes) for k, v in rows):
                raise CorruptFileError(f"{self.path}: its meta rows are damaged")
            meta = dict(rows)
            if "store_id" in meta:
                self._check_session_counts()
            if "store_id" not in meta:
                meta = {
                    "store_id": os.urandom(16),
                    "encrypted": b"1" if secret is not None else b"0",
                    "hashed_sessions": b"1" if secret is not None and hash_session_ids else b"0",
                }
                if secret is not None:
                    meta["salt"] = os.urandom(16)
                    key = Codec.derive_key(secret, meta["salt"])
                    meta["key_check"] = Codec(compression=False, key=key).seal(
                        KEY_CHECK, self._key_ad(meta)
                    )
                self._db.executemany("INSERT INTO ferromem_meta VALUES (?, ?)", meta.items())
        if meta.get("encrypted") not in (b"0", b"1") or len(meta.get("store_id", b"")) != 16:
            raise CorruptFileError(f"{self.path}: its meta rows are damaged")
        return meta

    def _check_session_counts(self) -> None:
        """The sessions table (each session's message count, which lists the sessions) must
        agree with the messages: damage there would hide whole sessions without an error."""
        bad, total = self._db.execute(
            "SELECT count(*) FILTER (WHERE session_id IS NULL OR typeof(count) != 'integer' "
            "OR count < 0), coalesce(sum(count), 0) FROM ferromem_sessions"
        ).fetchone()
        stored = self._db.execute("SELECT count(*) FROM ferromem_messages").fetchone()[0]
        if bad or total != stored:
            raise CorruptFileError(
                f"{self.path}: the sessions table is damaged ({total} messages counted in it, "
                f"{stored} stored)"
            )

    @staticmethod
    def _key_ad(meta: dict[str, bytes]) -> bytes:
        return b"key_check/" + meta["store_id"] + meta["salt"] + meta["hashed_sessions"]

    def _check_key(self, meta: dict[str, bytes]) -> None:
        # A missing key check is tampering, not a new database: a new one gets its check in the
        # transaction that creates it.
        stored = meta.get("key_check")
        if stored is None or "salt" not in meta:
            raise CorruptFileError(f"{self.path}: the encryption key check is missing")
        try:
            ok = self.codec.open(stored, self._key_ad(meta), "the key check") == KEY_CHECK
        except CorruptDataError:
            ok = False
        if not ok:
            raise InvalidArgumentError(f"encryption_key does not match the key of {self.path}")

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One write transaction; rolled back on any error."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except _DB_ERRORS as e:
            raise StorageError(f"{self.path}: cannot write: {e}") from e
        try:
            yield
        except _DB_ERRORS as e:
            self._db.execute("ROLLBACK")
            raise StorageError(f"{self.path}: write failed: {e}") from e
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        try:
            self._db.execute("COMMIT")
        except _DB_ERRORS as e:
            raise StorageError(f"{self.path}: commit failed: {e}") from e

    @contextmanager
    def _read(self) -> Iterator[None]:
        """One read transaction: a consistent snapshot (WAL) that blocks no writer."""
        try:
            self._db.execute("BEGIN")
        except _DB_ERRORS as e:
            raise CorruptFileError(f"{self.path}: read failed: {e}") from e
        try:
            yield
        except _DB_ERRORS as e:
            raise CorruptFileError(f"{self.path}: read failed: {e}") from e
        finally:
            try:
                self._db.execute("COMMIT")
            except _DB_ERRORS as e:
                raise CorruptFileError(f"{self.path}: read failed: {e}") from e

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._db.execute(sql, args).fetchall()
        except _DB_ERRORS as e:
            raise CorruptFileError(f"{self.path}: read failed: {e}") from e

    def describe(self) -> str:
        return self.path

    # ------------------------------------------------------------------ sessions as stored
    def _stored_session(self, session: str) -> str:
        return self.codec.hash_session(session) if self.hashed_sessions else session

    def _session_name(self, stored: str) -> str:
        if not self.hashed_sessions:
            return stored
        name = self._names.get(stored)
        if name is None:
            rows = self._rows("SELECT name FROM ferromem_sessions WHERE session_id = ?", (stored,))
            if not rows:
                raise CorruptDataError(f"{self.path}: session {stored!r} has no name row")
            ad = b"session/" + self.store_id + stored.encode()
            raw = self.codec.open(bytes(rows[0][0]), ad, f"{self.path}: session {stored!r}")
            name = raw.decode("utf-8", errors="strict")
            self._names[stored] = name
        return name

    def _remember_sessions(self, sessions: set[str]) -> None:
        """Records the name rows of hashed sessions (inside the caller's transaction)."""
        for session in sessions:
            stored = self._stored_session(session)
            if stored in self._names:
                continue
            ad = b"session/" + self.store_id + stored.encode()
            self._db.execute(
                "INSERT OR IGNORE INTO ferromem_sessions (session_id, name) VALUES (?, ?)",
                (stored, self.codec.seal(session.encode(), ad)),
            )
            self._names[stored] = session

    # ------------------------------------------------------------------ rows <-> messages
    def _encode(self, key: int, m: Message, vector: bytes | None) -> tuple[Any, ...]:
        assert m.id is not None
        try:
            meta_json = json.dumps(m.metadata, sort_keys=True, ensure_ascii=False)
        except (TypeError, ValueError) as e:
            raise InvalidArgumentError(f"metadata must be JSON-serialisable: {e}") from e
        session = self._stored_session(m.session_id)
        data, flags = self.codec.body_flags(m.content.encode("utf-8"))
        ad = row_ad(self.store_id, key, m.id, session, m.role, m.timestamp, m.importance, flags)
        body = self.codec.seal(data, ad + b"/body")
        meta = self.codec.seal(meta_json.encode("utf-8"), ad + b"/meta")
        vec = None if vector is None else self.codec.seal(vector, ad + b"/vector")
        crc = Codec.check(ad, body, meta, vec)
        return (key, m.id, session, m.role, body, flags, m.timestamp, m.importance, meta, vec, crc)

    def _encode_many(
        self, keys: list[int], msgs: list[Message], vectors: list[bytes] | None
    ) -> list[Any]:
        """The rows of a batch: sealed in Rust in one pass (plain and compressed databases), or
        one by one in Python (encrypted ones)."""
        if self.codec.encrypted:
            vecs: list[bytes | None] = list(vectors) if vectors is not None else [None] * len(msgs)
            return [self._encode(k, m, v) for k, m, v in zip(keys, msgs, vecs, strict=True)]
        metadata = []
        for m in msgs:
            if not m.metadata:
                metadata.append("{}")
                continue
            try:
                metadata.append(json.dumps(m.metadata, sort_keys=True, ensure_ascii=False))
            except (TypeError, ValueError) as e:
                raise InvalidArgumentError(f"metadata must be JSON-serialisable: {e}") from e
        stored = self._stored_session
        return _core.seal_rows(
            self.store_id,
            keys,
            [m.id or "" for m in msgs],
            [stored(m.session_id) for m in msgs],
            [m.role for m in msgs],
            [m.content for m in msgs],
            [m.timestamp for m in msgs],
            [m.importance for m in msgs],
            metadata,
            vectors,
            compress=self.codec.compression,
        )

    def _decode_many(self, rows: Sequence[Any]) -> list[tuple[Message, bytes | None]]:
        """Messages (and vector bytes) of stored rows: checked and opened in Rust in one pass
        (plain and compressed databases), or one by one in Python (encrypted ones)."""
        if self.codec.encrypted or not rows:
            return [self._decode(r) for r in rows]
        try:
            opened = _core.open_rows(self.store_id, rows)
        except CorruptDataError as e:
            reason = str(e).removeprefix("corrupt data: ")
            raise CorruptDataError(f"{self.path}: {reason}") from None
        out = []
        for row, (content, meta) in zip(rows, opened, strict=True):
            key, mid, session, role, _, _, ts, importance, _, vec, _ = row
            try:
                metadata = {} if meta == "{}" else json.loads(meta)
                msg = Message(
                    role,
                    content,
                    session_id=self._session_name(session),
                    metadata=metadata,
                    timestamp=ts,
                    importance=importance,
                    id=mid,
                )
            except (ValueError, TypeError, RecursionError) as e:
                raise CorruptDataError(f"{self.path}: message {mid!r} (key {key}): {e}") from e
            out.append((msg, None if vec is None else bytes(vec)))
        return out

    def _decode(self, row: Sequence[Any]) -> tuple[Message, bytes | None]:
        key, mid, session, role, body, flags, ts, importance, meta, vec, crc = row
        where = f"{self.path}: message {mid!r} (key {key})"
        try:
            body, meta = bytes(body), bytes(meta)
            vec = None if vec is None else bytes(vec)
            ad = row_ad(self.store_id, key, mid, session, role, ts, importance, flags)
        except (TypeError, ValueError, struct.error, UnicodeEncodeError) as e:
            raise CorruptDataError(f"{where}: a column has the wrong type: {e}") from e
        if Codec.check(ad, body, meta, vec) != crc:
            raise CorruptDataError(f"{where} fails its checksum (damaged or changed)")
        content = self.codec.unpack_body(self.codec.open(body, ad + b"/body", where), flags, where)
        try:
            metadata = json.loads(self.codec.open(meta, ad + b"/meta", where).decode("utf-8"))
            msg = Message(
                role,
                content,
                session_id=self._session_name(session),
                metadata=metadata,
                timestamp=ts,
                importance=importance,
                id=mid,
            )
        except (ValueError, TypeError, RecursionError) as e:
            raise CorruptDataError(f"{where}: {e}") from e
        raw_vec = None if vec is None else self.codec.open(vec, ad + b"/vector", where)
        return msg, raw_vec

    def _vector_bytes(self, vector: Any) -> bytes:
        return np.ascontiguousarray(vector, dtype=np.float16).tobytes()

    def _half_rows(self, vectors: Vectors, rows: Sequence[int]) -> list[bytes]:
        # One float16 conversion for the batch, not one per message.
        half = np.ascontiguousarray(vectors, dtype=np.float16)
        return [half[i].tobytes() for i in rows]

    # ------------------------------------------------------------------ versions
    def _read_version(self) -> tuple[int, int]:
        rows = self._rows(
            "SELECT name, seq FROM sqlite_sequence "
            "WHERE name IN ('ferromem_messages', 'ferromem_removed')"
        )
        seqs = {name: int(seq) for name, seq in rows}
        return (seqs.get("ferromem_messages", 0), seqs.get("ferromem_removed", 0))

    def version(self, partition: Partition) -> Hashable:
        # data_version changes only when another connection commits: until then, the version
        # this connection last read or wrote is still the store's.
        dv = int(self._rows("PRAGMA data_version")[0][0])
        if dv != self._data_version:
            self._version = self._read_version()
            self._data_version = dv
        return self._version

    def changes(self, partition: Partition, since: Hashable) -> Changes | None:
        if not isinstance(since, tuple) or len(since) != 2:
            return None
        now = self.version(None)
        assert isinstance(now, tuple)
        last_key, last_removed = since
        if last_key > now[0] or last_removed > now[1]:
            return None  # the snapshot is from another history (a restored backup)
        floor = self._rows("SELECT value FROM ferromem_meta WHERE key = 'log_floor'")
        if floor and last_removed < int(bytes(floor[0][0]).decode()):
            return None
        added = [
            int(r[0])
            for r in self._rows(
                "SELECT key FROM ferromem_messages WHERE key > ? ORDER BY key", (last_key,)
            )
        ]
        removed = [
            int(r[0])
            for r in self._rows("SELECT key FROM ferromem_removed WHERE seq > ?", (last_removed,))
        ]
        return Changes(added, removed, now)

    # ------------------------------------------------------------------ writes
    def put(
        self,
        messages: Sequence[Message],
        vectors: Vectors | None = None,
        *,
        on_conflict: Conflict = "error",
    ) -> WriteResult:
        ids = [m.id or "" for m in messages]
        with self._write():
            before = self._read_version()
            found: dict[str, int] = {}
            for chunk in _chunks(ids):
                marks = ",".join("?" * len(chunk))
                found.update(
                    self._db.execute(
                        f"SELECT id, key FROM ferromem_messages WHERE id IN ({marks})", chunk
                    ).fetchall()
                )
            stored = [found.get(i) for i in ids]
            keep, replace = find_conflicts(messages, stored, on_conflict) if found else ([], [])
            removed = self._delete(replace) if replace else []
            next_key = self._read_version()[0] + 1
            kept = [i for i in range(len(messages)) if not keep or keep[i]]
            keys: list[int | None] = [None] * len(messages)
            for n, i in enumerate(kept):
                keys[i] = next_key + n
            rows = self._encode_many(
                [next_key + n for n in range(len(kept))],
                [messages[i] for i in kept],
                None if vectors is None else self._half_rows(vectors, kept),
            )
            if self.hashed_sessions:
                self._remember_sessions({m.session_id for m in messages})
            self._db.executemany(
                f"INSERT INTO ferromem_messages ({_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows
            )
            added: dict[str, int] = {}
            for row in rows:
                added[row[2]] = added.get(row[2], 0) + 1
            self._count_sessions(added)
            after = self._read_version()
        self._note_own_write(after)
        return WriteResult(keys, removed, {None: (before, after)})

    def _count_sessions(self, change: dict[str, int]) -> None:
        """Adds to the recorded message counts of (stored) sessions, in the caller's
        transaction."""
        self._db.executemany(
            "INSERT INTO ferromem_sessions (session_id, count) VALUES (?, ?) "
            "ON CONFLICT(session_id) DO UPDATE SET count = count + excluded.count",
            list(change.items()),
        )

    def _note_own_write(self, after: tuple[int, int]) -> None:
        self._version = after
        self._data_version = int(self._rows("PRAGMA data_version")[0][0])

    def _delete(self, keys: Sequence[int]) -> list[int]:
        """Deletes keys and logs them (inside the caller's transaction)."""
        removed: list[int] = []
        for chunk in _chunks(list(keys)):
            marks = ",".join("?" * len(chunk))
            present = [
                int(r[0])
                for r in self._db.execute(
                    f"SELECT key FROM ferromem_messages WHERE key IN ({marks})", chunk
                )
            ]
            if present:
                marks = ",".join("?" * len(present))
                gone = self._db.execute(
                    "SELECT session_id, count(*) FROM ferromem_messages "
                    f"WHERE key IN ({marks}) GROUP BY session_id",
                    present,
                ).fetchall()
                self._count_sessions({sid: -int(n) for sid, n in gone})
                self._db.execute(f"DELETE FROM ferromem_messages WHERE key IN ({marks})", present)
                removed.extend(present)
        if removed:
            self._db.executemany(
                "INSERT INTO ferromem_removed (key) VALUES (?)", [(k,) for k in removed]
            )
            self._trim_log()
        return removed

    def _trim_log(self) -> None:
        count = self._db.execute("SELECT count(*) FROM ferromem_removed").fetchone()[0]
        if count <= LOG_LIMIT:
            return
        cut = self._db.execute(
            "SELECT seq FROM ferromem_removed ORDER BY seq LIMIT 1 OFFSET ?", (count // 2,)
        ).fetchone()[0]
        self._db.execute("DELETE FROM ferromem_removed WHERE seq < ?", (cut,))
        self._db.execute(
            "INSERT OR REPLACE INTO ferromem_meta VALUES ('log_floor', ?)", (str(cut).encode(),)
        )

    def remove(self, keys: Sequence[int]) -> WriteResult:
        with self._write():
            before = self._read_version()
            removed = self._delete(keys)
            after = self._read_version()
        self._note_own_write(after)
        return WriteResult([], removed, {None: (before, after)})

    def remove_session(self, session_id: str) -> WriteResult:
        stored = self._stored_session(session_id)
        with self._write():
            before = self._read_version()
            keys = [
                int(r[0])
                for r in self._db.execute(
                    "SELECT key FROM ferromem_messages WHERE session_id = ?", (stored,)
                )
            ]
            removed = self._delete(keys)
            after = self._read_version()
        self._note_own_write(after)
        return WriteResult([], removed, {None: (before, after)})

    def write_vectors(self, keys: Sequence[int], vectors: Vectors) -> None:
        rows = np.ascontiguousarray(vectors, dtype=np.float32)
        with self._write():
            for key, row in zip(keys, rows, strict=True):
                found = self._db.execute(
                    f"SELECT {_COLS} FROM ferromem_messages WHERE key = ?", (key,)
                ).fetchone()
                if found is None:
                    continue
                msg, _ = self._decode(found)
                enc = self._encode(key, msg, self._vector_bytes(row))
                self._db.execute(
                    "UPDATE ferromem_messages SET vector = ?, crc32 = ? WHERE key = ?",
                    (enc[9], enc[10], key),
                )

    # ------------------------------------------------------------------ reads
    def _select(self, where: str, args: Sequence[Any]) -> list[Any]:
        return self._rows(f"SELECT {_COLS} FROM ferromem_messages {where}", args)

    def _by_keys(self, keys: Sequence[int]) -> dict[int, Any]:
        out: dict[int, Any] = {}
        for chunk in _chunks(list(keys)):
            marks = ",".join("?" * len(chunk))
            for row in self._select(f"WHERE key IN ({marks})", chunk):
                out[int(row[0])] = row
        return out

    def get(self, keys: Sequence[int]) -> list[Message | None]:
        rows = self._by_keys(keys)
        present = [k for k in keys if k in rows]
        decoded = dict(zip(present, self._decode_many([rows[k] for k in present]), strict=True))
        return [decoded[k][0] if k in decoded else None for k in keys]

    def keys_of(
        self, ids: Sequence[str], sessions: Sequence[str] | None = None
    ) -> list[int | None]:
        found: dict[str, int] = {}
        for chunk in _chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            found.update(
                self._rows(f"SELECT id, key FROM ferromem_messages WHERE id IN ({marks})", chunk)
            )
        return [found.get(i) for i in ids]

    def _checked_session_rows(self, session_id: str, columns: str) -> list[Any]:
        """A session's rows in chronological order, checked against what the store recorded:
        every row of that session, as many as its count, in order. A damaged index would list
        fewer (or foreign) rows without an error; this makes it one."""
        stored = self._stored_session(session_id)
        with self._read():
            rows = self._db.execute(
                f"SELECT session_id, timestamp, id, {columns} FROM ferromem_messages "
                "WHERE session_id = ? ORDER BY timestamp, id",
                (stored,),
            ).fetchall()
            recorded = self._db.execute(
                "SELECT count FROM ferromem_sessions WHERE session_id = ?", (stored,)
            ).fetchone()
        expected = int(recorded[0]) if recorded is not None else 0
        ordered = all(
            (rows[i][1], rows[i][2]) <= (rows[i + 1][1], rows[i + 1][2])
            for i in range(len(rows) - 1)
        )
        if len(rows) != expected or not ordered or any(r[0] != stored for r in rows):
            raise CorruptDataError(
                f"{self.path}: the index of session {session_id!r} is damaged ({len(rows)} rows "
                f"listed, {expected} recorded); REINDEX the database or restore it"
            )
        return [r[3:] for r in rows]

    def session_keys(self, session_id: str) -> list[int]:
        return [int(r[0]) for r in self._checked_session_rows(session_id, "key")]

    def messages(self, session_id: str) -> list[Message]:
        rows = self._checked_session_rows(session_id, _COLS)
        return [m for m, _ in self._decode_many(rows)]

    def messages_between(
        self, session_id: str, *, after: float | None = None, before: float | None = None
    ) -> list[Message]:
        lo = after if after is not None else float("-inf")
        hi = before if before is not None else float("inf")
        return [m for m in self.messages(session_id) if lo < m.timestamp < hi]

    def oldest_keys(self, session_id: str, n: int) -> list[int]:
        """The keys of a session's oldest ``n`` messages."""
        return [
            int(r[0])
            for r in self._rows(
                "SELECT key FROM ferromem_messages WHERE session_id = ? "
                "ORDER BY timestamp, id LIMIT ?",
                (self._stored_session(session_id), n),
            )
        ]

    def keys_older_than(self, session_id: str | None, cutoff: float) -> list[int]:
        """Keys of messages older than ``cutoff`` (in one session, or in all)."""
        if session_id is None:
            rows = self._rows("SELECT key FROM ferromem_messages WHERE timestamp < ?", (cutoff,))
        else:
            rows = self._rows(
                "SELECT key FROM ferromem_messages WHERE session_id = ? AND timestamp < ?",
                (self._stored_session(session_id), cutoff),
            )
        return [int(r[0]) for r in rows]

    def sessions(self) -> list[str]:
        rows = self._rows("SELECT session_id FROM ferromem_sessions WHERE count > 0")
        return [self._session_name(r[0]) for r in rows]

    def count(self, session_id: str | None = None) -> int:
        if session_id is None:
            total = self._rows("SELECT coalesce(sum(count), 0) FROM ferromem_sessions")[0][0]
            return int(total)
        rows = self._rows(
            "SELECT count FROM ferromem_sessions WHERE session_id = ?",
            (self._stored_session(session_id),),
        )
        return int(rows[0][0]) if rows else 0

    def _vector_rows(
        self, rows: Sequence[Any], opened: Sequence[bytes | None] | None = None
    ) -> Vectors | None:
        """The vectors of rows (``opened``: their vector bytes, when already decoded)."""
        dim = self.read_setting("dimension")
        if dim is None or not dim.isdigit():
            return None
        out = np.full((len(rows), int(dim)), np.nan, dtype=np.float32)
        for i, row in enumerate(rows):
            if row is None:
                continue
            raw = opened[i] if opened is not None else self._decode(row)[1]
            if raw is None:
                continue
            if len(raw) != 2 * int(dim):
                raise CorruptDataError(
                    f"{self.path}: the vector of message {row[1]!r} has {len(raw)} bytes, "
                    f"not {2 * int(dim)}"
                )
            out[i] = np.frombuffer(raw, dtype=np.float16)
        return out

    def vectors(self, keys: Sequence[int]) -> Vectors | None:
        rows = self._by_keys(keys)
        ordered = [rows.get(k) for k in keys]
        present = [r for r in ordered if r is not None]
        raw = iter([v for _, v in self._decode_many(present)])
        return self._vector_rows(ordered, [next(raw) if r is not None else None for r in ordered])

    def load(self, partition: Partition) -> Loaded:
        with self._read():  # one consistent view: nothing changes between rows and version
            version = self._read_version()
            rows = self._db.execute(
                f"SELECT {_COLS} FROM ferromem_messages ORDER BY key"
            ).fetchall()
        decoded = self._decode_many(rows)
        keys = [int(r[0]) for r in rows]
        vectors = self._vector_rows(rows, [raw for _, raw in decoded])
        return Loaded(keys, [m for m, _ in decoded], vectors, version)

    # ------------------------------------------------------------------ settings and sessions
    def read_setting(self, name: str) -> str | None:
        rows = self._rows("SELECT value FROM ferromem_meta WHERE key = ?", (f"setting:{name}",))
        if not rows:
            return None
        try:
            return bytes(rows[0][0]).decode("utf-8")
        except UnicodeDecodeError as e:
            raise CorruptDataError(f"{self.path}: setting {name!r} is not text") from e

    def write_setting(self, name: str, value: str) -> None:
        with self._write():
            self._db.execute(
                "INSERT OR REPLACE INTO ferromem_meta VALUES (?, ?)",
                (f"setting:{name}", value.encode("utf-8")),
            )

    def session_info(self, session_id: str) -> dict[str, Any] | None:
        stored = self._stored_session(session_id)
        rows = self._rows("SELECT info FROM ferromem_sessions WHERE session_id = ?", (stored,))
        if not rows or rows[0][0] is None:
            return None
        ad = b"session-info/" + self.store_id + stored.encode()
        raw = self.codec.open(bytes(rows[0][0]), ad, f"{self.path}: session {session_id!r}")
        try:
            info = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError) as e:
            raise CorruptDataError(f"{self.path}: session {session_id!r} info: {e}") from e
        if not isinstance(info, dict):
            raise CorruptDataError(f"{self.path}: session {session_id!r} info is not an object")
        return info

    def write_session_info(self, session_id: str, info: dict[str, Any] | None) -> None:
        stored = self._stored_session(session_id)
        ad = b"session-info/" + self.store_id + stored.encode()
        try:
            raw = None if info is None else json.dumps(info, sort_keys=True).encode("utf-8")
        except (TypeError, ValueError) as e:
            raise InvalidArgumentError(f"session metadata must be JSON-serialisable: {e}") from e
        with self._write():
            self._remember_sessions({session_id})
            self._db.execute(
                "UPDATE ferromem_sessions SET info = ? WHERE session_id = ?",
                (None if raw is None else self.codec.seal(raw, ad), stored),
            )

    def known_sessions(self) -> list[str]:
        rows = self._rows("SELECT session_id FROM ferromem_sessions WHERE info IS NOT NULL")
        started = [self._session_name(r[0]) for r in rows]
        return list(dict.fromkeys([*self.sessions(), *started]))

    # ------------------------------------------------------------------ attachment bytes
    keeps_blobs = True

    def put_blob(self, digest: str, data: bytes) -> bool:
        ad = b"blob/" + self.store_id + digest.encode()
        with self._write():
            cur = self._db.execute(
                "INSERT OR IGNORE INTO ferromem_blobs VALUES (?, ?, ?)",
                (digest, len(data), self.codec.seal(bytes(data), ad)),
            )
            return bool(cur.rowcount)

    def get_blob(self, digest: str) -> bytes | None:
        rows = self._rows("SELECT data FROM ferromem_blobs WHERE digest = ?", (digest,))
        if not rows:
            return None
        ad = b"blob/" + self.store_id + digest.encode()
        return self.codec.open(bytes(rows[0][0]), ad, f"{self.path}: attachment {digest}")

    def blob_digests(self) -> list[str]:
        return [str(r[0]) for r in self._rows("SELECT digest FROM ferromem_blobs")]

    def remove_blobs(self, digests: Sequence[str]) -> int:
        removed = 0
        with self._write():
            for chunk in _chunks(list(digests)):
                marks = ",".join("?" * len(chunk))
                cur = self._db.execute(
                    f"DELETE FROM ferromem_blobs WHERE digest IN ({marks})", tuple(chunk)
                )
                removed += cur.rowcount
        return removed

    # ------------------------------------------------------------------ upkeep
    def usage_bytes(self) -> int:
        pages = self._rows("PRAGMA page_count")[0][0]
        size = self._rows("PRAGMA page_size")[0][0]
        return int(pages * size)

    def stats(self) -> dict[str, Any]:
        return {
            "db_path": self.path,
            "encrypted": self.codec.encrypted,
            "compression": self.codec.compression,
            "hashed_session_ids": self.hashed_sessions,
        }

    def close(self) -> None:
        self._db.close()
