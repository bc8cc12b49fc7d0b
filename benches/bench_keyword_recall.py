"""W3: LoCoMo retrieval quality of keyword search alone, each conversation searched on its own.

recall@k = the share of a question's annotated evidence turns found in the top k, averaged
over every question with evidence. ferromem's IndexedMemory vs tantivy (BM25, default
tokenizer), rank-bm25 (BM25Okapi) and the seed's Jaccard IndexedMemory, in one run.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import tantivy
from rank_bm25 import BM25Okapi

from ferromem import IndexedMemory, Message
from ferromem.core import KeywordIndex

from locomo import Question, Turn, add_data_argument, load

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baselines.seed_indexed import IndexedMemory as SeedIndexedMemory

KS = (1, 5, 10, 20)
_WORD = re.compile(r"\w+")

# A searcher takes one conversation's turns and returns query -> ranked dia_ids.
Searcher = Callable[[list[Turn]], Callable[[str, int], list[str]]]


def ferromem_memory(**options: object) -> Searcher:
    def build(turns: list[Turn]) -> Callable[[str, int], list[str]]:
        mem = IndexedMemory(**options)  # type: ignore[arg-type]
        ids = mem.add_messages(
            [Message(t.speaker, t.text, metadata={"dia_id": t.dia_id}) for t in turns]
        )
        dia = dict(zip(ids, (t.dia_id for t in turns), strict=True))
        return lambda q, k: [dia[h.message.id or ""] for h in mem.search(q, limit=k)]

    return build


def ferromem_index(*, roles: bool = False, **options: object) -> Searcher:
    def build(turns: list[Turn]) -> Callable[[str, int], list[str]]:
        index = KeywordIndex(**options)  # type: ignore[arg-type]
        texts = [f"{t.speaker} {t.text}" if roles else t.text for t in turns]
        index.add(list(range(len(turns))), texts)
        return lambda q, k: [turns[i].dia_id for i in index.search(q, k)[0].tolist()]

    return build


def tantivy_searcher(turns: list[Turn]) -> Callable[[str, int], list[str]]:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("text", stored=False)
    builder.add_unsigned_field("pos", stored=True)
    schema = builder.build()
    index = tantivy.Index(schema)
    writer = index.writer(heap_size=50_000_000, num_threads=1)
    for i, t in enumerate(turns):
        writer.add_document(tantivy.Document(text=t.text, pos=i))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    searcher = index.searcher()

    def search(q: str, k: int) -> list[str]:
        cleaned = " ".join(_WORD.findall(q))
        if not cleaned:
            return []
        query = index.parse_query(cleaned, ["text"])
        hits = searcher.search(query, k).hits
        return [turns[searcher.doc(addr)["pos"][0]].dia_id for _, addr in hits]

    return search


def rank_bm25_searcher(turns: list[Turn]) -> Callable[[str, int], list[str]]:
    bm25 = BM25Okapi([_WORD.findall(t.text.lower()) for t in turns])

    def search(q: str, k: int) -> list[str]:
        scores = bm25.get_scores(_WORD.findall(q.lower()))
        order = sorted(range(len(turns)), key=lambda i: -scores[i])[:k]
        return [turns[i].dia_id for i in order if scores[i] > 0]

    return search


def seed_searcher(turns: list[Turn]) -> Callable[[str, int], list[str]]:
    mem = SeedIndexedMemory()
    for t in turns:
        mem.add_message(t.speaker, t.text)

    def search(q: str, k: int) -> list[str]:
        return [turns[m["index"]].dia_id for m in mem.search_messages(q, limit=k)]

    return search


def recall(
    searcher: Searcher, by_conv: dict[str, list[Turn]], questions: Sequence[Question]
) -> dict[int, float]:
    totals = dict.fromkeys(KS, 0.0)
    per_conv: dict[str, Callable[[str, int], list[str]]] = {}
    for q in questions:
        if q.conversation not in per_conv:
            per_conv[q.conversation] = searcher(by_conv[q.conversation])
        ranked = per_conv[q.conversation](q.question, max(KS))
        evidence = set(q.evidence)
        for k in KS:
            totals[k] += len(evidence.intersection(ranked[:k])) / len(evidence)
    return {k: v / len(questions) for k, v in totals.items()}


def line(name: str, r: dict[int, float]) -> str:
    return f"  {name:<44} " + "  ".join(f"R@{k} {r[k]:.3f}" for k in KS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_data_argument(parser)
    parser.add_argument("--variants", action="store_true", help="also measure analyzer choices")
    args, _ = parser.parse_known_args()  # run_all passes shared flags such as --quick
    turns, questions = load(args.data)
    by_conv: dict[str, list[Turn]] = defaultdict(list)
    for t in turns:
        by_conv[t.conversation].append(t)
    print(f"W3 LoCoMo recall, {len(questions)} questions over {len(by_conv)} conversations")
    ours = recall(ferromem_memory(), by_conv, questions)
    anchors = {
        "tantivy (BM25, default tokenizer)": recall(tantivy_searcher, by_conv, questions),
        "rank-bm25 (BM25Okapi)": recall(rank_bm25_searcher, by_conv, questions),
        "seed IndexedMemory (Jaccard)": recall(seed_searcher, by_conv, questions),
    }
    print(line("ferromem IndexedMemory (defaults)", ours))
    for name, r in anchors.items():
        print(line(name, r))
    for name, r in anchors.items():
        print(f"  recall@10 ferromem / {name}: {ours[10] / r[10]:.2f}x")
    if args.variants:
        plain = {"index_roles": False, "neighbour_weights": (0.0, 0.0), "b": 0.75}
        variants: dict[str, Searcher] = {
            "KeywordIndex defaults (k1=1.2 b=0.75)": ferromem_index(),
            "  ... without stemming": ferromem_index(stem=False),
            "  ... without stop words": ferromem_index(stop_words=False),
            "  ... lowercase only": ferromem_index(
                stem=False, stop_words=False, fold_accents=False
            ),
            "  ... + speaker names": ferromem_index(roles=True),
            "  ... + speaker names, b=0.3": ferromem_index(roles=True, b=0.3),
            "memory: jaccard (the seed's scoring)": ferromem_memory(scoring="jaccard", **plain),
        }
        for w in ((0.0, 0.0), (0.2, 0.0), (0.3, 0.0), (0.3, 0.1), (0.5, 0.2)):
            for b in (0.3, 0.5, 0.75):
                variants[f"memory: weights={w} b={b}"] = ferromem_memory(neighbour_weights=w, b=b)
        for name, searcher in variants.items():
            print(line(name, recall(searcher, by_conv, questions)), flush=True)


if __name__ == "__main__":
    main()
