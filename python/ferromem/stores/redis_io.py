"""How :class:`~ferromem.stores.redis.RedisStore` talks to Redis, sync and asyncio alike.

The store's operations are written once, as *plans*: generators that yield a :class:`Step` (a
few script calls or commands) and receive the replies, until they return a result. A
:class:`RedisLink` runs a plan on redis-py's client (:meth:`RedisLink.run`) or on its asyncio
client (:meth:`RedisLink.arun`), so the sync and async paths cannot disagree. A step's calls go
out in one pipeline (one round trip); on a cluster, an ``ordered`` step runs call by call, since
a cluster pipeline does not keep the order of calls to different nodes.

On a cluster with replicas, a write is acknowledged only once a replica holds it: each writing
script is followed, on the same node's connection, by ``WAIT 1 <ms>`` (Redis replicates
asynchronously, so a master killed right after answering would otherwise take acknowledged
writes with it). A write no replica confirmed in time is :class:`~ferromem.BackendUnavailableError`:
it reached the master and may or may not survive its failure, as with any timeout.

Errors are mapped in one place: a server that cannot be reached (or a cluster that is down or
failing over) is :class:`~ferromem.BackendUnavailableError`, refused credentials are
:class:`~ferromem.BackendAuthError`, anything else Redis answers is
:class:`~ferromem.StorageError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import BackendAuthError, BackendUnavailableError, FerromemError, StorageError
from .redis_scripts import SCRIPTS, Script

__all__ = ["Call", "Plan", "RedisLink", "Step", "command", "script"]

T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    """One script call (``script`` with ``keys`` and ``argv``) or one plain command."""

    script: Script | None
    keys: tuple[str, ...] = ()
    argv: tuple[Any, ...] = ()


@dataclass
class Step:
    """Calls that go out together; ``ordered`` when they must run in the order given."""

    calls: list[Call]
    ordered: bool = False


#: An operation: yields steps, receives each step's replies, returns the result.
Plan = Generator[Step, list[Any], T]


def script(name: str, keys: Sequence[str], argv: Sequence[Any] = ()) -> Call:
    """A call of one of the store's scripts."""
    return Call(SCRIPTS[name], tuple(keys), tuple(argv))


def command(*args: Any) -> Call:
    """A plain command (its first argument is the command's name)."""
    return Call(None, (), tuple(args))


def _redis() -> Any:
    try:
        import redis
        import redis.asyncio
        import redis.asyncio.cluster
        import redis.cluster
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise FerromemError(
            "RedisMemory needs the 'redis' package: pip install 'ferromem[redis]'"
        ) from e
    return redis


def map_error(e: BaseException, where: str) -> FerromemError:
    """The ferromem error for an exception redis-py raised."""
    r = _redis()
    exc = r.exceptions
    if isinstance(e, FerromemError):
        return e
    if isinstance(e, (exc.AuthenticationError, exc.AuthenticationWrongNumberOfArgsError)):
        return BackendAuthError(f"Redis at {where} refused the credentials: {e}")
    if isinstance(e, exc.NoPermissionError):
        return BackendAuthError(f"Redis at {where}: the user may not do this: {e}")
    if isinstance(
        e,
        (
            exc.ConnectionError,
            exc.TimeoutError,
            exc.ClusterDownError,
            exc.TryAgainError,
            exc.MasterDownError,
            exc.RedisClusterException,
        ),
    ):
        return BackendUnavailableError(f"Redis at {where} is unreachable: {e}")
    if isinstance(e, exc.BusyLoadingError):
        return BackendUnavailableError(f"Redis at {where} is loading its data: {e}")
    if isinstance(e, OSError):
        return BackendUnavailableError(f"Redis at {where} is unreachable: {e}")
    return StorageError(f"Redis at {where}: {e}")


def _args(call: Call) -> tuple[Any, ...]:
    if call.script is None:
        return call.argv
    return ("EVALSHA", call.script.sha, len(call.keys), *call.keys, *call.argv)


