"""The ``ferromem`` command: ``ferromem demo`` tours the library on a bundled conversation."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

from . import __version__, core
from .memories.buffer import BufferMemory
from .memories.hierarchical import HierarchicalMemory
from .memories.indexed import IndexedMemory
from .memories.json_file import JSONFileMemory
from .memories.summary import SummaryMemory
from .message import ALL_SESSIONS, Message

__all__ = ["load_sample", "main"]


def load_sample() -> list[Message]:
    """The demo conversation shipped with the package, as messages of sessions 'maya' and 'leo'."""
    text = resources.files("ferromem").joinpath("data/sample_conversation.json").read_text("utf-8")
    doc: dict[str, Any] = json.loads(text)
    start = time.time() - 3600
    out = []
    for sid, turns in doc["sessions"].items():
        for i, t in enumerate(turns):
            out.append(Message(t["role"], t["content"], session_id=sid, timestamp=start + 60 * i))
    return out


def _section(title: str) -> None:
    print(f"\n== {title} ==")


def demo() -> None:
    """A short tour: ingest, search, context within a budget, tiers, summary, stats, persistence."""
    messages = load_sample()
    maya = [m for m in messages if m.session_id == "maya"]
    print(f"ferromem {__version__}: {len(messages)} sample messages in 2 sessions")

    # The embedded default: the dict store with the Rust keyword index.
    memory = IndexedMemory(session_id="maya")
    memory.add_messages(messages, session_id=ALL_SESSIONS)

    _section("search (session 'maya' only)")
    for query in ["which database does she prefer", "climbing trip in October"]:
        print(f"? {query}")
        for hit in memory.search(query, limit=2):
            print(f"  {hit.score:5.2f}  {hit.message.role}: {hit.message.content}")

    _section("get_context('who is my manager', max_tokens=80)")
    print(memory.get_context("who is my manager", max_tokens=80))

    _section("importance (Rust): what is worth keeping")
    for m in sorted(memory.get_messages(), key=lambda m: -(m.importance or 0.0))[:3]:
        print(f"  {m.importance:.2f}  {m.content}")

    _section("HierarchicalMemory: core facts lead the context")
    tiers = HierarchicalMemory(session_id="maya")
    tiers.add_messages(maya)
    print(tiers.get_context("what should I prepare for the review", max_tokens=120))

    _section("SummaryMemory: built-in extractive summary (no LLM)")
    summary = SummaryMemory(summarize_after=5, session_id="maya")
    summary.add_messages(maya)
    print(summary.get_summary())

    _section("BufferMemory(max_tokens=60): the oldest turns drop out first")
    buffer = BufferMemory(max_tokens=60, session_id="maya")
    buffer.add_messages(maya)
    kept = buffer.get_messages()
    print(f"kept {len(kept)} of {len(maya)} turns, {buffer.buffered_tokens()} tokens; oldest kept:")
    print(f"  {kept[0].role}: {kept[0].content}")

    _section("stats")
    print("memory:", memory.get_stats())
    stats = memory.get_session_stats()
    print(f"session 'maya': {stats['message_count']} messages, {stats['tokens']} tokens")
    print(f"core.count_tokens('Hello, world!') = {core.count_tokens('Hello, world!')}")

    _section("JSONFileMemory: persists across restarts")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "memory.json"
        with JSONFileMemory(path, session_id="leo") as saved:
            saved.add_messages([m for m in messages if m.session_id == "leo"])
        with JSONFileMemory(path, session_id="leo") as reopened:
            print(f"reopened {path.name}: {len(reopened.get_messages())} messages for 'leo'")
            print("  last:", reopened.get_messages(limit=1)[0].content)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ferromem`` console script."""
    parser = argparse.ArgumentParser(prog="ferromem", description=__doc__)
    parser.add_argument("--version", action="version", version=f"ferromem {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="tour the library on a bundled sample conversation")
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
