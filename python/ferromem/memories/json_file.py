"""`JSONFileMemory` (and `PersistentMemory`): every session in one JSON file on disk."""

from __future__ import annotations

import os
from typing import Any

from .._atomic import check_path
from ..base import MemoryBackend, SessionScope, TokenCounter
from ..embedders import Embedder
from ..errors import StorageError
from ..message import ALL_SESSIONS
from ..stores.jsonfile import JSONFileStore
from .durable import durable_engines

__all__ = ["JSONFileMemory", "PersistentMemory"]


class JSONFileMemory(MemoryBackend):
    """Messages of every session in one JSON file, rewritten atomically (temp file, fsync,
    rename) on every change, so a crash never leaves a half-written file.

    ``path`` is the file; an existing directory means ``<dir>/memory.json``. The file holds a
    magic, a version and a CRC-32 of its contents: a damaged or crafted file raises
    :class:`CorruptFileError` naming it and is left untouched. Metadata must be
    JSON-serialisable.

    Several memories (threads or processes) may share one file: every write holds an exclusive
    lock on ``<file>.lock`` and reloads the file first when another writer changed it, and reads
    reload a changed file too, so no acknowledged write is lost. Each call rewrites the whole
    file: use ``add_messages`` for bulk writes.

    With ``embedder=...`` it searches by meaning like :class:`~ferromem.VectorMemory` (fused with
    keywords when ``hybrid=True``); each message's vector is stored in the file beside it, so a
    restart never re-embeds.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        session_id: str | None = None,
        token_counter: TokenCounter | None = None,
        embedder: Embedder | None = None,
        hybrid: bool = False,
        reembed: bool = False,
    ) -> None:
        p = check_path(path)
        if p.is_dir():
            p = p / "memory.json"
        self.path = p
        store = JSONFileStore(p)
        engines = durable_engines(store, embedder=embedder, hybrid=hybrid, reembed=reembed)
        super().__init__(
            session_id=session_id, token_counter=token_counter, store=store, engines=engines
        )

    def _extra_stats(self) -> dict[str, Any]:
        return {}


class PersistentMemory(JSONFileMemory):
    """The Phidata seed's persistent memory: ``storage_path`` is a directory holding
    ``memory.json`` (both created when missing), or a ``.json`` file. As in the seed,
    :meth:`get_context` says ``"No conversation history available."`` when there is none, and
    :meth:`clear_memory` forgets everything."""

    #: What :meth:`get_context` returns when there is nothing to show (the seed's text).
    EMPTY_CONTEXT = "No conversation history available."

    def __init__(
        self,
        storage_path: str | os.PathLike[str] = "./persistent_memory",
        *,
        session_id: str | None = None,
        token_counter: TokenCounter | None = None,
        embedder: Embedder | None = None,
        hybrid: bool = False,
    ) -> None:
        p = check_path(storage_path, "storage_path")
        if not (p.suffix == ".json" and not p.is_dir()):
            try:
                p.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StorageError(f"{p}: cannot create directory: {e}") from e
        super().__init__(
            p,
            session_id=session_id,
            token_counter=token_counter,
            embedder=embedder,
            hybrid=hybrid,
        )

    def get_context(
        self,
        query: str | None = None,
        *,
        session_id: SessionScope = None,
        max_tokens: int | None = None,
    ) -> str:
        """As :meth:`MemoryBackend.get_context`, or :attr:`EMPTY_CONTEXT` when empty."""
        text = super().get_context(query, session_id=session_id, max_tokens=max_tokens)
        return text or self.EMPTY_CONTEXT

    def clear_memory(self) -> None:
        """Forgets every message: of the bound session, or of every session when shared."""
        self.clear_session(self.session_id if self.bound else ALL_SESSIONS)
