"""ferromem.core.HnswIndex: groups (sessions) inside the index, snapshots with caller bytes
(save/load, to_bytes/from_bytes, meta) and get_vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferromem import (
    CorruptDataError,
    CorruptFileError,
    InvalidArgumentError,
    InvalidTypeError,
    UnknownIdError,
)
from ferromem.core import HnswIndex

MISSING = np.uint64(2**64 - 1)


def clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // 20), dim))
    x = centres[rng.integers(0, len(centres), n)] + 0.35 * rng.standard_normal((n, dim))
    return x.astype(np.float32)


def grouped(n: int = 5000, dim: int = 16) -> tuple[HnswIndex, np.ndarray, list[str]]:
    """Sessions "s0".."s9" of 480 rows each and "tiny" of the last 200, ids 0..n-1."""
    data = clustered(n, dim, 7)
    groups = [f"s{i % 10}" if i < n - 200 else "tiny" for i in range(n)]
    index = HnswIndex(dim, "cosine", M=12, ef_construction=80, full_scan_bytes=0)
    index.add(np.arange(n, dtype=np.uint64), data, groups=groups)
    return index, data, groups


def exact_in(data: np.ndarray, q: np.ndarray, allowed: np.ndarray, k: int) -> list[int]:
    dn = data[allowed] / np.linalg.norm(data[allowed], axis=1, keepdims=True)
    order = np.argsort(-(dn @ (q / np.linalg.norm(q))), kind="stable")
    return allowed[order[:k]].tolist()


def test_group_search_returns_only_the_group_and_exactly_when_small() -> None:
    index, data, groups = grouped()
    assert index.group_len("tiny") == 200 and index.group_len("s3") == 480
    assert index.group_len("nobody") == 0
    tiny = np.array([i for i, g in enumerate(groups) if g == "tiny"])
    for q in data[:20]:
        ids, d = index.search(q, k=10, group="tiny")
        assert ids[0].tolist() == exact_in(data, q, tiny, 10)
        assert np.all(np.diff(d[0]) >= 0)
    union = np.array([i for i, g in enumerate(groups) if g in ("s1", "s2")])
    ids, _ = index.search(data[:30], k=10, groups=["s1", "s2"])
    assert set(ids.ravel().tolist()) <= set(union.tolist())


def test_a_big_group_searches_the_graph_and_keeps_recall() -> None:
    n, dim = 8000, 16
    data = clustered(n, dim, 8)
    groups = ["even" if i % 2 == 0 else "odd" for i in range(n)]
    index = HnswIndex(dim, "cosine", M=12, ef_construction=80, full_scan_bytes=0)
    index.add(np.arange(n, dtype=np.uint64), data, groups=groups)
    even = np.arange(0, n, 2)
    hits = 0
    for q in data[1:200:10]:
        ids, _ = index.search(q, k=10, ef=80, group="even")
        assert np.all(ids % 2 == 0)
        hits += len(set(ids[0].tolist()) & set(exact_in(data, q, even, 10)))
    assert hits / 200 >= 0.9


def test_groups_combine_with_allowed_ids_and_unknown_groups_pad() -> None:
    index, data, _ = grouped()
    ids, _ = index.search(data[0], k=3, group="tiny", allowed_ids=[4800, 4801, 7, 999999])
    assert sorted(ids[0, :2].tolist()) == [4800, 4801] and ids[0, 2] == MISSING
    ids, d = index.search(data[0], k=2, group="nobody")
    assert ids.tolist() == [[MISSING, MISSING]] and np.all(np.isinf(d))
    ids, _ = index.search(data[0], k=2, groups=[])
    assert ids.tolist() == [[MISSING, MISSING]]


def test_membership_follows_remove_and_replace() -> None:
    index, data, _ = grouped()
    index.remove([4800, 4801])
    assert index.group_len("tiny") == 198
    index.add([4802], data[:1], groups=["s0"])
    assert index.group_len("tiny") == 197 and index.group_len("s0") == 481
    ids, _ = index.search(data[0], k=1, group="s0")
    assert ids[0, 0] in (0, 4802)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"groups": ["a"]}, InvalidArgumentError, "groups has 1"),
        ({"groups": "ab"}, InvalidTypeError, "groups"),
        ({"groups": ["a", 3]}, InvalidTypeError, r"groups\[1\]"),
        ({"groups": ["a", "x" * 5000]}, InvalidArgumentError, r"groups\[1\]"),
    ],
)
def test_bad_groups_change_nothing(kwargs: dict, exc: type[Exception], match: str) -> None:
    index, data, _ = grouped(400)
    with pytest.raises(exc, match=match):
        index.add([1, 2], data[:2], **kwargs)
    assert len(index) == 400 and index.group_len("tiny") == 200


def test_bad_group_search_arguments() -> None:
    index, data, _ = grouped(400)
    with pytest.raises(InvalidArgumentError, match="not both"):
        index.search(data[0], k=1, group="tiny", groups=["s1"])
    with pytest.raises(InvalidTypeError, match="group"):
        index.search(data[0], k=1, group=3)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="groups"):
        index.search(data[0], k=1, groups="tiny")


def test_save_load_with_meta_and_groups(tmp_path: Path) -> None:
    index, data, _ = grouped(1200)
    assert index.meta == b""
    path = tmp_path / "v.fmh"
    index.save(path, meta=b"version 7")
    assert index.meta == b"version 7"
    back = HnswIndex.load(path)
    assert back.meta == b"version 7" and back.group_len("tiny") == 200
    a = index.search(data[:5], k=5, ef=40, group="s4")
    b = back.search(data[:5], k=5, ef=40, group="s4")
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    index.save(path)
    assert HnswIndex.load(path).meta == b""
    with pytest.raises(InvalidArgumentError, match="meta"):
        index.save(path, meta=bytes(2**20 + 1))
    with pytest.raises(InvalidTypeError, match="meta"):
        index.save(path, meta="text")  # type: ignore[arg-type]
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CorruptFileError):
        HnswIndex.load(path)


def test_to_bytes_from_bytes_and_damage() -> None:
    index, _, _ = grouped(600)
    blob = index.to_bytes(meta=memoryview(b"m" * 10))
    back = HnswIndex.from_bytes(blob)
    assert back.meta == b"m" * 10 and len(back) == 600
    assert HnswIndex.from_bytes(bytearray(blob)).group_len("s1") == index.group_len("s1")
    for cut in (0, 10, len(blob) // 3, len(blob) - 1):
        with pytest.raises(CorruptDataError):
            HnswIndex.from_bytes(blob[:cut])
    bad = bytearray(blob)
    bad[len(bad) // 2] ^= 4
    with pytest.raises(CorruptDataError, match="checksum"):
        HnswIndex.from_bytes(bytes(bad))
    with pytest.raises(InvalidTypeError, match="data"):
        HnswIndex.from_bytes("not bytes")  # type: ignore[arg-type]


@settings(max_examples=25, deadline=None)
@given(
    dim=st.integers(1, 70), metric=st.sampled_from(["cosine", "ip", "l2"]), seed=st.integers(0, 999)
)
def test_get_vectors_returns_what_was_stored(dim: int, metric: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    data = (rng.standard_normal((30, dim)) * rng.uniform(0.01, 100)).astype(np.float32)
    index = HnswIndex(dim, metric)
    index.add(np.arange(30, dtype=np.uint64) * 2, data)
    got = index.get_vectors([58, 0, 10])
    assert got.shape == (3, dim) and got.dtype == np.float32
    want = data[[29, 0, 5]]
    if metric == "cosine":
        want = want / np.linalg.norm(want, axis=1, keepdims=True)
    scale = np.abs(want).max(axis=1, keepdims=True)
    assert np.all(np.abs(got - want) <= scale * 2.0**-18)


def test_get_vectors_unknown_ids_and_empty() -> None:
    index = HnswIndex(4, "l2")
    index.add([1, 2], np.eye(4, dtype=np.float32)[:2])
    assert index.get_vectors([]).shape == (0, 4)
    with pytest.raises(UnknownIdError, match="3"):
        index.get_vectors([1, 3])
    with pytest.raises(InvalidTypeError, match="ids"):
        index.get_vectors("ab")
