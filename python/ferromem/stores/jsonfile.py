"""`JSONFileStore`: every session in one JSON file, shared safely by threads and processes.

The file holds a magic, a version and a CRC-32 over everything else (messages, their vectors,
settings such as the embedder, session info). It is rewritten atomically on every write (temp
file, fsync, rename) under an exclusive lock on ``<file>.lock``; before a write, and before a
read, a file that another writer changed is reloaded, and the difference is fed to the engines.
"""

from __future__ import annotations

import base64
import json
import math
import os
import zlib
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .._atomic import file_lock, remove_stale_temps, replace_file
from ..errors import CorruptFileError, InvalidArgumentError, StorageError
from ..message import Message
from .base import Conflict, Partition, Vectors, WriteResult
from .objects import ObjectStore

__all__ = ["JSONFileStore"]

MAGIC = "ferromem-json"
#: 1: messages only; 2: also vectors, settings and session info.
VERSION = 2
_FIELDS = frozenset(("id", "session_id", "role", "content", "timestamp", "importance", "metadata"))
T = TypeVar("T")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _number(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def _record_message(rec: object, where: str) -> Message:
    """A stored record back as a Message; every field must be present and well-typed (a file
    is not a user's call: nothing is filled in for a missing field)."""
    if not isinstance(rec, dict):
        raise CorruptFileError(f"{where}: not an object")
    if set(rec) != _FIELDS:
        raise CorruptFileError(f"{where}: fields {sorted(rec)} are not {sorted(_FIELDS)}")
    if not isinstance(rec["id"], str) or not rec["id"]:
        raise CorruptFileError(f"{where}: id must be a non-empty string")
    if not _number(rec["timestamp"]):
        raise CorruptFileError(f"{where}: timestamp must be a finite number")
    if rec["importance"] is not None and not _number(rec["importance"]):
        raise CorruptFileError(f"{where}: importance must be a number or null")
    if not isinstance(rec["metadata"], dict):
        raise CorruptFileError(f"{where}: metadata must be an object")
    try:
        return Message.from_dict(rec)
    except (TypeError, ValueError) as e:
        raise CorruptFileError(f"{where}: {e}") from e


class _Doc:
    """One decoded file."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.vectors: dict[str, bytes] = {}
        self.settings: dict[str, str] = {}
        self.sessions: dict[str, dict[str, Any]] = {}


class JSONFileStore(ObjectStore):
    """Messages (and vectors) of every session in one JSON file (see the module docs)."""

    shared = True
    keeps_vectors = True
    durable = True

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._log = []
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._vectors: dict[int, bytes] = {}
        self._settings: dict[str, str] = {}
        self._session_info: dict[str, dict[str, Any]] = {}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StorageError(f"{path.parent}: cannot create directory: {e}") from e
        with file_lock(path, exclusive=True):
            remove_stale_temps(path)
            self._refresh()

    # ------------------------------------------------------------------ the file
    def _file_stamp(self) -> tuple[int, int, int] | None:
        """What changes when a writer replaces the file (inode, size, mtime), or None when
        there is no regular file."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        if not os.path.isfile(self.path):
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _refresh(self) -> None:
        """Reloads the file when it changed since this store last read or wrote it, applying
        the difference (so that keys of unchanged messages stay, and engines catch up)."""
        stamp = self._file_stamp()
        if stamp is None or stamp == self._stamp:
            return
        doc = self._read()
        fresh = {m.id or "": m for m in doc.messages}
        gone = [k for mid, k in self._by_id.items() if mid not in fresh]
        changed = [
            m
            for mid, m in fresh.items()
            if (k := self._by_id.get(mid)) is None or self._msgs[k] != m
        ]
        stale = [self._by_id[m.id or ""] for m in changed if m.id in self._by_id]
        removed = self._drop(gone + stale)
        for key in removed:
            self._vectors.pop(key, None)
        if changed:
            result = ObjectStore.put(self, changed)
            for new_key, m in zip(result.keys, changed, strict=True):
                vec = doc.vectors.get(m.id or "")
                if new_key is not None and vec is not None:
                    self._vectors[new_key] = vec
            self._log_merge(removed)
        elif removed:
            self._wrote([], removed)
        self._settings = doc.settings
        self._session_info = doc.sessions
        self._stamp = stamp

    def _log_merge(self, removed: list[int]) -> None:
        # put() logged its additions as one entry; the removals belong to the same change.
        assert self._log is not None
        version, added, minus = self._log[-1]
        self._log[-1] = (version, added, minus + removed)

    def _read(self) -> _Doc:
        path = self.path
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise StorageError(f"{path}: cannot read: {e}") from e
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            raise CorruptFileError(f"{path}: not a valid ferromem JSON file: {e}") from None
        if not isinstance(doc, dict) or doc.get("magic") != MAGIC:
            raise CorruptFileError(f"{path}: not a ferromem JSON file (magic missing)")
        version = doc.get("version")
        if version not in (1, VERSION):
            raise CorruptFileError(f"{path}: unsupported version {version!r}")
        body = {k: v for k, v in doc.items() if k not in ("magic", "version", "crc32")}
        checked = body["messages"] if version == 1 and "messages" in body else body
        try:
            crc = zlib.crc32(_canonical(checked).encode())
        except (UnicodeEncodeError, RecursionError, ValueError) as e:
            raise CorruptFileError(f"{path}: invalid text in the file: {e}") from None
        if crc != doc.get("crc32"):
            raise CorruptFileError(f"{path}: checksum mismatch (the file was changed or damaged)")
        out = _Doc()
        records = body.get("messages")
        if not isinstance(records, list):
            raise CorruptFileError(f"{path}: 'messages' is not a list")
        seen: set[str] = set()
        for i, rec in enumerate(records):
            m = _record_message(rec, f"{path}: message {i}")
            assert m.id is not None
            if m.id in seen:
                raise CorruptFileError(f"{path}: message {i} repeats the id {m.id!r}")
            seen.add(m.id)
            out.messages.append(m)
        if version == VERSION:
            self._read_extras(body, out, seen)
        return out

    def _read_extras(self, body: dict[str, Any], out: _Doc, ids: set[str]) -> None:
        path = self.path
        vectors, settings, sessions = (
            body.get("vectors"),
            body.get("settings"),
            body.get("sessions"),
        )
        if not isinstance(vectors, dict) or not isinstance(settings, dict):
            raise CorruptFileError(f"{path}: 'vectors' and 'settings' must be objects")
        if not isinstance(sessions, dict) or not all(
            isinstance(v, dict) for v in sessions.values()
        ):
            raise CorruptFileError(f"{path}: 'sessions' must map session ids to objects")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in settings.items()):
            raise CorruptFileError(f"{path}: settings must be strings")
        dim = settings.get("dimension")
        width = int(dim) * 4 if dim is not None and dim.isdigit() else None
        for mid, text in vectors.items():
            if mid not in ids or not isinstance(text, str):
                raise CorruptFileError(f"{path}: a vector for an unknown message {mid!r}")
            try:
                raw = base64.b64decode(text, validate=True)
            except ValueError as e:
                raise CorruptFileError(f"{path}: the vector of {mid!r} is not base64") from e
            if width is None or len(raw) != width:
                raise CorruptFileError(f"{path}: the vector of {mid!r} has the wrong size")
            out.vectors[mid] = raw
        out.settings = dict(settings)
        out.sessions = {k: dict(v) for k, v in sessions.items()}

    def _write(self) -> None:
        records = [self._msgs[k].to_dict() for k in self._msgs]
        vectors = {self._msgs[k].id: base64.b64encode(v).decode() for k, v in self._vectors.items()}
        body = {
            "messages": records,
            "vectors": vectors,
            "settings": self._settings,
            "sessions": self._session_info,
        }
        try:
            text = _canonical(body)
        except (TypeError, ValueError) as e:
            raise InvalidArgumentError(f"metadata must be JSON-serialisable: {e}") from e
        head = f'{{"magic":"{MAGIC}","version":{VERSION},"crc32":{zlib.crc32(text.encode())},'
        try:
            replace_file(self.path, (head + text[1:] + "\n").encode())
        except OSError as e:
            raise StorageError(f"{self.path}: cannot write: {e}") from e
        self._stamp = self._file_stamp()

    def _transaction(self, change: Callable[[], T]) -> T:
        """Under the file's lock: catches up with other writers, applies ``change`` in memory,
        writes the file, and undoes the change if writing fails."""
        with file_lock(self.path, exclusive=True):
            remove_stale_temps(self.path)
            self._refresh()
            saved = self._snapshot()
            result = change()
            try:
                self._write()
            except BaseException:
                self._restore(saved)
                raise
            return result

    def _snapshot(self) -> tuple[Any, ...]:
        return (
            dict(self._msgs),
            dict(self._by_id),
            {sid: dict(keys) for sid, keys in self._sessions.items()},
            dict(self._newest),
            set(self._unordered),
            self._next_key,
            self._version,
            dict(self._vectors),
            dict(self._settings),
            {k: dict(v) for k, v in self._session_info.items()},
            list(self._log or []),
        )

    def _restore(self, saved: tuple[Any, ...]) -> None:
        (
            self._msgs,
            self._by_id,
            self._sessions,
            self._newest,
            self._unordered,
            self._next_key,
            self._version,
            self._vectors,
            self._settings,
            self._session_info,
            self._log,
        ) = saved

    def _fresh(self) -> None:
        with file_lock(self.path, exclusive=False):
            self._refresh()

    # ------------------------------------------------------------------ Store
    def put(
        self,
        messages: Sequence[Message],
        vectors: Vectors | None = None,
        *,
        on_conflict: Conflict = "error",
    ) -> WriteResult:
        def change() -> WriteResult:
            result = ObjectStore.put(self, messages, on_conflict=on_conflict)
            for key in result.removed:
                self._vectors.pop(key, None)
            if vectors is not None:
                rows = np.ascontiguousarray(vectors, dtype=np.float32)
                for i, new_key in enumerate(result.keys):
                    if new_key is not None:
                        self._vectors[new_key] = rows[i].tobytes()
            return result

        return self._transaction(change)

    def remove(self, keys: Sequence[int]) -> WriteResult:
        def change() -> WriteResult:
            result = ObjectStore.remove(self, keys)
            for key in result.removed:
                self._vectors.pop(key, None)
            return result

        return self._transaction(change)

    def get(self, keys: Sequence[int]) -> list[Message | None]:
        self._fresh()
        return super().get(keys)

    def keys_of(
        self, ids: Sequence[str], sessions: Sequence[str] | None = None
    ) -> list[int | None]:
        self._fresh()
        return super().keys_of(ids)

    def session_keys(self, session_id: str) -> list[int]:
        self._fresh()
        return super().session_keys(session_id)

    def sessions(self) -> list[str]:
        self._fresh()
        return super().sessions()

    def count(self, session_id: str | None = None) -> int:
        self._fresh()
        return super().count(session_id)

    def version(self, partition: Partition) -> Hashable:
        self._fresh()
        return self._version

    def vectors(self, keys: Sequence[int]) -> Vectors | None:
        dim = self._settings.get("dimension")
        if dim is None:
            return None
        out = np.full((len(keys), int(dim)), np.nan, dtype=np.float32)
        for i, key in enumerate(keys):
            raw = self._vectors.get(key)
            if raw is not None:
                out[i] = np.frombuffer(raw, dtype=np.float32)
        return out

    def write_vectors(self, keys: Sequence[int], vectors: Vectors) -> None:
        rows = np.ascontiguousarray(vectors, dtype=np.float32)

        def change() -> None:
            for key, row in zip(keys, rows, strict=True):
                if key in self._msgs:
                    self._vectors[key] = row.tobytes()

        self._transaction(change)

    def describe(self) -> str:
        return str(self.path)

    def read_setting(self, name: str) -> str | None:
        self._fresh()
        return self._settings.get(name)

    def write_setting(self, name: str, value: str) -> None:
        def change() -> None:
            self._settings[name] = value

        self._transaction(change)

    def session_info(self, session_id: str) -> dict[str, Any] | None:
        self._fresh()
        info = self._session_info.get(session_id)
        return dict(info) if info is not None else None

    def write_session_info(self, session_id: str, info: dict[str, Any] | None) -> None:
        def change() -> None:
            if info is None:
                self._session_info.pop(session_id, None)
            else:
                self._session_info[session_id] = dict(info)

        self._transaction(change)

    # ------------------------------------------------------------------ attachment bytes
    def _blob_path(self, digest: str) -> Path:
        # Beside the file, one file per digest: the JSON file stays small, and a blob written
        # once never changes (content addressing), so no lock is needed to read it.
        return self.path.with_name(self.path.name + ".blobs") / digest

    def put_blob(self, digest: str, data: bytes) -> bool:
        path = self._blob_path(digest)
        if path.exists():
            return False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            replace_file(path, bytes(data))
        except OSError as e:
            raise StorageError(f"{path}: cannot write attachment: {e}") from e
        return True

    def get_blob(self, digest: str) -> bytes | None:
        try:
            return self._blob_path(digest).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise StorageError(f"{self._blob_path(digest)}: cannot read attachment: {e}") from e

    def blob_digests(self) -> list[str]:
        folder = self.path.with_name(self.path.name + ".blobs")
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return []
        return [n for n in names if len(n) == 64 and all(c in "0123456789abcdef" for c in n)]

    def remove_blobs(self, digests: Sequence[str]) -> int:
        removed = 0
        for digest in digests:
            try:
                self._blob_path(digest).unlink()
                removed += 1
            except FileNotFoundError:
                pass
            except OSError as e:
                raise StorageError(f"{self._blob_path(digest)}: cannot remove: {e}") from e
        return removed

    def stats(self) -> dict[str, Any]:
        stamp = self._file_stamp()
        return {"path": str(self.path), "file_bytes": stamp[1] if stamp else 0}
