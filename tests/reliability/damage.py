"""Damaged files, loaded in a child process so that a signal or an abort is seen, not suffered.

``python -m tests.reliability.damage FORMAT GOOD_PATH FIRST COUNT SEED`` makes mutations
``FIRST .. FIRST+COUNT`` of a good file (truncations, bit flips, swapped blocks, crafted
headers and lengths), loads each, and prints one JSON line per mutation: ``start`` before the
load (so that the parent knows which one a crash hit), then ``typed`` (a ferromem error),
``equal`` (it loaded and holds exactly what was written) or ``wrong`` (it loaded something else:
the failure this suite exists to catch).
"""

from __future__ import annotations

import json
import random
import shutil
import struct
import sys
import tempfile
from pathlib import Path
from typing import Any

import ferromem
from ferromem import ALL_SESSIONS
from ferromem.core import HnswIndex, KeywordIndex

DAMAGE_FORMATS = [
    "json",
    "sqlite",
    "sqlite-encrypted",
    "memory-save",
    "keyword-snapshot",
    "hnsw-snapshot",
    "sqlite-sidecar",
]


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One random damage: truncation, bit flips, a swapped or zeroed block, a crafted length."""
    b = bytearray(data)
    kind = rng.randrange(6)
    if kind == 0:
        return bytes(b[: rng.randrange(len(b))])
    if kind == 1:
        for _ in range(rng.randint(1, 3)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif kind == 2:
        size = rng.choice([16, 64, 512, 4096])
        if len(b) > 2 * size:
            i, j = rng.randrange(len(b) - size), rng.randrange(len(b) - size)
            b[i : i + size], b[j : j + size] = b[j : j + size], b[i : i + size]
    elif kind == 3:
        size = rng.choice([8, 64, 1024])
        i = rng.randrange(max(1, len(b) - size))
        b[i : i + size] = bytes(min(size, len(b) - i))
    elif kind == 4:
        # A crafted length or count: a huge little-endian integer somewhere in the first bytes.
        i = rng.randrange(max(1, min(len(b) - 8, 256)))
        b[i : i + 8] = struct.pack("<Q", rng.choice([2**31, 2**40, 2**63 - 1, 2**64 - 1]))
    else:
        i = rng.randrange(len(b))
        b[i : i + 4] = rng.randbytes(4)
    return bytes(b)


def snapshot_of(fmt: str, path: Path) -> Any:
    """What a loaded file holds, in a comparable form."""
    if fmt == "keyword-snapshot":
        kw = KeywordIndex.load(path)
        ids, scores = kw.search("turn alpha kilo", 50)
        return [len(kw), ids.tolist(), [round(s, 4) for s in scores.tolist()]]
    if fmt == "hnsw-snapshot":
        h = HnswIndex.load(path)
        return [len(h), sorted(h.ids().tolist())]
    if fmt == "memory-save":
        mem: Any = ferromem.IndexedMemory.load(path)
    elif fmt == "json":
        mem = ferromem.JSONFileMemory(path)
    elif fmt in ("sqlite", "sqlite-sidecar"):
        mem = ferromem.SQLiteMemory(path, embedder=_embedder() if fmt == "sqlite-sidecar" else None)
    else:
        mem = ferromem.SQLiteMemory(path, encryption_key="reliability")
    msgs = [m.to_dict() for m in mem.get_messages(ALL_SESSIONS)]
    hits = [h.message.id for h in mem.search("turn alpha kilo", session_id=ALL_SESSIONS, limit=5)]
    mem.close()
    return [msgs, hits]


def _embedder() -> Any:
    return ferromem.embedders.HashingEmbedder(64)


def run(fmt: str, good: Path, first: int, count: int, seed: int) -> None:
    truth = json.dumps(snapshot_of(fmt, good), sort_keys=True)
    work = Path(tempfile.mkdtemp(prefix="ferromem-damage-"))
    try:
        for n in range(first, first + count):
            rng = random.Random(seed * 1_000_003 + n)
            target = work / good.name
            for p in work.iterdir():
                if p.is_dir():
                    shutil.rmtree(p)
                else:
                    p.unlink()
            if fmt == "sqlite-sidecar":
                # The database stays good; its index snapshots are damaged.
                shutil.copy(good, target)
                side = good.with_name(good.name + ".ferromem")
                shutil.copytree(side, work / side.name)
                snaps = sorted((work / side.name).iterdir())
                victim = rng.choice(snaps)
                victim.write_bytes(mutate(victim.read_bytes(), rng))
            else:
                target.write_bytes(mutate(good.read_bytes(), rng))
            print(json.dumps({"start": n}), flush=True)
            try:
                got = json.dumps(snapshot_of(fmt, target), sort_keys=True)
                verdict = "equal" if got == truth else "wrong"
            except ferromem.FerromemError as e:
                verdict = "typed"
                if not str(e):
                    verdict = "wrong"
            except Exception as e:  # an untyped error escaped: a failure too
                print(
                    json.dumps({"n": n, "verdict": "untyped", "error": repr(e)[:300]}), flush=True
                )
                continue
            print(json.dumps({"n": n, "verdict": verdict}), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    a = sys.argv[1:]
    run(a[0], Path(a[1]), int(a[2]), int(a[3]), int(a[4]))
