"""`ferromem.core`: the Rust engines, usable on their own (see API.md)."""

from __future__ import annotations

from ._core import KeywordIndex, count_tokens, count_tokens_many

__all__ = ["KeywordIndex", "count_tokens", "count_tokens_many"]
