"""An MCP server over a ferromem memory: ``ferromem mcp --db PATH`` serves a SQLite memory over
stdio with the official ``mcp`` SDK (``pip install 'ferromem[mcp]'``).

Tools: ``remember`` (store a message), ``recall`` (search), ``context`` (prompt-ready text
within a token budget), ``forget`` (delete by ids, or a whole session) and ``list_sessions``.
A refused request (a bad argument, a bad filter) comes back as a tool error whose text says why;
the server keeps running.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from .. import __version__
from ..base import MemoryBackend
from ..errors import FerromemError, InvalidArgumentError
from ..message import ALL_SESSIONS, AllSessions, Hit, Message
from . import missing_extra

try:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
except ImportError as e:
    raise missing_extra("ferromem.integrations.mcp", "mcp", e) from e

__all__ = ["build_server", "serve"]

F = TypeVar("F", bound=Callable[..., Any])

INSTRUCTIONS = (
    "Long-term memory. Call `remember` to store a fact or a conversation turn, `recall` to find "
    "what was stored about a topic, `context` for a prompt-ready summary of a session within a "
    "token budget, `forget` to delete, and `list_sessions` to see the sessions."
)


def _refusals_as_tool_errors(fn: F) -> F:
    """A ferromem refusal becomes a tool error with its message (not a server fault)."""

    @wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except FerromemError as e:
            raise ToolError(f"{type(e).__name__}: {e}") from e

    return run  # type: ignore[return-value]


def _message(m: Message) -> dict[str, Any]:
    return {
        "id": m.id,
        "session_id": m.session_id,
        "role": m.role,
        "content": m.content,
        "timestamp": m.timestamp,
        "metadata": dict(m.metadata),
    }


def _hit(h: Hit) -> dict[str, Any]:
    return {**_message(h.message), "score": h.score}


def _scope(session_id: str | None) -> str | AllSessions:
    return session_id if session_id is not None else ALL_SESSIONS


def build_server(memory: MemoryBackend, *, name: str = "ferromem") -> MCPServer[Any]:
    """An MCP server whose tools read and write ``memory`` (see the module docs)."""
    server: MCPServer[Any] = MCPServer(name, instructions=INSTRUCTIONS, version=__version__)

    @server.tool()
    @_refusals_as_tool_errors
    def remember(
        content: str,
        session_id: str = "default",
        role: str = "user",
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Store a message (a fact, a note or a conversation turn) in a session; returns its id."""
        ids = memory.add_messages(
            [Message(role, content, session_id=session_id, metadata=metadata)],
            session_id=session_id,
        )
        return {"id": ids[0], "session_id": session_id}

    @server.tool()
    @_refusals_as_tool_errors
    def recall(
        query: str,
        session_id: str | None = None,
        limit: int = 5,
        filters: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """The stored messages most relevant to `query`, best first (every session unless
        `session_id` is given; `filters` match metadata, e.g. {"topic": "db"})."""
        hits = memory.search(query, session_id=_scope(session_id), limit=limit, filters=filters)
        return [_hit(h) for h in hits]

    @server.tool()
    @_refusals_as_tool_errors
    def context(
        query: str | None = None, session_id: str = "default", max_tokens: int = 1000
    ) -> str:
        """Prompt-ready text of a session within `max_tokens`: its recent turns, plus the ones
        most relevant to `query` when given."""
        return memory.get_context(query, session_id=session_id, max_tokens=max_tokens)

    @server.tool()
    @_refusals_as_tool_errors
    def forget(ids: list[str] | None = None, session_id: str | None = None) -> dict[str, Any]:
        """Delete the messages with these ids (in `session_id`, or anywhere when not given),
        or, with only `session_id`, every message of that session. Returns how many went."""
        if ids is None:
            if session_id is None:
                raise InvalidArgumentError("forget needs ids, a session_id, or both")
            before = len(memory.get_messages(session_id))
            memory.clear_session(session_id)
            return {"removed": before}
        return {"removed": memory.delete_messages(ids, session_id=_scope(session_id))}

    @server.tool()
    @_refusals_as_tool_errors
    def list_sessions() -> list[dict[str, Any]]:
        """Every session with its number of messages."""
        return [
            {"session_id": sid, "messages": memory.store.count(sid)}
            for sid in memory.list_all_sessions()
        ]

    return server


def serve(db: str | os.PathLike[str]) -> None:
    """Serves the SQLite memory at ``db`` over stdio until the client disconnects."""
    from ..memories.sqlite import SQLiteMemory

    with SQLiteMemory(db) as memory:
        build_server(memory).run("stdio")
