"""Cleanup as the Niflheim-X seed configures it: age limits enforced on every read (so
``auto_cleanup``/``cleanup_interval`` need no timer), ``cleanup_old_messages`` and
``cleanup_session``, ``max_messages_per_session`` with ``cleanup_threshold``."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ferromem import ALL_SESSIONS, InvalidArgumentError, SQLiteMemory


def _old_and_new(db: Path) -> None:
    writer = SQLiteMemory(db)  # no age limit: nothing is pruned on write
    old = time.time() - 40 * 86400
    writer.add_message("user", "an ancient fact about llamas", timestamp=old)
    writer.add_message("user", "an ancient note", timestamp=old, session_id="other")
    writer.add_message("user", "a fresh fact about llamas")
    writer.close()


def test_age_limit_is_enforced_on_read_without_any_write(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    _old_and_new(db)
    memory = SQLiteMemory(db, auto_cleanup=True, cleanup_interval=3600, max_age_days=30)
    assert [m.content for m in memory.get_messages()] == ["a fresh fact about llamas"]
    assert [m.content for m in memory.search_messages("llamas")] == ["a fresh fact about llamas"]
    assert "ancient" not in memory.get_context("llamas")
    assert memory.get_messages("other") == []
    assert memory.get_session_stats()["message_count"] == 1
    memory.close()


def test_cleanup_old_messages_deletes_what_reads_hide(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    _old_and_new(db)
    memory = SQLiteMemory(db)
    assert memory.cleanup_old_messages(max_age_days=7) == 1  # the default session
    assert memory.cleanup_old_messages(7, session_id=ALL_SESSIONS) == 1
    assert [m.content for m in memory.get_messages(ALL_SESSIONS)] == ["a fresh fact about llamas"]
    memory.cleanup_session("default")
    assert memory.get_messages(ALL_SESSIONS) == []
    memory.close()


def test_max_messages_per_session_with_a_threshold(tmp_path: Path) -> None:
    memory = SQLiteMemory(tmp_path / "c.db", max_messages_per_session=3, cleanup_threshold=5)
    for i in range(5):
        memory.add_message("user", f"turn {i}")
    assert len(memory.get_messages()) == 5  # up to the threshold
    memory.add_message("user", "turn 5")
    assert [m.content for m in memory.get_messages()] == ["turn 3", "turn 4", "turn 5"]
    memory.close()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cleanup_interval": 0},
        {"cleanup_interval": -5},
        {"auto_cleanup": "yes"},
        {"cleanup_threshold": 2, "max_messages": 3},
    ],
)
def test_bad_cleanup_options(tmp_path: Path, kwargs: dict[str, object]) -> None:
    with pytest.raises((InvalidArgumentError, TypeError)):
        SQLiteMemory(tmp_path / "c.db", **kwargs)  # type: ignore[arg-type]
