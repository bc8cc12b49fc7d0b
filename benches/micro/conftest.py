"""Shared data for the per-call micro-benchmarks (pytest-benchmark; ``make bench`` saves a
baseline, ``make bench-compare`` fails on a slowdown against it).

The corpus is the LoCoMo dev turns (``../shared/locomo-dev`` by default, ``--data PATH`` to
point elsewhere; without them, the small LoCoMo sample in ``tests/data/tokens``). Everything is
seeded, so two runs time the same work.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

# One thread for the Rust engines: these benchmarks watch the cost of a call, and on a busy machine
# a second thread's scheduling (not the code) decides how long a parallel call takes.
os.environ.setdefault("RAYON_NUM_THREADS", "1")

BENCHES = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BENCHES))
from locomo import DEFAULT_DATA, load  # noqa: E402

SAMPLE = BENCHES.parent / "tests" / "data" / "tokens" / "locomo_turns.json"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--data", type=Path, default=DEFAULT_DATA, help="LoCoMo json directory")


@pytest.fixture(scope="session")
def turns(request: pytest.FixtureRequest) -> list[str]:
    """LoCoMo turn texts, in conversation order."""
    data: Path = request.config.getoption("--data")
    if data.is_dir() and any(data.glob("*.json")):
        return [t.text for t in load(data)[0]]
    texts: list[str] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return texts


@pytest.fixture(scope="session")
def corpus(turns: list[str]) -> list[str]:
    """10,000 messages: the turns repeated, each copy with a distinct suffix."""
    out: list[str] = []
    copy = 0
    while len(out) < 10_000:
        out.extend(t + (f" #{copy}" if copy else "") for t in turns[: 10_000 - len(out)])
        copy += 1
    return out


@pytest.fixture(scope="session")
def queries(turns: list[str]) -> list[str]:
    """Short queries made of words from the turns (a few per turn, seeded)."""
    rng = np.random.default_rng(7)
    out = []
    for t in turns[:: max(1, len(turns) // 200)]:
        words = [w.strip(".,!?") for w in t.split() if len(w) > 3]
        if words:
            out.append(" ".join(rng.choice(words, size=min(3, len(words)), replace=False)))
    return out


@pytest.fixture(scope="session")
def vectors() -> np.ndarray:
    """5,000 clustered unit vectors of 384 dimensions (50 centres, noise 0.35), seeded."""
    rng = np.random.default_rng(14)
    centres = rng.standard_normal((50, 384)).astype(np.float32)
    points = centres[rng.integers(0, 50, 5_000)] + 0.35 * rng.standard_normal((5_000, 384))
    points = points.astype(np.float32)
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points
