"""`FerromemChatMessageHistory`: a LangChain chat message history in any ferromem memory."""

from __future__ import annotations

from collections.abc import Sequence

from ..base import MemoryBackend
from ..errors import InvalidArgumentError, InvalidTypeError
from . import missing_extra
from .langchain_convert import from_langchain, to_langchain

try:
    from langchain_core.chat_history import BaseChatMessageHistory
    from langchain_core.messages import BaseMessage
except ImportError as e:
    raise missing_extra("ferromem.integrations.langchain", "langchain", e) from e

__all__ = ["FerromemChatMessageHistory"]


class FerromemChatMessageHistory(BaseChatMessageHistory):
    """The messages of one conversation (a ferromem session) for LangChain, in ``memory``.

    Any ferromem memory works: an in-process one, or ``SQLiteMemory``/``RedisMemory`` for
    histories that outlive the process. ``session_id`` names the conversation (default: the
    memory's bound or default session). Every LangChain message type that carries content round
    trips with its tool calls, ``additional_kwargs``, list content and id; a type ferromem
    cannot store (such as ``RemoveMessage``) raises :class:`~ferromem.InvalidTypeError`
    naming it, and nothing of that batch is written. The history's messages are searchable
    through the memory (``memory.search(query, session_id=...)``).

    Example::

        from ferromem import SQLiteMemory
        from ferromem.integrations.langchain import FerromemChatMessageHistory

        memory = SQLiteMemory("chats.db")
        history = FerromemChatMessageHistory(memory, session_id="user-42")
        history.add_user_message("hi!")
    """

    def __init__(self, memory: MemoryBackend, *, session_id: str | None = None) -> None:
        if not isinstance(memory, MemoryBackend):
            raise InvalidTypeError(f"memory must be a ferromem memory, not {type(memory).__name__}")
        if session_id is not None and (not isinstance(session_id, str) or not session_id):
            raise InvalidArgumentError(f"session_id must be a non-empty str, got {session_id!r}")
        self.memory = memory
        self.session_id = session_id if session_id is not None else memory.session_id

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        """The conversation, oldest first."""
        return [to_langchain(m) for m in self.memory.get_messages(self.session_id)]

    async def aget_messages(self) -> list[BaseMessage]:
        """Async twin of :attr:`messages`."""
        return [to_langchain(m) for m in await self.memory.aget_messages(self.session_id)]

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Appends messages in one all-or-nothing write."""
        converted = [from_langchain(m, session_id=self.session_id) for m in messages]
        self.memory.add_messages(converted, session_id=self.session_id)

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Async twin of :meth:`add_messages`."""
        converted = [from_langchain(m, session_id=self.session_id) for m in messages]
        await self.memory.aadd_messages(converted, session_id=self.session_id)

    def clear(self) -> None:
        """Removes every message of the conversation."""
        self.memory.clear_session(self.session_id)

    async def aclear(self) -> None:
        """Async twin of :meth:`clear`."""
        await self.memory.aclear_session(self.session_id)

    def __repr__(self) -> str:
        return f"FerromemChatMessageHistory({self.memory!r}, session_id={self.session_id!r})"
