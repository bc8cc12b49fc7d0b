"""`SummaryMemory`: the Phidata seed's summary scenario with no LLM and with a callable one, async
summarizers, and summarizers that fail."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ferromem
from ferromem import ALL_SESSIONS, Message, SummarizerError, SummaryMemory

# The Phidata seed's "Conversation Summary Memory" conversation.
LONG_CONVERSATION = [
    "I want to learn about machine learning.",
    "Can you explain supervised learning?",
    "What's the difference between classification and regression?",
    "Give me examples of classification algorithms.",
    "How does logistic regression work?",
    "What about decision trees?",
    "Can you compare random forests and gradient boosting?",
    "What's the best algorithm for my image recognition project?",
]
# What an agent would answer (the seed's agent.run stores the user turn and the reply).
REPLIES = [
    "Machine learning lets computers learn patterns from data.",
    "Supervised learning trains a model on labelled examples.",
    "Classification predicts categories; regression predicts numbers.",
    "Logistic regression, decision trees and support vector machines are classifiers.",
    "Logistic regression models the probability of a class with a sigmoid.",
    "Decision trees split the data on feature thresholds.",
    "Random forests average many trees; gradient boosting adds trees that fix earlier errors.",
    "For image recognition, convolutional neural networks are the usual choice.",
]


def run_conversation(memory: SummaryMemory) -> list[str]:
    """Plays the seed's loop and returns the summaries it printed every 3 turns."""
    shown = []
    for i, (message, reply) in enumerate(zip(LONG_CONVERSATION, REPLIES, strict=True), 1):
        memory.add_message("user", message)
        memory.add_message("assistant", reply)
        if i % 3 == 0:
            shown.append(memory.get_summary()[:100])
    return shown


def test_seed_scenario_with_no_llm():
    memory = SummaryMemory(summarize_after=5)
    shown = run_conversation(memory)
    assert all(shown)  # a summary exists by turn 3 (6 messages stored)
    final = memory.get_summary()
    assert "I want to learn about machine learning." in final  # the user's goal
    assert "regression" in final  # the topic the conversation keeps returning to
    conversation = sum(memory.count_tokens(t) for t in LONG_CONVERSATION + REPLIES)
    assert memory.count_tokens(final) <= conversation / 2
    assert all(line.split(": ", 1)[0] in {"user", "assistant"} for line in final.splitlines())
    assert memory.count_tokens(final) <= memory.summary_tokens
    stats = memory.get_session_stats()
    assert stats["message_count"] == 16
    assert stats["summarized_messages"] == 15 and stats["pending_messages"] == 1
    assert memory.get_stats()["summaries_made"] == 3
    # Every message is still there: the summary is extra, not a replacement.
    assert len(memory.get_messages()) == 16


def test_builtin_summary_keeps_the_important_facts_within_its_budget():
    memory = SummaryMemory(summarize_after=5, summary_tokens=40)
    memory.add_message("user", "Remember that my name is Alice and I am allergic to peanuts.")
    for i in range(14):
        memory.add_message("assistant", f"Filler reply number {i} about the weather.")
    summary = memory.get_summary()
    assert "allergic to peanuts" in summary
    assert memory.count_tokens(summary) <= 40


def test_seed_scenario_with_a_callable_summarizer():
    calls: list[list[Message]] = []

    def summarizer(messages: list[Message]) -> str:
        calls.append(messages)
        topics = [m.content for m in messages if m.role == "user"]
        return f"The user asked {len(topics)} questions about machine learning."

    memory = SummaryMemory(summarizer=summarizer, summarize_after=5)
    shown = run_conversation(memory)
    assert [len(c) for c in calls] == [5, 6, 6]  # later rounds get the summary so far first
    assert [m.role for m in calls[0]] == ["user", "assistant", "user", "assistant", "user"]
    assert calls[1][0].role == "summary"
    assert calls[1][0].content == "The user asked 3 questions about machine learning."
    assert shown[0] == "The user asked 3 questions about machine learning."
    assert memory.get_summary() == "The user asked 3 questions about machine learning."
    assert memory.get_stats()["summarizer"].endswith("summarizer")


