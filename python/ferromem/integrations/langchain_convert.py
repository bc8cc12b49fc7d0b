"""LangChain messages to ferromem messages and back, losslessly.

A LangChain message becomes a :class:`~ferromem.Message` whose ``content`` is its text (the
text parts of a list content, joined, so that search finds it) and whose ``metadata`` keeps
under ``"langchain"`` everything else the message carries (its type, list content, tool calls,
``additional_kwargs``, ``response_metadata``, name, id...), JSON-ready: reading it back gives an
equal message. Messages that ferromem stored from elsewhere (no ``"langchain"`` entry) come back
by their role: user, assistant, system, or a ``ChatMessage`` with that role.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidArgumentError, InvalidTypeError
from ..message import Message
from . import missing_extra

try:
    from langchain_core.messages import (
        AIMessage,
        BaseMessage,
        BaseMessageChunk,
        ChatMessage,
        FunctionMessage,
        HumanMessage,
        SystemMessage,
        ToolMessage,
        message_chunk_to_message,
    )
except ImportError as e:
    raise missing_extra("ferromem.integrations.langchain", "langchain", e) from e

__all__ = ["KEY", "from_langchain", "to_langchain"]

#: The metadata entry that keeps what a LangChain message carries beside its text.
KEY = "langchain"

_CLASSES: dict[str, type[BaseMessage]] = {
    "human": HumanMessage,
    "ai": AIMessage,
    "system": SystemMessage,
    "chat": ChatMessage,
    "function": FunctionMessage,
    "tool": ToolMessage,
}
_ROLES = {"human": "user", "ai": "assistant", "system": "system", "function": "function"}
_BY_ROLE: dict[str, type[BaseMessage]] = {
    "user": HumanMessage,
    "human": HumanMessage,
    "assistant": AIMessage,
    "ai": AIMessage,
    "system": SystemMessage,
}


def _text_of(content: str | list[str | dict[str, Any]]) -> str:
    """The searchable text of a message content: the string, or its text parts joined."""
    if isinstance(content, str):
        return content
    parts = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, Mapping) and isinstance(block.get("text"), str):
            parts.append(block["text"])
    return "\n".join(parts)


def from_langchain(message: object, *, session_id: str) -> Message:
    """The ferromem message for one LangChain message (refusing what cannot be stored)."""
    if not isinstance(message, BaseMessage):
        raise InvalidTypeError(
            f"a LangChain chat history stores BaseMessage objects, not {type(message).__name__}"
        )
    if isinstance(message, BaseMessageChunk):
        message = message_chunk_to_message(message)
    cls = _CLASSES.get(message.type)
    if cls is None or not isinstance(message, cls):
        raise InvalidTypeError(
            f"ferromem cannot store a {type(message).__name__} (message type {message.type!r}); "
            f"it stores {', '.join(c.__name__ for c in _CLASSES.values())} and their chunks"
        )
    data = message.model_dump(exclude_defaults=True)
    data.pop("type", None)
    content = data.get("content", "")
    if isinstance(content, str):
        data.pop("content", None)
    try:
        json.dumps(data, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(
            f"a {type(message).__name__} carries a value that is not JSON ({e}); "
            "ferromem stores message fields as JSON"
        ) from None
    role = message.role if isinstance(message, ChatMessage) else _ROLES.get(message.type)
    return Message(
        role or message.type,
        _text_of(message.content),
        session_id=session_id,
        metadata={KEY: {"type": message.type, **data}},
    )


def to_langchain(message: Message) -> BaseMessage:
    """The LangChain message a ferromem message holds (see the module docs)."""
    stored = message.metadata.get(KEY)
    if isinstance(stored, Mapping) and stored.get("type") in _CLASSES:
        data = dict(stored)
        cls = _CLASSES[data.pop("type")]
        data.setdefault("content", message.content)
        return cls(**data)
    by_role = _BY_ROLE.get(message.role)
    if by_role is not None:
        return by_role(content=message.content)
    return ChatMessage(role=message.role, content=message.content)
