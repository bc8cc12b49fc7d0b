"""The key layout and record encoding `RedisMemory` uses, shared by its sync and async paths.

Per session: ``{prefix}:s:{session}:order`` (sorted set of ids scored by timestamp, so ties
order by id as everywhere else) and ``{prefix}:s:{session}:msgs`` (hash id -> JSON record).
Globally: ``{prefix}:ids`` (hash id -> session, to find a message by id) and
``{prefix}:sessions`` (set). ``{prefix}:s:{session}:ver`` is a hash of the session's
``epoch`` (random, drawn when the session is created again after a clear or an expiry) and
``ver`` (counts writes): together they never repeat for different contents, so a cached search
index can be keyed by them. A TTL applies to a session's keys and is refreshed on write; the
global keys get the same TTL, refreshed on every write, so nothing outlives the last session.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import CorruptDataError, InvalidArgumentError
from ..message import Message

__all__ = ["RedisKeys", "decode_record", "encode_record"]


class RedisKeys:
    """Builds the keys of one memory's namespace."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.ids = f"{prefix}:ids"
        self.sessions = f"{prefix}:sessions"

    def order(self, session_id: str) -> str:
        """Sorted set of a session's ids by timestamp."""
        return f"{self.prefix}:s:{session_id}:order"

    def version(self, session_id: str) -> str:
        """Hash of the session's epoch and write counter (keeps local search indexes in step)."""
        return f"{self.prefix}:s:{session_id}:ver"

    def msgs(self, session_id: str) -> str:
        """Hash of a session's id -> record."""
        return f"{self.prefix}:s:{session_id}:msgs"


def encode_record(m: Message) -> str:
    """The JSON stored for one message."""
    try:
        return json.dumps(m.to_dict(), ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(f"metadata must be JSON-serialisable: {e}") from e


def decode_record(raw: bytes | str, key: str) -> Message:
    """A message back from its record; a damaged record raises CorruptDataError naming it."""
    try:
        data: Mapping[str, Any] = json.loads(raw)
        return Message.from_dict(data)
    except (ValueError, TypeError) as e:
        raise CorruptDataError(f"{key}: damaged message record: {e}") from e
