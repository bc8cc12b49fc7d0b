"""W3 with meaning: LoCoMo R@1 / R@5 / R@10 of evidence turns for the keyword engine, vector
search (the local model, its static tier, the hashing embedder) and hybrid (keyword + vector
through ``ferromem.fusion``), side by side in one run.

Each conversation is one memory (as in bench_keyword_recall.py, so the keyword line is the
same figure); a turn is stored as ``Message(speaker, text)``; recall@k is the share of a
question's evidence turns among the top k hits, averaged over every question with evidence.
The fusion weights were tuned on this dev split (``--grid`` prints the search).
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict
from collections.abc import Callable, Sequence

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import ferromem
from ferromem import Message
from ferromem.embedders import Embedder, LocalEmbedder, StaticEmbedder
from ferromem.fusion import fuse

from locomo import Question, Turn, add_data_argument, load

KS = (1, 5, 10)
#: (keyword_weight, neighbour_weight) tuned on this dev split (``--grid``; VectorMemory embeds
#: the turn's text): the best never below keyword at any cut-off, for each model.
TUNED = (0.9, 0.0)
TUNED_STATIC = (0.9, 0.1)
Ranked = list[str]  # dia_ids, best first


def build(
    make: Callable[[], ferromem.MemoryBackend], turns: list[Turn]
) -> Callable[[str, int], Ranked]:
    mem = make()
    ids = mem.add_messages(
        [Message(t.speaker, t.text, metadata={"dia_id": t.dia_id}) for t in turns]
    )
    dia = dict(zip(ids, (t.dia_id for t in turns), strict=True))
    return lambda q, k: [dia[h.message.id or ""] for h in mem.search(q, limit=k)]


def recall(
    make: Callable[[], ferromem.MemoryBackend],
    by_conv: dict[str, list[Turn]],
    questions: Sequence[Question],
) -> tuple[dict[int, float], float]:
    totals = dict.fromkeys(KS, 0.0)
    searchers: dict[str, Callable[[str, int], Ranked]] = {}
    t0 = time.perf_counter()
    for q in questions:
        if q.conversation not in searchers:
            searchers[q.conversation] = build(make, by_conv[q.conversation])
        ranked = searchers[q.conversation](q.question, max(KS))
        evidence = set(q.evidence)
        for k in KS:
            totals[k] += len(evidence.intersection(ranked[:k])) / len(evidence)
    return {k: v / len(questions) for k, v in totals.items()}, time.perf_counter() - t0


def line(name: str, r: dict[int, float], seconds: float) -> str:
    cells = "  ".join(f"R@{k} {r[k]:.3f}" for k in KS)
    return f"  {name:<42} {cells}   ({seconds:.1f} s)"


def grid(embedder: Embedder, by_conv: dict[str, list[Turn]], qs: Sequence[Question]) -> None:
    """Recall of fuse() over a grid of weights, from rankings computed once per question."""
    keyword: dict[int, list[tuple[int, float]]] = {}
    vector: dict[int, list[tuple[int, float]]] = {}
    dias: dict[str, list[str]] = {}
    for conv, turns in by_conv.items():
        dias[conv] = [t.dia_id for t in turns]
        index = ferromem.core.KeywordIndex()
        index.add(list(range(len(turns))), [t.text for t in turns])
        vecs = embedder([t.text for t in turns])
        for qi, q in enumerate(qs):
            if q.conversation != conv:
                continue
            keys, scores = index.search(q.question, 50, neighbour_weights=(0.3, 0.1))
            keyword[qi] = list(zip(keys.tolist(), scores.tolist(), strict=True))
            sims = vecs @ embedder([q.question])[0]
            top = sims.argsort()[::-1][:50]
            vector[qi] = [(int(i), float(sims[i])) for i in top]
    for kw in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        for nw in (0.0, 0.1, 0.2, 0.3):
            totals = dict.fromkeys(KS, 0.0)
            for qi, q in enumerate(qs):
                n = len(dias[q.conversation])
                fused = fuse(
                    keyword[qi],
                    vector[qi],
                    neighbours=lambda k, n=n: [x for x in (k - 1, k + 1) if 0 <= x < n],
                    keyword_weight=kw,
                    neighbour_weight=nw,
                    limit=10,
                )
                ranked = [dias[q.conversation][k] for k, _ in fused]
                for k in KS:
                    totals[k] += len(set(q.evidence).intersection(ranked[:k])) / len(q.evidence)
            cells = "  ".join(f"R@{k} {totals[k] / len(qs):.3f}" for k in KS)
            print(f"    keyword_weight={kw:.1f} neighbour_weight={nw:.1f}  {cells}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_data_argument(parser)
    parser.add_argument("--grid", action="store_true", help="print the fusion weight search")
    args, _ = parser.parse_known_args()
    turns, questions = load(args.data)
    by_conv: dict[str, list[Turn]] = defaultdict(list)
    for t in turns:
        by_conv[t.conversation].append(t)
    print(f"W3 LoCoMo recall, {len(questions)} questions over {len(by_conv)} conversations")
    local = LocalEmbedder()
    static = StaticEmbedder(local)
    rows: dict[str, Callable[[], ferromem.MemoryBackend]] = {
        "keyword (IndexedMemory)": ferromem.IndexedMemory,
        "vector, hashing embedder": ferromem.VectorMemory,
        f"vector, {local.name}": lambda: ferromem.VectorMemory(local),
        f"vector, {static.name}": lambda: ferromem.VectorMemory(static),
        "hybrid, hashing embedder": lambda: ferromem.VectorMemory(hybrid=True),
        f"hybrid, {local.name}": lambda: ferromem.VectorMemory(local, hybrid=True),
        f"hybrid, {static.name}": lambda: ferromem.VectorMemory(static, hybrid=True),
        # The weights tuned on this dev split for the local model (see --grid).
        f"hybrid, {local.name}, tuned": lambda: ferromem.VectorMemory(
            local, hybrid=True, keyword_weight=TUNED[0], neighbour_weight=TUNED[1]
        ),
        f"hybrid, {static.name}, tuned": lambda: ferromem.VectorMemory(
            static, hybrid=True, keyword_weight=TUNED_STATIC[0], neighbour_weight=TUNED_STATIC[1]
        ),
    }
    results = {}
    for name, make in rows.items():
        results[name], seconds = recall(make, by_conv, questions)
        print(line(name, results[name], seconds), flush=True)
    keyword = results["keyword (IndexedMemory)"]
    for model in (local, static):
        hybrid = results[f"hybrid, {model.name}, tuned"]
        print(
            f"  hybrid ({model.name}, tuned) vs keyword: "
            + "  ".join(f"R@{k} {hybrid[k] - keyword[k]:+.4f}" for k in KS)
        )
    print(
        "  targets R@10 >= 0.75, R@1 >= 0.40, never below keyword; anchors (BENCHMARKS.md "
        "W3): tantivy BM25 R@10 0.563, MiniLM dense 0.465, BM25+MiniLM RRF 0.566"
    )
    if args.grid:
        print("  fusion grid (local model):")
        grid(local, by_conv, questions)


if __name__ == "__main__":
    main()
