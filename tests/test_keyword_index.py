"""`ferromem.core.KeywordIndex`: API, bad input, persistence, and property tests against a
brute-force BM25 reference."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferromem import CorruptFileError, InvalidArgumentError, UnknownIdError
from ferromem.core import KeywordIndex

VOCAB = ["apple", "banana", "cherry", "dates", "fig", "grape", "honey", "kiwi", "lemon", "mango"]


def brute_force(
    index: KeywordIndex, docs: dict[int, tuple[str, str]], query: str, group: str | None
) -> list[tuple[int, float]]:
    """BM25 of every live document, the obvious way, over the index's own analysis."""
    analyzed = {i: (index.analyze(text), g) for i, (text, g) in docs.items()}
    n = len(analyzed)
    if n == 0:
        return []
    avg = max(sum(len(t) for t, _ in analyzed.values()) / n, 1.0)
    k1, b = index.k1, index.b
    q = set(index.analyze(query))
    out = []
    for i, (terms, g) in analyzed.items():
        if group is not None and g != group:
            continue
        tf = Counter(terms)
        score, hit = 0.0, False
        for t in q:
            if tf[t]:
                hit = True
                df = sum(1 for other, _ in analyzed.values() if t in other)
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                norm = k1 * (1 - b + b * len(terms) / avg)
                score += idf * tf[t] * (k1 + 1) / (tf[t] + norm)
        if hit:
            out.append((i, score))
    out.sort(key=lambda x: -x[1])
    return out


docs_strategy = st.lists(
    st.tuples(
        st.lists(st.sampled_from(VOCAB), max_size=10).map(" ".join),
        st.sampled_from(["s1", "s2", "s3"]),
        st.booleans(),  # deleted afterwards
    ),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(
    docs=docs_strategy,
    query=st.lists(st.sampled_from(VOCAB), min_size=1, max_size=4).map(" ".join),
    k=st.integers(1, 12),
    group=st.sampled_from([None, "s1", "s2"]),
)
def test_bm25_top_k_equals_brute_force_and_skips_deleted_and_other_groups(
    docs: list[tuple[str, str, bool]], query: str, k: int, group: str | None
) -> None:
    index = KeywordIndex()
    if docs:
        index.add(list(range(len(docs))), [d[0] for d in docs], groups=[d[1] for d in docs])
    dead = [i for i, d in enumerate(docs) if d[2]]
    if dead:
        index.remove(dead)
    live = {i: (d[0], d[1]) for i, d in enumerate(docs) if not d[2]}
    ids, scores = index.search(query, k, group=group)
    want = brute_force(index, live, query, group)
    assert len(ids) == min(k, len(want))
    truth = dict(want)
    for rank, (i, s) in enumerate(zip(ids.tolist(), scores.tolist(), strict=True)):
        assert i in live, "a deleted document came back"
        assert group is None or live[i][1] == group, "a document of another group came back"
        assert s == pytest.approx(want[rank][1], rel=1e-4)
        assert truth[i] == pytest.approx(s, rel=1e-4)


def test_search_returns_numpy_arrays_best_first() -> None:
    index = KeywordIndex()
    index.add(np.array([7, 8, 9], dtype=np.uint64), ["red fox", "red red fox jumps", "blue sky"])
    ids, scores = index.search("red fox", k=5)
    assert ids.dtype == np.uint64 and scores.dtype == np.float32
    assert set(ids.tolist()) == {7, 8}
    assert list(scores) == sorted(scores, reverse=True)
    assert len(index) == 3 and 7 in index and 10 not in index


def test_jaccard_scores_like_the_seed() -> None:
    index = KeywordIndex("jaccard")
    index.add([1, 2], ["red apple pie", "red car"])
    ids, scores = index.search("red apple")
    assert ids.tolist() == [1, 2]
    assert scores.tolist() == pytest.approx([2 / 3, 1 / 3])


def test_group_scoped_search_and_topics() -> None:
    index = KeywordIndex()
    index.add([1, 2, 3], ["python code", "python snakes", "sql data"], groups=["a", "b", "a"])
    assert index.search("python", group="a")[0].tolist() == [1]
    assert index.search("python", group="zzz")[0].tolist() == []
    assert index.group_len("a") == 2
    assert index.topic_ids("programming").tolist() == [1, 2]
    assert index.topic_ids("database", group="a").tolist() == [3]
    with pytest.raises(InvalidArgumentError, match="topic"):
        index.topic_ids("cooking")
    custom = KeywordIndex(topics={"food": ["apple pie", "cake"]})
    custom.add([1, 2, 3], ["an apple pie", "an apple", "cakes"], groups="g")
    assert custom.topic_ids("food").tolist() == [1, 3]
    assert custom.group_len("g") == 3


def test_bad_input_is_refused_precisely() -> None:
    index = KeywordIndex()
    index.add([1], ["hello world"])
    for k in (0, -3):
        with pytest.raises(ValueError, match="k must be >= 1"):
            index.search("hello", k)
    for query in ("", "   ", "the of and", "?!..."):
        assert index.search(query)[0].size == 0
    with pytest.raises(UnknownIdError, match="99"):
        index.remove([1, 99])
    assert len(index) == 1, "a failed remove removed something"
    with pytest.raises(InvalidArgumentError, match="already"):
        index.add([1], ["again"])
    with pytest.raises(InvalidArgumentError, match="twice"):
        index.add([5, 5], ["a", "b"])
    with pytest.raises(InvalidArgumentError, match="differ in length"):
        index.add([5], ["a", "b"])
    with pytest.raises(InvalidArgumentError, match=r"ids\[0\]"):
        index.add([-1], ["a"])
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        index.add([5, 6], ["a", 3])
    with pytest.raises(TypeError, match="ids"):
        index.add("12", ["a", "b"])
    with pytest.raises(ValueError, match="scoring"):
        KeywordIndex("tfidf")
    with pytest.raises(ValueError, match="b must be"):
        KeywordIndex(b=1.5)
    with pytest.raises(ValueError, match="keyword"):
        KeywordIndex(topics={"x": ["the"]})
    assert len(index) == 1 and index.search("hello")[0].tolist() == [1]


def test_huge_and_non_latin_texts() -> None:
    index = KeywordIndex()
    big = "lorem ipsum dolor " * 600_000  # ~10 MB
    index.add([1, 2, 3, 4], [big, "Привет, мир", "東京タワーに行った", "Café in Zürich"])
    assert index.search("мир")[0].tolist() == [2]
    assert index.search("東京")[0].tolist() == [3]
    assert index.search("cafe zurich")[0].tolist() == [4]
    assert index.search("CAFÉ")[0].tolist() == [4]
    assert index.search("dolor")[0].tolist() == [1]


def test_save_load_round_trip_and_corruption(tmp_path: Path) -> None:
    path = tmp_path / "kw.idx"
    index = KeywordIndex(k1=1.5, b=0.5)
    index.add([1, 2, 3], ["red fox", "blue fox", "green python code"], groups=["a", "b", "a"])
    index.remove([2])
    index.save(path)
    back = KeywordIndex.load(str(path))
    assert (back.k1, back.b, len(back)) == (1.5, 0.5, 2)
    for query in ("fox", "green code"):
        a, b = index.search(query), back.search(query)
        assert a[0].tolist() == b[0].tolist() and a[1].tolist() == b[1].tolist()
    assert back.search("fox", group="a")[0].tolist() == [1]
    assert back.topic_ids("programming").tolist() == [3]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError):
        KeywordIndex.load(path)


