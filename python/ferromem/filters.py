"""Metadata filters: ``{"key": value}`` or MongoDB-style operators, compiled once per call.

``{"topic": "db"}`` matches messages whose ``metadata["topic"] == "db"``. A key may map to an
operator document: ``{"n": {"$gte": 2, "$lt": 5}}``. Operators: ``$eq $ne $gt $gte $lt $lte $in
$nin $exists``; ``$and``/``$or`` take a list of filters, ``$not`` one filter. A missing key
matches only ``$ne``, ``$nin`` and ``$exists: False``. Ordered comparisons between values that
cannot be ordered (a str and a number) do not match. An unknown operator or a malformed filter
raises :class:`InvalidArgumentError`, never matching nothing silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .errors import InvalidArgumentError, InvalidTypeError

__all__ = ["Predicate", "compile_filters"]

#: A compiled filter: metadata -> does it match.
Predicate = Callable[[Mapping[str, Any]], bool]

_MISSING = object()


def _ordered(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(value: Any, operand: Any) -> bool:
        if (
            value is _MISSING
            or value is None
            or isinstance(value, bool) != isinstance(operand, bool)
        ):
            return False
        try:
            return bool(op(value, operand))
        except TypeError:
            return False

    return compare


def _eq(value: Any, operand: Any) -> bool:
    if value is _MISSING:
        return False
    if isinstance(value, bool) or isinstance(operand, bool):  # 1 == True, but not in metadata
        return isinstance(value, bool) and isinstance(operand, bool) and value == operand
    return bool(value == operand)


def _in(value: Any, operand: Any) -> bool:
    return any(_eq(value, x) for x in operand)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": _eq,
    "$ne": lambda v, o: not _eq(v, o),
    "$gt": _ordered(lambda v, o: v > o),
    "$gte": _ordered(lambda v, o: v >= o),
    "$lt": _ordered(lambda v, o: v < o),
    "$lte": _ordered(lambda v, o: v <= o),
    "$in": _in,
    "$nin": lambda v, o: not _in(v, o),
    "$exists": lambda v, o: (v is not _MISSING) == o,
}


def _check_operand(op: str, operand: Any, where: str) -> None:
    if op in ("$in", "$nin"):
        if not isinstance(operand, (list, tuple, set, frozenset)):
            raise InvalidArgumentError(f"{where}: {op} takes a list, got {operand!r}")
    elif op == "$exists":
        if not isinstance(operand, bool):
            raise InvalidArgumentError(f"{where}: $exists takes true or false, got {operand!r}")
    elif op in ("$gt", "$gte", "$lt", "$lte") and (
        operand is None or isinstance(operand, (dict, list, tuple, set))
    ):
        raise InvalidArgumentError(f"{where}: {op} takes a number or a string, got {operand!r}")


def _field(key: str, spec: Any) -> Predicate:
    if isinstance(spec, Mapping) and spec and all(isinstance(k, str) for k in spec):
        ops = list(spec.items())
        if any(k.startswith("$") for k, _ in ops):
            tests: list[tuple[Callable[[Any, Any], bool], Any]] = []
            for op, operand in ops:
                if op not in _COMPARE:
                    raise InvalidArgumentError(
                        f"filters[{key!r}]: unknown operator {op!r}; use one of "
                        f"{', '.join(sorted(_COMPARE))}"
                    )
                _check_operand(op, operand, f"filters[{key!r}]")
                tests.append((_COMPARE[op], operand))
            return lambda meta: all(
                test(meta.get(key, _MISSING), operand) for test, operand in tests
            )
    return lambda meta: _eq(meta.get(key, _MISSING), spec)


def _all_of(subs: list[Predicate]) -> Predicate:
    return lambda meta: all(s(meta) for s in subs)


def _any_of(subs: list[Predicate]) -> Predicate:
    return lambda meta: any(s(meta) for s in subs)


def _none_of(subs: list[Predicate]) -> Predicate:
    return lambda meta: not any(s(meta) for s in subs)


def _compile(filters: Any, depth: int) -> Predicate:
    if depth > 32:
        raise InvalidArgumentError("filters nest deeper than 32 levels")
    if not isinstance(filters, Mapping):
        raise InvalidTypeError(f"a filter must be a dict, not {type(filters).__name__}")
    parts: list[Predicate] = []
    for key, spec in filters.items():
        if not isinstance(key, str):
            raise InvalidTypeError(f"filter keys must be str, got {key!r}")
        if key in ("$and", "$or"):
            if not isinstance(spec, (list, tuple)) or not spec:
                raise InvalidArgumentError(f"{key} takes a non-empty list of filters")
            subs = [_compile(s, depth + 1) for s in spec]
            parts.append(_all_of(subs) if key == "$and" else _any_of(subs))
        elif key == "$not":
            parts.append(_none_of([_compile(spec, depth + 1)]))
        elif key.startswith("$"):
            raise InvalidArgumentError(
                f"unknown top-level operator {key!r}; use $and, $or or $not, or a metadata key"
            )
        else:
            parts.append(_field(key, spec))
    return parts[0] if len(parts) == 1 else _all_of(parts)


def compile_filters(filters: Mapping[str, Any] | None) -> Predicate | None:
    """The predicate for ``filters`` (None for no filter), or a clear error when malformed."""
    if filters is None:
        return None
    if not isinstance(filters, Mapping):
        raise InvalidTypeError(f"filters must be a dict, not {type(filters).__name__}")
    if not filters:
        return None
    return _compile(filters, 0)
