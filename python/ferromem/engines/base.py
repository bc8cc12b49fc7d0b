"""`Engine`: what every search engine over a store provides.

An engine is derived from its store and can always be rebuilt from it: it indexes messages by
their store keys and answers with rankings of keys, best first.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from ..message import Message

__all__ = ["Engine", "Ranking"]

#: ``(key, score)`` pairs, best first.
Ranking = list[tuple[int, float]]


class Engine(ABC):
    """An index over a store's messages, addressed by the store's keys."""

    #: The engine's name in snapshots and stats.
    name: ClassVar[str]

    @abstractmethod
    def add(self, keys: Sequence[int], messages: Sequence[Message], vectors: Any = None) -> None:
        """Indexes messages under their keys (``vectors``: one row per message, or None)."""

    @abstractmethod
    def remove(self, keys: Sequence[int]) -> None:
        """Forgets keys (absent ones are ignored)."""

    @abstractmethod
    def clear(self) -> None:
        """Forgets everything."""

    @abstractmethod
    def __contains__(self, key: int) -> bool: ...

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def memory_bytes(self) -> int:
        """Bytes the engine holds."""

    @abstractmethod
    def settings(self) -> dict[str, Any]:
        """The settings a snapshot must match to be reused (JSON-serialisable)."""
