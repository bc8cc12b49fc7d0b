"""`HierarchicalMemory`: the Phidata seed's test_interactions with the built-in scorer and with a
callable one (as an LLM rating importance would be), tiers, context and bad input."""

from __future__ import annotations

import math
import time

import pytest

import ferromem
from ferromem import ALL_SESSIONS, HierarchicalMemory, Message
from ferromem.core import ImportanceScorer, importance

# The Phidata seed's hierarchical memory test interactions, with what an agent might answer.
TEST_INTERACTIONS = [
    "Hi, I'm working on a machine learning project about image classification.",
    "Remember that I prefer Python over Java for data science work.",
    "This is an important project for my career advancement.",
    "What's my preferred programming language for data science?",
    "Can you remind me what I'm working on?",
]
REPLIES = [
    "That sounds great. What kind of images are you classifying?",
    "Noted, Python it is.",
    "Then let's make sure it goes well.",
    "You told me you prefer Python over Java for data science.",
    "You are working on an image classification project.",
]


def run_interactions(memory: HierarchicalMemory) -> list[str]:
    """Plays the seed's loop, returning the contexts it printed for the "what" questions."""
    shown = []
    for interaction, reply in zip(TEST_INTERACTIONS, REPLIES, strict=True):
        memory.add_message("user", interaction)
        memory.add_message("assistant", reply)
        if "what" in interaction.lower():
            shown.append(memory.get_context(interaction)[:200])
    return shown


def test_seed_interactions_with_the_builtin_scorer():
    memory = HierarchicalMemory()
    shown = run_interactions(memory)
    assert len(shown) == 2
    # The explicit "remember" plus a preference is a core fact and leads every context.
    assert all(s.startswith("Core knowledge:\nuser: Remember that I prefer Python") for s in shown)
    long_term = [m.content for m in memory.get_tier("long_term")]
    assert long_term == [TEST_INTERACTIONS[1]]
    medium = [m.content for m in memory.get_tier("medium_term")]
    assert TEST_INTERACTIONS[0] in medium and TEST_INTERACTIONS[1] in medium
    assert all(m.importance > 0.7 for m in memory.get_tier("medium_term"))
    stats = memory.get_session_stats()
    assert stats["message_count"] == 10
    assert stats["short_term"] == 10
    assert stats["long_term"] == 1
    assert stats["medium_term"] == len(medium)


def test_seed_interactions_with_a_callable_scorer():
    """An LLM asked to rate each turn is a callable list[str] -> list[float]."""
    asked: list[list[str]] = []

    def rate(texts: list[str]) -> list[float]:
        asked.append(texts)
        return [0.95 if "career" in t else 0.8 if "Python" in t else 0.2 for t in texts]

    memory = HierarchicalMemory(importance_scorer=rate)
    run_interactions(memory)
    assert sum(len(a) for a in asked) == 10
    assert [m.content for m in memory.get_tier("long_term")] == [TEST_INTERACTIONS[2]]
    assert {m.content for m in memory.get_tier("medium_term")} == {
        TEST_INTERACTIONS[1],
        TEST_INTERACTIONS[2],
        REPLIES[1],
        REPLIES[3],
    }
    ctx = memory.get_context("which language do I prefer?")
    assert ctx.startswith("Core knowledge:\nuser: This is an important project")


def test_relevant_medium_term_turns_come_back_after_leaving_the_short_term():
    memory = HierarchicalMemory(short_term_size=4)
    memory.add_message("user", TEST_INTERACTIONS[0])  # medium-term (a self-disclosed fact)
    memory.add_message("user", "the sky was grey this morning")  # short-term only
    for i in range(20):
        memory.add_message("assistant", f"filler turn number {i} about nothing much at all")
    ctx = memory.get_context("what is my machine learning project about?", max_tokens=300)
    assert TEST_INTERACTIONS[0] in ctx
    assert "the sky was grey" not in ctx
    assert "filler turn number 19" in ctx and "filler turn number 15" not in ctx
    # Without a query the medium tier stays out: only the short term (and no core facts).
    assert TEST_INTERACTIONS[0] not in memory.get_context()
    # Chronological: the old relevant turn comes before the recent ones.
    lines = ctx.splitlines()
    assert lines[0] == f"user: {TEST_INTERACTIONS[0]}"


def test_core_facts_come_first_once_and_within_half_the_budget():
    memory = HierarchicalMemory()
    for i in range(30):
        memory.add_message("user", f"Remember that my name is Person{i} and I love tea number {i}.")
    assert len(memory.get_tier("long_term")) == 30
    ctx = memory.get_context(max_tokens=200)
    assert memory.count_tokens(ctx) <= 200
    core, _, turns = ctx.partition("\n\n")
    assert core.startswith("Core knowledge:")
    assert memory.count_tokens(core) <= 100
    for line in core.splitlines()[1:]:
        assert line not in turns  # shown once


def test_thresholds_are_strict_and_given_importance_is_kept():
    memory = HierarchicalMemory(medium_threshold=0.5, long_threshold=0.8)
    memory.add_message("user", "exactly at the medium threshold", importance=0.5)
    memory.add_message("user", "just above", importance=0.51)
    memory.add_message("user", "core", importance=0.81)
    assert [m.content for m in memory.get_tier("medium_term")] == ["just above", "core"]
    assert [m.content for m in memory.get_tier("long_term")] == ["core"]