def test_deleted_then_readded_ids_and_compact() -> None:
    index = KeywordIndex()
    index.add(list(range(100)), [f"shared word{i % 7}" for i in range(100)])
    index.remove(list(range(0, 100, 2)))
    assert all(i % 2 for i in index.search("shared", 100)[0].tolist())
    index.add([0], ["shared unique"])
    before = index.memory_bytes()
    index.compact()
    assert index.memory_bytes() <= before
    assert index.search("unique")[0].tolist() == [0]
    assert len(index) == 51


def test_neighbour_weights_credit_the_next_turn_within_its_group_only() -> None:
    index = KeywordIndex()
    index.add([1, 2, 3], ["where did you go camping", "the mountains", "unrelated"], groups="a")
    index.add([4, 5], ["camping again", "the beach"], groups="b")
    index.add([6, 7], ["camping alone", "a lake"])  # no group: one sequence of its own
    plain = index.search("camping", k=10)[0].tolist()
    assert sorted(plain) == [1, 4, 6]
    ids, scores = index.search("camping", k=10, neighbour_weights=(0.3, 0.0))
    assert sorted(ids.tolist()) == [1, 2, 4, 5, 6, 7]
    by_id = dict(zip(ids.tolist(), scores.tolist(), strict=True))
    assert by_id[2] == pytest.approx(0.3 * by_id[1], rel=1e-5)
    assert index.search("camping", group="a", neighbour_weights=(0.3, 0.0))[0].tolist() == [1, 2]
    index.remove([1])
    # The group's sequence closes over the deleted turn: "the mountains" now follows nothing.
    assert index.search("camping", group="a", neighbour_weights=(0.3, 0.0))[0].size == 0
    with pytest.raises(ValueError, match="neighbour_weights"):
        index.search("camping", neighbour_weights=(float("nan"), 0.0))


def test_neighbours_survive_save_and_load(tmp_path: Path) -> None:
    index = KeywordIndex()
    index.add([1, 2, 3], ["red fox", "it ran", "blue sky"])
    index.add([4, 5], ["red kite", "it flew"], groups="g")
    index.save(tmp_path / "kw.idx")
    back = KeywordIndex.load(tmp_path / "kw.idx")
    for group in (None, "g"):
        a = index.search("red", group=group, neighbour_weights=(0.5, 0.1))
        b = back.search("red", group=group, neighbour_weights=(0.5, 0.1))
        assert a[0].tolist() == b[0].tolist() and a[1].tolist() == b[1].tolist()
