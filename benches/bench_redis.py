"""RedisMemory side by side with a LangChain-style Redis chat history, in one run.

The anchor is what ``RedisChatMessageHistory`` does (one Redis list per session: ``RPUSH`` a JSON
message and ``EXPIRE`` on add, ``LRANGE`` to read); having no index, it can only search by
reading the session and matching words. Both run against the same local redis-server (started
here unless ``--url`` names one), on the same messages: ``--sessions`` sessions of ``--per``
LoCoMo-like turns. Printed: single adds per second, ``get_messages(limit=20)`` and a keyword
search within a session (p50/p99), and the first search of a new client (which loads or catches
up). ``--old PATH`` also runs an earlier RedisMemory (a module file defining ``RedisMemory``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis

import ferromem

WORDS = [
    "postgres",
    "kayaking",
    "garden",
    "python",
    "hiking",
    "coffee",
    "weather",
    "project",
    "deadline",
    "meeting",
    "trip",
    "music",
    "book",
    "movie",
    "recipe",
    "dinner",
    "budget",
    "invoice",
    "doctor",
    "school",
    "guitar",
    "paint",
    "camera",
]


class ListHistory:
    """The anchor: a LangChain-style chat history (a Redis list of JSON messages per session)."""

    def __init__(self, client: redis.Redis, prefix: str, ttl: int | None = None) -> None:
        self.r, self.prefix, self.ttl = client, prefix, ttl

    def add_message(self, role: str, content: str, session_id: str) -> None:
        key = f"{self.prefix}:{session_id}"
        self.r.rpush(key, json.dumps({"type": role, "data": {"content": content}}))
        if self.ttl:
            self.r.expire(key, self.ttl)

    def get_messages(self, session_id: str, limit: int) -> list[dict[str, Any]]:
        raw = self.r.lrange(f"{self.prefix}:{session_id}", -limit, -1)
        return [json.loads(m) for m in raw]

    def search(self, query: str, session_id: str, limit: int = 10) -> list[dict[str, Any]]:
        words = set(query.lower().split())
        msgs = [json.loads(m) for m in self.r.lrange(f"{self.prefix}:{session_id}", 0, -1)]
        scored = [(len(words & set(m["data"]["content"].lower().split())), m) for m in msgs]
        return [m for s, m in sorted(scored, key=lambda x: -x[0]) if s][:limit]


def _timed(fn: Callable[[int], object], n: int) -> tuple[float, float]:
    xs = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        xs.append(time.perf_counter() - t)
    xs.sort()
    return statistics.median(xs) * 1e3, xs[min(len(xs) - 1, int(len(xs) * 0.99))] * 1e3


def _server() -> tuple[str, subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder = tempfile.mkdtemp(prefix="ferromem-bench-redis-")
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", folder],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            redis.Redis(port=port).ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    return f"redis://127.0.0.1:{port}/0", proc, folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="a Redis to use (default: start one)")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--per", type=int, default=1000, help="messages per session")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--old", help="a module file with an earlier RedisMemory, run too")
    parser.add_argument("--quick", action="store_true", help="10 sessions of 300 messages")
    parser.add_argument("--data", help="unused (the turns are generated)")
    args = parser.parse_args()
    sessions, per = (10, 300) if args.quick else (args.sessions, args.per)
    proc = folder = None
    url = args.url
    if url is None:
        url, proc, folder = _server()
    rng = random.Random(7)
    texts = [" ".join(rng.choice(WORDS) for _ in range(12)) for _ in range(sessions * per)]
    queries = [(f"{rng.choice(WORDS)} {rng.choice(WORDS)}", f"s{rng.randrange(sessions)}")
               for _ in range(args.queries)]  # fmt: skip
    contenders: dict[str, Callable[[str], Any]] = {
        "ferromem RedisMemory": lambda p: ferromem.RedisMemory(url=url, prefix=p),
    }
    if args.old:
        spec = importlib.util.spec_from_file_location("old_redis", args.old)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        contenders["earlier RedisMemory"] = lambda p: module.RedisMemory(url=url, prefix=p)
    contenders["LangChain-style list"] = lambda p: ListHistory(redis.Redis.from_url(url), p)
    print(f"Redis: {sessions} sessions x {per} messages, {len(queries)} searches within a session")
    print(f"{'memory':24} {'adds/s':>9} {'get(20) p50/p99 ms':>19} {'search p50/p99 ms':>18} "
          f"{'new client 1st search ms':>25}")  # fmt: skip
    try:
        for name, make in contenders.items():
            prefix = uuid.uuid4().hex
            mem = make(prefix)
            t = time.perf_counter()
            for i, text in enumerate(texts):
                mem.add_message("user", text, session_id=f"s{i % sessions}")
            rate = len(texts) / (time.perf_counter() - t)
            get = _timed(lambda i, m=mem: m.get_messages(f"s{i % sessions}", 20), args.queries)
            hits = _timed(
                lambda i, m=mem: m.search(queries[i][0], session_id=queries[i][1]), len(queries)
            )
            fresh = make(prefix)
            t = time.perf_counter()
            fresh.search(queries[0][0], session_id=queries[0][1])
            first = (time.perf_counter() - t) * 1e3
            print(
                f"{name:24} {rate:9.0f} {get[0]:9.2f}/{get[1]:<9.2f} {hits[0]:8.2f}/{hits[1]:<9.2f}"
                f" {first:25.1f}"
            )
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()
            shutil.rmtree(folder or "", ignore_errors=True)


if __name__ == "__main__":
    main()
