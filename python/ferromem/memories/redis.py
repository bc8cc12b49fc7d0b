"""`RedisMemory`: messages in Redis or a Redis Cluster, shared by processes and machines, with
keyword and (given an embedder) vector search kept in step with every writer."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..base import MemoryBackend, SessionScope, TokenCounter
from ..checks import check_positive_int
from ..embedders import Embedder
from ..errors import InvalidArgumentError, InvalidTypeError
from ..message import Message, chrono_key
from ..stores.redis import RedisStore
from ..stores.redis_connect import NodeSpec, make_link, parse_nodes
from .durable import durable_engines
from .redis_async import RedisAsyncTwins
from .redis_listing import listing as make_listing

__all__ = ["RedisMemory"]


def _check_prefix(prefix: object) -> str:
    if not isinstance(prefix, str) or not prefix or any(c in prefix for c in ":{}"):
        raise InvalidArgumentError(
            f"prefix must be a non-empty str without ':', '{{' or '}}', got {prefix!r}"
        )
    return prefix


class RedisMemory(RedisAsyncTwins, MemoryBackend):
    """Messages in a Redis server or a Redis Cluster: every process or machine pointing at the
    same server and ``prefix`` shares them.

    Connect with ``url``, or ``host``/``port``/``db``/``password`` (and ``username`` for an ACL
    user), or a cluster's nodes (``cluster_nodes=["host:port", ...]``, or the Niflheim-X seed's
    ``hosts=[{"host": ..., "port": ...}]``), or pass a ``redis.Redis`` or
    ``redis.cluster.RedisCluster`` made with ``decode_responses=False`` as ``client`` (it stays
    the caller's: :meth:`close` leaves it open). ``max_connections`` caps each pool. Nothing
    connects until the first call.

    - Every write to a session is one atomic Lua script; each session's keys share one hash tag,
      so a cluster keeps a session in one slot and never sees a command across slots. A batch
      spanning sessions is atomic per session (a session refusing it undoes the others).
      Message ids are unique within a session.
    - Search runs on engines in this process (keyword by default; with ``embedder``, by meaning,
      fused with keywords when ``hybrid``). Each session keeps a change log, so engines follow
      other writers by applying what changed, not by reloading. Vectors are stored in the
      records (float16), so no process ever embeds a message twice; the embedder's name and
      dimension are recorded, and opening with another embedder is an error unless
      ``reembed=True``.
    - ``ttl`` (seconds): a session not written for that long expires with every trace of it
      (its keys, its registry entry; the global keys go with the last session). Every write
      refreshes it.
    - The async twins of the I/O methods use redis-py's asyncio client (a cluster's in cluster
      mode); embedding and searching run in a worker thread. A server that cannot be reached
      raises :class:`~ferromem.BackendUnavailableError` at once (``socket_timeout`` bounds a
      stalled one); refused credentials raise :class:`~ferromem.BackendAuthError`. A damaged
      record raises :class:`~ferromem.CorruptDataError` naming its key.
    """

    def __init__(
        self,
        url: str | None = None,
        host: str = "localhost",
        port: int = 6379,
        db: int = 0,
        password: str | None = None,
        session_id: str | None = None,
        ttl: int | None = None,
        *,
        cluster_nodes: list[NodeSpec] | None = None,
        hosts: list[NodeSpec] | None = None,
        client: Any = None,
        username: str | None = None,
        max_connections: int | None = None,
        prefix: str = "ferromem",
        socket_timeout: float = 5.0,
        embedder: Embedder | None = None,
        hybrid: bool = False,
        reembed: bool = False,
        token_counter: TokenCounter | None = None,
    ) -> None:
        if url is not None and not isinstance(url, str):
            raise InvalidTypeError(f"url must be a str, not {type(url).__name__}")
        if not isinstance(host, str) or not host:
            raise InvalidArgumentError(f"host must be a non-empty str, got {host!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise InvalidArgumentError(f"port must be an int in 1..65535, got {port!r}")
        if isinstance(db, bool) or not isinstance(db, int) or db < 0:
            raise InvalidArgumentError(f"db must be an int >= 0, got {db!r}")
        for name, value in (("password", password), ("username", username)):
            if value is not None and not isinstance(value, str):
                raise InvalidTypeError(f"{name} must be a str, not {type(value).__name__}")
        if (
            isinstance(socket_timeout, bool)
            or not isinstance(socket_timeout, (int, float))
            or not 0 < socket_timeout < float("inf")
        ):
            raise InvalidArgumentError(
                f"socket_timeout must be a positive number of seconds, got {socket_timeout!r}"
            )
        for name, flag in (("hybrid", hybrid), ("reembed", reembed)):
            if not isinstance(flag, bool):
                raise InvalidTypeError(f"{name} must be a bool, not {type(flag).__name__}")
        self.ttl = None if ttl is None else check_positive_int(ttl, "ttl")
        limit = (
            None
            if max_connections is None
            else check_positive_int(max_connections, "max_connections")
        )
        if cluster_nodes is not None and hosts is not None:
            raise InvalidArgumentError("pass cluster_nodes or hosts, not both")
        spec = cluster_nodes if cluster_nodes is not None else hosts
        nodes = (
            None
            if spec is None
            else parse_nodes(spec, "cluster_nodes" if hosts is None else "hosts")
        )
        if client is not None and (url is not None or nodes is not None):
            raise InvalidArgumentError("pass client, url or cluster nodes, not several")
        if url is not None and nodes is not None:
            raise InvalidArgumentError("pass url or cluster nodes, not both")
        self.prefix = _check_prefix(prefix)
        link = make_link(
            url=url,
            host=host,
            port=port,
            db=db,
            password=password,
            username=username,
            nodes=nodes,
            client=client,
            max_connections=limit,
            socket_timeout=float(socket_timeout),
        )
        store = RedisStore(link, prefix=self.prefix, ttl=self.ttl)
        try:
            engines = durable_engines(store, embedder=embedder, hybrid=hybrid, reembed=reembed)
        except BaseException:
            store.close()
            raise
        vector = engines.vector
        if vector is not None:
            store.embedder_name = vector.embedder_name
            store.dimension_hint = lambda: vector.dimension
        super().__init__(
            session_id=session_id, token_counter=token_counter, store=store, engines=engines
        )
        self._redis = store
        store.on_renumber = self._forget_engines

    # ----------------------------------------------------------------- reading
    def get_messages(
        self,
        session_id: SessionScope = None,
        limit: int | None = None,
        *,
        offset: int | None = None,
        before: Any = None,
        after: Any = None,
        filters: Mapping[str, Any] | None = None,
    ) -> list[Message]:
        """Messages in chronological order (see :meth:`MemoryBackend.get_messages`); with a
        ``limit`` and no ``filters``, only each session's newest ``limit + offset`` are read."""
        page = make_listing(limit, offset, before, after, filters, self._cutoff())
        with self._lock:
            self._check_open()
            sessions = self._scope(session_id)
            if page.empty:
                return []
            found = self._redis.newest(sessions, page.newest, after=page.after, before=page.before)
        return page.finish(found, several=len(sessions) > 1)

    def _recent_iter(self, sessions: list[str]) -> Iterator[Message]:
        """Messages newest first, read from Redis a page at a time (a context needs the newest
        few, not the whole session)."""
        cutoff = self._cutoff()
        after = None if cutoff is None else cutoff - 1e-6
        n, done = 64, 0
        while True:
            found = self._redis.newest(sessions, n, after=after)
            found.sort(key=chrono_key, reverse=True)
            if len(found) < n:
                yield from found[done:]
                return
            yield from found[done:n]
            n, done = n * 8, n

    # ----------------------------------------------------------------- upkeep
    def _forget_engines(self) -> None:
        """Empties the engines (every session is rebuilt on its next search): a session number
        came back for another session, after the whole namespace expired and started over."""
        with self._lock:
            engines = self._engines
            for engine in engines.engines:
                engine.clear()
            engines._partition_keys.clear()
            engines.reset()

    def reembed(self) -> int:
        """Embeds every message again with this memory's embedder (after changing models) and
        records it; returns how many messages were embedded."""
        with self._lock:
            self._check_open()
            if self._engines.vector is None:
                raise InvalidArgumentError("reembed needs an embedder")
            return self._engines.reembed()

    def ping(self) -> bool:
        """True when the server answers; raises BackendUnavailableError when it does not."""
        from ..stores.redis_io import Step, command

        def plan() -> Any:
            reply = yield Step([command("PING")])
            return reply[0]

        return bool(self._redis.link.run(plan()))

    def _extra_stats(self) -> dict[str, Any]:
        return {"index_rebuilds": self._engines.rebuilds}

    def close(self) -> None:
        """Closes the connections this memory opened (a ``client`` passed in stays open)."""
        super().close()

    async def aclose(self) -> None:
        """Closes the memory and this event loop's asyncio connections (they are also closed
        when the loop shuts down, as ``asyncio.run`` does)."""
        self.close()
        await self._redis.link.aclose()

    async def __aenter__(self) -> RedisMemory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
