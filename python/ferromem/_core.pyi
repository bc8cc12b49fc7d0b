"""Type stubs for the Rust extension module ``ferromem._core`` (checked by mypy.stubtest)."""

from collections.abc import Iterable, Mapping, Sequence
from os import PathLike
from typing import final

import numpy as np
import numpy.typing as npt

__all__ = [
    "ImportanceScorer",
    "KeywordIndex",
    "__version__",
    "count_tokens",
    "count_tokens_many",
    "importance",
    "importance_many",
    "summarize",
]
__version__: str

def count_tokens(text: str) -> int: ...
def count_tokens_many(texts: Iterable[str]) -> npt.NDArray[np.uint32]: ...
def importance(text: str) -> float: ...
def importance_many(texts: Iterable[str]) -> npt.NDArray[np.float32]: ...
def summarize(
    texts: Iterable[str], max_tokens: int = 200, *, scorer: ImportanceScorer | None = None
) -> list[tuple[int, str]]: ...

@final
class ImportanceScorer:
    def __new__(
        cls,
        weights: Mapping[str, float] | None = None,
        keywords: Mapping[str, Iterable[str]] | None = None,
        *,
        long_text_words: int = 20,
        short_text_words: int = 3,
    ) -> ImportanceScorer: ...
    def score(self, text: str) -> float: ...
    def score_many(self, texts: Iterable[str]) -> npt.NDArray[np.float32]: ...
    @property
    def weights(self) -> dict[str, float]: ...
    @property
    def keywords(self) -> dict[str, list[str]]: ...
    @property
    def long_text_words(self) -> int: ...
    @property
    def short_text_words(self) -> int: ...

@final
class KeywordIndex:
    """An inverted index with BM25 (MaxScore top-k) or Jaccard scoring.

    Text is lower-cased, accent-folded, stripped of English stop words and lightly stemmed
    (each step can be switched off). Documents may carry a group (a session) so that a search
    restricted to the group costs in proportion to the group. ``topics`` maps topic names to
    keyword lists (default: the seed's four); ``topic_ids`` lists a topic's documents.
    """

    def __new__(
        cls,
        scoring: str = "bm25",
        k1: float = 1.2,
        b: float = 0.75,
        *,
        lowercase: bool = True,
        fold_accents: bool = True,
        stop_words: bool = True,
        stem: bool = True,
        topics: Mapping[str, Sequence[str]] | None = None,
    ) -> KeywordIndex: ...
    def add(
        self,
        ids: Sequence[int] | npt.NDArray[np.uint64],
        texts: Sequence[str],
        *,
        groups: Sequence[str] | str | None = None,
    ) -> None: ...
    def remove(self, ids: Sequence[int] | npt.NDArray[np.uint64]) -> None: ...
    def __len__(self) -> int: ...
    def __contains__(self, key: object, /) -> bool: ...
    def search(
        self,
        query: str,
        k: int = 10,
        *,
        group: str | None = None,
        neighbour_weights: tuple[float, float] = ...,  # (0.0, 0.0)
    ) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.float32]]: ...
    def topic_ids(self, topic: str, *, group: str | None = None) -> npt.NDArray[np.uint64]: ...
    def group_len(self, group: str) -> int: ...
    def analyze(self, text: str) -> list[str]: ...
    def compact(self) -> None: ...
    def memory_bytes(self) -> int: ...
    def save(self, path: str | PathLike[str]) -> None: ...
    @staticmethod
    def load(path: str | PathLike[str]) -> KeywordIndex: ...
    @property
    def scoring(self) -> str: ...
    @property
    def k1(self) -> float: ...
    @property
    def b(self) -> float: ...
    @property
    def topics(self) -> dict[str, list[str]]: ...
