"""Writes the compact vocabularies that ferromem-core embeds (run once; the outputs are committed).

    python make_vocab.py SOURCE_DIR

SOURCE_DIR holds OpenAI's published ``cl100k_base.tiktoken`` and ``o200k_base.tiktoken`` (the
same files tiktoken downloads; tiktoken-rs ships them in its crate). Each is checked against the
SHA-256 that tiktoken pins before it is converted.

Output format (``<name>.fmv``), little-endian:
    magic   b"FMVOCAB\\x00"          8 bytes
    version u32 = 1
    count   u32                     number of tokens; ranks are 0..count-1
    crc32   u32                     of the decompressed body
    body    one zstd frame of, for each rank in order: u8 length, the token's bytes
"""

from __future__ import annotations

import base64
import hashlib
import struct
import sys
import zlib
from pathlib import Path

import zstandard

MAGIC = b"FMVOCAB\x00"
VERSION = 1
# The hashes tiktoken pins for these files (tiktoken_ext/openai_public.py).
EXPECTED_SHA256 = {
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}


def convert(name: str, source: Path, out: Path) -> None:
    data = source.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != EXPECTED_SHA256[name]:
        raise SystemExit(f"{source}: sha256 {digest} is not tiktoken's {EXPECTED_SHA256[name]}")
    tokens: dict[int, bytes] = {}
    for line in data.splitlines():
        if not line:
            continue
        b64, rank = line.split()
        tokens[int(rank)] = base64.b64decode(b64)
    count = len(tokens)
    if sorted(tokens) != list(range(count)):
        raise SystemExit(f"{source}: ranks are not 0..{count - 1}")
    body = bytearray()
    for rank in range(count):
        tok = tokens[rank]
        if not 0 < len(tok) < 256:
            raise SystemExit(f"{source}: token {rank} has {len(tok)} bytes")
        body.append(len(tok))
        body += tok
    frame = zstandard.ZstdCompressor(level=19).compress(bytes(body))
    header = MAGIC + struct.pack("<III", VERSION, count, zlib.crc32(body))
    out.write_bytes(header + frame)
    print(f"{name}: {count} tokens, body {len(body)} bytes, file {len(header) + len(frame)} bytes")


def main() -> None:
    source_dir = Path(sys.argv[1])
    here = Path(__file__).resolve().parent
    for name in EXPECTED_SHA256:
        convert(name, source_dir / f"{name}.tiktoken", here / f"{name}.fmv")


if __name__ == "__main__":
    main()
