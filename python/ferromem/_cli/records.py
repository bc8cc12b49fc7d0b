"""Reading messages from files for ``ferromem ingest`` and ``import``: JSONL (one message per
line) or a LoCoMo-style conversation (``session_N`` lists of ``{speaker, dia_id, text}`` turns
with ``session_N_date_time``). Every record comes with where it was (a line number, or a path in
the conversation), so that a bad one is reported precisely while the good ones are kept."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from ..errors import FerromemError
from ..message import Message

__all__ = ["BadRecord", "Record", "detect_format", "read_jsonl", "read_locomo"]

_SESSION_KEY = re.compile(r"session_(\d+)")
_LOCOMO_TIME = "%I:%M %p on %d %B, %Y"
#: The fields a LoCoMo turn may carry beside speaker and text, kept as metadata.
_TURN_EXTRAS = ("dia_id", "img_url", "blip_caption", "query")


@dataclass(frozen=True)
class Record:
    """A message read from a file, and where it was."""

    where: str
    message: Message


@dataclass(frozen=True)
class BadRecord:
    """A record that could not become a message, where it was, and why."""

    where: str
    reason: str


def detect_format(path: Path, head: bytes) -> str:
    """``"locomo"`` for a JSON conversation file, else ``"jsonl"``."""
    text = head.lstrip()
    if path.suffix == ".jsonl" or not text.startswith(b"{"):
        return "jsonl"
    # A JSONL file's first line is a whole object; a conversation file's first line is not.
    first = text.split(b"\n", 1)[0].strip()
    try:
        json.loads(first)
    except ValueError:
        return "locomo"
    return "jsonl"


def _message(data: Any, session: str | None) -> Message:
    if not isinstance(data, dict):
        raise FerromemError(f"expected a JSON object, got {type(data).__name__}")
    if session is not None and not data.get("session_id"):
        data = {**data, "session_id": session}
    return Message.from_dict(data)


def read_jsonl(stream: IO[bytes], session: str | None) -> Iterator[Record | BadRecord | int]:
    """Messages from a JSONL stream; between records, the bytes read so far (for progress).
    Blank lines are skipped; a line that is not a message is a :class:`BadRecord`."""
    done = 0
    for number, raw in enumerate(stream, start=1):
        done += len(raw)
        where = f"line {number}"
        line = raw.strip()
        if not line:
            continue
        try:
            data = json.loads(line)
        except UnicodeDecodeError:
            yield BadRecord(where, "not UTF-8 text")
        except ValueError as e:
            yield BadRecord(where, f"not JSON ({e})")
        else:
            try:
                yield Record(where, _message(data, session))
            except (FerromemError, TypeError, ValueError) as e:
                yield BadRecord(where, str(e))
        yield done


def _session_time(doc: dict[str, Any], key: str) -> float | None:
    value = doc.get(f"{key}_date_time")
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, _LOCOMO_TIME).replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None


def read_locomo(
    doc: Any, conversation: str, session: str | None
) -> Iterator[Record | BadRecord | int]:
    """Messages from a LoCoMo conversation: one session per ``session_N`` (named
    ``<conversation>/session_N``, or ``<session>/session_N``), the speaker as the role, the
    session's date as the time of its first turn (one second apart after it)."""
    if not isinstance(doc, dict):
        yield BadRecord(
            "file", f"a conversation file holds a JSON object, not {type(doc).__name__}"
        )
        return
    keys = sorted(
        (int(m.group(1)), key) for key in doc if (m := _SESSION_KEY.fullmatch(key)) is not None
    )
    if not keys:
        yield BadRecord("file", "no session_N lists: not a LoCoMo-style conversation")
        return
    prefix = session if session is not None else conversation
    done = 0
    for _, key in keys:
        turns = doc[key]
        if not isinstance(turns, list):
            yield BadRecord(key, f"expected a list of turns, got {type(turns).__name__}")
            continue
        start = _session_time(doc, key)
        for i, turn in enumerate(turns):
            where = f"{key}[{i}]"
            done += 1
            if not isinstance(turn, dict):
                yield BadRecord(where, f"expected a turn object, got {type(turn).__name__}")
                continue
            speaker, text = turn.get("speaker"), turn.get("text")
            if not isinstance(speaker, str) or not speaker or not isinstance(text, str):
                yield BadRecord(where, "a turn needs a 'speaker' and a 'text' string")
                continue
            meta = {k: turn[k] for k in _TURN_EXTRAS if isinstance(turn.get(k), (str, list))}
            try:
                msg = Message(
                    speaker,
                    text,
                    session_id=f"{prefix}/{key}",
                    metadata=meta,
                    timestamp=None if start is None else start + i,
                )
            except FerromemError as e:
                yield BadRecord(where, str(e))
                continue
            yield Record(where, msg)
            yield done
