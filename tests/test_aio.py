"""`ferromem.aio`: every memory class under the same name, with coroutine methods."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

import pytest

import ferromem
import ferromem.aio as aio
from ferromem import ALL_SESSIONS, InvalidArgumentError, InvalidTypeError, Message
from ferromem.async_twins import ASYNC_METHODS

MEMORY_CLASSES = [
    "BufferMemory",
    "CompressedMemory",
    "DictMemory",
    "HierarchicalMemory",
    "IndexedMemory",
    "JSONFileMemory",
    "MultiModalMemory",
    "PersistentMemory",
    "RedisMemory",
    "SQLiteMemory",
    "SummaryMemory",
    "VectorMemory",
]


def test_every_memory_class_has_an_async_twin_class() -> None:
    for name in MEMORY_CLASSES:
        cls = getattr(aio, name)
        assert issubclass(cls, aio.MemoryBackend)
        assert cls.sync_class is getattr(ferromem, name)


def test_every_async_method_is_a_coroutine_with_the_sync_signature() -> None:
    for name in ASYNC_METHODS:
        method = getattr(aio.MemoryBackend, name)
        assert inspect.iscoroutinefunction(method), name
        sync = inspect.signature(getattr(ferromem.MemoryBackend, name))
        params = list(inspect.signature(method).parameters.values())
        assert [(p.name, p.kind, p.default) for p in params] == [
            (p.name, p.kind, p.default) for p in sync.parameters.values()
        ], name


async def test_the_seed_style_calls_are_awaited() -> None:
    memory = aio.DictMemory(max_messages=10)
    mid = await memory.add_message(Message("user", "I love Python lists", session_id="user_123"))
    await memory.add_message(Message("user", "hello", session_id="user_456"))
    assert [m.id for m in await memory.get_messages("user_123")] == [mid]
    found = await memory.search_messages("python", session_id="user_123")
    assert [m.content for m in found] == ["I love Python lists"]
    assert sorted(await memory.list_sessions()) == ["user_123", "user_456"]
    stats = await memory.get_stats()
    assert stats["total_messages"] == 2


async def test_a_failed_await_stores_nothing() -> None:
    memory = aio.DictMemory()
    with pytest.raises(InvalidArgumentError):
        await memory.add_message(Message("user", "x"), content="y")  # type: ignore[arg-type]
    assert await memory.get_messages(ALL_SESSIONS) == []


async def test_other_methods_are_coroutines_and_attributes_read_through() -> None:
    memory = aio.SummaryMemory(summarize_after=2)
    for text in ["one fact", "two facts", "three facts"]:
        await memory.add_message("user", text)
    assert isinstance(await memory.get_summary(), str)
    assert memory.summarize_after == 2 and not memory.bound


async def test_sqlite_through_aio_is_durable(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "conversations.db"
    async with aio.SQLiteMemory(db, session_id="user_123") as memory:
        await memory.add_message("user", "stored")
        summary_id = await memory.start_session(metadata={"user_id": "u1"})
        await memory.end_session(summary_id, "done")
        summary = await memory.get_session_summary()
        assert summary["summary"] == "done" and summary["metadata"] == {"user_id": "u1"}
    again = ferromem.SQLiteMemory(db, session_id="user_123")
    assert [m.content for m in again.get_messages()] == ["stored"]
    again.close()


async def test_wrap_an_existing_memory() -> None:
    sync = ferromem.IndexedMemory()
    sync.add_message("user", "wrapped")
    memory = aio.IndexedMemory.wrap(sync)
    assert memory.sync is sync
    assert [m.content for m in await memory.get_messages()] == ["wrapped"]
    with pytest.raises(InvalidTypeError):
        aio.DictMemory.wrap(object())  # type: ignore[arg-type]


async def test_the_bare_base_wraps_nothing() -> None:
    with pytest.raises(InvalidTypeError):
        aio.MemoryBackend()


async def test_concurrent_awaits_all_land() -> None:
    memory = aio.DictMemory(max_messages=1000)
    await asyncio.gather(*(memory.add_message("user", f"turn {i}") for i in range(50)))
    assert len(await memory.get_messages()) == 50


async def test_bad_session_ids_are_refused_and_nothing_stored() -> None:
    memory = aio.DictMemory()
    for bad in ["", 42]:
        with pytest.raises((InvalidArgumentError, InvalidTypeError)):
            await memory.add_message("user", "x", session_id=bad)
    with pytest.raises(InvalidArgumentError):
        aio.DictMemory(session_id="")
    assert await memory.get_messages(ALL_SESSIONS) == []


async def test_redis_through_aio_uses_the_native_client() -> None:
    from uuid import uuid4

    from .redis_server import shared_redis_url

    prefix = f"aio{uuid4().hex[:8]}"
    memory = aio.RedisMemory(url=shared_redis_url(), prefix=prefix)
    try:
        await memory.add_message(Message("user", "hello from asyncio", session_id="user_1"))
        got = await memory.get_messages("user_1")
        assert [m.content for m in got] == ["hello from asyncio"]
        assert memory.sync._redis.link.native_async
        found = await memory.search_messages("asyncio", session_id="user_1")
        assert [m.content for m in found] == ["hello from asyncio"]
        sid = await memory.start_session("user_1", metadata={"user_id": "u1"})
        await memory.end_session(sid, "talked about asyncio")
        summary = await memory.get_session_summary(sid)
        assert summary["summary"] == "talked about asyncio" and summary["turns"] == 1
        assert await memory.list_sessions(user_id="u1") == ["user_1"]
        await memory.clear_session("user_1")
        assert await memory.get_messages("user_1") == []
    finally:
        await memory.close()
