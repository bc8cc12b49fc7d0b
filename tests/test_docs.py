"""docs/api.md stays true: every `ferromem.X` it names exists, every method in its tables is on
MemoryBackend; and every relative link in the README and docs resolves."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import ferromem

ROOT = Path(__file__).resolve().parents[1]
API = (ROOT / "docs" / "api.md").read_text()


def _resolve(dotted: str) -> object:
    parts = dotted.split(".")
    obj: object = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], start=1):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = importlib.import_module(".".join(parts[: i + 1]))
    return obj


def test_every_documented_name_exists() -> None:
    names = sorted(set(re.findall(r"`(ferromem(?:\.[A-Za-z_][A-Za-z0-9_]*)+)", API)))
    assert len(names) > 30
    missing = []
    for name in names:
        try:
            _resolve(name)
        except (AttributeError, ImportError):
            missing.append(name)
    assert missing == []


def test_every_documented_method_is_on_every_memory() -> None:
    methods = re.findall(r"^\| `([a-z_]+)\(", API, flags=re.M)
    assert len(methods) > 20
    for name in methods:
        assert hasattr(ferromem.MemoryBackend, name), name
        assert hasattr(ferromem.MemoryBackend, "a" + name) or name in {"count_tokens", "close"}


def test_links_resolve() -> None:
    for doc in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", doc.read_text()):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"


def test_the_readme_quick_start_is_the_one_the_wheel_smoke_test_runs() -> None:
    """`make wheel-smoke` runs tests/quickstart.py against the installed wheel: it must be the
    README's first Python example, word for word."""
    readme = (ROOT / "README.md").read_text()
    first = re.search(r"```python\n(.*?)```", readme, re.S)
    assert first is not None
    assert first.group(1) == (ROOT / "tests" / "quickstart.py").read_text()
