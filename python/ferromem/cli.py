"""The ``ferromem`` command: ``ingest``, ``import``, ``search``, ``context``, ``stats``,
``sessions``, ``export``, ``bench``, ``mcp`` and ``demo`` (``ferromem COMMAND --help``)."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

from . import __version__, core
from ._cli import commands
from ._cli.bench import bench
from ._cli.commands import CommandError
from ._cli.exits import (
    EXIT_CODES_HELP,
    EXIT_DATABASE,
    EXIT_FILE,
    EXIT_MISSING_EXTRA,
    EXIT_OK,
)
from ._cli.ingest import ingest_files
from .checks import MAX_COUNT
from .errors import FerromemError
from .memories.buffer import BufferMemory
from .memories.hierarchical import HierarchicalMemory
from .memories.indexed import IndexedMemory
from .memories.json_file import JSONFileMemory
from .memories.summary import SummaryMemory
from .message import ALL_SESSIONS, Message

__all__ = ["build_parser", "load_sample", "main"]


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


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if not 0 < value <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"expected 1..{MAX_COUNT}, got {value}")
    return value


def _filters(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"--filter takes a JSON object: {e}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(
            '--filter takes a JSON object, such as \'{"topic": "db"}\''
        )
    return value


def _db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", type=Path, required=True, metavar="PATH", help="the SQLite database file"
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``ferromem`` argument parser: one subcommand per job, each with its ``--help``."""
    parser = argparse.ArgumentParser(
        prog="ferromem",
        description="ferromem: fast, embeddable memory for AI agents.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ferromem {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=summary,
            description=description,
            epilog=EXIT_CODES_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    command("demo", "tour the library on a bundled sample conversation", demo.__doc__ or "")

    p = command(
        "ingest",
        "store the messages of JSONL or LoCoMo-style files in a database",
        "Stores messages from files into a SQLite database, in batches, with a progress bar and"
        " a live rate. A file is JSONL (one message per line: role, content, and optionally"
        " session_id, metadata, timestamp, importance, id) or a LoCoMo-style conversation"
        " (session_N lists of {speaker, text} turns; one session per list). Bad records are"
        " reported with their line numbers and the good ones stored.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="files to ingest")
    _db(p)
    p.add_argument("--format", choices=["auto", "jsonl", "locomo"], default="auto")
    p.add_argument("--session", help="session of messages that name none (LoCoMo: the prefix)")
    p.add_argument("--batch", type=_positive, default=2000, help="messages per write")
    p.add_argument(
        "--on-conflict",
        choices=["error", "replace", "skip"],
        default="error",
        help="what a message whose id is already stored does (default: reported as bad)",
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="draw the progress bar (default: when stderr is a terminal)",
    )

    p = command(
        "import",
        "read back a JSONL export (ids, times and metadata kept)",
        "Stores the messages of JSONL files written by 'ferromem export'. Messages already in"
        " the database (same id) are skipped unless --on-conflict says otherwise.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    _db(p)
    p.add_argument("--on-conflict", choices=["error", "replace", "skip"], default="skip")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)

    p = command("search", "find the messages most relevant to a query", "Keyword search.")
    p.add_argument("query")
    _db(p)
    p.add_argument("--session", help="search this session only (default: every session)")
    p.add_argument("--limit", type=_positive, default=10)
    p.add_argument("--filter", type=_filters, help='metadata filter as JSON: \'{"k": "v"}\'')
    p.add_argument("--json", action="store_true", help="one JSON object per hit")

    p = command(
        "context",
        "print a prompt-ready context within a token budget",
        "Recent turns of a session, plus the ones most relevant to QUERY, within --max-tokens.",
    )
    p.add_argument("query", nargs="?")
    _db(p)
    p.add_argument("--session", default="default")
    p.add_argument("--max-tokens", type=_positive, default=2000)

    p = command("stats", "print the database's figures", "Totals, sizes and engine figures.")
    _db(p)
    p.add_argument("--session", help="add this session's figures")
    p.add_argument("--json", action="store_true")

    p = command("sessions", "list the sessions", "Every session with its number of messages.")
    _db(p)
    p.add_argument("--user", help="only sessions started with this user_id")

    p = command(
        "export",
        "write every message as JSONL",
        "Writes the messages (of every session, or one) as JSONL, oldest first per session;"
        " 'ferromem import' reads it back.",
    )
    _db(p)
    p.add_argument("--session")
    p.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")

    p = command(
        "bench",
        "a quick side-by-side run against SQLite FTS5",
        "Batch ingestion and top-10 keyword search, ferromem beside SQLite FTS5 on the same"
        " messages (the bundled sample repeated, or --data), best of --rounds, with the ratio.",
    )
    p.add_argument("--messages", type=_positive, default=20000)
    p.add_argument("--queries", type=_positive, default=200)
    p.add_argument("--rounds", type=_positive, default=3)
    p.add_argument("--data", type=Path, help="a JSONL or LoCoMo-style file to draw messages from")

    p = command(
        "mcp",
        "serve a database to MCP clients over stdio",
        "An MCP server (stdio) over a SQLite database with the tools remember, recall,"
        " context, forget and list_sessions. Needs: pip install 'ferromem[mcp]'.",
    )
    _db(p)
    return parser


def _load_bench_data(path: Path | None) -> list[Message]:
    if path is None:
        return load_sample()
    with IndexedMemory() as scratch:
        report = ingest_files(scratch, [path], progress=False, out=io.StringIO())
        if report.unreadable:
            raise CommandError(f"cannot read {path}", EXIT_FILE)
        return scratch.get_messages(ALL_SESSIONS)


def _run(args: argparse.Namespace) -> int:
    name = args.command
    if name == "demo":
        demo()
        return EXIT_OK
    if name == "bench":
        bench(
            _load_bench_data(args.data),
            messages=args.messages,
            queries=args.queries,
            rounds=args.rounds,
        )
        return EXIT_OK
    if name == "mcp":
        try:
            from .integrations.mcp import serve
        except ImportError as e:
            raise CommandError(str(e), EXIT_MISSING_EXTRA) from e
        serve(args.db)
        return EXIT_OK
    writes = name in ("ingest", "import")
    with commands.open_db(args.db, create=writes) as memory:
        if writes:
            report = ingest_files(
                memory,
                args.files,
                fmt=getattr(args, "format", "jsonl"),
                session=getattr(args, "session", None),
                batch=getattr(args, "batch", 2000),
                on_conflict=args.on_conflict,
                progress=args.progress,
            )
            return report.exit_code
        if name == "search":
            return commands.search(
                memory,
                args.query,
                session=args.session,
                limit=args.limit,
                filters=args.filter,
                as_json=args.json,
            )
        if name == "context":
            return commands.context(
                memory, args.query, session=args.session, max_tokens=args.max_tokens
            )
        if name == "stats":
            return commands.stats(memory, session=args.session, as_json=args.json)
        if name == "sessions":
            return commands.sessions(memory, user=args.user)
        return commands.export(memory, session=args.session, output=args.output)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ferromem`` console script; returns the exit code (see ``--help``)."""
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except CommandError as e:
        print(f"ferromem {args.command}: {e}", file=sys.stderr)
        return e.code
    except FerromemError as e:
        print(f"ferromem {args.command}: {e}", file=sys.stderr)
        return EXIT_DATABASE
    except BrokenPipeError:
        # The reader (``| head``) has had enough: stop quietly, as other tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print(f"ferromem {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
