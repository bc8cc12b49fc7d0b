"""Type stubs for the Rust extension module ``ferromem._core`` (checked by mypy.stubtest)."""

from collections.abc import Iterable, Mapping
from typing import final

import numpy as np
import numpy.typing as npt

__all__ = [
    "ImportanceScorer",
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
