"""`RedisMemory`: messages in Redis, shared by processes and machines."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from ..base import MemoryBackend, SessionScope, TokenCounter, _message_from_args
from ..checks import check_age as _check_age
from ..checks import check_batch as _check_batch
from ..checks import check_count as _check_limit
from ..errors import BackendUnavailableError, InvalidArgumentError, InvalidTypeError, StorageError
from ..message import DEFAULT_SESSION, AllSessions, Message, chrono_key
from .dict_memory import check_positive_int
from .redis_keys import RedisKeys, decode_record, encode_record

__all__ = ["RedisMemory"]

T = TypeVar("T")


def _redis_module() -> Any:
    try:
        import redis
        import redis.asyncio
        import redis.asyncio.retry
        import redis.backoff
        import redis.retry
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise InvalidArgumentError(
            "RedisMemory needs the 'redis' package: pip install 'ferromem[redis]'"
        ) from e
    return redis


class RedisMemory(MemoryBackend):
    """Messages in a Redis server: every process or machine pointing at the same server and
    ``prefix`` shares them. Writes are MULTI/EXEC transactions, so a batch lands whole.

    ``ttl`` (seconds) expires a session that has not been written to for that long. The async
    twins of the I/O methods (``aadd_message(s)``, ``aget_messages``, ``adelete_message``,
    ``aclear_session``, ``acleanup_old_messages``, ``aget_stats``) use redis-py's native asyncio
    client; those that score text (``asearch``, ``aget_context``) load through it too and score
    in a worker thread. A server that cannot be reached raises
    :class:`BackendUnavailableError`; nothing is half-written.
    """

    def __init__(
        self,
        url: str | None = None,
        host: str = "localhost",
        port: int = 6379,
        db: int = 0,
        password: str | None = None,
        session_id: str = DEFAULT_SESSION,
        ttl: int | None = None,
        *,
        prefix: str = "ferromem",
        socket_timeout: float = 5.0,
        token_counter: TokenCounter | None = None,
    ) -> None:
        super().__init__(session_id=session_id, token_counter=token_counter)
        if url is not None and not isinstance(url, str):
            raise InvalidTypeError(f"url must be a str, not {type(url).__name__}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise InvalidArgumentError(f"port must be an int in 1..65535, got {port!r}")
        if isinstance(db, bool) or not isinstance(db, int) or db < 0:
            raise InvalidArgumentError(f"db must be an int >= 0, got {db!r}")
        self.ttl = None if ttl is None else check_positive_int(ttl, "ttl")
        if not isinstance(prefix, str) or not prefix or ":" in prefix:
            raise InvalidArgumentError(
                f"prefix must be a non-empty str without ':', got {prefix!r}"
            )
        self.keys = RedisKeys(prefix)
        redis = _redis_module()
        self._errors = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
        self._redis_error = redis.exceptions.RedisError
        # One immediate retry (a pooled connection may be stale after a server restart), then
        # a clear error: an agent should not hang for seconds on a dead server.
        options: dict[str, Any] = {
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_timeout,
            "retry": redis.retry.Retry(redis.backoff.NoBackoff(), 1),
        }
        aoptions = {**options, "retry": redis.asyncio.retry.Retry(redis.backoff.NoBackoff(), 1)}
        if url is not None:
            self._where = url
            self._client = redis.Redis.from_url(url, **options)
            self._new_aclient: Callable[[], Any] = lambda: redis.asyncio.Redis.from_url(
                url, **aoptions
            )
        else:
            self._where = f"{host}:{port}/{db}"
            conn = {"host": host, "port": port, "db": db, "password": password}
            self._client = redis.Redis(**conn, **options)
            self._new_aclient = lambda: redis.asyncio.Redis(**conn, **aoptions)

    # ----------------------------------------------------------------- error mapping
    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except self._errors as e:
            raise BackendUnavailableError(f"Redis at {self._where} is unreachable: {e}") from e
        except self._redis_error as e:
            raise StorageError(f"Redis at {self._where}: {e}") from e

    async def _acall(self, coro: Any) -> Any:
        try:
            return await coro
        except self._errors as e:
            raise BackendUnavailableError(f"Redis at {self._where} is unreachable: {e}") from e
        except self._redis_error as e:
            raise StorageError(f"Redis at {self._where}: {e}") from e

    # ----------------------------------------------------------------- shared pieces
    def _queue_store(self, pipe: Any, messages: Sequence[Message]) -> None:
        k = self.keys
        by_session: dict[str, list[Message]] = {}
        for m in messages:
            by_session.setdefault(m.session_id, []).append(m)
        for sid, msgs in by_session.items():
            pipe.zadd(k.order(sid), {m.id: m.timestamp for m in msgs})
            pipe.hset(k.msgs(sid), mapping={m.id: encode_record(m) for m in msgs})
            pipe.hset(k.ids, mapping={m.id: sid for m in msgs})
            pipe.sadd(k.sessions, sid)
            pipe.hsetnx(k.version(sid), "epoch", os.urandom(16).hex())
            pipe.hincrby(k.version(sid), "ver", 1)
            if self.ttl is not None:
                for key in (k.order(sid), k.msgs(sid), k.version(sid)):
                    pipe.expire(key, self.ttl)
        if self.ttl is not None:
            pipe.expire(k.ids, self.ttl)
            pipe.expire(k.sessions, self.ttl)

    def _queue_remove(self, pipe: Any, session_id: str, ids: Sequence[str]) -> None:
        pipe.zrem(self.keys.order(session_id), *ids)
        pipe.hdel(self.keys.msgs(session_id), *ids)
        pipe.hdel(self.keys.ids, *ids)
        pipe.hincrby(self.keys.version(session_id), "ver", 1)

    def _decode_session(
        self, session_id: str, order: list[bytes], records: list[Any]
    ) -> list[Message]:
        key = self.keys.msgs(session_id)
        return [
            decode_record(r, f"{key}[{i.decode()}]")
            for i, r in zip(order, records, strict=True)
            if r
        ]

    # ----------------------------------------------------------------- storage primitives
    def _store(self, messages: Sequence[Message]) -> None:
        def run() -> None:
            with self._client.pipeline(transaction=True) as pipe:
                self._queue_store(pipe, messages)
                pipe.execute()

        self._call(run)

    def _load(self, session_id: str) -> list[Message]:
        order: list[bytes] = self._call(
            lambda: self._client.zrange(self.keys.order(session_id), 0, -1)
        )
        if not order:
            return []
        records = self._call(lambda: self._client.hmget(self.keys.msgs(session_id), order))
        return self._decode_session(session_id, order, records)

    def _session_ids(self) -> list[str]:
        members = self._call(lambda: self._client.smembers(self.keys.sessions))
        sessions = sorted(m.decode() for m in members)
        if not sessions:
            return []

        def live() -> list[int]:
            with self._client.pipeline(transaction=False) as pipe:
                for sid in sessions:
                    pipe.exists(self.keys.order(sid))
                return list(pipe.execute())

        alive = self._call(live)
        dead = [sid for sid, n in zip(sessions, alive, strict=True) if not n]
        if dead:
            self._prune(dead)
        return [sid for sid, n in zip(sessions, alive, strict=True) if n]

    def _prune(self, dead: list[str]) -> None:
        """Forgets sessions that expired: their set members and their ids in the id map."""
        gone = {sid.encode() for sid in dead}

        def run() -> None:
            self._client.srem(self.keys.sessions, *dead)
            stale = [
                mid
                for mid, sid in self._client.hscan_iter(self.keys.ids, count=1000)
                if sid in gone
            ]
            for i in range(0, len(stale), 1000):
                self._client.hdel(self.keys.ids, *stale[i : i + 1000])

        self._call(run)

    def _remove(self, session_id: str, ids: Collection[str]) -> int:
        ids = list(ids)
        if not ids:
            return 0

        def run() -> int:
            with self._client.pipeline(transaction=True) as pipe:
                self._queue_remove(pipe, session_id, ids)
                return int(pipe.execute()[0])

        return self._call(run)

    def _clear(self, session_id: str) -> None:
        ids = self._call(lambda: self._client.zrange(self.keys.order(session_id), 0, -1))

        def run() -> None:
            with self._client.pipeline(transaction=True) as pipe:
                if ids:
                    pipe.hdel(self.keys.ids, *ids)
                pipe.delete(
                    self.keys.order(session_id),
                    self.keys.msgs(session_id),
                    self.keys.version(session_id),
                )
                pipe.srem(self.keys.sessions, session_id)
                pipe.execute()

        self._call(run)

    def _get(self, message_id: str) -> Message | None:
        sid = self._call(lambda: self._client.hget(self.keys.ids, message_id))
        if sid is None:
            return None
        key = self.keys.msgs(sid.decode())
        raw = self._call(lambda: self._client.hget(key, message_id))
        if raw is None:  # its session expired: the id is free again
            self._call(lambda: self._client.hdel(self.keys.ids, message_id))
            return None
        return decode_record(raw, f"{key}[{message_id}]")

    def _count(self, session_id: str) -> int:
        return int(self._call(lambda: self._client.zcard(self.keys.order(session_id))))

    def _session_version(self, session_id: str) -> tuple[Any, ...]:
        # Every write to a session bumps its counter (in the same transaction), so the cached
        # search index follows writes from other processes. The epoch is drawn anew when the
        # session is created again after a clear or an expiry, so the pair never repeats.
        def run() -> tuple[Any, ...]:
            epoch, ver = self._client.hmget(self.keys.version(session_id), ["epoch", "ver"])
            return (epoch, ver)

        return self._call(run)

    def _memory_usage_bytes(self) -> int:
        def run() -> int:
            total = 0
            for sid in self._session_ids():
                for key in (self.keys.order(sid), self.keys.msgs(sid)):
                    total += self._client.memory_usage(key) or 0
            return total

        return self._call(run)

    def _extra_stats(self) -> dict[str, Any]:
        return {"server": self._where, "prefix": self.keys.prefix, "ttl": self.ttl}

    def ping(self) -> bool:
        """True when the server answers; raises BackendUnavailableError when it does not."""
        return bool(self._call(self._client.ping))

    def close(self) -> None:
        """Closes the connection pools."""
        with self._lock:
            if not self._closed:
                self._client.close()
            super().close()

    @contextlib.asynccontextmanager
    async def _async_client(self) -> AsyncIterator[Any]:
        # An asyncio connection belongs to one event loop, so each async call opens its own and
        # closes it: the memory then works from any loop, and no socket outlives its loop.
        self._check_open()
        client = self._new_aclient()
        try:
            yield client
        finally:
            await client.aclose()

    # ----------------------------------------------------------------- native async I/O
    async def _aload(self, client: Any, session_id: str) -> list[Message]:
        order = await self._acall(client.zrange(self.keys.order(session_id), 0, -1))
        if not order:
            return []
        records = await self._acall(client.hmget(self.keys.msgs(session_id), order))
        return self._decode_session(session_id, order, records)

    async def _ascope(self, client: Any, session_id: SessionScope) -> list[str]:
        if isinstance(session_id, AllSessions):
            members = await self._acall(client.smembers(self.keys.sessions))
            return sorted(m.decode() for m in members)
        return self._scope(session_id)

    async def aadd_messages(
        self, messages: Iterable[Message | Mapping[str, Any]], *, session_id: SessionScope = None
    ) -> list[str]:
        """Async twin of :meth:`add_messages`, on the asyncio client."""
        _check_batch(messages)
        self._check_open()
        prepared = self._prepare(list(messages), session_id)
        if not prepared:
            return []
        ids = [m.id for m in prepared if m.id is not None]
        async with self._async_client() as client:
            stored = await self._acall(client.hmget(self.keys.ids, ids))
            for mid, found in zip(ids, stored, strict=True):
                if found is None:
                    continue
                if await self._acall(client.hexists(self.keys.msgs(found.decode()), mid)):
                    raise InvalidArgumentError(f"message id {mid!r} is already stored")
                await self._acall(client.hdel(self.keys.ids, mid))  # its session expired
            pipe = client.pipeline(transaction=True)
            self._queue_store(pipe, prepared)
            await self._acall(pipe.execute())
        return ids

    async def aadd_message(
        self, message_or_role: Message | str, content: str | None = None, **fields: Any
    ) -> str:
        """Async twin of :meth:`add_message`, on the asyncio client."""
        msg, session_id = _message_from_args(message_or_role, content, fields)
        return (await self.aadd_messages([msg], session_id=session_id))[0]

    async def aget_messages(
        self, session_id: SessionScope = None, limit: int | None = None
    ) -> list[Message]:
        """Async twin of :meth:`get_messages`, on the asyncio client."""
        limit = _check_limit(limit, "limit")
        async with self._async_client() as client:
            msgs = [
                m
                for sid in await self._ascope(client, session_id)
                for m in await self._aload(client, sid)
            ]
        msgs.sort(key=chrono_key)
        if limit is not None:
            msgs = msgs[-limit:] if limit else []
        return msgs

    async def adelete_message(self, id: str, *, session_id: SessionScope = None) -> bool:
        """Async twin of :meth:`delete_message`, on the asyncio client."""
        if not isinstance(id, str):
            raise InvalidTypeError(f"id must be str, not {type(id).__name__}")
        async with self._async_client() as client:
            sid = await self._acall(client.hget(self.keys.ids, id))
            if sid is None or sid.decode() not in await self._ascope(client, session_id):
                return False
            pipe = client.pipeline(transaction=True)
            self._queue_remove(pipe, sid.decode(), [id])
            return bool((await self._acall(pipe.execute()))[0])

    async def aclear_session(self, session_id: str | AllSessions) -> None:
        """Async twin of :meth:`clear_session`, on the asyncio client."""
        if session_id is None:
            raise InvalidArgumentError("clear_session needs a session_id (or ALL_SESSIONS)")
        async with self._async_client() as client:
            for sid in await self._ascope(client, session_id):
                ids = await self._acall(client.zrange(self.keys.order(sid), 0, -1))
                pipe = client.pipeline(transaction=True)
                if ids:
                    pipe.hdel(self.keys.ids, *ids)
                pipe.delete(self.keys.order(sid), self.keys.msgs(sid), self.keys.version(sid))
                pipe.srem(self.keys.sessions, sid)
                await self._acall(pipe.execute())

    async def acleanup_old_messages(
        self, max_age_days: float, *, session_id: SessionScope = None
    ) -> int:
        """Async twin of :meth:`cleanup_old_messages`, on the asyncio client."""
        cutoff = time.time() - _check_age(max_age_days) * 86400.0
        removed = 0
        async with self._async_client() as client:
            for sid in await self._ascope(client, session_id):
                old = await self._acall(
                    client.zrangebyscore(self.keys.order(sid), "-inf", f"({cutoff}")
                )
                if old:
                    pipe = client.pipeline(transaction=True)
                    self._queue_remove(pipe, sid, [i.decode() for i in old])
                    removed += int((await self._acall(pipe.execute()))[0])
        return removed

    async def aget_stats(self) -> dict[str, Any]:
        """Async twin of :meth:`get_stats`, on the asyncio client."""
        total = usage = live = 0
        async with self._async_client() as client:
            for sid in await self._ascope(client, AllSessions()):
                n = int(await self._acall(client.zcard(self.keys.order(sid))))
                if n:
                    live += 1
                    total += n
                    for key in (self.keys.order(sid), self.keys.msgs(sid)):
                        usage += await self._acall(client.memory_usage(key)) or 0
        stats: dict[str, Any] = {
            "backend": type(self).__name__,
            "total_messages": total,
            "active_sessions": live,
            "memory_usage_mb": usage / (1024 * 1024),
        }
        stats.update(self._extra_stats())
        return stats
