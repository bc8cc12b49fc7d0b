"""Building the redis-py clients of a :class:`~ferromem.stores.redis_io.RedisLink` from
``RedisMemory``'s options: a URL, a host, a cluster's nodes, or a client made by the caller.

Clients fail fast: one immediate retry on a broken connection (a pooled connection may be stale
after a server restart), none on a timeout (the command may have run: sending it again could
report the caller's own write as a conflict). A cluster client also rides out a failover for a
few seconds before it gives up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidArgumentError, InvalidTypeError
from .redis_io import RedisLink, _redis

__all__ = ["NodeSpec", "make_link", "parse_nodes"]

#: A cluster node as the caller gives it: ``"host:port"``, ``(host, port)`` or
#: ``{"host": ..., "port": ...}`` (the Niflheim-X seed's ``hosts=[...]``).
NodeSpec = str | tuple[str, int] | Mapping[str, Any]

# Connection settings a sync client's pool may hold that its asyncio twin takes as they are.
_PORTABLE = (
    "host",
    "port",
    "db",
    "username",
    "password",
    "socket_timeout",
    "socket_connect_timeout",
    "client_name",
    "path",
)


def _check_port(port: object, name: str) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise InvalidArgumentError(f"{name} must be an int in 1..65535, got {port!r}")
    return port


def parse_nodes(nodes: object, name: str) -> list[tuple[str, int]]:
    """``(host, port)`` pairs from a list of node specs; a bad one is named."""
    if isinstance(nodes, (str, bytes)) or not isinstance(nodes, Sequence) or not nodes:
        raise InvalidArgumentError(f"{name} must be a non-empty list of nodes, got {nodes!r}")
    out = []
    for i, node in enumerate(nodes):
        where = f"{name}[{i}]"
        if isinstance(node, str):
            host, sep, port_text = node.rpartition(":")
            if not sep or not host or not port_text.isdigit():
                raise InvalidArgumentError(f"{where} must be 'host:port', got {node!r}")
            out.append((host, _check_port(int(port_text), f"{where} port")))
        elif isinstance(node, Mapping):
            name_, port = node.get("host"), node.get("port", 6379)
            if not isinstance(name_, str) or not name_:
                raise InvalidArgumentError(f"{where} needs a 'host' str, got {node!r}")
            out.append((name_, _check_port(port, f"{where} port")))
        elif isinstance(node, tuple) and len(node) == 2 and isinstance(node[0], str):
            out.append((node[0], _check_port(node[1], f"{where} port")))
        else:
            raise InvalidTypeError(
                f"{where} must be 'host:port', (host, port) or a dict, not {type(node).__name__}"
            )
    return out


def _retry(r: Any, asyncio: bool) -> Any:
    retry_cls = r.asyncio.retry.Retry if asyncio else r.retry.Retry
    return retry_cls(r.backoff.NoBackoff(), 1, supported_errors=(r.exceptions.ConnectionError,))


def _cluster_retry(r: Any) -> Any:
    # A failover takes about the cluster's node timeout: keep trying for a few seconds.
    return r.retry.Retry(r.backoff.ExponentialBackoff(cap=1.0, base=0.1), 6)


def make_link(
    *,
    url: str | None,
    host: str,
    port: int,
    db: int,
    password: str | None,
    username: str | None,
    nodes: list[tuple[str, int]] | None,
    client: Any,
    max_connections: int | None,
    socket_timeout: float,
) -> RedisLink:
    """The link for the options given (see :class:`~ferromem.RedisMemory`)."""
    r = _redis()
    if client is not None:
        return _link_for_client(r, client)
    common: dict[str, Any] = {
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": socket_timeout,
    }
    if password is not None:
        common["password"] = password
    if username is not None:
        common["username"] = username
    if nodes is not None:
        where = ",".join(f"{h}:{p}" for h, p in nodes)
        limit = {} if max_connections is None else {"max_connections": max_connections}

        def make_cluster() -> Any:
            return r.cluster.RedisCluster(
                startup_nodes=[r.cluster.ClusterNode(h, p) for h, p in nodes],
                retry=_cluster_retry(r),
                **common,
                **limit,
            )

        def make_async_cluster() -> Any:
            return r.asyncio.cluster.RedisCluster(
                startup_nodes=[r.asyncio.cluster.ClusterNode(h, p) for h, p in nodes],
                retry=r.asyncio.retry.Retry(r.backoff.ExponentialBackoff(cap=1.0, base=0.1), 6),
                **common,
                **limit,
            )

        return RedisLink(
            make_sync=make_cluster,
            make_async=make_async_cluster,
            cluster=True,
            where=where,
            max_in_flight=max_connections or 100,
            # A replica's acknowledgement must come back before the socket gives up.
            ack_timeout_ms=max(1, min(1000, int(socket_timeout * 500))),
        )
    pool: dict[str, Any] = {}
    if max_connections is not None:
        pool["max_connections"] = max_connections
    if url is not None:
        where = url.split("@")[-1]  # never show a password

        def make_sync() -> Any:
            return r.Redis.from_url(url, retry=_retry(r, False), **common, **pool)

        def make_async() -> Any:
            return r.asyncio.Redis.from_url(url, retry=_retry(r, True), **common, **pool)

    else:
        where = f"{host}:{port}/{db}"
        conn = {"host": host, "port": port, "db": db, **common, **pool}

        def make_sync() -> Any:
            return r.Redis(retry=_retry(r, False), **conn)

        def make_async() -> Any:
            return r.asyncio.Redis(retry=_retry(r, True), **conn)

    return RedisLink(
        make_sync=make_sync,
        make_async=make_async,
        cluster=False,
        where=where,
        max_in_flight=max_connections or 100,
    )


def _link_for_client(r: Any, client: Any) -> RedisLink:
    """A link over a client the caller made (its asyncio twin made from the same settings)."""
    if isinstance(client, r.cluster.RedisCluster):
        kwargs = dict(client.get_connection_kwargs())
        if kwargs.get("decode_responses"):
            raise InvalidArgumentError("client must be made with decode_responses=False")
        nodes = [(n.host, n.port) for n in client.get_nodes()]
        portable = {k: kwargs[k] for k in _PORTABLE if k in kwargs and k not in ("host", "port")}
        portable.pop("db", None)
        portable.pop("path", None)

        def make_async_cluster() -> Any:
            return r.asyncio.cluster.RedisCluster(
                startup_nodes=[r.asyncio.cluster.ClusterNode(h, p) for h, p in nodes], **portable
            )

        where = ",".join(f"{h}:{p}" for h, p in nodes)
        return RedisLink(
            make_sync=lambda: client,
            make_async=make_async_cluster,
            cluster=True,
            where=where,
            owns_sync=False,
        )
    if isinstance(client, r.Redis):
        kwargs = dict(client.connection_pool.connection_kwargs)
        if kwargs.get("decode_responses"):
            raise InvalidArgumentError("client must be made with decode_responses=False")
        portable = {k: kwargs[k] for k in _PORTABLE if k in kwargs}
        if "path" in portable:
            portable["unix_socket_path"] = portable.pop("path")
        where = (
            str(portable.get("unix_socket_path"))
            if "unix_socket_path" in portable
            else f"{portable.get('host')}:{portable.get('port')}/{portable.get('db', 0)}"
        )
        # TLS and custom connection classes have settings an asyncio client cannot take over
        # safely: such a client's async twins run its sync calls in worker threads instead.
        plain = client.connection_pool.connection_class.__name__ in (
            "Connection",
            "UnixDomainSocketConnection",
        )
        return RedisLink(
            make_sync=lambda: client,
            make_async=(lambda: r.asyncio.Redis(**portable)) if plain else None,
            cluster=False,
            where=where,
            owns_sync=False,
        )
    raise InvalidTypeError(
        f"client must be a redis.Redis or redis.cluster.RedisCluster, not {type(client).__name__}"
    )
