"""Every code example of the two seeds runs on ferromem as written: only its import lines change.

How an example runs: its text (``tests/seed_examples.py``, copied verbatim from the seeds) has
its ``from niflheim_x import ...`` / ``from phidata... import ...`` lines rewritten to import
the same names from ``ferromem.aio`` (Niflheim-X is async-first: ``await
memory.add_message(...)``) or ``ferromem`` (Phidata is sync), and a check asserts that no other
line changed. It is then compiled with top-level ``await`` allowed, as a notebook runs it, in a
namespace holding what the reader has by that point of the page (earlier imports, ``llm``) and
these stand-ins, which replace only what would reach the network:

- ``Agent``: the seeds' agent, reduced to what touches memory (each turn stores the user's
  message, reads the context back, answers from it without an LLM, and stores the answer);
- ``VectorMemory(provider=..., api_key=...)`` (Niflheim-X), ``OpenAIEmbedder`` and
  ``SummaryMemory(summarizer_model=...)`` (Phidata): those arguments name remote models, so the
  stand-ins are ferromem's classes with a local embedder or summariser instead.

Every example runs in a fresh temporary directory (the seeds write ``./conversations.db`` and
the like). Nothing here needs a network, an API key or a Redis server: the ``RedisMemory``
examples only construct the memory, and ferromem connects on the first call.
"""

from __future__ import annotations

import ast
import asyncio
import base64
import inspect
import json
import logging
import os
import re
import sqlite3
import time
import zlib
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional  # noqa: UP035 - the seeds' annotations use them

import pytest

import ferromem
import ferromem.aio
from ferromem import Attachment, Message
from ferromem.embedders import HashingEmbedder

from .seed_examples import NIFLHEIM, PHIDATA

# ----------------------------------------------------------------------------- stand-ins


class EchoLLM:
    """Stands in for the seeds' LLM: answers from the memory's context, deterministically."""

    def complete(self, context: str, text: str) -> str:
        lines = [line for line in context.splitlines() if line.strip()]
        return f"(answer to {text!r} from {len(lines)} lines of memory)"


def _attachment(item: Any) -> Attachment:
    """The seed passes ``attachments=["report.pdf"]``: a path, read when it exists."""
    if isinstance(item, Attachment):
        return item
    path = Path(item)
    kind = "image" if path.suffix.lower() in (".png", ".jpg", ".jpeg", ".gif") else "file"
    if path.is_file():
        return Attachment(kind, path.read_bytes(), uri=str(item))
    return Attachment(kind, str(item))


class Agent:
    """The seeds' ``Agent`` reduced to what touches memory (see the module docs).

    ``chat`` (Niflheim-X) awaits the memory's methods; ``run`` (Phidata) calls them."""

    def __init__(
        self,
        name: str,
        llm: EchoLLM | None = None,
        memory: Any = None,
        *,
        instructions: str | None = None,
        model: str | None = None,
    ) -> None:
        self.name = name
        self.llm = llm or EchoLLM()
        self.memory = memory
        self.instructions = instructions
        self.model = model
        self.contexts: list[str] = []

    async def chat(self, text: str, attachments: list[Any] | None = None) -> str:
        memory = self.memory
        if attachments:
            await memory.add_message(
                Message("user", text), attachments=[_attachment(a) for a in attachments]
            )
        else:
            await memory.add_message(Message("user", text))
        if getattr(memory, "sync", None) is not None:  # a ferromem.aio memory
            context = await memory.get_context(text)
        else:  # a user's backend with only the seed's methods
            found = await memory.search_messages(text)
            context = "\n".join(f"{m.role}: {m.content}" for m in found)
        self.contexts.append(context)
        reply = self.llm.complete(context, text)
        await memory.add_message(Message("assistant", reply))
        return reply

    def run(self, text: str) -> str:
        self.memory.add_message("user", text)
        context = self.memory.get_context(text)
        self.contexts.append(context)
        reply = self.llm.complete(context, text)
        self.memory.add_message("assistant", reply)
        return reply


