"""FerromemChatMessageHistory: LangChain messages round-trip through ferromem memories."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables.history import RunnableWithMessageHistory

from ferromem import (
    DictMemory,
    IndexedMemory,
    InvalidArgumentError,
    InvalidTypeError,
    SQLiteMemory,
)
from ferromem.integrations.langchain import FerromemChatMessageHistory


def conversation() -> list[BaseMessage]:
    """Every kind of message a LangChain agent produces, with the fields that must survive."""
    return [
        SystemMessage("You are terse."),
        HumanMessage(
            content=[
                {"type": "text", "text": "What is in this picture of a heron?"},
                {"type": "image_url", "image_url": {"url": "https://example.org/heron.png"}},
            ],
            id="h1",
        ),
        AIMessage(
            content="",
            tool_calls=[{"name": "lookup", "args": {"bird": "heron", "n": 2}, "id": "call-1"}],
            additional_kwargs={"refusal": None, "custom": [1, 2]},
            response_metadata={"model_name": "fake", "finish_reason": "tool_calls"},
            usage_metadata={"input_tokens": 5, "output_tokens": 3, "total_tokens": 8},
        ),
        ToolMessage("a grey heron", tool_call_id="call-1", name="lookup", artifact={"k": 1}),
        AIMessage("A grey heron.", name="assistant-1"),
        ChatMessage(role="critic", content="Good answer."),
        FunctionMessage(name="legacy_fn", content="{}"),
    ]


@pytest.fixture(params=["indexed", "sqlite"])
def memory(request: pytest.FixtureRequest, tmp_path: Path) -> IndexedMemory | SQLiteMemory:
    if request.param == "indexed":
        return IndexedMemory()
    return SQLiteMemory(tmp_path / "chats.db")


def test_every_message_kind_round_trips(memory: IndexedMemory | SQLiteMemory) -> None:
    history = FerromemChatMessageHistory(memory, session_id="s1")
    history.add_messages(conversation())
    assert history.messages == conversation()
    assert [m.role for m in memory.get_messages("s1")] == [
        "system", "user", "assistant", "tool", "assistant", "critic", "function",
    ]  # fmt: skip


def test_a_sqlite_history_survives_a_restart(tmp_path: Path) -> None:
    with SQLiteMemory(tmp_path / "chats.db") as memory:
        FerromemChatMessageHistory(memory, session_id="u1").add_messages(conversation())
    with SQLiteMemory(tmp_path / "chats.db") as memory:
        assert FerromemChatMessageHistory(memory, session_id="u1").messages == conversation()


def test_list_content_is_searchable_text() -> None:
    memory = IndexedMemory()
    FerromemChatMessageHistory(memory, session_id="s").add_messages(conversation())
    hits = memory.search("picture heron", session_id="s", limit=1)
    assert hits and hits[0].message.content == "What is in this picture of a heron?"


def test_sessions_stay_apart_and_clear_only_their_own() -> None:
    memory = DictMemory()
    a = FerromemChatMessageHistory(memory, session_id="a")
    b = FerromemChatMessageHistory(memory, session_id="b")
    a.add_user_message("hello from a")
    b.add_ai_message("hello from b")
    assert a.messages == [HumanMessage("hello from a")]
    a.clear()
    assert a.messages == []
    assert b.messages == [AIMessage("hello from b")]


def test_chunks_are_stored_as_their_message() -> None:
    history = FerromemChatMessageHistory(DictMemory(), session_id="s")
    history.add_message(AIMessageChunk(content="partial answer", id="c9"))
    assert history.messages == [AIMessage(content="partial answer", id="c9")]


def test_messages_ferromem_stored_elsewhere_come_back_by_role() -> None:
    memory = DictMemory()
    memory.add_message("user", "from the CLI", session_id="s")
    memory.add_message("assistant", "an answer", session_id="s")
    memory.add_message("narrator", "meanwhile", session_id="s")
    history = FerromemChatMessageHistory(memory, session_id="s")
    assert history.messages == [
        HumanMessage("from the CLI"),
        AIMessage("an answer"),
        ChatMessage(role="narrator", content="meanwhile"),
    ]


def test_a_message_type_ferromem_cannot_store_is_named_and_nothing_is_written() -> None:
    memory = DictMemory()
    history = FerromemChatMessageHistory(memory, session_id="s")
    with pytest.raises(InvalidTypeError, match="RemoveMessage"):
        history.add_messages([HumanMessage("kept?"), RemoveMessage(id="x")])
    with pytest.raises(InvalidTypeError, match="not str"):
        history.add_messages(["plain text"])  # type: ignore[list-item]
    assert memory.get_messages("s") == []


@pytest.mark.parametrize("value", [float("nan"), b"raw bytes", {1, 2}])
def test_values_that_are_not_json_are_refused_not_changed(value: object) -> None:
    memory = DictMemory()
    history = FerromemChatMessageHistory(memory, session_id="s")
    with pytest.raises(InvalidArgumentError, match="not JSON"):
        history.add_message(AIMessage("x", additional_kwargs={"value": value}))
    assert memory.get_messages("s") == []


def test_bad_arguments_are_named() -> None:
    with pytest.raises(InvalidTypeError, match="memory"):
        FerromemChatMessageHistory([])  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="session_id"):
        FerromemChatMessageHistory(DictMemory(), session_id="")


def test_a_bound_memory_is_used_for_its_session() -> None:
    memory = DictMemory(session_id="mine")
    history = FerromemChatMessageHistory(memory)
    history.add_user_message("hi")
    assert history.session_id == "mine"
    assert [m.content for m in memory.get_messages()] == ["hi"]


async def test_async_methods(memory: IndexedMemory | SQLiteMemory) -> None:
    history = FerromemChatMessageHistory(memory, session_id="s")
    await history.aadd_messages(conversation())
    assert await history.aget_messages() == conversation()
    await history.aclear()
    assert await history.aget_messages() == []


# LangChain deprecates its wrapper in favour of LangGraph, but it is still how a chat message
# history is used; the LangGraph side is tested in test_langgraph.py.
@pytest.mark.filterwarnings("ignore::langchain_core._api.deprecation.LangChainDeprecationWarning")
def test_runnable_with_message_history_remembers_turns(tmp_path: Path) -> None:
    """LangChain's own wrapper reads and writes the history around a (fake) chat model."""
    memory = SQLiteMemory(tmp_path / "chats.db")
    model = FakeListChatModel(responses=["Nice to meet you, Ada.", "Your name is Ada."])
    prompt = ChatPromptTemplate.from_messages(
        [MessagesPlaceholder("history"), ("human", "{question}")]
    )
    chain = RunnableWithMessageHistory(
        prompt | model,
        lambda session_id: FerromemChatMessageHistory(memory, session_id=session_id),
        input_messages_key="question",
        history_messages_key="history",
    )
    config = {"configurable": {"session_id": "ada"}}
    chain.invoke({"question": "I am Ada."}, config=config)  # type: ignore[arg-type]
    answer = chain.invoke({"question": "What is my name?"}, config=config)  # type: ignore[arg-type]
    assert answer.content == "Your name is Ada."
    contents = [m.content for m in memory.get_messages("ada")]
    assert contents == [
        "I am Ada.",
        "Nice to meet you, Ada.",
        "What is my name?",
        "Your name is Ada.",
    ]
    memory.close()