def test_context_leads_with_the_summary_then_recent_turns():
    memory = SummaryMemory(summarizer=lambda ms: "SUMMARY TEXT", summarize_after=2)
    memory.add_message("user", "first")
    memory.add_message("assistant", "second")
    memory.add_message("user", "third")
    ctx = memory.get_context(max_tokens=200)
    assert ctx.startswith("Summary of the conversation so far:\nSUMMARY TEXT\n\n")
    assert ctx.endswith("user: first\nassistant: second\nuser: third")


def test_async_summarizer_is_awaited_in_aadd_message():
    seen: list[int] = []

    async def summarizer(messages: list[Message]) -> str:
        await asyncio.sleep(0)
        seen.append(len(messages))
        return f"{len(messages)} messages"

    memory = SummaryMemory(summarizer=summarizer, summarize_after=3)

    async def scenario() -> None:
        for i in range(7):
            await memory.aadd_message("user", f"turn {i}")
        await memory.aadd_messages([Message("user", "a"), Message("user", "b")])

    asyncio.run(scenario())
    assert seen == [3, 4, 4]
    assert memory.get_summary() == "4 messages"


def test_sync_summarizer_and_builtin_through_the_async_twins():
    memory = SummaryMemory(summarizer=lambda ms: f"{len(ms)}", summarize_after=2)
    builtin = SummaryMemory(summarize_after=2)

    async def scenario() -> None:
        for mem in (memory, builtin):
            await mem.aadd_message("user", "My name is Alice.")
            await mem.aadd_message("user", "I love hiking in the Alps.")

    asyncio.run(scenario())
    assert memory.get_summary() == "2"
    assert "Alice" in builtin.get_summary()


def test_async_summarizer_from_sync_code():
    async def summarizer(messages: list[Message]) -> str:
        return "done"

    memory = SummaryMemory(summarizer=summarizer, summarize_after=2)
    memory.add_message("user", "a")
    memory.add_message("user", "b")
    assert memory.get_summary() == "done"


def test_async_summarizer_called_sync_inside_a_loop_waits_for_aget_summary():
    async def summarizer(messages: list[Message]) -> str:
        return "made later"

    memory = SummaryMemory(summarizer=summarizer, summarize_after=2)

    async def scenario() -> tuple[str, str]:
        memory.add_message("user", "a")
        memory.add_message("user", "b")  # due, but a sync call cannot await here
        return memory.get_summary(), await memory.aget_summary()

    assert asyncio.run(scenario()) == ("", "made later")


def test_a_summarizer_that_raises_keeps_the_messages_and_retries():
    fail = [True]

    def summarizer(messages: list[Message]) -> str:
        if fail[0]:
            raise RuntimeError("LLM is down")
        return f"{len(messages)} summarised"

    memory = SummaryMemory(summarizer=summarizer, summarize_after=2)
    memory.add_message("user", "a")
    with pytest.raises(SummarizerError, match="LLM is down") as info:
        memory.add_message("user", "b")
    assert isinstance(info.value, ferromem.FerromemError)
    assert [m.content for m in memory.get_messages()] == ["a", "b"]
    assert memory.get_summary() == ""
    fail[0] = False
    memory.add_message("user", "c")
    assert memory.get_summary() == "3 summarised"
    assert memory.get_session_stats()["pending_messages"] == 0


@pytest.mark.parametrize("bad", [None, 42, b"bytes", ["list"]])
def test_a_summarizer_that_returns_a_non_string_is_an_error(bad):
    memory = SummaryMemory(summarizer=lambda ms: bad, summarize_after=1)
    with pytest.raises(SummarizerError, match="must return str"):
        memory.add_message("user", "hello")
    assert [m.content for m in memory.get_messages()] == ["hello"]


