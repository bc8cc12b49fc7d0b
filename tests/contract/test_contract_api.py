"""The interface frameworks need (issue 9), run against every backend in backends.py: get by id,
update, upsert, delete many, list sessions, pagination, filters with operators, no silent caps,
search by vector, time-aware ranking, sessions with a life, and restarts of durable stores."""

from __future__ import annotations

import time

import numpy as np
import pytest

import ferromem
from ferromem import ALL_SESSIONS, InvalidArgumentError, Message

from .backends import BACKENDS, DURABLE, reopen_kwargs

FACTS = [
    ("user", "I adopted a cat named Pixel last spring.", {"topic": "pets", "n": 1}),
    ("assistant", "Pixel is a great name for a cat!", {"topic": "pets", "n": 2}),
    ("user", "My favourite database is PostgreSQL.", {"topic": "db", "n": 3}),
    ("assistant", "PostgreSQL has excellent JSON support.", {"topic": "db", "n": 4}),
    ("user", "I run every morning before work.", {"topic": "sport", "n": 5, "km": 5.5}),
]


def fill(mem: ferromem.MemoryBackend, session_id: str | None = None) -> list[str]:
    return mem.add_messages(
        [Message(r, c, metadata=meta) for r, c, meta in FACTS], session_id=session_id
    )


# ---------------------------------------------------------------- by id
def test_get_message_and_get_messages_by_ids(memory):
    ids = fill(memory)
    assert memory.get_message(ids[2]).content == FACTS[2][1]
    assert memory.get_message("no-such-id") is None
    got = memory.get_messages_by_ids([ids[4], "missing", ids[0]])
    assert [m.id for m in got] == [ids[4], ids[0]], "asked order, missing ids left out"
    other = memory.add_message("user", "Bob's note", session_id="bob")
    assert memory.get_message(other) is None, "another session's message is out of scope"
    assert memory.get_message(other, session_id="bob").content == "Bob's note"
    assert memory.get_messages_by_ids([other], session_id=ALL_SESSIONS)[0].id == other


def test_update_message_reindexes_and_keeps_identity(memory):
    ids = fill(memory)
    assert memory.update_message(ids[2], content="My favourite database is SQLite now.")
    m = memory.get_message(ids[2])
    assert m.content == "My favourite database is SQLite now."
    assert m.metadata == FACTS[2][2] and m.timestamp == pytest.approx(m.timestamp)
    assert m.importance == ferromem.core.importance(m.content), "new content is scored again"
    assert ids[2] in [h.message.id for h in memory.search("SQLite")]
    assert ids[2] not in [h.message.id for h in memory.search("PostgreSQL", limit=5)[:1]]
    assert memory.update_message(ids[0], metadata={"topic": "cats"}, importance=0.9)
    first = memory.get_message(ids[0])
    assert first.metadata == {"topic": "cats"} and first.importance == 0.9
    assert [m.id for m in memory.get_messages()] == ids, "order and ids unchanged"
    assert memory.update_message("missing", content="x") is False
    other = memory.add_message("user", "Bob's", session_id="bob")
    assert memory.update_message(other, content="hijacked") is False
    assert memory.get_message(other, session_id="bob").content == "Bob's"


def test_upsert_replace_and_skip(memory):
    memory.add_message("user", "first version", id="doc-1")
    with pytest.raises(InvalidArgumentError, match="doc-1"):
        memory.add_messages([Message("user", "again", id="doc-1")])
    memory.add_messages(
        [Message("user", "second version", id="doc-1"), Message("user", "new", id="doc-2")],
        on_conflict="replace",
    )
    assert [m.content for m in memory.get_messages()] == ["second version", "new"]
    assert memory.search("version")[0].message.content == "second version"
    ids = memory.add_messages([Message("user", "third", id="doc-1")], on_conflict="skip")
    assert ids == ["doc-1"]
    assert memory.get_message("doc-1").content == "second version"
    with pytest.raises(InvalidArgumentError, match="on_conflict"):
        memory.add_messages([Message("user", "x")], on_conflict="merge")


def test_delete_messages_in_one_write(memory):
    ids = fill(memory)
    other = memory.add_message("user", "Bob's", session_id="bob")
    assert memory.delete_messages([ids[0], ids[1], "missing", other]) == 2
    assert [m.id for m in memory.get_messages()] == ids[2:]
    assert memory.get_message(other, session_id="bob") is not None, "out of scope: untouched"
    assert memory.delete_messages(filters={"topic": "db"}) == 2
    assert [m.id for m in memory.get_messages()] == ids[4:]
    assert memory.search("PostgreSQL") == []
    with pytest.raises(InvalidArgumentError):
        memory.delete_messages()


