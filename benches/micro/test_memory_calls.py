"""A memory's hot methods: add_message, add_messages, search, get_context.

Every round repeats the same few calls on the same data, so that rounds are comparable, and
rounds are short (well under a millisecond), so that on a busy machine some of them still run
without being preempted: their minimum is the stable figure ``make bench-compare`` checks.
"""

from __future__ import annotations

import pytest

from ferromem import IndexedMemory, Message


def _filled(corpus: list[str], sessions: int, **options: object) -> IndexedMemory:
    """``sessions`` sessions of 100 messages each."""
    mem = IndexedMemory(**options)  # type: ignore[arg-type]
    for s in range(sessions):
        batch = [Message("user", t) for t in corpus[s * 100 : (s + 1) * 100]]
        mem.add_messages(batch, session_id=f"s{s}")
    return mem


def test_add_message_x10(benchmark, corpus):
    texts = corpus[:10]

    def add_each(mem: IndexedMemory) -> None:
        for t in texts:
            mem.add_message("user", t)

    benchmark.pedantic(add_each, setup=lambda: ((IndexedMemory(),), {}), rounds=1000)


def test_add_messages_100(benchmark, corpus):
    texts = corpus[:100]

    def setup() -> tuple[tuple[IndexedMemory, list[Message]], dict[str, object]]:
        return (IndexedMemory(), [Message("user", t) for t in texts]), {}

    benchmark.pedantic(lambda mem, msgs: mem.add_messages(msgs), setup=setup, rounds=300)


def test_search_x10(benchmark, corpus, queries):
    mem = _filled(corpus, 100)
    calls = [(q, f"s{i * 10}") for i, q in enumerate(queries[:10])]
    for q, sid in calls:  # the first search of a session builds its index: not what is timed
        mem.search(q, session_id=sid)
    benchmark(lambda: [mem.search(q, session_id=sid) for q, sid in calls])


@pytest.mark.parametrize("token_counter", ["o200k_base", "approx"])
def test_get_context_2000(benchmark, corpus, queries, token_counter):
    mem = _filled(corpus, 20, token_counter=token_counter)
    query = queries[0]
    mem.get_context(query, session_id="s3", max_tokens=2000)
    benchmark(lambda: mem.get_context(query, session_id="s3", max_tokens=2000))
