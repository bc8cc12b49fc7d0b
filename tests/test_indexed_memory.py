"""`IndexedMemory`: what the contract suite does not cover (scoring modes, topics, neighbours,
the lean add path) and a stateful property test of session and deletion safety."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferromem import ALL_SESSIONS, FerromemError, IndexedMemory, InvalidArgumentError, Message
from ferromem.core import importance

WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"]

ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            st.sampled_from(["s1", "s2", "s3"]),
            st.lists(st.sampled_from(WORDS), min_size=1, max_size=5),
        ),
        st.tuples(st.just("delete"), st.integers(0, 50)),
        st.tuples(st.just("clear"), st.sampled_from(["s1", "s2", "s3"])),
        st.tuples(st.just("search"), st.sampled_from(["s1", "s2", "s3"]), st.sampled_from(WORDS)),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(
    ops=ops,
    scoring=st.sampled_from(["bm25", "jaccard"]),
    weights=st.sampled_from([(0.0, 0.0), (0.3, 0.1)]),
)
def test_search_never_returns_a_deleted_or_other_session_message(
    ops: list[tuple], scoring: str, weights: tuple[float, float]
) -> None:
    mem = IndexedMemory(scoring, session_id="s1", neighbour_weights=weights)
    live: dict[str, tuple[str, str]] = {}  # id -> (session, text)
    added: list[str] = []
    for op in ops:
        if op[0] == "add":
            _, sid, words = op
            text = " ".join(words)
            mid = (
                mem.add_message("user", text)
                if sid == "s1"
                else mem.add_message("user", text, session_id=sid)
            )
            live[mid] = (sid, text)
            added.append(mid)
        elif op[0] == "delete" and added:
            mid = added[op[1] % len(added)]
            assert mem.delete_message(mid, session_id=ALL_SESSIONS) == (mid in live)
            live.pop(mid, None)
        elif op[0] == "clear":
            mem.clear_session(op[1])
            live = {k: v for k, v in live.items() if v[0] != op[1]}
        elif op[0] == "search":
            _, sid, word = op
            hits = mem.search(word, session_id=sid, limit=100)
            got = {h.message.id for h in hits}
            want = {k for k, (s, text) in live.items() if s == sid and word in text.split()}
            # Neighbour weights may add the turns around a match, never anything outside the
            # session or deleted.
            assert want <= got <= {k for k, (s, _) in live.items() if s == sid}
            if weights == (0.0, 0.0):
                assert got == want
    everywhere = mem.search(" ".join(WORDS), session_id=ALL_SESSIONS, limit=1000)
    assert {h.message.id for h in everywhere} == set(live)


def test_jaccard_scoring_is_the_seeds() -> None:
    mem = IndexedMemory("jaccard", index_roles=False, neighbour_weights=(0.0, 0.0))
    mem.add_message("user", "red apple pie")
    mem.add_message("user", "red car")
    hits = mem.search("red apple")
    assert [h.message.content for h in hits] == ["red apple pie", "red car"]
    assert hits[0].score == pytest.approx(2 / 3)
    assert "jaccard" in repr(mem.get_stats())


def test_search_topics_is_scoped_and_chronological() -> None:
    mem = IndexedMemory(session_id="a")
    mem.add_message("user", "I love programming in Python.")
    mem.add_message("user", "SQL is powerful.", timestamp=1.0)
    mem.add_message("user", "Python code again", session_id="b")
    assert [m.content for m in mem.search_topics("programming")] == [
        "I love programming in Python."
    ]
    assert len(mem.search_topics("programming", session_id=ALL_SESSIONS)) == 2
    assert [m.content for m in mem.search_topics("database")] == ["SQL is powerful."]
    assert len(mem.search_topics("programming", session_id=ALL_SESSIONS, limit=1)) == 1
    with pytest.raises(InvalidArgumentError, match="topic"):
        mem.search_topics("knitting")
    custom = IndexedMemory(topics={"pets": ["dog", "cat"]})
    custom.add_message("user", "my dogs bark")
    assert [m.content for m in custom.search_topics("pets")] == ["my dogs bark"]
    assert custom.topics == {"pets": ["dog", "cat"]}


def test_context_brings_neighbours_in_chronological_order() -> None:
    mem = IndexedMemory()
    mem.add_message("user", "Where did you go hiking last summer?")
    mem.add_message("assistant", "The Appalachian Trail, in July.")
    mem.add_message("user", "Was it hot?")
    for i in range(40):
        mem.add_message("assistant", f"filler turn number {i} about nothing much at all")
    ctx = mem.get_context("Appalachian", max_tokens=200)
    lines = ctx.splitlines()
    question = lines.index("user: Where did you go hiking last summer?")
    assert lines[question + 1] == "assistant: The Appalachian Trail, in July."
    assert lines[question + 2] == "user: Was it hot?"
    assert lines[-1].startswith("assistant: filler turn number 39")
    # The 60-token budget is sized in the approximate count.
    lone = IndexedMemory(neighbours=0, token_counter="approx")
    for role, content in [("user", "Where did you go?"), ("assistant", "Appalachian Trail")]:
        lone.add_message(role, content)
    lone.add_messages([Message("user", f"filler {i} " * 10) for i in range(30)])
    assert "Where did you go?" not in lone.get_context("Appalachian", max_tokens=60)


def test_lean_add_path_validates_like_the_general_one() -> None:
    mem = IndexedMemory(session_id="s")
    mid = mem.add_message("user", "hello there")
    m = mem.get_messages()[0]
    assert (m.id, m.role, m.content, m.session_id, m.metadata, m.importance) == (
        mid,
        "user",
        "hello there",
        "s",
        {},
        importance("hello there"),  # the lean path scores importance like the general one
    )
    with pytest.raises(InvalidArgumentError, match="role"):
        mem.add_message("", "x")
    with pytest.raises(TypeError, match="content"):
        mem.add_message("user", None)
    with pytest.raises(TypeError, match="content"):
        mem.add_message("user", 5)  # type: ignore[arg-type]
    assert len(mem) == 1
    mem.close()
    with pytest.raises(FerromemError, match="closed"):
        mem.add_message("user", "late")


def test_many_single_adds_flush_in_batches_and_stay_searchable() -> None:
    mem = IndexedMemory(neighbour_weights=(0.0, 0.0))
    for i in range(10_000):
        mem.add_message("user", f"message {i} token{i % 13}")
    assert len(mem.search("token7", limit=10_000)) == len(range(7, 10_000, 13))
    assert mem.get_stats()["indexed_messages"] == 10_000


def test_index_roles_makes_speakers_searchable() -> None:
    plain, named = IndexedMemory(index_roles=False), IndexedMemory()
    for mem in (plain, named):
        mem.add_message("Caroline", "I went to a support group.")
    assert plain.search("caroline") == []
    assert named.search("caroline")[0].message.role == "Caroline"


def test_the_answer_after_a_matching_question_inherits_part_of_its_score() -> None:
    mem = IndexedMemory(session_id="s")
    mem.add_message("Mel", "Where did you go camping last month?")
    mem.add_message("Caroline", "Up in the mountains with my kids, it was lovely.")
    mem.add_message("Mel", "Nice weather today.")
    hits = mem.search("where did Caroline go camping", limit=3)
    assert [h.message.content for h in hits[:2]] == [
        "Where did you go camping last month?",
        "Up in the mountains with my kids, it was lovely.",
    ]
    plain = IndexedMemory(index_roles=False, neighbour_weights=(0.0, 0.0), session_id="s")
    plain.add_messages(mem.get_messages())
    assert len(plain.search("where did Caroline go camping")) == 1
    with pytest.raises(ValueError, match="neighbour_weights"):
        IndexedMemory(neighbour_weights=(-1.0, 0.0))
    with pytest.raises(TypeError, match="neighbour_weights"):
        IndexedMemory(neighbour_weights=0.3)  # type: ignore[arg-type]


def test_filters_and_all_sessions_over_fetch_until_enough() -> None:
    mem = IndexedMemory(session_id="a")
    for i in range(300):
        mem.add_message("user", f"python note {i}", metadata={"keep": i % 50 == 0})
        mem.add_message("user", f"python other {i}", session_id="b")
    hits = mem.search("python", limit=5, filters={"keep": True})
    assert len(hits) == 5 and all(h.message.metadata["keep"] for h in hits)
    both = mem.search("python note other", session_id=ALL_SESSIONS, limit=700)
    assert len(both) == 600


def test_bad_constructor_arguments() -> None:
    with pytest.raises(ValueError, match="scoring"):
        IndexedMemory("tfidf")
    with pytest.raises(ValueError, match="neighbours"):
        IndexedMemory(neighbours=-1)
    with pytest.raises(TypeError, match="scoring"):
        IndexedMemory(3)  # type: ignore[arg-type]