def test_list_sessions_bound_and_all(memory):
    fill(memory)
    memory.add_message("user", "hi", session_id="bob")
    assert memory.list_sessions() == ["alice"], "a bound memory lists its own session"
    assert sorted(memory.list_all_sessions()) == ["alice", "bob"]


# ---------------------------------------------------------------- listing
def test_pagination_offset_before_after(memory):
    base = 1_700_000_000.0
    ids = memory.add_messages([Message("user", f"turn {i}", timestamp=base + i) for i in range(10)])
    assert [m.id for m in memory.get_messages(limit=3)] == ids[7:]
    assert [m.id for m in memory.get_messages(limit=3, offset=3)] == ids[4:7]
    assert memory.get_messages(limit=3, offset=20) == []
    assert [m.id for m in memory.get_messages(after=base + 6)] == ids[7:]
    assert [m.id for m in memory.get_messages(before=base + 2)] == ids[:2]
    assert [m.id for m in memory.get_messages(after=base + 2, before=base + 5)] == ids[3:5]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"topic": "db"}, [3, 4]),
        ({"topic": {"$eq": "pets"}}, [1, 2]),
        ({"topic": {"$ne": "pets"}}, [3, 4, 5]),
        ({"n": {"$gt": 3}}, [4, 5]),
        ({"n": {"$gte": 2, "$lt": 4}}, [2, 3]),
        ({"n": {"$lte": 1}}, [1]),
        ({"topic": {"$in": ["db", "sport"]}}, [3, 4, 5]),
        ({"topic": {"$nin": ["db", "sport"]}}, [1, 2]),
        ({"km": {"$exists": True}}, [5]),
        ({"km": {"$exists": False}}, [1, 2, 3, 4]),
        ({"$or": [{"n": 1}, {"topic": "sport"}]}, [1, 5]),
        ({"$and": [{"topic": "db"}, {"n": {"$gt": 3}}]}, [4]),
        ({"$not": {"topic": "db"}}, [1, 2, 5]),
    ],
)
def test_filters_with_operators(memory, filters, expected):
    fill(memory)
    listed = [m.metadata["n"] for m in memory.get_messages(filters=filters)]
    assert listed == expected
    found = {
        h.message.metadata["n"]
        for h in memory.search("cat database morning", filters=filters, limit=10)
    }
    assert found <= set(expected)


@pytest.mark.parametrize(
    "filters",
    [
        {"n": {"$regex": "x"}},
        {"$nor": [{"n": 1}]},
        {"n": {"$in": 3}},
        {"n": {"$exists": "yes"}},
        {"$or": []},
        {"n": {"$gt": None}},
    ],
)
def test_bad_filters_are_errors_not_empty_results(memory, filters):
    fill(memory)
    with pytest.raises(InvalidArgumentError):
        memory.search("cat", filters=filters)
    with pytest.raises(InvalidArgumentError):
        memory.get_messages(filters=filters)


# ---------------------------------------------------------------- search
def test_no_hit_dropped_by_default_and_no_silent_cap(memory):
    ids = memory.add_messages([Message("user", f"note {i} about gardening") for i in range(30)])
    hits = memory.search("gardening", limit=25)
    assert len(hits) == 25, "an explicit limit is honoured"
    assert {h.message.id for h in memory.search("gardening", limit=100)} == set(ids)


def test_time_aware_ranking(memory):
    now = time.time()
    old = memory.add_message("user", "I love hiking in the Alps", timestamp=now - 30 * 86400)
    new = memory.add_message("user", "I love hiking near home", timestamp=now - 3600)
    plain = [h.message.id for h in memory.search("hiking", limit=2)]
    assert set(plain) == {old, new}
    recent = memory.search("hiking", limit=2, recency_half_life=86400.0)
    assert recent[0].message.id == new
    assert recent[0].score > recent[1].score
    with pytest.raises(InvalidArgumentError):
        memory.search("hiking", recency_half_life=0)
    with pytest.raises(InvalidArgumentError):
        memory.search("hiking", importance_weight=1.5)
    weighted = memory.search("hiking", limit=2, importance_weight=1.0)
    assert all(h.score == pytest.approx(h.message.importance) for h in weighted)