def _source_args(call: Call) -> tuple[Any, ...]:
    assert call.script is not None
    return ("EVAL", call.script.source, len(call.keys), *call.keys, *call.argv)


def _writes(call: Call) -> bool:
    return call.script is not None and call.script.writes


#: A script call's reply when the server did not know the script (it is sent again by source).
_RESEND = object()

#: How long a node's count of replicas is trusted before it is asked again (seconds).
REPLICAS_TTL = 5.0


class _Acked:
    """One pipeline of a step's calls on a cluster, each write followed by ``WAIT 1 <ms>`` on
    its node's connection when that node has a replica. redis-py's cluster client does not
    track replicas, so each master is asked (``known``: node name -> (asked at, replicas)),
    again after ``REPLICAS_TTL`` seconds. Builds the pipeline and reads its replies; the
    link does the I/O, sync or async."""

    def __init__(
        self, client: Any, calls: list[Call], timeout_ms: int, where: str, known: dict[str, Any]
    ) -> None:
        self.calls = calls
        self.timeout_ms = timeout_ms
        self.where = where
        self.known = known
        # Only writes have a node to wait on (a plain command names no keys).
        self.nodes = [client.get_node_from_key(c.keys[0]) if _writes(c) else None for c in calls]

    def to_ask(self) -> list[Any]:
        """The writes' nodes whose count of replicas is not known or too old."""
        now = time.monotonic()
        nodes = {n.name: n for n in self.nodes if n is not None}
        return [
            n
            for n in nodes.values()
            if n.name not in self.known or now - self.known[n.name][0] > REPLICAS_TTL
        ]

    def learn(self, node: Any, info: Any) -> None:
        # redis-py parses INFO into a dict (keyed by node when it went to several).
        if isinstance(info, dict) and "connected_slaves" not in info and len(info) == 1:
            info = next(iter(info.values()))
        replicas = info.get("connected_slaves", 0) if isinstance(info, dict) else 0
        self.known[node.name] = (time.monotonic(), int(replicas))

    def fill(self, pipe: Any, args: Callable[[Call], tuple[Any, ...]]) -> list[bool]:
        """Queues the calls and their ``WAIT``s; returns which calls wait."""
        waits = []
        for call, node in zip(self.calls, self.nodes, strict=True):
            pipe.execute_command(*args(call))
            waits.append(node is not None and self.known.get(node.name, (0, 0))[1] > 0)
            if waits[-1]:
                pipe.execute_command("WAIT", 1, self.timeout_ms, target_nodes=node)
        return waits

    def replies(self, waits: list[bool], replies: Any, noscript: type[BaseException]) -> list[Any]:
        """The calls' replies, each ``WAIT`` checked; ``_RESEND`` for a script the server did
        not know (sent again by source)."""
        it = iter(replies)
        out: list[Any] = []
        for waited in waits:
            reply = next(it)
            ack = next(it) if waited else None
            if isinstance(reply, noscript):
                out.append(_RESEND)
                continue
            if isinstance(reply, BaseException):
                raise reply
            if waited:
                self._check(ack)
            out.append(reply)
        return out

    def _check(self, ack: Any) -> None:
        if isinstance(ack, BaseException):
            raise ack
        if int(ack) < 1:
            raise BackendUnavailableError(
                f"Redis at {self.where}: no replica confirmed the write within"
                f" {self.timeout_ms} ms; it reached its master and may be lost if that master"
                " fails"
            )


async def _closer(client: Any) -> AsyncGenerator[None, None]:
    """Closes an asyncio client when its event loop shuts down its async generators (as
    ``asyncio.run`` does), so that no connection outlives its loop."""
    try:
        yield
    finally:
        await client.aclose()


