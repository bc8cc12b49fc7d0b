"""`FerromemDBChatStore`: the chat store of LlamaIndex's ``Memory`` (an ``AsyncDBChatStore``:
a queue of active messages per key, the oldest archived as the queue outgrows its budget) in a
ferromem memory."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

from ..base import MemoryBackend
from ..errors import InvalidArgumentError, InvalidTypeError
from ..message import Message
from . import missing_extra
from .llama_index import _to_ferromem, _to_llama

try:
    from llama_index.core.base.llms.types import ChatMessage
    from llama_index.core.bridge.pydantic import ConfigDict, Field
    from llama_index.core.storage.chat_store.base_db import AsyncDBChatStore, MessageStatus
except ImportError as e:
    raise missing_extra("ferromem.integrations.llama_index", "llama-index", e) from e

__all__ = ["FerromemDBChatStore"]

#: The metadata entry that keeps a message's status (active or archived).
STATUS = "llama_index_status"


class FerromemDBChatStore(AsyncDBChatStore):
    """LlamaIndex's ``AsyncDBChatStore`` (what ``Memory.from_defaults(chat_store=...)``
    takes) in a ferromem memory: a key is a session, a message's status is kept in its metadata.

    ``FerromemDBChatStore("chats.db")`` keeps the messages in a SQLite file; ``memory=`` takes
    any ferromem memory; neither keeps them in process. ``delete_message(key, idx)`` takes the
    message's position among all of the key's messages, oldest first.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    memory: Any = Field(default=None, exclude=True)

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        memory: MemoryBackend | None = None,
        **data: Any,
    ) -> None:
        if memory is not None and path is not None:
            raise InvalidArgumentError("pass path or memory=, not both")
        if memory is None:
            if path is None:
                from ..memories.indexed import IndexedMemory

                memory = IndexedMemory()
            else:
                from ..memories.sqlite import SQLiteMemory

                memory = SQLiteMemory(path)
        elif not isinstance(memory, MemoryBackend):
            raise InvalidTypeError(f"memory must be a ferromem memory, not {type(memory).__name__}")
        data["memory"] = memory
        super().__init__(**data)

    @classmethod
    def class_name(cls) -> str:
        """LlamaIndex's name for this component."""
        return "FerromemDBChatStore"

    def _memory(self) -> MemoryBackend:
        memory: MemoryBackend = self.memory
        return memory

    @staticmethod
    def _key(key: object) -> str:
        if not isinstance(key, str) or not key:
            raise InvalidArgumentError(f"key must be a non-empty str, got {key!r}")
        return key

    def _stored(self, key: str, status: MessageStatus | None) -> list[Message]:
        filters = None if status is None else {STATUS: MessageStatus(status).value}
        return self._memory().get_messages(self._key(key), filters=filters)

    def _converted(
        self, key: str, messages: list[ChatMessage], status: MessageStatus
    ) -> list[Message]:
        out = []
        for message in messages:
            m = _to_ferromem(message, key)
            out.append(m.replace(metadata={**m.metadata, STATUS: MessageStatus(status).value}))
        return out

    async def get_messages(
        self,
        key: str,
        status: MessageStatus | None = MessageStatus.ACTIVE,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[ChatMessage]:
        """The key's messages with this status (None: any), oldest first, paged."""
        stored = await _thread(self._stored, key, status)
        start = offset or 0
        end = None if limit is None else start + limit
        return [_to_llama(m) for m in stored[start:end]]

    async def count_messages(
        self, key: str, status: MessageStatus | None = MessageStatus.ACTIVE
    ) -> int:
        """How many messages of the key have this status (None: any)."""
        return len(await _thread(self._stored, key, status))

    async def add_message(
        self, key: str, message: ChatMessage, status: MessageStatus = MessageStatus.ACTIVE
    ) -> None:
        """Appends one message with this status."""
        await self.add_messages(key, [message], status)

    async def add_messages(
        self,
        key: str,
        messages: list[ChatMessage],
        status: MessageStatus = MessageStatus.ACTIVE,
    ) -> None:
        """Appends messages with this status in one write."""
        key = self._key(key)
        converted = self._converted(key, messages, status)
        await self._memory().aadd_messages(converted, session_id=key)

    async def set_messages(
        self,
        key: str,
        messages: list[ChatMessage],
        status: MessageStatus = MessageStatus.ACTIVE,
    ) -> None:
        """Replaces every message of the key."""
        key = self._key(key)
        converted = self._converted(key, messages, status)
        await self._memory().aclear_session(key)
        await self._memory().aadd_messages(converted, session_id=key)

    async def delete_message(self, key: str, idx: int) -> ChatMessage | None:
        """Removes and returns the message at position ``idx`` of the key, or None."""
        if isinstance(idx, bool) or not isinstance(idx, int):
            raise InvalidTypeError(f"idx must be an int, not {type(idx).__name__}")
        stored = await _thread(self._stored, key, None)
        if not 0 <= idx < len(stored):
            return None
        await self._memory().adelete_message(stored[idx].id or "", session_id=key)
        return _to_llama(stored[idx])

    async def delete_messages(self, key: str, status: MessageStatus | None = None) -> None:
        """Removes the key's messages with this status (None: all of them)."""
        key = self._key(key)
        if status is None:
            await self._memory().aclear_session(key)
        else:
            filters = {STATUS: MessageStatus(status).value}
            await self._memory().adelete_messages(session_id=key, filters=filters)

    async def delete_oldest_messages(self, key: str, n: int) -> list[ChatMessage]:
        """Removes and returns the oldest ``n`` active messages."""
        oldest = (await _thread(self._stored, key, MessageStatus.ACTIVE))[: max(n, 0)]
        if oldest:
            await self._memory().adelete_messages(
                [m.id or "" for m in oldest], session_id=self._key(key)
            )
        return [_to_llama(m) for m in oldest]

    async def archive_oldest_messages(self, key: str, n: int) -> list[ChatMessage]:
        """Marks the oldest ``n`` active messages archived and returns them."""
        oldest = (await _thread(self._stored, key, MessageStatus.ACTIVE))[: max(n, 0)]
        archived = MessageStatus.ARCHIVED.value
        replaced = [m.replace(metadata={**m.metadata, STATUS: archived}) for m in oldest]
        if replaced:
            await self._memory().aadd_messages(
                replaced, session_id=self._key(key), on_conflict="replace"
            )
        return [_to_llama(m) for m in oldest]

    async def get_keys(self) -> list[str]:
        """Every key (session) with messages."""
        return await self._memory().alist_sessions()

    def close(self) -> None:
        """Closes the memory."""
        self._memory().close()


async def _thread(fn: Callable[..., list[Message]], *args: Any) -> list[Message]:
    return await asyncio.to_thread(fn, *args)