def test_search_by_vector_when_the_memory_has_vectors(memory):
    fill(memory)
    vector = memory._engines.vector
    if vector is None:
        with pytest.raises(InvalidArgumentError, match="vector"):
            memory.search_by_vector(np.ones(8, dtype=np.float32))
        return
    query = vector.embed(["a cat named Pixel"])[0]
    hits = memory.search_by_vector(query, limit=2)
    assert hits and "Pixel" in hits[0].message.content
    with pytest.raises(InvalidArgumentError, match="shape"):
        memory.search_by_vector(np.ones(3, dtype=np.float32))
    bad = query.copy()
    bad[0] = np.nan
    with pytest.raises(InvalidArgumentError, match="NaN"):
        memory.search_by_vector(bad)


def test_add_messages_with_vectors_made_elsewhere(memory):
    vector = memory._engines.vector
    msgs = [Message("user", "a cat named Pixel"), Message("user", "the stock market")]
    if vector is None:
        with pytest.raises(InvalidArgumentError, match="vector engine"):
            memory.add_messages(msgs, vectors=np.ones((2, 8), dtype=np.float32))
        assert memory.get_messages() == []
        return
    made = vector.embed([m.content for m in msgs])
    calls = {"n": 0}
    real = vector.embedder

    def counting(texts: list[str]) -> np.ndarray:
        calls["n"] += len(texts)
        return real(texts)

    vector.embedder = counting
    ids = memory.add_messages(msgs, vectors=made)
    assert calls["n"] == 0, "given vectors are stored, not made again"
    assert memory.search_by_vector(made[0], limit=1)[0].message.id == ids[0]
    with pytest.raises(InvalidArgumentError, match="shape"):
        memory.add_messages([Message("user", "x")], vectors=made)
    bad = made[:1].copy()
    bad[0, 0] = np.inf
    with pytest.raises(InvalidArgumentError, match="NaN or infinite"):
        memory.add_messages([Message("user", "x")], vectors=bad)
    assert len(memory.get_messages()) == 2


# ---------------------------------------------------------------- sessions with a life
def test_sessions_with_a_life(memory):
    sid = memory.start_session(metadata={"user_id": "u1", "agent_id": "a1"})
    assert sid == "alice", "a bound memory starts its own session"
    with pytest.raises(InvalidArgumentError):
        memory.start_session("someone-else")
    fill(memory)
    memory.end_session()
    summary = memory.get_session_summary()
    assert summary["session_id"] == "alice"
    assert summary["turns"] == len(FACTS) and summary["tokens"] > 0
    assert summary["metadata"] == {"user_id": "u1", "agent_id": "a1"}
    assert summary["started"] <= summary["ended"]
    assert memory.list_sessions(user_id="u1") == ["alice"]
    assert memory.list_sessions(user_id="u2") == []


def test_async_twins_of_the_new_methods(memory):
    import asyncio

    async def run() -> None:
        ids = await memory.aadd_messages([Message("user", "async hello", id="x1")])
        assert (await memory.aget_message(ids[0])).content == "async hello"
        assert await memory.aupdate_message("x1", content="async bye")
        assert [m.content for m in await memory.aget_messages_by_ids(["x1"])] == ["async bye"]
        assert await memory.alist_sessions() == ["alice"]
        assert await memory.adelete_messages(["x1"]) == 1

    asyncio.run(run())


# ---------------------------------------------------------------- restarts
@pytest.mark.parametrize("name", DURABLE)
def test_a_durable_memory_finds_the_same_after_a_restart(name, tmp_path):
    make = BACKENDS[name](tmp_path)
    mem = make(session_id="alice")
    fill(mem)
    before = [(h.message.id, round(h.score, 5)) for h in mem.search("cat named Pixel", limit=3)]
    mem.close()
    again = make(session_id="alice", **reopen_kwargs(name))
    calls = {"n": 0}
    vector = again._engines.vector
    if vector is not None:
        real = vector.embedder

        def counting(texts: list[str]) -> np.ndarray:
            calls["n"] += len(texts)
            return real(texts)

        vector.embedder = counting
    after = [(h.message.id, round(h.score, 5)) for h in again.search("cat named Pixel", limit=3)]
    assert after == before
    assert calls["n"] <= 1, "only the query is embedded: stored vectors are reused"
    again.close()
