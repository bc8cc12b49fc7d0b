"""LangChain adapters (``pip install 'ferromem[langchain]'``).

* :class:`FerromemChatMessageHistory`: a ``BaseChatMessageHistory`` in any ferromem memory.
* :class:`FerromemVectorStore`: a ``VectorStore`` on a ferromem memory's HNSW index.
* :class:`FrameworkEmbedder`: a LangChain ``Embeddings`` as a ferromem embedder.
"""

from __future__ import annotations

from .embeddings import FrameworkEmbedder
from .langchain_history import FerromemChatMessageHistory
from .langchain_vectorstore import FerromemVectorStore

__all__ = ["FerromemChatMessageHistory", "FerromemVectorStore", "FrameworkEmbedder"]
