"""LoCoMo recall@10 of evidence turns (BENCHMARKS.md W3): VectorMemory with the built-in hashing
embedder, the hybrid (vector + BM25 by reciprocal rank fusion), and the keyword engine alone
(IndexedMemory), side by side in one run; plus a MiniLM VectorMemory when sentence-transformers
is installed. Each conversation is one session; a question's recall is the share of its
evidence turns among the top 10 hits.
"""

from __future__ import annotations

import argparse
import re
import time
from collections import defaultdict
from collections.abc import Callable

import ferromem
from ferromem import Message

from locomo import Question, Turn, add_data_argument, load

_DIA = re.compile(r"D\d+:\d+")


def evidence_ids(q: Question) -> set[str]:
    """The question's evidence dia_ids (some annotations pack several into one string)."""
    return {m.group(0) for e in q.evidence for m in _DIA.finditer(e)}


def evaluate(
    name: str, make: Callable[[], ferromem.MemoryBackend], turns: list[Turn], qs: list[Question]
) -> float:
    by_conv: dict[str, list[Turn]] = defaultdict(list)
    for t in turns:
        by_conv[t.conversation].append(t)
    mem = make()
    t0 = time.perf_counter()
    for conv, ts in by_conv.items():
        mem.add_messages(
            [
                Message(
                    "user", f"{t.speaker}: {t.text}", session_id=conv, metadata={"dia": t.dia_id}
                )
                for t in ts
            ],
            session_id=ferromem.ALL_SESSIONS,
        )
    t_add = time.perf_counter() - t0
    per_conv: dict[str, list[float]] = defaultdict(list)
    t0 = time.perf_counter()
    for q in qs:
        want = evidence_ids(q)
        if not want:
            continue
        hits = mem.search(q.question, session_id=q.conversation, limit=10)
        got = {h.message.metadata["dia"] for h in hits}
        per_conv[q.conversation].append(len(got & want) / len(want))
    t_q = time.perf_counter() - t0
    scores = [s for v in per_conv.values() for s in v]
    overall = sum(scores) / len(scores)
    convs = "  ".join(f"{c}:{sum(v) / len(v):.3f}" for c, v in sorted(per_conv.items()))
    print(
        f"  {name:34s} recall@10 {overall:.3f}  ({len(scores)} questions; "
        f"ingest {t_add:.2f} s, {1000 * t_q / len(scores):.2f} ms/query)  [{convs}]"
    )
    return overall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_data_argument(parser)
    args, _ = parser.parse_known_args()
    turns, questions = load(args.data)
    print(f"LoCoMo dev: {len(turns)} turns, {len(questions)} questions, recall@10 of evidence")
    keyword = evaluate("keyword engine (IndexedMemory)", ferromem.IndexedMemory, turns, questions)
    vector = evaluate("VectorMemory (hashing embedder)", ferromem.VectorMemory, turns, questions)
    hybrid = evaluate(
        "VectorMemory hybrid=True",
        lambda: ferromem.VectorMemory(hybrid=True),
        turns,
        questions,
    )
    try:
        from ferromem.embedders import SentenceTransformerEmbedder

        st = SentenceTransformerEmbedder()
        evaluate("VectorMemory (MiniLM)", lambda: ferromem.VectorMemory(st), turns, questions)
        evaluate(
            "VectorMemory (MiniLM) hybrid=True",
            lambda: ferromem.VectorMemory(st, hybrid=True),
            turns,
            questions,
        )
    except ferromem.FerromemError as e:
        print(f"  (MiniLM skipped: {e})")
    print(
        f"hybrid {hybrid:.3f} vs keyword {keyword:.3f} ({hybrid / keyword:.2f}x), vector "
        f"{vector:.3f}; anchors (BENCHMARKS.md): tantivy BM25 0.563, MiniLM dense 0.465, "
        f"BM25+MiniLM RRF 0.566; target >= 0.65"
    )


if __name__ == "__main__":
    main()
