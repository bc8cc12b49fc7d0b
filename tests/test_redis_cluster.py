"""RedisMemory against a real Redis Cluster (three masters, a replica each, on loopback): the key
layout keeps every session in one slot, the seed's ``hosts=[...]`` and a caller's client work,
TTL leaves nothing on any node, and a master killed mid-run fails over to its replica with
nothing acknowledged lost or duplicated."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from uuid import uuid4

import pytest
from redis.cluster import ClusterNode, RedisCluster
from redis.crc import key_slot

from ferromem import ALL_SESSIONS, BackendUnavailableError, FerromemError, Message, RedisMemory

from .redis_server import RedisClusterServers, free_port, shared_cluster_nodes

SESSIONS = [f"user_{i}" for i in range(12)] + ["a{b}", "}{", "%7B"]


@pytest.fixture
def prefix() -> str:
    return f"t{uuid4().hex}"


@pytest.fixture
def nodes() -> list[str]:
    return shared_cluster_nodes()


def _raw(nodes: list[str]) -> RedisCluster:
    host, port = nodes[0].split(":")
    return RedisCluster(host=host, port=int(port))


def _all_keys(nodes: list[str], pattern: str) -> list[str]:
    raw = _raw(nodes)
    try:
        return sorted(k.decode() for k in raw.scan_iter(match=pattern, target_nodes="primaries"))
    finally:
        raw.close()


def test_sessions_spread_over_the_masters_and_stay_in_one_slot(
    nodes: list[str], prefix: str
) -> None:
    mem = RedisMemory(cluster_nodes=nodes, prefix=prefix)
    for sid in SESSIONS:
        mem.add_messages(
            [Message("user", f"{sid} likes kayaking"), Message("user", "ok")],
            session_id=sid,
        )
    keys = _all_keys(nodes, f"{prefix}:s:*")
    by_session: dict[str, set[int]] = {}
    for k in keys:
        tag = k.split("{", 1)[1].split("}", 1)[0]
        by_session.setdefault(tag, set()).add(key_slot(k.encode()))
    assert len(by_session) == len(SESSIONS)
    assert all(len(slots) == 1 for slots in by_session.values())
    raw = _raw(nodes)
    try:
        owners = {raw.get_node_from_key(k).name for k in keys}
    finally:
        raw.close()
    assert len(owners) == 3, "the sessions live on every master"
    assert sorted(mem.list_sessions()) == sorted(SESSIONS)
    hits = mem.search("kayaking", session_id=ALL_SESSIONS, limit=100)
    assert {h.message.session_id for h in hits if "kayaking" in h.message.content} == set(SESSIONS)
    mem.clear_session(ALL_SESSIONS)
    assert mem.get_messages(ALL_SESSIONS) == []
    assert _all_keys(nodes, f"{prefix}:s:*") == []


def test_the_seeds_hosts_option_and_a_callers_client(nodes: list[str], prefix: str) -> None:
    hosts = [{"host": n.split(":")[0], "port": int(n.split(":")[1])} for n in nodes[:3]]
    mem = RedisMemory(
        hosts=hosts, prefix=prefix, session_id="distributed_session", max_connections=10
    )
    mem.add_message("user", "through the seed's options")
    client = RedisCluster(startup_nodes=[ClusterNode(h["host"], h["port"]) for h in hosts])
    other = RedisMemory(client=client, prefix=prefix, session_id="distributed_session")
    assert [m.content for m in other.get_messages()] == ["through the seed's options"]
    assert asyncio.run(other.aget_messages())[0].content == "through the seed's options"
    other.close()
    assert client.ping()
    client.close()
    assert mem.get_stats()["cluster"] is True


def test_another_process_shares_the_cluster_memory(nodes: list[str], prefix: str) -> None:
    mem = RedisMemory(cluster_nodes=nodes, prefix=prefix, session_id="s")
    mem.add_message("user", "from the parent")
    code = (
        "from ferromem import RedisMemory;"
        f"m = RedisMemory(cluster_nodes={nodes!r}, prefix={prefix!r}, session_id='s');"
        "print(len(m.get_messages()));"
        "m.add_message('assistant', 'the child mentions PostgreSQL')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
    assert mem.search("postgresql")[0].message.role == "assistant"
    assert mem.get_stats()["index_rebuilds"] == 0


def test_ttl_leaves_nothing_on_any_node(nodes: list[str], prefix: str) -> None:
    mem = RedisMemory(cluster_nodes=nodes, prefix=prefix, ttl=1)
    for sid in SESSIONS[:6]:
        mem.add_message("user", f"hello {sid}", session_id=sid)
    mem.start_session("only-started")
    assert _all_keys(nodes, f"{prefix}:*")
    time.sleep(2.2)
    assert mem.list_sessions() == []
    assert asyncio.run(mem.aget_stats())["active_sessions"] == 0
    assert _all_keys(nodes, f"{prefix}:*") == []


def test_async_twins_on_the_cluster_client(nodes: list[str], prefix: str) -> None:
    mem = RedisMemory(cluster_nodes=nodes, prefix=prefix)

    async def scenario() -> None:
        await asyncio.gather(
            *(mem.aadd_message("user", f"turn {i}", session_id=SESSIONS[i % 5]) for i in range(40))
        )
        assert len(await mem.aget_messages(ALL_SESSIONS)) == 40
        assert sorted(await mem.alist_sessions()) == sorted(SESSIONS[:5])
        assert await mem.adelete_messages(filters={"nothing": 1}, session_id=ALL_SESSIONS) == 0
        await mem.aclear_session(ALL_SESSIONS)
        assert (await mem.aget_stats())["total_messages"] == 0

    asyncio.run(scenario())


def test_an_unreachable_cluster_is_a_clear_error() -> None:
    mem = RedisMemory(cluster_nodes=[f"127.0.0.1:{free_port()}"], socket_timeout=1)
    with pytest.raises(BackendUnavailableError):
        mem.add_message("user", "hello")
    with pytest.raises(BackendUnavailableError):
        asyncio.run(mem.aget_messages())


def _waits(raw: RedisCluster) -> int:
    """How many WAIT commands the cluster's masters have served."""
    stats = raw.info("commandstats", target_nodes=RedisCluster.PRIMARIES)
    return sum(node.get("cmdstat_wait", {}).get("calls", 0) for node in stats.values())


