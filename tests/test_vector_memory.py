"""VectorMemory beyond the contract suite: embedders, thresholds, scoping, hybrid fusion."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ferromem import ALL_SESSIONS, InvalidArgumentError, InvalidTypeError, VectorMemory
from ferromem.embedders import HashingEmbedder


def onehot(texts: list[str]) -> np.ndarray:
    """A toy embedder: the first letter picks the axis."""
    out = np.zeros((len(texts), 26), dtype=np.float32)
    for i, t in enumerate(texts):
        out[i, (ord(t.lower()[0]) - 97) % 26 if t else 0] = 1.0
        out[i, 25] += 0.1
    return out


def test_plain_callable_embedder_and_scores() -> None:
    mem = VectorMemory(onehot, max_results=3)
    for word in ["apple", "banana", "avocado", "cherry", "apricot"]:
        mem.add_message("user", word)
    hits = mem.search("a-word")
    assert len(hits) == 3, "max_results is the default limit"
    assert {h.message.content for h in hits} == {"apple", "avocado", "apricot"}
    assert len(mem.search("a-word", limit=10)) == 5, "an explicit limit is honoured, not capped"
    assert hits[0].score == pytest.approx(1.0, abs=1e-3)
    assert mem.get_stats()["dimension"] == 26


def test_embedder_returning_the_wrong_shape_stores_nothing() -> None:
    calls = {"n": 0}

    def flaky(texts: list[str]) -> np.ndarray:
        calls["n"] += 1
        return onehot(texts) if calls["n"] == 1 else np.ones((len(texts), 5), dtype=np.float32)

    mem = VectorMemory(flaky)
    mem.add_message("user", "apple")
    with pytest.raises(InvalidArgumentError, match=r"shape \(1, 5\), expected \(1, 26\)"):
        mem.add_message("user", "banana")
    assert [m.content for m in mem.get_messages()] == ["apple"]
    assert mem.get_stats()["vectors"] == 1

    def nan(texts: list[str]) -> np.ndarray:
        return np.full((len(texts), 4), np.nan, dtype=np.float32)

    bad = VectorMemory(nan)
    with pytest.raises(InvalidArgumentError, match="NaN"):
        bad.add_message("user", "x")
    assert bad.get_messages() == []


def test_constructor_arguments_are_checked() -> None:
    with pytest.raises(InvalidArgumentError, match="metric"):
        VectorMemory(metric="hamming")
    with pytest.raises(InvalidTypeError, match="embedder"):
        VectorMemory(embedder=42)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="dimension"):
        VectorMemory(HashingEmbedder(64), dimension=32)
    with pytest.raises(InvalidArgumentError, match="max_results"):
        VectorMemory(max_results=0)
    with pytest.raises(InvalidArgumentError, match="similarity_threshold"):
        VectorMemory(similarity_threshold=float("nan"))


def test_similarity_threshold_and_metrics() -> None:
    strict = VectorMemory(onehot, similarity_threshold=0.999)
    strict.add_message("user", "apple")
    strict.add_message("user", "banana")
    assert [h.message.content for h in strict.search("avocado")] == ["apple"]
    l2 = VectorMemory(onehot, metric="l2")
    l2.add_message("user", "apple")
    l2.add_message("user", "banana")
    hits = l2.search("avocado")
    assert hits[0].message.content == "apple" and hits[0].score == pytest.approx(1.0, abs=1e-3)
    assert 0 < hits[1].score < 1


def test_session_scoping_is_exact_even_for_a_small_session() -> None:
    mem = VectorMemory(HashingEmbedder(256), ef_construction=64, session_id="tiny")
    msgs = [{"role": "user", "content": f"hiking trail number {i}"} for i in range(3000)]
    mem.add_messages([{**m, "session_id": "big"} for m in msgs], session_id=ALL_SESSIONS)
    mem.add_message("user", "my favourite hiking trail is the Appalachian Trail")
    hits = mem.search("hiking trail")
    assert [h.message.session_id for h in hits] == ["tiny"]
    assert len(mem.search("hiking trail", session_id="big", limit=10)) == 10
    everywhere = mem.search("Appalachian trail", session_id=ALL_SESSIONS, limit=3)
    assert everywhere[0].message.session_id == "tiny"


def test_texts_without_words_are_stored_but_not_searchable() -> None:
    mem = VectorMemory()
    mid = mem.add_message("user", "!!! ???")
    mem.add_message("user", "postgres tips")
    assert mem.get_stats()["vectors"] == 1
    assert [h.message.content for h in mem.search("postgres")] == ["postgres tips"]
    assert mem.delete_message(mid)
    mem.clear_session("default")
    assert mem.get_stats()["vectors"] == 0
    assert mem.search("postgres") == []


def test_hybrid_fuses_keyword_and_vector_rankings() -> None:
    texts = [
        "What is the name of your new kitten?",
        "Whiskers! She is two months old.",
        "The quarterly report is due on Friday.",
        "Whiskers knocked the vase off the shelf again.",
    ]
    plain, hybrid = VectorMemory(), VectorMemory(hybrid=True)
    for m in (plain, hybrid):
        for t in texts:
            m.add_message("user", t)
    h = hybrid.search("Whiskers")
    assert {x.message.content for x in h[:2]} == {texts[1], texts[3]}
    assert all(a.score >= b.score for a, b in itertools.pairwise(h))
    # The answer to a matching question is found through its neighbour, which plain
    # similarity search cannot do.
    assert texts[1] not in [x.message.content for x in plain.search("kitten name")]
    found = [x.message.content for x in hybrid.search("kitten name")]
    assert found[:2] == [texts[0], texts[1]], found
    assert texts[3] not in found, "two turns away from any match"
    assert hybrid.get_stats()["hybrid"] is True
    # Removing a message removes it from both rankings.
    victim = next(x.message for x in h if x.message.content == texts[3])
    assert victim.id is not None and hybrid.delete_message(victim.id)
    assert texts[3] not in [x.message.content for x in hybrid.search("Whiskers")]
    with pytest.raises(InvalidArgumentError, match="keyword_weight"):
        VectorMemory(hybrid=True, keyword_weight=1.5)
