"""`MultiModalMemory` and `Attachment`: content-addressed bytes, searchable captions, over the
in-process, SQLite and JSON file stores."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

import ferromem
from ferromem import (
    ALL_SESSIONS,
    Attachment,
    InvalidArgumentError,
    InvalidTypeError,
    MemoryLimitError,
    Message,
    MultiModalMemory,
)
from ferromem.stores.jsonfile import JSONFileStore
from ferromem.stores.memory import MemoryStore

CAT = b"\x89PNG fake image of a cat" * 10
REPORT = b"%PDF-1.4 Q3 sales grew"

Factory = Callable[[Path], MultiModalMemory]
FACTORIES: dict[str, Factory] = {
    "memory": lambda tmp: MultiModalMemory(),
    "store": lambda tmp: MultiModalMemory(MemoryStore()),
    "sqlite": lambda tmp: MultiModalMemory(path=tmp / "mm.db"),
    "json": lambda tmp: MultiModalMemory(path=tmp / "mm.json"),
    "json store": lambda tmp: MultiModalMemory(JSONFileStore(tmp / "mm2.json")),
}


@pytest.fixture(params=list(FACTORIES))
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], MultiModalMemory]:
    return lambda: FACTORIES[request.param](tmp_path)


def test_attachment_values() -> None:
    a = Attachment("image", CAT, "image/png", "a cat on a sofa", {"camera": "phone"})
    assert a.sha256 == hashlib.sha256(CAT).hexdigest() and a.size == len(CAT)
    assert a.label == "a cat on a sofa"
    b = Attachment("file", "docs/report.pdf")
    assert b.uri == "docs/report.pdf" and b.mime == "application/pdf" and b.data is None
    assert b.label == "report.pdf"
    assert Attachment.from_description(a.describe()) == a


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("hologram", b"x"), InvalidArgumentError),
        ((3, b"x"), InvalidTypeError),
        (("image",), InvalidArgumentError),
        (("image", 12), InvalidTypeError),
        (("image", b"x", None, 5), InvalidTypeError),
        (("image", b"x", None, None, {"k": object()}), InvalidArgumentError),
    ],
)
def test_bad_attachments_are_refused(args: tuple[object, ...], error: type[Exception]) -> None:
    with pytest.raises(error):
        Attachment(*args)  # type: ignore[arg-type]


def test_attachments_round_trip_and_are_deduplicated(make: Callable[[], MultiModalMemory]) -> None:
    memory = make()
    cat = Attachment("image", CAT, "image/png", "a cat on a sofa")
    first = memory.add_message("user", "look at my cat", attachments=[cat])
    memory.add_message("user", "the same cat again", attachments=[cat])
    memory.add_message("user", "no picture here")
    (got,) = memory.get_attachments(first, load=True)
    assert got.data == CAT and got.caption == "a cat on a sofa" and got.mime == "image/png"
    assert memory.attachment_bytes(got) == CAT
    assert memory.store.get_blob(cat.sha256 or "") == CAT
    memory.close()


def test_captions_and_metadata_are_searchable(make: Callable[[], MultiModalMemory]) -> None:
    memory = make()
    memory.add_message(
        "user",
        "here it is",
        attachments=[
            Attachment(
                "image", CAT, caption="sunset over the harbour", metadata={"place": "Lisbon"}
            )
        ],
    )
    memory.add_message("user", "unrelated words about lunch")
    # (the next turn earns a share of a turn's score: the keyword engine's neighbour weights)
    assert memory.search_messages("harbour")[0].content == "here it is"
    assert memory.search_messages("lisbon")[0].content == "here it is"
    assert memory.search_messages("image")  # the kind is searchable too
    memory.close()


def test_context_lists_attachments_by_caption(make: Callable[[], MultiModalMemory]) -> None:
    memory = make()
    memory.add_message(
        "user",
        "Remember this document",
        attachments=[
            Attachment("file", REPORT, uri="report.pdf"),
            Attachment("image", CAT, caption="a cat"),
        ],
    )
    context = memory.get_context("report")
    assert "user: Remember this document\n[file: report.pdf]\n[image: a cat]" in context
    assert memory.get_messages()[0].content == "Remember this document"  # stored unchanged
    memory.close()


def test_durable_attachments_survive_a_restart(tmp_path: Path) -> None:
    for path in (tmp_path / "a.db", tmp_path / "a.json"):
        memory = MultiModalMemory(path=path)
        mid = memory.add_message(
            "user", "photo", attachments=[Attachment("image", CAT, caption="cat")]
        )
        memory.close()
        again = MultiModalMemory(path=path)
        assert again.get_attachments(mid, load=True)[0].data == CAT
        assert [m.id for m in again.search_messages("cat")] == [mid]
        again.close()


def test_sqlite_blobs_are_encrypted_with_the_database(tmp_path: Path) -> None:
    from ferromem.stores.sqlite import SQLiteStore

    store = SQLiteStore(str(tmp_path / "enc.db"), encryption_key="secret")
    memory = MultiModalMemory(store)
    memory.add_message("user", "x", attachments=[Attachment("file", b"top secret bytes" * 4)])
    memory.close()
    assert b"top secret bytes" not in (tmp_path / "enc.db").read_bytes()


def test_oversize_and_unknown_inputs_store_nothing(make: Callable[[], MultiModalMemory]) -> None:
    memory = make()
    small = MultiModalMemory(max_attachment_bytes=16)
    with pytest.raises(MemoryLimitError):
        small.add_message("user", "too big", attachments=[Attachment("file", b"x" * 17)])
    assert small.get_messages(ALL_SESSIONS) == [] and not small.store.get_blob(
        hashlib.sha256(b"x" * 17).hexdigest()
    )
    with pytest.raises(InvalidTypeError):
        memory.add_message("user", "x", attachments=["report.pdf"])  # type: ignore[list-item]
    with pytest.raises(InvalidArgumentError):
        memory.add_message(
            "user", "x", metadata={"attachments": []}, attachments=[Attachment("file", b"y")]
        )
    with pytest.raises(InvalidArgumentError):
        memory.add_message("user", "x", session_id="", attachments=[Attachment("file", b"z")])
    assert memory.get_messages(ALL_SESSIONS) == []
    assert memory.store.get_blob(hashlib.sha256(b"z").hexdigest()) is None
    memory.close()


def test_a_bound_memory_refuses_another_session_before_storing_bytes() -> None:
    memory = MultiModalMemory(session_id="alice")
    with pytest.raises(InvalidArgumentError):
        memory.add_message(
            Message("user", "x", session_id="bob"), attachments=[Attachment("file", b"bob")]
        )
    assert memory.store.get_blob(hashlib.sha256(b"bob").hexdigest()) is None


def test_the_seed_form_keeps_bytes_in_the_file_backend(tmp_path: Path) -> None:
    files = ferromem.SQLiteMemory(tmp_path / "files.db")
    images = ferromem.DictMemory()
    text = ferromem.VectorMemory()
    memory = MultiModalMemory(text_backend=text, image_backend=images, file_backend=files)
    memory.add_message(
        "user",
        "both",
        attachments=[Attachment("file", REPORT, uri="r.pdf"), Attachment("image", CAT)],
    )
    assert images.store.get_blob(hashlib.sha256(CAT).hexdigest()) == CAT
    assert files.store.get_blob(hashlib.sha256(REPORT).hexdigest()) == REPORT
    assert text.get_messages()[0].content == "both"  # the text backend holds the messages
    memory.close()
    assert files.get_messages() == []  # still open: the backends stay their owner's
    with sqlite3.connect(tmp_path / "files.db") as db:
        assert db.execute("SELECT count(*) FROM ferromem_blobs").fetchone()[0] == 1
    files.close()


def test_stores_without_blobs_are_refused() -> None:
    class Plain(ferromem.MemoryBackend):
        def __init__(self) -> None:
            super().__init__()

        def _store(self, messages):  # type: ignore[no-untyped-def]
            pass

        def _load(self, session_id):  # type: ignore[no-untyped-def]
            return []

        def _session_ids(self):  # type: ignore[no-untyped-def]
            return []

        def _remove(self, session_id, ids):  # type: ignore[no-untyped-def]
            return 0

    with pytest.raises(InvalidArgumentError, match="keeps no attachment bytes"):
        MultiModalMemory(text_backend=Plain())
    with pytest.raises(InvalidArgumentError):
        MultiModalMemory(MemoryStore(), path="x.db")


def test_prune_removes_only_unreferenced_bytes(make: Callable[[], MultiModalMemory]) -> None:
    memory = make()
    cat, report = Attachment("image", CAT), Attachment("file", REPORT)
    first = memory.add_message("user", "cat", attachments=[cat])
    memory.add_message("user", "cat again", attachments=[cat])
    memory.add_message("user", "report", attachments=[report])
    memory.delete_message(first)
    assert memory.prune_attachments() == 0  # the cat is still shown by the second message
    memory.clear_session("default")
    assert memory.prune_attachments() == 2
    assert memory.store.blob_digests() == []
    memory.close()
