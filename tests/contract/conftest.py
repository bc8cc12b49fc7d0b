from __future__ import annotations

from pathlib import Path

import pytest

from .backends import BACKENDS, Factory


@pytest.fixture(params=sorted(BACKENDS))
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_memory(backend_name: str, tmp_path: Path) -> Factory:
    return BACKENDS[backend_name](tmp_path)


@pytest.fixture
def memory(make_memory: Factory):  # type: ignore[no-untyped-def]
    mem = make_memory(session_id="alice")
    yield mem
    mem.close()
