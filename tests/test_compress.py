"""ferromem.core compress/decompress/train_dictionary: round trips, interop, bad input."""

from __future__ import annotations

import array
import struct
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from ferromem import CorruptDataError, InvalidArgumentError, InvalidTypeError, core

SAMPLES = [
    f"Hey Mel! I went to the LGBTQ support group on day {i} and it was {w}.".encode()
    for i in range(300)
    for w in ("powerful", "so inspiring")
]
TEXT = b" ".join(SAMPLES[:60])


@pytest.fixture(scope="module")
def dictionary() -> bytes:
    return core.train_dictionary(SAMPLES, size=2048)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=5000), level=st.integers(1, 22))
def test_zstd_round_trip_any_bytes_any_level(data: bytes, level: int) -> None:
    frame = core.compress(data, "zstd", level)
    assert core.decompress(frame, "zstd") == data
    assert zstandard.ZstdDecompressor().decompress(frame) == data


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=5000), level=st.integers(0, 9))
def test_zlib_round_trip_any_bytes_any_level(data: bytes, level: int) -> None:
    frame = core.compress(data, "zlib", level)
    assert core.decompress(frame, "zlib") == data
    assert zlib.decompress(frame) == data


@settings(max_examples=30, deadline=None)
@given(data=st.binary(max_size=2000), codec=st.sampled_from(["zstd", "zlib"]))
def test_round_trip_with_a_dictionary(data: bytes, codec: str, dictionary: bytes) -> None:
    frame = core.compress(data, codec, dictionary=dictionary)
    assert core.decompress(frame, codec, dictionary=dictionary) == data


def test_zstd_frames_have_checksums_and_sizes_for_the_reference_decoder() -> None:
    frame = core.compress(TEXT, "zstd", 3)
    params = zstandard.get_frame_parameters(frame)
    assert params.has_checksum
    assert params.content_size == len(TEXT)
    # The reference decoder checks the checksum: a flipped content byte must be caught.
    damaged = bytearray(frame)
    damaged[-6] ^= 0x01
    with pytest.raises(zstandard.ZstdError):
        zstandard.ZstdDecompressor().decompress(bytes(damaged))


def test_interop_both_ways_with_dictionaries(dictionary: bytes) -> None:
    zdict = zstandard.ZstdCompressionDict(dictionary)
    ours = core.compress(TEXT, "zstd", 3, dictionary=dictionary)
    assert zstandard.ZstdDecompressor(dict_data=zdict).decompress(ours) == TEXT
    theirs = zstandard.ZstdCompressor(level=3, dict_data=zdict).compress(TEXT)
    assert core.decompress(theirs, "zstd", dictionary=dictionary) == TEXT
    ours_z = core.compress(TEXT, "zlib", 6, dictionary=dictionary)
    assert zlib.decompressobj(zdict=dictionary).decompress(ours_z) == TEXT
    co = zlib.compressobj(6, zdict=dictionary)
    theirs_z = co.compress(TEXT) + co.flush()
    assert core.decompress(theirs_z, "zlib", dictionary=dictionary) == TEXT
    assert core.decompress(zlib.compress(TEXT, 9), "zlib") == TEXT


def test_streamed_frames_without_size_decode() -> None:
    cobj = zstandard.ZstdCompressor(write_content_size=False).compressobj()
    frame = cobj.compress(TEXT) + cobj.flush()
    assert zstandard.get_frame_parameters(frame).content_size == zstandard.CONTENTSIZE_UNKNOWN
    assert core.decompress(frame) == TEXT


def test_large_input_round_trips() -> None:
    big = TEXT * 400  # ~1.5 MB
    for codec in ("zstd", "zlib"):
        frame = core.compress(big, codec, 1)
        assert len(frame) < len(big) // 10
        assert core.decompress(frame, codec) == big


@pytest.mark.parametrize(
    "data",
    [
        bytearray(TEXT),
        memoryview(TEXT),
        memoryview(TEXT)[::3],
        np.frombuffer(TEXT, dtype=np.uint8),
        np.arange(100, dtype=np.float64),
        array.array("i", range(50)),
    ],
    ids=["bytearray", "memoryview", "strided", "numpy-u8", "numpy-f64", "array"],
)
def test_any_bytes_like_object(data: object) -> None:
    expected = memoryview(data).tobytes()  # type: ignore[arg-type]
    assert core.decompress(core.compress(data)) == expected  # type: ignore[arg-type]
    assert core.decompress(bytearray(core.compress(data, "zlib")), "zlib") == expected  # type: ignore[arg-type]


