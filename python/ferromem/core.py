"""`ferromem.core`: the Rust engines, usable on their own (see API.md)."""

from __future__ import annotations

from ._core import (
    BlockStore,
    HnswIndex,
    ImportanceScorer,
    KeywordIndex,
    compress,
    count_tokens,
    count_tokens_many,
    decompress,
    encode_tokens,
    hash_embed,
    importance,
    importance_many,
    summarize,
    train_dictionary,
)

__all__ = [
    "BlockStore",
    "HnswIndex",
    "ImportanceScorer",
    "KeywordIndex",
    "compress",
    "count_tokens",
    "count_tokens_many",
    "decompress",
    "encode_tokens",
    "hash_embed",
    "importance",
    "importance_many",
    "summarize",
    "train_dictionary",
]
