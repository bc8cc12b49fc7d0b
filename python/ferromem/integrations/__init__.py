"""Adapters that keep an agent framework's memory in ferromem (each an optional extra).

* :mod:`ferromem.integrations.langchain`: ``FerromemChatMessageHistory`` and
  ``FerromemVectorStore`` (``pip install 'ferromem[langchain]'``).
* :mod:`ferromem.integrations.langgraph`: ``FerromemStore``, a LangGraph ``BaseStore``
  (``ferromem[langgraph]``).
* :mod:`ferromem.integrations.llama_index`: ``FerromemChatStore`` for LlamaIndex's chat memory
  (``ferromem[llama-index]``).
* :mod:`ferromem.integrations.mcp`: the MCP server behind ``ferromem mcp --db PATH``
  (``ferromem[mcp]``).

Importing an adapter whose framework is not installed raises an :class:`ImportError` that
names the extra to install.
"""

from __future__ import annotations

__all__ = ["missing_extra"]


def missing_extra(module: str, extra: str, cause: ImportError) -> ImportError:
    """The error raised when ``module`` cannot import its framework: it names the extra."""
    missing = cause.name or "a dependency"
    return ImportError(
        f"{module} needs {missing}, which is not installed: pip install 'ferromem[{extra}]'",
        name=cause.name,
    )
