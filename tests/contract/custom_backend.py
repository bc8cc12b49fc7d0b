"""A backend written the way a user would (as in the Niflheim-X seed's CustomMemory): it
implements only the four storage primitives and inherits everything else."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from ferromem import MemoryBackend, Message


class ListMemory(MemoryBackend):
    """Every message in one Python list: the simplest possible store."""

    def __init__(self, *, session_id: str = "default") -> None:
        super().__init__(session_id=session_id)
        self.rows: list[Message] = []

    def _store(self, messages: Sequence[Message]) -> None:
        self.rows.extend(messages)

    def _load(self, session_id: str) -> list[Message]:
        return [m for m in self.rows if m.session_id == session_id]

    def _session_ids(self) -> list[str]:
        return list(dict.fromkeys(m.session_id for m in self.rows))

    def _remove(self, session_id: str, ids: Collection[str]) -> int:
        doomed = set(ids)
        keep = [m for m in self.rows if not (m.session_id == session_id and m.id in doomed)]
        removed = len(self.rows) - len(keep)
        self.rows = keep
        return removed
