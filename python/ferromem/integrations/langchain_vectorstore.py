"""`FerromemVectorStore`: a LangChain vector store on a ferromem memory's HNSW index."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ..base import MemoryBackend
from ..errors import InvalidArgumentError, InvalidTypeError
from ..message import Hit, Message
from . import missing_extra
from .embeddings import FrameworkEmbedder

try:
    from langchain_core.documents import Document
    from langchain_core.embeddings import Embeddings
    from langchain_core.vectorstores import VectorStore
    from langchain_core.vectorstores.utils import maximal_marginal_relevance
except ImportError as e:
    raise missing_extra("ferromem.integrations.langchain", "langchain", e) from e

__all__ = ["FerromemVectorStore"]

#: The role of a stored document (documents are not conversation turns).
DOCUMENT_ROLE = "document"


def _document(m: Message) -> Document:
    return Document(id=m.id, page_content=m.content, metadata=dict(m.metadata))


def _relevance(score: float) -> float:
    """LangChain's relevance in [0, 1] from a ferromem similarity (cosine: [-1, 1])."""
    return min(1.0, max(0.0, score))


class FerromemVectorStore(VectorStore):
    """LangChain's ``VectorStore`` over a ferromem memory: documents are messages of one
    session (``collection``), their vectors in the memory's Rust HNSW index.

    - ``embedding``: a LangChain ``Embeddings``. Documents are embedded with
      ``embed_documents`` and queries with ``embed_query``, so models with separate query and
      document embeddings work as intended.
    - Where the documents live: ``path=...`` keeps them in a SQLite file (durable; vectors stored
      beside the texts, the index saved beside the file); ``memory=...`` uses any ferromem memory
      built with a vector engine (its embedder makes the document vectors, e.g.
      ``SQLiteMemory(path, embedder=FrameworkEmbedder(embedding),
      similarity_threshold=float("-inf"))``: without that threshold, hits of negative cosine
      are dropped); neither keeps them in process (:class:`~ferromem.VectorMemory`).
    - Ids: a document's ``id`` (or the ``ids`` given) is its ferromem id; adding an id that is
      already stored replaces that document (an upsert). ``delete(None)`` empties the collection.
    - Search: ``similarity_search*`` take ``filter=`` (metadata, ferromem's operators: ``{"k":
      v}``, ``$eq $ne $gt $gte $lt $lte $in $nin $exists $and $or $not``); a score is the
      similarity (cosine in [-1, 1]), and no hit is dropped for being weak.

    Metadata values must be JSON (str, numbers, bools, None, lists and dicts of them) for a
    durable memory.
    """

    def __init__(
        self,
        embedding: Embeddings,
        *,
        path: str | os.PathLike[str] | None = None,
        memory: MemoryBackend | None = None,
        collection: str = "langchain",
    ) -> None:
        if not isinstance(embedding, Embeddings):
            raise InvalidTypeError(
                f"embedding must be a LangChain Embeddings, not {type(embedding).__name__}"
            )
        if not isinstance(collection, str) or not collection:
            raise InvalidArgumentError(f"collection must be a non-empty str, got {collection!r}")
        self.embedding = embedding
        self.embedder = FrameworkEmbedder(embedding)
        self.collection = collection
        if memory is not None and path is not None:
            raise InvalidArgumentError("pass path= or memory=, not both")
        self._owns_memory = memory is None
        if memory is None:
            if path is None:
                from ..memories.vector import VectorMemory

                memory = VectorMemory(self.embedder, similarity_threshold=float("-inf"))
            else:
                from ..memories.sqlite import SQLiteMemory

                memory = SQLiteMemory(
                    path, embedder=self.embedder, similarity_threshold=float("-inf")
                )
        elif not isinstance(memory, MemoryBackend):
            raise InvalidTypeError(f"memory must be a ferromem memory, not {type(memory).__name__}")
        self.memory = memory

    @property
    def embeddings(self) -> Embeddings:
        """The LangChain embeddings model."""
        return self.embedding

    def close(self) -> None:
        """Closes the memory this store opened (a memory passed in stays open)."""
        if self._owns_memory:
            self.memory.close()

    # ------------------------------------------------------------------ writing
    def _messages(self, documents: Sequence[Document], ids: Sequence[str] | None) -> list[Message]:
        if ids is not None:
            if isinstance(ids, str):
                raise InvalidTypeError("ids must be a list of str, not a str")
            if len(ids) != len(documents):
                raise InvalidArgumentError(
                    f"got {len(ids)} ids for {len(documents)} documents; pass one id per document"
                )
        out = []
        for i, doc in enumerate(documents):
            if not isinstance(doc, Document):
                raise InvalidTypeError(
                    f"documents[{i}] must be a LangChain Document, not {type(doc).__name__}"
                )
            given = ids[i] if ids is not None else None
            out.append(
                Message(
                    DOCUMENT_ROLE,
                    doc.page_content,
                    session_id=self.collection,
                    metadata=doc.metadata,
                    id=given or doc.id or None,
                )
            )
        return out

    def add_documents(
        self, documents: list[Document], ids: list[str] | None = None, **kwargs: Any
    ) -> list[str]:
        """Embeds and stores documents (an upsert by id) in one write; returns their ids."""
        messages = self._messages(documents, ids)
        return self.memory.add_messages(messages, session_id=self.collection, on_conflict="replace")

    async def aadd_documents(
        self, documents: list[Document], ids: list[str] | None = None, **kwargs: Any
    ) -> list[str]:
        """Async twin of :meth:`add_documents`."""
        messages = self._messages(documents, ids)
        return await self.memory.aadd_messages(
            messages, session_id=self.collection, on_conflict="replace"
        )

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Stores texts (with their metadata and ids) as documents; returns their ids."""
        return self.add_documents(_documents(texts, metadatas), ids=ids)

    async def aadd_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Async twin of :meth:`add_texts`."""
        return await self.aadd_documents(_documents(texts, metadatas), ids=ids)

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Deletes these documents (missing ids are ignored), or all of them for None."""
        if ids is None:
            self.memory.clear_session(self.collection)
        else:
            self.memory.delete_messages(ids, session_id=self.collection)
        return True

    async def adelete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Async twin of :meth:`delete`."""
        if ids is None:
            await self.memory.aclear_session(self.collection)
        else:
            await self.memory.adelete_messages(ids, session_id=self.collection)
        return True

    # ------------------------------------------------------------------ reading
    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """The stored documents with these ids, in that order (missing ones left out)."""
        found = self.memory.get_messages_by_ids(list(ids), session_id=self.collection)
        return [_document(m) for m in found]

    async def aget_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """Async twin of :meth:`get_by_ids`."""
        found = await self.memory.aget_messages_by_ids(list(ids), session_id=self.collection)
        return [_document(m) for m in found]

    def _hits(self, vector: Any, k: int, filter: dict[str, Any] | None) -> list[Hit]:
        return self.memory.search_by_vector(
            vector, session_id=self.collection, limit=k, filters=filter
        )

    async def _ahits(self, vector: Any, k: int, filter: dict[str, Any] | None) -> list[Hit]:
        return await self.memory.asearch_by_vector(
            vector, session_id=self.collection, limit=k, filters=filter
        )

    def similarity_search_with_score_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[tuple[Document, float]]:
        """The ``k`` documents nearest a vector with their similarity, best first."""
        return [(_document(h.message), h.score) for h in self._hits(embedding, k, filter)]

    def similarity_search_with_score(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """The ``k`` documents most similar to ``query`` with their similarity, best first."""
        vector = self.embedder.embed_query(query)
        return self.similarity_search_with_score_by_vector(vector.tolist(), k, filter)

    async def asimilarity_search_with_score(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Async twin of :meth:`similarity_search_with_score`."""
        vector = await self.embedder.aembed_query(query)
        return [(_document(h.message), h.score) for h in await self._ahits(vector, k, filter)]

    def similarity_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """The ``k`` documents nearest a vector, best first."""
        return [_document(h.message) for h in self._hits(embedding, k, filter)]

    async def asimilarity_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """Async twin of :meth:`similarity_search_by_vector`."""
        return [_document(h.message) for h in await self._ahits(embedding, k, filter)]

    def similarity_search(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        """The ``k`` documents most similar to ``query``, best first."""
        return [doc for doc, _ in self.similarity_search_with_score(query, k, filter)]

    async def asimilarity_search(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        """Async twin of :meth:`similarity_search`."""
        return [doc for doc, _ in await self.asimilarity_search_with_score(query, k, filter)]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        return _relevance

    def max_marginal_relevance_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """``k`` documents among the ``fetch_k`` nearest, chosen for relevance and diversity."""
        hits = self._hits(embedding, fetch_k, filter)
        if not hits:
            return []
        vectors = self.embedder([h.message.content for h in hits])
        chosen = maximal_marginal_relevance(
            np.asarray(embedding, dtype=np.float32), list(vectors), lambda_mult=lambda_mult, k=k
        )
        return [_document(hits[i].message) for i in chosen]

    def max_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """:meth:`max_marginal_relevance_search_by_vector` for a text query."""
        vector = self.embedder.embed_query(query).tolist()
        return self.max_marginal_relevance_search_by_vector(vector, k, fetch_k, lambda_mult, filter)

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> FerromemVectorStore:
        """A new store (``path``, ``memory``, ``collection`` as for the constructor) holding
        these texts."""
        store = cls(embedding, **kwargs)
        store.add_texts(texts, metadatas, ids=ids)
        return store

    def __repr__(self) -> str:
        return f"FerromemVectorStore({self.memory!r}, collection={self.collection!r})"


def _documents(texts: Iterable[str], metadatas: list[dict[str, Any]] | None) -> list[Document]:
    texts = list(texts)
    if metadatas is not None and len(metadatas) != len(texts):
        raise InvalidArgumentError(
            f"got {len(metadatas)} metadatas for {len(texts)} texts; pass one per text"
        )
    metas: list[dict[str, Any]] = metadatas if metadatas is not None else [{}] * len(texts)
    return [Document(page_content=t, metadata=m) for t, m in zip(texts, metas, strict=True)]
