"""Compression: ferromem's zstd/zlib vs Python's zlib and python-zstandard on LoCoMo text, and
a million LoCoMo-derived messages in a CompressedMemory (footprint, ingestion, random access).

Anchors run in the same process: ``zlib`` (level 6) and ``zstandard`` (level 3, and level 19
with a 64 KiB trained dictionary per message). Blocks are runs of ``--block`` consecutive turns,
as CompressedMemory packs them. Dictionaries are trained on three conversations and measured on
the other two, so every dictionary figure is on text it was not trained on.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import statistics
import time
import zlib
from collections.abc import Callable, Sequence

import zstandard

from ferromem import ALL_SESSIONS, CompressedMemory, Message, core

from locomo import Turn, add_data_argument, load, repeated_texts

ANCHOR_ZLIB6 = "zlib-6"


def timed(fn: Callable[[], object], min_seconds: float = 0.3) -> float:
    """Seconds per call, repeating until ``min_seconds`` have passed."""
    runs, start = 0, time.perf_counter()
    while True:
        fn()
        runs += 1
        spent = time.perf_counter() - start
        if spent >= min_seconds:
            return spent / runs


def measure(
    name: str, chunks: Sequence[bytes], compress: Callable[[bytes], bytes]
) -> tuple[str, float, float]:
    raw = sum(len(c) for c in chunks)
    packed = sum(len(compress(c)) for c in chunks)
    seconds = timed(lambda: [compress(c) for c in chunks])
    return name, raw / packed, raw / seconds / 1e6


def print_table(title: str, rows: list[tuple[str, float, float]]) -> None:
    anchor = next((r for r in rows if r[0] == ANCHOR_ZLIB6), rows[0])
    print(f"\n{title}")
    print(f"  {'codec':40s} {'ratio':>6s} {'MB/s':>8s}  ratio vs zlib-6  speed vs zlib-6")
    for name, ratio, speed in rows:
        print(
            f"  {name:40s} {ratio:6.2f} {speed:8.1f}  {ratio / anchor[1]:14.2f}x "
            f"{speed / anchor[2]:14.1f}x"
        )


def blocks_of(texts: Sequence[str], size: int) -> list[bytes]:
    return ["\n".join(texts[i : i + size]).encode() for i in range(0, len(texts), size)]


def codec_tables(turns: list[Turn], block: int) -> None:
    texts = [t.text for t in turns]
    convs = sorted({t.conversation for t in turns})
    train_convs = set(convs[:3])
    train = [t.text.encode() for t in turns if t.conversation in train_convs]
    held = [t.text for t in turns if t.conversation not in train_convs]
    zstd3 = zstandard.ZstdCompressor(level=3)
    dict64 = zstandard.train_dictionary(65536, train)
    dict16 = core.train_dictionary(train, 16384)
    zstd19_dict = zstandard.ZstdCompressor(level=19, dict_data=dict64)
    zstd3_dict = zstandard.ZstdCompressor(level=3, dict_data=zstandard.ZstdCompressionDict(dict16))
    print(
        f"LoCoMo dev: {len(texts)} turns, {sum(len(t.encode()) for t in texts):,} bytes; "
        f"dictionaries trained on {sorted(train_convs)} ({sum(map(len, train)):,} bytes), "
        f"measured on the other {len(held)} turns"
    )

    all_blocks = blocks_of(texts, block)
    print_table(
        f"Blocks of {block} turns, every turn, no dictionary",
        [
            measure(ANCHOR_ZLIB6, all_blocks, lambda b: zlib.compress(b, 6)),
            measure("python-zstandard level 3", all_blocks, zstd3.compress),
            measure("ferromem zstd level 3", all_blocks, lambda b: core.compress(b, "zstd", 3)),
            measure("ferromem zstd level 1", all_blocks, lambda b: core.compress(b, "zstd", 1)),
            measure(
                "ferromem zlib level 6 (zlib-rs)", all_blocks, lambda b: core.compress(b, "zlib", 6)
            ),
        ],
    )
    whole = ["\n".join(t.text for t in turns if t.conversation == c).encode() for c in convs]
    print_table(
        "Whole conversations, one frame each (~70 KB), no dictionary",
        [
            measure(ANCHOR_ZLIB6, whole, lambda b: zlib.compress(b, 6)),
            measure("python-zstandard level 3", whole, zstd3.compress),
            measure("ferromem zstd level 3", whole, lambda b: core.compress(b, "zstd", 3)),
            measure("ferromem zstd level 1", whole, lambda b: core.compress(b, "zstd", 1)),
        ],
    )
    held_blocks = blocks_of(held, block)
    print_table(
        f"Blocks of {block} turns, held-out conversations, 16 KiB dictionary",
        [
            measure(ANCHOR_ZLIB6, held_blocks, lambda b: zlib.compress(b, 6)),
            measure("python-zstandard level 3 + dictionary", held_blocks, zstd3_dict.compress),
            measure(
                "ferromem zstd level 3 + dictionary",
                held_blocks,
                lambda b: core.compress(b, "zstd", 3, dictionary=dict16),
            ),
            measure(
                "ferromem zstd level 19 + dictionary",
                held_blocks,
                lambda b: core.compress(b, "zstd", 19, dictionary=dict16),
            ),
        ],
    )
    per_msg = [t.encode() for t in held]
    print_table(
        "Each message alone, held-out conversations",
        [
            measure(ANCHOR_ZLIB6, per_msg, lambda b: zlib.compress(b, 6)),
            measure("python-zstandard level 19 + 64 KiB dict", per_msg, zstd19_dict.compress),
            measure(
                "ferromem zstd level 19 + 64 KiB dict",
                per_msg,
                lambda b: core.compress(b, "zstd", 19, dictionary=dict64.as_bytes()),
            ),
        ],
    )


def fresh_memory(limit_mb: float) -> CompressedMemory:
    return CompressedMemory(max_memory_mb=limit_mb, codec="zstd", level=3, recent=20)


def held_out_footprint(turns: list[Turn]) -> None:
    """Footprint growth on conversations the memory's dictionary never saw."""
    convs = sorted({t.conversation for t in turns})
    seen = [t for t in turns if t.conversation in convs[:3]]
    unseen = [t for t in turns if t.conversation not in convs[:3]]
    mem = fresh_memory(1000.0)
    mem.add_messages(
        [Message("user", t.text, session_id=f"{t.conversation}") for t in seen],
        session_id=ALL_SESSIONS,
    )
    assert mem.get_stats()["dictionary_bytes"] > 0, "the dictionary was trained on the seen text"
    before = mem.get_stats()
    used = mem.memory_usage_bytes()
    text = sum(len(t.text.encode()) for t in unseen)
    mem.add_messages(
        [Message("user", t.text, session_id=f"{t.conversation}") for t in unseen],
        session_id=ALL_SESSIONS,
    )
    after = mem.get_stats()
    grown = mem.memory_usage_bytes() - used
    blocks = after["compressed_bytes"] - before["compressed_bytes"]
    print(
        f"\nCompressedMemory on {len(unseen)} unseen turns ({text:,} text bytes): "
        f"blocks grew {blocks:,} bytes (text / {text / blocks:.2f}), "
        f"everything incl. keyword index grew {grown:,} bytes (text / {text / grown:.2f}); "
        "target text / 2.5"
    )


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def million(turns: list[Turn], n: int, batch: int, probes: int) -> None:
    texts = repeated_texts(turns, n)
    per_copy = len(turns)
    sessions = [f"{turns[i % per_copy].conversation}-{i // per_copy}" for i in range(n)]
    raw = sum(len(t.encode()) for t in texts)
    gc.collect()
    rss0 = rss_bytes()
    mem = fresh_memory(100_000.0)
    ids: list[str] = []
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        msgs = [
            Message("user", texts[i], session_id=sessions[i])
            for i in range(start, min(n, start + batch))
        ]
        ids.extend(mem.add_messages(msgs, session_id=ALL_SESSIONS))
    ingest = time.perf_counter() - t0
    gc.collect()
    stats = mem.get_stats()
    used = mem.memory_usage_bytes()
    rss = rss_bytes() - rss0
    print(
        f"\n{n:,} LoCoMo-derived messages ({raw:,} text bytes, {len(set(sessions)):,} sessions), "
        f"add_messages in batches of {batch:,}:"
    )
    print(f"  ingestion {n / ingest:,.0f} msg/s ({ingest:.1f} s)")
    print(
        f"  memory_usage_bytes {used:,} = {used / raw:.3f}x text "
        f"(blocks {stats['compressed_bytes']:,} = text / {raw / stats['compressed_bytes']:.2f}; "
        f"keyword index {stats['index_bytes']:,} = {stats['index_bytes'] / raw:.3f}x text; "
        f"dictionary {stats['dictionary_bytes']:,}); target <= 0.5x"
    )
    without_index = used - stats["index_bytes"]
    print(f"  without the keyword index: {without_index:,} = {without_index / raw:.3f}x text")
    print(
        f"  of which block store (frames, id map, locations, dictionary) "
        f"{stats['block_store_bytes']:,} = {stats['block_store_bytes'] / raw:.3f}x text; "
        f"{stats['plain_messages']:,} plain messages {stats['plain_bytes']:,} = "
        f"{stats['plain_bytes'] / raw:.3f}x text"
    )
    print(
        f"  process RSS grew {rss:,} bytes = {rss / raw:.3f}x text "
        "(includes the id list and allocator slack)"
    )
    rng = random.Random(7)
    sample = rng.sample(ids, probes)
    lat = []
    for mid in sample:
        t = time.perf_counter_ns()
        m = mem.get_message(mid, session_id=ALL_SESSIONS)
        lat.append(time.perf_counter_ns() - t)
        assert m is not None and m.id == mid
    lat.sort()
    print(
        f"  random access by id ({probes:,} probes): median {statistics.median(lat) / 1e3:.1f} us, "
        f"p99 {lat[int(0.99 * len(lat))] / 1e3:.1f} us; target median <= 20 us"
    )
    query = "support group"
    t = time.perf_counter()
    hits = mem.search(query, session_id=sessions[n // 2], limit=10)
    print(
        f"  session-scoped search {query!r}: {len(hits)} hits in "
        f"{(time.perf_counter() - t) * 1e3:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_data_argument(parser)
    parser.add_argument("--n", type=int, default=1_000_000, help="messages in CompressedMemory")
    parser.add_argument("--batch", type=int, default=10_000, help="add_messages batch size")
    parser.add_argument("--block", type=int, default=32, help="turns per block")
    parser.add_argument("--probes", type=int, default=20_000, help="random reads by id")
    parser.add_argument("--quick", action="store_true", help="100k messages instead of 1M")
    args = parser.parse_args()
    turns, _ = load(args.data)
    codec_tables(turns, args.block)
    held_out_footprint(turns)
    million(turns, 100_000 if args.quick else args.n, args.batch, args.probes)


if __name__ == "__main__":
    main()
