"""LlamaIndex chat history in a ferromem memory (``pip install 'ferromem[llama-index]'``):
:class:`FerromemChatStore` (a ``BaseChatStore``, for ``ChatMemoryBuffer``) and
:class:`~ferromem.integrations.llama_index_db.FerromemDBChatStore` (an ``AsyncDBChatStore``, for
``Memory``)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from ..base import MemoryBackend
from ..errors import InvalidArgumentError, InvalidTypeError
from ..message import Message
from . import missing_extra

try:
    from llama_index.core.base.llms.types import ChatMessage, TextBlock
    from llama_index.core.bridge.pydantic import ConfigDict, Field
    from llama_index.core.storage.chat_store.base import BaseChatStore
except ImportError as e:
    raise missing_extra("ferromem.integrations.llama_index", "llama-index", e) from e

__all__ = ["FerromemChatStore", "FerromemDBChatStore"]

#: The metadata entry that keeps what a LlamaIndex message carries beside its text.
KEY = "llama_index"


def _to_ferromem(message: object, key: str) -> Message:
    if not isinstance(message, ChatMessage):
        raise InvalidTypeError(
            f"a LlamaIndex chat store stores ChatMessage objects, not {type(message).__name__}"
        )
    extra: dict[str, Any] = {}
    if message.additional_kwargs:
        extra["additional_kwargs"] = message.additional_kwargs
    blocks = message.blocks
    if not (len(blocks) == 1 and isinstance(blocks[0], TextBlock)):
        extra["blocks"] = [b.model_dump(mode="json") for b in blocks]
    try:
        json.dumps(extra, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(
            f"a ChatMessage carries a value that is not JSON ({e}); ferromem stores JSON"
        ) from None
    return Message(
        str(message.role.value),
        message.content or "",
        session_id=key,
        metadata={KEY: extra} if extra else {},
    )


def _to_llama(m: Message) -> ChatMessage:
    extra = m.metadata.get(KEY)
    data: dict[str, Any] = {"role": m.role}
    if isinstance(extra, Mapping):
        data.update(extra)
    if "blocks" not in data:
        data["blocks"] = [{"block_type": "text", "text": m.content}]
    try:
        return ChatMessage.model_validate(data)
    except ValueError:
        # A role LlamaIndex does not know (a message another program stored): keep the text.
        data["role"] = "user" if m.role == "human" else "assistant"
        return ChatMessage.model_validate(data)


class FerromemChatStore(BaseChatStore):
    """LlamaIndex's ``BaseChatStore`` in a ferromem memory: a chat store key is a ferromem
    session, so LlamaIndex's chat memory (``ChatMemoryBuffer``) keeps its history in any
    ferromem memory, where it is also searchable.

    ``FerromemChatStore("chats.db")`` keeps the history in a SQLite file; ``memory=`` takes
    any ferromem memory; neither keeps it in process. Roles, text and image blocks and
    ``additional_kwargs`` round-trip; anything but a ``ChatMessage`` raises
    :class:`~ferromem.InvalidTypeError` naming its type.
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
        return "FerromemChatStore"

    def _memory(self) -> MemoryBackend:
        memory: MemoryBackend = self.memory
        return memory

    @staticmethod
    def _key(key: object) -> str:
        if not isinstance(key, str) or not key:
            raise InvalidArgumentError(f"key must be a non-empty str, got {key!r}")
        return key

    def set_messages(self, key: str, messages: list[ChatMessage]) -> None:
        """Replaces the messages of ``key``."""
        key = self._key(key)
        converted = [_to_ferromem(m, key) for m in messages]
        memory = self._memory()
        memory.clear_session(key)
        memory.add_messages(converted, session_id=key)

    def get_messages(self, key: str) -> list[ChatMessage]:
        """The messages of ``key``, oldest first."""
        return [_to_llama(m) for m in self._memory().get_messages(self._key(key))]

    def add_message(self, key: str, message: ChatMessage) -> None:
        """Appends a message to ``key``."""
        key = self._key(key)
        self._memory().add_messages([_to_ferromem(message, key)], session_id=key)

    def delete_messages(self, key: str) -> list[ChatMessage] | None:
        """Removes every message of ``key`` and returns them (None when there were none)."""
        key = self._key(key)
        memory = self._memory()
        stored = memory.get_messages(key)
        if not stored:
            return None
        memory.clear_session(key)
        return [_to_llama(m) for m in stored]

    def delete_message(self, key: str, idx: int) -> ChatMessage | None:
        """Removes and returns the message at ``idx`` (a list index) of ``key``, or None."""
        if isinstance(idx, bool) or not isinstance(idx, int):
            raise InvalidTypeError(f"idx must be an int, not {type(idx).__name__}")
        memory = self._memory()
        stored = memory.get_messages(self._key(key))
        if not -len(stored) <= idx < len(stored):
            return None
        doomed = stored[idx]
        memory.delete_message(doomed.id or "", session_id=key)
        return _to_llama(doomed)

    def delete_last_message(self, key: str) -> ChatMessage | None:
        """Removes and returns the newest message of ``key``, or None."""
        return self.delete_message(key, -1)

    def get_keys(self) -> list[str]:
        """Every key (session) with messages."""
        return self._memory().list_sessions()

    def close(self) -> None:
        """Closes the memory."""
        self._memory().close()


# Imported last: it builds on this module's conversions.
from .llama_index_db import FerromemDBChatStore  # noqa: E402
