"""Sentence embedders that run in process, in Rust, with no torch and no network:
:class:`LocalEmbedder` (a sentence-transformers model) and :class:`StaticEmbedder` (its
static tier, distilled as model2vec does)."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import numpy as np
import numpy.typing as npt

from . import _core
from .errors import CorruptFileError, InvalidArgumentError, InvalidTypeError
from .models import ResolvedModel, resolve_model
from .models import cache_dir as default_cache_dir

__all__ = ["LocalEmbedder", "StaticEmbedder"]

#: model2vec's default weight of a token of probability p: SIF / (SIF + p), with p from Zipf's
#: law over the vocabulary's order.
SIF_COEFFICIENT = 1e-4


class LocalEmbedder:
    """A BERT-family sentence-transformers model run in Rust (candle's gemm, the tokenizers
    crate): the same vectors as sentence-transformers, with no torch and no network.

    ``model`` is a model directory (``config.json``, ``tokenizer.json``, ``model.safetensors``,
    ``modules.json``, ``1_Pooling/``), a Hugging Face model id, or None for
    all-MiniLM-L6-v2; see :mod:`ferromem.models` for where it is looked for. The model's pooling
    and ``Normalize`` module are honoured.

    Texts longer than the model's window (``max_seq_length`` tokens, 256 for all-MiniLM-L6-v2)
    are truncated to it, as sentence-transformers does; an empty text gets the model's vector of
    the empty input; lone surrogates are replaced by U+FFFD. Calls release the GIL and use every
    core; batches are sorted by length and packed without padding.

    ``name`` (default ``"local:<model>"``, e.g. ``"local:all-MiniLM-L6-v2"``) is stable across
    processes and machines, so durable memories can record which model made their vectors.
    """

    def __init__(
        self, model: str | os.PathLike[str] | None = None, *, name: str | None = None
    ) -> None:
        self.model: ResolvedModel = resolve_model(model)
        self._encoder = _core.SentenceEncoder(str(self.model.path))
        self.dimension: int = self._encoder.dimension
        self.max_seq_length: int = self._encoder.max_seq_length
        if name is not None and not isinstance(name, str):
            raise InvalidTypeError(f"name must be a str, not {type(name).__name__}")
        self.name: str = name if name is not None else f"local:{self.model.label}"

    def __call__(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Embeds ``texts`` into a float32 array ``(len(texts), dimension)``."""
        return self._encoder.embed(texts)

    def __repr__(self) -> str:
        return f"LocalEmbedder({self.name!r}, dimension={self.dimension})"


def distill(token_vectors: npt.NDArray[np.float32], dimension: int) -> npt.NDArray[np.float32]:
    """model2vec's post-processing of a model's token vectors: PCA to ``dimension`` (skipped
    when the vectors are not wider) and Zipf/SIF weighting by vocabulary rank."""
    x = token_vectors.astype(np.float64)
    if dimension < x.shape[1]:
        x = x - x.mean(axis=0)
        _, vecs = np.linalg.eigh(x.T @ x)
        x = x @ vecs[:, ::-1][:, :dimension]
    inv_rank = 1.0 / np.arange(2, x.shape[0] + 2)
    proba = inv_rank / inv_rank.sum()
    x *= (SIF_COEFFICIENT / (SIF_COEFFICIENT + proba))[:, None]
    return np.ascontiguousarray(x, dtype=np.float32)


def _fingerprint(path: Path) -> int:
    """crc32 of ``config.json`` then ``model.safetensors``: the Rust encoder's fingerprint."""
    crc = zlib.crc32((path / "config.json").read_bytes())
    with open(path / "model.safetensors", "rb") as f:
        while chunk := f.read(1 << 24):
            crc = zlib.crc32(chunk, crc)
    return crc


class StaticEmbedder:
    """The static tier for bulk ingestion: one vector per vocabulary token, distilled from a
    :class:`LocalEmbedder`'s model as model2vec does (each token through the model, PCA to
    ``dimension``, Zipf/SIF weighting); a text's vector is the normalised mean of its tokens'.

    The first use of a model distils it (about half a minute for all-MiniLM-L6-v2 on two
    cores) and caches the result in ``cache_dir`` (default :func:`ferromem.models.cache_dir`),
    in a checksummed file written atomically; later uses load it in milliseconds. A damaged or
    stale cache file is distilled again. ``model`` is as for :class:`LocalEmbedder`, or a
    ``LocalEmbedder`` to distil. Texts are not truncated; a text without known tokens embeds to
    the zero vector.
    """

    def __init__(
        self,
        model: LocalEmbedder | str | os.PathLike[str] | None = None,
        *,
        dimension: int = 256,
        cache_dir: str | os.PathLike[str] | None = None,
        name: str | None = None,
    ) -> None:
        if isinstance(dimension, bool) or not isinstance(dimension, int):
            raise InvalidTypeError(f"dimension must be an int, not {type(dimension).__name__}")
        if not 1 <= dimension <= 65536:
            raise InvalidArgumentError(f"dimension must be in 1..=65536, got {dimension}")
        local = model if isinstance(model, LocalEmbedder) else None
        resolved = local.model if local is not None else resolve_model(model)  # type: ignore[arg-type]
        fingerprint = _fingerprint(resolved.path)
        folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        self.path = folder / f"{resolved.label}-{fingerprint:08x}-d{dimension}.static"
        cached = self._cached(fingerprint)
        if cached is None:
            encoder = local if local is not None else LocalEmbedder(resolved.path)
            vectors = distill(encoder._encoder.token_vectors(), dimension)
            tokenizer = resolved.path / "tokenizer.json"
            cached = _core.StaticModel(str(tokenizer), vectors, source=fingerprint)
            folder.mkdir(parents=True, exist_ok=True)
            cached.save(str(self.path))
        self._model: _core.StaticModel = cached
        self.dimension: int = cached.dimension
        self.name: str = name if name is not None else f"static:{resolved.label}-d{dimension}"

    def _cached(self, fingerprint: int) -> _core.StaticModel | None:
        if not self.path.is_file():
            return None
        try:
            model = _core.StaticModel.load(str(self.path))
        except CorruptFileError:
            return None
        return model if model.source == fingerprint else None

    def __call__(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Embeds ``texts`` into a float32 array ``(len(texts), dimension)``."""
        return self._model.embed(texts)

    def __repr__(self) -> str:
        return f"StaticEmbedder({self.name!r}, dimension={self.dimension})"
