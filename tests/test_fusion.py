"""fusion.fuse: the hybrid ranking shared by VectorMemory and the hybrid engine."""

from __future__ import annotations

import pytest

from ferromem.fusion import fuse


def test_scores_are_scaled_to_each_rankings_best_and_mixed() -> None:
    keyword = [(1, 10.0), (2, 5.0)]
    vector = [(2, 0.8), (3, 0.4)]
    got = dict(fuse(keyword, vector, keyword_weight=0.6))
    assert got[1] == pytest.approx(0.6)
    assert got[2] == pytest.approx(0.3 + 0.4)
    assert got[3] == pytest.approx(0.2)
    assert [k for k, _ in fuse(keyword, vector, keyword_weight=0.6)] == [2, 1, 3]


def test_weights_at_the_ends_keep_one_ranking() -> None:
    keyword = [(1, 3.0), (2, 2.0)]
    vector = [(9, 0.9), (8, 0.5)]
    assert [k for k, _ in fuse(keyword, vector, keyword_weight=1.0)] == [1, 2]
    assert [k for k, _ in fuse(keyword, vector, keyword_weight=0.0)] == [9, 8]


def test_neighbours_borrow_a_share_of_each_hit() -> None:
    got = dict(
        fuse(
            [(5, 2.0)],
            [],
            neighbours=lambda k: [k - 1, k + 1],
            keyword_weight=1.0,
            neighbour_weight=0.25,
        )
    )
    assert got == {5: pytest.approx(1.0), 4: pytest.approx(0.25), 6: pytest.approx(0.25)}
    assert dict(fuse([(5, 2.0)], [], neighbours=lambda k: [4], neighbour_weight=0.0)) == {
        5: pytest.approx(0.5)
    }


def test_empty_and_non_positive_rankings_are_ignored_ties_favour_later_keys() -> None:
    assert fuse([], []) == []
    assert fuse([(1, 0.0)], [(2, -0.5)]) == []
    assert [k for k, _ in fuse([(1, 1.0), (2, 1.0)], [])] == [2, 1]
    assert len(fuse([(i, 1.0 / (i + 1)) for i in range(10)], [], limit=3)) == 3
