"""The key layout and the record format of :class:`~ferromem.stores.redis.RedisStore`.

Every key of one session shares the hash tag ``{<session>}`` (the session id with ``%``, ``{``
and ``}`` escaped, so that no session id can end the tag early or make two sessions share one),
so a Redis Cluster keeps a session in one slot and every write to it is one atomic script::

    <prefix>:s:{<session>}:meta   hash: num (session number), epoch, next (counter), pos, floor
    <prefix>:s:{<session>}:o      sorted set: message id -> timestamp (ties order by id)
    <prefix>:s:{<session>}:i      hash: message id -> counter
    <prefix>:s:{<session>}:m      hash: counter -> record (the message and its vector)
    <prefix>:s:{<session>}:log    list: one entry per write, "added counters|removed counters"
    <prefix>:s:{<session>}:info   string: the session's info (start, end, metadata) as JSON

The global keys share the tag ``{<prefix>}`` and are written by their own commands, never in a
session's script: ``<prefix>:{<prefix>}:meta`` (hash: the session-number counter and settings)
and ``<prefix>:{<prefix>}:sessions`` (sorted set: session id -> the time it expires, ``+inf``
without a TTL).

A message's store key is ``session number << 32 | counter``; a session draws a new number from
the global counter each time it is created (again after a clear or an expiry), so keys of its
earlier lives never resolve to its new messages.

A record is ``b"FR"``, a format version byte, the id (u16 length, UTF-8), a CRC-32 of the id,
body and vector, the body length (u32), the body (JSON: session, role, content, timestamp,
importance, metadata) and the vector (float16, or nothing). The Lua scripts read the id from the
header to remove a message by its counter.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import CorruptDataError, InvalidArgumentError
from ..message import Message

__all__ = [
    "ABSENT",
    "MAX_COUNTER",
    "MAX_NUMBER",
    "RECORD_VERSION",
    "RedisKeys",
    "decode_record",
    "encode_record",
    "parse_log",
    "record_vector",
    "record_vector_size",
    "session_tag",
    "with_vector",
]

#: The version of a session that holds nothing (never written, cleared, emptied or expired).
ABSENT: tuple[str, int] = ("", 0)
#: Session numbers and per-session counters stay below these (the all-ones key is the vector
#: index's "no id").
MAX_NUMBER = 2**32 - 2
MAX_COUNTER = 2**32 - 2
RECORD_VERSION = 1
_MAGIC = b"FR"
_HEAD = struct.Struct(">2sBH")  # magic, version, id length
_SUMS = struct.Struct(">II")  # crc32, body length


def session_tag(session_id: str) -> str:
    """The session id as it appears inside the hash tag (``{`` and ``}`` escaped)."""
    return session_id.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")


class RedisKeys:
    """The key names of one namespace (``prefix``)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.global_meta = f"{prefix}:{{{prefix}}}:meta"
        self.registry = f"{prefix}:{{{prefix}}}:sessions"

    def session(self, session_id: str) -> list[str]:
        """The keys of a session, in the order the scripts take them: meta, o, i, m, log, info."""
        base = f"{self.prefix}:s:{{{session_tag(session_id)}}}:"
        return [base + part for part in ("meta", "o", "i", "m", "log", "info")]

    def records(self, session_id: str) -> str:
        """The hash of a session's records (named in damage reports)."""
        return self.session(session_id)[3]


