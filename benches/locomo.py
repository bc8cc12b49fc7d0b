"""Shared loading of the LoCoMo dev conversations for the side-by-side benchmarks.

Benchmarks read ``../shared/locomo-dev`` by default and take ``--data PATH`` to point elsewhere.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "locomo-dev"
_SESSION_KEY = re.compile(r"session_(\d+)")


@dataclass(frozen=True)
class Turn:
    """One LoCoMo turn: its conversation, session number, ``dia_id`` (e.g. ``D1:3``) and text."""

    conversation: str
    session: int
    dia_id: str
    speaker: str
    text: str


@dataclass(frozen=True)
class Question:
    """A LoCoMo question with the ``dia_id``s of its annotated evidence turns."""

    conversation: str
    question: str
    evidence: tuple[str, ...]
    category: int


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    """Adds ``--data`` (the LoCoMo directory) to a benchmark's arguments."""
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="LoCoMo json directory")


def load(data: Path = DEFAULT_DATA) -> tuple[list[Turn], list[Question]]:
    """Every turn (in conversation order) and every question with evidence."""
    files = sorted(Path(data).glob("*.json"))
    if not files:
        raise SystemExit(f"no LoCoMo files in {data}; pass --data PATH")
    turns: list[Turn] = []
    questions: list[Question] = []
    for f in files:
        doc = json.loads(f.read_text())
        conv = f.stem
        sessions = sorted(
            (int(m.group(1)), key) for key in doc if (m := _SESSION_KEY.fullmatch(key))
        )
        for number, key in sessions:
            for t in doc[key]:
                turns.append(Turn(conv, number, t["dia_id"], t["speaker"], t["text"]))
        for q in doc.get("qa", []):
            evidence = tuple(e for e in q.get("evidence", []) if isinstance(e, str))
            if evidence and isinstance(q.get("question"), str):
                questions.append(Question(conv, q["question"], evidence, int(q.get("category", 0))))
    return turns, questions


def repeated_texts(turns: list[Turn], n: int) -> list[str]:
    """``n`` message texts made by repeating the turns, each copy with a distinct suffix."""
    out: list[str] = []
    copy = 0
    while len(out) < n:
        suffix = f" #{copy}" if copy else ""
        out.extend(t.text + suffix for t in turns[: n - len(out)])
        copy += 1
    return out