def test_a_failing_async_summarizer_in_aadd_message():
    async def summarizer(messages: list[Message]) -> str:
        raise ValueError("bad model")

    memory = SummaryMemory(summarizer=summarizer, summarize_after=1)
    with pytest.raises(SummarizerError, match="bad model"):
        asyncio.run(memory.aadd_message("user", "hello"))
    assert [m.content for m in memory.get_messages()] == ["hello"]


def test_sessions_have_their_own_summary():
    memory = SummaryMemory(summarizer=lambda ms: ms[-1].content, summarize_after=1)
    memory.add_message("user", "alice's turn")
    memory.add_message("user", "bob's turn", session_id="bob")
    assert memory.get_summary() == "alice's turn"
    assert memory.get_summary("bob") == "bob's turn"
    assert "bob" not in memory.get_context()
    memory.clear_session("bob")
    assert memory.get_summary("bob") == ""
    assert memory.get_summary() == "alice's turn"
    with pytest.raises(ValueError, match="session_id"):
        memory.get_summary(ALL_SESSIONS)  # type: ignore[arg-type]


def test_deleted_messages_leave_the_pending_set():
    memory = SummaryMemory(summarizer=lambda ms: str(len(ms)), summarize_after=3)
    first = memory.add_message("user", "a")
    memory.add_message("user", "b")
    memory.delete_message(first)
    assert memory.get_session_stats()["pending_messages"] == 1
    memory.add_message("user", "c")
    assert memory.get_summary() == ""
    memory.add_message("user", "d")
    assert memory.get_summary() == "3"


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"summarizer": "gpt-3.5-turbo"}, TypeError, "summarizer"),
        ({"summarize_after": 0}, ValueError, "summarize_after"),
        ({"summarize_after": 2.5}, TypeError, "summarize_after"),
        ({"summary_tokens": -1}, ValueError, "summary_tokens"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        SummaryMemory(**kwargs)


def test_core_summarize_directly():
    picked = ferromem.core.summarize(
        ["ok", "My name is Alice. I like tea.", "The sky is blue."], max_tokens=12
    )
    assert picked and all(isinstance(i, int) and isinstance(s, str) for i, s in picked)
    assert (1, "My name is Alice.") in picked
    with pytest.raises(ValueError, match="max_tokens"):
        ferromem.core.summarize(["x"], -1)
    with pytest.raises(TypeError, match="texts"):
        ferromem.core.summarize("not a list")


sentence_text = st.text(alphabet=st.sampled_from("abc XYZ.!?\n'é,"), max_size=80)


@settings(max_examples=80, deadline=None)
@given(texts=st.lists(sentence_text, max_size=10), budget=st.integers(min_value=0, max_value=60))
def test_core_summarize_picks_sentences_in_order_within_the_budget(texts, budget):
    picked = ferromem.core.summarize(texts, budget)
    last_index, searched_to = -1, 0
    for index, sentence in picked:
        assert sentence and sentence == sentence.strip()
        assert index >= last_index  # original order
        start = searched_to if index == last_index else 0
        at = texts[index].find(sentence, start)
        assert at >= 0  # a piece of that text, after the previous sentence taken from it
        last_index, searched_to = index, at + len(sentence)
    cost = sum(ferromem.core.count_tokens(s) + 3 for _, s in picked)
    assert cost <= budget


def test_a_round_of_mere_acknowledgements_keeps_the_previous_summary():
    memory = SummaryMemory(summarize_after=2)
    memory.add_message("user", "My name is Alice and I love hiking.")
    memory.add_message("assistant", "Nice to meet you, Alice.")
    before = memory.get_summary()
    assert "Alice" in before
    memory.summarize_after = 100
    for text in ["ok", "thanks", "lol", "ok"] * 150:  # enough to push Alice out of the window
        memory.add_message("user", text)
    assert memory.get_summary() == before