def encode_record(m: Message, vector: npt.NDArray[np.float32] | None) -> bytes:
    """The bytes stored for one message (and its vector, as float16)."""
    assert m.id is not None
    ident = m.id.encode("utf-8")
    if len(ident) > 0xFFFF:
        raise InvalidArgumentError(f"message id is {len(ident)} bytes long; the limit is 65535")
    try:
        body = json.dumps(
            [m.session_id, m.role, m.content, m.timestamp, m.importance, m.metadata],
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(f"metadata must be JSON-serialisable: {e}") from e
    vec = b"" if vector is None else np.ascontiguousarray(vector, dtype=np.float16).tobytes()
    return _pack(ident, body, vec)


def _pack(ident: bytes, body: bytes, vec: bytes) -> bytes:
    crc = zlib.crc32(vec, zlib.crc32(body, zlib.crc32(ident)))
    head = _HEAD.pack(_MAGIC, RECORD_VERSION, len(ident))
    return b"".join((head, ident, _SUMS.pack(crc, len(body)), body, vec))


def _split(raw: bytes, where: str) -> tuple[bytes, bytes, bytes]:
    """The id, body and vector bytes of a record, checked (magic, version, lengths, CRC)."""
    if not isinstance(raw, bytes) or len(raw) < _HEAD.size:
        raise CorruptDataError(f"{where}: damaged message record (too short)")
    magic, version, id_len = _HEAD.unpack_from(raw)
    if magic != _MAGIC:
        raise CorruptDataError(f"{where}: not a ferromem message record")
    if version != RECORD_VERSION:
        raise CorruptDataError(
            f"{where}: record format {version}, this ferromem reads {RECORD_VERSION}"
        )
    at = _HEAD.size + id_len
    if len(raw) < at + _SUMS.size:
        raise CorruptDataError(f"{where}: damaged message record (truncated header)")
    crc, body_len = _SUMS.unpack_from(raw, at)
    start = at + _SUMS.size
    if len(raw) < start + body_len:
        raise CorruptDataError(f"{where}: damaged message record (truncated body)")
    ident, body, vec = raw[_HEAD.size : at], raw[start : start + body_len], raw[start + body_len :]
    if zlib.crc32(vec, zlib.crc32(body, zlib.crc32(ident))) != crc:
        raise CorruptDataError(f"{where}: message record fails its checksum (damaged)")
    return ident, body, vec


def decode_record(raw: bytes, where: str, session_id: str) -> Message:
    """The message of a record; a damaged one raises CorruptDataError naming ``where``."""
    ident, body, _ = _split(raw, where)
    try:
        fields: Any = json.loads(body)
        if not isinstance(fields, list) or len(fields) != 6:
            raise ValueError("the body is not a six-field list")
        sid, role, content, ts, importance, metadata = fields
        if sid != session_id:
            raise ValueError(f"it belongs to session {sid!r}")
        return Message(
            role,
            content,
            session_id=sid,
            metadata=metadata,
            timestamp=ts,
            importance=importance,
            id=ident.decode("utf-8"),
        )
    except (ValueError, TypeError, RecursionError) as e:
        raise CorruptDataError(f"{where}: damaged message record: {e}") from e


def record_vector(raw: bytes, where: str, dimension: int) -> npt.NDArray[np.float16] | None:
    """The stored vector of a record (None when it was stored without one)."""
    _, _, vec = _split(raw, where)
    if not vec:
        return None
    if len(vec) != 2 * dimension:
        raise CorruptDataError(
            f"{where}: the vector has {len(vec)} bytes, not {2 * dimension} (dimension {dimension})"
        )
    return np.frombuffer(vec, dtype=np.float16)


def record_vector_size(raw: bytes) -> int:
    """Bytes of the vector stored in a record (0: none)."""
    return len(_split(raw, "")[2])


def with_vector(raw: bytes, where: str, vector: npt.NDArray[np.float32]) -> bytes:
    """The record with its vector replaced."""
    ident, body, _ = _split(raw, where)
    return _pack(ident, body, np.ascontiguousarray(vector, dtype=np.float16).tobytes())


def parse_log(entries: list[bytes], where: str) -> tuple[list[int], list[int]]:
    """The counters added and removed by change-log entries (``"first+count|r1,r2"``: the
    counters one write added are consecutive), in order."""
    added: list[int] = []
    removed: list[int] = []
    try:
        for entry in entries:
            plus, _, minus = entry.decode("ascii").partition("|")
            first, _, count = plus.partition("+")
            added.extend(range(int(first), int(first) + int(count)))
            if minus:
                removed.extend(int(x) for x in minus.split(","))
    except (UnicodeDecodeError, ValueError) as e:
        raise CorruptDataError(f"{where}: damaged change-log entry: {e}") from e
    return added, removed