class VectorMemory(ferromem.aio.VectorMemory):
    """Niflheim-X's ``VectorMemory(provider=..., api_key=..., index_name=...)``: the provider is
    a remote embedding service, so a local hashing embedder of the same dimension embeds here;
    the other remote settings are only recorded."""

    def __init__(
        self,
        provider: str = "openai",
        api_key: str | None = None,
        index_name: str | None = None,
        dimension: int = 1536,
        similarity_threshold: float = 0.0,
        *,
        model: str | None = None,
        environment: str | None = None,
        metric: str = "cosine",
        max_results: int = 10,
    ) -> None:
        super().__init__(
            HashingEmbedder(dimension),
            dimension=dimension,
            metric=metric,
            similarity_threshold=similarity_threshold,
            max_results=max_results,
        )
        self.remote = {"provider": provider, "index_name": index_name, "model": model}


class OpenAIEmbedder(HashingEmbedder):
    """Phidata's ``OpenAIEmbedder(api_key=...)``: 1536 dimensions, embedded locally."""

    def __init__(self, api_key: str | None = None, dimensions: int = 1536) -> None:
        super().__init__(dimensions)


class SummaryMemory(ferromem.SummaryMemory):
    """Phidata's ``SummaryMemory(summarizer_model=...)``: the model is remote, so ferromem's
    built-in extractive summariser summarises here."""

    def __init__(self, summarizer_model: str | None = None, summarize_after: int = 5) -> None:
        super().__init__(summarizer=None, summarize_after=summarize_after)
        self.summarizer_model = summarizer_model


# ----------------------------------------------------------------------------- running a block

_IMPORT = re.compile(r"^from (niflheim_x|phidata\.\w+) import (.+)$")
#: Names the test provides instead of importing them (see the module docs), per seed package.
STAND_INS = {
    "ferromem.aio": {"Agent", "VectorMemory"},
    "ferromem": {"Agent", "OpenAIEmbedder", "SummaryMemory"},
}
#: Phidata's base class is ferromem's.
ALIASES = {"Memory": "MemoryBackend"}


def rewrite_imports(source: str, package: str) -> str:
    """The example with its seed imports turned into ferromem imports (stand-ins dropped)."""
    out = []
    for line in source.splitlines():
        m = _IMPORT.match(line)
        if m is None:
            out.append(line)
            continue
        names = [n.strip() for n in m.group(2).split(",")]
        stand_ins = STAND_INS[package]
        kept = [f"{ALIASES[n]} as {n}" if n in ALIASES else n for n in names if n not in stand_ins]
        given = [n for n in names if n in stand_ins]
        line = f"from {package} import {', '.join(kept)}" if kept else ""
        if given:
            line += ("  " if line else "") + f"# stand-ins from the test: {', '.join(given)}"
        out.append(line)
    return "\n".join(out) + "\n"


def only_imports_changed(original: str, rewritten: str) -> bool:
    before, after = original.splitlines(), rewritten.splitlines()
    return len(before) == len(after) and all(
        a == b or _IMPORT.match(a) for a, b in zip(before, after, strict=True)
    )


def prelude(**names: Any) -> dict[str, Any]:
    """What the reader has by then: the page's imports so far, an ``llm``, the stand-ins."""
    ns: dict[str, Any] = {
        "__name__": "seed_example",
        # the standard library the examples use (some without importing it in their block)
        "os": os,
        "json": json,
        "time": time,
        "re": re,
        "zlib": zlib,
        "base64": base64,
        "sqlite3": sqlite3,
        "defaultdict": defaultdict,
        "contextmanager": contextmanager,
        "datetime": datetime,
        "Any": Any,
        "Dict": Dict,  # noqa: UP006
        "List": List,  # noqa: UP006
        "Optional": Optional,
        "logger": logging.getLogger("seed"),
        "llm": EchoLLM(),
        "Agent": Agent,
    }
    ns.update(names)
    return ns


