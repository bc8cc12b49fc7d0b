"""RedisMemory against a real redis-server: sharing, TTL, a dead or stalled server, damage."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from uuid import uuid4

import pytest

from ferromem import (
    ALL_SESSIONS,
    BackendUnavailableError,
    CorruptDataError,
    Message,
    RedisMemory,
)

from .redis_server import RedisServer, free_port, shared_redis_url


@pytest.fixture
def prefix() -> str:
    return f"t{uuid4().hex}"


@pytest.fixture
def own_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.resume()
    server.stop()


def test_another_process_sees_the_same_memory(prefix: str) -> None:
    url = shared_redis_url()
    mine = RedisMemory(url=url, prefix=prefix, session_id="user_1")
    mine.add_message("user", "written by the parent")
    code = (
        "from ferromem import RedisMemory;"
        f"m = RedisMemory(url={url!r}, prefix={prefix!r}, session_id='user_1');"
        "print(len(m.get_messages()));"
        "m.add_message('assistant', 'written by the child about PostgreSQL')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
    assert [m.content for m in mine.get_messages()][-1] == "written by the child about PostgreSQL"
    assert mine.search("postgresql")[0].message.role == "assistant"


def test_ttl_expires_an_idle_session(prefix: str) -> None:
    mem = RedisMemory(url=shared_redis_url(), prefix=prefix, ttl=1)
    mid = mem.add_message("user", "short-lived")
    mem.add_message("user", "other session", session_id="other")
    assert len(mem.get_messages()) == 1
    time.sleep(2.2)
    assert mem.get_messages() == []
    assert mem.get_messages(ALL_SESSIONS) == []
    assert mem.get_stats()["active_sessions"] == 0
    assert mem.delete_message(mid) is False


def test_a_dead_server_is_a_clear_error() -> None:
    mem = RedisMemory(port=free_port(), socket_timeout=0.5)
    with pytest.raises(BackendUnavailableError, match="unreachable"):
        mem.add_message("user", "hello")
    with pytest.raises(BackendUnavailableError, match="unreachable"):
        asyncio.run(mem.aadd_message("user", "hello"))
    with pytest.raises(BackendUnavailableError):
        mem.ping()


def test_a_stalled_server_fails_fast_and_loses_nothing(own_server: RedisServer) -> None:
    mem = RedisMemory(url=own_server.url, socket_timeout=0.5)
    mem.add_messages([Message("user", f"kept {i}") for i in range(3)])
    own_server.pause()
    with pytest.raises(BackendUnavailableError):
        mem.add_messages([Message("user", "during the stall")])
    own_server.resume()
    fresh = RedisMemory(url=own_server.url)
    contents = [m.content for m in fresh.get_messages()]
    assert contents[:3] == ["kept 0", "kept 1", "kept 2"]
    assert all(c.startswith("kept") or c == "during the stall" for c in contents)


def test_a_damaged_record_names_its_key(prefix: str) -> None:
    import redis

    mem = RedisMemory(url=shared_redis_url(), prefix=prefix)
    mid = mem.add_message("user", "fine")
    redis.Redis.from_url(shared_redis_url()).hset(mem.keys.msgs("default"), mid, b"{not json")
    with pytest.raises(CorruptDataError, match=mid):
        mem.get_messages()


def test_native_async_path_round_trip(prefix: str) -> None:
    mem = RedisMemory(url=shared_redis_url(), prefix=prefix, session_id="a")

    async def scenario() -> None:
        ids = await mem.aadd_messages([Message("user", f"async {i}") for i in range(5)])
        with pytest.raises(ValueError, match=ids[0]):
            await mem.aadd_message("user", "dup", id=ids[0])
        assert [m.id for m in await mem.aget_messages()] == ids
        assert await mem.adelete_message(ids[0]) is True
        assert (await mem.aget_stats())["total_messages"] == 4
        await mem.aclear_session("a")
        assert await mem.aget_messages() == []

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"port": 0}, ValueError, "port"),
        ({"db": -1}, ValueError, "db"),
        ({"ttl": 0}, ValueError, "ttl"),
        ({"prefix": "a:b"}, ValueError, "prefix"),
        ({"url": 5}, TypeError, "url"),
    ],
)
def test_bad_options(kwargs: dict[str, object], exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        RedisMemory(**kwargs)  # type: ignore[arg-type]


def test_cached_search_index_follows_writes_from_another_client(prefix: str) -> None:
    url = shared_redis_url()
    reader = RedisMemory(url=url, prefix=prefix)
    writer = RedisMemory(url=url, prefix=prefix)
    reader.add_message("user", "I like hiking")
    assert reader.search("kayaking") == []
    kayak = writer.add_message("user", "I went kayaking on Sunday")
    assert [h.message.id for h in reader.search("kayaking")] == [kayak]
    writer.delete_message(kayak)
    assert reader.search("kayaking") == []
