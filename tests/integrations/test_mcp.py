"""``ferromem mcp --db PATH`` driven by the official MCP SDK's client over stdio."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from ferromem import SQLiteMemory


def server(db: Path) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable, args=["-m", "ferromem.cli", "mcp", "--db", str(db)]
    )


async def call(session: ClientSession, tool: str, **arguments: Any) -> Any:
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result.content
    content = result.structured_content
    assert content is not None
    return content.get("result", content)


async def test_the_sdk_client_drives_every_tool(tmp_path: Path) -> None:
    db = tmp_path / "agent.db"
    async with stdio_client(server(db)) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert set(tools) == {"remember", "recall", "context", "forget", "list_sessions"}
        assert all(t.description for t in tools.values())

        first = await call(
            session, "remember", content="Ada prefers PostgreSQL for analytics", session_id="ada",
            metadata={"topic": "db"},
        )  # fmt: skip
        await call(session, "remember", content="Ada climbs on Sundays", session_id="ada")
        await call(session, "remember", content="Bob prefers SQLite", session_id="bob")

        hits = await call(session, "recall", query="prefers PostgreSQL", limit=5)
        assert hits[0]["id"] == first["id"] and hits[0]["session_id"] == "ada"
        assert hits[0]["score"] >= hits[-1]["score"]
        only_bob = await call(session, "recall", query="prefers", session_id="bob")
        assert [h["content"] for h in only_bob] == ["Bob prefers SQLite"]
        tagged = await call(session, "recall", query="prefers", filters={"topic": "db"})
        assert [h["id"] for h in tagged] == [first["id"]]

        text = await call(session, "context", query="database", session_id="ada", max_tokens=30)
        assert "PostgreSQL" in text

        sessions = await call(session, "list_sessions")
        assert sessions == [
            {"session_id": "ada", "messages": 2},
            {"session_id": "bob", "messages": 1},
        ]
        assert await call(session, "forget", ids=[first["id"]]) == {"removed": 1}
        assert await call(session, "forget", session_id="bob") == {"removed": 1}
        assert await call(session, "recall", query="prefers") == []

        # A refused request is a tool error that says why; the server keeps serving.
        bad = await session.call_tool("recall", {"query": "x", "filters": {"k": {"$near": 1}}})
        assert bad.is_error and "$near" in str(bad.content)
        missing = await session.call_tool("forget", {})
        assert missing.is_error and "needs ids" in str(missing.content)
        assert await call(session, "list_sessions") == [{"session_id": "ada", "messages": 1}]

    # What the server stored is in the database for any other ferromem program.
    with SQLiteMemory(db) as memory:
        assert [m.content for m in memory.get_messages("ada")] == ["Ada climbs on Sundays"]


async def test_memories_outlive_the_server(tmp_path: Path) -> None:
    db = tmp_path / "agent.db"
    async with stdio_client(server(db)) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        await call(session, "remember", content="the launch code word is heron")
    async with stdio_client(server(db)) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        hits = await call(session, "recall", query="launch code word")
        assert hits[0]["content"] == "the launch code word is heron"
