"""The one on-disk envelope of ferromem files, and the sectioned body of a saved memory.

Layout, identical to the Rust engines' snapshots (``rust/core/src/snapshot.rs``)::

    magic (8 bytes) | version (u32 LE) | body length (u64 LE) | body | CRC-32 of all before (u32 LE)

Files are replaced atomically (temp file, fsync, rename, fsync the directory). A saved memory's
body is a list of named sections: ``count (u32) | per section: name length (u16), name,
data length (u64), data``. No length read from a file is trusted beyond the bytes it has.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from ._atomic import replace_file
from .errors import CorruptFileError, StorageError

__all__ = ["pack_sections", "read_envelope", "unpack_sections", "write_envelope"]

_HEADER = struct.Struct("<8sIQ")
_FOOTER = struct.Struct("<I")


def write_envelope(path: Path, magic: bytes, version: int, body: bytes) -> None:
    """Wraps ``body`` in the envelope and writes it atomically to ``path``."""
    assert len(magic) == 8
    head = _HEADER.pack(magic, version, len(body))
    crc = zlib.crc32(body, zlib.crc32(head))
    try:
        replace_file(path, b"".join((head, body, _FOOTER.pack(crc))))
    except OSError as e:
        raise StorageError(f"{path}: cannot write: {e}") from e


def read_envelope(path: Path, magic: bytes, version: int) -> bytes:
    """The body of ``path`` after checking magic, version, length and checksum."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise StorageError(f"{path}: cannot read: {e}") from e
    if len(data) < _HEADER.size + _FOOTER.size:
        raise CorruptFileError(f"{path}: too short ({len(data)} bytes) to be a ferromem file")
    found, found_version, length = _HEADER.unpack_from(data)
    if found != magic:
        raise CorruptFileError(f"{path}: bad magic {found!r}, expected {magic!r}")
    if found_version != version:
        raise CorruptFileError(f"{path}: unsupported version {found_version}, expected {version}")
    if length != len(data) - _HEADER.size - _FOOTER.size:
        raise CorruptFileError(f"{path}: length mismatch (header says {length} bytes)")
    (stored,) = _FOOTER.unpack_from(data, len(data) - _FOOTER.size)
    if zlib.crc32(memoryview(data)[: len(data) - _FOOTER.size]) != stored:
        raise CorruptFileError(f"{path}: checksum mismatch (the file was changed or damaged)")
    return data[_HEADER.size : len(data) - _FOOTER.size]


def pack_sections(sections: dict[str, bytes]) -> bytes:
    """Named byte sections as one body."""
    parts = [struct.pack("<I", len(sections))]
    for name, data in sections.items():
        raw = name.encode()
        parts += [struct.pack("<H", len(raw)), raw, struct.pack("<Q", len(data)), data]
    return b"".join(parts)


def unpack_sections(body: bytes, where: Path) -> dict[str, bytes]:
    """The sections of a body; CorruptFileError naming ``where`` when they do not parse."""
    view = memoryview(body)
    at = 0

    def take(n: int) -> memoryview:
        nonlocal at
        if n > len(view) - at:
            raise CorruptFileError(f"{where}: a section runs past the end of the file")
        piece = view[at : at + n]
        at += n
        return piece

    (count,) = struct.unpack("<I", take(4))
    out: dict[str, bytes] = {}
    for _ in range(count):
        (name_len,) = struct.unpack("<H", take(2))
        try:
            name = bytes(take(name_len)).decode()
        except UnicodeDecodeError as e:
            raise CorruptFileError(f"{where}: a section name is not text") from e
        (size,) = struct.unpack("<Q", take(8))
        out[name] = bytes(take(size))
    if at != len(view):
        raise CorruptFileError(f"{where}: {len(view) - at} bytes after the last section")
    return out
