"""Importance scoring in Rust: the functions, the configurable scorer, and the base class filling
``Message.importance``."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ferromem
from ferromem import Message, core
from ferromem.core import ImportanceScorer, importance, importance_many


def test_plain_text_scores_the_seed_base():
    assert importance("the weather looks fine") == 0.5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("please remember this", 0.7),  # the seed's emphasis keywords
        ("is it raining?", 0.55),  # questions
        ("word " * 21, 0.6),  # more than 20 words
        ("my name is alice", 0.75),  # self-disclosed fact
        ("I'm allergic to peanuts", 0.75),
        ("i will call them", 0.65),  # a commitment
        ("see you tomorrow", 0.6),  # a date
        ("it costs 40 dollars", 0.55),  # a number
        ("we met Maria", 0.55),  # a name
        ("ok thanks", 0.3),  # an acknowledgement
    ],
)
def test_each_signal(text, expected):
    assert importance(text) == pytest.approx(expected)


def test_the_seed_scenario_orders_turns_sensibly():
    chit_chat = importance("Hi, how are you doing today?")
    preference = importance("Remember that I prefer Python over Java for data science work.")
    identity = importance("Hello! My name is Alice and I work as a software engineer.")
    ack = importance("ok")
    assert ack < chit_chat < identity <= preference
    assert preference > 0.9  # a core fact: explicit "remember" plus a preference
    assert identity > 0.9  # name and occupation
    assert 0.7 < importance("I'm working on a machine learning project.") <= 0.9


def test_many_is_float32_and_equals_one_by_one():
    texts = ["ok", "my name is Bob", "I will visit Paris on Monday", "", "remember?"] * 300
    scores = importance_many(texts)
    assert scores.dtype == np.float32
    assert scores.shape == (len(texts),)
    for text, score in zip(texts[:5], scores[:5], strict=True):
        assert float(score) == pytest.approx(importance(text), abs=1e-6)
    assert importance_many([]).shape == (0,)
    assert importance_many(iter(["a", "b"])).shape == (2,)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=300), max_size=20))
def test_scores_are_in_the_unit_interval_and_batch_agrees(texts):
    scores = importance_many(texts)
    for text, score in zip(texts, scores, strict=True):
        single = importance(text)
        assert 0.0 <= single <= 1.0
        assert float(score) == pytest.approx(single, abs=1e-6)


def test_bad_input_names_the_argument():
    with pytest.raises(TypeError, match="texts"):
        importance_many("not a list")
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        importance_many(["ok", 3])
    with pytest.raises(TypeError):
        importance(None)  # type: ignore[arg-type]


# ---------------------------------------------------------------- ImportanceScorer
def test_default_scorer_equals_the_functions():
    scorer = ImportanceScorer()
    for text in ["remember my name is Bob", "ok", "I'll be there on Friday 3rd"]:
        assert scorer.score(text) == importance(text)
    assert scorer.weights["base"] == 0.5
    assert "remember*" in scorer.keywords["emphasis"]
    assert scorer.long_text_words == 20 and scorer.short_text_words == 3


def test_weights_and_keywords_are_configurable():
    scorer = ImportanceScorer(
        weights={"base": 0.2, "emphasis": 0.5, "emphasis_cap": 0.5},
        keywords={"emphasis": ["urgent", "asap*"]},
        long_text_words=5,
    )
    assert scorer.score("plain words") == pytest.approx(0.2)
    assert scorer.score("this is URGENT") == pytest.approx(0.7)
    assert scorer.score("remember this") == pytest.approx(0.2)  # no longer a keyword
    assert scorer.score("asapish") == pytest.approx(0.7)
    assert scorer.score("one two three four five six") == pytest.approx(0.3)  # long now
    assert scorer.keywords["emphasis"] == ["urgent", "asap*"]
    assert scorer.keywords["plans"] == ImportanceScorer().keywords["plans"]
    many = scorer.score_many(["this is urgent"] * 600)
    assert many.dtype == np.float32 and np.allclose(many, 0.7)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"weights": {"bogus": 1.0}}, ValueError, "bogus"),
        ({"weights": {"base": math.nan}}, ValueError, "base"),
        ({"weights": {"name_cap": -1.0}}, ValueError, "name_cap"),
        ({"weights": {"base": "high"}}, TypeError, "base"),
        ({"weights": {"base": True}}, TypeError, "base"),
        ({"weights": [("base", 1.0)]}, TypeError, "weights"),
        ({"keywords": {"nope": ["x"]}}, ValueError, "nope"),
        ({"keywords": {"plans": "i will"}}, TypeError, "plans"),
        ({"keywords": {"plans": ["i will", 3]}}, TypeError, "plans"),
        ({"keywords": {"plans": ["i will", " * "]}}, ValueError, "plans"),
        ({"long_text_words": -1}, ValueError, "long_text_words"),
    ],
)
def test_bad_configuration_is_refused(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ImportanceScorer(**kwargs)


def test_configuration_errors_are_ferromem_errors():
    with pytest.raises(ferromem.InvalidArgumentError):
        ImportanceScorer(weights={"bogus": 1.0})


# ---------------------------------------------------------------- the base class fills it in
def test_memories_fill_importance_when_missing():
    mem = ferromem.DictMemory()
    mem.add_message("user", "Remember that my name is Alice.")
    mem.add_message("user", "ok", importance=0.9)
    mem.add_messages([Message("user", "see you tomorrow"), {"role": "user", "content": "hm"}])
    got = [m.importance for m in mem.get_messages()]
    assert got == [
        importance("Remember that my name is Alice."),
        0.9,
        importance("see you tomorrow"),
        importance("hm"),
    ]
    assert all(isinstance(x, float) for x in got)
    assert mem.get_session_stats()["avg_importance"] == pytest.approx(sum(got) / 4)


def test_batch_and_single_adds_store_the_same_importance():
    texts = ["I will call my mom on Friday", "ok", "Note that the deadline is 2024-05-01"]
    single, batch = ferromem.DictMemory(), ferromem.DictMemory()
    for t in texts:
        single.add_message("user", t)
    batch.add_messages([Message("user", t) for t in texts])
    assert [m.importance for m in single.get_messages()] == [
        m.importance for m in batch.get_messages()
    ]


def test_a_memory_can_use_its_own_scorer():
    mem = ferromem.DictMemory()
    mem.importance_scorer = ImportanceScorer(weights={"base": 0.1})
    mem.add_messages([Message("user", "plain"), Message("user", "plain too")])
    assert [m.importance for m in mem.get_messages()] == [pytest.approx(0.1)] * 2


def test_core_module_exports():
    assert {"importance", "importance_many", "ImportanceScorer"} <= set(core.__all__)