class RedisLink:
    """The connections of one store: a sync client (made on first use, since a cluster client
    connects as it is made) and one asyncio client per event loop."""

    def __init__(
        self,
        *,
        make_sync: Callable[[], Any],
        make_async: Callable[[], Any] | None,
        cluster: bool,
        where: str,
        owns_sync: bool = True,
        max_in_flight: int = 100,
        ack_timeout_ms: int = 1000,
    ) -> None:
        self._make_sync = make_sync
        self._ack_timeout_ms = ack_timeout_ms
        self._replicas: dict[str, Any] = {}  # node name -> (asked at, replicas); see _Acked
        self._owns_sync = owns_sync
        # redis-py's asyncio pools refuse a connection beyond their size instead of waiting for
        # one: at most this many steps are in flight per event loop (the pools' size).
        self._max_in_flight = max_in_flight
        self._make_async = make_async
        self.cluster = cluster
        self.where = where
        self._sync: Any = None
        self._lock = threading.Lock()
        self._async: weakref.WeakKeyDictionary[Any, list[Any]] = weakref.WeakKeyDictionary()
        r = _redis()
        self._noscript = r.exceptions.NoScriptError
        # A cluster client's own failures are not RedisErrors.
        self._errors: tuple[type[BaseException], ...] = (
            r.exceptions.RedisError,
            r.exceptions.RedisClusterException,
            OSError,
        )

    @property
    def native_async(self) -> bool:
        """Whether an asyncio client can be made (else async calls run in worker threads)."""
        return self._make_async is not None

    # ------------------------------------------------------------------ sync
    def client(self) -> Any:
        """The sync client (made on first use)."""
        client = self._sync
        if client is None:
            with self._lock:
                if self._sync is None:
                    try:
                        self._sync = self._make_sync()
                    except self._errors as e:
                        raise map_error(e, self.where) from e
                client = self._sync
        return client

    def run(self, plan: Plan[T]) -> T:
        """Runs a plan on the sync client."""
        try:
            step = next(plan)
            while True:
                step = plan.send(self._execute(step))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def _acked_groups(self, step: Step) -> list[list[Call]] | None:
        """The pipelines a step runs in when its writes wait for a replica (see ``_Acked``),
        or None when nothing in it writes or this is not a cluster."""
        if not self.cluster or not any(_writes(c) for c in step.calls):
            return None
        return [[c] for c in step.calls] if step.ordered else [step.calls]

    def _execute(self, step: Step) -> list[Any]:
        try:
            client = self.client()
            calls = step.calls
            groups = self._acked_groups(step)
            if groups is not None:
                try:
                    return [r for g in groups for r in self._acked(client, g, _args)]
                except self._errors:
                    # WAIT and INFO name their node, so redis-py does not learn from their
                    # failure that a master is gone: read the layout again for the next write.
                    with contextlib.suppress(*self._errors):
                        client.nodes_manager.initialize()
                    raise
            if len(calls) == 1 or (self.cluster and step.ordered):
                return [self._one(client, c) for c in calls]
            pipe = client.pipeline(transaction=False)
            for c in calls:
                pipe.execute_command(*_args(c))
            replies = list(pipe.execute(raise_on_error=False))
            for i, reply in enumerate(replies):
                if isinstance(reply, self._noscript):
                    replies[i] = self._one(client, calls[i])
                elif isinstance(reply, BaseException):
                    raise reply
            return replies
        except self._errors as e:
            raise map_error(e, self.where) from e

    def _one(self, client: Any, call: Call) -> Any:
        try:
            return client.execute_command(*_args(call))
        except self._noscript:
            return client.execute_command(*_source_args(call))

    def _acked(
        self, client: Any, calls: list[Call], args: Callable[[Call], tuple[Any, ...]]
    ) -> list[Any]:
        """Runs ``calls`` in one pipeline, each write confirmed by a replica (``_Acked``)."""
        acked = _Acked(client, calls, self._ack_timeout_ms, self.where, self._replicas)
        for node in acked.to_ask():
            acked.learn(node, client.execute_command("INFO", "replication", target_nodes=node))
        pipe = client.pipeline(transaction=False)
        waits = acked.fill(pipe, args)
        out = acked.replies(waits, pipe.execute(raise_on_error=False), self._noscript)
        for i, c in enumerate(calls):
            if out[i] is _RESEND:
                out[i] = self._acked(client, [c], _source_args)[0]
        return out

    def close(self) -> None:
        """Closes the sync client's connections."""
        with self._lock:
            client, self._sync = self._sync, None
        if client is not None and self._owns_sync:
            client.close()

    # ------------------------------------------------------------------ asyncio
    async def aclient(self) -> Any:
        """This event loop's asyncio client (made on first use, closed with the loop).

        The first caller makes it (and, for a cluster, reads the cluster's layout) while the
        others wait for it: a cluster client used by many tasks before it knows the layout
        closes connections under them."""
        assert self._make_async is not None
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._async.get(loop)
            if entry is None:
                entry = self._async[loop] = [
                    loop.create_future(),
                    None,
                    asyncio.Semaphore(self._max_in_flight),
                ]
                maker = True
            else:
                maker = False
        ready: asyncio.Future[Any] = entry[0]
        if not maker:
            return await asyncio.shield(ready)
        try:
            client = self._make_async()
            closer = _closer(client)
            await closer.__anext__()  # registered with the loop, which closes it at shutdown
            entry[1] = closer
            if self.cluster:
                await client.initialize()
        except BaseException as e:
            with self._lock:
                self._async.pop(loop, None)
            error = map_error(e, self.where) if isinstance(e, self._errors) else e
            ready.set_exception(error)
            ready.exception()  # the waiters (if any) get it; nobody else needs to
            if entry[1] is not None:
                await entry[1].aclose()
            raise error from e
        ready.set_result(client)
        return client

    async def arun(self, plan: Plan[T]) -> T:
        """Runs a plan on this event loop's asyncio client."""
        try:
            step = next(plan)
            while True:
                step = plan.send(await self._aexecute(step))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    async def _aexecute(self, step: Step) -> list[Any]:
        client = await self.aclient()
        with self._lock:
            gate: asyncio.Semaphore = self._async[asyncio.get_running_loop()][2]
        async with gate:
            return await self._aexecute_on(client, step)

    async def _aexecute_on(self, client: Any, step: Step) -> list[Any]:
        try:
            calls = step.calls
            groups = self._acked_groups(step)
            if groups is not None:
                try:
                    return [r for g in groups for r in await self._aacked(client, g, _args)]
                except self._errors:
                    with contextlib.suppress(*self._errors):
                        await client.nodes_manager.initialize()
                    raise
            if len(calls) == 1 or (self.cluster and step.ordered):
                return [await self._aone(client, c) for c in calls]
            pipe = client.pipeline(transaction=False)
            for c in calls:
                pipe.execute_command(*_args(c))
            replies = list(await pipe.execute(raise_on_error=False))
            for i, reply in enumerate(replies):
                if isinstance(reply, self._noscript):
                    replies[i] = await self._aone(client, calls[i])
                elif isinstance(reply, BaseException):
                    raise reply
            return replies
        except self._errors as e:
            raise map_error(e, self.where) from e

    async def _aone(self, client: Any, call: Call) -> Any:
        try:
            return await client.execute_command(*_args(call))
        except self._noscript:
            return await client.execute_command(*_source_args(call))

    async def _aacked(
        self, client: Any, calls: list[Call], args: Callable[[Call], tuple[Any, ...]]
    ) -> list[Any]:
        """:meth:`_acked` on the asyncio client."""
        acked = _Acked(client, calls, self._ack_timeout_ms, self.where, self._replicas)
        for node in acked.to_ask():
            info = await client.execute_command("INFO", "replication", target_nodes=node)
            acked.learn(node, info)
        pipe = client.pipeline(transaction=False)
        waits = acked.fill(pipe, args)
        out = acked.replies(waits, await pipe.execute(raise_on_error=False), self._noscript)
        for i, c in enumerate(calls):
            if out[i] is _RESEND:
                out[i] = (await self._aacked(client, [c], _source_args))[0]
        return out

    async def aclose(self) -> None:
        """Closes this event loop's asyncio client."""
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._async.pop(loop, None)
        if entry is not None and entry[1] is not None:
            await entry[1].aclose()
