"""How `RedisMemory` lists messages: the arguments of ``get_messages`` checked exactly as the base
class checks them, and only the newest ``limit + offset`` messages of each session read from
Redis when no filter needs the rest (an agent's ``get_messages(limit=20)`` on a long session
costs what twenty messages cost)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..checks import check_count, check_mapping, check_time
from ..filters import Predicate, compile_filters
from ..message import Message, chrono_key

__all__ = ["Listing", "listing"]


@dataclass
class Listing:
    """A checked ``get_messages`` call: what to read, and how to cut the result."""

    limit: int | None
    skip: int
    after: float | None
    before: float | None
    predicate: Predicate | None

    @property
    def empty(self) -> bool:
        """True when the answer is empty whatever is stored (``limit=0``)."""
        return self.limit == 0

    @property
    def newest(self) -> int:
        """How many of each session's newest messages to read (0: all of them)."""
        if self.limit is None or self.predicate is not None:
            return 0
        return self.limit + self.skip

    def finish(self, found: list[Message], *, several: bool) -> list[Message]:
        """The page, chronological (``found``: as the store's ``newest`` returned them)."""
        if self.newest or several:
            found.sort(key=chrono_key)
        if self.predicate is not None:
            predicate = self.predicate
            found = [m for m in found if predicate(m.metadata)]
        if self.skip:
            found = found[: -self.skip] if self.skip < len(found) else []
        if self.limit is not None:
            found = found[-self.limit :] if self.limit else []
        return found


def listing(
    limit: int | None,
    offset: int | None,
    before: Any,
    after: Any,
    filters: Mapping[str, Any] | None,
    cutoff: float | None,
) -> Listing:
    """Checks ``get_messages``' arguments (``cutoff``: the memory's age limit, if any)."""
    n = check_count(limit, "limit")
    skip = check_count(offset, "offset") or 0
    lo = check_time(after, "after")
    hi = check_time(before, "before")
    predicate = compile_filters(check_mapping(filters, "filters"))
    if cutoff is not None and (lo is None or lo < cutoff):
        lo = cutoff - 1e-6  # ``after`` is exclusive; the cutoff itself is still live
    return Listing(n, skip, lo, hi, predicate)
