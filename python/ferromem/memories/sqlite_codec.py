"""How `SQLiteMemory` turns message text into stored bytes: optional zlib compression, optional
AES-256-GCM encryption (key derived with scrypt from the caller's secret and a per-database
salt), and a CRC-32 over what is stored so that damage is detected on read."""

from __future__ import annotations

import hashlib
import os
import zlib
from typing import Any

from ..errors import CorruptDataError, InvalidArgumentError

__all__ = ["COMPRESSED", "ENCRYPTED", "Codec"]

COMPRESSED = 1
ENCRYPTED = 2
# Short texts do not shrink under zlib; storing them plain saves the work.
MIN_COMPRESS_BYTES = 96
NONCE_BYTES = 12


class Codec:
    """Encodes and decodes one database's message bodies."""

    def __init__(self, *, compression: bool, key: bytes | None) -> None:
        self.compression = compression
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

    @staticmethod
    def derive_key(secret: str | bytes, salt: bytes) -> bytes:
        """A 256-bit key from the caller's secret (scrypt, n=2**14, r=8, p=1)."""
        raw = secret.encode() if isinstance(secret, str) else bytes(secret)
        return hashlib.scrypt(raw, salt=salt, n=2**14, r=8, p=1, dklen=32)

    def encode(self, text: str, associated: bytes) -> tuple[bytes, int]:
        """Stored bytes and flags for ``text``; ``associated`` (the message id) is bound to the
        ciphertext so that rows cannot be swapped."""
        data = text.encode("utf-8")
        flags = 0
        if self.compression and len(data) >= MIN_COMPRESS_BYTES:
            packed = zlib.compress(data, 6)
            if len(packed) < len(data):
                data, flags = packed, flags | COMPRESSED
        if self._aead is not None:
            nonce = os.urandom(NONCE_BYTES)
            data = nonce + self._aead.encrypt(nonce, data, associated)
            flags |= ENCRYPTED
        return data, flags

    def decode(self, data: bytes, flags: int, associated: bytes) -> str:
        """The text back from stored bytes; raises CorruptDataError when they do not decode."""
        if flags & ENCRYPTED:
            if self._aead is None:
                raise InvalidArgumentError("this database is encrypted: pass encryption_key")
            try:
                data = self._aead.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], associated)
            except Exception as e:  # cryptography raises InvalidTag
                raise CorruptDataError(
                    f"message {associated.decode(errors='replace')!r} does not decrypt"
                ) from e
        if flags & COMPRESSED:
            try:
                data = zlib.decompress(data)
            except zlib.error as e:
                raise CorruptDataError(
                    f"message {associated.decode(errors='replace')!r}: {e}"
                ) from e
        return data.decode("utf-8")
