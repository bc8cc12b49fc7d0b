"""A LangChain ``Embeddings`` (or any ``texts -> vectors`` function) as a ferromem embedder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import InvalidTypeError

__all__ = ["FrameworkEmbedder"]


def _model_name(obj: object) -> str | None:
    for attr in ("model", "model_name", "model_id", "size"):
        value = getattr(obj, attr, None)
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return f"{attr}={value}"
    return None


class FrameworkEmbedder:
    """Embeds documents with a LangChain ``Embeddings``' ``embed_documents`` (or a plain
    ``list[str] -> list[list[float]]`` function) for a ferromem memory; :meth:`embed_query`
    embeds queries with ``embed_query`` where the model has one, so that models with separate
    query and document embeddings are used as intended.

    ``name`` (recorded beside the stored vectors, so that a durable memory refuses vectors of
    another model) is the model's class and model name unless given.
    """

    def __init__(self, embeddings: Any, *, name: str | None = None) -> None:
        documents = getattr(embeddings, "embed_documents", None)
        if callable(documents):
            self._documents: Callable[[list[str]], Any] = documents
            query = getattr(embeddings, "embed_query", None)
            self._query: Callable[[str], Any] | None = query if callable(query) else None
        elif callable(embeddings):
            self._documents = embeddings
            self._query = None
        else:
            raise InvalidTypeError(
                "embeddings must be a LangChain Embeddings or a callable list[str] -> vectors, "
                f"not {type(embeddings).__name__}"
            )
        self.embeddings = embeddings
        if name is None:
            target = embeddings if hasattr(embeddings, "__qualname__") else type(embeddings)
            name = f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', '?')}"
            model = _model_name(embeddings)
            if model is not None:
                name = f"{name}({model})"
        self.name = name

    def __call__(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Document vectors, ``(len(texts), dim)`` float32."""
        return np.asarray(self._documents(list(texts)), dtype=np.float32)

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        """The query vector for ``text`` (the model's query embedding when it has one)."""
        if self._query is not None:
            return np.asarray(self._query(text), dtype=np.float32)
        vector: npt.NDArray[np.float32] = self([text])[0]
        return vector

    async def aembed_query(self, text: str) -> npt.NDArray[np.float32]:
        """Async twin of :meth:`embed_query` (the model's own async call when it has one)."""
        query = getattr(self.embeddings, "aembed_query", None)
        if self._query is not None and callable(query):
            return np.asarray(await query(text), dtype=np.float32)
        return self.embed_query(text)

    def __repr__(self) -> str:
        return f"FrameworkEmbedder({self.name})"
