"""The reliability suite's ledger and scale.

``make test`` runs every scenario a few times; ``make reliability`` sets
``FERROMEM_RELIABILITY=full`` and runs them at the counts issue 12 asks for, then prints the
table (scenario, tried, passed, lost, duplicated, crashed) and writes it to
``reliability-report.md``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

FULL = os.environ.get("FERROMEM_RELIABILITY") == "full"
PYTHON = sys.executable
ROOT = Path(__file__).resolve().parents[2]


def scale(short: int, full: int) -> int:
    """How many times to try: the short form in ``make test``, the full one in
    ``make reliability``."""
    return full if FULL else short


@dataclass
class Row:
    """One scenario's tally."""

    scenario: str
    tried: int = 0
    passed: int = 0
    lost: int = 0
    duplicated: int = 0
    crashed: int = 0
    notes: list[str] = field(default_factory=list)


LEDGER: dict[str, Row] = {}


def row(scenario: str) -> Row:
    """The tally of a scenario (created on first use)."""
    return LEDGER.setdefault(scenario, Row(scenario))


def table() -> str:
    """The ledger as a Markdown table."""
    lines = [
        "| scenario | tried | passed | lost | duplicated | crashed |",
        "|---|---|---|---|---|---|",
    ]
    for r in sorted(LEDGER.values(), key=lambda r: r.scenario):
        lines.append(
            f"| {r.scenario} | {r.tried} | {r.passed} | {r.lost} | {r.duplicated} | {r.crashed} |"
        )
    return "\n".join(lines)
