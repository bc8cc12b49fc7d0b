"""Hybrid ranking: one keyword ranking and one vector ranking fused into one (pure Python).

Used by :class:`~ferromem.VectorMemory` with ``hybrid=True`` and by the hybrid engine. A
ranking is a list of ``(key, score)`` pairs, best first, with higher scores better.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

__all__ = ["fuse"]

Ranking = Sequence[tuple[int, float]]


def fuse(
    keyword: Ranking,
    vector: Ranking,
    *,
    neighbours: Callable[[int], Iterable[int]] | None = None,
    keyword_weight: float = 0.5,
    neighbour_weight: float = 0.2,
    limit: int | None = None,
) -> list[tuple[int, float]]:
    """Fuses ``keyword`` and ``vector`` into one ranking, best first.

    Each ranking's scores are scaled to its best hit (so 1.0 is that ranking's best) and mixed
    ``keyword_weight : 1 - keyword_weight``; a key found by both gets both shares. Then every
    hit lends ``neighbour_weight`` of its share to each key ``neighbours(key)`` returns (in a
    dialogue, the turns right before and after it in its session: the answer so often sits next
    to the turn whose words match). Rankings whose best score is not positive are ignored.
    Ties go to the larger key (the later message). At most ``limit`` pairs come back (all when
    None); scores are the fused scores.
    """
    fused: dict[int, float] = {}
    for weight, ranking in ((keyword_weight, keyword), (1.0 - keyword_weight, vector)):
        if not ranking or weight <= 0 or ranking[0][1] <= 0:
            continue
        scale = weight / ranking[0][1]
        for key, score in ranking:
            share = score * scale
            fused[key] = fused.get(key, 0.0) + share
            if neighbours is not None and neighbour_weight > 0:
                lent = neighbour_weight * share
                for near in neighbours(key):
                    fused[near] = fused.get(near, 0.0) + lent
    best = sorted(fused.items(), key=lambda ks: (-ks[1], -ks[0]))
    return best if limit is None else best[:limit]
