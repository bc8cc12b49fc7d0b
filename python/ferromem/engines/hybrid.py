"""Hybrid ranking: the keyword and the vector rankings fused into one."""

from __future__ import annotations

from collections.abc import Callable

from .base import Ranking

__all__ = ["fuse"]

#: The turns just before and after a key in its session (None where there is none).
Neighbours = Callable[[int], tuple[int | None, int | None]]


def fuse(
    keyword: Ranking,
    vector: Ranking,
    *,
    keyword_weight: float,
    neighbour_weight: float,
    neighbours: Neighbours,
    limit: int,
) -> Ranking:
    """Each ranking's scores, scaled to its best hit, are mixed ``keyword_weight : 1 -
    keyword_weight``; then each hit lends ``neighbour_weight`` of its share to the turns just
    before and after it in its session, because in a dialogue the turn that answers is so often
    next to the one that matches the words. Ties go to the newer key."""
    fused: dict[int, float] = {}
    for weight, ranking in ((keyword_weight, keyword), (1.0 - keyword_weight, vector)):
        if not ranking or ranking[0][1] <= 0 or weight <= 0:
            continue
        scale = weight / ranking[0][1]
        for key, score in ranking:
            x = score * scale
            fused[key] = fused.get(key, 0.0) + x
            if neighbour_weight:
                for near in neighbours(key):
                    if near is not None:
                        fused[near] = fused.get(near, 0.0) + neighbour_weight * x
    return sorted(fused.items(), key=lambda ks: (-ks[1], -ks[0]))[:limit]
