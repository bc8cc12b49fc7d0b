"""Threads and processes: 8 threads per memory, 4 processes per SQLite file, 2 forked Redis
workers. The result must equal a serial model: every acknowledged write there once, searches
finding what is there."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import Counter
from pathlib import Path

import pytest

import ferromem
from ferromem import ALL_SESSIONS, Message

from ..contract.backends import BACKENDS
from ..redis_server import shared_redis_url
from .harness import row, scale

PER_THREAD = scale(25, 200)


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_eight_threads_on_one_memory(name: str, tmp_path: Path) -> None:
    mem = BACKENDS[name](tmp_path)(session_id="t0")
    tally = row(f"8 threads: {name}")
    acked: list[list[str]] = [[] for _ in range(8)]
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(PER_THREAD):
                sid = f"t{t}"
                mid = mem.add_message("user", f"thread {t} note {i} zebra{t}", session_id=sid)
                acked[t].append(mid)
                if i % 5 == 0:
                    hits = mem.search(f"zebra{t}", session_id=sid, limit=3)
                    assert all(h.message.session_id == sid for h in hits)
                if i % 7 == 3:
                    assert mem.delete_message(acked[t].pop(0), session_id=sid)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tally.tried += 1
    if errors:
        tally.crashed += 1
        raise errors[0]
    stored = [m.id for m in mem.get_messages(ALL_SESSIONS)]
    expected = {x for ids in acked for x in ids}
    tally.lost += len(expected - set(stored))
    tally.duplicated += sum(c - 1 for c in Counter(stored).values() if c > 1)
    assert set(stored) == expected and len(stored) == len(expected)
    for t in range(8):
        hits = {h.message.id for h in mem.search(f"zebra{t}", session_id=f"t{t}", limit=1000)}
        assert set(acked[t]) <= hits, "every stored turn is found by its word"
    tally.passed += 1
    mem.close()


def _sqlite_worker(path: str, worker: int, n: int, out: multiprocessing.Queue) -> None:
    mem = ferromem.SQLiteMemory(path, embedder=ferromem.embedders.HashingEmbedder(64), hybrid=True)
    ids = []
    for i in range(0, n, 5):
        ids += mem.add_messages(
            [Message("user", f"proc {worker} note {i + j} yak{worker}") for j in range(5)],
            session_id=f"p{worker}",
        )
        mem.search(f"yak{(worker + 1) % 4}", session_id=ALL_SESSIONS, limit=5)
    mem.close()
    out.put((worker, ids))


def test_four_processes_on_one_sqlite_file(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    ferromem.SQLiteMemory(
        path, embedder=ferromem.embedders.HashingEmbedder(64), hybrid=True
    ).close()
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = ctx.Queue()
    n = scale(20, 200)
    procs = [ctx.Process(target=_sqlite_worker, args=(path, w, n, out)) for w in range(4)]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=600) for _ in procs)
    for p in procs:
        p.join(60)
    tally = row("4 processes: sqlite (vector + keyword)")
    tally.tried += 1
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    mem = ferromem.SQLiteMemory(path, embedder=ferromem.embedders.HashingEmbedder(64), hybrid=True)
    stored = [m.id for m in mem.get_messages(ALL_SESSIONS)]
    expected = {x for ids in results.values() for x in ids}
    tally.lost += len(expected - set(stored))
    tally.duplicated += len(stored) - len(set(stored))
    assert set(stored) == expected and len(stored) == 4 * n
    for w in range(4):
        found = {h.message.id for h in mem.search(f"yak{w}", session_id=ALL_SESSIONS, limit=1000)}
        assert set(results[w]) <= found
    tally.passed += 1


def test_two_forked_redis_workers() -> None:
    if not hasattr(os, "fork"):
        pytest.skip("needs os.fork")
    from uuid import uuid4

    prefix = f"fork{uuid4().hex}"
    url = shared_redis_url()
    n = scale(300, 3000)
    parent = ferromem.RedisMemory(url=url, prefix=prefix, session_id="shared")
    parent.add_message("user", "made before the fork")  # ids were drawn in the parent
    pids = []
    for worker in range(2):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                child = ferromem.RedisMemory(url=url, prefix=prefix, session_id="shared")
                for i in range(0, n, 50):
                    child.add_messages(
                        [Message("user", f"worker {worker} turn {i + j}") for j in range(50)]
                    )
            except BaseException:
                code = 1
            os._exit(code)
        pids.append(pid)
    codes = [os.waitpid(pid, 0)[1] for pid in pids]
    tally = row("2 forked workers: redis")
    tally.tried += 1
    assert codes == [0, 0]
    msgs = parent.get_messages()
    ids = [m.id for m in msgs]
    tally.duplicated += len(ids) - len(set(ids))
    tally.lost += 2 * n + 1 - len(set(ids))
    assert len(set(ids)) == len(ids) == 2 * n + 1
    contents = Counter(m.content for m in msgs)
    assert max(contents.values()) == 1
    tally.passed += 1