def run_example(source: str, package: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Runs one example as a notebook cell (top-level ``await`` allowed); returns its names."""
    code_text = rewrite_imports(source, package)
    assert only_imports_changed(source, code_text)
    code = compile(code_text, "<seed example>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, namespace)
    if inspect.iscoroutine(result):
        asyncio.run(result)
    return namespace


def niflheim(title: str, **names: Any) -> dict[str, Any]:
    ns = prelude(
        DictMemory=ferromem.aio.DictMemory,
        SQLiteMemory=ferromem.aio.SQLiteMemory,
        RedisMemory=ferromem.aio.RedisMemory,
        MultiModalMemory=ferromem.aio.MultiModalMemory,
        MemoryBackend=ferromem.aio.MemoryBackend,
        Message=Message,
        VectorMemory=VectorMemory,
        **names,
    )
    return run_example(NIFLHEIM[title], "ferromem.aio", ns)


def phidata(title: str, **names: Any) -> dict[str, Any]:
    ns = prelude(
        Memory=ferromem.MemoryBackend,  # imported by earlier examples of the page
        OpenAIEmbedder=OpenAIEmbedder,
        SummaryMemory=SummaryMemory,
        **names,
    )
    return run_example(PHIDATA[title], "ferromem", ns)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


# ----------------------------------------------------------------------------- the rewriting


def test_every_example_is_covered() -> None:
    tested = {
        name.removeprefix("test_niflheim_").removeprefix("test_phidata_")
        for name in globals()
        if name.startswith(("test_niflheim_", "test_phidata_"))
    }
    titles = {_slug(t) for t in (*NIFLHEIM, *PHIDATA)}
    assert titles <= tested, titles - tested


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")


def test_rewrite_changes_only_import_lines() -> None:
    src = "from niflheim_x import DictMemory, Agent\nmemory = DictMemory()\n"
    out = rewrite_imports(src, "ferromem.aio")
    assert out.splitlines()[0].startswith("from ferromem.aio import DictMemory  #")
    assert out.splitlines()[1] == "memory = DictMemory()"
    assert only_imports_changed(src, out)
    assert not only_imports_changed(src, out.replace("DictMemory()", "DictMemory(1)"))


# ----------------------------------------------------------------------------- Niflheim-X


def test_niflheim_dictmemory_simple_in_memory_storage() -> None:
    ns = niflheim("DictMemory - Simple In-Memory Storage")
    memory, agent = ns["memory"], ns["agent"]
    assert isinstance(memory, ferromem.aio.DictMemory) and memory.max_messages == 100
    _run(agent.chat("Hello, I am Ada"))
    assert [m.role for m in _run(memory.get_messages())] == ["user", "assistant"]


def test_niflheim_sqlitememory_persistent_local_storage() -> None:
    ns = niflheim("SQLiteMemory - Persistent Local Storage")
    _run(ns["agent"].chat("Remember that my cat is called Tom"))
    _run(ns["memory"].close())
    again = ferromem.SQLiteMemory("./conversations.db", session_id="user_123")
    assert "cat is called Tom" in again.get_messages()[0].content
    again.close()


def test_niflheim_vectormemory_semantic_search() -> None:
    ns = niflheim("VectorMemory - Semantic Search")
    memory = ns["memory"]
    assert memory.remote["index_name"] == "conversations"
    _run(ns["agent"].chat("I need help with Python lists"))
    assert _run(memory.search_messages("I need help with Python lists"))  # threshold 0.8


def test_niflheim_redismemory_distributed_cache() -> None:
    ns = niflheim("RedisMemory - Distributed Cache")
    memory = ns["memory"]
    assert memory.session_id == "session_456" and memory.bound and memory.ttl == 3600


def test_niflheim_basic_configuration() -> None:
    ns = niflheim("Basic Configuration")
    assert isinstance(ns["memory"], ferromem.aio.RedisMemory)
    assert Path("data/conversations.db").is_file()  # the SQLite example created its directory


def test_niflheim_advanced_configuration() -> None:
    ns = niflheim("Advanced Configuration")
    memory = ns["memory"]  # the cluster: nothing connects before the first call
    assert memory.session_id == "distributed_session" and memory.ttl == 7200
    sqlite = ferromem.SQLiteMemory(
        "./conversations.db", session_id="user_123", encryption_key="secret", compression=True
    )
    sqlite.add_message("user", "kept encrypted")
    assert b"kept encrypted" not in Path("conversations.db").read_bytes()
    sqlite.close()


def test_niflheim_session_management() -> None:
    ns = niflheim("Session Management")
    assert ns["response"].startswith("(answer to 'Hello!'")
    memory = ns["user_agent"].memory
    assert _run(memory.get_messages())[0].content == "Hello!"
    assert Path("data/user_user_123.db").is_file()


def test_niflheim_context_aware_retrieval() -> None:
    ns = niflheim("Context-Aware Retrieval")
    agent = ns["agent"]
    assert "Python lists" in agent.contexts[-1]  # the earlier turn came back as context


def test_niflheim_multi_modal_memory() -> None:
    Path("report.pdf").write_bytes(b"%PDF-1.4 Q3 sales grew by 12 percent")
    ns = niflheim("Multi-Modal Memory")
    memory, agent = ns["memory"], ns["agent"]
    assert "[file: report.pdf]" in agent.contexts[-1]
    first = _run(memory.get_messages())[0]
    (att,) = _run(memory.get_attachments(first, load=True))
    assert att.data == Path("report.pdf").read_bytes() and att.mime == "application/pdf"
    with sqlite3.connect("files.db") as db:  # the bytes went to the file backend, once
        assert db.execute("SELECT count(*) FROM ferromem_blobs").fetchone()[0] == 1


def test_niflheim_custom_memory_backends() -> None:
    ns = niflheim("Custom Memory Backends")
    memory = ns["custom_memory"]
    assert isinstance(memory, ferromem.aio.MemoryBackend)
    _run(memory.add_message(Message("user", "I like Python", session_id="s1")))
    assert [m.content for m in _run(memory.search_messages("python", session_id="s1"))] == [
        "I like Python"
    ]
    _run(ns["agent"].chat("hello there"))
    _run(memory.clear_session("s1"))
    assert _run(memory.get_messages("s1")) == []


def _busy_memory() -> ferromem.aio.DictMemory:
    memory = ferromem.aio.DictMemory()
    _run(memory.add_message(Message("user", "hi", session_id="user_123")))
    _run(memory.add_message(Message("user", "hello")))
    return memory


def test_niflheim_memory_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    niflheim("Memory Metrics", memory=_busy_memory())
    out = capsys.readouterr().out
    assert "Total messages: 2" in out and "Active sessions: 2" in out
    assert "Session messages: 1" in out


def test_niflheim_memory_cleanup() -> None:
    ns = niflheim("Memory Cleanup")
    memory = ns["memory"]
    assert memory.max_age_days == 30 and memory.max_messages == 1000


def test_niflheim_choose_the_right_backend() -> None:
    ns = niflheim("Choose the Right Backend")
    assert ns["memory"].remote["provider"] == "pinecone"
    assert Path("app_data.db").is_file()


def test_niflheim_manage_memory_size() -> None:
    ns = niflheim("Manage Memory Size")
    memory = ns["memory"]
    assert memory.max_messages == 500 and memory.cleanup_threshold == 600


def test_niflheim_handle_sessions_properly() -> None:
    ns = niflheim("Handle Sessions Properly", user_id="42")
    assert ns["session_id"].startswith("user_42_")
    assert Path("data.db").is_file()


def test_niflheim_error_handling() -> None:
    memory = ferromem.aio.DictMemory()
    ns = niflheim("Error Handling", memory=memory, message=Message("user", "stored once"))
    assert "fallback_memory" not in ns  # no error: the first memory took it
    assert [m.content for m in _run(memory.get_messages())] == ["stored once"]


# ----------------------------------------------------------------------------- Phidata


def test_phidata_buffer_memory(capsys: pytest.CaptureFixture[str]) -> None:
    ns = phidata("Buffer Memory")
    agent = ns["buffer_agent"]
    assert isinstance(agent.memory, ferromem.BufferMemory)
    assert "Alice" in agent.contexts[2]  # "What's my name" saw the first turn
    assert "User: Can you recommend" in capsys.readouterr().out


def test_phidata_conversation_summary_memory() -> None:
    ns = phidata("Conversation Summary Memory")
    summary = ns["summary_agent"].memory.get_summary()
    assert isinstance(summary, str) and summary


def test_phidata_vector_memory_for_semantic_search() -> None:
    ns = phidata("Vector Memory for Semantic Search")
    memory = ns["vector_memory"]
    assert len(memory.get_messages()) == 2 * (6 + 5)


def test_phidata_hierarchical_memory_system() -> None:
    ns = phidata("Hierarchical Memory System")
    assert len(ns["hierarchical_agent"].memory.short_term) == 10


def test_phidata_file_based_memory_storage() -> None:
    ns = phidata("File-Based Memory Storage")
    assert Path("persistent_memory/memory.json").is_file()
    assert "Alice" in ns["persistent_agent2"].contexts[0]


def test_phidata_database_backed_memory() -> None:
    ns = phidata("Database-Backed Memory")
    assert ns["stats"]["message_count"] == 0  # the seed's agent writes to "default"


def test_phidata_memory_compression() -> None:
    ns = phidata("Memory Compression")
    assert ns["compressed_agent"].memory.compressed_messages


def test_phidata_memory_indexing_and_search(capsys: pytest.CaptureFixture[str]) -> None:
    phidata("Memory Indexing and Search")
    assert "Search: 'Python'" in capsys.readouterr().out


# ----------------------------------------------------------------------------- ferromem's own
# The Phidata page defines its own memory classes; ferromem ships classes of the same names.
# Here the page's code that *uses* them runs on ferromem's classes (the definition left out).


def usage_only(title: str, class_name: str) -> str:
    """The example without its ``class <class_name>(Memory):`` definition."""
    lines = PHIDATA[title].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"class {class_name}("))
    end = next(
        i
        for i in range(start + 1, len(lines))
        if lines[i].strip() and not lines[i].startswith((" ", "\t"))
    )
    return "\n".join(lines[:start] + lines[end:]) + "\n"


def _on_ferromem(title: str, class_name: str, cls: Callable[..., Any]) -> dict[str, Any]:
    source = usage_only(title, class_name)
    ns = prelude(**{class_name: cls})
    exec(compile(rewrite_imports(source, "ferromem"), "<seed usage>", "exec"), ns)
    return ns


def test_phidata_persistent_memory_usage_on_ferromem() -> None:
    ns = _on_ferromem("File-Based Memory Storage", "PersistentMemory", ferromem.PersistentMemory)
    assert Path("persistent_memory/memory.json").is_file()
    second = ns["persistent_agent2"]
    assert "I'm Alice, a software developer" in second.contexts[0]
    memory = ferromem.PersistentMemory("./persistent_memory")
    memory.clear_memory()
    assert memory.get_context() == "No conversation history available."


def test_phidata_database_memory_usage_on_ferromem() -> None:
    ns = _on_ferromem("Database-Backed Memory", "DatabaseMemory", ferromem.SQLiteMemory)
    stats = ns["stats"]
    assert stats["summary"] == "Completed database advice conversation"
    assert stats["started"] is not None and stats["ended"] >= stats["started"]
    assert "user_session_123" in ns["db_memory_agent"].memory.list_sessions()


def test_phidata_hierarchical_memory_usage_on_ferromem() -> None:
    ns = _on_ferromem(
        "Hierarchical Memory System", "HierarchicalMemory", ferromem.HierarchicalMemory
    )
    assert "Python" in ns["hierarchical_agent"].memory.get_context("preferred language")


def test_phidata_indexed_memory_usage_on_ferromem(capsys: pytest.CaptureFixture[str]) -> None:
    ns = _on_ferromem("Memory Indexing and Search", "IndexedMemory", ferromem.IndexedMemory)
    assert "I love programming in Python" in capsys.readouterr().out
    assert "Python" in ns["indexed_agent"].memory.search_messages("Python", limit=2)[0]["content"]


def test_messages_read_as_the_seeds_read_dicts() -> None:
    m = Message("user", "hi", metadata={"k": 1})
    assert (m["role"], m["content"], m["metadata"]) == ("user", "hi", {"k": 1})
    with pytest.raises(KeyError):
        m["nope"]
    with pytest.raises(TypeError):
        iter(m)  # type: ignore[call-overload]
