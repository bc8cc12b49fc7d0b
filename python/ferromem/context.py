"""Context assembly within a token budget, shared by every memory."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .message import Message

__all__ = ["TRUNCATED_MARKER", "ContextBuilder"]

TRUNCATED_MARKER = " [truncated]"

# Share of the turn budget that query-relevant turns may take when recent turns exist too.
RELEVANT_SHARE = 0.6


class ContextBuilder:
    """Collects leading sections and turns, then renders them within ``budget`` tokens.

    Priority: sections (summary, core facts) first, then query-relevant turns in rank order,
    then recent turns newest first. Turns are rendered chronologically as ``role: content``.
    Costs are counted per piece (plus one for its line break) and the final text is checked
    against the budget again, so a counter that is not additive still never overflows it.
    """

    def __init__(self, count_tokens: Callable[[str], int], budget: int) -> None:
        self._count = count_tokens
        self.budget = budget
        self.used = 0
        self.sections: list[tuple[str, str]] = []
        self.turns: dict[str, tuple[Message, str]] = {}
        self.truncated = False

    def _fits(self, cost: int) -> bool:
        return self.used + cost <= self.budget

    def add_section(self, title: str, text: str) -> None:
        """A leading section such as the running summary; cut to fit when it must be."""
        if not text:
            return
        block = f"{title}:\n{text}" if title else text
        cost = self._count(block) + 2
        if not self._fits(cost):
            block = self._cut(block, self.budget - self.used - 2)
            if not block:
                return
            cost = self._count(block) + 2
        self.sections.append((title, block))
        self.used += cost

    def add_relevant(self, messages: Iterable[Message]) -> None:
        """Query-relevant turns, best first."""
        cap = self.used + int((self.budget - self.used) * RELEVANT_SHARE)
        for m in messages:
            if not self._add_turn(m, cap):
                break

    def add_recent(self, newest_first: Iterable[Message]) -> None:
        """Recent turns, newest first, until the budget is spent."""
        for m in newest_first:
            if not self._add_turn(m, self.budget):
                break

    def _add_turn(self, m: Message, cap: int) -> bool:
        key = m.id or str(id(m))
        if key in self.turns:
            return True
        line = f"{m.role}: {m.content}"
        cost = self._count(line) + 1
        if self.used + cost <= cap:
            self.turns[key] = (m, line)
            self.used += cost
            return True
        if not self.turns:
            # Nothing chosen yet: cut this turn rather than return no conversation at all.
            cut = self._cut(line, cap - self.used - 1)
            if cut:
                self.turns[key] = (m, cut)
                self.used += self._count(cut) + 1
        return False

    def _cut(self, text: str, available: int) -> str:
        """The longest prefix of ``text`` that, with the marker, costs at most ``available``."""
        if available <= 0 or self._count(TRUNCATED_MARKER.strip()) > available:
            return ""
        lo, hi = 0, len(text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._count(text[:mid] + TRUNCATED_MARKER) <= available:
                lo = mid
            else:
                hi = mid - 1
        if lo == 0:
            return ""
        self.truncated = True
        return text[:lo] + TRUNCATED_MARKER

    def render(self) -> str:
        """The final text, chronological turns after the sections, within the budget."""
        turns = sorted(self.turns.values(), key=lambda t: (t[0].timestamp, t[0].id or ""))
        lines = [line for _, line in turns]
        blocks = [block for _, block in self.sections]
        while True:
            parts = [*blocks]
            if lines:
                parts.append("\n".join(lines))
            text = "\n\n".join(parts)
            if not text or self._count(text) <= self.budget:
                return text
            # A counter that is not additive overflowed: drop the oldest turn, then sections.
            if lines:
                lines.pop(0)
            else:
                blocks.pop()
