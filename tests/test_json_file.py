"""JSONFileMemory: persistence, atomic replacement, damaged files, failed writes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ferromem import ALL_SESSIONS, CorruptFileError, JSONFileMemory, PersistentMemory, StorageError


def test_reload_after_restart(tmp_path: Path):
    path = tmp_path / "mem.json"
    with JSONFileMemory(path, session_id="alice") as mem:
        mem.add_message("user", "Hello! I'm Alice, a software developer.", metadata={"k": [1, 2]})
        mem.add_message("user", "Hi from Bob", session_id="bob")
        ids = [m.id for m in mem.get_messages(ALL_SESSIONS)]
    again = PersistentMemory(path, session_id="alice")
    assert [m.id for m in again.get_messages(ALL_SESSIONS)] == ids
    assert again.get_messages()[0].metadata == {"k": [1, 2]}
    assert again.search("developer")[0].message.content.startswith("Hello")


def test_a_directory_path_means_memory_json_inside(tmp_path: Path):
    mem = JSONFileMemory(tmp_path)
    mem.add_message("user", "x")
    assert (tmp_path / "memory.json").exists()


def test_file_carries_magic_version_checksum_and_no_temp_files_remain(tmp_path: Path):
    path = tmp_path / "mem.json"
    mem = JSONFileMemory(path)
    for i in range(3):
        mem.add_message("user", f"turn {i}")
    doc = json.loads(path.read_text())
    assert doc["magic"] == "ferromem-json" and doc["version"] == 2 and isinstance(doc["crc32"], int)
    assert sorted(os.listdir(tmp_path)) == ["mem.json", "mem.json.lock"]


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],
        lambda b: b.replace(b"turn 1", b"turn 9"),
        lambda b: b"",
        lambda b: b"\xff\xfe not utf8",
        lambda b: b'{"magic": "other", "version": 1}',
        lambda b: b.replace(b'"version":2', b'"version":99'),
        lambda b: b"[1, 2, 3]",
    ],
)
def test_damaged_file_is_refused_and_left_untouched(tmp_path: Path, damage):
    path = tmp_path / "mem.json"
    mem = JSONFileMemory(path)
    for i in range(3):
        mem.add_message("user", f"turn {i}")
    bad = damage(path.read_bytes())
    path.write_bytes(bad)
    with pytest.raises(CorruptFileError, match=r"mem\.json"):
        JSONFileMemory(path)
    assert path.read_bytes() == bad


def test_invalid_message_inside_a_valid_envelope(tmp_path: Path):
    import zlib

    records = [{"role": "user", "content": 5}]
    body = json.dumps(records, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    path = tmp_path / "m.json"
    path.write_text(
        json.dumps(
            {
                "magic": "ferromem-json",
                "version": 1,
                "crc32": zlib.crc32(body.encode()),
                "messages": records,
            }
        )
    )
    with pytest.raises(CorruptFileError, match="message 0"):
        JSONFileMemory(path)


def test_failed_write_rolls_back_in_memory(tmp_path: Path):
    path = tmp_path / "mem.json"
    mem = JSONFileMemory(path)
    mem.add_message("user", "kept")
    # A real failure root cannot bypass: the target became a non-empty directory.
    path.unlink()
    path.mkdir()
    (path / "blocker").write_text("x")
    with pytest.raises(StorageError, match=r"mem\.json"):
        mem.add_message("user", "not stored")
    assert [m.content for m in mem.get_messages()] == ["kept"]
    assert sorted(os.listdir(tmp_path)) == ["mem.json", "mem.json.lock"]  # no temp file left


def test_unserialisable_metadata_is_refused_and_rolled_back(tmp_path: Path):
    mem = JSONFileMemory(tmp_path / "mem.json")
    mem.add_message("user", "kept")
    with pytest.raises(ValueError, match="JSON"):
        mem.add_message("user", "bad", metadata={"obj": object()})
    assert [m.content for m in mem.get_messages()] == ["kept"]
    assert [m.content for m in JSONFileMemory(tmp_path / "mem.json").get_messages()] == ["kept"]


def test_path_type_is_checked():
    with pytest.raises(TypeError, match="path"):
        JSONFileMemory(42)  # type: ignore[arg-type]
