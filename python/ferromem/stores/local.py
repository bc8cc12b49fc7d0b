"""`LocalStore`: what the stores held in this process share (the columnar
:class:`~ferromem.stores.memory.MemoryStore` and the dict-based
:class:`~ferromem.stores.objects.ObjectStore` under the JSON file store)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from .base import Changes, Partition, Store

__all__ = ["LocalStore"]


class LocalStore(Store):
    """A version bumped by every write, an optional bounded log of recent writes (the change
    feed engines catch up from), and attachment bytes in a dict."""

    keeps_blobs = True

    def __init__(self) -> None:
        self._version = 0
        # (version after, added keys, removed keys) of recent writes, for stores whose engines
        # may fall behind (a file other processes write); None when nobody needs it.
        self._log: list[tuple[int, list[int], list[int]]] | None = None
        self._blobs: dict[str, bytes] = {}

    def _wrote(self, added: list[int], removed: list[int]) -> None:
        """Counts one write and logs its keys (when a log is kept)."""
        self._version += 1
        if self._log is not None:
            self._log.append((self._version, added, removed))
            if len(self._log) > 4096:
                del self._log[:2048]

    # ------------------------------------------------------------------ the change feed
    def version(self, partition: Partition) -> Hashable:
        return self._version

    def changes(self, partition: Partition, since: Hashable) -> Changes | None:
        log = self._log
        if log is None or not isinstance(since, int) or since > self._version:
            return None
        if since == self._version:
            return Changes([], [], since)
        if not log or log[0][0] > since + 1:
            return None  # the log no longer reaches back that far
        added: list[int] = []
        removed: list[int] = []
        for version, plus, minus in log:
            if version > since:
                added.extend(plus)
                removed.extend(minus)
        return Changes(added, removed, self._version)

    # ------------------------------------------------------------------ attachment bytes
    def put_blob(self, digest: str, data: bytes) -> bool:
        if digest in self._blobs:
            return False
        self._blobs[digest] = bytes(data)
        return True

    def get_blob(self, digest: str) -> bytes | None:
        return self._blobs.get(digest)

    def blob_digests(self) -> list[str]:
        return list(self._blobs)

    def remove_blobs(self, digests: Sequence[str]) -> int:
        return sum(self._blobs.pop(d, None) is not None for d in digests)

    def blob_bytes(self) -> int:
        """Bytes of the attachments held."""
        return sum(len(b) for b in self._blobs.values())
