"""Engine snapshots beside a durable store, so that a restart loads its indexes instead of
rebuilding them (and never re-embeds).

One file per engine in a directory beside the store, in the engines' own envelope (magic,
version, checksum, atomic replace). The file's name carries what the snapshot was stamped with:
the store's identity, a digest of the engine's settings and the store version it had seen, so
that index and stamp are replaced together by one rename. On open, the newest snapshot of each
engine is loaded when they all stand at the same version; the engines then catch up with the
changes since. A missing, damaged or foreign snapshot is skipped (logged) and the engines are
rebuilt from the store: nothing is lost.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import time
from pathlib import Path

from ..errors import FerromemError
from .engine_set import EngineSet
from .keyword import KeywordEngine
from .vector import VectorEngine

__all__ = ["SnapshotDir"]

_log = logging.getLogger("ferromem")
_NAME = re.compile(r"^(keyword|vector)-([0-9a-f]{16})-(\d+)-(\d+)\.snap$")
# Temp files of a save are this old before another process may take them for abandoned.
_STALE_SECONDS = 3600


def _digest(engine: KeywordEngine | VectorEngine, store_id: str) -> str:
    text = json.dumps([store_id, engine.settings()], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class SnapshotDir:
    """The snapshots of one store's engines (see the module docs)."""

    def __init__(self, directory: Path, store_id: str) -> None:
        self.directory = directory
        self.store_id = store_id

    def _files(self) -> list[tuple[str, str, tuple[int, int], Path]]:
        try:
            names = os.listdir(self.directory)
        except OSError:
            return []
        out = []
        for name in names:
            m = _NAME.match(name)
            if m:
                stamp = (int(m.group(3)), int(m.group(4)))
                out.append((m.group(1), m.group(2), stamp, self.directory / name))
        return out

    def _remove_stale_temps(self) -> None:
        try:
            entries = list(os.scandir(self.directory))
        except OSError:
            return
        now = time.time()
        for entry in entries:
            if entry.name.startswith(".") and ".tmp" in entry.name:
                with contextlib.suppress(OSError):
                    if now - entry.stat().st_mtime > _STALE_SECONDS:
                        os.unlink(entry.path)

    def save(self, engines: EngineSet) -> bool:
        """Writes a snapshot of every engine at the version they have seen (when they are in
        step with the store), then removes the older ones. Returns whether it saved."""
        stamp = engines.seen.get(None)
        if not isinstance(stamp, tuple) or not engines.engines:
            return False
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            _log.warning("ferromem: cannot create %s for index snapshots: %s", self.directory, e)
            return False
        self._remove_stale_temps()
        written: list[Path] = []
        for engine in engines.engines:
            assert isinstance(engine, (KeywordEngine, VectorEngine))
            name = f"{engine.name}-{_digest(engine, self.store_id)}-{stamp[0]}-{stamp[1]}.snap"
            path = self.directory / name
            engine.save(path)
            written.append(path)
        for _, _, _, path in self._files():
            if path not in written:
                with contextlib.suppress(OSError):
                    path.unlink()
        return True

    def load(self, engines: EngineSet) -> bool:
        """Loads the newest snapshots when every engine has one at the same version and with
        its current settings; returns whether it did (the engines then stand at that version)."""
        self._remove_stale_temps()
        found = self._files()
        choice: dict[str, tuple[tuple[int, int], Path]] = {}
        for engine in engines.engines:
            assert isinstance(engine, (KeywordEngine, VectorEngine))
            digest = _digest(engine, self.store_id)
            mine = [
                (stamp, path)
                for name, d, stamp, path in found
                if name == engine.name and d == digest
            ]
            if not mine:
                return False
            choice[engine.name] = max(mine)
        stamps = {stamp for stamp, _ in choice.values()}
        if len(stamps) != 1:
            return False
        try:
            for engine in engines.engines:
                assert isinstance(engine, (KeywordEngine, VectorEngine))
                engine.load(choice[engine.name][1])
        except (FerromemError, OSError) as e:
            _log.warning("ferromem: index snapshot skipped, rebuilding from the store: %s", e)
            for engine in engines.engines:
                engine.clear()
            return False
        engines.seen[None] = stamps.pop()
        return True
