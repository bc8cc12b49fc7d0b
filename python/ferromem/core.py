"""`ferromem.core`: the Rust engines, usable on their own (see API.md)."""

from __future__ import annotations

from ._core import (
    ImportanceScorer,
    KeywordIndex,
    count_tokens,
    count_tokens_many,
    importance,
    importance_many,
    summarize,
)

__all__ = [
    "ImportanceScorer",
    "KeywordIndex",
    "count_tokens",
    "count_tokens_many",
    "importance",
    "importance_many",
    "summarize",
]