def test_bad_arguments_name_themselves(dictionary: bytes) -> None:
    with pytest.raises(InvalidTypeError, match="data must be a bytes-like"):
        core.compress("text")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="data"):
        core.decompress(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="dictionary"):
        core.compress(b"x", dictionary="d")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="codec must be 'zstd' or 'zlib'"):
        core.compress(b"x", "lz4")
    with pytest.raises(InvalidArgumentError, match="codec"):
        core.decompress(b"x", "brotli")
    for codec, level in [("zstd", 0), ("zstd", 23), ("zlib", -1), ("zlib", 10)]:
        with pytest.raises(InvalidArgumentError, match="level must be in"):
            core.compress(b"x", codec, level)
    with pytest.raises(InvalidArgumentError, match="size must be in"):
        core.train_dictionary(SAMPLES, size=10)
    with pytest.raises(InvalidArgumentError, match="samples"):
        core.train_dictionary([b"a", b"b"])
    with pytest.raises(InvalidTypeError, match="samples"):
        core.train_dictionary(b"abc")
    with pytest.raises(InvalidTypeError, match=r"samples\[1\]"):
        core.train_dictionary([b"a", "b"])  # type: ignore[list-item]


@pytest.mark.parametrize("codec", ["zstd", "zlib"])
def test_truncated_corrupted_and_wrong_dictionary(codec: str, dictionary: bytes) -> None:
    frame = core.compress(TEXT, codec, 3)
    for cut in (0, 3, len(frame) // 2, len(frame) - 1):
        with pytest.raises(CorruptDataError):
            core.decompress(frame[:cut], codec)
    damaged = bytearray(frame)
    damaged[len(frame) // 2] ^= 0xFF
    with pytest.raises(CorruptDataError):
        core.decompress(bytes(damaged), codec)
    with_dict = core.compress(TEXT, codec, 3, dictionary=dictionary)
    with pytest.raises(CorruptDataError, match=r"[dD]ictionary"):
        core.decompress(with_dict, codec)
    other = core.train_dictionary([s[::-1] + b"xyz" for s in SAMPLES], size=1024)
    with pytest.raises(CorruptDataError):
        core.decompress(with_dict, codec, dictionary=other)
    assert isinstance(CorruptDataError("x"), ValueError)


def test_threads_share_nothing_but_the_results(dictionary: bytes) -> None:
    """Calls run without the GIL, each thread with its own cached contexts: concurrent calls
    with different codecs, levels and dictionaries must not mix them up."""
    jobs = [
        (codec, level, dictionary if i % 3 == 0 else None, TEXT[i * 7 :])
        for i, (codec, level) in enumerate([("zstd", 1), ("zstd", 9), ("zlib", 6), ("zlib", 1)] * 8)
    ]

    def run(job: tuple[str, int, bytes | None, bytes]) -> bool:
        codec, level, zdict, data = job
        for _ in range(20):
            frame = core.compress(data, codec, level, dictionary=zdict)
            if core.decompress(frame, codec, dictionary=zdict) != data:
                return False
        return True

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(run, jobs))


def lying_frame(declared: int) -> bytes:
    """A 17-byte zstd frame declaring `declared` bytes of content but holding one byte."""
    header = struct.pack("<IB", 0xFD2FB528, 0xE0) + struct.pack("<Q", declared)
    return header + b"\x09\x00\x00A"


LIES = [0, 2, 1 << 20, 1 << 31, 1 << 40, 1 << 63, (1 << 64) - 2]

# Run in a child: before the fix, the decoder reserved the declared size and the process
# aborted ("memory allocation of 1099511627776 bytes failed") or panicked.
HOSTILE_SCRIPT = """
import sys
from ferromem import CorruptDataError, core
from tests.test_compress import LIES, lying_frame
for declared in LIES:
    try:
        core.decompress(lying_frame(declared))
    except CorruptDataError:
        pass
    else:
        sys.exit(f"declared {declared}: decoded without an error")
store = core.BlockStore()
store.add_block([0, 1], ["a", "b"], ["user"] * 2, ["hi", "yo"], ["", ""], [1.0, 2.0], [None] * 2)
store.add_block([2], ["c"], ["user"], ["kept"], [""], [3.0], [None])
for declared in LIES:
    store.replace_frame(0, lying_frame(declared))
    for call in (lambda: store.get(0), lambda: store.get_id("b"), lambda: store.block_records(0)):
        try:
            call()
        except CorruptDataError as e:
            assert "block 0" in str(e), e
        else:
            sys.exit(f"declared {declared}: block 0 decoded without an error")
    assert store.get_id("c")[4] == "kept"
print("survived")
"""


def test_a_frame_declaring_a_huge_size_is_corrupt_data_not_an_abort() -> None:
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", HOSTILE_SCRIPT],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and done.stdout.strip() == "survived", done.stderr[-2000:]


def test_the_honest_frame_still_decodes() -> None:
    assert core.decompress(lying_frame(1)) == b"A"
    assert zstandard.ZstdDecompressor().decompress(lying_frame(1)) == b"A"
