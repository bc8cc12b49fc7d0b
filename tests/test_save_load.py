"""save(path) / Class.load(path) of the in-process memories: everything comes back, the indexes
are loaded rather than rebuilt (nothing re-embedded), damage is a typed error, nothing half-done."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest

import ferromem
from ferromem import ALL_SESSIONS, CorruptFileError, InvalidArgumentError, Message

CLASSES = [
    ferromem.DictMemory,
    ferromem.BufferMemory,
    ferromem.IndexedMemory,
    ferromem.VectorMemory,
    ferromem.HierarchicalMemory,
    ferromem.SummaryMemory,
    ferromem.CompressedMemory,
]
TEXTS = [
    "Remember that my name is Alice and I live in Lyon.",
    "I adopted a cat named Pixel.",
    "My favourite database is PostgreSQL.",
    "I went kayaking on the lake last Sunday.",
    "Please remind me to call mom on Friday.",
]


def _fill(mem: ferromem.MemoryBackend) -> None:
    msgs = [
        Message("user", f"{TEXTS[i % len(TEXTS)]} ({i})", metadata={"i": i}, timestamp=1e9 + i)
        for i in range(40)
    ]
    mem.add_messages(msgs)
    mem.add_message("user", "a turn in another session about kayaking", session_id="bob")


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_round_trip_keeps_everything(cls, tmp_path: Path) -> None:
    mem = cls(session_id="alice")
    _fill(mem)
    path = tmp_path / "memory.fm"
    queries = ["kayaking lake", "database", "cat named Pixel"]
    before = {
        q: [(h.message.id, round(h.score, 5)) for h in mem.search(q, limit=5)] for q in queries
    }
    context = mem.get_context("kayaking", max_tokens=300)
    mem.save(path)
    loaded = cls.load(path)
    assert loaded.session_id == "alice" and loaded.bound
    assert loaded.get_messages(ALL_SESSIONS) == mem.get_messages(ALL_SESSIONS)
    after = {
        q: [(h.message.id, round(h.score, 5)) for h in loaded.search(q, limit=5)] for q in queries
    }
    assert after == before
    assert loaded.get_context("kayaking", max_tokens=300) == context
    assert loaded._engines.rebuilds == 0
    assert sorted(os.listdir(tmp_path)) == ["memory.fm", "memory.fm.lock"]
    # The loaded memory goes on working.
    new = loaded.add_message("user", "I started learning the cello")
    assert loaded.search("cello")[0].message.id == new


def test_settings_come_back(tmp_path: Path) -> None:
    mem = ferromem.IndexedMemory("jaccard", neighbour_weights=(0.0, 0.0), session_id="s")
    mem.add_message("user", "python code")
    mem.save(tmp_path / "i.fm")
    loaded = ferromem.IndexedMemory.load(tmp_path / "i.fm")
    assert loaded.scoring == "jaccard" and loaded.neighbour_weights == (0.0, 0.0)
    buf = ferromem.BufferMemory(max_tokens=123)
    buf.save(tmp_path / "b.fm")
    assert ferromem.BufferMemory.load(tmp_path / "b.fm").max_tokens == 123


def test_summary_comes_back(tmp_path: Path) -> None:
    mem = ferromem.SummaryMemory(summarize_after=3, session_id="s")
    for t in TEXTS:
        mem.add_message("user", t)
    summary = mem.get_summary()
    assert summary
    mem.save(tmp_path / "s.fm")
    loaded = ferromem.SummaryMemory.load(tmp_path / "s.fm")
    assert loaded.get_summary() == summary
    assert (
        loaded.get_session_stats()["pending_messages"]
        == mem.get_session_stats()["pending_messages"]
    )


def test_vectors_are_not_embedded_again(tmp_path: Path) -> None:
    calls = {"texts": 0}
    base = ferromem.embedders.HashingEmbedder(128)

    def counting(texts: list[str]) -> np.ndarray:
        calls["texts"] += len(texts)
        return base(texts)

    counting.dimension = 128  # type: ignore[attr-defined]
    mem = ferromem.VectorMemory(counting, hybrid=True)
    mem.add_messages([Message("user", t) for t in TEXTS])
    mem.save(tmp_path / "v.fm")
    calls["texts"] = 0
    loaded = ferromem.VectorMemory.load(tmp_path / "v.fm", embedder=counting)
    assert loaded.search("kayaking")[0].message.content == TEXTS[3]
    assert calls["texts"] == 1, "only the query was embedded"


def test_a_different_embedder_is_refused(tmp_path: Path) -> None:
    mem = ferromem.VectorMemory(ferromem.embedders.HashingEmbedder(64))
    mem.add_message("user", "hello")
    mem.save(tmp_path / "v.fm")
    with pytest.raises(InvalidArgumentError, match="embedder"):
        ferromem.VectorMemory.load(tmp_path / "v.fm")  # the default embedder is another one
    loaded = ferromem.VectorMemory.load(
        tmp_path / "v.fm", embedder=ferromem.embedders.HashingEmbedder(64)
    )
    assert len(loaded.get_messages()) == 1


def test_the_wrong_class_is_refused(tmp_path: Path) -> None:
    ferromem.DictMemory().save(tmp_path / "d.fm")
    with pytest.raises(InvalidArgumentError, match=r"DictMemory\.load"):
        ferromem.IndexedMemory.load(tmp_path / "d.fm")


def test_damaged_files_are_typed_errors(tmp_path: Path) -> None:
    mem = ferromem.IndexedMemory()
    _fill(mem)
    path = tmp_path / "m.fm"
    mem.save(path)
    good = path.read_bytes()
    rng = random.Random(3)
    for trial in range(200):
        data = bytearray(good)
        kind = trial % 3
        if kind == 0:
            data = data[: rng.randrange(len(data))]
        elif kind == 1:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        else:
            at = rng.randrange(len(data) - 8)
            data[at : at + 8] = rng.randbytes(8)
        path.write_bytes(bytes(data))
        with pytest.raises(CorruptFileError, match=r"m\.fm"):
            ferromem.IndexedMemory.load(path)


def test_unsaveable_metadata_is_refused_and_the_old_file_stays(tmp_path: Path) -> None:
    path = tmp_path / "m.fm"
    mem = ferromem.DictMemory()
    mem.add_message("user", "fine")
    mem.save(path)
    kept = path.read_bytes()
    mem.add_message("user", "not JSON", metadata={"obj": object()})
    with pytest.raises(InvalidArgumentError, match="JSON"):
        mem.save(path)
    assert path.read_bytes() == kept


def test_a_save_killed_half_way_leaves_the_old_file_and_is_cleaned_up(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "m.fm"
    mem = ferromem.IndexedMemory()
    mem.add_message("user", "saved once")
    mem.save(path)
    script = f"""
import os, signal, ferromem, ferromem.envelope as env
def dying(path, data):
    tmp = path.with_name("." + path.name + ".tmp" + str(os.getpid()) + "-0-dead")
    tmp.write_bytes(data[: len(data) // 2])
    os.kill(os.getpid(), signal.SIGKILL)
env.replace_file = dying
m = ferromem.IndexedMemory()
m.add_message("user", "never saved")
m.save({str(path)!r})
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == -9
    assert [m.content for m in ferromem.IndexedMemory.load(path).get_messages()] == ["saved once"]
    assert any(".tmp" in name for name in os.listdir(tmp_path))
    mem.save(path)
    assert sorted(os.listdir(tmp_path)) == ["m.fm", "m.fm.lock"]
