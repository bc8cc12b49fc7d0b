"""How the SQLite store turns a row into stored bytes and back.

Every column is covered: the associated data of a row binds its key, id, session, role,
timestamp, importance and flags; the text, the metadata and the vector are sealed with it. In an
encrypted database (AES-256-GCM, key derived with scrypt from the caller's secret and a
per-database salt) they are encrypted and authenticated with that associated data, so that a row
cannot be moved to another session, made a ``system`` message or given another timestamp by
someone without the key. In every database a CRC-32 over the associated data and the stored
bytes detects damage on read.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import zlib
from typing import Any

from ..errors import CorruptDataError, InvalidArgumentError

__all__ = ["COMPRESSED", "ENCRYPTED", "Codec", "row_ad"]

COMPRESSED = 1
ENCRYPTED = 2
# Short texts do not shrink under zlib; storing them plain saves the work.
MIN_COMPRESS_BYTES = 96
NONCE_BYTES = 12


def _text(value: str) -> bytes:
    raw = value.encode("utf-8")
    return struct.pack("<I", len(raw)) + raw


def row_ad(
    store_id: bytes,
    key: int,
    message_id: str,
    session: str,
    role: str,
    timestamp: float,
    importance: float | None,
    flags: int,
) -> bytes:
    """The associated data of one row: every column that is not sealed, unambiguously encoded."""
    has = importance is not None
    return b"".join(
        (
            store_id,
            struct.pack("<q", key),
            _text(message_id),
            _text(session),
            _text(role),
            struct.pack("<d?dB", timestamp, has, importance if has else 0.0, flags),
        )
    )


class Codec:
    """Seals and opens one database's column bytes (compression, encryption, checksum)."""

    def __init__(self, *, compression: bool, key: bytes | None) -> None:
        self.compression = compression
        self.key = key
        self._aead: Any = None
        if key is not None:
            try:
                from cryptography.hazmat.primitives.ciphers.aead import AESGCM
            except ImportError as e:  # pragma: no cover - depends on the environment
                raise InvalidArgumentError(
                    "encryption_key needs the 'cryptography' package: "
                    "pip install 'ferromem[encryption]'"
                ) from e
            self._aead = AESGCM(key)

    @property
    def encrypted(self) -> bool:
        """Whether this database's rows are encrypted."""
        return self._aead is not None

    @staticmethod
    def derive_key(secret: str | bytes, salt: bytes) -> bytes:
        """A 256-bit key from the caller's secret (scrypt, n=2**14, r=8, p=1)."""
        raw = secret.encode() if isinstance(secret, str) else bytes(secret)
        return hashlib.scrypt(raw, salt=salt, n=2**14, r=8, p=1, dklen=32)

    def body_flags(self, data: bytes) -> tuple[bytes, int]:
        """The (possibly compressed) text bytes and the flags they are stored with."""
        flags = ENCRYPTED if self._aead is not None else 0
        if self.compression and len(data) >= MIN_COMPRESS_BYTES:
            packed = zlib.compress(data, 6)
            if len(packed) < len(data):
                return packed, flags | COMPRESSED
        return data, flags

    def seal(self, data: bytes, ad: bytes) -> bytes:
        """``data`` as stored: encrypted and bound to ``ad`` in an encrypted database."""
        if self._aead is None:
            return data
        nonce = os.urandom(NONCE_BYTES)
        sealed: bytes = nonce + self._aead.encrypt(nonce, data, ad)
        return sealed

    def open(self, data: bytes, ad: bytes, what: str) -> bytes:
        """Stored bytes back; CorruptDataError when they do not authenticate."""
        if self._aead is None:
            return data
        if len(data) < NONCE_BYTES + 16:
            raise CorruptDataError(f"{what} is too short to be sealed")
        try:
            opened: bytes = self._aead.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], ad)
        except Exception as e:  # cryptography raises InvalidTag
            raise CorruptDataError(f"{what} does not authenticate (tampered or damaged)") from e
        return opened

    def unpack_body(self, data: bytes, flags: int, what: str) -> str:
        """The text from opened body bytes."""
        if flags & COMPRESSED:
            try:
                data = zlib.decompress(data)
            except zlib.error as e:
                raise CorruptDataError(f"{what}: {e}") from e
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise CorruptDataError(f"{what}: the text is not UTF-8") from e

    @staticmethod
    def check(ad: bytes, *parts: bytes | None) -> int:
        """CRC-32 over a row's associated data and stored bytes."""
        crc = zlib.crc32(ad)
        for part in parts:
            crc = zlib.crc32(b"\x00" if part is None else b"\x01" + part, crc)
        return crc

    def hash_session(self, session: str) -> str:
        """A session id as stored when session ids are hashed (HMAC-SHA256 under the key)."""
        assert self.key is not None
        mac = hmac.new(self.key, session.encode("utf-8"), hashlib.sha256).hexdigest()
        return f"h:{mac[:32]}"
