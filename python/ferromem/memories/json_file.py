"""`JSONFileMemory` (and `PersistentMemory`): every session in one JSON file on disk."""

from __future__ import annotations

import json
import math
import os
import zlib
from collections.abc import Callable, Collection, Sequence
from typing import Any, TypeVar

from .._atomic import check_path, file_lock, remove_stale_temps, replace_file
from ..base import TokenCounter
from ..errors import CorruptFileError, InvalidArgumentError, StorageError
from ..message import DEFAULT_SESSION, Message
from .in_memory import InMemoryBackend

__all__ = ["JSONFileMemory", "PersistentMemory"]

MAGIC = "ferromem-json"
VERSION = 1
_FIELDS = frozenset(("id", "session_id", "role", "content", "timestamp", "importance", "metadata"))
T = TypeVar("T")


def _canonical(messages: list[dict[str, Any]]) -> str:
    return json.dumps(messages, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


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


class JSONFileMemory(InMemoryBackend):
    """Messages of every session in one JSON file, rewritten atomically (temp file, fsync,
    rename) on every change, so a crash never leaves a half-written file.

    ``path`` is the file; an existing directory means ``<dir>/memory.json``. The file holds a
    magic, a version and a CRC-32 of its messages: a damaged or crafted file raises
    :class:`CorruptFileError` naming it and is left untouched. Metadata must be
    JSON-serialisable.

    Several memories (threads or processes) may share one file: every write holds an exclusive
    lock on ``<file>.lock``, reloads the file first when another writer changed it, and reads
    reload a changed file too, so no acknowledged write is lost. Each call rewrites the whole
    file: use ``add_messages`` for bulk writes.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        session_id: str = DEFAULT_SESSION,
        token_counter: TokenCounter | None = None,
    ) -> None:
        super().__init__(session_id=session_id, token_counter=token_counter)
        p = check_path(path)
        if p.is_dir():
            p = p / "memory.json"
        self.path = p
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StorageError(f"{p.parent}: cannot create directory: {e}") from e
        self._stamp: tuple[int, int, int] | None = None
        with file_lock(p, exclusive=True):
            remove_stale_temps(p)
            self._refresh()

    # ------------------------------------------------------------- the file
    def _file_stamp(self) -> tuple[int, int, int] | None:
        """What changes when another writer replaces the file (inode, size, mtime), or None
        when there is no regular file."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        if not os.path.isfile(self.path):
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _refresh(self) -> None:
        """Reloads the file when it changed since this memory last read or wrote it."""
        stamp = self._file_stamp()
        if stamp is None or stamp == self._stamp:
            return
        messages = self._read()
        self._sessions.clear()
        self._by_id.clear()
        super()._store(messages)
        self._stamp = stamp

    def _read(self) -> list[Message]:
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
        if doc.get("version") != VERSION:
            raise CorruptFileError(f"{path}: unsupported version {doc.get('version')!r}")
        records = doc.get("messages")
        if not isinstance(records, list):
            raise CorruptFileError(f"{path}: 'messages' is not a list")
        try:
            crc = zlib.crc32(_canonical(records).encode())
        except (UnicodeEncodeError, RecursionError, ValueError) as e:
            raise CorruptFileError(f"{path}: invalid text in the messages: {e}") from None
        if crc != doc.get("crc32"):
            raise CorruptFileError(f"{path}: checksum mismatch (the file was changed or damaged)")
        messages: list[Message] = []
        seen: set[str] = set()
        for i, rec in enumerate(records):
            m = _record_message(rec, f"{path}: message {i}")
            assert m.id is not None
            if m.id in seen:
                raise CorruptFileError(f"{path}: message {i} repeats the id {m.id!r}")
            seen.add(m.id)
            messages.append(m)
        return messages

    def _write(self) -> None:
        records = [m.to_dict() for sid in self._sessions for m in self._sessions[sid].values()]
        try:
            body = _canonical(records)
        except (TypeError, ValueError) as e:
            raise InvalidArgumentError(f"metadata must be JSON-serialisable: {e}") from e
        text = f'{{"magic":"{MAGIC}","version":{VERSION},"crc32":{zlib.crc32(body.encode())},'
        text += f'"messages":{body}}}\n'
        try:
            replace_file(self.path, text.encode())
        except OSError as e:
            raise StorageError(f"{self.path}: cannot write: {e}") from e
        self._stamp = self._file_stamp()

    def _transaction(self, change: Callable[..., T], *args: Any) -> T:
        """Under the file's lock: catches up with other writers, applies ``change`` in memory,
        writes the file, and undoes the change if writing fails."""
        with file_lock(self.path, exclusive=True):
            remove_stale_temps(self.path)
            self._refresh()
            saved = ({sid: dict(msgs) for sid, msgs in self._sessions.items()}, dict(self._by_id))
            result = change(*args)
            try:
                self._write()
            except BaseException:
                self._sessions, self._by_id = saved
                raise
            return result

    def _fresh(self) -> None:
        with file_lock(self.path, exclusive=False):
            self._refresh()

    # ------------------------------------------------------------- storage primitives
    def _store(self, messages: Sequence[Message]) -> None:
        def store() -> None:
            for m in messages:
                if m.id in self._by_id:
                    raise InvalidArgumentError(f"message id {m.id!r} is already stored")
            InMemoryBackend._store(self, messages)

        self._transaction(store)

    def _remove(self, session_id: str, ids: Collection[str]) -> int:
        return self._transaction(super()._remove, session_id, ids)

    def _clear(self, session_id: str) -> None:
        self._fresh()
        if session_id in self._sessions:
            self._transaction(super()._clear, session_id)

    def _load(self, session_id: str) -> list[Message]:
        self._fresh()
        return super()._load(session_id)

    def _session_ids(self) -> list[str]:
        self._fresh()
        return super()._session_ids()

    def _get(self, message_id: str) -> Message | None:
        self._fresh()
        return super()._get(message_id)

    def _count(self, session_id: str) -> int:
        self._fresh()
        return super()._count(session_id)

    def _extra_stats(self) -> dict[str, Any]:
        stamp = self._file_stamp()
        return {"path": str(self.path), "file_bytes": stamp[1] if stamp else 0}


class PersistentMemory(JSONFileMemory):
    """The Phidata seed's persistent memory: ``storage_path`` is a directory holding
    ``memory.json`` (created when missing), or an existing ``.json`` file."""

    def __init__(
        self,
        storage_path: str | os.PathLike[str] = "./persistent_memory",
        *,
        session_id: str = DEFAULT_SESSION,
        token_counter: TokenCounter | None = None,
    ) -> None:
        p = check_path(storage_path, "storage_path")
        if not (p.suffix == ".json" and not p.is_dir()):
            try:
                p.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StorageError(f"{p}: cannot create directory: {e}") from e
        super().__init__(p, session_id=session_id, token_counter=token_counter)