def test_delete_and_clear_leave_every_tier():
    memory = HierarchicalMemory()
    mid = memory.add_message("user", "Remember that I prefer Python over Java.")
    memory.add_message("user", "Remember that my dog is called Rex.", session_id="bob")
    assert memory.get_tier("long_term")
    memory.delete_message(mid)
    assert memory.get_tier("long_term") == [] and memory.get_tier("medium_term") == []
    assert "Python" not in memory.get_context("Python")
    assert [m.content for m in memory.get_tier("long_term", "bob")] == [
        "Remember that my dog is called Rex."
    ]
    memory.clear_session("bob")
    assert memory.get_tier("medium_term", ALL_SESSIONS) == []
    assert memory.get_stats()["medium_term_messages"] == 0


def test_short_term_is_by_time_even_when_turns_arrive_out_of_order():
    memory = HierarchicalMemory(short_term_size=2)
    now = time.time()
    memory.add_message("user", "newest", timestamp=now)
    memory.add_message("user", "oldest", timestamp=now - 100)
    memory.add_message("user", "middle", timestamp=now - 50)
    assert [m.content for m in memory.get_tier("short_term")] == ["middle", "newest"]
    assert memory.get_context() == "user: middle\nuser: newest"


def test_sessions_are_separate_tiers():
    memory = HierarchicalMemory()
    memory.add_message("user", "Remember that I prefer Python over Java.")
    memory.add_message("user", "Remember that I prefer Rust over Go.", session_id="bob")
    assert "Rust" not in memory.get_context("prefer")
    both = memory.get_context("prefer", session_id=ALL_SESSIONS)
    assert "Rust" in both and "Python" in both
    assert memory.get_session_stats(ALL_SESSIONS)["long_term"] == 2


def test_a_configured_scorer():
    memory = HierarchicalMemory(
        importance_scorer=ImportanceScorer(keywords={"emphasis": ["urgent"]})
    )
    memory.add_message("user", "urgent: my passport expires in May")
    msg = memory.get_messages()[0]
    assert msg.importance == ImportanceScorer(keywords={"emphasis": ["urgent"]}).score(msg.content)
    assert msg.importance != importance(msg.content)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"medium_threshold": 1.5}, ValueError, "medium_threshold"),
        ({"medium_threshold": -0.1}, ValueError, "medium_threshold"),
        ({"long_threshold": 2}, ValueError, "long_threshold"),
        ({"long_threshold": math.nan}, ValueError, "long_threshold"),
        ({"medium_threshold": "high"}, TypeError, "medium_threshold"),
        ({"medium_threshold": 0.9, "long_threshold": 0.5}, ValueError, "long_threshold"),
        ({"short_term_size": 0}, ValueError, "short_term_size"),
        ({"relevant_limit": -1}, ValueError, "relevant_limit"),
        ({"importance_scorer": "llm"}, TypeError, "importance_scorer"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        HierarchicalMemory(**kwargs)


@pytest.mark.parametrize(
    ("scores", "exc", "match"),
    [
        ([0.5, 0.5], ValueError, "2 scores for 1 texts"),
        ([1.5], ValueError, r"not in \[0, 1\]"),
        (["high"], TypeError, "str"),
    ],
)
def test_a_bad_importance_callable_stores_nothing(scores, exc, match):
    memory = HierarchicalMemory(importance_scorer=lambda texts: scores)
    with pytest.raises(exc, match=match):
        memory.add_message("user", "hello")
    assert memory.get_messages() == []


def test_bad_tier_name():
    with pytest.raises(ValueError, match="tier"):
        HierarchicalMemory().get_tier("mid")


def test_add_messages_batch_fills_tiers_like_single_adds():
    batch = HierarchicalMemory()
    batch.add_messages([Message("user", t) for t in TEST_INTERACTIONS])
    single = HierarchicalMemory()
    for t in TEST_INTERACTIONS:
        single.add_message("user", t)
    for tier in ("medium_term", "long_term"):
        assert [m.content for m in batch.get_tier(tier)] == [
            m.content for m in single.get_tier(tier)
        ]
    assert isinstance(batch, ferromem.MemoryBackend)


def test_search_covers_every_turn_through_the_index():
    memory = HierarchicalMemory(short_term_size=2)
    memory.add_message("user", "the sky was grey this morning", metadata={"kind": "weather"})
    for i in range(10):
        memory.add_message("assistant", f"filler turn number {i}")
    memory.add_message("user", "grey skies again", session_id="bob")
    hits = memory.search("grey sky")
    assert [h.message.content for h in hits] == ["the sky was grey this morning"]
    assert memory.search("grey", filters={"kind": "weather"})[0].message.metadata == {
        "kind": "weather"
    }
    assert memory.search("grey", filters={"kind": "news"}) == []
    assert len(memory.search("grey", session_id=ALL_SESSIONS)) == 2
    assert len(memory.search("filler", limit=3)) == 3
