"""Damaged files: every format mutated many times, each load in a child process. A load must be
a typed ferromem error or a correct load: never a signal, an abort, an untyped error or a silent
wrong load. A damaged index snapshot beside a good database is rebuilt from it (a correct load)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

import ferromem
from ferromem import Message
from ferromem.core import HnswIndex, KeywordIndex

from .damage import DAMAGE_FORMATS
from .formats import WORDS
from .harness import PYTHON, ROOT, row, scale

MUTATIONS = scale(40, 2000)


def _good_file(fmt: str, directory: Path) -> Path:
    """A small but real file of the format."""
    texts = [
        f"turn {i}: " + " ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(6))
        for i in range(40)
    ]
    msgs = [
        Message("user", t, session_id=f"s{i % 3}", metadata={"i": i}, timestamp=1e9 + i)
        for i, t in enumerate(texts)
    ]
    path = directory / f"good.{fmt}"
    if fmt == "keyword-snapshot":
        kw = KeywordIndex()
        kw.add(list(range(len(texts))), texts, groups=[f"s{i % 3}" for i in range(len(texts))])
        kw.save(path)
    elif fmt == "hnsw-snapshot":
        h = HnswIndex(16, M=8)
        vecs = np.random.default_rng(1).standard_normal((200, 16)).astype(np.float32)
        h.add(np.arange(200, dtype=np.uint64), vecs)
        h.save(path)
    elif fmt == "memory-save":
        mem = ferromem.IndexedMemory()
        mem.add_messages(msgs, session_id=ferromem.ALL_SESSIONS)
        mem.save(path)
    else:
        if fmt == "json":
            mem2: ferromem.MemoryBackend = ferromem.JSONFileMemory(path)
        elif fmt == "sqlite-encrypted":
            mem2 = ferromem.SQLiteMemory(path, encryption_key="reliability")
        elif fmt == "sqlite-sidecar":
            mem2 = ferromem.SQLiteMemory(
                path, embedder=ferromem.embedders.HashingEmbedder(64), hybrid=False
            )
        else:
            mem2 = ferromem.SQLiteMemory(path)
        mem2.add_messages(msgs, session_id=ferromem.ALL_SESSIONS)
        mem2.close()
    return path


@pytest.mark.parametrize("fmt", DAMAGE_FORMATS)
def test_damaged_files_are_refused_or_loaded_right(fmt: str, tmp_path: Path) -> None:
    good = _good_file(fmt, tmp_path)
    tally = row(f"damaged files: {fmt}")
    failures: list[str] = []
    first = 0
    while first < MUTATIONS:
        proc = subprocess.run(
            [PYTHON, "-m", "tests.reliability.damage", fmt, str(good), str(first),
             str(MUTATIONS - first), "7"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=3600,
        )  # fmt: skip
        started = None
        for line in proc.stdout.splitlines():
            event = json.loads(line)
            if "start" in event:
                started = event["start"]
                continue
            started = None
            tally.tried += 1
            if event["verdict"] in ("typed", "equal"):
                tally.passed += 1
            else:
                failures.append(json.dumps(event))
                if event["verdict"] == "wrong":
                    tally.lost += 1
                else:
                    tally.crashed += 1
        if proc.returncode == 0:
            break
        # The child died during a load: that mutation crashed it; go on after it.
        assert started is not None, f"the loader died outside a load: {proc.stderr[-1000:]}"
        tally.tried += 1
        tally.crashed += 1
        failures.append(
            f"mutation {started} killed the loader ({proc.returncode}): {proc.stderr[-500:]}"
        )
        first = started + 1
    assert tally.tried >= MUTATIONS
    assert not failures, "\n".join(failures[:10])
