"""Crash loops: a writer SIGKILLed at random moments, again and again, on every durable format.

After every kill, a fresh process opens what is on disk (or in Redis): every acknowledged write
must be there, nothing twice, and the store must open. Writers resume on what the last one left,
so a kill also lands during recovery and during snapshot saves.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from ..redis_server import RedisServer
from .formats import FORMATS
from .harness import PYTHON, ROOT, row, scale

KILLS = scale(3, 200)


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PYTHON, "-m", "tests.reliability.formats", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _verify(fmt: str, where: str) -> dict[str, object]:
    proc = _spawn("verify", fmt, where)
    out, err = proc.communicate(timeout=300)
    if proc.returncode != 0:
        return {"crash": proc.returncode, "stderr": err[-2000:]}
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def aof_server():
    server = RedisServer(persistent=True)
    yield server
    server.stop()


@pytest.mark.parametrize("fmt", FORMATS)
def test_kill_the_writer_again_and_again(fmt: str, tmp_path: Path, request) -> None:
    if fmt == "redis-aof":
        server = request.getfixturevalue("aof_server")
        where = server.url
    else:
        where = str(tmp_path / f"store.{fmt}")
    tally = row(f"crash loop: {fmt}")
    rng = random.Random(fmt)
    acked: list[str] = []
    failures: list[str] = []
    for round_ in range(KILLS):
        writer = _spawn("write", fmt, where, str(round_ + 1))
        assert writer.stdout is not None
        seen = [writer.stdout.readline()]  # "ready": the store is open, writes begin
        if round_ % 2 == 0:
            # Every other round waits for a first acknowledged write (however loaded the
            # machine), so that the loop always tests something; the others may kill the
            # writer anywhere, recovery and opening included.
            seen.append(writer.stdout.readline())
        if seen[-1]:
            time.sleep(rng.uniform(0.0, 0.3))
        writer.send_signal(signal.SIGKILL)
        out, err = writer.communicate(timeout=60)
        out = "".join(seen) + out
        if writer.returncode != -signal.SIGKILL:
            failures.append(f"round {round_}: writer ended with {writer.returncode}: {err[-500:]}")
            tally.crashed += 1
            continue
        for line in out.splitlines():
            if line.startswith("ack "):
                acked.extend(line.split()[1:])
        tally.tried += 1
        found = _verify(fmt, where)
        if "crash" in found:
            tally.crashed += 1
            failures.append(f"round {round_}: reader crashed: {found}")
            continue
        if "error" in found:
            failures.append(f"round {round_}: reader refused the store: {found}")
            tally.crashed += 1
            continue
        ids = found["ids"]
        assert isinstance(ids, list)
        have = set(ids)
        lost = [a for a in acked if a not in have]
        dup = [i for i, c in Counter(ids).items() if c > 1]
        contents = found.get("contents")
        if isinstance(contents, list):
            dup += [c for c, k in Counter(contents).items() if k > 1]
        tally.lost += len(lost)
        tally.duplicated += len(dup)
        if lost or dup:
            failures.append(f"round {round_}: lost {lost[:5]} duplicated {dup[:5]}")
        else:
            tally.passed += 1
    assert not failures, "\n".join(failures[:10])
    assert len(acked) > 0, "the writers acknowledged nothing: nothing was tested"
