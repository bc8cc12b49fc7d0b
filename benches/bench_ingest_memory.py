"""W1/W8: end-to-end ingestion and process memory of ``IndexedMemory``, beside tantivy and the text.

LoCoMo turns repeated (with a suffix) up to ``--n`` messages (1,000,000 by default), 100 per
session. Everything timed runs in this one process, ferromem and tantivy alternated:

- core batch: ``KeywordIndex.add`` of every text vs tantivy's writer (2 threads, one commit);
- end to end: ``IndexedMemory.add_messages`` with ``Message`` objects and with dicts (batches of
  100k, each made before its timer starts), and single ``add_message(role, content)`` calls;
- reads: ``get_messages(session)`` and ``search(query, session)`` p50 over the LoCoMo questions.

Memory runs in a fresh child process (``--rss``): RSS before and after 1M messages went into an
``IndexedMemory`` (in batches of 10k made and dropped on the way), printed beside the text bytes.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ferromem import ALL_SESSIONS, IndexedMemory, Message
from ferromem.core import KeywordIndex

sys.path.insert(0, str(Path(__file__).resolve().parent))
from locomo import add_data_argument, load, repeated_texts

PER_SESSION = 100


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def role(i: int) -> str:
    return "user" if i % 2 else "assistant"


def session(i: int) -> str:
    return f"s{i // PER_SESSION}"


def rss_run(texts: list[str]) -> dict[str, float]:
    """RSS growth of one IndexedMemory holding every text (run in a fresh process)."""
    gc.collect()
    before = rss_bytes()
    mem = IndexedMemory()
    for start in range(0, len(texts), 10_000):
        chunk = [
            Message(role(i), texts[i], session_id=session(i))
            for i in range(start, min(start + 10_000, len(texts)))
        ]
        mem.add_messages(chunk, session_id=ALL_SESSIONS)
        del chunk
    mem.search("warm", limit=1, session_id=ALL_SESSIONS)  # flushes pending index work
    gc.collect()
    after = rss_bytes()
    return {"rss_growth": after - before, "messages": mem.store.count()}


def tantivy_rate(texts: list[str]) -> float:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("text", stored=False, index_option="freq")
    builder.add_unsigned_field("id", stored=True)
    schema = builder.build()
    with tempfile.TemporaryDirectory() as tmp:
        index = tantivy.Index(schema, path=tmp)
        t0 = time.perf_counter()
        writer = index.writer(heap_size=256_000_000, num_threads=2)
        for i, t in enumerate(texts):
            writer.add_document(tantivy.Document(id=i, text=t))
        writer.commit()
        writer.wait_merging_threads()
        return len(texts) / (time.perf_counter() - t0)


def core_rate(texts: list[str]) -> float:
    index = KeywordIndex()
    ids = np.arange(len(texts), dtype=np.uint64)
    t0 = time.perf_counter()
    index.add(ids, texts)
    return len(texts) / (time.perf_counter() - t0)


def e2e_rate(texts: list[str], as_dicts: bool) -> tuple[float, IndexedMemory]:
    mem = IndexedMemory()
    elapsed = 0.0
    for start in range(0, len(texts), 100_000):
        idx = range(start, min(start + 100_000, len(texts)))
        if as_dicts:
            batch: list = [
                {"role": role(i), "content": texts[i], "session_id": session(i)} for i in idx
            ]
        else:
            batch = [Message(role(i), texts[i], session_id=session(i)) for i in idx]
        t0 = time.perf_counter()
        mem.add_messages(batch, session_id=ALL_SESSIONS)
        elapsed += time.perf_counter() - t0
        del batch
    t0 = time.perf_counter()
    mem.search("warm", limit=1, session_id=ALL_SESSIONS)  # pending index work counts too
    elapsed += time.perf_counter() - t0
    return len(texts) / elapsed, mem


def single_rate(texts: list[str]) -> float:
    mem = IndexedMemory()
    add = mem.add_message
    t0 = time.perf_counter()
    for t in texts:
        add("user", t)
    mem.search("warm", limit=1)
    return len(texts) / (time.perf_counter() - t0)


def p50_ms(fn, args) -> float:  # type: ignore[no-untyped-def]
    for a in args[:20]:
        fn(*a)
    out = []
    for a in args:
        t0 = time.perf_counter()
        fn(*a)
        out.append((time.perf_counter() - t0) * 1000)
    return statistics.median(out)


def reads(mem: IndexedMemory, pairs: list[tuple[str, str]]) -> tuple[float, float, float]:
    """p50 ms of get_messages(session), search(query, session) and search across sessions."""
    get = p50_ms(lambda s: mem.get_messages(session_id=s), [(s,) for _, s in pairs])
    search = p50_ms(lambda q, s: mem.search(q, session_id=s, limit=10), pairs)
    search_all = p50_ms(
        lambda q: mem.search(q, session_id=ALL_SESSIONS, limit=10), [(q,) for q, _ in pairs]
    )
    return get, search, search_all


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_data_argument(parser)
    parser.add_argument("--n", type=int, default=1_000_000, help="messages")
    parser.add_argument("--single-n", type=int, default=200_000, help="single add_message calls")
    parser.add_argument("--quick", action="store_true", help="200k messages")
    parser.add_argument("--rss", action="store_true", help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args()
    if args.quick:
        args.n, args.single_n = 200_000, 50_000
    turns, questions = load(args.data)
    texts = repeated_texts(turns, args.n)
    if args.rss:
        print(json.dumps(rss_run(texts)))
        return
    raw = sum(len(t.encode()) for t in texts)
    n = len(texts)
    print(f"{n:,} messages ({raw / 1e6:.0f} MB of text), {PER_SESSION} per session")
    print(f"  load average: {os.getloadavg()[0]:.2f}")

    child = subprocess.run(
        [sys.executable, __file__, "--rss", "--n", str(n), "--data", str(args.data)],
        capture_output=True,
        text=True,
        check=True,
    )
    rss = json.loads(child.stdout.strip().splitlines()[-1])
    growth = rss["rss_growth"]
    print("W8 IndexedMemory process memory (fresh process)")
    print(
        f"  RSS growth {growth / 1e6:,.0f} MB for {rss['messages']:,} messages;"
        f" text {raw / 1e6:,.0f} MB: {growth / raw:.2f}x the text (target <= 2x)"
    )

    print("W1 ingestion (ferromem and tantivy alternated, best of two runs each)")
    ours = core_rate(texts)
    tan = tantivy_rate(texts)
    ours2 = core_rate(texts)
    tan = max(tan, tantivy_rate(texts))
    best = max(ours, ours2)
    print(f"  core KeywordIndex.add batch: {best:>12,.0f} msg/s")
    print(f"  tantivy (2 threads, commit): {tan:>12,.0f} msg/s  -> {best / tan:.2f}x tantivy")
    gc.collect()
    rate_msgs, mem = e2e_rate(texts, as_dicts=False)
    print(
        f"  IndexedMemory.add_messages(Message): {rate_msgs:>10,.0f} msg/s"
        f"  ({rate_msgs / tan:.2f}x tantivy)"
    )
    sids = [session(int(i)) for i in np.random.default_rng(1).integers(0, n, len(questions))]
    pairs = [(q.question, s) for q, s in zip(questions, sids, strict=True)]
    get, search, search_all = reads(mem, pairs)
    del mem
    gc.collect()
    rate_dicts, _ = e2e_rate(texts, as_dicts=True)
    gc.collect()
    print(f"  IndexedMemory.add_messages(dict):    {rate_dicts:>10,.0f} msg/s")
    single = single_rate(texts[: args.single_n])
    print(f"  IndexedMemory.add_message (single):  {single:>10,.0f} msg/s")
    print(f"W2 reads over {n:,} messages ({PER_SESSION} per session)")
    print(f"  get_messages(session) p50: {get:.3f} ms")
    print(f"  search(query, session) p50: {search:.3f} ms")
    print(f"  search(query, ALL_SESSIONS) p50: {search_all:.3f} ms")
    print(f"  load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