def test_writes_wait_for_a_replica_and_reads_do_not(nodes: list[str], prefix: str) -> None:
    # Redis replicates asynchronously: a write is acknowledged only once a replica holds it.
    mem = RedisMemory(cluster_nodes=nodes, prefix=prefix)
    raw = _raw(nodes)
    before = _waits(raw)
    for i in range(6):
        mem.add_message("user", f"turn {i}", session_id=SESSIONS[i])
    after_writes = _waits(raw)
    assert after_writes - before >= 6, "each add waits for a replica"
    mem.get_messages(ALL_SESSIONS)
    mem.search("turn", session_id=ALL_SESSIONS)
    assert _waits(raw) == after_writes, "reads do not wait"


# ---------------------------------------------------------------- a master dies mid-run
@pytest.fixture
def own_cluster() -> Iterator[RedisClusterServers]:
    cluster = RedisClusterServers(masters=3, replicas=1)
    yield cluster
    cluster.stop()


def test_a_master_killed_mid_run_fails_over_and_loses_nothing(
    own_cluster: RedisClusterServers,
) -> None:
    prefix = "failover"
    mem = RedisMemory(cluster_nodes=own_cluster.nodes, prefix=prefix, socket_timeout=1)
    acked: dict[str, str] = {}  # id -> content
    tried: set[str] = set()
    victim = own_cluster.masters()[0]
    killed_at: int | None = None
    streak = 0
    for i in range(3000):
        sid = SESSIONS[i % len(SESSIONS)]
        content = f"turn {i} in {sid}"
        tried.add(content)
        try:
            acked[mem.add_message("user", content, session_id=sid)] = content
            streak += 1
        except FerromemError:
            streak = 0  # the failover: a clear error; the write may or may not be there
        if i == 60:
            own_cluster.kill(victim)
            killed_at = i
        if killed_at is not None and i - killed_at >= 60 and streak >= 2 * len(SESSIONS):
            break
    own_cluster.wait_healthy()
    assert victim not in own_cluster.masters()
    fresh = RedisMemory(cluster_nodes=own_cluster.nodes[1:], prefix=prefix)
    stored = fresh.get_messages(ALL_SESSIONS)
    ids = [m.id for m in stored]
    assert len(ids) == len(set(ids)), "nothing duplicated"
    missing = set(acked) - set(ids)
    assert not missing, f"{len(missing)} acknowledged writes lost"
    assert all(m.content in tried for m in stored)
    assert all(acked[m.id] == m.content for m in stored if m.id in acked)
    assert streak >= 2 * len(SESSIONS), "writes to every session went on after the failover"
    # The memory that lived through the failover searches the new masters.
    assert len(mem.search("turn", session_id=ALL_SESSIONS, limit=1000)) >= len(acked)
