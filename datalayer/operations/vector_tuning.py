"""Measure the ef_search that reaches a recall target on the stored embeddings, and keep it.

No single ef_search fits every data set: how many candidates HNSW must visit to find the
true top-k depends on how the vectors are spread. :func:`tune_ef_search` measures it on the
data itself, on the primary:

1. Queries are a random sample of the stored vectors (``TABLESAMPLE BERNOULLI`` at about
   twice the wanted share, then a seeded draw of exactly ``sample`` rows).
2. A stored vector's nearest neighbour is itself, found by any index at any ef_search,
   which would inflate recall: each query asks both sides for k + 1 rows and drops its own
   recipe, so recall is measured on the k true neighbours *other than* the query.
3. The exact top-k comes from a sequential scan (index scans off; the ORDER BY adds a
   tie-break no index can deliver); the approximate one from the HNSW index with the
   repository's unfiltered settings (``hnsw.iterative_scan = off``, sequential scans off).
4. Per ef_search, from small to large, recall@k is averaged over the queries; the first
   ef_search whose *lower confidence bound* meets the target is stored (see
   :func:`recall_lower_bound`). When none does, the largest tried is stored and the result
   says the target was not met. The sweep also goes on up to ``min_ef`` (the floor, by
   default ``VECTOR_TUNE_MIN_EF_SEARCH``): see below.

Queries drawn from the stored rows are in-distribution for "more like this recipe"
searches, but a stored row is a node of the graph, linked to its neighbours when it was
inserted, and a fresh query is not. How much that matters depends on the data. Measured on
30,000 rows of the benchmark's clustered generator, the mean stayed within 0.015 of fresh
queries' recall (0.965 against 0.950 at ef_search 40, 0.971 against 0.966 at 60, 0.985
against 0.997 at 200) and the bound chose 60 for a target of 0.95, where fresh queries
reached 0.966. On 3,000 uniformly random vectors, which have no structure at all, it was
optimistic by about one step of the ladder (0.971 at 200 against 0.948). On the 100,000-row
benchmark set it chose 60, 80 and 160 in three runs (three index builds), where fresh
queries then reached 0.930, 0.943 and 0.971. So the tuner is trusted to *raise* ef_search
on data harder than the default was chosen on, not to lower it below the floor. ``bench`` reports
the recall reached at the tuned value on fresh queries (``tuned`` in its results), and
sampled recall (:mod:`datalayer.observability.recall`) measures real queries in production.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from datalayer.db import Database
from datalayer.errors import InvalidInputError
from datalayer.observability.recall import recall_at_k
from datalayer.repositories.search_tuning import HNSW_INDEX

EF_LADDER = (40, 60, 80, 100, 120, 160, 200, 300, 400, 600, 800, 1000)
"""The ef_search values tried, smallest first (capped by ``max_ef``)."""
Z_ONE_SIDED_95 = 1.6448536269514722
CONFIDENCE = 0.95

Progress = Callable[[str, int, int], None]
"""Told ``(step, done, total)`` as queries are measured."""

_COUNT = text("SELECT count(*) FROM recipe_embeddings")
_SAMPLE = text(
    "SELECT recipe_id, CAST(embedding AS text) AS embedding FROM recipe_embeddings "
    "TABLESAMPLE BERNOULLI (:percent) REPEATABLE (:seed)"
)
_NEAREST = "SELECT recipe_id FROM recipe_embeddings ORDER BY embedding <=> CAST(:query AS vector)"
_EXACT = text(f"{_NEAREST}, recipe_id LIMIT :limit")
_APPROXIMATE = text(f"{_NEAREST} LIMIT :limit")
_EXACT_SETTINGS = text(
    "SELECT set_config('enable_indexscan', 'off', true), "
    "set_config('plan_cache_mode', 'force_custom_plan', true)"
)
_INDEX_SETTINGS = text(
    "SELECT set_config('hnsw.ef_search', :ef, true), "
    "set_config('hnsw.iterative_scan', 'off', true), "
    "set_config('enable_seqscan', 'off', true), "
    "set_config('plan_cache_mode', 'force_custom_plan', true)"
)
_STORE = text(
    "INSERT INTO vector_search_tuning (index_name, k, target_recall, ef_search, recall_mean, "
    "recall_lower_bound, target_met, sample_size, row_count) VALUES (:index_name, :k, "
    ":target_recall, :ef_search, :recall_mean, :recall_lower_bound, :target_met, "
    ":sample_size, :row_count)"
)


@dataclass(frozen=True)
class EfMeasurement:
    """Recall@k measured at one ef_search."""

    ef_search: int
    recall_mean: float
    recall_lower_bound: float


@dataclass(frozen=True)
class TuningResult:
    """What a tuning run measured and stored."""

    index_name: str
    k: int
    target_recall: float
    ef_search: int
    recall_mean: float
    recall_lower_bound: float
    target_met: bool
    sample_size: int
    row_count: int
    sweep: list[EfMeasurement] = field(default_factory=list)
    queries: tuple[Any, ...] = ()
    """The recipe ids whose vectors were the queries (not in :meth:`as_dict`)."""

    def describe(self) -> str:
        """One line: the value stored and whether it meets the target."""
        verdict = "met" if self.target_met else "NOT met"
        return (
            f"ef_search {self.ef_search}: recall@{self.k} {self.recall_mean:.4f} "
            f"({CONFIDENCE:.0%} lower bound {self.recall_lower_bound:.4f}) on "
            f"{self.sample_size} sampled rows of {self.row_count}; target "
            f"{self.target_recall} {verdict}"
        )

    def as_dict(self) -> dict[str, Any]:
        """The figures (``sweep`` included, ``queries`` left out)."""
        figures = asdict(self)
        del figures["queries"]
        return figures


def recall_lower_bound(recalls: Sequence[float]) -> float:
    """One-sided 95 % lower confidence bound of the mean recall over the sampled queries.

    The queries are an independent random sample, so the mean of their recalls is
    approximately normal (n is in the hundreds; each recall is bounded in [0, 1]):
    ``mean - 1.645 * sd / sqrt(n)``. Sampling without replacement from a finite table only
    narrows the true interval, so the bound is conservative. When every query is perfect
    the standard deviation says nothing; then mean recall is at least the share of perfect
    queries, whose exact (Clopper-Pearson) bound after n perfect draws is ``0.05 ** (1/n)``
    (0.985 for 200 queries). Each ef_search gets its own bound; since recall grows with
    ef_search and the same queries are reused, the first value to pass is rarely a fluke.
    """
    n = len(recalls)
    if n == 0:
        return 0.0
    mean = statistics.fmean(recalls)
    if min(recalls) == 1.0:
        return float((1.0 - CONFIDENCE) ** (1.0 / n))
    spread = statistics.stdev(recalls) if n > 1 else 1.0
    return max(0.0, mean - Z_ONE_SIDED_95 * spread / math.sqrt(n))


def ef_ladder(k: int, max_ef: int) -> list[int]:
    """The ef_search values to try: those of :data:`EF_LADDER` from k to ``max_ef``, and
    ``max_ef`` itself."""
    return sorted({ef for ef in EF_LADDER if k <= ef <= max_ef} | {max_ef})


def _check(target_recall: float, k: int, sample: int, max_ef: int) -> None:
    if not 0.0 < target_recall <= 1.0:
        raise InvalidInputError("target recall must be above 0 and at most 1", field="target")
    if not 1 <= k <= 200:
        raise InvalidInputError("k must be between 1 and 200", field="k")
    if not 10 <= sample <= 10_000:
        raise InvalidInputError("sample must be between 10 and 10000 queries", field="sample")
    if not k <= max_ef <= 1000:
        raise InvalidInputError(f"max ef_search must be between k ({k}) and 1000", field="max_ef")


async def tune_ef_search(
    db: Database,
    *,
    target_recall: float = 0.95,
    k: int = 20,
    sample: int = 200,
    max_ef: int = 1000,
    min_ef: int = 1,
    seed: int | None = None,
    progress: Progress | None = None,
) -> TuningResult:
    """Measure recall@k of the HNSW index at increasing ef_search on ``sample`` stored
    vectors, store the smallest ef_search of at least ``min_ef`` whose lower bound meets
    ``target_recall`` (or the largest tried) in ``vector_search_tuning``, and return the
    figures. Runs on the primary.
    """
    _check(target_recall, k, sample, max_ef)
    if not 1 <= min_ef <= max_ef:
        raise InvalidInputError(
            f"min ef_search must be between 1 and max ef_search ({max_ef})", field="min_ef"
        )
    report = progress or (lambda _step, _done, _total: None)
    rng = np.random.default_rng(seed)
    async with db.write_engine.connect() as connection:
        row_count = int((await connection.execute(_COUNT)).scalar_one())
        if row_count <= k + 1:
            raise InvalidInputError(
                f"too few embeddings to tune: {row_count} stored, more than k + 1 = {k + 1} needed",
                field="k",
            )
        queries = await _sample(connection, row_count, min(sample, row_count), rng)
        await connection.rollback()
        ladder = sorted({*ef_ladder(k, max_ef), *([min_ef] if min_ef > k else [])})
        total = len(queries) * (1 + len(ladder))
        exact = []
        for done, (own, vector) in enumerate(queries):
            report("exact top-k (sequential scan)", done, total)
            exact.append(await _nearest(connection, vector, own, k, ef=None))
        sweep: list[EfMeasurement] = []
        for step, ef in enumerate(ladder):
            recalls = []
            for done, ((own, vector), truth) in enumerate(zip(queries, exact, strict=True)):
                report(f"HNSW ef_search={ef}", len(queries) * (1 + step) + done, total)
                found = await _nearest(connection, vector, own, k, ef=ef)
                recalls.append(recall_at_k(found, truth) or 0.0)
            sweep.append(EfMeasurement(ef, statistics.fmean(recalls), recall_lower_bound(recalls)))
            if sweep[-1].recall_lower_bound >= target_recall and ef >= min_ef:
                break
        report("done", total, total)
    chosen = sweep[-1]
    result = TuningResult(
        index_name=HNSW_INDEX,
        k=k,
        target_recall=target_recall,
        ef_search=chosen.ef_search,
        recall_mean=chosen.recall_mean,
        recall_lower_bound=chosen.recall_lower_bound,
        target_met=chosen.recall_lower_bound >= target_recall,
        sample_size=len(queries),
        row_count=row_count,
        sweep=sweep,
        queries=tuple(own for own, _ in queries),
    )
    async with db.write_engine.begin() as connection:
        stored = {key: value for key, value in result.as_dict().items() if key != "sweep"}
        await connection.execute(_STORE, stored)
    return result


async def _sample(
    connection: AsyncConnection, row_count: int, size: int, rng: np.random.Generator
) -> list[tuple[Any, str]]:
    percent = min(100.0, 200.0 * size / row_count)
    while True:
        params = {"percent": percent, "seed": float(rng.integers(1 << 30))}
        rows = (await connection.execute(_SAMPLE, params)).all()
        if len(rows) >= size or percent == 100.0:
            break
        percent = 100.0  # an unlucky draw on a small table: take every row
    picked = rng.choice(len(rows), size=min(size, len(rows)), replace=False)
    return [(rows[i][0], rows[i][1]) for i in sorted(picked)]


async def _nearest(
    connection: AsyncConnection, vector: str, own: Any, k: int, *, ef: int | None
) -> list[Any]:
    """The k recipes nearest to ``vector`` other than ``own``: exact when ``ef`` is None,
    else through the HNSW index at that ef_search. One transaction (the settings are local)."""
    async with connection.begin():
        if ef is None:
            await connection.execute(_EXACT_SETTINGS)
        else:
            await connection.execute(_INDEX_SETTINGS, {"ef": str(ef)})
        statement = _EXACT if ef is None else _APPROXIMATE
        rows = await connection.execute(statement, {"query": vector, "limit": k + 1})
        return [recipe for (recipe,) in rows if recipe != own][:k]
