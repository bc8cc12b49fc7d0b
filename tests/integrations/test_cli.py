"""The ``ferromem`` command line, run as a subprocess as a user would run it."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ferromem import SQLiteMemory
from ferromem.cli import build_parser
from ferromem.core import count_tokens

LOCOMO = Path(__file__).resolve().parent.parent / "data" / "locomo_30_sessions_1_3.json"
CONVERSATION = LOCOMO.stem


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ferromem.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sorted(sub.choices)  # type: ignore[arg-type]


def test_every_command_has_help() -> None:
    names = commands()
    assert set(names) >= {
        "bench", "context", "demo", "export", "import", "ingest", "mcp", "search",
        "sessions", "stats",
    }  # fmt: skip
    top = run("--help")
    assert top.returncode == 0 and "exit codes:" in top.stdout
    for name in names:
        result = run(name, "--help")
        assert result.returncode == 0, name
        assert f"usage: ferromem {name}" in result.stdout


def test_ingest_a_locomo_conversation(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    result = run("ingest", LOCOMO, "--db", db)
    assert result.returncode == 0, result.stderr
    assert "stored 58 messages (58 new)" in result.stdout
    with SQLiteMemory(db) as memory:
        sessions = memory.list_sessions()
        assert sessions == [f"{CONVERSATION}/session_{n}" for n in (1, 2, 3)]
        first = memory.get_messages(f"{CONVERSATION}/session_1")[0]
    assert first.role == "Gina" and first.metadata == {"dia_id": "D1:1"}
    # "4:04 pm on 20 January, 2023"
    assert first.timestamp == datetime(2023, 1, 20, 16, 4, tzinfo=timezone.utc).timestamp()


def test_bad_lines_are_reported_by_number_and_the_good_ones_kept(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "m.jsonl",
        [
            '{"role": "user", "content": "I moved to Porto", "session_id": "a", "id": "m1"}',
            "{not json",
            '{"role": "user"}',
            "",
            '{"role": "assistant", "content": "Porto is lovely", "session_id": "a"}',
            "[1, 2]",
            '{"role": "user", "content": "again", "id": "m1"}',
            '{"role": "user", "content": "bad time", "timestamp": "yesterday"}',
        ],
    )
    db = tmp_path / "m.db"
    result = run("ingest", path, "--db", db, "--batch", "3")
    assert result.returncode == 1
    bad_lines = [line.split(": ")[1] for line in result.stderr.splitlines()]
    assert bad_lines == ["line 2", "line 3", "line 6", "line 7", "line 8"]
    assert "m.jsonl: line 7:" in result.stderr and "m1" in result.stderr
    assert "stored 2 messages" in result.stdout and "5 bad records" in result.stdout
    with SQLiteMemory(db) as memory:
        assert [m.content for m in memory.get_messages("a")] == [
            "I moved to Porto",
            "Porto is lovely",
        ]


def test_the_progress_bar_shows_a_live_rate(tmp_path: Path) -> None:
    result = run("ingest", LOCOMO, "--db", tmp_path / "m.db", "--progress")
    assert result.returncode == 0
    assert "100%" in result.stderr and "msg/s" in result.stderr and "58 messages" in result.stderr


def test_exit_codes_say_what_failed(tmp_path: Path) -> None:
    assert run("ingest", tmp_path / "missing.jsonl", "--db", tmp_path / "m.db").returncode == 3
    not_json = tmp_path / "broken.json"
    not_json.write_text('{"session_1": [', encoding="utf-8")
    assert run("ingest", not_json, "--db", tmp_path / "m.db").returncode == 3
    assert run("search", "x", "--db", tmp_path / "none.db").returncode == 4
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    result = run("search", "x", "--db", garbage)
    assert result.returncode == 4 and "garbage.db" in result.stderr
    assert run("search", "x", "--db", tmp_path / "m.db", "--limit", "0").returncode == 2
    assert run("search", "x", "--db", tmp_path / "m.db", "--filter", "[1]").returncode == 2
    assert run("frobnicate").returncode == 2


def test_a_bad_filter_operator_is_a_refused_request(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    run("ingest", LOCOMO, "--db", db)
    result = run("search", "dance", "--db", db, "--filter", '{"k": {"$near": 1}}')
    assert result.returncode == 4 and "$near" in result.stderr


def test_search_context_stats_and_sessions(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    run("ingest", LOCOMO, "--db", db)
    tagged = write_jsonl(
        tmp_path / "t.jsonl",
        ['{"role": "user", "content": "my dance studio opens", "metadata": {"kind": "plan"}}'],
    )
    run("ingest", tagged, "--db", db, "--session", "plans")

    result = run("search", "dance studio", "--db", db, "--limit", "3", "--json")
    hits = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 0 and len(hits) == 3
    assert all("dance" in h["content"].lower() for h in hits)
    assert hits == sorted(hits, key=lambda h: -h["score"])

    result = run("search", "dance", "--db", db, "--filter", '{"kind": "plan"}')
    assert result.stdout.count("\n") == 1 and "plans  user: my dance studio opens" in result.stdout
    result = run("search", "dance", "--db", db, "--session", f"{CONVERSATION}/session_2")
    assert result.stdout and all(
        f"{CONVERSATION}/session_2" in line for line in result.stdout.splitlines()
    )

    session = f"{CONVERSATION}/session_1"
    result = run("context", "banker", "--db", db, "--session", session, "--max-tokens", "50")
    assert result.returncode == 0 and "banker" in result.stdout
    assert count_tokens(result.stdout.rstrip("\n")) <= 50

    stats = json.loads(run("stats", "--db", db, "--json", "--session", session).stdout)
    assert stats["total_messages"] == 59 and stats["session"]["message_count"] == 28

    listed = run("sessions", "--db", db).stdout.splitlines()
    assert listed[0] == f"{CONVERSATION}/session_1\t28" and "plans\t1" in listed


def test_export_then_import_round_trips(tmp_path: Path) -> None:
    db, copy, dump = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "dump.jsonl"
    run("ingest", LOCOMO, "--db", db)
    assert run("export", "--db", db, "-o", dump).returncode == 0
    first = run("import", dump, "--db", copy)
    assert first.returncode == 0 and "58 new" in first.stdout
    again = run("import", dump, "--db", copy)  # already there: skipped, not duplicated
    assert again.returncode == 0 and "(0 new)" in again.stdout
    assert run("export", "--db", copy).stdout == dump.read_text(encoding="utf-8")
    with SQLiteMemory(db) as a, SQLiteMemory(copy) as b:
        for sid in a.list_sessions():
            assert a.get_messages(sid) == b.get_messages(sid)


def test_bench_runs_side_by_side(tmp_path: Path) -> None:
    result = run("bench", "--messages", "600", "--queries", "20", "--rounds", "1")
    assert result.returncode == 0, result.stderr
    assert "FTS5" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.rstrip().endswith("x")]
    assert len(rows) == 4
    on_file = run("bench", "--messages", "300", "--queries", "5", "--rounds", "1", "--data", LOCOMO)
    assert on_file.returncode == 0, on_file.stderr


def test_demo_still_runs() -> None:
    result = run("demo")
    assert result.returncode == 0 and "29 sample messages" in result.stdout


@pytest.mark.parametrize("command", ["stats", "sessions", "export"])
def test_reading_commands_create_no_database(tmp_path: Path, command: str) -> None:
    assert run(command, "--db", tmp_path / "none.db").returncode == 4
    assert not (tmp_path / "none.db").exists()


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path: Path) -> None:
    """Regression: ``ferromem export ... | head -1`` raised BrokenPipeError with a traceback."""
    lines = [
        json.dumps({"role": "user", "content": f"message {i} " + "x" * 200, "session_id": "s"})
        for i in range(2000)
    ]
    db = tmp_path / "m.db"
    assert run("ingest", write_jsonl(tmp_path / "m.jsonl", lines), "--db", db).returncode == 0
    with subprocess.Popen(
        [sys.executable, "-m", "ferromem.cli", "export", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().startswith(b"{")
        proc.stdout.close()  # the reader stops: the export's next writes hit a closed pipe
        assert proc.wait(timeout=120) == 0
        assert b"Traceback" not in proc.stderr.read()
