"""Type stubs for the Rust extension module ``ferromem._core`` (checked by mypy.stubtest)."""

from collections.abc import Iterable, Mapping, Sequence
from os import PathLike
from typing import final

import numpy as np
import numpy.typing as npt
from typing_extensions import Buffer

__all__ = [
    "BlockStore",
    "HnswIndex",
    "ImportanceScorer",
    "KeywordIndex",
    "__version__",
    "compress",
    "count_tokens",
    "count_tokens_many",
    "decompress",
    "encode_tokens",
    "hash_embed",
    "importance",
    "importance_many",
    "open_rows",
    "seal_rows",
    "summarize",
    "train_dictionary",
]
__version__: str

def count_tokens(text: str, *, encoding: str = "approx") -> int: ...
def count_tokens_many(
    texts: Iterable[str], *, encoding: str = "approx"
) -> npt.NDArray[np.uint32]: ...
def encode_tokens(text: str, *, encoding: str) -> npt.NDArray[np.uint32]: ...
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

def compress(
    data: Buffer, codec: str = "zstd", level: int = 3, dictionary: Buffer | None = None
) -> bytes: ...
def decompress(data: Buffer, codec: str = "zstd", dictionary: Buffer | None = None) -> bytes: ...
def train_dictionary(samples: Iterable[Buffer], size: int = 16384) -> bytes: ...

#: ``(block, key, id, role, content, metadata, timestamp, importance)``
_RecordTuple = tuple[int, int, str, str, str, str, float, float | None]

@final
class BlockStore:
    def __new__(cls, codec: str = "zstd", level: int = 3) -> BlockStore: ...
    @property
    def codec(self) -> str: ...
    @property
    def level(self) -> int: ...
    @property
    def dictionary(self) -> bytes | None: ...
    def set_dictionary(self, dictionary: Buffer) -> None: ...
    def add_block(
        self,
        keys: Sequence[int],
        ids: Sequence[str],
        roles: Sequence[str],
        contents: Sequence[str],
        metadata: Sequence[str],
        timestamps: Sequence[float],
        importances: Sequence[float | None],
    ) -> int: ...
    def extend_block(
        self,
        block: int,
        keys: Sequence[int],
        ids: Sequence[str],
        roles: Sequence[str],
        contents: Sequence[str],
        metadata: Sequence[str],
        timestamps: Sequence[float],
        importances: Sequence[float | None],
    ) -> int: ...
    def get(self, key: int) -> _RecordTuple | None: ...
    def get_id(self, id: str) -> _RecordTuple | None: ...
    def block_records(self, block: int) -> list[_RecordTuple]: ...
    def remove_ids(self, ids: Iterable[str]) -> list[int]: ...
    def drop_block(self, block: int) -> list[int]: ...
    def recompress(self, block: int, level: int) -> None: ...
    def block_level(self, block: int) -> int | None: ...
    def frame(self, block: int) -> bytes | None: ...
    def replace_frame(self, block: int, frame: Buffer) -> None: ...
    def live_blocks(self) -> int: ...
    def compressed_bytes(self) -> int: ...
    def raw_bytes(self) -> int: ...
    def memory_usage_bytes(self) -> int: ...
    def __len__(self) -> int: ...

def hash_embed(texts: Iterable[str], dim: int = 1024) -> npt.NDArray[np.float32]: ...

@final
class HnswIndex:
    """An HNSW index of uint64-keyed float32 vectors (see API.md).

    The graph is built and walked on int8 codes and the candidates are re-ranked on half
    floats (0.75x the bytes of float32 together). Each vector may belong to one group (a
    session): ``search(..., group=...)`` returns only that group's vectors, exactly when the
    group is small. While the stored vectors take at most ``full_scan_bytes`` (default 4 MiB)
    searches are exact scans; ``0`` always uses the graph.
    """

    def __new__(
        cls,
        dim: int,
        metric: str = "cosine",
        M: int = 16,
        ef_construction: int = 200,
        *,
        full_scan_bytes: int | None = None,
    ) -> HnswIndex: ...
    def add(
        self,
        ids: npt.ArrayLike | Sequence[int],
        vectors: npt.ArrayLike,
        *,
        groups: Sequence[str] | None = None,
    ) -> None: ...
    def remove(self, ids: npt.ArrayLike | Sequence[int]) -> None: ...
    def search(
        self,
        queries: npt.ArrayLike,
        k: int = 10,
        ef: int | None = None,
        *,
        allowed_ids: npt.ArrayLike | Sequence[int] | None = None,
        group: str | None = None,
        groups: Sequence[str] | None = None,
    ) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.float32]]: ...
    def group_len(self, group: str) -> int: ...
    def get_vectors(self, ids: npt.ArrayLike | Sequence[int]) -> npt.NDArray[np.float32]: ...
    def save(self, path: str | PathLike[str], *, meta: Buffer | None = None) -> None: ...
    @staticmethod
    def load(path: str | PathLike[str]) -> HnswIndex: ...
    def to_bytes(self, *, meta: Buffer | None = None) -> bytes: ...
    @staticmethod
    def from_bytes(data: Buffer) -> HnswIndex: ...
    @property
    def meta(self) -> bytes: ...
    def ids(self) -> npt.NDArray[np.uint64]: ...
    def memory_usage_bytes(self) -> int: ...
    @property
    def dim(self) -> int: ...
    @property
    def metric(self) -> str: ...
    @property
    def M(self) -> int: ...
    @property
    def ef_construction(self) -> int: ...
    @property
    def kernels(self) -> str: ...
    def __len__(self) -> int: ...
    def __contains__(self, key: object, /) -> bool: ...

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

# The SQLite store's rows, sealed and opened in bulk (plain and compressed modes).
_Row = tuple[int, str, str, str, bytes, int, float, float | None, bytes, bytes | None, int]

def seal_rows(
    store_id: bytes,
    keys: Sequence[int],
    ids: Sequence[str],
    sessions: Sequence[str],
    roles: Sequence[str],
    contents: Sequence[str],
    timestamps: Sequence[float],
    importances: Sequence[float | None],
    metadata: Sequence[str],
    vectors: Sequence[bytes | None] | None,
    *,
    compress: bool,
) -> list[_Row]: ...
def open_rows(store_id: bytes, rows: Iterable[Sequence[object]]) -> list[tuple[str, str]]: ...
