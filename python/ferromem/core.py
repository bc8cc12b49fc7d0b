"""`ferromem.core`: the Rust engines, usable on their own (see API.md)."""

from __future__ import annotations

from ._core import (
    ImportanceScorer,
    count_tokens,
    count_tokens_many,
    importance,
    importance_many,
    summarize,
)

__all__ = [
    "ImportanceScorer",
    "count_tokens",
    "count_tokens_many",
    "importance",
    "importance_many",
    "summarize",
]
