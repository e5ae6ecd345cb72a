"""The tuner's arithmetic: the recall bound, the ef_search ladder, recall@k, bad options."""

from __future__ import annotations

import math
import statistics

import pytest

from datalayer.db import Database
from datalayer.errors import InvalidInputError
from datalayer.observability.recall import recall_at_k
from datalayer.operations.vector_tuning import (
    EF_LADDER,
    ef_ladder,
    recall_lower_bound,
    tune_ef_search,
)
from datalayer.settings import load_settings


def test_the_bound_is_the_one_sided_normal_bound_of_the_mean() -> None:
    recalls = [1.0] * 150 + [0.9] * 30 + [0.7] * 20
    mean = statistics.fmean(recalls)
    expected = mean - 1.6448536269514722 * statistics.stdev(recalls) / math.sqrt(200)
    assert recall_lower_bound(recalls) == pytest.approx(expected)
    assert 0.93 < recall_lower_bound(recalls) < mean


def test_all_perfect_queries_give_the_exact_bound_of_the_perfect_share() -> None:
    # sd = 0 says nothing: 200 perfect draws bound the perfect share (and so the mean) at
    # 0.05 ** (1 / 200), not at 1.
    assert recall_lower_bound([1.0] * 200) == pytest.approx(0.9851, abs=1e-4)
    assert recall_lower_bound([1.0] * 20) == pytest.approx(0.05 ** (1 / 20))
    assert recall_lower_bound([1.0] * 200) < 1.0


def test_the_bound_stays_in_range() -> None:
    assert recall_lower_bound([]) == 0.0
    assert recall_lower_bound([0.0, 1.0, 0.0]) == 0.0  # mean - 1.645 sd / sqrt(n) < 0
    assert recall_lower_bound([0.5] * 10) == 0.5


def test_the_ladder_runs_from_k_to_max_ef_and_ends_at_max_ef() -> None:
    assert ef_ladder(20, 1000) == list(EF_LADDER)
    assert ef_ladder(20, 250) == [40, 60, 80, 100, 120, 160, 200, 250]
    assert ef_ladder(50, 100) == [60, 80, 100]
    assert ef_ladder(10, 30) == [30]


def test_recall_at_k_is_the_share_of_the_true_result_found() -> None:
    assert recall_at_k([1, 2, 3, 9], [1, 2, 3, 4, 5]) == 0.6
    assert recall_at_k([3, 2, 1], [1, 2, 3]) == 1.0
    assert recall_at_k([], [1, 2]) == 0.0
    assert recall_at_k([1], []) is None


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"target_recall": 0.0}, "target"),
        ({"target_recall": 1.01}, "target"),
        ({"k": 0}, "k"),
        ({"sample": 5}, "sample"),
        ({"k": 20, "max_ef": 10}, "max_ef"),
        ({"max_ef": 1001}, "max_ef"),
    ],
)
async def test_bad_options_are_refused_before_any_query(
    options: dict[str, float], field: str
) -> None:
    # Nothing listens on port 1: any query would fail with UnavailableError instead.
    url = "postgresql://nobody@127.0.0.1:1/none"
    db = Database.connect(url, load_settings(database_url=url))
    try:
        with pytest.raises(InvalidInputError) as caught:
            await tune_ef_search(db, **options)  # type: ignore[arg-type]
        assert caught.value.field == field
    finally:
        await db.dispose()
