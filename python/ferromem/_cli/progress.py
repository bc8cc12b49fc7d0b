"""A one-line progress bar with a live rate, on stderr (no dependency: the CLI needs only this)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Draws ``[#####.....]  42%  12,345 messages  85,120 msg/s`` in place, at most ten times
    a second; ``done`` counts in the units of ``total`` (bytes of a JSONL file, turns of a
    conversation), the rate in messages. Off (``enabled=False``) it draws nothing."""

    width = 30

    def __init__(
        self, total: int, *, label: str, enabled: bool, stream: TextIO | None = None
    ) -> None:
        self.total = max(total, 1)
        self.label = label
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.start = time.perf_counter()
        self._last = 0.0
        self._drawn = False

    def rate(self, messages: int) -> float:
        """Messages per second since the start."""
        elapsed = time.perf_counter() - self.start
        return messages / elapsed if elapsed > 0 else 0.0

    def update(self, done: int, messages: int, *, force: bool = False) -> None:
        """Redraws the bar (unless drawn less than 0.1 s ago)."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        share = min(1.0, done / self.total)
        filled = int(share * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        line = (
            f"\r{self.label} [{bar}] {share:4.0%}  {messages:,} messages  "
            f"{self.rate(messages):,.0f} msg/s"
        )
        self.stream.write(line)
        self.stream.flush()
        self._drawn = True

    def finish(self, done: int, messages: int) -> None:
        """Draws the full bar one last time and ends its line."""
        if self.enabled:
            self.update(done, messages, force=True)
            self.stream.write("\n")
            self.stream.flush()
