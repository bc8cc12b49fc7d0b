"""W8: how big the keyword index is, beside tantivy's, and what CompressedMemory holds in all.

LoCoMo turns repeated (with a suffix) up to ``--n`` messages (1,000,000 by default), as in
bench_keyword.py. Everything runs in this one process, side by side:

- keyword index bytes per raw text byte: ferromem in memory (``memory_bytes``, by capacity,
  as added and after ``compact()``) and its snapshot file; tantivy's index directory (term
  frequencies, no positions, ids in a fast field and the doc store), built from the same texts;
- top-10 search p50/p99 over every LoCoMo question, both (tantivy without fetching stored ids,
  so only the search itself is timed);
- ``CompressedMemory`` (blocks + keyword index, ``memory_usage_bytes``) for each LoCoMo
  conversation alone, all five together, and ``--n`` messages; targets: smaller than the text
  for one conversation, <= text / 2 at 1M.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_keyword import dir_bytes, latencies, pct, tantivy_index, tantivy_search
from plots import DOCS, bars

from ferromem import ALL_SESSIONS, CompressedMemory, Message
from ferromem.core import KeywordIndex

from locomo import Turn, add_data_argument, load, repeated_texts


def keyword_sizes(texts: list[str], queries: list[str]) -> list[tuple[str, float]]:
    """Prints the index sizes and returns them per text byte."""
    raw = sum(len(t.encode()) for t in texts)
    print(f"keyword index, {len(texts):,} messages ({raw / 1e6:.1f} MB of text)")
    index = KeywordIndex()
    t0 = time.perf_counter()
    index.add(np.arange(len(texts), dtype=np.uint64), texts)
    ours_rate = len(texts) / (time.perf_counter() - t0)
    held = index.memory_bytes()
    index.compact()
    compacted = index.memory_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        snap = Path(tmp) / "kw.bin"
        index.save(snap)
        snap_bytes = snap.stat().st_size
        (Path(tmp) / "tantivy").mkdir()
        tan, tan_s = tantivy_index(texts, Path(tmp) / "tantivy")
        tan_bytes = dir_bytes(Path(tmp) / "tantivy")
        ours_lat = latencies(lambda q: index.search(q, 10), queries)
        tan_lat = latencies(tantivy_search(tan, fetch=False), queries)
        del tan
    rows = [
        ("ferromem in memory, as added", held),
        ("ferromem in memory, after compact()", compacted),
        ("ferromem snapshot file", snap_bytes),
        ("tantivy index directory", tan_bytes),
    ]
    for name, size in rows:
        print(f"  {name:38s} {size:>13,} bytes = {size / raw:.3f}x text")
    print(f"  ferromem in memory vs tantivy on disk: {held / tan_bytes:.2f}x; target <= 0.35x text")
    print(
        f"  ingestion: ferromem {ours_rate:,.0f} msg/s, tantivy (2 threads) "
        f"{len(texts) / tan_s:,.0f} msg/s"
    )
    for name, lat in (("ferromem", ours_lat), ("tantivy (no id fetch)", tan_lat)):
        print(
            f"  top-10 search {name}: p50 {statistics.median(lat):.3f} ms, "
            f"p99 {pct(lat, 99):.3f} ms"
        )
    return [(name, size / raw) for name, size in rows]


def compressed_total(turns: list[Turn], label: str, batch: int = 10_000) -> float:
    """Prints what CompressedMemory holds for these turns and returns it per text byte."""
    texts = [t.text for t in turns]
    raw = sum(len(t.encode()) for t in texts)
    mem = CompressedMemory(max_memory_mb=100_000.0, codec="zstd", level=3, recent=20)
    for start in range(0, len(turns), batch):
        part = turns[start : start + batch]
        mem.add_messages(
            [Message("user", t.text, session_id=t.conversation) for t in part],
            session_id=ALL_SESSIONS,
        )
    used = mem.memory_usage_bytes()
    stats = mem.get_stats()
    index = stats["index_bytes"]
    print(
        f"  {label:34s} text {raw:>12,}  total {used:>12,} = {used / raw:.3f}x "
        f"(index {index:,} = {index / raw:.3f}x, blocks and the rest {used - index:,})"
    )
    return used / raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_data_argument(parser)
    parser.add_argument("--n", type=int, default=1_000_000, help="messages in the corpus")
    parser.add_argument("--quick", action="store_true", help="200k messages")
    args = parser.parse_args()
    n = 200_000 if args.quick else args.n
    turns, questions = load(args.data)
    texts = repeated_texts(turns, n)
    sizes = keyword_sizes(texts, [q.question for q in questions])
    print(
        "CompressedMemory, blocks + keyword index (memory_usage_bytes); targets: < 1x text "
        "for one conversation, <= 0.5x at 1M"
    )
    for conv in sorted({t.conversation for t in turns}):
        compressed_total([t for t in turns if t.conversation == conv], f"conversation {conv}")
    compressed_total(turns, "all five conversations")
    per_copy = len(turns)
    many = [
        Turn(f"{turns[i % per_copy].conversation}-{i // per_copy}", 0, "", "", text)
        for i, text in enumerate(texts)
    ]
    sizes.append(
        ("ferromem CompressedMemory (blocks + index)", compressed_total(many, f"{n:,} messages"))
    )
    bars(
        [("raw text", 1.0), *sizes],
        title=f"W8 index and store size per byte of text, {n:,} LoCoMo-derived messages",
        xlabel="bytes per byte of raw text",
        path=DOCS / "index_size.png",
        target=0.35,
        target_label="keyword index target (0.35x)",
    )


if __name__ == "__main__":
    main()
