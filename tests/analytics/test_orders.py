"""The order arithmetic that needs no server: the k-th smallest of totals in memory and values left in the index."""

import random

import pytest

from analytics.orders import kth_of_union


def _kth(grouped: list[float], single: list[float], k: int) -> float:
    single = sorted(single)
    return kth_of_union(
        sorted(grouped),
        len(single),
        lambda value: sum(1 for item in single if item <= value),
        lambda rank: single[rank - 1],
        k,
    )


@pytest.mark.parametrize("seed", range(40))
def test_the_kth_of_two_collections_is_the_kth_of_their_union(seed):
    chooser = random.Random(seed)
    # Few distinct values, so ties between and within the two collections are common.
    grouped = [chooser.choice([1.5, 2, 3, 5, 8, 13]) * chooser.randint(1, 4) for _ in range(chooser.randint(0, 12))]
    single = [chooser.choice([1.5, 2, 3, 5, 8, 13]) * chooser.randint(1, 4) for _ in range(chooser.randint(0, 12))]
    union = sorted(grouped + single)

    for k in range(1, len(union) + 1):
        assert _kth(grouped, single, k) == union[k - 1], (grouped, single, k)


def test_single_line_orders_below_every_grouped_total_come_first():
    assert [_kth([100, 200], [1, 2, 3], k) for k in range(1, 6)] == [1, 2, 3, 100, 200]


def test_grouped_totals_below_every_single_line_order_come_first():
    assert [_kth([1, 2], [100, 200, 300], k) for k in range(1, 6)] == [1, 2, 100, 200, 300]
