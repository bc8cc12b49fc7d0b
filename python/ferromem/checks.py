"""Argument checks shared by every memory: each raises a typed error naming the argument."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .errors import InvalidArgumentError, InvalidTypeError
from .message import Message, to_epoch

__all__ = [
    "MAX_COUNT",
    "check_age",
    "check_batch",
    "check_count",
    "check_positive_int",
    "check_query",
    "check_score",
    "check_time",
]

#: The largest count a method takes (``limit``, ``max_tokens``): the engines count in 32 bits.
MAX_COUNT = 2**31 - 1


def check_count(value: object, name: str, *, allow_none: bool = True) -> int | None:
    """``value`` as an int in ``0..MAX_COUNT`` (or None when allowed)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"{name} must be an int, not {type(value).__name__}")
    if not 0 <= value <= MAX_COUNT:
        raise InvalidArgumentError(f"{name} must be in 0..{MAX_COUNT}, got {value}")
    return value


def check_positive_int(value: object, name: str) -> int:
    """``value`` as an int in ``1..MAX_COUNT``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"{name} must be an int, not {type(value).__name__}")
    if not 0 < value <= MAX_COUNT:
        raise InvalidArgumentError(f"{name} must be in 1..{MAX_COUNT}, got {value}")
    return value


def check_age(max_age_days: object) -> float:
    """A finite, non-negative age in days."""
    if isinstance(max_age_days, bool) or not isinstance(max_age_days, (int, float)):
        raise InvalidTypeError(f"max_age_days must be a number, not {type(max_age_days).__name__}")
    if not max_age_days >= 0 or math.isinf(max_age_days):
        raise InvalidArgumentError(f"max_age_days must be finite and >= 0, got {max_age_days}")
    return float(max_age_days)


def check_batch(messages: object) -> None:
    """Refuses a single message or a string where a batch is expected."""
    if isinstance(messages, (str, bytes, Message, Mapping)) or messages is None:
        raise InvalidTypeError(
            f"messages must be a list of Message or dict, not {type(messages).__name__}"
        )


def check_query(query: object) -> str:
    """A query string."""
    if not isinstance(query, str):
        raise InvalidTypeError(f"query must be str, not {type(query).__name__}")
    return query


def check_score(value: object, name: str) -> float | None:
    """A float (or None), not NaN."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidTypeError(f"{name} must be a float, not {type(value).__name__}")
    if math.isnan(value):
        raise InvalidArgumentError(f"{name} must not be NaN")
    return float(value)


def check_time(value: object, name: str) -> float | None:
    """A time bound (epoch seconds or a datetime), or None."""
    if value is None:
        return None
    if not isinstance(value, (int, float, datetime)) or isinstance(value, bool):
        raise InvalidTypeError(f"{name} must be a float or datetime, not {type(value).__name__}")
    return to_epoch(value, name)


def check_weight(value: object, name: str) -> float:
    """A weight in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidTypeError(f"{name} must be a float, not {type(value).__name__}")
    if not 0.0 <= value <= 1.0:
        raise InvalidArgumentError(f"{name} must be in [0, 1], got {value}")
    return float(value)


def check_mapping(value: Any, name: str) -> Mapping[str, Any] | None:
    """A dict (or None)."""
    if value is not None and not isinstance(value, Mapping):
        raise InvalidTypeError(f"{name} must be a dict, not {type(value).__name__}")
    return value
