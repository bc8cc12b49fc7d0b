"""`Message`, `Hit` and the `ALL_SESSIONS` sentinel: the values every memory speaks."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final

from ._core import new_message_id as _core_new_id
from ._core import reseed_message_ids as _core_reseed
from .errors import InvalidArgumentError, InvalidTypeError

__all__ = [
    "ALL_SESSIONS",
    "DEFAULT_SESSION",
    "AllSessions",
    "Hit",
    "Message",
    "check_text",
    "chrono_key",
    "new_message_id",
]

DEFAULT_SESSION: Final = "default"


class AllSessions:
    """Type of :data:`ALL_SESSIONS`, the sentinel that explicitly reaches every session."""

    _instance: AllSessions | None = None

    def __new__(cls) -> AllSessions:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ALL_SESSIONS"

    def __reduce__(self) -> str:
        return "ALL_SESSIONS"


ALL_SESSIONS: Final = AllSessions()

# Ids are 26 hex digits: 12 of milliseconds, 6 of a per-process sequence and 8 of a random
# per-process tag. They sort by creation time within a process and stay unique across processes:
# a forked child draws a new tag (two processes sharing a tag would make the same ids in the same
# millisecond) and the sequence restarts. The core makes them (the batched write path names
# messages there too), so both paths share one sequence.


def _reseed() -> None:
    _core_reseed(int.from_bytes(os.urandom(4), "big"))


_reseed()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reseed)


def new_message_id() -> str:
    """A new unique id that sorts after every id this process made before."""
    return _core_new_id()


def check_text(value: str, field: str) -> str:
    """``value`` if it is valid Unicode text (encodable as UTF-8: no lone surrogates)."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise InvalidArgumentError(
                f"{field} is not valid Unicode text (a lone surrogate at {e.start})"
            ) from None
    return value


def _check_json_text(value: object, field: str, depth: int = 0) -> None:
    """Refuses lone surrogates in the strings of a metadata value (keys and nested values)."""
    if depth > 64:
        raise InvalidArgumentError(f"{field} nests deeper than 64 levels")
    if isinstance(value, str):
        check_text(value, field)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            if isinstance(k, str):
                check_text(k, f"{field} key {k!r}")
            _check_json_text(v, field, depth + 1)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _check_json_text(v, field, depth + 1)


def to_epoch(value: float | int | datetime | None, field: str = "timestamp") -> float:
    """UTC epoch seconds from a number or a datetime (naive datetimes are taken as UTC)."""
    if value is None:
        return time.time()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.timestamp()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidTypeError(
            f"{field} must be a float, int or datetime, not {type(value).__name__}"
        )
    if not math.isfinite(value):
        raise InvalidArgumentError(f"{field} must be finite, got {value!r}")
    return float(value)


class Message:
    """One conversation turn.

    ``timestamp`` is stored as UTC epoch seconds; ``id`` and ``importance`` are filled in by the
    memory that stores the message when left as ``None``. Messages are immutable once made:
    a memory hands out the very objects it holds, so changing one would change history.
    """

    __slots__ = ("content", "id", "importance", "metadata", "role", "session_id", "timestamp")

    role: str
    content: str
    session_id: str
    metadata: dict[str, Any]
    timestamp: float
    importance: float | None
    id: str | None

    def __init__(
        self,
        role: str,
        content: str,
        *,
        session_id: str = DEFAULT_SESSION,
        metadata: Mapping[str, Any] | None = None,
        timestamp: float | datetime | None = None,
        importance: float | None = None,
        id: str | None = None,
    ) -> None:
        if not isinstance(role, str):
            raise InvalidTypeError(f"role must be str, not {type(role).__name__}")
        if not role:
            raise InvalidArgumentError("role must not be empty")
        if not isinstance(content, str):
            raise InvalidTypeError(f"content must be str, not {type(content).__name__}")
        if not isinstance(session_id, str) or not session_id:
            raise InvalidArgumentError(f"session_id must be a non-empty str, got {session_id!r}")
        check_text(role, "role")
        check_text(content, "content")
        check_text(session_id, "session_id")
        if metadata is None:
            meta: dict[str, Any] = {}
        elif isinstance(metadata, Mapping):
            meta = dict(metadata)
            for key, value in meta.items():
                if not isinstance(key, str):
                    raise InvalidTypeError(f"metadata keys must be str, got {key!r}")
                check_text(key, "metadata key")
                _check_json_text(value, f"metadata[{key!r}]")
        else:
            raise InvalidTypeError(f"metadata must be a dict, not {type(metadata).__name__}")
        if importance is not None:
            if isinstance(importance, bool) or not isinstance(importance, (int, float)):
                raise InvalidTypeError(
                    f"importance must be a float, not {type(importance).__name__}"
                )
            if not 0.0 <= importance <= 1.0:
                raise InvalidArgumentError(f"importance must be in [0, 1], got {importance!r}")
            importance = float(importance)
        if id is not None and (not isinstance(id, str) or not id):
            raise InvalidArgumentError(f"id must be a non-empty str, got {id!r}")
        setattr_ = object.__setattr__
        setattr_(self, "role", role)
        setattr_(self, "content", content)
        setattr_(self, "session_id", session_id)
        setattr_(self, "metadata", meta)
        setattr_(self, "timestamp", to_epoch(timestamp))
        setattr_(self, "importance", importance)
        setattr_(self, "id", id)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Message is immutable; use message.replace({name}=...)")

    def replace(self, **changes: Any) -> Message:
        """A copy with some fields changed (validated like the constructor)."""
        fields = {name: getattr(self, name) for name in self.__slots__}
        fields.update(changes)
        role = fields.pop("role")
        content = fields.pop("content")
        return Message(role, content, **fields)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` reverses it."""
        return {
            "id": self.id,
            "session_id": self.session_id,
            "role": self.role,
            "content": self.content,
            "timestamp": self.timestamp,
            "importance": self.importance,
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        """Builds a message from a dict with at least ``role`` and ``content``."""
        if not isinstance(data, Mapping):
            raise InvalidTypeError(
                f"message must be a Message or a dict, not {type(data).__name__}"
            )
        unknown = set(data) - set(cls.__slots__)
        if unknown:
            raise InvalidArgumentError(f"unknown message fields: {sorted(unknown)}")
        if "role" not in data or "content" not in data:
            raise InvalidArgumentError("a message dict needs 'role' and 'content'")
        fields = dict(data)
        return cls(
            fields.pop("role"),
            fields.pop("content"),
            session_id=fields.get("session_id") or DEFAULT_SESSION,
            metadata=fields.get("metadata"),
            timestamp=fields.get("timestamp"),
            importance=fields.get("importance"),
            id=fields.get("id"),
        )

    def __getitem__(self, field: str) -> Any:
        """A field by name (``message["content"]``): the seeds read messages as dicts."""
        if not isinstance(field, str) or field not in self.__slots__:
            raise KeyError(field)
        return getattr(self, field)

    # Indexing is by field name only: a Message is not a sequence to iterate.
    __iter__ = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    def __hash__(self) -> int:
        return hash((self.id, self.session_id, self.role, self.content, self.timestamp))

    def __repr__(self) -> str:
        text = self.content if len(self.content) <= 60 else self.content[:57] + "..."
        return (
            f"Message(role={self.role!r}, content={text!r}, session_id={self.session_id!r}, "
            f"id={self.id!r})"
        )


def chrono_key(m: Message) -> tuple[float, str]:
    """The order every memory lists messages in: by timestamp, then by id (creation order)."""
    return (m.timestamp, m.id or "")


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: the message and its score (higher is better)."""

    message: Message
    score: float
