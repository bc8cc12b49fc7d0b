"""Importance scoring: ferromem's Rust scorer vs the seed's pure-Python one, batch rate.

Both score the same LoCoMo-derived texts in one run. ferromem's batch path is
``core.importance_many`` (all cores, GIL released); its one-call-per-text rate is shown too.
The seed's scorer (benches/baselines/seed_importance.py) is a faithful copy of the Phidata
HierarchicalMemory's ``_calculate_importance``. ferromem also scores far more signals (see
``rust/core/src/importance/mod.rs``), so the ratio is like-for-like work and then some. The
token counter's batch rate over the same texts is printed as a reference for how busy the
(shared) machine is during the run.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ferromem import core

from locomo import add_data_argument, load, repeated_texts

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baselines.seed_importance import HierarchicalMemory as SeedHierarchicalMemory


def best_rate(fn: Callable[[], object], n: int, repeats: int) -> float:
    """Texts per second of the best of ``repeats`` runs (the machine is shared)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_data_argument(parser)
    parser.add_argument("--n", type=int, default=1_000_000, help="texts to score")
    parser.add_argument("--quick", action="store_true", help="200k texts, fewer repeats")
    args = parser.parse_args()
    n = 200_000 if args.quick else args.n
    repeats = 2 if args.quick else 3
    turns, _ = load(args.data)
    texts = repeated_texts(turns, n)

    seed = SeedHierarchicalMemory()
    seed_rate = best_rate(lambda: [seed._calculate_importance(t) for t in texts], n, repeats)
    batch_rate = best_rate(lambda: core.importance_many(texts), n, repeats)
    # A machine-state reference: the token counter reads the same bytes on the same cores.
    tokens_rate = best_rate(lambda: core.count_tokens_many(texts), n, repeats)
    single = texts[: n // 5]
    single_rate = best_rate(lambda: [core.importance(t) for t in single], len(single), repeats)

    print(f"importance over {n:,} LoCoMo-derived texts (best of {repeats}):")
    print(f"  seed Python _calculate_importance   {seed_rate:>12,.0f} texts/s")
    print(
        f"  ferromem importance_many (batch)    {batch_rate:>12,.0f} texts/s"
        f"  ({batch_rate / seed_rate:.1f}x the seed)"
    )
    print(f"  (reference: count_tokens_many     {tokens_rate:>12,.0f} texts/s on this machine now)")
    print(
        f"  ferromem importance (one call each) {single_rate:>12,.0f} texts/s"
        f"  ({single_rate / seed_rate:.1f}x the seed)"
    )
    rate_ok = "reached" if batch_rate >= 1e6 else "not reached"
    ratio_ok = "reached" if batch_rate >= 50 * seed_rate else "not reached"
    print(f"  target >= 1,000,000 texts/s batched: {rate_ok}; target >= 50x the seed: {ratio_ok}")


if __name__ == "__main__":
    main()
