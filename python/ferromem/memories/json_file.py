"""`JSONFileMemory` (alias `PersistentMemory`): every session in one JSON file on disk."""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from .._atomic import replace_file
from ..base import TokenCounter
from ..errors import CorruptFileError, InvalidArgumentError, InvalidTypeError, StorageError
from ..message import DEFAULT_SESSION, Message
from .in_memory import InMemoryBackend

__all__ = ["JSONFileMemory", "PersistentMemory"]

MAGIC = "ferromem-json"
VERSION = 1


def _canonical(messages: list[dict[str, Any]]) -> str:
    return json.dumps(messages, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class JSONFileMemory(InMemoryBackend):
    """Messages of every session in one JSON file, reloaded on open and rewritten atomically
    (temp file, fsync, rename) on every change, so a crash never leaves a half-written file.

    ``path`` is the file; an existing directory means ``<dir>/memory.json`` (as in the Phidata
    seed). The file holds a magic, a version and a CRC-32 of its messages: a damaged file raises
    :class:`CorruptFileError` and is left untouched. Metadata must be JSON-serialisable. One
    process at a time should write a given file; use ``add_messages`` for bulk writes, since each
    call rewrites the file once.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        session_id: str = DEFAULT_SESSION,
        token_counter: TokenCounter | None = None,
    ) -> None:
        super().__init__(session_id=session_id, token_counter=token_counter)
        if not isinstance(path, (str, os.PathLike)):
            raise InvalidTypeError(f"path must be a str or os.PathLike, not {type(path).__name__}")
        p = Path(path)
        if p.is_dir():
            p = p / "memory.json"
        self.path = p
        if p.exists():
            self._read()
        else:
            try:
                p.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StorageError(f"{p.parent}: cannot create directory: {e}") from e

    def _read(self) -> None:
        path = self.path
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise StorageError(f"{path}: cannot read: {e}") from e
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise CorruptFileError(f"{path}: not a valid ferromem JSON file: {e}") from e
        if not isinstance(doc, dict) or doc.get("magic") != MAGIC:
            raise CorruptFileError(f"{path}: not a ferromem JSON file (magic missing)")
        if doc.get("version") != VERSION:
            raise CorruptFileError(f"{path}: unsupported version {doc.get('version')!r}")
        records = doc.get("messages")
        if not isinstance(records, list):
            raise CorruptFileError(f"{path}: 'messages' is not a list")
        if zlib.crc32(_canonical(records).encode()) != doc.get("crc32"):
            raise CorruptFileError(f"{path}: checksum mismatch (the file was changed or damaged)")
        messages = []
        for i, rec in enumerate(records):
            try:
                messages.append(Message.from_dict(rec))
            except (TypeError, ValueError) as e:
                raise CorruptFileError(f"{path}: message {i} is invalid: {e}") from e
        super()._store(messages)

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

    def _transaction(self, change: Any, *args: Any) -> Any:
        """Applies ``change`` in memory, writes the file, and undoes the change if writing fails."""
        saved = ({sid: dict(msgs) for sid, msgs in self._sessions.items()}, dict(self._by_id))
        result = change(*args)
        try:
            self._write()
        except BaseException:
            self._sessions, self._by_id = saved
            raise
        return result

    def _store(self, messages: Sequence[Message]) -> None:
        self._transaction(super()._store, messages)

    def _remove(self, session_id: str, ids: Collection[str]) -> int:
        removed: int = self._transaction(super()._remove, session_id, ids)
        return removed

    def _clear(self, session_id: str) -> None:
        if session_id in self._sessions:
            self._transaction(super()._clear, session_id)

    def _extra_stats(self) -> dict[str, Any]:
        size = self.path.stat().st_size if self.path.exists() else 0
        return {"path": str(self.path), "file_bytes": size}


PersistentMemory = JSONFileMemory
