"""`save(path)` / `Class.load(path)` for the in-process memories, in the one envelope format.

A saved memory holds its class, its settings, every message with its key, the engines'
snapshots (so that a load does not rebuild the indexes, nor re-embed) and any state of its own
(a summary, for instance). Callables (embedders, summarizers, token counters, importance scorers)
cannot be saved: pass them to ``load`` again; an embedder is checked against the one that made
the saved vectors.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from .. import _core
from .._atomic import check_path, file_lock, remove_stale_temps
from ..engines.keyword import KeywordEngine
from ..engines.vector import VectorEngine
from ..envelope import pack_sections, read_envelope, unpack_sections, write_envelope
from ..errors import CorruptDataError, CorruptFileError, FerromemError, InvalidArgumentError
from ..message import Message

__all__ = ["MAGIC", "SaveLoad"]

MAGIC = b"FMMEMORY"
VERSION = 1
M = TypeVar("M", bound="SaveLoad")


def _engine_bytes(engine: KeywordEngine | VectorEngine, beside: Path) -> bytes:
    tmp = beside.with_name(f".{beside.name}.tmp-{engine.name}-{os.getpid()}")
    try:
        engine.save(tmp)
        return tmp.read_bytes()
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


class SaveLoad:
    """Saving and loading for a memory over an in-process store (mixed into the classes)."""

    #: Constructor arguments a saved memory records (callables are never among them).
    saved_settings: ClassVar[tuple[str, ...]] = ()

    # Provided by MemoryBackend; declared for the type checker.
    _lock: Any
    _engines: Any
    bound: bool
    session_id: str
    if TYPE_CHECKING:

        def _check_open(self) -> None: ...

    def _settings(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.saved_settings}

    def _saved_messages(self) -> list[tuple[int, Message]]:
        """Every message with its key (in key order)."""
        raise NotImplementedError

    def _restore_messages(self, pairs: list[tuple[int, Message]]) -> bool:
        """Puts saved messages back; True when their keys were kept (engine snapshots fit)."""
        raise NotImplementedError

    def _extra_state(self) -> dict[str, Any]:
        """State of the memory's own to save (JSON-serialisable)."""
        return {}

    def _restore_extra_state(self, state: dict[str, Any]) -> None:
        """Puts :meth:`_extra_state` back."""

    def save(self, path: str | os.PathLike[str]) -> None:
        """Saves the whole memory to ``path`` (replaced atomically; see :meth:`load`)."""
        p = check_path(path)
        with self._lock, file_lock(p, exclusive=True):
            self._check_open()
            remove_stale_temps(p)  # what a save killed half-way left behind
            pairs = self._saved_messages()
            records = [[key, m.to_dict()] for key, m in pairs]
            try:
                messages = json.dumps(records, ensure_ascii=False, separators=(",", ":"))
                extra = json.dumps(self._extra_state(), ensure_ascii=False)
            except (TypeError, ValueError) as e:
                raise InvalidArgumentError(
                    f"metadata must be JSON-serialisable to save: {e}"
                ) from e
            header: dict[str, Any] = {
                "class": type(self).__name__,
                "settings": self._settings(),
                "session_id": self.session_id if self.bound else None,
                "engines": [],
            }
            sections = {
                "messages": _core.compress(messages.encode(), "zstd", 3),
                "state": extra.encode(),
            }
            engines = self._engines
            if engines.engines and engines.seen.get(None) == engines.store.version(None):
                for engine in engines.engines:
                    sections[f"engine:{engine.name}"] = _engine_bytes(engine, p)
                    header["engines"].append(engine.name)
                if engines.vector is not None:
                    header["embedder"] = engines.vector.embedder_name
            sections["header"] = json.dumps(header).encode()
            write_envelope(p, MAGIC, VERSION, pack_sections(sections))

    @classmethod
    def load(cls: type[M], path: str | os.PathLike[str], **options: Any) -> M:
        """A memory saved by :meth:`save`. ``options`` are constructor arguments to add or
        override (an ``embedder``, a ``summarizer``, a ``token_counter``...). A damaged file
        raises :class:`CorruptFileError` naming it."""
        p = check_path(path)
        with file_lock(p, exclusive=False):  # a save in progress finishes first
            sections = unpack_sections(read_envelope(p, MAGIC, VERSION), p)
            header, state, pairs = _decode(cls.__name__, p, sections)
            settings = dict(header.get("settings") or {})
            settings.update(options)
            session_id = header.get("session_id")
            if session_id is not None:
                settings.setdefault("session_id", session_id)
            memory = cls(**settings)
            saved_embedder = header.get("embedder")
            vector = memory._engines.vector
            mismatch = vector is not None and vector.embedder_name != saved_embedder
            if saved_embedder is not None and mismatch:
                raise InvalidArgumentError(
                    f"{p} was saved with the embedder {saved_embedder}; pass embedder=... "
                    f"with that embedder to load it (got {vector.embedder_name})"
                )
            kept_keys = memory._restore_messages(pairs)
            memory._restore_extra_state(state)
            names = header.get("engines") or []
            if kept_keys and names and names == [e.name for e in memory._engines.engines]:
                memory._load_engines(p, sections)
        return memory

    def _load_engines(self, path: Path, sections: dict[str, bytes]) -> None:
        engines = self._engines
        for engine in engines.engines:
            tmp = path.with_name(f".{path.name}.tmp-load-{engine.name}-{os.getpid()}")
            try:
                tmp.write_bytes(sections[f"engine:{engine.name}"])
                engine.load(tmp)
            except (FerromemError, OSError, KeyError):
                for e in engines.engines:
                    e.clear()
                engines.reset()  # the engines are rebuilt from the messages on first use
                return
            finally:
                with contextlib.suppress(OSError):
                    tmp.unlink()
        engines.seen[None] = engines.store.version(None)


def _decode(
    name: str, path: Path, sections: dict[str, bytes]
) -> tuple[dict[str, Any], dict[str, Any], list[tuple[int, Message]]]:
    """Header, state and messages of a saved memory of class ``name``."""
    try:
        header = json.loads(sections["header"])
        state = json.loads(sections["state"])
        records = json.loads(_core.decompress(sections["messages"], "zstd"))
        if not isinstance(header, dict) or not isinstance(records, list):
            raise TypeError("unexpected structure")
        if not isinstance(state, dict):
            raise TypeError("the state is not an object")
    except (KeyError, TypeError, ValueError, RecursionError, CorruptDataError) as e:
        raise CorruptFileError(f"{path}: the saved memory does not decode: {e}") from e
    if header.get("class") != name:
        raise InvalidArgumentError(
            f"{path} holds a {header.get('class')}, not a {name}: "
            f"load it with {header.get('class')}.load"
        )
    try:
        pairs = [(int(key), Message.from_dict(rec)) for key, rec in records]
    except (TypeError, ValueError, FerromemError) as e:
        raise CorruptFileError(f"{path}: a saved message does not decode: {e}") from e
    return header, state, pairs
