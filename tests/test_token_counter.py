"""``token_counter=``: names, callables, the default, and get_context's budget in each tokenizer."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ferromem
from ferromem import (
    BufferMemory,
    DictMemory,
    HierarchicalMemory,
    IndexedMemory,
    InvalidArgumentError,
    InvalidTypeError,
    Message,
    SummaryMemory,
    core,
)
from ferromem.tokens import DEFAULT_ENCODING, ENCODINGS, resolve_token_counter

from .tiktoken_reference import reference


def _reference_count(encoding: str, text: str) -> int:
    """The count to hold a context to: tiktoken's for the exact names, the estimate's for
    ``approx`` (its own definition)."""
    if encoding == "approx":
        return core.count_tokens(text)
    return len(reference(encoding).encode_ordinary(text))


def test_the_default_is_o200k_base_exactly():
    assert DEFAULT_ENCODING == "o200k_base"
    mem = DictMemory()
    ref = reference("o200k_base")
    for text in ["alpha beta 3", "你好，世界", "नमस्ते", "def f(x):\n    return x"]:
        assert mem.count_tokens(text) == len(ref.encode_ordinary(text))


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_name_selects_the_encoding(encoding):
    mem = DictMemory(token_counter=encoding)
    text = "Ünïcödé, 東京, 🙂 and code: x = [1, 2, 3]"
    assert mem.count_tokens(text) == _reference_count(encoding, text)
    mem.add_message("user", text)
    stats = mem.get_session_stats()
    assert stats["tokens"] == _reference_count(encoding, text)


def test_every_memory_class_takes_a_name():
    for cls in (DictMemory, IndexedMemory, BufferMemory, SummaryMemory, HierarchicalMemory):
        mem = cls(token_counter="cl100k_base")
        assert mem.count_tokens("alpha beta 3") == 4


def test_a_callable_counts_and_its_results_are_checked():
    mem = DictMemory(token_counter=len)
    assert mem.count_tokens("hello") == 5
    assert DictMemory(token_counter=lambda s: np.int64(2)).count_tokens("x") == 2
    for bad in (-1, 1.5, "3", None, True):
        mem = DictMemory(token_counter=lambda s, bad=bad: bad)
        with pytest.raises(InvalidTypeError, match="token_counter must return"):
            mem.count_tokens("x")


def test_buffer_budget_follows_the_chosen_tokenizer():
    mem = BufferMemory(max_tokens=12, token_counter="o200k_base")
    for i in range(6):
        mem.add_message("user", f"alpha beta {i}")  # 4 o200k tokens each
    assert [m.content for m in mem.get_messages()] == [f"alpha beta {i}" for i in (3, 4, 5)]
    assert mem.buffered_tokens() == 12


@pytest.mark.parametrize("bad", ["gpt2", "o200k", "", "O200K_BASE"])
def test_unknown_names_are_refused(bad):
    with pytest.raises(InvalidArgumentError, match="token_counter") as info:
        DictMemory(token_counter=bad)
    assert "o200k_base" in str(info.value)


@pytest.mark.parametrize("bad", [42, 1.0, b"o200k_base", ["o200k_base"]])
def test_other_types_are_refused(bad):
    with pytest.raises(InvalidTypeError, match="token_counter"):
        IndexedMemory(token_counter=bad)


def test_resolver_passes_a_resolved_counter_through():
    counter = resolve_token_counter("cl100k_base")
    assert resolve_token_counter(counter) is counter
    assert counter.count_many(["a b", "c"]) == [2, 1]
    assert "cl100k_base" in repr(counter)
    assert ferromem.tokens.ENCODINGS == ("o200k_base", "cl100k_base", "approx")


# ----------------------------------------------------------------- the budget, for any text
# Text that stresses tokenizers: CJK, Hindi, emoji (with joiners and flags), code, base64-like
# runs, odd whitespace, and plain chat words.
_PIECES = [
    "你好",
    "世界",
    "東京タワー",
    "한국어",
    "नमस्ते",
    "क्या",
    "🙂",
    "👩‍👩‍👧",
    "🇫🇷",
    "❤️",
    "def f(x):",
    "    return x ** 2",
    "{'a': [1, 2]}",
    "=>",
    "QUJDRA==",
    "aGVsbG8gd29ybGQ",
    "\n",
    "\t",
    "  ",
    "\u00a0",
    "hello",
    " world",
    "I'm",
    "42",
    "3.14159",
    "!!!",
]
_text = st.one_of(
    st.lists(st.sampled_from(_PIECES), max_size=30).map("".join),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60),
)
_conversation = st.lists(_text, min_size=1, max_size=12)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize(
    "make",
    [
        lambda enc: DictMemory(token_counter=enc),
        lambda enc: IndexedMemory(token_counter=enc),
        lambda enc: HierarchicalMemory(token_counter=enc, short_term_size=3),
        lambda enc: SummaryMemory(token_counter=enc, summarize_after=3),
    ],
    ids=["dict", "indexed", "hierarchical", "summary"],
)
@given(texts=_conversation, query=st.one_of(st.none(), _text), budget=st.integers(0, 120))
def test_get_context_never_exceeds_the_budget(make, encoding, texts, query, budget):
    mem = make(encoding)
    mem.add_messages([Message("user" if i % 2 else "assistant", t) for i, t in enumerate(texts)])
    ctx = mem.get_context(query, max_tokens=budget)
    assert _reference_count(encoding, ctx) <= budget
    mem.close()
