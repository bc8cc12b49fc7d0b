"""Context assembly within a token budget, shared by every memory.

A context is prompt-ready text: leading sections (a running summary, core facts), then the
conversation turns, role-labelled and chronological. It never exceeds the budget as counted by the
memory's own token counter. A turn that cannot fit whole when nothing else of its kind made it in
is cut and ends with :data:`TRUNCATED_MARKER`, so a budget smaller than one message still shows the
start of that message and says that it was cut.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice

from .message import Message, chrono_key

__all__ = ["SECTION_SHARE", "TRUNCATED_MARKER", "ContextBuilder"]

TRUNCATED_MARKER = " [truncated]"

# Share of the budget that leading sections may take together, so that turns always get room.
SECTION_SHARE = 0.5
# Share of the turn budget that query-relevant turns may take when recent turns exist too.
RELEVANT_SHARE = 0.6
# Turns are costed in batches (one call into the Rust counter per batch); the first batch is
# small because a tight budget often stops after a few turns.
_FIRST_BATCH = 16
_MAX_BATCH = 128
# A message section stops looking after this many candidates in a row did not fit.
_MAX_MISFITS = 64


def _line(m: Message) -> str:
    return f"{m.role}: {m.content}"


class ContextBuilder:
    """Collects leading sections and turns, then renders them within ``budget`` tokens.

    Priority: sections (summary, core facts) first, within :data:`SECTION_SHARE` of the budget;
    then query-relevant turns in rank order; then recent turns newest first until the budget is
    spent. Turns are rendered chronologically as ``role: content``, each message at most once.
    Costs are counted per piece (plus its line break) and the final text is checked against the
    budget again, so a counter that is not additive still never overflows it.
    """

    def __init__(
        self,
        count_tokens: Callable[[str], int],
        budget: int,
        count_many: Callable[[Sequence[str]], Sequence[int]] | None = None,
    ) -> None:
        self._count = count_tokens
        self._count_many = count_many or (lambda texts: [count_tokens(t) for t in texts])
        self.budget = budget
        self.used = 0
        self._section_cap = int(budget * SECTION_SHARE)
        self.sections: list[str] = []
        self.turns: dict[str, tuple[Message, str]] = {}
        self._shown: set[str] = set()
        #: True when a section or a turn was cut to fit (the text then holds the marker).
        self.truncated = False

    # ----------------------------------------------------------------- sections
    def add_section(self, title: str, text: str) -> None:
        """A leading block such as the running summary; cut to fit when it must be."""
        if not text:
            return
        block = f"{title}:\n{text}" if title else text
        cap = min(self._section_cap, self.budget)
        cost = self._count(block) + 2
        if self.used + cost > cap:
            block = self._cut(block, cap - self.used - 2)
            if not block:
                return
            cost = self._count(block) + 2
        self.sections.append(block)
        self.used += cost

    def add_message_section(self, title: str, messages: Iterable[Message]) -> None:
        """A leading block of messages (core facts), given best first and shown in time order.

        Messages that do not fit are skipped (the best one is cut when not even it fits whole);
        messages shown here are not repeated among the turns.
        """
        cap = min(self._section_cap, self.budget)
        header = f"{title}:" if title else ""
        used = self.used + (self._count(header) + 1 if header else 0) + 1
        chosen: list[tuple[Message, str]] = []
        misfits = 0
        for batch in _batches(iter(messages)):
            fresh = [m for m in batch if m.id is None or m.id not in self._shown]
            lines = [_line(m) for m in fresh]
            for m, line, cost in zip(fresh, lines, self._count_many(lines), strict=True):
                if used + cost + 1 <= cap:
                    chosen.append((m, line))
                    used += cost + 1
                    misfits = 0
                elif not chosen:
                    cut = self._cut(line, cap - used - 1)
                    if cut:
                        chosen.append((m, cut))
                        used += self._count(cut) + 1
                else:
                    misfits += 1
            # Full, or the section has stopped finding anything small enough to fit.
            if used >= cap or misfits >= _MAX_MISFITS:
                break
        if not chosen:
            return
        chosen.sort(key=lambda t: chrono_key(t[0]))
        body = "\n".join(line for _, line in chosen)
        block = f"{header}\n{body}" if header else body
        self.sections.append(block)
        self.used = used
        self._shown.update(m.id for m, _ in chosen if m.id is not None)

    # ----------------------------------------------------------------- turns
    def add_relevant(self, messages: Iterable[Message]) -> None:
        """Query-relevant turns, best first; ones too long for what is left are skipped (the best
        one is cut when it is the first turn and does not fit whole)."""
        cap = self.used + int((self.budget - self.used) * RELEVANT_SHARE)
        self._add_turns(messages, cap, skip_misfits=True)

    def add_recent(self, newest_first: Iterable[Message]) -> None:
        """Recent turns, newest first, until the budget is spent. There are no gaps: the first
        turn that does not fit ends the run, and the newest turn is cut rather than left out."""
        self._add_turns(newest_first, self.budget, skip_misfits=False)

    def _add_turns(self, messages: Iterable[Message], cap: int, *, skip_misfits: bool) -> None:
        first = True
        for batch in _batches(iter(messages)):
            fresh = [m for m in batch if self._key(m) not in self.turns]
            lines = [_line(m) for m in fresh]
            costs = self._count_many(lines)
            for m, line, cost in zip(fresh, lines, costs, strict=True):
                if self.used + cost + 1 <= cap:
                    self.turns[self._key(m)] = (m, line)
                    self.used += cost + 1
                    first = False
                    continue
                if first and (not self.turns or not skip_misfits):
                    # Nothing chosen yet: cut this turn rather than return no conversation.
                    cut = self._cut(line, cap - self.used - 1)
                    if cut:
                        self.turns[self._key(m)] = (m, cut)
                        self.used += self._count(cut) + 1
                    return
                if not skip_misfits:
                    return
                first = False
            if self.used >= cap:
                return

    def _key(self, m: Message) -> str:
        return m.id or f"@{id(m)}"

    # ----------------------------------------------------------------- rendering
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
        self.truncated = True
        # Not even a prefix fits: the marker alone still says that something was left out.
        return text[:lo] + TRUNCATED_MARKER if lo else TRUNCATED_MARKER.strip()

    def render(self) -> str:
        """The final text, chronological turns after the sections, within the budget."""
        turns = sorted(
            (t for t in self.turns.values() if t[0].id is None or t[0].id not in self._shown),
            key=lambda t: chrono_key(t[0]),
        )
        lines = [line for _, line in turns]
        blocks = list(self.sections)
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


def _batches(messages: Iterator[Message]) -> Iterator[list[Message]]:
    """Consecutive chunks of growing size."""
    size = _FIRST_BATCH
    while True:
        batch = list(islice(messages, size))
        if not batch:
            return
        yield batch
        size = min(size * 2, _MAX_BATCH)
