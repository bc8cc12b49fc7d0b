"""`DictMemory`: plain in-process memory with a per-session message cap."""

from __future__ import annotations

from typing import Any

from ..base import TokenCounter
from ..errors import InvalidArgumentError, InvalidTypeError
from ..message import DEFAULT_SESSION
from .in_memory import InMemoryBackend

__all__ = ["DictMemory"]


def check_positive_int(value: object, name: str) -> int:
    """``value`` as a positive int, or a clear error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"{name} must be an int, not {type(value).__name__}")
    if not 0 < value <= 2**31 - 1:
        raise InvalidArgumentError(f"{name} must be in 1..{2**31 - 1}, got {value}")
    return value


class DictMemory(InMemoryBackend):
    """In-process memory: fast, simple, gone when the process ends.

    Each session keeps at most ``max_messages`` messages; adding more drops the oldest, and
    ``get_stats()["evicted_messages"]`` counts them.
    """

    def __init__(
        self,
        max_messages: int = 1000,
        *,
        session_id: str = DEFAULT_SESSION,
        token_counter: TokenCounter | None = None,
    ) -> None:
        super().__init__(session_id=session_id, token_counter=token_counter)
        self.max_messages = check_positive_int(max_messages, "max_messages")
        self._evicted = 0

    def _after_store(self, session_id: str) -> None:
        excess = self._count(session_id) - self.max_messages
        if excess > 0:
            oldest = list(self._sessions[session_id])[:excess]
            self._evicted += self._remove(session_id, oldest)

    def _extra_stats(self) -> dict[str, Any]:
        return {"max_messages": self.max_messages, "evicted_messages": self._evicted}
