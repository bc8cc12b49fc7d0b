"""The read commands of ``ferromem`` (search, context, stats, sessions, export) and the
database every command opens."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from ..errors import FerromemError
from ..memories.sqlite import SQLiteMemory
from ..message import ALL_SESSIONS, AllSessions, Hit, Message
from .exits import EXIT_DATABASE, EXIT_FILE, EXIT_OK

__all__ = [
    "CommandError",
    "context",
    "export",
    "open_db",
    "search",
    "sessions",
    "stats",
]


class CommandError(Exception):
    """A command failed; ``code`` is the exit code, the message says why."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@contextmanager
def open_db(path: Path, *, create: bool) -> Iterator[SQLiteMemory]:
    """The SQLite memory at ``path`` (shared across sessions), closed afterwards. A command
    that only reads refuses a path with no database rather than creating an empty one."""
    if not create and not path.exists():
        raise CommandError(f"no database at {path}", EXIT_DATABASE)
    try:
        memory = SQLiteMemory(path)
    except (FerromemError, OSError) as e:
        raise CommandError(f"cannot open the database {path}: {e}", EXIT_DATABASE) from e
    try:
        yield memory
    except FerromemError as e:
        raise CommandError(f"{path}: {e}", EXIT_DATABASE) from e
    finally:
        memory.close()


def _scope(session: str | None) -> str | AllSessions:
    return session if session is not None else ALL_SESSIONS


def _hit_line(hit: Hit) -> str:
    m = hit.message
    text = " ".join(m.content.split())
    return f"{hit.score:7.3f}  {m.session_id}  {m.role}: {text}"


def search(
    memory: SQLiteMemory,
    query: str,
    *,
    session: str | None,
    limit: int,
    filters: dict[str, Any] | None,
    as_json: bool,
    out: TextIO | None = None,
) -> int:
    """Prints the best hits for ``query`` (every session unless one is named)."""
    out = out if out is not None else sys.stdout
    hits = memory.search(query, session_id=_scope(session), limit=limit, filters=filters)
    for hit in hits:
        if as_json:
            out.write(json.dumps({"score": hit.score, **hit.message.to_dict()}) + "\n")
        else:
            out.write(_hit_line(hit) + "\n")
    return EXIT_OK


def context(
    memory: SQLiteMemory,
    query: str | None,
    *,
    session: str,
    max_tokens: int,
    out: TextIO | None = None,
) -> int:
    """Prints the prompt-ready context of one session within ``max_tokens``."""
    out = out if out is not None else sys.stdout
    out.write(memory.get_context(query, session_id=session, max_tokens=max_tokens) + "\n")
    return EXIT_OK


def stats(
    memory: SQLiteMemory, *, session: str | None, as_json: bool, out: TextIO | None = None
) -> int:
    """Prints the database's figures (and one session's, when named)."""
    out = out if out is not None else sys.stdout
    figures: dict[str, Any] = memory.get_stats()
    if session is not None:
        figures = {**figures, "session": memory.get_session_stats(session)}
    if as_json:
        out.write(json.dumps(figures, indent=2, default=str) + "\n")
        return EXIT_OK
    for key, value in figures.items():
        if isinstance(value, dict):
            out.write(f"{key}:\n")
            for k, v in value.items():
                out.write(f"  {k}: {v}\n")
        else:
            out.write(f"{key}: {value}\n")
    return EXIT_OK


def sessions(memory: SQLiteMemory, *, user: str | None, out: TextIO | None = None) -> int:
    """Prints every session with its number of messages."""
    out = out if out is not None else sys.stdout
    for sid in memory.list_sessions(user_id=user):
        out.write(f"{sid}\t{memory.store.count(sid)}\n")
    return EXIT_OK


def _messages(memory: SQLiteMemory, session: str | None) -> Iterator[Message]:
    names = [session] if session is not None else memory.list_sessions()
    for sid in names:
        yield from memory.get_messages(sid)


def export(
    memory: SQLiteMemory, *, session: str | None, output: Path | None, out: TextIO | None = None
) -> int:
    """Writes every message (or one session's) as JSONL, to ``output`` (replaced atomically
    once complete) or to stdout; ``ferromem import`` reads it back."""
    if output is None:
        stream = out if out is not None else sys.stdout
        for m in _messages(memory, session):
            stream.write(json.dumps(m.to_dict(), ensure_ascii=False) + "\n")
        return EXIT_OK
    temp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        with temp.open("w", encoding="utf-8") as f:
            for m in _messages(memory, session):
                f.write(json.dumps(m.to_dict(), ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, output)
    except OSError as e:
        temp.unlink(missing_ok=True)
        raise CommandError(f"cannot write {output}: {e.strerror or e}", EXIT_FILE) from e
    return EXIT_OK
