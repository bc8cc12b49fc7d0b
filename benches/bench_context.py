"""W7: ``get_context(query, max_tokens=2000)`` over 1M LoCoMo-derived messages in 10k sessions.

Each memory holds the messages (LoCoMo turns repeated with a suffix, 100 per session, in order)
and answers LoCoMo questions as queries, each in a randomly chosen session; the latency of every
call is recorded and p50/p99 printed. No anchor does this locally (BENCHMARKS.md); DictMemory
(no index of its own: the base class indexes the session for each search) is printed beside
the indexed memories for reference.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections.abc import Callable

import ferromem
from ferromem import ALL_SESSIONS, Message

from locomo import add_data_argument, load, repeated_texts

MEMORIES: dict[str, Callable[[], ferromem.MemoryBackend]] = {
    "IndexedMemory": lambda: ferromem.IndexedMemory(),
    "HierarchicalMemory": lambda: ferromem.HierarchicalMemory(),
    "DictMemory": lambda: ferromem.DictMemory(max_messages=1_000_000),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_data_argument(parser)
    parser.add_argument("--n", type=int, default=1_000_000, help="messages")
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--max-tokens", type=int, default=2000)
    parser.add_argument("--memories", default=",".join(MEMORIES), help="comma-separated")
    parser.add_argument("--quick", action="store_true", help="100k messages in 1k sessions")
    args = parser.parse_args()
    n, sessions = (100_000, 1_000) if args.quick else (args.n, args.sessions)
    per = n // sessions
    turns, questions = load(args.data)
    texts = repeated_texts(turns, n)
    speakers = [turns[i % len(turns)].speaker for i in range(n)]
    rng = random.Random(7)
    queries = [
        (questions[i % len(questions)].question, f"s{rng.randrange(sessions)}")
        for i in range(args.queries)
    ]
    t0 = 1_700_000_000.0
    print(
        f"W7: get_context(query, max_tokens={args.max_tokens}) over {n:,} messages in "
        f"{sessions:,} sessions ({per} each), {len(queries):,} LoCoMo questions"
    )
    for name in args.memories.split(","):
        mem = MEMORIES[name]()
        start = time.perf_counter()
        mem.add_messages(
            [
                Message(speakers[i], texts[i], session_id=f"s{i // per}", timestamp=t0 + i)
                for i in range(n)
            ],
            session_id=ALL_SESSIONS,
        )
        mem.search("warm up", session_id="s0")
        gc.freeze()  # the built heap is long-lived: keep the collector from re-walking it
        built = time.perf_counter() - start
        for q, sid in queries[:50]:
            mem.get_context(q, session_id=sid, max_tokens=args.max_tokens)
        latencies = []
        tokens = []
        for q, sid in queries:
            t = time.perf_counter()
            ctx = mem.get_context(q, session_id=sid, max_tokens=args.max_tokens)
            latencies.append(time.perf_counter() - t)
            tokens.append(mem.count_tokens(ctx))
        latencies.sort()
        p50 = statistics.median(latencies) * 1e3
        p99 = latencies[int(len(latencies) * 0.99) - 1] * 1e3
        verdict = "reached" if p50 <= 1 else "not reached"
        print(
            f"  {name:<19} p50 {p50:7.3f} ms  p99 {p99:7.3f} ms  "
            f"(context {statistics.mean(tokens):.0f} tokens on average, max {max(tokens)}; "
            f"built in {built:.1f} s)  target p50 <= 1 ms: {verdict}"
        )
        gc.unfreeze()
        del mem
        gc.collect()


if __name__ == "__main__":
    main()
