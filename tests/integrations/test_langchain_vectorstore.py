"""FerromemVectorStore beyond the standard suite: filters, scores, query embeddings, durability."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings

from ferromem import InvalidArgumentError, InvalidTypeError, SQLiteMemory
from ferromem.integrations.langchain import FerromemVectorStore, FrameworkEmbedder

CITIES = ["paris is in france", "berlin is in germany", "rome is in italy"]


class AsymmetricEmbeddings(Embeddings):
    """Documents and queries embed differently (as with e5 or OpenAI's query/passage models):
    a document by the city it names, a query by the country it asks about."""

    def __init__(self) -> None:
        self.query_calls = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._onehot(t, ["paris", "berlin", "rome"]) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        self.query_calls += 1
        return self._onehot(text, ["france", "germany", "italy"])

    @staticmethod
    def _onehot(text: str, words: list[str]) -> list[float]:
        vec = [1.0 if w in text else 0.0 for w in words] + [0.1]
        return vec


def test_queries_use_embed_query_and_documents_embed_documents() -> None:
    embeddings = AsymmetricEmbeddings()
    store = FerromemVectorStore(embeddings)
    store.add_texts(CITIES)
    # Embedded as a document, this query would name no city and match all three alike.
    hits = store.similarity_search("which city is the capital of germany?", k=1)
    assert [d.page_content for d in hits] == ["berlin is in germany"]
    assert embeddings.query_calls == 1


async def test_async_queries_use_embed_query() -> None:
    embeddings = AsymmetricEmbeddings()
    store = FerromemVectorStore(embeddings)
    await store.aadd_texts(CITIES)
    hits = await store.asimilarity_search("in italy?", k=1)
    assert [d.page_content for d in hits] == ["rome is in italy"]


@pytest.fixture
def store() -> FerromemVectorStore:
    s = FerromemVectorStore(DeterministicFakeEmbedding(size=16))
    s.add_documents(
        [
            Document("alpha", metadata={"topic": "db", "year": 2021}),
            Document("beta", metadata={"topic": "db", "year": 2023}),
            Document("gamma", metadata={"topic": "ml", "year": 2024}),
            Document("delta", metadata={"year": 2025}),
        ],
        ids=["a", "b", "g", "d"],
    )
    return s


def test_metadata_filters_with_operators(store: FerromemVectorStore) -> None:
    def ids(filter: dict[str, object]) -> set[str | None]:
        return {d.id for d in store.similarity_search("alpha", k=10, filter=filter)}

    assert ids({"topic": "db"}) == {"a", "b"}
    assert ids({"year": {"$gte": 2023}}) == {"b", "g", "d"}
    assert ids({"topic": {"$in": ["ml", "db"]}, "year": {"$lt": 2024}}) == {"a", "b"}
    assert ids({"topic": {"$exists": False}}) == {"d"}
    assert ids({"$or": [{"topic": "ml"}, {"year": 2021}]}) == {"a", "g"}
    with pytest.raises(InvalidArgumentError, match="unknown operator"):
        store.similarity_search("alpha", filter={"year": {"$near": 1}})


def test_scores_are_similarities_best_first(store: FerromemVectorStore) -> None:
    pairs = store.similarity_search_with_score("gamma", k=4)
    assert pairs[0][0].id == "g" and pairs[0][1] == pytest.approx(1.0, abs=1e-3)
    scores = [s for _, s in pairs]
    assert scores == sorted(scores, reverse=True) and len(scores) == 4
    relevance = store.similarity_search_with_relevance_scores("gamma", k=4)
    assert all(0.0 <= r <= 1.0 for _, r in relevance)
    assert relevance[0][1] == pytest.approx(1.0, abs=1e-3)


def test_search_by_vector(store: FerromemVectorStore) -> None:
    vector = store.embeddings.embed_query("beta")
    assert store.similarity_search_by_vector(vector, k=1)[0].id == "b"
    best = store.similarity_search_with_score_by_vector(vector, k=2, filter={"topic": "ml"})
    assert [d.id for d, _ in best] == ["g"]


def test_mmr_returns_relevant_and_diverse(store: FerromemVectorStore) -> None:
    docs = store.max_marginal_relevance_search("alpha", k=2, fetch_k=4)
    assert docs[0].id == "a" and len({d.id for d in docs}) == 2


def test_as_retriever(store: FerromemVectorStore) -> None:
    retriever = store.as_retriever(search_kwargs={"k": 1, "filter": {"topic": "ml"}})
    assert [d.id for d in retriever.invoke("alpha")] == ["g"]


def test_collections_stay_apart() -> None:
    emb = DeterministicFakeEmbedding(size=8)
    memory = SQLiteMemory(
        ":memory:", embedder=FrameworkEmbedder(emb), similarity_threshold=float("-inf")
    )
    a = FerromemVectorStore(emb, memory=memory, collection="a")
    b = FerromemVectorStore(emb, memory=memory, collection="b")
    a.add_texts(["only in a"], ids=["x"])
    b.add_texts(["only in b"], ids=["y"])
    assert [d.id for d in a.similarity_search("only", k=5)] == ["x"]
    assert a.get_by_ids(["y"]) == []
    a.delete()
    assert a.similarity_search("only", k=5) == []
    assert [d.id for d in b.similarity_search("only", k=5)] == ["y"]


def test_a_sqlite_store_keeps_documents_across_a_restart(tmp_path: Path) -> None:
    emb = DeterministicFakeEmbedding(size=8)
    first = FerromemVectorStore.from_texts(
        ["kept on disk"], emb, metadatas=[{"n": 1}], ids=["k"], path=tmp_path / "v.db"
    )
    first.close()
    again = FerromemVectorStore(emb, path=tmp_path / "v.db")
    assert again.similarity_search("kept on disk", k=1) == [
        Document(id="k", page_content="kept on disk", metadata={"n": 1})
    ]
    again.close()


def test_a_durable_store_refuses_another_embedding_model(tmp_path: Path) -> None:
    FerromemVectorStore(DeterministicFakeEmbedding(size=8), path=tmp_path / "v.db").add_texts(["x"])
    with pytest.raises(InvalidArgumentError, match="embedder"):
        FerromemVectorStore(DeterministicFakeEmbedding(size=12), path=tmp_path / "v.db")


def test_bad_arguments_are_named() -> None:
    emb = DeterministicFakeEmbedding(size=4)
    with pytest.raises(InvalidTypeError, match="embedding"):
        FerromemVectorStore(lambda t: t)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="not both"):
        FerromemVectorStore(emb, path="x.db", memory=SQLiteMemory(":memory:"))
    store = FerromemVectorStore(emb)
    with pytest.raises(InvalidArgumentError, match="2 ids for 1 documents"):
        store.add_documents([Document("x")], ids=["1", "2"])
    with pytest.raises(InvalidArgumentError, match="metadatas"):
        store.add_texts(["x", "y"], metadatas=[{}])
    with pytest.raises(InvalidTypeError, match="Document"):
        store.add_documents(["x"])  # type: ignore[list-item]
    assert store.similarity_search("x", k=3) == []
