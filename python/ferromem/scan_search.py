"""BM25 over a list of messages, for backends that keep no index of their own."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from .message import Hit, Message

__all__ = ["scan_search", "words"]

_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return _WORD.findall(text.lower())


def scan_search(query: str, messages: Sequence[Message], limit: int) -> list[Hit]:
    """Scores every message against ``query`` with BM25 (k1=1.2, b=0.75); best first, newest
    first among equal scores. Linear in the text scanned: fine for small memories."""
    terms = set(words(query))
    if not terms or not messages or limit <= 0:
        return []
    docs = [Counter(words(m.content)) for m in messages]
    avg_len = sum(sum(d.values()) for d in docs) / len(docs) or 1.0
    df = {t: sum(1 for d in docs if t in d) for t in terms}
    n = len(docs)
    idf = {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in terms if df[t]}
    scored: list[tuple[float, int]] = []
    for i, doc in enumerate(docs):
        length = sum(doc.values())
        score = 0.0
        for t, w in idf.items():
            tf = doc.get(t, 0)
            if tf:
                score += w * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / avg_len))
        if score > 0:
            scored.append((score, i))
    scored.sort(key=lambda s: (-s[0], -s[1]))
    return [Hit(messages[i], s) for s, i in scored[:limit]]
