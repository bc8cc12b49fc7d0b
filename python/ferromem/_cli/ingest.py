"""``ferromem ingest`` and ``ferromem import``: files of messages into a database, in batches,
with a progress bar; bad records are reported with where they were and the good ones kept."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TextIO

from ..base import MemoryBackend
from ..errors import FerromemError
from ..message import ALL_SESSIONS
from ..stores.base import Conflict
from .exits import EXIT_BAD_RECORDS, EXIT_FILE, EXIT_OK
from .progress import Progress
from .records import BadRecord, Record, detect_format, read_jsonl, read_locomo

__all__ = ["IngestReport", "ingest_files"]

#: Bad records printed in full; past these, only their count.
MAX_REPORTED = 20


@dataclass
class IngestReport:
    """What an ingestion did: messages stored, bad records, unreadable files."""

    stored: int = 0
    new: int = 0
    bad: int = 0
    unreadable: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """3 when a file could not be read, 1 when records were bad, else 0."""
        if self.unreadable:
            return EXIT_FILE
        return EXIT_BAD_RECORDS if self.bad else EXIT_OK


class _Writer:
    """Batches records into all-or-nothing writes; a batch the memory refuses is written
    one record at a time, so that only the records at fault are reported."""

    def __init__(
        self,
        memory: MemoryBackend,
        report: IngestReport,
        on_conflict: Conflict,
        err: TextIO,
    ) -> None:
        self.memory = memory
        self.report = report
        self.on_conflict = on_conflict
        self.err = err
        self.pending: list[Record] = []

    def bad(self, path: str, where: str, reason: str) -> None:
        self.report.bad += 1
        if self.report.bad <= MAX_REPORTED:
            self.err.write(f"{path}: {where}: {reason}\n")

    def flush(self, path: str) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        try:
            self.memory.add_messages(
                [r.message for r in batch], session_id=ALL_SESSIONS, on_conflict=self.on_conflict
            )
            self.report.stored += len(batch)
            return
        except FerromemError:
            pass
        for r in batch:
            try:
                self.memory.add_messages(
                    [r.message], session_id=ALL_SESSIONS, on_conflict=self.on_conflict
                )
                self.report.stored += 1
            except FerromemError as e:
                self.bad(path, r.where, str(e))


def _closing(
    stream: IO[bytes], records: Iterator[Record | BadRecord | int]
) -> Iterator[Record | BadRecord | int]:
    with stream:
        yield from records


def _records(
    path: Path, fmt: str, session: str | None, err: TextIO
) -> tuple[Iterator[Record | BadRecord | int], int] | None:
    """The records of one file and the total its progress counts to, or None (reported)."""
    try:
        stream = path.open("rb")
        size = os.fstat(stream.fileno()).st_size
        head = stream.read(4096)
        stream.seek(0)
    except OSError as e:
        err.write(f"{path}: cannot read: {e.strerror or e}\n")
        return None
    if fmt == "auto":
        fmt = detect_format(path, head)
    if fmt == "jsonl":
        return _closing(stream, read_jsonl(stream, session)), size
    with stream:
        try:
            doc = json.loads(stream.read())
        except (ValueError, OSError) as e:
            err.write(f"{path}: not a JSON conversation file: {e}\n")
            return None
    turns = (
        sum(len(v) for k, v in doc.items() if k.startswith("session_") and isinstance(v, list))
        if isinstance(doc, dict)
        else 0
    )
    return read_locomo(doc, path.stem, session), turns


def ingest_files(
    memory: MemoryBackend,
    paths: list[Path],
    *,
    fmt: str = "auto",
    session: str | None = None,
    batch: int = 2000,
    on_conflict: Conflict = "error",
    progress: bool | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> IngestReport:
    """Stores the messages of every file; reports bad records on ``err`` and a summary on
    ``out``. ``progress=None`` draws the bar when ``err`` is a terminal."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    if progress is None:
        progress = err.isatty()
    report = IngestReport()
    total_before = memory.get_stats()["total_messages"]
    writer = _Writer(memory, report, on_conflict, err)
    start = time.perf_counter()
    for path in paths:
        opened = _records(path, fmt, session, err)
        if opened is None:
            report.unreadable.append(str(path))
            continue
        records, total = opened
        bar = Progress(total, label=path.name, enabled=progress, stream=err)
        before, done = report.stored, 0
        for item in records:
            if isinstance(item, int):
                done = item
                bar.update(done, report.stored - before + len(writer.pending))
            elif isinstance(item, BadRecord):
                if item.where == "file":
                    err.write(f"{path}: {item.reason}\n")
                    report.unreadable.append(str(path))
                else:
                    writer.bad(str(path), item.where, item.reason)
            else:
                writer.pending.append(item)
                if len(writer.pending) >= batch:
                    writer.flush(str(path))
        writer.flush(str(path))
        bar.finish(total, report.stored - before)
    report.seconds = time.perf_counter() - start
    report.new = memory.get_stats()["total_messages"] - total_before
    if report.bad > MAX_REPORTED:
        err.write(f"... and {report.bad - MAX_REPORTED} more bad records\n")
    rate = report.stored / report.seconds if report.seconds > 0 else 0.0
    out.write(
        f"stored {report.stored:,} messages ({report.new:,} new) in {report.seconds:.2f} s "
        f"({rate:,.0f} msg/s); {report.bad:,} bad records; {len(report.unreadable)} unreadable "
        "files\n"
    )
    return report
