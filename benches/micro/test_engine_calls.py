"""The Rust engines: compress and decompress, HNSW and keyword search, token counting.

Every round repeats the same few calls on the same data, in well under a millisecond (see
``test_memory_calls`` and ``make bench-compare``).
"""

from __future__ import annotations

import numpy as np
import pytest

from ferromem import core


@pytest.fixture(scope="module")
def block(corpus: list[str]) -> bytes:
    """About 16 KB of chat text."""
    out = bytearray()
    for t in corpus:
        if len(out) > 16 * 1024:
            break
        out += t.encode() + b"\n"
    return bytes(out)


@pytest.mark.parametrize("codec", ["zstd", "zlib"])
def test_compress_16k(benchmark, block, codec):
    benchmark(core.compress, block, codec)


@pytest.mark.parametrize("codec", ["zstd", "zlib"])
def test_decompress_16k(benchmark, block, codec):
    frame = core.compress(block, codec)
    benchmark(core.decompress, frame, codec)


def test_hnsw_search_x4(benchmark, vectors):
    # full_scan_bytes=0: always the graph, which is what is measured.
    index = core.HnswIndex(384, full_scan_bytes=0)
    index.add(np.arange(len(vectors), dtype=np.uint64), vectors)
    queries = list(vectors[::1250])
    benchmark(lambda: [index.search(q, k=10, ef=64) for q in queries])


def test_keyword_search_x10(benchmark, corpus, queries):
    index = core.KeywordIndex()
    index.add(np.arange(len(corpus), dtype=np.uint64), corpus)
    qs = queries[:10]
    benchmark(lambda: [index.search(q, 10) for q in qs])


@pytest.mark.parametrize("encoding", ["o200k_base", "cl100k_base", "approx"])
def test_count_tokens_x20(benchmark, corpus, encoding):
    texts = corpus[:20]
    core.count_tokens("warm up", encoding=encoding)
    benchmark(lambda: [core.count_tokens(t, encoding=encoding) for t in texts])


@pytest.mark.parametrize("encoding", ["o200k_base", "cl100k_base", "approx"])
def test_count_tokens_many_200(benchmark, corpus, encoding):
    texts = corpus[:200]
    core.count_tokens("warm up", encoding=encoding)
    benchmark(core.count_tokens_many, texts, encoding=encoding)
