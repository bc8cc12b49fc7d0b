"""Prints the reliability table after the run (and saves it when the full suite ran)."""

from __future__ import annotations

from typing import Any

from .harness import FULL, LEDGER, ROOT, table


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not LEDGER:
        return
    text = table()
    terminalreporter.write_sep("=", "reliability" + (" (full)" if FULL else " (short form)"))
    terminalreporter.write_line(text)
    if FULL:
        (ROOT / "reliability-report.md").write_text(text + "\n")
