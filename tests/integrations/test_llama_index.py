"""FerromemChatStore under LlamaIndex's chat memory, checked against its SimpleChatStore."""

from __future__ import annotations

from pathlib import Path

import pytest
from llama_index.core.base.llms.types import ImageBlock, TextBlock
from llama_index.core.llms import ChatMessage, MessageRole
from llama_index.core.memory import ChatMemoryBuffer, Memory
from llama_index.core.storage.chat_store import SimpleChatStore
from llama_index.core.storage.chat_store.base_db import MessageStatus

from ferromem import DictMemory, InvalidArgumentError, InvalidTypeError, SQLiteMemory
from ferromem.integrations.llama_index import FerromemChatStore, FerromemDBChatStore


def chat() -> list[ChatMessage]:
    return [
        ChatMessage(role=MessageRole.SYSTEM, content="Be brief."),
        ChatMessage(role=MessageRole.USER, content="My cat is called Miso."),
        ChatMessage(
            role=MessageRole.ASSISTANT,
            content="Noted.",
            additional_kwargs={"tool_calls": [{"id": "c1", "name": "save", "args": {"n": 1}}]},
        ),
        ChatMessage(
            role=MessageRole.USER,
            blocks=[
                TextBlock(text="Here she is:"),
                ImageBlock(image=b"\x89PNG fake bytes", image_mimetype="image/png"),
            ],
        ),
        ChatMessage(
            role=MessageRole.TOOL, content="saved", additional_kwargs={"tool_call_id": "c1"}
        ),
    ]


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> FerromemChatStore:
    if request.param == "memory":
        return FerromemChatStore()
    return FerromemChatStore(tmp_path / "chats.db")


def test_behaves_as_simple_chat_store(store: FerromemChatStore) -> None:
    """The same calls on LlamaIndex's own SimpleChatStore and on ours give the same answers."""
    reference = SimpleChatStore()
    for s in (store, reference):
        s.set_messages("a", chat())
        s.add_message("b", ChatMessage(role="user", content="other user"))
    assert store.get_messages("a") == reference.get_messages("a") == chat()
    assert sorted(store.get_keys()) == sorted(reference.get_keys()) == ["a", "b"]
    for idx in (1, -1, 99):
        assert store.delete_message("a", idx) == reference.delete_message("a", idx)
    assert store.delete_last_message("a") == reference.delete_last_message("a")
    assert store.get_messages("a") == reference.get_messages("a")
    assert store.delete_messages("a") == reference.delete_messages("a")
    assert store.delete_messages("a") is None and store.get_messages("a") == []
    assert store.delete_message("a", 0) is None
    store.set_messages("b", [ChatMessage(role="user", content="replaced")])
    assert [m.content for m in store.get_messages("b")] == ["replaced"]


async def test_async_methods(store: FerromemChatStore) -> None:
    await store.aset_messages("k", chat())
    await store.async_add_message("k", ChatMessage(role="assistant", content="more"))
    assert (await store.aget_messages("k"))[-1].content == "more"
    assert await store.aget_keys() == ["k"]
    assert await store.adelete_last_message("k") is not None
    assert len(await store.aget_messages("k")) == len(chat())


def test_chat_memory_buffer_keeps_history_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "chats.db"
    store = FerromemChatStore(path)
    buffer = ChatMemoryBuffer.from_defaults(chat_store=store, chat_store_key="ada", token_limit=40)
    for i in range(12):
        buffer.put(ChatMessage(role="user", content=f"turn number {i} about my cat Miso"))
    window = buffer.get()
    assert 0 < len(window) < 12 and window[-1].content == "turn number 11 about my cat Miso"
    store.close()

    reopened = FerromemChatStore(path)
    again = ChatMemoryBuffer.from_defaults(
        chat_store=reopened, chat_store_key="ada", token_limit=40
    )
    assert len(again.get_all()) == 12 and again.get() == window
    # The history is a ferromem session: searchable.
    hits = reopened.memory.search("turn 7", session_id="ada", limit=1)
    assert hits[0].message.content == "turn number 7 about my cat Miso"
    reopened.close()


def test_messages_stored_by_other_ferromem_code_are_read() -> None:
    memory = DictMemory()
    memory.add_message("user", "from elsewhere", session_id="k")
    memory.add_message("human", "a foreign role", session_id="k")
    messages = FerromemChatStore(memory=memory).get_messages("k")
    assert [(m.role, m.content) for m in messages] == [
        (MessageRole.USER, "from elsewhere"),
        (MessageRole.USER, "a foreign role"),
    ]


def test_bad_input_is_refused_and_changes_nothing() -> None:
    store = FerromemChatStore()
    store.set_messages("k", chat())
    with pytest.raises(InvalidTypeError, match="dict"):
        store.set_messages("k", [{"role": "user", "content": "x"}])  # type: ignore[list-item]
    with pytest.raises(InvalidArgumentError, match="not JSON"):
        store.add_message("k", ChatMessage(role="user", content="x", additional_kwargs={"b": b"1"}))
    assert store.get_messages("k") == chat()
    with pytest.raises(InvalidArgumentError, match="key"):
        store.get_messages("")
    with pytest.raises(InvalidArgumentError, match="not both"):
        FerromemChatStore("x.db", memory=SQLiteMemory(":memory:"))
    with pytest.raises(InvalidTypeError, match="idx"):
        store.delete_message("k", "0")  # type: ignore[arg-type]


# ---------------------------------------------------------------------- LlamaIndex's Memory
async def test_memory_archives_the_oldest_turns_in_ferromem(tmp_path: Path) -> None:
    store = FerromemDBChatStore(tmp_path / "chats.db")
    memory = Memory.from_defaults(
        session_id="ada", chat_store=store, token_limit=60, chat_history_token_ratio=0.5,
        token_flush_size=10,
    )  # fmt: skip
    for i in range(20):
        await memory.aput(ChatMessage(role="user", content=f"turn {i} about my cat Miso"))
    window = await memory.aget()
    assert 0 < len(window) < 20 and window[-1].content == "turn 19 about my cat Miso"
    assert await store.count_messages("ada") == len(window)
    assert await store.count_messages("ada", status=MessageStatus.ARCHIVED) == 20 - len(window)
    assert len(await memory.aget_all()) == 20
    store.close()
    reopened = FerromemDBChatStore(tmp_path / "chats.db")
    assert [m.content for m in await reopened.get_messages("ada", status=None)] == [
        f"turn {i} about my cat Miso" for i in range(20)
    ]
    reopened.close()


async def test_db_chat_store_operations() -> None:
    store = FerromemDBChatStore()
    await store.set_messages("k", chat())
    assert await store.get_messages("k") == chat()
    assert await store.get_messages("k", limit=2, offset=1) == chat()[1:3]
    assert await store.archive_oldest_messages("k", 2) == chat()[:2]
    assert await store.get_messages("k", status=MessageStatus.ARCHIVED) == chat()[:2]
    assert await store.delete_oldest_messages("k", 1) == chat()[2:3]
    assert await store.delete_message("k", 0) == chat()[0]
    assert await store.delete_message("k", 99) is None
    await store.add_messages("k", [ChatMessage(role="user", content="new")])
    await store.delete_messages("k", status=MessageStatus.ARCHIVED)
    assert [m.content for m in await store.get_messages("k", status=None)] == [
        m.content for m in [*chat()[3:], ChatMessage(role="user", content="new")]
    ]
    assert await store.get_keys() == ["k"]
    await store.delete_messages("k")
    assert await store.count_messages("k", status=None) == 0
