"""One behavioural suite, run against every backend in backends.py."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

import ferromem
from ferromem import ALL_SESSIONS, FerromemError, Hit, Message

TURNS = [
    ("user", "Hello! My name is Alice and I work as a software engineer."),
    ("assistant", "Nice to meet you, Alice. What do you work on?"),
    ("user", "I specialize in Python and machine learning."),
    ("assistant", "Great. Python has excellent machine learning libraries."),
    ("user", "Remember that I prefer PostgreSQL over MySQL for databases."),
    ("assistant", "Noted: PostgreSQL is your preferred database."),
]


def fill(mem: ferromem.MemoryBackend, session_id: str | None = None) -> list[str]:
    return [mem.add_message(r, c, session_id=session_id) for r, c in TURNS]


# ---------------------------------------------------------------- adding and reading
def test_add_returns_unique_sortable_ids_and_get_is_chronological(memory):
    ids = fill(memory)
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    msgs = memory.get_messages()
    assert [m.content for m in msgs] == [c for _, c in TURNS]
    assert [m.id for m in msgs] == ids
    assert all(m.session_id == "alice" for m in msgs)
    assert len(memory) == len(TURNS)


def test_the_list_get_messages_returns_is_the_callers(memory):
    fill(memory)
    first = memory.get_messages()
    first.clear()
    assert len(memory.get_messages()) == len(TURNS)
    assert memory.get_messages() is not memory.get_messages()


def test_limit_keeps_the_newest(memory):
    fill(memory)
    assert [m.content for m in memory.get_messages(limit=2)] == [c for _, c in TURNS[-2:]]
    assert memory.get_messages(limit=0) == []
    assert len(memory.get_messages(limit=100)) == len(TURNS)


def test_message_objects_dicts_and_fields_round_trip(memory):
    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    mid = memory.add_message(
        Message(
            "user", "hi", metadata={"topic": "greeting", "n": 1}, timestamp=when, importance=0.4
        )
    )
    ids = memory.add_messages([{"role": "assistant", "content": "hello"}, Message("user", "yo")])
    got = {m.id: m for m in memory.get_messages()}
    first = got[mid]
    assert first.metadata == {"topic": "greeting", "n": 1}
    assert first.timestamp == when.timestamp()
    assert first.importance == 0.4
    assert [got[i].content for i in ids] == ["hello", "yo"]
    assert Message.from_dict(first.to_dict()) == first


def test_importance_is_filled_when_missing_and_kept_when_given(memory):
    memory.add_message("user", "Remember that my name is Alice.")
    memory.add_messages([Message("user", "ok"), Message("user", "hi", importance=0.25)])
    got = [m.importance for m in memory.get_messages()]
    assert got == [
        ferromem.core.importance("Remember that my name is Alice."),
        ferromem.core.importance("ok"),
        0.25,
    ]


def test_chronological_by_timestamp_not_insertion(memory):
    now = time.time()
    memory.add_message("user", "later", timestamp=now)
    memory.add_message("user", "earlier", timestamp=now - 100)
    assert [m.content for m in memory.get_messages()] == ["earlier", "later"]


def test_duplicate_id_is_refused_and_nothing_is_lost(memory):
    memory.add_message("user", "first", id="m1")
    with pytest.raises(ValueError, match="m1"):
        memory.add_message("user", "second", id="m1")
    with pytest.raises(ValueError, match="m2"):
        memory.add_messages([Message("user", "a", id="m2"), Message("user", "b", id="m2")])
    assert [m.content for m in memory.get_messages()] == ["first"]


def test_empty_batch_is_fine(memory):
    assert memory.add_messages([]) == []


# ---------------------------------------------------------------- sessions
def test_sessions_are_isolated_by_default(memory):
    fill(memory)
    other_id = memory.add_message("user", "Bob likes PostgreSQL too", session_id="bob")
    assert all(m.session_id == "alice" for m in memory.get_messages())
    assert [m.content for m in memory.get_messages("bob")] == ["Bob likes PostgreSQL too"]
    assert all(h.message.session_id == "alice" for h in memory.search("PostgreSQL"))
    assert "Bob" not in memory.get_context("PostgreSQL")
    # Deleting another session's message through the bound session does nothing.
    assert memory.delete_message(other_id) is False
    assert len(memory.get_messages("bob")) == 1
    assert memory.delete_message(other_id, session_id="bob") is True


def test_all_sessions_must_be_spelled_out(memory):
    fill(memory)
    memory.add_message("user", "Bob likes PostgreSQL too", session_id="bob")
    everyone = memory.get_messages(ALL_SESSIONS)
    assert {m.session_id for m in everyone} == {"alice", "bob"}
    assert len(everyone) == len(TURNS) + 1
    hits = memory.search("PostgreSQL", session_id=ALL_SESSIONS)
    assert {h.message.session_id for h in hits} == {"alice", "bob"}


def test_message_for_another_session_is_refused_unless_all_sessions(memory):
    with pytest.raises(ValueError, match="bob"):
        memory.add_message(Message("user", "hi", session_id="bob"))
    assert memory.get_messages(ALL_SESSIONS) == []
    ids = memory.add_messages(
        [
            Message("user", "to bob", session_id="bob"),
            Message("user", "to carol", session_id="carol"),
        ],
        session_id=ALL_SESSIONS,
    )
    assert len(ids) == 2
    assert [m.content for m in memory.get_messages("carol")] == ["to carol"]
    assert memory.get_messages() == []


def test_clear_session_is_scoped_and_unknown_is_a_no_op(memory):
    fill(memory)
    memory.add_message("user", "keep me", session_id="bob")
    memory.clear_session("nobody")
    memory.clear_session("alice")
    assert memory.get_messages() == []
    assert [m.content for m in memory.get_messages("bob")] == ["keep me"]
    with pytest.raises(ValueError, match="session_id"):
        memory.clear_session(None)  # type: ignore[arg-type]
    memory.clear_session(ALL_SESSIONS)
    assert memory.get_messages(ALL_SESSIONS) == []


# ---------------------------------------------------------------- search
def test_search_ranks_the_relevant_turn_first(memory):
    fill(memory)
    hits = memory.search("which database does she prefer postgresql")
    assert hits and isinstance(hits[0], Hit)
    assert "PostgreSQL" in hits[0].message.content
    assert hits == sorted(hits, key=lambda h: -h.score)
    assert [m.id for m in memory.search_messages("postgresql")] == [
        h.message.id for h in memory.search("postgresql")
    ]


def test_search_limits_min_score_and_filters(memory):
    memory.add_message("user", "python tips", metadata={"topic": "code"})
    memory.add_message("user", "python snakes", metadata={"topic": "animals"})
    assert len(memory.search("python", limit=1)) == 1
    assert memory.search("python", limit=0) == []
    assert [h.message.content for h in memory.search("python", filters={"topic": "animals"})] == [
        "python snakes"
    ]
    assert memory.search("python", filters={"topic": "none"}) == []
    assert memory.search("python", min_score=1e9) == []


@pytest.mark.parametrize("query", ["", "   ", "\n\t", "!!! ???"])
def test_empty_or_punctuation_queries_find_nothing(memory, query):
    fill(memory)
    assert memory.search(query) == []


def test_unknown_words_and_huge_queries(memory):
    fill(memory)
    assert memory.search("zyxwvut") == []
    assert isinstance(memory.search("python " * 20_000), list)


# ---------------------------------------------------------------- context
def test_context_holds_recent_turns_role_labelled_in_order(memory):
    fill(memory)
    ctx = memory.get_context()
    lines = ctx.splitlines()
    assert lines[-1] == f"assistant: {TURNS[-1][1]}"
    assert lines.index(f"user: {TURNS[-2][1]}") < len(lines) - 1


def test_context_never_exceeds_the_budget(memory):
    fill(memory)
    for budget in (5, 12, 20, 40, 80, 500):
        ctx = memory.get_context("postgresql", max_tokens=budget)
        assert memory.count_tokens(ctx) <= budget


def test_context_with_query_brings_back_an_old_relevant_turn(memory):
    memory.add_message("user", "My favourite trail is the Appalachian Trail.")
    for i in range(40):
        memory.add_message("assistant", f"filler turn number {i} about nothing much at all")
    ctx = memory.get_context("Appalachian", max_tokens=120)
    assert "Appalachian Trail" in ctx
    assert "filler turn number 39" in ctx
    assert "Appalachian" not in memory.get_context(max_tokens=120)


def test_a_turn_longer_than_the_budget_is_cut_and_says_so(memory):
    memory.add_message("user", "word " * 500)
    ctx = memory.get_context(max_tokens=30)
    assert ctx.endswith("[truncated]")
    assert memory.count_tokens(ctx) <= 30


def test_context_of_an_empty_session_is_empty(memory):
    assert memory.get_context() == ""
    assert memory.get_context("anything") == ""


# ---------------------------------------------------------------- delete, stats, cleanup
def test_delete_message(memory):
    ids = fill(memory)
    assert memory.delete_message(ids[0]) is True
    assert memory.delete_message(ids[0]) is False
    assert memory.delete_message("no-such-id") is False
    assert ids[0] not in [m.id for m in memory.get_messages()]
    assert all(h.message.id != ids[0] for h in memory.search("Alice software engineer"))


def test_stats(memory):
    fill(memory)
    memory.add_message("user", "x", session_id="bob")
    stats = memory.get_stats()
    assert stats["total_messages"] == len(TURNS) + 1
    assert stats["active_sessions"] == 2
    assert stats["memory_usage_mb"] > 0
    s = memory.get_session_stats()
    assert s["message_count"] == len(TURNS)
    assert s["tokens"] == sum(memory.count_tokens(c) for _, c in TURNS)
    assert s["first_timestamp"] <= s["last_timestamp"]
    assert s["duration_hours"] >= 0
    assert memory.get_session_stats("bob")["message_count"] == 1
    assert memory.get_session_stats("nobody")["message_count"] == 0


def test_cleanup_old_messages_is_scoped(memory):
    old = time.time() - 10 * 86400
    memory.add_message("user", "ancient", timestamp=old)
    memory.add_message("user", "fresh")
    memory.add_message("user", "bob ancient", timestamp=old, session_id="bob")
    assert memory.cleanup_old_messages(7) == 1
    assert [m.content for m in memory.get_messages()] == ["fresh"]
    assert len(memory.get_messages("bob")) == 1
    assert memory.cleanup_old_messages(7, session_id=ALL_SESSIONS) == 1
    assert memory.get_messages("bob") == []
    assert memory.cleanup_old_messages(0.0) == 1


# ---------------------------------------------------------------- async twins
def test_async_twins(memory):
    async def scenario() -> None:
        mid = await memory.aadd_message("user", "async hello about postgresql")
        ids = await memory.aadd_messages([Message("assistant", "async reply")])
        assert len(ids) == 1
        assert len(await memory.aget_messages()) == 2
        assert (await memory.asearch("postgresql"))[0].message.id == mid
        assert (await memory.asearch_messages("postgresql"))[0].id == mid
        assert "async reply" in await memory.aget_context()
        assert (await memory.aget_stats())["total_messages"] == 2
        assert (await memory.aget_session_stats())["message_count"] == 2
        assert await memory.adelete_message(mid) is True
        assert await memory.acleanup_old_messages(1) == 0
        await memory.aclear_session("alice")
        assert await memory.aget_messages() == []

    asyncio.run(scenario())


def test_async_twins_run_concurrently_without_losing_messages(memory):
    async def scenario() -> None:
        await asyncio.gather(*(memory.aadd_message("user", f"turn {i}") for i in range(50)))

    asyncio.run(scenario())
    assert sorted(m.content for m in memory.get_messages()) == sorted(
        f"turn {i}" for i in range(50)
    )


def test_threads_share_one_memory(memory):
    def worker(n: int) -> None:
        for i in range(25):
            memory.add_message("user", f"thread {n} turn {i}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(memory.get_messages()) == 100


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("args", "kwargs", "exc", "match"),
    [
        ((None,), {}, TypeError, "message"),
        (("user", None), {}, TypeError, "content"),
        (("user", 42), {}, TypeError, "content"),
        ((42, "hi"), {}, TypeError, "role"),
        (("", "hi"), {}, ValueError, "role"),
        (("user", "hi"), {"metadata": "x"}, TypeError, "metadata"),
        (("user", "hi"), {"importance": 2.0}, ValueError, "importance"),
        (("user", "hi"), {"timestamp": float("nan")}, ValueError, "timestamp"),
        (("user", "hi"), {"session_id": ""}, ValueError, "session_id"),
        ((Message("user", "hi"), "extra"), {}, ValueError, "Message"),
    ],
)
def test_bad_messages_get_clear_errors_and_store_nothing(memory, args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        memory.add_message(*args, **kwargs)
    assert memory.get_messages(ALL_SESSIONS) == []


def test_bad_batches(memory):
    with pytest.raises(TypeError, match="messages"):
        memory.add_messages("not a list")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"messages\[1\]"):
        memory.add_messages([Message("user", "ok"), 42])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="content"):
        memory.add_messages([{"role": "user"}])
    assert memory.get_messages() == []


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda m: m.get_messages(limit=-1), ValueError, "limit"),
        (lambda m: m.get_messages(limit="3"), TypeError, "limit"),
        (lambda m: m.search("x", limit=-1), ValueError, "limit"),
        (lambda m: m.search(None), TypeError, "query"),
        (lambda m: m.search("x", filters=["a"]), TypeError, "filters"),
        (lambda m: m.get_context(max_tokens=-5), ValueError, "max_tokens"),
        (lambda m: m.cleanup_old_messages(-1), ValueError, "max_age_days"),
        (lambda m: m.cleanup_old_messages("7"), TypeError, "max_age_days"),
        (lambda m: m.get_messages(session_id=""), ValueError, "session_id"),
        (lambda m: m.delete_message(123), TypeError, "id"),
    ],
)
def test_bad_arguments_name_themselves(memory, call, exc, match):
    with pytest.raises(exc, match=match):
        call(memory)


def test_errors_are_ferromem_errors(memory):
    with pytest.raises(FerromemError):
        memory.get_messages(limit=-1)


def test_closed_memory_refuses_work(make_memory):
    mem = make_memory(session_id="alice")
    with mem:
        mem.add_message("user", "hi")
    with pytest.raises(FerromemError, match="closed"):
        mem.add_message("user", "again")


def test_timestamps_are_utc_epoch(memory):
    naive = datetime(2024, 5, 1, 12, 0, 0)
    memory.add_message("user", "x", timestamp=naive)
    memory.add_message("user", "y", timestamp=naive + timedelta(hours=1))
    got = memory.get_messages()
    assert got[0].timestamp == naive.replace(tzinfo=timezone.utc).timestamp()
    assert memory.get_session_stats()["duration_hours"] == pytest.approx(1.0)
