"""`ferromem.core`: the Rust engines, usable on their own (see API.md)."""

from __future__ import annotations

from ._core import HnswIndex, KeywordIndex, count_tokens, count_tokens_many, hash_embed

__all__ = ["HnswIndex", "KeywordIndex", "count_tokens", "count_tokens_many", "hash_embed"]
