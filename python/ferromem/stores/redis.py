"""`RedisStore`: messages (and their vectors) in Redis or a Redis Cluster, shared by processes
and machines.

Each session is a partition of its own (layout: :mod:`ferromem.stores.redis_layout`): its keys
share one hash tag, each write to it is one Lua script (atomic, conflicts checked inside), and
it keeps a change log, so that engines in any process catch up with a session from its log
instead of reloading it. A session's version is ``(epoch, log position)``: the epoch is drawn at
random each time the session is created (again after a clear or an expiry), so a version never
repeats for different contents. Global keys (the session registry, the session-number counter,
the settings) are written by their own scripts, never in a session's transaction.

A batch that spans sessions is atomic per session; when a session refuses it (an id already
stored), what the other sessions took is removed again before the error is raised.

Every operation is a plan (see :mod:`ferromem.stores.redis_io`) that runs on redis-py's sync
client or, through the ``a``-prefixed methods, on its asyncio client.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import CorruptDataError, InvalidArgumentError, StorageError
from ..message import Message
from .base import Changes, Conflict, Loaded, Partition, Store, Vectors, WriteResult
from .redis_io import Call, Plan, RedisLink, Step, command, script
from .redis_layout import (
    ABSENT,
    RedisKeys,
    decode_record,
    encode_record,
    parse_log,
    record_vector,
    record_vector_size,
    with_vector,
)

__all__ = ["LOG_LIMIT", "RedisStore"]

#: Entries a session's change log keeps before its older half is dropped (an engine further
#: behind rebuilds that session from the store).
LOG_LIMIT = 10_000
#: How much longer than a session the registry and the global keys live (covers the time
#: between registering a session and writing it; a write that took longer registers again):
#: a tenth of the TTL, within these bounds.
SLACK_MS = (100, 2_000)
_CHUNK = 1_000
_ABSENT_VERSION: Hashable = ABSENT


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8") if isinstance(raw, bytes) else raw


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _key(num: int, counter: int) -> int:
    return (num << 32) | counter


def _bounds(after: float | None, before: float | None) -> tuple[str, str]:
    """Exclusive score bounds of a sorted-set range."""
    return (
        "-inf" if after is None else f"({after!r}",
        "+inf" if before is None else f"({before!r}",
    )


class RedisStore(Store):
    """Redis as the store (see the module docs). ``ttl`` (seconds) expires a session that has
    not been written for that long, with every trace of it; refreshed by every write."""

    shared = True
    remote = True
    keeps_vectors = True
    durable = True

    def __init__(self, link: RedisLink, *, prefix: str, ttl: int | None = None) -> None:
        self.link = link
        self.keys = RedisKeys(prefix)
        self.ttl_ms = 0 if ttl is None else int(ttl) * 1000
        self.slack_ms = min(SLACK_MS[1], max(SLACK_MS[0], self.ttl_ms // 10))
        #: The embedder's name, recorded (once) with the first vectors stored.
        self.embedder_name: str | None = None
        #: The embedder's dimension when the store records none yet: messages stored before
        #: an embedder was set then load with rows of NaN, which the engines embed once and
        #: write back.
        self.dimension_hint: Callable[[], int | None] = lambda: None
        #: Called when a session number was seen again for another session (a namespace that
        #: expired whole and started over): the engines' keys may then collide, so the memory
        #: forgets them and rebuilds.
        self.on_renumber: Callable[[], None] | None = None
        self._state = threading.Lock()
        self._known: dict[str, tuple[int, str]] = {}  # session -> (number, epoch) last seen
        self._owners: dict[int, tuple[str, str]] = {}  # number -> (session, epoch)
        self._prefetched: dict[str, Hashable] = {}
        self._dimension: int | None = None

    # ------------------------------------------------------------------ bookkeeping
    def describe(self) -> str:
        return f"Redis at {self.link.where} (prefix {self.keys.prefix!r})"

    def _observe(self, session: str, num: bytes | int, epoch: bytes | str) -> tuple[int, str]:
        n, e = int(num), _text(epoch)
        renumbered = False
        with self._state:
            owner = self._owners.get(n)
            if owner is not None and owner != (session, e):
                renumbered = True
                self._owners.clear()
                self._known.clear()
                self._prefetched.clear()
            self._owners[n] = (session, e)
            self._known[session] = (n, e)
        if renumbered and self.on_renumber is not None:
            self.on_renumber()
        return n, e

    def _gone(self, session: str) -> None:
        with self._state:
            self._known.pop(session, None)

    def _owner(self, key: int) -> tuple[str, int, str] | None:
        owner = self._owners.get(key >> 32)
        return None if owner is None else (owner[0], key >> 32, owner[1])

    def _where(self, session: str, counter: int | bytes) -> str:
        return f"{self.describe()}: {self.keys.records(session)} field {_text(str(int(counter)))}"

    # ------------------------------------------------------------------ calls
    def _touch(
        self,
        sessions: Sequence[str],
        *,
        want: int = 0,
        ttl_ms: int | None = None,
        settings: Sequence[tuple[str, str, str]] = (),
    ) -> Call:
        flat = [x for triple in settings for x in triple]
        ttl = self.ttl_ms if ttl_ms is None else ttl_ms
        argv = [ttl, self.slack_ms, want, len(settings), *flat, *sessions]
        return script("touch", [self.keys.global_meta, self.keys.registry], argv)

    def _session_call(self, name: str, session: str, argv: Sequence[Any] = ()) -> Call:
        meta, o, i, m, log, info = self.keys.session(session)
        keys = {
            "put": [meta, o, i, m, log, info],
            "remove": [meta, o, i, m, log, info],
            "clear": [meta, o, i, m, log, info],
            "info": [meta, o, i, m, log, info],
            "state": [meta, m, info],
            "changes": [meta, log],
            "load": [meta, m],
            "read": [meta, o, i, m],
            "get": [meta, m],
            "keys_of": [meta, i],
            "swap": [meta, m],
        }[name]
        return script(name, keys, argv)

    # ------------------------------------------------------------------ plans: writing
    def _put(
        self, messages: Sequence[Message], vectors: Vectors | None, on_conflict: Conflict
    ) -> Plan[WriteResult]:
        records = [
            encode_record(m, None if vectors is None else vectors[i])
            for i, m in enumerate(messages)
        ]
        groups: dict[str, list[int]] = {}
        for i, m in enumerate(messages):
            groups.setdefault(m.session_id, []).append(i)
        settings: list[tuple[str, str, str]] = []
        if vectors is not None and self.embedder_name:
            settings = [
                ("nx", "embedder", self.embedder_name),
                ("nx", "dimension", str(int(vectors.shape[1]))),
            ]
        result = WriteResult([None] * len(messages))
        with self._state:
            known = {s for s in groups if s in self._known}
        numbered: dict[str, int] = {}
        done: list[str] = []
        late: list[str] = []
        todo = list(groups)
        for _ in range(4):
            if not todo:
                break
            unknown = [s for s in todo if s not in known and s not in numbered]
            if unknown:
                reply = (yield Step([self._touch([], want=len(unknown), settings=settings)]))[0]
                numbered.update((s, int(reply[2]) + k) for k, s in enumerate(unknown))
            plain = [s for s in todo if s not in numbered]
            fresh = [s for s in todo if s in numbered]
            calls: list[Call] = []
            if plain:
                calls.append(self._touch(plain, settings=settings))
            for s in [*plain, *fresh]:
                argv: list[Any] = [
                    self.ttl_ms,
                    on_conflict,
                    numbered.get(s, ""),
                    os.urandom(16).hex(),
                    LOG_LIMIT,
                ]
                for i in groups[s]:
                    m = messages[i]
                    argv += [m.id, repr(m.timestamp), records[i]]
                calls.append(self._session_call("put", s, argv))
            if fresh:
                calls.append(self._touch(fresh))
            replies = yield Step(calls, ordered=True)
            score = int(replies[0][1]) if plain else -1
            todo = []
            failure: BaseException | None = None
            for s, reply in zip([*plain, *fresh], replies[1 if plain else 0 :], strict=False):
                status = _text(reply[0])
                if status == "need":
                    known.discard(s)
                    numbered.pop(s, None)
                    todo.append(s)
                elif status == "conflict":
                    failure = InvalidArgumentError(
                        f"message id {_text(reply[1])!r} is already stored"
                    )
                elif status == "full":
                    failure = StorageError(
                        f"{self.describe()}: session {s!r} has used all its message keys"
                    )
                else:
                    self._stored(s, reply, groups[s], result)
                    done.append(s)
                    expires = int(reply[7])
                    if s in plain and 0 <= score < expires:
                        late.append(s)
            if failure is not None:
                yield from self._undo(result, done)
                raise failure
        if todo:
            raise StorageError(f"{self.describe()}: sessions {todo} keep vanishing during a write")
        if late:
            yield Step([self._touch(late)])
        return result

    def _stored(self, session: str, reply: list[Any], rows: list[int], out: WriteResult) -> None:
        _, num, epoch, before_epoch, before_pos, pos, created, _, assigned, removed = reply
        n, e = self._observe(session, num, epoch)
        before = _ABSENT_VERSION if int(created) else (_text(before_epoch), int(before_pos))
        out.versions[session] = (before, (e, int(pos)))
        for row, counter in zip(rows, assigned, strict=True):
            if int(counter):
                out.keys[row] = _key(n, int(counter))
        out.removed.extend(_key(n, int(c)) for c in removed)

    def _undo(self, result: WriteResult, sessions: list[str]) -> Plan[None]:
        """Removes what a refused batch stored in the sessions that took it."""
        if sessions:
            keys = [k for k in result.keys if k is not None]
            yield from self._remove(keys)

    def _remove(self, keys: Sequence[int]) -> Plan[WriteResult]:
        groups: dict[tuple[str, int], list[int]] = {}
        with self._state:
            for k in keys:
                owner = self._owner(k)
                if owner is not None:
                    groups.setdefault((owner[0], owner[1]), []).append(k & 0xFFFFFFFF)
        result = WriteResult([])
        if not groups:
            return result
        sessions = list(dict.fromkeys(s for s, _ in groups))
        calls = [self._touch(sessions)]
        for (s, num), counters in groups.items():
            calls.append(self._session_call("remove", s, [self.ttl_ms, num, LOG_LIMIT, *counters]))
        replies = yield Step(calls, ordered=True)
        emptied = []
        for (s, _), reply in zip(groups, replies[1:], strict=True):
            status = _text(reply[0])
            if status == "absent":
                self._gone(s)
                result.versions.setdefault(s, (_ABSENT_VERSION, _ABSENT_VERSION))
                continue
            n, e = self._observe(s, reply[1], reply[2])
            if status == "other":
                now = (e, int(reply[3]))
                result.versions.setdefault(s, (now, now))
                continue
            before, pos = (e, int(reply[3])), int(reply[4])
            if pos < 0:
                self._gone(s)
                emptied.append(s)
            result.versions[s] = (before, _ABSENT_VERSION if pos < 0 else (e, pos))
            result.removed.extend(_key(n, int(c)) for c in reply[5:])
        if emptied:
            yield from self._unlist(emptied)
        return result

    def _remove_session(self, session: str) -> Plan[WriteResult]:
        reply = (yield Step([self._session_call("clear", session)]))[0]
        result = WriteResult([])
        if _text(reply[0]) == "absent":
            self._gone(session)
            result.versions[session] = (_ABSENT_VERSION, _ABSENT_VERSION)
            return result
        n, e = self._observe(session, reply[1], reply[2])
        self._gone(session)
        result.versions[session] = ((e, int(reply[3])), _ABSENT_VERSION)
        result.removed = [_key(n, int(c)) for c in reply[4]]
        yield from self._unlist([session])
        return result

    def _unlist(self, sessions: list[str]) -> Plan[None]:
        """Takes sessions out of the registry, then puts back those that a writer filled in the
        meantime (a writer registers before and after creating a session, so one of the two
        checks sees it)."""
        yield Step([command("ZREM", self.keys.registry, *sessions)])
        states = yield Step([self._session_call("state", s) for s in sessions])
        back = []
        for s, (num, _, _, _, info, pttl) in zip(sessions, states, strict=True):
            if num or int(info):
                back.append(self._touch([s], ttl_ms=max(int(pttl), 0)))
        if back:
            yield Step(back)

    def _write_info(self, session: str, info: dict[str, Any] | None) -> Plan[None]:
        try:
            raw = "" if info is None else json.dumps(info, sort_keys=True, ensure_ascii=False)
        except (TypeError, ValueError) as e:
            raise InvalidArgumentError(f"session metadata must be JSON-serialisable: {e}") from e
        calls = [self._touch([session]), self._session_call("info", session, [self.ttl_ms, raw])]
        replies = yield Step(calls, ordered=True)
        if info is None and not int(replies[1]):
            yield from self._unlist([session])

    def _write_vectors(self, keys: Sequence[int], vectors: Vectors) -> Plan[None]:
        rows = np.ascontiguousarray(vectors, dtype=np.float32)
        raw = yield from self._records(keys)
        groups: dict[tuple[str, int], list[Any]] = {}
        for k, row in zip(keys, rows, strict=True):
            found = raw.get(k)
            if found is None:
                continue
            session, record = found
            counter = k & 0xFFFFFFFF
            new = with_vector(record, self._where(session, counter), row)
            groups.setdefault((session, k >> 32), []).extend([counter, record, new])
        if groups:
            yield Step(
                [self._session_call("swap", s, [num, *args]) for (s, num), args in groups.items()]
            )

    def _write_setting(self, name: str, value: str) -> Plan[None]:
        yield Step([self._touch([], settings=[("set", name, value)])])
        if name == "dimension":
            self._dimension = int(value) if value.isdigit() else None

    # ------------------------------------------------------------------ plans: reading
    def _records(self, keys: Sequence[int]) -> Plan[dict[int, tuple[str, bytes]]]:
        """The raw records of these keys that are still stored, with their sessions."""
        groups: dict[tuple[str, int, str], list[int]] = {}
        with self._state:
            for k in keys:
                owner = self._owner(k)
                if owner is not None:
                    groups.setdefault(owner, []).append(k & 0xFFFFFFFF)
        calls: list[Call] = []
        asked: list[tuple[tuple[str, int, str], Sequence[int]]] = []
        for owner, counters in groups.items():
            for chunk in _chunks(counters):
                calls.append(self._session_call("get", owner[0], chunk))
                asked.append((owner, chunk))
        if not calls:
            return {}
        replies = yield Step(calls)
        out: dict[int, tuple[str, bytes]] = {}
        for ((s, num, epoch), chunk), reply in zip(asked, replies, strict=True):
            if _text(reply[0]) == "absent":
                self._gone(s)
                continue
            n, e = self._observe(s, reply[1], reply[2])
            if (n, e) != (num, epoch):
                continue  # keys of an earlier life of the session: gone
            for counter, record in zip(chunk, reply[3], strict=True):
                if record is not None:
                    out[_key(n, counter)] = (s, record)
        return out

    def _get(self, keys: Sequence[int]) -> Plan[list[Message | None]]:
        raw = yield from self._records(keys)
        out: list[Message | None] = []
        for k in keys:
            found = raw.get(k)
            if found is None:
                out.append(None)
            else:
                s, record = found
                out.append(decode_record(record, self._where(s, k & 0xFFFFFFFF), s))
        return out

    def _vectors(self, keys: Sequence[int]) -> Plan[Vectors | None]:
        raw = yield from self._records(keys)
        dim = yield from self._dimension_plan()
        return self._vector_rows([(k, raw.get(k)) for k in keys], dim)

    def _vector_rows(
        self, rows: Sequence[tuple[int, tuple[str, bytes] | None]], dim: int | None
    ) -> Vectors | None:
        if dim is None:
            return None
        out = np.full((len(rows), dim), np.nan, dtype=np.float32)
        for i, (k, found) in enumerate(rows):
            if found is None:
                continue
            s, record = found
            vec = record_vector(record, self._where(s, k & 0xFFFFFFFF), dim)
            if vec is not None:
                out[i] = vec
        return out

    def _dimension_plan(self) -> Plan[int | None]:
        if self._dimension is None:
            reply = yield Step([command("HGET", self.keys.global_meta, "setting:dimension")])
            if reply[0] is not None and _text(reply[0]).isdigit():
                self._dimension = int(_text(reply[0]))
        return self._dimension if self._dimension is not None else self.dimension_hint()

    def _keys_of(
        self, ids: Sequence[str], sessions: Sequence[str] | None
    ) -> Plan[list[int | None]]:
        if sessions is None:
            sessions = yield from self._sessions(with_info=False)
        found: dict[str, int] = {}
        calls: list[Call] = []
        asked: list[tuple[str, Sequence[str]]] = []
        for s in dict.fromkeys(sessions):
            for chunk in _chunks(list(ids)):
                calls.append(self._session_call("keys_of", s, chunk))
                asked.append((s, chunk))
        if calls and ids:
            replies = yield Step(calls)
            for (s, chunk), reply in zip(asked, replies, strict=True):
                if _text(reply[0]) == "absent":
                    self._gone(s)
                    continue
                n, _ = self._observe(s, reply[1], reply[2])
                for mid, counter in zip(chunk, reply[3], strict=True):
                    if counter and mid not in found:
                        found[mid] = _key(n, int(counter))
        return [found.get(i) for i in ids]

    def _read(
        self, session: str, low: str, high: str, with_records: bool, newest: int = 0
    ) -> Plan[list[tuple[int, bytes | None]]]:
        argv = [low, high, "1" if with_records else "0", newest]
        reply = (yield Step([self._session_call("read", session, argv)]))[0]
        if _text(reply[0]) == "absent":
            self._gone(session)
            return []
        n, _ = self._observe(session, reply[1], reply[2])
        flat = reply[3]
        if not with_records:
            return [(_key(n, int(c)), None) for c in flat]
        return [
            (_key(n, int(flat[j])), flat[j + 1])
            for j in range(0, len(flat), 2)
            if flat[j + 1] is not None
        ]

    def _messages(
        self, session: str, low: str = "-inf", high: str = "+inf", newest: int = 0
    ) -> Plan[list[Message]]:
        rows = yield from self._read(session, low, high, True, newest)
        out = []
        for k, record in rows:
            assert record is not None
            out.append(decode_record(record, self._where(session, k & 0xFFFFFFFF), session))
        # The sorted set orders by timestamp, then by id as bytes: the same as chrono_key
        # (code point order) for valid UTF-8.
        return out

    def _session_keys(self, session: str) -> Plan[list[int]]:
        rows = yield from self._read(session, "-inf", "+inf", False)
        return [k for k, _ in rows]

    def _messages_of(
        self, sessions: Sequence[str], low: str, high: str, newest: int = 0
    ) -> Plan[list[Message]]:
        """The messages of several sessions in one round trip, session by session (with
        ``newest``: each session's newest that many, newest first)."""
        if not sessions:
            return []
        argv = [low, high, "1", newest]
        replies = yield Step([self._session_call("read", s, argv) for s in sessions])
        out: list[Message] = []
        for s, reply in zip(sessions, replies, strict=True):
            if _text(reply[0]) == "absent":
                self._gone(s)
                continue
            self._observe(s, reply[1], reply[2])
            flat = reply[3]
            for j in range(0, len(flat), 2):
                if flat[j + 1] is not None:
                    out.append(decode_record(flat[j + 1], self._where(s, flat[j]), s))
        return out

    def _infos(self, sessions: Sequence[str]) -> Plan[list[dict[str, Any] | None]]:
        out: list[dict[str, Any] | None] = []
        for s in sessions:
            out.append((yield from self._info_plan(s)))
        return out

    def _session_counts(self) -> Plan[dict[str, int]]:
        sessions = yield from self._sessions(with_info=False)
        states = yield from self._states(sessions)
        return {s: st[2] for s, st in zip(sessions, states, strict=True) if st[0]}

    def _states(self, sessions: Sequence[str]) -> Plan[list[tuple[Any, ...]]]:
        """Per session: number ('' when it holds nothing), epoch, log position, messages, has
        info, its keys' PTTL; versions are kept for :meth:`version` to hand out."""
        if not sessions:
            return []
        replies = yield Step([self._session_call("state", s) for s in sessions])
        out = []
        for s, reply in zip(sessions, replies, strict=True):
            num, epoch, pos, count, info, pttl = reply
            if num:
                _, e = self._observe(s, num, epoch)
                version: Hashable = (e, int(pos))
            else:
                self._gone(s)
                version = _ABSENT_VERSION
            with self._state:
                self._prefetched[s] = version
            out.append((num, version, int(count), int(info), int(pttl)))
        return out

    def _sessions(self, *, with_info: bool) -> Plan[list[str]]:
        listed = yield Step([script("list", [self.keys.registry])])
        members = [_text(m) for m in listed[0]]
        states = yield from self._states(members)
        phantoms = [s for s, st in zip(members, states, strict=True) if not st[0] and not st[3]]
        if phantoms:
            yield from self._unlist(phantoms)
        return [s for s, st in zip(members, states, strict=True) if st[0] or (with_info and st[3])]

    def _count(self, session: str | None) -> Plan[int]:
        if session is not None:
            reply = yield Step([command("HLEN", self.keys.records(session))])
            return int(reply[0])
        sessions = yield from self._sessions(with_info=False)
        states = yield from self._states(sessions)
        return sum(st[2] for st in states)

    def _changes(self, session: str, since: Hashable) -> Plan[Changes | None]:
        if not isinstance(since, tuple) or len(since) != 2:
            return None
        epoch, pos = since
        reply = (yield Step([self._session_call("changes", session, [epoch, pos])]))[0]
        status = _text(reply[0])
        if status == "absent":
            self._gone(session)
            return Changes([], [], _ABSENT_VERSION) if since == ABSENT else None
        n, e = self._observe(session, reply[1], reply[2])
        if status == "reset":
            return None
        added, removed = parse_log(list(reply[4]), f"{self.describe()}: session {session!r}")
        return Changes(
            [_key(n, c) for c in added], [_key(n, c) for c in removed], (e, int(reply[3]))
        )

    def _load(self, session: str) -> Plan[Loaded]:
        reply = (yield Step([self._session_call("load", session)]))[0]
        if _text(reply[0]) == "absent":
            self._gone(session)
            return Loaded([], [], None, _ABSENT_VERSION)
        n, e = self._observe(session, reply[1], reply[2])
        flat = reply[4]
        pairs = sorted((int(flat[j]), flat[j + 1]) for j in range(0, len(flat), 2))
        keys = [_key(n, c) for c, _ in pairs]
        messages = [decode_record(r, self._where(session, c), session) for c, r in pairs]
        dim = yield from self._dimension_plan()
        if dim is None:
            dim = _inferred_dimension([r for _, r in pairs])
        vectors = self._vector_rows(
            [(k, (session, r)) for k, (_, r) in zip(keys, pairs, strict=True)], dim
        )
        return Loaded(keys, messages, vectors, (e, int(reply[3])))

    def _info_plan(self, session: str) -> Plan[dict[str, Any] | None]:
        reply = (yield Step([command("GET", self.keys.session(session)[5])]))[0]
        if reply is None:
            return None
        try:
            info = json.loads(reply)
        except (ValueError, RecursionError) as e:
            raise CorruptDataError(f"{self.describe()}: session {session!r} info: {e}") from e
        if not isinstance(info, dict):
            raise CorruptDataError(f"{self.describe()}: session {session!r} info is not an object")
        return info

    def _read_setting(self, name: str) -> Plan[str | None]:
        reply = (yield Step([command("HGET", self.keys.global_meta, f"setting:{name}")]))[0]
        if reply is None:
            return None
        try:
            return _text(reply)
        except UnicodeDecodeError as e:
            raise CorruptDataError(f"{self.describe()}: setting {name!r} is not text") from e

    def _usage(self) -> Plan[int]:
        sessions = yield from self._sessions(with_info=True)
        keys = [k for s in sessions for k in self.keys.session(s)]
        keys += [self.keys.global_meta, self.keys.registry]
        replies = yield Step([command("MEMORY", "USAGE", k) for k in keys])
        return sum(int(r or 0) for r in replies)

    # ------------------------------------------------------------------ Store: sync
    def put(
        self,
        messages: Sequence[Message],
        vectors: Vectors | None = None,
        *,
        on_conflict: Conflict = "error",
    ) -> WriteResult:
        return self.link.run(self._put(messages, vectors, on_conflict))

    def remove(self, keys: Sequence[int]) -> WriteResult:
        return self.link.run(self._remove(keys))

    def remove_session(self, session_id: str) -> WriteResult:
        return self.link.run(self._remove_session(session_id))

    def get(self, keys: Sequence[int]) -> list[Message | None]:
        return self.link.run(self._get(keys))

    def keys_of(
        self, ids: Sequence[str], sessions: Sequence[str] | None = None
    ) -> list[int | None]:
        return self.link.run(self._keys_of(ids, sessions))

    def session_keys(self, session_id: str) -> list[int]:
        return self.link.run(self._session_keys(session_id))

    def messages(self, session_id: str) -> list[Message]:
        return self.link.run(self._messages(session_id))

    def messages_between(
        self, session_id: str, *, after: float | None = None, before: float | None = None
    ) -> list[Message]:
        low = "-inf" if after is None else f"({after!r}"
        high = "+inf" if before is None else f"({before!r}"
        return self.link.run(self._messages(session_id, low, high))

    def newest(
        self,
        sessions: Sequence[str],
        n: int,
        *,
        after: float | None = None,
        before: float | None = None,
    ) -> list[Message]:
        """Each session's newest ``n`` messages strictly between ``after`` and ``before``,
        newest first per session, in one round trip (``n=0``: all, oldest first)."""
        return self.link.run(self._messages_of(sessions, *_bounds(after, before), n))

    def sessions(self) -> list[str]:
        return self.link.run(self._sessions(with_info=False))

    def known_sessions(self) -> list[str]:
        return self.link.run(self._sessions(with_info=True))

    def count(self, session_id: str | None = None) -> int:
        return self.link.run(self._count(session_id))

    def vectors(self, keys: Sequence[int]) -> Vectors | None:
        return self.link.run(self._vectors(keys))

    def write_vectors(self, keys: Sequence[int], vectors: Vectors) -> None:
        self.link.run(self._write_vectors(keys, vectors))

    def partitions(self, sessions: Sequence[str] | None) -> list[Partition]:
        if sessions is None:
            return list(self.sessions())  # their versions were read on the way
        wanted = list(dict.fromkeys(sessions))
        self.link.run(self._states(wanted))
        return list(wanted)

    def version(self, partition: Partition) -> Hashable:
        if partition is None:
            return "redis"  # the store has no global version: every session has its own
        with self._state:
            version = self._prefetched.pop(partition, None)
        if version is None:
            self.link.run(self._states([partition]))
            with self._state:
                version = self._prefetched.pop(partition, _ABSENT_VERSION)
        return version

    def changes(self, partition: Partition, since: Hashable) -> Changes | None:
        if partition is None:
            return None
        return self.link.run(self._changes(partition, since))

    def load(self, partition: Partition) -> Loaded:
        if partition is not None:
            return self.link.run(self._load(partition))
        parts = [self.load(s) for s in self.sessions()]
        keys = [k for p in parts for k in p.keys]
        messages = [m for p in parts for m in p.messages]
        dims = {p.vectors.shape[1] for p in parts if p.vectors is not None}
        vectors = None
        if len(dims) == 1:
            dim = dims.pop()
            vectors = np.concatenate(
                [
                    p.vectors
                    if p.vectors is not None
                    else np.full((len(p.keys), dim), np.nan, np.float32)
                    for p in parts
                ]
            )
        return Loaded(keys, messages, vectors, "redis")

    def read_setting(self, name: str) -> str | None:
        return self.link.run(self._read_setting(name))

    def write_setting(self, name: str, value: str) -> None:
        self.link.run(self._write_setting(name, value))

    def session_info(self, session_id: str) -> dict[str, Any] | None:
        return self.link.run(self._info_plan(session_id))

    def write_session_info(self, session_id: str, info: dict[str, Any] | None) -> None:
        self.link.run(self._write_info(session_id, info))

    def usage_bytes(self) -> int:
        return self.link.run(self._usage())

    def stats(self) -> dict[str, Any]:
        return {
            "server": self.link.where,
            "cluster": self.link.cluster,
            "prefix": self.keys.prefix,
            "ttl": self.ttl_ms // 1000 if self.ttl_ms else None,
        }

    def close(self) -> None:
        self.link.close()

    # ------------------------------------------------------------------ Store: asyncio
    async def aput(
        self,
        messages: Sequence[Message],
        vectors: Vectors | None = None,
        *,
        on_conflict: Conflict = "error",
    ) -> WriteResult:
        """Async twin of :meth:`put`."""
        return await self.link.arun(self._put(messages, vectors, on_conflict))

    async def aremove(self, keys: Sequence[int]) -> WriteResult:
        """Async twin of :meth:`remove`."""
        return await self.link.arun(self._remove(keys))

    async def aremove_session(self, session_id: str) -> WriteResult:
        """Async twin of :meth:`remove_session`."""
        return await self.link.arun(self._remove_session(session_id))

    async def aget(self, keys: Sequence[int]) -> list[Message | None]:
        """Async twin of :meth:`get`."""
        return await self.link.arun(self._get(keys))

    async def akeys_of(
        self, ids: Sequence[str], sessions: Sequence[str] | None = None
    ) -> list[int | None]:
        """Async twin of :meth:`keys_of`."""
        return await self.link.arun(self._keys_of(ids, sessions))

    async def asession_keys(self, session_id: str) -> list[int]:
        """Async twin of :meth:`session_keys`."""
        return await self.link.arun(self._session_keys(session_id))

    async def amessages(self, session_id: str) -> list[Message]:
        """Async twin of :meth:`messages`."""
        return await self.link.arun(self._messages(session_id))

    async def amessages_between(
        self, session_id: str, *, after: float | None = None, before: float | None = None
    ) -> list[Message]:
        """Async twin of :meth:`messages_between`."""
        low = "-inf" if after is None else f"({after!r}"
        high = "+inf" if before is None else f"({before!r}"
        return await self.link.arun(self._messages(session_id, low, high))

    async def asessions(self) -> list[str]:
        """Async twin of :meth:`sessions`."""
        return await self.link.arun(self._sessions(with_info=False))

    async def aknown_sessions(self) -> list[str]:
        """Async twin of :meth:`known_sessions`."""
        return await self.link.arun(self._sessions(with_info=True))

    async def acount(self, session_id: str | None = None) -> int:
        """Async twin of :meth:`count`."""
        return await self.link.arun(self._count(session_id))

    async def asession_info(self, session_id: str) -> dict[str, Any] | None:
        """Async twin of :meth:`session_info`."""
        return await self.link.arun(self._info_plan(session_id))

    async def awrite_session_info(self, session_id: str, info: dict[str, Any] | None) -> None:
        """Async twin of :meth:`write_session_info`."""
        await self.link.arun(self._write_info(session_id, info))

    async def anewest(
        self,
        sessions: Sequence[str],
        n: int,
        *,
        after: float | None = None,
        before: float | None = None,
    ) -> list[Message]:
        """Async twin of :meth:`newest`."""
        return await self.link.arun(self._messages_of(sessions, *_bounds(after, before), n))

    async def akeys_before(self, session_id: str, cutoff: float) -> list[int]:
        """The keys of a session's messages older than ``cutoff``."""
        rows = await self.link.arun(self._read(session_id, "-inf", f"({cutoff!r}", False))
        return [k for k, _ in rows]

    async def asession_infos(self, sessions: Sequence[str]) -> list[dict[str, Any] | None]:
        """The info of each of these sessions."""
        return await self.link.arun(self._infos(sessions))

    async def asession_counts(self) -> dict[str, int]:
        """Messages per session holding any."""
        return await self.link.arun(self._session_counts())

    async def ausage_bytes(self) -> int:
        """Async twin of :meth:`usage_bytes`."""
        return await self.link.arun(self._usage())


def _inferred_dimension(records: Sequence[bytes]) -> int | None:
    """The dimension of the vectors stored in these records when no setting records it."""
    for r in records:
        try:
            size = record_vector_size(r)
        except CorruptDataError:
            continue
        if size:
            return size // 2
    return None
