"""Class-specific behaviour of DictMemory and BufferMemory."""

from __future__ import annotations

import pytest

import ferromem
from ferromem import BufferMemory, DictMemory


def test_dict_memory_drops_the_oldest_past_max_messages():
    mem = DictMemory(max_messages=3)
    for i in range(5):
        mem.add_message("user", f"m{i}")
    assert [m.content for m in mem.get_messages()] == ["m2", "m3", "m4"]
    assert mem.get_stats()["evicted_messages"] == 2
    mem.add_message("user", "other", session_id="s2")
    assert len(mem.get_messages("s2")) == 1  # the cap is per session


@pytest.mark.parametrize("bad", [0, -1])
def test_dict_memory_refuses_non_positive_limits(bad):
    with pytest.raises(ValueError, match="max_messages"):
        DictMemory(max_messages=bad)
    with pytest.raises(TypeError, match="max_messages"):
        DictMemory(max_messages="10")  # type: ignore[arg-type]


def test_buffer_keeps_the_newest_turns_within_the_budget():
    # Budgets in the approximate count (exact o200k_base makes " 3" two tokens).
    mem = BufferMemory(max_tokens=10, token_counter="approx")
    for i in range(6):
        mem.add_message("user", f"alpha beta {i}")  # 3 tokens each
    assert [m.content for m in mem.get_messages()] == [f"alpha beta {i}" for i in (3, 4, 5)]
    assert mem.buffered_tokens() == 9
    assert mem.get_stats()["evicted_messages"] == 3
    assert mem.count_tokens(mem.get_context()) <= 10


def test_buffer_with_a_custom_counter():
    mem = BufferMemory(max_tokens=10, token_counter=lambda s: len(s))
    mem.add_message("user", "abcd")
    mem.add_message("user", "efgh")
    mem.add_message("user", "ijkl")
    assert [m.content for m in mem.get_messages()] == ["efgh", "ijkl"]
    assert mem.get_session_stats()["tokens"] == 8


def test_buffer_keeps_a_single_oversized_message_and_cuts_it_in_context():
    mem = BufferMemory(max_tokens=20)
    mem.add_message("user", "long " * 200)
    assert len(mem.get_messages()) == 1
    ctx = mem.get_context()
    assert ctx.endswith("[truncated]") and mem.count_tokens(ctx) <= 20


def test_buffer_counter_that_fails_leaves_the_buffer_unchanged():
    calls = {"n": 0}

    def flaky(text: str) -> int:
        calls["n"] += 1
        if "boom" in text:
            raise RuntimeError("counter failed")
        return 1

    mem = BufferMemory(max_tokens=10, token_counter=flaky)
    mem.add_message("user", "fine")
    with pytest.raises(RuntimeError):
        mem.add_message("user", "boom")
    assert [m.content for m in mem.get_messages()] == ["fine"]


def test_buffer_counter_returning_garbage_is_a_type_error():
    mem = BufferMemory(max_tokens=10, token_counter=lambda s: "3")  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match="token_counter"):
        mem.add_message("user", "x")
    assert mem.get_messages() == []


@pytest.mark.parametrize("bad", [0, -5])
def test_buffer_refuses_non_positive_budget(bad):
    with pytest.raises(ValueError, match="max_tokens"):
        BufferMemory(max_tokens=bad)
    with pytest.raises(TypeError, match="token_counter"):
        BufferMemory(token_counter=42)  # type: ignore[arg-type]


def test_message_is_immutable_and_replace_validates():
    m = ferromem.Message("user", "hi")
    with pytest.raises(AttributeError):
        m.content = "changed"  # type: ignore[misc]
    assert m.replace(content="bye").content == "bye"
    with pytest.raises(ValueError, match="importance"):
        m.replace(importance=3)
