"""Text embedders for :class:`~ferromem.VectorMemory`: anything that maps a list of texts to a
float32 array of shape ``(len(texts), dim)``.

* :class:`HashingEmbedder` (the default): feature hashing in Rust; no model, no network.
* :class:`LocalEmbedder`: a sentence-transformers model (all-MiniLM-L6-v2 by default) run in
  Rust, with no torch and no network; :class:`StaticEmbedder`, its static tier for bulk
  ingestion (see :mod:`ferromem.local_embedders`).
* :class:`SentenceTransformerEmbedder`: a local sentence-transformers model (optional extra
  ``ferromem[sentence-transformers]``, imported only when used).
* :class:`OpenAIEmbedder`: any OpenAI-compatible ``/v1/embeddings`` endpoint, batched, with
  retries and timeouts, on the standard library alone.
* Any plain callable ``list[str] -> array``.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core
from .errors import (
    BackendUnavailableError,
    EmbedderError,
    FerromemError,
    InvalidArgumentError,
    InvalidTypeError,
)
from .local_embedders import LocalEmbedder, StaticEmbedder

__all__ = [
    "Embedder",
    "HashingEmbedder",
    "LocalEmbedder",
    "OpenAIEmbedder",
    "SentenceTransformerEmbedder",
    "StaticEmbedder",
    "embed_checked",
]

#: What VectorMemory accepts as an embedder.
Embedder = Callable[[list[str]], Any]


class HashingEmbedder:
    """Word, word-bigram and character n-gram feature hashing, L2-normalised (Rust).

    Deterministic and model-free. Unrelated texts still share a few hash buckets, so cosine
    similarities below :attr:`min_similarity` are noise; :class:`~ferromem.VectorMemory` ignores
    them.
    """

    def __init__(self, dim: int = 1024, *, min_similarity: float = 0.1) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise InvalidTypeError(f"dim must be an int, not {type(dim).__name__}")
        if not 1 <= dim <= 65536:
            raise InvalidArgumentError(f"dim must be in 1..=65536, got {dim}")
        self.dimension = dim
        self.min_similarity = float(min_similarity)

    def __call__(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Embeds ``texts``; a text without words embeds to the zero vector."""
        return _core.hash_embed(texts, self.dimension)

    def __repr__(self) -> str:
        return f"HashingEmbedder(dim={self.dimension})"


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded on construction (needs the optional extra)."""

    def __init__(
        self,
        model_name_or_path: str = "sentence-transformers/all-MiniLM-L6-v2",
        *,
        device: str | None = None,
        batch_size: int = 64,
    ) -> None:
        try:
            from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found]
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise BackendUnavailableError(
                "SentenceTransformerEmbedder needs sentence-transformers: "
                "pip install 'ferromem[sentence-transformers]'"
            ) from e
        self.model = SentenceTransformer(model_name_or_path, device=device)
        self.batch_size = batch_size
        self.dimension: int | None = self.model.get_sentence_embedding_dimension()

    def __call__(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Embeds ``texts`` with the model, L2-normalised."""
        out = self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(out, dtype=np.float32)


class OpenAIEmbedder:
    """Any OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, vLLM, Ollama, LM Studio...).

    Sends ``batch_size`` texts per request; retries connection errors, timeouts, 429 and 5xx
    answers ``max_retries`` times with exponential backoff; other answers raise at once.
    ``api_key`` defaults to ``$OPENAI_API_KEY`` (no header when neither is set).
    """

    def __init__(
        self,
        model: str = "text-embedding-3-small",
        api_key: str | None = None,
        base_url: str = "https://api.openai.com/v1",
        *,
        batch_size: int = 128,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        dimensions: int | None = None,
    ) -> None:
        if not isinstance(model, str) or not model:
            raise InvalidArgumentError(f"model must be a non-empty str, got {model!r}")
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise InvalidArgumentError(f"base_url must be an http(s) URL, got {base_url!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidArgumentError(f"batch_size must be an int >= 1, got {batch_size!r}")
        if not timeout > 0:
            raise InvalidArgumentError(f"timeout must be > 0, got {timeout!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise InvalidArgumentError(f"max_retries must be an int >= 0, got {max_retries!r}")
        self.model = model
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.url = base_url.rstrip("/") + "/embeddings"
        self.batch_size = batch_size
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self.backoff = float(backoff)
        self.dimensions = dimensions
        self.dimension: int | None = dimensions

    def __call__(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Embeds ``texts`` in batches; rows come back in the order of ``texts``."""
        rows: list[npt.NDArray[np.float32]] = []
        for i in range(0, len(texts), self.batch_size):
            rows.append(self._batch(list(texts[i : i + self.batch_size])))
        if not rows:
            return np.zeros((0, self.dimension or 0), dtype=np.float32)
        out = np.concatenate(rows)
        self.dimension = int(out.shape[1])
        return out

    def _batch(self, texts: list[str]) -> npt.NDArray[np.float32]:
        payload: dict[str, Any] = {"model": self.model, "input": texts}
        if self.dimensions is not None:
            payload["dimensions"] = self.dimensions
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last: Exception | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                    answer = json.loads(resp.read())
                return _parse_embeddings(answer, len(texts), self.url)
            except urllib.error.HTTPError as e:
                detail = e.read()[:300].decode(errors="replace")
                e.close()
                if e.code == 429 or e.code >= 500:
                    last = e
                    continue
                raise InvalidArgumentError(
                    f"{self.url} refused the request with HTTP {e.code}: {detail}"
                ) from e
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                last = e
                continue
        raise BackendUnavailableError(
            f"{self.url} failed after {self.max_retries + 1} attempts: {last}"
        ) from last


def _parse_embeddings(answer: Any, n: int, url: str) -> npt.NDArray[np.float32]:
    """The rows of an OpenAI-style answer, ordered by their ``index``."""
    try:
        data = sorted(answer["data"], key=lambda d: d["index"])
        out = np.asarray([d["embedding"] for d in data], dtype=np.float32)
    except (KeyError, TypeError, ValueError) as e:
        raise InvalidArgumentError(f"{url} answered without a valid 'data' list: {e}") from e
    if out.ndim != 2 or out.shape[0] != n:
        raise InvalidArgumentError(
            f"{url} returned {out.shape[0] if out.ndim else 0} embeddings for {n} texts"
        )
    return out


def embed_checked(
    embedder: Embedder, texts: Sequence[str], dim: int | None
) -> npt.NDArray[np.float32]:
    """Calls ``embedder`` and checks its answer: a finite float array of shape
    ``(len(texts), dim)`` (any ``dim`` when None). Raises ``InvalidArgumentError`` otherwise."""
    name = getattr(embedder, "__name__", type(embedder).__name__)
    try:
        raw = embedder(list(texts))
    except FerromemError:
        raise
    except Exception as e:  # a user's embedder may raise anything: say whose failure it was
        raise EmbedderError(f"embedder {name} failed: {type(e).__name__}: {e}") from e
    try:
        out = np.ascontiguousarray(raw, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(
            f"embedder {name} must return a float array, returned {type(raw).__name__}"
        ) from e
    if out.ndim != 2 or out.shape[0] != len(texts) or (dim is not None and out.shape[1] != dim):
        want = f"({len(texts)}, {dim if dim is not None else 'dim'})"
        raise InvalidArgumentError(f"embedder {name} returned shape {out.shape}, expected {want}")
    if out.size and not np.isfinite(out).all():
        raise InvalidArgumentError(f"embedder {name} returned NaN or infinite values")
    return out
