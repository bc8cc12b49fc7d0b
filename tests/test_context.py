"""Context assembly in the base class: sections first, chronological role-labelled turns, and a
budget that is never exceeded, whatever counts the tokens."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ferromem
from ferromem import Message
from ferromem.base import ContextSection
from ferromem.context import TRUNCATED_MARKER, ContextBuilder
from ferromem.memories.in_memory import InMemoryBackend


class WithPreamble(InMemoryBackend):
    """A memory with a fixed summary and core facts, to test how sections and turns combine."""

    def __init__(self, summary: str = "", core: Sequence[str] = (), **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.summary = summary
        self.core = list(core)

    def _context_preamble(self, sessions: list[str], query: str | None) -> list[ContextSection]:
        facts = [m for m in self.store.messages(sessions[0]) if m.content in self.core]
        return [("Summary", self.summary), ("Core facts", facts)]


def words(text: str) -> int:
    return len(text.split())


def test_sections_lead_then_turns_in_time_order():
    mem = WithPreamble(summary="They talked about hiking.", core=["My name is Alice."])
    for i, text in enumerate(["My name is Alice.", "hello", "how are you", "fine"]):
        mem.add_message("user" if i % 2 == 0 else "assistant", text, timestamp=1000.0 + i)
    ctx = mem.get_context(max_tokens=500)
    assert ctx == (
        "Summary:\nThey talked about hiking.\n\n"
        "Core facts:\nuser: My name is Alice.\n\n"
        "assistant: hello\nuser: how are you\nassistant: fine"
    )


def test_sections_take_at_most_half_the_budget():
    mem = WithPreamble(summary="long summary words " * 200)
    mem.add_message("user", "the newest turn")
    ctx = mem.get_context(max_tokens=100)
    assert mem.count_tokens(ctx) <= 100
    assert ctx.endswith("user: the newest turn")
    summary_part = ctx.split("\n\n")[0]
    assert summary_part.endswith("[truncated]")
    assert mem.count_tokens(summary_part) <= 50


def test_the_newest_turn_is_cut_not_dropped_even_after_relevant_turns():
    mem = ferromem.DictMemory()
    mem.add_message("user", "my favourite trail is the Appalachian Trail", timestamp=1.0)
    mem.add_message("user", "filler " * 300, timestamp=2.0)
    ctx = mem.get_context("Appalachian", max_tokens=60)
    assert "Appalachian Trail" in ctx
    assert ctx.endswith(TRUNCATED_MARKER.strip())
    assert "user: filler filler" in ctx
    assert mem.count_tokens(ctx) <= 60


def test_relevant_turns_too_long_are_skipped_for_shorter_ones():
    mem = ferromem.DictMemory()
    mem.add_message("user", "python " + "long " * 200, timestamp=1.0)
    mem.add_message("user", "python is short", timestamp=2.0)
    for i in range(30):
        mem.add_message("assistant", f"unrelated filler {i}", timestamp=10.0 + i)
    ctx = mem.get_context("python", max_tokens=60)
    assert "python is short" in ctx
    assert "long long" not in ctx


def test_a_budget_smaller_than_one_message_cuts_it_and_says_so():
    # Budgets in the approximate count, where the marker alone takes 3 tokens (o200k_base: 4).
    mem = ferromem.DictMemory(token_counter="approx")
    mem.add_message("user", "one two three four five six seven eight nine ten " * 5)
    for budget in (8, 10, 20):
        ctx = mem.get_context(max_tokens=budget)
        assert ctx.startswith("user: one")
        assert ctx.endswith("[truncated]")
        assert mem.count_tokens(ctx) <= budget
    # Too small for any of the text: the marker alone still says a message was left out.
    assert mem.get_context(max_tokens=4) == "[truncated]"
    assert mem.get_context(max_tokens=0) == ""


def test_each_message_appears_once():
    mem = ferromem.DictMemory()
    for i in range(5):
        mem.add_message("user", f"python fact number {i}")
    ctx = mem.get_context("python", max_tokens=1000)
    for i in range(5):
        assert ctx.count(f"python fact number {i}") == 1


def test_builder_counts_each_batch_once():
    calls: list[int] = []

    def many(texts: Sequence[str]) -> list[int]:
        calls.append(len(texts))
        return [words(t) for t in texts]

    builder = ContextBuilder(words, 10_000, many)
    msgs = [Message("user", f"turn {i}", id=f"m{i:04d}", timestamp=float(i)) for i in range(300)]
    builder.add_recent(reversed(msgs))
    assert sum(calls) == 300 and len(calls) < 10
    text = builder.render()
    assert text.splitlines()[0] == "user: turn 0" and text.splitlines()[-1] == "user: turn 299"


turn_text = st.text(alphabet=st.sampled_from("ab cd\nxyz?!.é🙂"), max_size=120)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(turn_text, min_size=1, max_size=12),
    budget=st.integers(min_value=0, max_value=80),
    query=st.sampled_from([None, "ab", "xyz cd"]),
    counter=st.sampled_from(["default", "words", "chars"]),
    summary=st.sampled_from(["", "a short summary", "long " * 60]),
)
def test_the_budget_is_never_exceeded(texts, budget, query, counter, summary):
    token_counter = {"default": None, "words": words, "chars": len}[counter]
    mem = WithPreamble(summary=summary, core=texts[:2], token_counter=token_counter)
    mem.add_messages([Message("user", t) for t in texts])
    ctx = mem.get_context(query, max_tokens=budget)
    assert mem.count_tokens(ctx) <= budget
    if budget >= 40 and counter == "default" and texts[-1].strip():
        # There is room for the start of the newest turn, so it is there.
        assert ctx
