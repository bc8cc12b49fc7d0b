"""The framework adapters beside each framework's own in-process implementation, in one run.

* LangChain ``FerromemVectorStore`` vs ``InMemoryVectorStore``: add N LoCoMo turns with their
  all-MiniLM-L6-v2 vectors (``../shared/embeddings``, repeated with a little noise up to N),
  then top-4 ``similarity_search`` (filtered and not).
* LangGraph ``FerromemStore`` vs ``InMemoryStore``: ``put`` N items (semantic index), then
  ``search(query=...)`` over one user's namespace and over all users.
* LangChain ``FerromemChatMessageHistory`` vs ``InMemoryChatMessageHistory`` and LlamaIndex
  ``FerromemChatStore`` vs ``SimpleChatStore``: append turns one at a time, read the history.

Embedding is a dictionary lookup of precomputed vectors on both sides, so the figures are the
stores' own cost. Each workload alternates the two sides and keeps the best of ``--rounds``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core._api.deprecation import LangChainDeprecationWarning
from langchain_core.chat_history import InMemoryChatMessageHistory
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.vectorstores import InMemoryVectorStore
from langgraph.store.memory import InMemoryStore
from llama_index.core.llms import ChatMessage
from llama_index.core.storage.chat_store import SimpleChatStore

from ferromem import IndexedMemory
from ferromem.integrations.langchain import FerromemChatMessageHistory, FerromemVectorStore
from ferromem.integrations.langgraph import FerromemStore
from ferromem.integrations.llama_index import FerromemChatStore

DEFAULT_EMBEDDINGS = Path(__file__).resolve().parent.parent.parent / "shared" / "embeddings"


class Lookup(Embeddings):
    """Precomputed vectors by text (both sides pay the same, near-zero, embedding cost)."""

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = table

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.table[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.table[text]


def load_corpus(directory: Path, n: int) -> tuple[list[str], np.ndarray]:
    vectors = np.load(directory / "locomo_dev_minilm.npy").astype(np.float32)
    texts = json.loads((directory / "locomo_dev_minilm.texts.json").read_text())
    rng = np.random.default_rng(5)
    out_t, out_v = [], []
    for i in range(n):
        j = i % len(texts)
        copy = i // len(texts)
        v = vectors[j] if not copy else vectors[j] + rng.normal(0, 0.02, vectors.shape[1])
        out_t.append(texts[j] if not copy else f"{texts[j]} #{copy}")
        out_v.append(v / np.linalg.norm(v))
    return out_t, np.asarray(out_v, dtype=np.float32)


def best(fn: Callable[[], Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def p50_ms(fn: Callable[[Any], Any], items: list[Any]) -> float:
    times = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def row(what: str, ours: float, theirs: float, unit: str, higher_is_better: bool) -> None:
    ratio = ours / theirs if higher_is_better else theirs / ours
    print(f"{what:<46} {ours:>12,.2f} {theirs:>12,.2f}  {unit:<8} {ratio:6.2f}x")


def vector_store(texts: list[str], vectors: np.ndarray, queries: list[str], rounds: int) -> None:
    emb = Lookup({t: v.tolist() for t, v in zip(texts, vectors, strict=True)})
    docs = [Document(t, metadata={"conv": i % 5}) for i, t in enumerate(texts)]
    stores: dict[str, Any] = {}

    def ours() -> None:
        stores["ours"] = FerromemVectorStore(emb)
        stores["ours"].add_documents(docs)

    def theirs() -> None:
        stores["theirs"] = InMemoryVectorStore(emb)
        stores["theirs"].add_documents(docs)

    t_ours = t_theirs = float("inf")
    for _ in range(rounds):
        t_ours = min(t_ours, best(ours, 1))
        t_theirs = min(t_theirs, best(theirs, 1))
    row("VectorStore add_documents", len(docs) / t_ours, len(docs) / t_theirs, "docs/s", True)
    a, b = stores["ours"], stores["theirs"]
    row(
        "VectorStore similarity_search k=4, p50",
        p50_ms(lambda q: a.similarity_search(q, k=4), queries),
        p50_ms(lambda q: b.similarity_search(q, k=4), queries),
        "ms",
        False,
    )
    row(
        "VectorStore search k=4, metadata filter, p50",
        p50_ms(lambda q: a.similarity_search(q, k=4, filter={"conv": 2}), queries),
        p50_ms(
            lambda q: b.similarity_search(q, k=4, filter=lambda d: d.metadata["conv"] == 2),
            queries,
        ),
        "ms",
        False,
    )


def langgraph_store(texts: list[str], vectors: np.ndarray, queries: list[str], rounds: int) -> None:
    emb = Lookup({t: v.tolist() for t, v in zip(texts, vectors, strict=True)})
    index: Any = {"embed": emb, "dims": vectors.shape[1], "fields": ["text"]}
    users = 100
    stores: dict[str, Any] = {}

    def fill(store: Any) -> None:
        for i, t in enumerate(texts):
            store.put(("memories", f"u{i % users}"), f"k{i}", {"text": t})

    def ours() -> None:
        stores["ours"] = FerromemStore(index=index)
        fill(stores["ours"])

    def theirs() -> None:
        stores["theirs"] = InMemoryStore(index=index)
        fill(stores["theirs"])

    t_ours = t_theirs = float("inf")
    for _ in range(rounds):
        t_ours = min(t_ours, best(ours, 1))
        t_theirs = min(t_theirs, best(theirs, 1))
    row("LangGraph store put (semantic index)", len(texts) / t_ours, len(texts) / t_theirs,
        "items/s", True)  # fmt: skip
    a, b = stores["ours"], stores["theirs"]
    pairs = [(q, f"u{i % users}") for i, q in enumerate(queries)]
    row(
        "LangGraph search(query) in one user, p50",
        p50_ms(lambda p: a.search(("memories", p[1]), query=p[0], limit=5), pairs),
        p50_ms(lambda p: b.search(("memories", p[1]), query=p[0], limit=5), pairs),
        "ms",
        False,
    )
    few = pairs[: max(5, len(pairs) // 10)]
    row(
        f"LangGraph search(query) over {users} users, p50",
        p50_ms(lambda p: a.search(("memories",), query=p[0], limit=5), few),
        p50_ms(lambda p: b.search(("memories",), query=p[0], limit=5), few),
        "ms",
        False,
    )


def chat_histories(texts: list[str], rounds: int) -> None:
    turns = texts[:5000]

    def lc_ours() -> None:
        h = FerromemChatMessageHistory(IndexedMemory(), session_id="s")
        for i, t in enumerate(turns):
            h.add_message(HumanMessage(t) if i % 2 == 0 else AIMessage(t))
        assert len(h.messages) == len(turns)

    def lc_theirs() -> None:
        h = InMemoryChatMessageHistory()
        for i, t in enumerate(turns):
            h.add_message(HumanMessage(t) if i % 2 == 0 else AIMessage(t))
        assert len(h.messages) == len(turns)

    def li_ours() -> None:
        s = FerromemChatStore()
        for i, t in enumerate(turns):
            s.add_message("k", ChatMessage(role="user" if i % 2 == 0 else "assistant", content=t))
        assert len(s.get_messages("k")) == len(turns)

    def li_theirs() -> None:
        s = SimpleChatStore()
        for i, t in enumerate(turns):
            s.add_message("k", ChatMessage(role="user" if i % 2 == 0 else "assistant", content=t))
        assert len(s.get_messages("k")) == len(turns)

    for what, ours, theirs in [
        ("LangChain chat history: add one by one + read", lc_ours, lc_theirs),
        ("LlamaIndex chat store: add one by one + read", li_ours, li_theirs),
    ]:
        t_ours = t_theirs = float("inf")
        for _ in range(rounds):
            t_ours = min(t_ours, best(ours, 1))
            t_theirs = min(t_theirs, best(theirs, 1))
        row(what, len(turns) / t_ours, len(turns) / t_theirs, "msg/s", True)


def main() -> None:
    # LangChain deprecates its InMemoryChatMessageHistory; it is still the reference to beat.
    warnings.filterwarnings("ignore", category=LangChainDeprecationWarning)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--embeddings", type=Path, default=DEFAULT_EMBEDDINGS)
    parser.add_argument("--data", type=Path, help="(unused: the texts come with the embeddings)")
    parser.add_argument("--n", type=int, default=20_000, help="documents / items")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="5,000 documents, 50 queries")
    args = parser.parse_args()
    if args.quick:
        args.n, args.queries, args.rounds = 5_000, 50, 2
    texts, vectors = load_corpus(args.embeddings, args.n)
    queries = texts[:: max(1, len(texts) // args.queries)][: args.queries]
    print(f"adapters vs the frameworks' own stores: {len(texts):,} documents, "
          f"{len(queries)} queries, best of {args.rounds}")  # fmt: skip
    print(f"{'workload':<46} {'ferromem':>12} {'framework':>12}  {'unit':<8} {'ratio':>7}")
    vector_store(texts, vectors, queries, args.rounds)
    langgraph_store(texts, vectors, queries, args.rounds)
    chat_histories(texts, args.rounds)
    print("ratio: how many times better ferromem is (above 1) or worse (below 1)")


if __name__ == "__main__":
    main()
