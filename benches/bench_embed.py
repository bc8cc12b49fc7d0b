"""W11: sentence embedding of the LoCoMo dev turns, ferromem's LocalEmbedder (all-MiniLM-L6-v2
in Rust) vs sentence-transformers on torch CPU, side by side in one run; plus the static tier.

* Same vectors: cosine of every one of the 2,760 turns to the reference vectors in
  ``../shared/embeddings`` (sentence-transformers' own output), target >= 0.999 on every row.
* Speed: texts/s at batch 64 (calls of 64 texts) and at batch 1 (one text per call), both
  libraries on the same threads (torch.set_num_threads = the cores), rounds alternated,
  best of ``--rounds``. Targets: >= 1.5x at batch 64, >= 3x at batch 1.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ferromem.embedders import LocalEmbedder, StaticEmbedder

from locomo import DEFAULT_DATA, add_data_argument, load

Embed = Callable[[list[str]], object]


def texts_per_second(embed: Embed, texts: list[str], batch: int) -> float:
    t0 = time.perf_counter()
    for i in range(0, len(texts), batch):
        embed(texts[i : i + batch])
    return len(texts) / (time.perf_counter() - t0)


def best_of(rounds: int, runs: dict[str, Callable[[], float]]) -> dict[str, float]:
    """Alternates the contenders ``rounds`` times; keeps each one's best figure."""
    best = dict.fromkeys(runs, 0.0)
    for _ in range(rounds):
        for name, run in runs.items():
            best[name] = max(best[name], run())
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_data_argument(parser)
    parser.add_argument(
        "--reference",
        type=Path,
        default=DEFAULT_DATA.parent / "embeddings",
        help="directory with locomo_dev_minilm.npy",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--single", type=int, default=200, help="texts embedded one at a time")
    parser.add_argument("--texts", type=int, default=None, help="time the first N turns only")
    parser.add_argument("--no-cosine", action="store_true", help="skip the reference check")
    parser.add_argument("--quick", action="store_true", help="1 round, 64 single texts")
    args, _ = parser.parse_known_args()
    rounds, single = (1, 64) if args.quick else (args.rounds, args.single)
    turns, _ = load(args.data)
    texts = [t.text for t in turns]
    ours = LocalEmbedder()
    print(
        f"W11 sentence embedding: {len(texts)} LoCoMo dev turns, {ours.name}, "
        f"{os.cpu_count()} cores"
    )

    ref_path = args.reference / "locomo_dev_minilm.npy"
    if args.no_cosine:
        pass
    elif ref_path.is_file():
        mine = ours(texts)
        ref = np.load(ref_path)
        cos = np.sum(mine * ref, axis=1) / (
            np.linalg.norm(mine, axis=1) * np.linalg.norm(ref, axis=1)
        )
        print(
            f"  cosine to sentence-transformers' vectors: min {cos.min():.6f}, mean "
            f"{cos.mean():.6f}, rows below 0.999: {int((cos < 0.999).sum())} of {len(cos)} "
            f"(target: none)"
        )
    else:
        print(f"  (no reference vectors at {ref_path})")

    timed = texts[: args.texts] if args.texts else texts
    runs: dict[str, Callable[[], float]] = {
        "ferromem b64": lambda: texts_per_second(ours, timed, 64),
        "ferromem b1": lambda: texts_per_second(ours, texts[:single], 1),
    }
    try:
        import torch  # type: ignore[import-not-found]
        from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found]
    except ImportError:
        print("  (sentence-transformers is not installed: make bench installs it)")
    else:
        torch.set_num_threads(os.cpu_count() or 1)
        st = SentenceTransformer(str(ours.model.path), device="cpu")

        def st_embed(batch: list[str]) -> object:
            return st.encode(batch, batch_size=64, normalize_embeddings=True)

        with torch.inference_mode():
            st_embed(texts[:64])  # warm-up
            runs["st b64"] = lambda: texts_per_second(st_embed, timed, 64)
            runs["st b1"] = lambda: texts_per_second(st_embed, texts[:single], 1)
            best = best_of(rounds, runs)
        ratio64, ratio1 = best["ferromem b64"] / best["st b64"], best["ferromem b1"] / best["st b1"]
        print(
            f"  batch 64: ferromem {best['ferromem b64']:8.0f} texts/s   sentence-transformers "
            f"{best['st b64']:6.0f} texts/s   {ratio64:.2f}x (target >= 1.5x)"
        )
        print(
            f"  batch 1:  ferromem {best['ferromem b1']:8.0f} texts/s   sentence-transformers "
            f"{best['st b1']:6.0f} texts/s   {ratio1:.2f}x (target >= 3x)"
        )
        print(
            f"  torch {torch.__version__}, {torch.get_num_threads()} threads; "
            f"{len(timed)} turns at batch 64, {single} at batch 1, best of {rounds}"
        )
    t0 = time.perf_counter()
    static = StaticEmbedder(ours)
    print(f"  static tier ready in {time.perf_counter() - t0:.1f} s ({static.path})")
    corpus = texts * 10
    rate = max(texts_per_second(static, corpus, len(corpus)) for _ in range(rounds))
    print(f"  static tier: {rate:,.0f} texts/s on {len(corpus)} turns in one call (target >= 100k)")


if __name__ == "__main__":
    main()
