"""RedisMemory against a real redis-server: sharing between processes and forks, the change log,
vectors in records, TTL, sessions with a life, a dead, stalled, restarted or password-protected
server, damaged records, and the native asyncio twins."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from uuid import uuid4

import numpy as np
import pytest
import redis
from redis.crc import key_slot

import ferromem
from ferromem import (
    ALL_SESSIONS,
    BackendAuthError,
    BackendUnavailableError,
    CorruptDataError,
    InvalidArgumentError,
    Message,
    RedisMemory,
)
from ferromem.embedders import HashingEmbedder
from ferromem.stores import redis as redis_store
from ferromem.stores.redis_layout import session_tag

from .redis_server import RedisServer, free_port, shared_redis_url


@pytest.fixture
def prefix() -> str:
    return f"t{uuid4().hex}"


@pytest.fixture
def raw() -> redis.Redis:
    return redis.Redis.from_url(shared_redis_url())


@pytest.fixture
def own_server() -> Iterator[RedisServer]:
    server = RedisServer(extra=("--enable-debug-command", "local"))
    yield server
    server.resume()
    server.stop()


def _mem(prefix: str, **kw: object) -> RedisMemory:
    return RedisMemory(url=shared_redis_url(), prefix=prefix, **kw)  # type: ignore[arg-type]


class CountingEmbedder:
    """The hashing embedder, counting the texts it embeds."""

    name = "counting-hash-64"
    dimension = 64

    def __init__(self) -> None:
        self.inner = HashingEmbedder(dim=64)
        self.texts = 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.texts += len(texts)
        return self.inner(texts)


# ---------------------------------------------------------------- sharing
def test_another_process_sees_the_same_memory(prefix: str) -> None:
    url = shared_redis_url()
    mine = _mem(prefix, session_id="user_1")
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


def test_forked_workers_lose_and_duplicate_nothing(prefix: str) -> None:
    mem = _mem(prefix, session_id="shared")
    mem.add_message("user", "before the fork")  # the pool has a connection the children inherit
    per_child = 150
    children = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        for n in range(3):
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child
                code = 0
                try:
                    for i in range(0, per_child, 10):
                        mem.add_messages(
                            [Message("user", f"child {n} turn {i + j}") for j in range(10)]
                        )
                except BaseException:
                    code = 1
                os._exit(code)
            children.append(pid)
    mem.add_messages([Message("user", f"parent turn {i}") for i in range(per_child)])
    for pid in children:
        assert os.waitpid(pid, 0)[1] == 0
    msgs = _mem(prefix, session_id="shared").get_messages()
    ids = [m.id for m in msgs]
    assert len(ids) == len(set(ids)) == 1 + 4 * per_child
    assert len({m.content for m in msgs}) == len(msgs)
    found = {h.message.content for h in mem.search("child", limit=1000)}
    assert {f"child {n} turn {i}" for n in range(3) for i in range(per_child)} <= found


def test_search_follows_writes_from_another_client(prefix: str) -> None:
    reader = _mem(prefix)
    writer = _mem(prefix)
    reader.add_message("user", "I like hiking")
    assert reader.search("kayaking") == []
    kayak = writer.add_message("user", "I went kayaking on Sunday")
    assert reader.search("kayaking")[0].message.id == kayak
    writer.delete_message(kayak)
    assert all(h.message.id != kayak for h in reader.search("kayaking"))
    writer.update_message(reader.get_messages()[0].id or "", content="I like kayaking now")
    assert reader.search("kayaking")[0].message.content == "I like kayaking now"
    # Every change came through the change log: nothing was rebuilt.
    assert reader.get_stats()["index_rebuilds"] == 0


def test_an_engine_beyond_the_log_rebuilds_its_session(
    prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_store, "LOG_LIMIT", 4)
    reader = _mem(prefix)
    writer = _mem(prefix)
    reader.add_message("user", "first about sailing")
    assert reader.search("sailing")
    for i in range(10):
        writer.add_message("user", f"turn {i} about rowing")
    hits = reader.search("rowing", limit=20)
    assert sum("rowing" in h.message.content for h in hits) == 10
    assert reader.get_stats()["index_rebuilds"] == 1


def test_a_namespace_that_expired_whole_starts_over_cleanly(prefix: str) -> None:
    old = _mem(prefix, ttl=1)
    old.add_message("user", "old secret alpha", session_id="a")
    old.add_message("user", "old secret beta", session_id="b")
    assert len(old.search("secret", session_id=ALL_SESSIONS)) == 2
    time.sleep(2.2)
    new = _mem(prefix, ttl=60)
    # The session numbers start over: the new sessions get the old ones' numbers.
    new.add_message("user", "new note gamma", session_id="c")
    new.add_message("user", "new note delta", session_id="d")
    assert old.search("secret", session_id=ALL_SESSIONS) == []
    found = sorted(h.message.content for h in old.search("note", session_id=ALL_SESSIONS))
    assert found == ["new note delta", "new note gamma"]
    assert old.search("gamma", session_id="c")[0].message.content == "new note gamma"


# ---------------------------------------------------------------- writes
def test_on_conflict_replace_and_skip(prefix: str) -> None:
    mem = _mem(prefix)
    mem.add_message("user", "the blue car", id="m1")
    mem.add_messages([Message("user", "the red car", id="m1")], on_conflict="skip")
    assert [m.content for m in mem.get_messages()] == ["the blue car"]
    mem.add_messages([Message("user", "the green car", id="m1")], on_conflict="replace")
    assert [m.content for m in mem.get_messages()] == ["the green car"]
    assert mem.search("blue") == []
    assert mem.search("green")[0].message.id == "m1"


def test_a_batch_refused_by_one_session_stores_nothing_anywhere(prefix: str) -> None:
    mem = _mem(prefix)
    mem.add_message("user", "taken", id="dup", session_id="b")
    batch = [
        Message("user", "to a", session_id="a"),
        Message("user", "to b", id="dup", session_id="b"),
        Message("user", "to c", session_id="c"),
    ]
    with pytest.raises(InvalidArgumentError, match="dup"):
        mem.add_messages(batch, session_id=ALL_SESSIONS)
    assert [m.content for m in mem.get_messages(ALL_SESSIONS)] == ["taken"]
    assert mem.list_sessions() == ["b"]
    assert mem.search("to", session_id=ALL_SESSIONS) == []


def test_ids_are_found_without_a_session_hint(prefix: str) -> None:
    mem = _mem(prefix, session_id="a")
    mid = mem.add_message("user", "in b", session_id="b")
    assert mem.get_message(mid) is None
    found = mem.get_message(mid, session_id=ALL_SESSIONS)
    assert found is not None and found.session_id == "b"
    assert mem.delete_messages([mid], session_id=ALL_SESSIONS) == 1


# ---------------------------------------------------------------- vectors
def test_vectors_are_stored_and_never_embedded_twice(prefix: str) -> None:
    first = CountingEmbedder()
    mem = _mem(prefix, embedder=first)
    mem.add_messages([Message("user", f"note {i} about the garden") for i in range(20)])
    assert first.texts == 20
    second = CountingEmbedder()
    other = _mem(prefix, embedder=second)  # another process, say
    hits = other.search("garden", limit=5)
    assert len(hits) == 5
    assert second.texts == 1  # the query only: the stored vectors were loaded
    vec = other.store.vectors([k for k in other.store.session_keys("default")][:1])
    assert vec is not None and vec.shape == (1, 64) and np.isfinite(vec).all()


def test_another_embedder_is_refused_unless_reembed(prefix: str) -> None:
    _mem(prefix, embedder=CountingEmbedder()).add_message("user", "hello there")
    with pytest.raises(InvalidArgumentError, match="counting-hash-64"):
        _mem(prefix, embedder=HashingEmbedder(dim=32))
    other = _mem(prefix, embedder=HashingEmbedder(dim=32), reembed=True)
    assert other.search("hello")[0].message.content == "hello there"
    assert other.store.read_setting("dimension") == "32"


def test_messages_stored_before_an_embedder_are_embedded_once(prefix: str) -> None:
    _mem(prefix).add_messages([Message("user", f"old note {i} on tea") for i in range(5)])
    counting = CountingEmbedder()
    mem = _mem(prefix, embedder=counting)
    assert len(mem.search("tea", limit=10)) == 5
    assert counting.texts == 5 + 1
    again = CountingEmbedder()
    assert len(_mem(prefix, embedder=again).search("tea", limit=10)) == 5
    assert again.texts == 1


# ---------------------------------------------------------------- TTL
def test_ttl_expires_an_idle_session_with_every_trace(prefix: str, raw: redis.Redis) -> None:
    mem = _mem(prefix, ttl=1)
    mid = mem.add_message("user", "short-lived")
    mem.add_message("user", "other session", session_id="other")
    mem.start_session("started", metadata={"user_id": "u1"})
    assert len(mem.get_messages()) == 1
    assert raw.keys(f"{prefix}:*")
    time.sleep(2.2)
    assert mem.get_messages() == []
    assert mem.get_messages(ALL_SESSIONS) == []
    assert mem.get_stats()["active_sessions"] == 0
    assert mem.list_sessions() == []
    assert mem.delete_message(mid) is False
    assert raw.keys(f"{prefix}:*") == []


def test_a_write_refreshes_the_ttl(prefix: str, raw: redis.Redis) -> None:
    mem = _mem(prefix, ttl=100)
    mem.add_message("user", "hello")
    meta = f"{prefix}:s:{{default}}:meta"
    assert 0 < raw.pttl(meta) <= 100_000
    raw.pexpire(meta, 5_000)
    mem.add_message("user", "again")
    assert raw.pttl(meta) > 50_000
    # Every key of the session expires with it.
    assert all(raw.pttl(k) > 0 for k in raw.keys(f"{prefix}:s:*"))
    no_ttl = _mem(prefix)
    no_ttl.add_message("user", "kept forever")
    assert all(raw.pttl(k) == -1 for k in raw.keys(f"{prefix}:*"))


def test_expired_ids_may_be_reused_by_sync_and_async_alike(prefix: str) -> None:
    mem = _mem(prefix, ttl=1)
    mem.add_message("user", "first life", id="same")
    asyncio.run(mem.aadd_message("user", "first life b", id="same-b"))
    time.sleep(2.2)
    assert asyncio.run(mem.aadd_message("user", "second life", id="same")) == "same"
    assert mem.add_message("user", "second life b", id="same-b") == "same-b"
    assert [m.content for m in mem.get_messages()] == ["second life", "second life b"]


# ---------------------------------------------------------------- sessions with a life
def test_session_info_lives_in_redis(prefix: str) -> None:
    mem = _mem(prefix)
    sid = mem.start_session("s1", metadata={"user_id": "u1", "agent_id": "a"})
    mem.add_message("user", "hi", session_id=sid)
    mem.end_session(sid)
    other = _mem(prefix)
    summary = other.get_session_summary(sid)
    assert summary["metadata"] == {"user_id": "u1", "agent_id": "a"}
    assert summary["started"] is not None and summary["ended"] is not None
    assert summary["turns"] == 1
    other.start_session("empty", metadata={"user_id": "u2"})
    assert sorted(other.list_sessions()) == ["empty", "s1"]
    assert other.list_sessions(user_id="u1") == ["s1"]
    assert other.get_stats()["active_sessions"] == 1
    other.clear_session("s1")
    assert other.list_sessions(user_id="u1") == ["s1"]  # started sessions stay known


# ---------------------------------------------------------------- faults
def test_a_dead_server_is_a_clear_error_at_once() -> None:
    mem = RedisMemory(port=free_port(), socket_timeout=30)
    with pytest.raises(BackendUnavailableError, match="unreachable"):
        mem.add_message("user", "hello")
    with pytest.raises(BackendUnavailableError, match="unreachable"):
        asyncio.run(mem.aadd_message("user", "hello"))
    with pytest.raises(BackendUnavailableError):
        mem.ping()
    with pytest.raises(BackendUnavailableError):
        mem.search("hello")


def test_a_wrong_password_is_its_own_error() -> None:
    server = RedisServer(password="s3cret")
    try:
        for kwargs in ({"password": "wrong"}, {}):
            mem = RedisMemory(port=server.port, host="127.0.0.1", **kwargs)  # type: ignore[arg-type]
            with pytest.raises(BackendAuthError) as info:
                mem.add_message("user", "hello")
            assert "unreachable" not in str(info.value)
            assert not isinstance(info.value, BackendUnavailableError)
            with pytest.raises(BackendAuthError):
                asyncio.run(mem.aget_messages())
        good = RedisMemory(port=server.port, host="127.0.0.1", password="s3cret")
        good.add_message("user", "let in")
        assert [m.content for m in good.get_messages()] == ["let in"]
    finally:
        server.stop()


def test_a_stalled_server_fails_fast_and_loses_nothing(own_server: RedisServer) -> None:
    mem = RedisMemory(url=own_server.url, socket_timeout=0.5)
    acked = mem.add_messages([Message("user", f"kept {i}") for i in range(3)])
    sleeper = threading.Thread(
        target=lambda: redis.Redis.from_url(own_server.url).execute_command("DEBUG", "SLEEP", 2)
    )
    sleeper.start()
    time.sleep(0.2)  # let DEBUG SLEEP reach the server first
    with pytest.raises(BackendUnavailableError):
        mem.add_messages([Message("user", "during the stall")])
    with pytest.raises(BackendUnavailableError):
        asyncio.run(mem.aadd_message("user", "async during the stall"))
    sleeper.join()
    acked += mem.add_messages([Message("user", "after the stall")])
    msgs = RedisMemory(url=own_server.url).get_messages()
    ids = [m.id for m in msgs]
    assert len(ids) == len(set(ids)), "nothing duplicated"
    assert set(acked) <= set(ids), "nothing acknowledged lost"
    stray = {m.content for m in msgs if m.id not in acked}
    assert stray <= {"during the stall", "async during the stall"}


def test_a_killed_server_restarted_from_its_log_loses_nothing_acknowledged() -> None:
    server = RedisServer(persistent=True)
    try:
        mem = RedisMemory(url=server.url, socket_timeout=1)
        acked = [mem.add_message("user", f"turn {i}") for i in range(50)]
        server = server.restart()
        acked.append(mem.add_message("user", "after the restart"))  # reconnects by itself
        assert [m.id for m in mem.get_messages()] == acked
        assert mem.search("restart")[0].message.content == "after the restart"
    finally:
        server.stop()


def test_damaged_records_name_their_key(prefix: str, raw: redis.Redis) -> None:
    mem = _mem(prefix)
    ids = mem.add_messages([Message("user", f"fine {i}") for i in range(3)])
    records = f"{prefix}:s:{{default}}:m"
    good = raw.hget(records, "2")
    assert good is not None
    for bad in (b"{not a record", good[:-3], good[:-1] + bytes([good[-1] ^ 1]), b""):
        raw.hset(records, "2", bad)
        for call in (
            mem.get_messages,
            lambda: mem.get_message(ids[1]),
            lambda: _mem(prefix).search("fine"),
            lambda: asyncio.run(mem.aget_messages()),
        ):
            with pytest.raises(CorruptDataError, match=rf"{records} field 2"):
                call()
    raw.hset(records, "2", good)
    assert [m.id for m in mem.get_messages()] == ids


# ---------------------------------------------------------------- the key layout
def test_every_key_of_a_session_shares_one_hash_tag(prefix: str, raw: redis.Redis) -> None:
    mem = _mem(prefix)
    for sid in ("plain", "a{b", "c}d", "{e}", "%7B", "x:y"):
        mem.add_message("user", f"hello from {sid}", session_id=sid)
        mem.start_session(sid)
        keys = raw.keys(f"{prefix}:s:*")
        tag = "{" + session_tag(sid) + "}"
        mine = [k.decode() for k in keys if tag in k.decode()]
        assert len(mine) == 6, mine
        assert all(k.split("{", 1)[1].split("}", 1)[0] == session_tag(sid) for k in mine)
        assert len({key_slot(k.encode()) for k in mine}) == 1
    assert sorted(mem.list_sessions()) == sorted(["plain", "a{b", "c}d", "{e}", "%7B", "x:y"])
    assert {m.session_id for m in mem.get_messages(ALL_SESSIONS)} == set(mem.list_sessions())


# ---------------------------------------------------------------- asyncio
def test_native_async_path_round_trip(prefix: str) -> None:
    mem = _mem(prefix, session_id="a")

    async def scenario() -> None:
        ids = await mem.aadd_messages([Message("user", f"async {i}") for i in range(5)])
        with pytest.raises(ValueError, match=ids[0]):
            await mem.aadd_message("user", "dup", id=ids[0])
        assert [m.id for m in await mem.aget_messages()] == ids
        assert [m.id for m in await mem.aget_messages(limit=2, offset=1)] == ids[2:4]
        assert (await mem.aget_message(ids[1])) == mem.get_message(ids[1])
        assert [m.id for m in await mem.aget_messages_by_ids(ids[::-1])] == ids[::-1]
        assert (await mem.asearch("async"))[0].message.id in ids
        assert await mem.adelete_message(ids[0]) is True
        assert await mem.adelete_messages([ids[1], "nope"]) == 1
        assert (await mem.aget_stats())["total_messages"] == 3
        assert await mem.alist_sessions() == ["a"]
        await mem.astart_session(metadata={"user_id": "u"})
        assert await mem.alist_sessions(user_id="u") == ["a"]
        await mem.aend_session()
        assert (await mem.aget_session_summary())["turns"] == 3
        assert await mem.acleanup_old_messages(0.0) == 3
        assert await mem.aget_messages() == []
        await mem.aadd_message("user", "again")
        await mem.aclear_session("a")
        assert await mem.aget_messages() == []
        assert mem.search("async") == [] and mem.search("again") == []

    asyncio.run(scenario())


def test_async_and_sync_paths_see_each_others_writes(prefix: str) -> None:
    mem = _mem(prefix, embedder=HashingEmbedder(), hybrid=True)

    async def scenario(n: int) -> None:
        await mem.aadd_message("user", "async about the harbour")
        assert mem.search("harbour")[0].message.content == "async about the harbour"
        mem.add_message("user", "sync about the lighthouse")
        assert (await mem.asearch("lighthouse"))[0].message.content.startswith("sync")
        assert len(await mem.aget_messages()) == n

    asyncio.run(scenario(2))
    asyncio.run(scenario(4))  # a second event loop gets its own connections
    assert len(mem.get_messages()) == 4


# ---------------------------------------------------------------- options
@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"port": 0}, ValueError, "port"),
        ({"db": -1}, ValueError, "db"),
        ({"ttl": 0}, ValueError, "ttl"),
        ({"prefix": "a:b"}, ValueError, "prefix"),
        ({"prefix": "a{b"}, ValueError, "prefix"),
        ({"prefix": ""}, ValueError, "prefix"),
        ({"url": 5}, TypeError, "url"),
        ({"socket_timeout": 0}, ValueError, "socket_timeout"),
        ({"max_connections": 0}, ValueError, "max_connections"),
        ({"cluster_nodes": []}, ValueError, "cluster_nodes"),
        ({"cluster_nodes": ["nohost"]}, ValueError, "cluster_nodes"),
        ({"hosts": [{"port": 1}]}, ValueError, "hosts"),
        ({"hosts": [5]}, TypeError, "hosts"),
        ({"hosts": ["a:1"], "cluster_nodes": ["a:1"]}, ValueError, "hosts"),
        ({"url": "redis://x", "cluster_nodes": ["a:1"]}, ValueError, "url"),
        ({"client": object()}, TypeError, "client"),
        ({"client": redis.Redis(decode_responses=True)}, ValueError, "decode_responses"),
        ({"hybrid": 1}, TypeError, "hybrid"),
        ({"password": 5}, TypeError, "password"),
    ],
)
def test_bad_options(kwargs: dict[str, object], exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        RedisMemory(**kwargs)  # type: ignore[arg-type]


def test_nothing_connects_until_the_first_call() -> None:
    # The Niflheim-X seed's examples name hosts that do not exist.
    mem = RedisMemory(host="redis.example.invalid", port=6379, password="p", ttl=3600)
    hosts = [{"host": "redis1.example.invalid", "port": 6379}]
    RedisMemory(hosts=hosts, session_id="distributed_session", ttl=7200, max_connections=10)
    with pytest.raises(BackendUnavailableError):
        mem.get_messages()


def test_a_client_passed_in_is_used_and_left_open(prefix: str) -> None:
    client = redis.Redis.from_url(shared_redis_url())
    mem = RedisMemory(client=client, prefix=prefix)
    mem.add_message("user", "through my client")
    assert asyncio.run(mem.aget_messages())[0].content == "through my client"
    mem.close()
    assert client.ping()
    assert [m.content for m in _mem(prefix).get_messages()] == ["through my client"]


def test_max_connections_caps_the_pool(prefix: str) -> None:
    mem = _mem(prefix, max_connections=2)

    def worker(n: int) -> None:
        for i in range(10):
            mem.add_message("user", f"thread {n} turn {i}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(mem.get_messages()) == 40


def test_the_memory_is_a_ferromem_memory(prefix: str) -> None:
    mem = _mem(prefix)
    assert isinstance(mem, ferromem.MemoryBackend)
    assert "Redis at" in mem.store.describe()
    assert mem.get_stats()["cluster"] is False
