"""FerromemStore: LangGraph's BaseStore in ferromem, checked against LangGraph's own
InMemoryStore and used by a real LangGraph graph across runs and a restart."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import pytest
from langchain_core.language_models.fake_chat_models import ParrotFakeChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.store.base import BaseStore, InvalidNamespaceError, PutOp, SearchOp
from langgraph.store.memory import InMemoryStore
from typing_extensions import TypedDict

from ferromem import IndexedMemory, InvalidArgumentError
from ferromem.integrations.langgraph import FerromemStore

CONCEPTS = {
    "food": ["pizza", "pasta", "food", "eat", "sushi", "hungry"],
    "colour": ["colour", "color", "teal", "red", "blue"],
    "sport": ["climbing", "tennis", "sport", "run"],
}


def embed_concepts(texts: list[str]) -> list[list[float]]:
    """A tiny meaning-aware embedding: how much a text speaks of food, colours and sport."""
    out = []
    for text in texts:
        words = text.lower().replace("?", " ").replace('"', " ").split()
        vec = [float(sum(w in words for w in ws)) for ws in CONCEPTS.values()]
        out.append([*vec, 0.05])
    return out


def fill(store: BaseStore) -> None:
    store.put(("users", "ada", "facts"), "f1", {"text": "likes sushi", "n": 1, "tag": "food"})
    store.put(("users", "ada", "facts"), "f2", {"text": "plays tennis", "n": 2, "tag": "sport"})
    store.put(("users", "ada", "prefs"), "p1", {"text": "favourite colour teal", "n": 3})
    store.put(("users", "bob", "facts"), "f1", {"text": "eats pasta daily", "n": 4, "tag": "food"})
    store.put(("docs", "v1"), "d1", {"text": "release notes", "n": 5})


def test_get_put_delete_and_times() -> None:
    store = FerromemStore()
    store.put(("a", "b"), "k", {"text": "one"})
    first = store.get(("a", "b"), "k")
    assert first is not None and first.value == {"text": "one"}
    assert first.namespace == ("a", "b") and first.key == "k"
    time.sleep(0.01)
    store.put(("a", "b"), "k", {"text": "two"})
    second = store.get(("a", "b"), "k")
    assert second is not None and second.value == {"text": "two"}
    assert second.created_at == first.created_at and second.updated_at > first.updated_at
    assert store.get(("a",), "k") is None and store.get(("a", "b"), "other") is None
    store.delete(("a", "b"), "k")
    assert store.get(("a", "b"), "k") is None
    store.delete(("a", "b"), "k")  # deleting what is gone is fine


def test_the_same_answers_as_langgraphs_in_memory_store() -> None:
    ours, theirs = FerromemStore(), InMemoryStore()
    fill(ours)
    fill(theirs)
    for ns, key in [(("users", "ada", "facts"), "f1"), (("users", "bob", "facts"), "f1")]:
        a, b = ours.get(ns, key), theirs.get(ns, key)
        assert a is not None and b is not None and (a.namespace, a.key, a.value) == (
            b.namespace, b.key, b.value,
        )  # fmt: skip
    for kwargs in [
        {},
        {"prefix": ("users",)},
        {"suffix": ("facts",)},
        {"prefix": ("users", "*", "facts")},
        {"max_depth": 2},
        {"prefix": ("users",), "max_depth": 2, "limit": 1, "offset": 1},
    ]:
        assert ours.list_namespaces(**kwargs) == theirs.list_namespaces(**kwargs), kwargs
    for prefix, filt in [
        (("users",), {"tag": "food"}),
        (("users", "ada"), None),
        ((), {"n": {"$gte": 3}}),
        (("users",), {"n": {"$ne": 2}, "tag": {"$eq": "food"}}),
        (("nothing",), None),
    ]:
        a_items = ours.search(prefix, filter=filt, limit=20)
        b_items = theirs.search(prefix, filter=filt, limit=20)
        assert {(i.namespace, i.key) for i in a_items} == {(i.namespace, i.key) for i in b_items}


def test_search_without_a_query_pages_most_recent_first() -> None:
    store = FerromemStore()
    for i in range(5):
        store.put(("log",), f"k{i}", {"i": i})
    keys = [item.key for item in store.search(("log",), limit=2, offset=1)]
    assert keys == ["k3", "k2"]


def test_keyword_search_without_an_embedder(tmp_path: Path) -> None:
    with FerromemStore(tmp_path / "lg.db") as store:
        fill(store)
        hits = store.search(("users",), query="pasta", limit=3)
        assert (hits[0].namespace, hits[0].key) == (("users", "bob", "facts"), "f1")
        assert hits[0].score is not None and hits[0].score > 0
        only_ada = store.search(("users", "ada"), query="tennis sushi", filter={"tag": "sport"})
        assert [h.key for h in only_ada] == ["f2"]


def test_semantic_search_with_an_index(tmp_path: Path) -> None:
    index: Any = {"embed": embed_concepts, "dims": 4, "fields": ["text"]}
    with FerromemStore(tmp_path / "lg.db", index=index) as store:
        fill(store)
        # No word in common with "likes sushi"; the embedding knows both are food.
        hits = store.search(("users", "ada"), query="what should we eat tonight?", limit=1)
        assert [h.value["text"] for h in hits] == ["likes sushi"]
        ranked = store.search(("users",), query="hungry for food", limit=2)
        assert {h.value["text"] for h in ranked} == {"likes sushi", "eats pasta daily"}
        # An item put with index=False is stored but never found by a query.
        store.put(("users", "ada", "facts"), "f3", {"text": "loves pizza"}, index=False)
        found = store.search(("users", "ada"), query="pizza food", limit=10)
        assert "loves pizza" not in {h.value["text"] for h in found} and len(found) == 3
        item = store.get(("users", "ada", "facts"), "f3")
        assert item is not None and item.value == {"text": "loves pizza"}
        assert len(store.search(("users", "ada"), limit=10)) == 4  # listed without a query
    with FerromemStore(tmp_path / "lg.db", index=index) as reopened:
        hits = reopened.search(("users", "ada"), query="sushi please", limit=1)
        assert [h.value["text"] for h in hits] == ["likes sushi"]


def test_batch_reads_before_writes_and_keeps_the_last_write() -> None:
    store = FerromemStore()
    store.put(("n",), "k", {"v": 0})
    results = store.batch(
        [
            PutOp(("n",), "k", {"v": 1}),
            PutOp(("n",), "k", {"v": 2}),
            SearchOp(("n",)),
            PutOp(("n",), "gone", None),
        ]
    )
    assert results[:2] == [None, None] and results[3] is None
    assert [i.value for i in results[2]] == [{"v": 0}]  # type: ignore[union-attr]
    item = store.get(("n",), "k")
    assert item is not None and item.value == {"v": 2}


async def test_async_methods() -> None:
    store = FerromemStore()
    await store.aput(("x",), "k", {"text": "async value"})
    item = await store.aget(("x",), "k")
    assert item is not None and item.value == {"text": "async value"}
    assert [i.key for i in await store.asearch(("x",), query="async")] == ["k"]
    assert await store.alist_namespaces() == [("x",)]
    await store.adelete(("x",), "k")
    assert await store.aget(("x",), "k") is None


def test_bad_values_and_namespaces_are_refused_and_change_nothing() -> None:
    store = FerromemStore()
    with pytest.raises(InvalidArgumentError, match="reserved"):
        store.put(("a",), "k", {"_ferromem_created_at": 1})
    with pytest.raises(InvalidArgumentError, match="reserved"):
        store.put(("a",), "k", {"_ferromem_unindexed": True})
    with pytest.raises(InvalidArgumentError, match="not JSON"):
        store.put(("a",), "k", {"when": {1, 2}})
    with pytest.raises(InvalidNamespaceError):
        store.batch([PutOp(("a.b",), "k", {"x": 1})])
    assert store.list_namespaces() == []


def test_a_memory_shared_with_other_uses_lists_only_store_namespaces() -> None:
    memory = IndexedMemory()
    memory.add_message("user", "a plain chat turn", session_id="chat-1")
    store = FerromemStore(memory)
    store.put(("mem",), "k", {"text": "an item"})
    assert store.list_namespaces() == [("mem",)]
    assert [i.key for i in store.search((), query="chat turn item")] == ["k"]
    with pytest.raises(InvalidArgumentError, match="embed"):
        FerromemStore(memory, index={"embed": embed_concepts, "dims": 4})


# ---------------------------------------------------------------------- a LangGraph graph
class State(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    recalled: list[str]


def build_graph(store: BaseStore) -> Any:
    """A chat agent that saves what it is told to remember (per user, in the store) and
    recalls the relevant memories in any later conversation."""
    model = ParrotFakeChatModel()

    def respond(state: State, config: RunnableConfig, *, store: BaseStore) -> dict[str, Any]:
        user = config.get("configurable", {})["user_id"]
        namespace = ("memories", user)
        text = str(state["messages"][-1].content)
        if text.lower().startswith("remember:"):
            fact = text.split(":", 1)[1].strip()
            store.put(namespace, f"m{len(store.search(namespace, limit=100))}", {"text": fact})
        found = [item.value["text"] for item in store.search(namespace, query=text, limit=2)]
        # The parrot answers with the last message: the memories it was given.
        prompt = [*state["messages"], SystemMessage("You know: " + "; ".join(found))]
        reply = model.invoke(prompt)
        return {"messages": [AIMessage(str(reply.content))], "recalled": found}

    graph = StateGraph(State)
    graph.add_node("respond", respond)
    graph.add_edge(START, "respond")
    return graph.compile(checkpointer=InMemorySaver(), store=store)


def test_a_graph_remembers_across_runs_and_a_restart(tmp_path: Path) -> None:
    index: Any = {"embed": embed_concepts, "dims": 4, "fields": ["text"]}
    db = tmp_path / "agent.db"
    with FerromemStore(db, index=index) as store:
        graph = build_graph(store)
        ada = {"configurable": {"thread_id": "t1", "user_id": "ada"}}
        graph.invoke({"messages": [HumanMessage("remember: my favourite colour is teal")]}, ada)
        graph.invoke({"messages": [HumanMessage("remember: I go climbing on Sundays")]}, ada)
        bob = {"configurable": {"thread_id": "t2", "user_id": "bob"}}
        graph.invoke({"messages": [HumanMessage("remember: I eat sushi on Fridays")]}, bob)
        # A second conversation (a new thread: no chat history) recalls from the store.
        later = {"configurable": {"thread_id": "t3", "user_id": "ada"}}
        out = graph.invoke({"messages": [HumanMessage("which colour do I like?")]}, later)
        assert out["recalled"][0] == "my favourite colour is teal"
        assert "teal" in out["messages"][-1].content
    # A restart: a new process would open the same file with a new store and graph.
    with FerromemStore(db, index=index) as store:
        graph = build_graph(store)
        again = {"configurable": {"thread_id": "t4", "user_id": "ada"}}
        out = graph.invoke({"messages": [HumanMessage("any sport plans?")]}, again)
        assert out["recalled"][0] == "I go climbing on Sundays"
        assert "sushi" not in " ".join(out["recalled"])  # bob's memory stays bob's
        assert store.list_namespaces(prefix=("memories",)) == [
            ("memories", "ada"),
            ("memories", "bob"),
        ]
