"""Smoke test of an installed ferromem wheel (``make wheel-smoke``; not collected by pytest).

Run it with the interpreter of a fresh venv that holds the wheel and its runtime dependencies
only: ``venv/bin/python tests/smoke_wheel.py``. It checks that ferromem comes from that venv
(not this source tree), that the extension is the abi3 build, that the wheel's metadata and
package data shipped, runs the README quick start (``tests/quickstart.py``) in a scratch folder,
then exercises each Rust engine once. It prints one line per check and a closing
``wheel-smoke: N passed, N failed`` line; the exit code is 1 when any check failed.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import sysconfig
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np

import ferromem
from ferromem import core

HERE = Path(__file__).resolve().parent
CHECKS: list[Callable[[Path], None]] = []


def check(fn: Callable[[Path], None]) -> Callable[[Path], None]:
    CHECKS.append(fn)
    return fn


@check
def installed_from_the_venv(tmp: Path) -> None:
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    pkg = Path(ferromem.__file__).resolve()
    assert site in pkg.parents, f"ferromem imported from {pkg}, not from {site}"
    ext = Path(ferromem._core.__file__).name
    assert ext.endswith(".abi3.so"), f"the extension is not the abi3 build: {ext}"
    # No dev dependencies in this venv: the wheel needs only numpy.
    for dev in ("pytest", "tiktoken", "maturin", "langchain_core"):
        assert importlib.util.find_spec(dev) is None, f"{dev} is installed: not a clean venv"


@check
def metadata(tmp: Path) -> None:
    meta = importlib.metadata.metadata("ferromem")
    assert meta["Version"] == ferromem.__version__, (meta["Version"], ferromem.__version__)
    assert meta["License-Expression"] == "MIT", meta["License-Expression"]
    assert meta["Requires-Python"] == ">=3.10", meta["Requires-Python"]
    files = importlib.metadata.files("ferromem") or []
    names = {f.name for f in files}
    assert "LICENSE" in names, "LICENSE is not in the wheel"
    assert "py.typed" in names and "_core.pyi" in names, "typing files missing"
    assert "sample_conversation.json" in names, "package data missing"
    extras = set(meta.get_all("Provides-Extra") or [])
    for extra in ("langchain", "langgraph", "llama-index", "mcp", "hub", "redis", "encryption"):
        assert extra in extras, f"extra {extra} missing: {sorted(extras)}"


@check
def readme_quick_start(tmp: Path) -> None:
    folder = tmp / "quickstart"
    folder.mkdir()
    out = subprocess.run(
        [sys.executable, str(HERE / "quickstart.py")],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "garage" in out.stdout and "Hit(" in out.stdout, out.stdout
    assert (folder / "agent.db").is_file(), "the quick start made no database"
    print("    " + "\n    ".join(out.stdout.strip().splitlines()))


@check
def sqlite_is_durable(tmp: Path) -> None:
    db = tmp / "durable.db"
    with ferromem.SQLiteMemory(db, session_id="u1") as memory:
        ids = memory.add_messages(
            [
                {"role": "user", "content": f"note {i} about the {w}"}
                for i, w in enumerate(["garden", "kitchen", "garage", "attic"])
            ]
        )
    with ferromem.SQLiteMemory(db, session_id="u1") as memory:
        assert [m.id for m in memory.get_messages()] == ids
        hits = memory.search("garage", limit=1)
        assert hits and "garage" in hits[0].message.content, hits


@check
def keyword_and_context(tmp: Path) -> None:
    memory = ferromem.IndexedMemory(session_id="s")
    memory.add_message("user", "Remember that I prefer PostgreSQL over MySQL.")
    memory.add_message("assistant", "Noted: PostgreSQL it is.")
    memory.add_message("user", "The weather is nice today.")
    hits = memory.search("which database do I prefer", limit=2)
    assert hits and "PostgreSQL" in hits[0].message.content, hits
    context = memory.get_context("database", max_tokens=40)
    assert "PostgreSQL" in context and memory.count_tokens(context) <= 40, context
    # the async twins
    again = asyncio.run(memory.asearch("PostgreSQL", limit=1))
    assert again and "PostgreSQL" in again[0].message.content, again


@check
def vectors_hnsw(tmp: Path) -> None:
    memory = ferromem.VectorMemory(session_id="v")  # HashingEmbedder: Rust, no model
    for text in ["cats purr on the sofa", "rust compiles to native code", "tea with milk"]:
        memory.add_message("user", text)
    hits = memory.search("native code from rust", limit=1)
    assert hits and "rust" in hits[0].message.content, hits
    index = core.HnswIndex(16, full_scan_bytes=0)  # the graph, not an exact scan
    rng = np.random.default_rng(0)
    data = rng.standard_normal((200, 16)).astype(np.float32)
    index.add(np.arange(200, dtype=np.uint64), data)
    keys, _ = index.search(data[7:8], k=1)
    assert int(np.asarray(keys).ravel()[0]) == 7, keys
    copy = core.HnswIndex.from_bytes(bytearray(index.to_bytes(meta=memoryview(b"m"))))
    assert len(copy) == 200 and copy.meta == b"m"
    print(f"    HNSW kernels: {index.kernels}")


@check
def compression_takes_any_buffer(tmp: Path) -> None:
    text = b"ferromem keeps an agent's memory " * 50
    frame = core.compress(text)
    for buf in (frame, bytearray(frame), memoryview(frame), np.frombuffer(frame, np.uint8)):
        assert core.decompress(buf) == text, type(buf)
    strided = memoryview(bytes(range(256)))[::2]  # gathered in C order
    assert core.decompress(core.compress(strided)) == bytes(range(0, 256, 2))
    try:
        core.compress("not bytes")  # type: ignore[arg-type]
    except TypeError as e:
        assert "bytes-like" in str(e), e
    else:
        raise AssertionError("a str was compressed")
    memory = ferromem.CompressedMemory(session_id="c", recent=4)
    ids = [memory.add_message("user", f"turn {i}: the blue bicycle") for i in range(40)]
    assert memory.get_message(ids[0]).content == "turn 0: the blue bicycle"


@check
def tokens_importance_summary(tmp: Path) -> None:
    assert core.count_tokens("hello world", encoding="o200k_base") == 2
    assert core.count_tokens("hello world", encoding="cl100k_base") == 2
    assert 0.0 <= core.importance("My passport number expires in May.") <= 1.0
    summary = core.summarize(["I moved to Lisbon.", "ok", "My sister lives in Porto."], 20)
    assert summary, summary


@check
def optional_extras_name_themselves(tmp: Path) -> None:
    try:
        import ferromem.integrations.langchain  # noqa: F401
    except ImportError as e:
        assert "ferromem[langchain]" in str(e), e
    else:
        raise AssertionError("langchain-core is installed: not a clean venv")


@check
def cli_entry_point(tmp: Path) -> None:
    exe = Path(sys.executable).parent / "ferromem"
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and ferromem.__version__ in out.stdout, out
    out = subprocess.run([str(exe), "demo"], capture_output=True, text=True, timeout=300, cwd=tmp)
    assert out.returncode == 0, out.stderr[-2000:]


def main() -> int:
    print(f"ferromem {ferromem.__version__} on Python {sys.version.split()[0]} ({sys.executable})")
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="ferromem-smoke-") as tmp:
        for fn in CHECKS:
            scratch = Path(tmp) / fn.__name__
            scratch.mkdir()
            try:
                fn(scratch)
            except Exception:
                failed += 1
                print(f"FAIL {fn.__name__}")
                traceback.print_exc(file=sys.stdout)
            else:
                passed += 1
                print(f"ok   {fn.__name__}")
    print(f"wheel-smoke: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.exit(main())
