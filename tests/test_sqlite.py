"""SQLiteMemory: durability, limits, compression, encryption, damaged files, several processes."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from pathlib import Path

import pytest

import ferromem
from ferromem import (
    ALL_SESSIONS,
    CorruptDataError,
    CorruptFileError,
    InvalidArgumentError,
    Message,
    SQLiteMemory,
)
from ferromem.embedders import HashingEmbedder

SECRET_TEXT = "my bank PIN is 4921 and my passport number is X1234567"


def test_reopen_keeps_everything(tmp_path: Path) -> None:
    db = tmp_path / "conv.db"
    with SQLiteMemory(db, session_id="user_123") as mem:
        ids = mem.add_messages([Message("user", f"turn {i}", metadata={"i": i}) for i in range(5)])
        mem.add_message("user", "other", session_id="user_456")
    with SQLiteMemory(db, session_id="user_123") as again:
        got = again.get_messages()
        assert [m.id for m in got] == ids
        assert got[3].metadata == {"i": 3}
        assert len(again.get_messages(ALL_SESSIONS)) == 6


def test_max_messages_drops_the_oldest_per_session(tmp_path: Path) -> None:
    mem = SQLiteMemory(tmp_path / "m.db", max_messages=3)
    for i in range(5):
        mem.add_message("user", f"m{i}")
    mem.add_message("user", "x", session_id="other")
    assert [m.content for m in mem.get_messages()] == ["m2", "m3", "m4"]
    assert len(mem.get_messages("other")) == 1
    assert mem.get_stats()["evicted_messages"] == 2


def test_max_age_days_expires_only_the_written_session(tmp_path: Path) -> None:
    mem = SQLiteMemory(tmp_path / "m.db", max_age_days=1)
    old = time.time() - 3 * 86400
    mem.add_message("user", "bob old", timestamp=old, session_id="bob")
    mem.add_message("user", "old", timestamp=old)
    assert [m.content for m in mem.get_messages()] == []  # expired on write
    assert [m.content for m in mem.get_messages("bob")] == []
    mem.add_message("user", "new")
    assert [m.content for m in mem.get_messages()] == ["new"]


def _raw_bodies(db: Path) -> list[bytes]:
    con = sqlite3.connect(db)
    try:
        return [bytes(r[0]) for r in con.execute("SELECT body FROM ferromem_messages")]
    finally:
        con.close()


def test_compression_shrinks_long_texts(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    text = "the quick brown fox jumps over the lazy dog " * 40
    SQLiteMemory(db, compression=True).add_message("user", text)
    assert len(_raw_bodies(db)[0]) < len(text) // 4
    assert SQLiteMemory(db).get_messages()[0].content == text


def test_encryption_hides_text_and_needs_the_right_key(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    with SQLiteMemory(db, encryption_key="correct horse") as mem:
        mem.add_message("user", SECRET_TEXT, metadata={"card": "4921"})
    raw = db.read_bytes() + b"".join(_raw_bodies(db))
    assert b"4921" not in raw and b"passport" not in raw
    with SQLiteMemory(db, encryption_key="correct horse") as mem:
        got = mem.get_messages()[0]
        assert got.content == SECRET_TEXT and got.metadata == {"card": "4921"}
    with pytest.raises(InvalidArgumentError, match="does not match"):
        SQLiteMemory(db, encryption_key="wrong")
    with pytest.raises(InvalidArgumentError, match="encrypted"):
        SQLiteMemory(db)
    plain = tmp_path / "p.db"
    SQLiteMemory(plain).add_message("user", "hi")
    with pytest.raises(InvalidArgumentError, match="without encryption"):
        SQLiteMemory(plain, encryption_key="late")


def test_a_damaged_file_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "junk.db"
    db.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(CorruptFileError, match="junk"):
        SQLiteMemory(db)
    assert db.read_bytes() == b"this is not a database at all" * 100


def test_another_applications_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    con = sqlite3.connect(db)
    con.execute("PRAGMA application_id = 12345")
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(CorruptFileError, match="another application"):
        SQLiteMemory(db)


def test_a_tampered_row_fails_its_checksum(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    SQLiteMemory(db).add_message("user", "original text")
    con = sqlite3.connect(db)
    con.execute("UPDATE ferromem_messages SET body = ?", (b"forged text",))
    con.commit()
    con.close()
    with pytest.raises(CorruptDataError, match=r"t\.db: message .* checksum"):
        SQLiteMemory(db).get_messages()


def test_a_failed_batch_stores_nothing(tmp_path: Path) -> None:
    mem = SQLiteMemory(tmp_path / "b.db")
    mem.add_message("user", "kept", id="a")
    with pytest.raises(ValueError, match="metadata"):
        mem.add_messages([Message("user", "x"), Message("user", "y", metadata={"o": object()})])
    assert [m.content for m in mem.get_messages()] == ["kept"]


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"max_messages": 0}, ValueError, "max_messages"),
        ({"max_age_days": -1}, ValueError, "max_age_days"),
        ({"encryption_key": ""}, ValueError, "encryption_key"),
        ({"compression": "yes"}, TypeError, "compression"),
    ],
)
def test_bad_options(tmp_path: Path, kwargs: dict[str, object], exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        SQLiteMemory(tmp_path / "x.db", **kwargs)  # type: ignore[arg-type]


def _child_writes(db: str) -> None:
    mem = SQLiteMemory(db, session_id="shared")
    mem.add_messages([Message("user", f"from child {i}") for i in range(20)])
    mem.close()


def test_two_processes_share_one_file(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    parent = SQLiteMemory(db, session_id="shared")
    parent.add_message("user", "from parent")
    ctx = multiprocessing.get_context("spawn")
    child = ctx.Process(target=_child_writes, args=(str(db),))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    contents = [m.content for m in parent.get_messages()]
    assert contents[0] == "from parent" and len(contents) == 21
    assert parent.search("child 7")[0].message.content == "from child 7"


def test_cached_search_index_follows_writes_from_another_connection(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    reader, writer = SQLiteMemory(db), SQLiteMemory(db)
    reader.add_message("user", "I like hiking")
    assert reader.search("kayaking") == []
    kayak = writer.add_message("user", "I went kayaking on Sunday")
    # The first hit; the turn before it follows with a share of its score (neighbour weights).
    assert reader.search("kayaking")[0].message.id == kayak
    writer.delete_message(kayak)
    assert reader.search("kayaking") == []


def test_hybrid_search_reads_session_orders_once_until_a_write(tmp_path, monkeypatch) -> None:
    """Neighbour lookups in a hybrid search within sessions read each session's order from
    the store once and keep it until the engines change (it read every hit's session for
    every query); across all sessions they read none (the keyword index knows each hit's
    neighbours: at 1M messages in 1,000 sessions the reads cost ~100 ms per query) and
    rank as the session-by-session lookups do."""
    from ferromem.embedders import HashingEmbedder

    mem = ferromem.SQLiteMemory(tmp_path / "h.db", embedder=HashingEmbedder(32), hybrid=True)
    mem.add_messages(
        [
            ferromem.Message("user", f"turn {i} about the garage bike", session_id=f"s{i % 4}")
            for i in range(40)
        ],
        session_id=ferromem.ALL_SESSIONS,
    )
    store = mem._engines.store
    reads: list[str] = []
    real = store.session_keys
    monkeypatch.setattr(store, "session_keys", lambda sid: reads.append(sid) or real(sid))
    assert len(mem.search("garage bike", session_id=ferromem.ALL_SESSIONS, limit=40)) == 40
    assert reads == []
    for sid in ("s0", "s1", "s2", "s3"):
        first = mem.search("garage bike", session_id=sid)
        assert reads == [sid]
        reads.clear()
        assert mem.search("garage bike", session_id=sid) == first
        assert reads == []
    # The keyword index's neighbours are the store's chronological ones.
    keys = store.session_keys("s0") + store.session_keys("s1")
    by_index = mem._neighbours(None, None)
    by_store = mem._neighbours({"s0", "s1", "s2", "s3"}, None)
    assert [by_index(k) for k in keys] == [by_store(k) for k in keys]
    assert by_index(keys[0]) == (None, keys[1])
    reads.clear()
    mem.add_message(ferromem.Message("user", "a new turn about the garage", session_id="s1"))
    second = mem.search("new turn", session_id="s1")
    assert reads == ["s1"]
    assert second[0].message.content == "a new turn about the garage"
    mem.close()


def test_repeated_messages_stay_findable_across_deletes_and_reopens(tmp_path: Path) -> None:
    # Identical texts embed to identical vectors: the HNSW index keeps them as aliases of one
    # graph node (issue 14 item 4). Deleting that node's message, saving the index snapshot and
    # reopening must keep every other copy, in its own session.
    db = tmp_path / "dups.db"
    embedder = HashingEmbedder()
    with SQLiteMemory(db, embedder=embedder) as mem:
        ids = mem.add_messages(
            [Message("user", "ok thanks", session_id=f"s{i % 3}") for i in range(300)]
            + [Message("user", "the cat sat on the mat", session_id="s9")],
            session_id=ALL_SESSIONS,
        )
        assert mem.delete_messages(ids[:100], session_id=ALL_SESSIONS) == 100
    with SQLiteMemory(db, embedder=embedder) as again:
        hits = again.search_by_vector(embedder(["ok thanks"])[0], session_id="s1", limit=50)
        assert len(hits) == 50
        assert {h.message.session_id for h in hits} == {"s1"}
        assert {h.message.id for h in hits} <= set(ids[100:300])
        again.delete_messages(ids[100:299], session_id=ALL_SESSIONS)
    with SQLiteMemory(db, embedder=embedder) as last:
        hits = last.search_by_vector(embedder(["ok thanks"])[0], session_id=ALL_SESSIONS, limit=5)
        # The one copy left (the other message shares no word with the query).
        assert [h.message.id for h in hits] == [ids[299]]
