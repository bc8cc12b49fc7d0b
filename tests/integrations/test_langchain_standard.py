"""LangChain's own standard suite (langchain-tests) run on FerromemVectorStore, sync and async,
over an in-process memory and over a SQLite file: no test skipped or overridden."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.vectorstores import VectorStore
from langchain_tests.integration_tests.vectorstores import VectorStoreIntegrationTests

from ferromem.integrations.langchain import FerromemVectorStore


class TestInProcessVectorStore(VectorStoreIntegrationTests):
    """The suite on the default store (VectorMemory)."""

    @pytest.fixture
    def vectorstore(self) -> Iterator[VectorStore]:
        store = FerromemVectorStore(self.get_embeddings())
        try:
            yield store
        finally:
            store.close()


class TestSQLiteVectorStore(VectorStoreIntegrationTests):
    """The suite on a durable store (SQLiteMemory with the vectors in the file)."""

    @pytest.fixture
    def vectorstore(self, tmp_path: Path) -> Iterator[VectorStore]:
        store = FerromemVectorStore(self.get_embeddings(), path=tmp_path / "vectors.db")
        try:
            yield store
        finally:
            store.close()
