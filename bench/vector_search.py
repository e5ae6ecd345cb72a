"""Similarity-search measurements: ef_search sweeps, repository vs raw psycopg, filters.

Every repository search is :meth:`EmbeddingRepository.similarity_search` with
``distance_threshold=2.0`` (the default 0.8 is a business rule that would cut results; 2.0
is the largest cosine distance). Each configuration starts on fresh connections, so no
prepared-statement plan is carried from one configuration to the next, and records how the
candidate pool was read (HNSW index, or the user's rows exactly), how many executions used
PostgreSQL's generic plan, and how many answers the repository flagged as at risk.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from pgvector.psycopg import register_vector_async
from psycopg import AsyncConnection
from rich.progress import Progress

from bench.dataset import Dataset
from bench.generator import IntArray, exact_top_k, recall_at_k
from bench.loading import HNSW_INDEX
from bench.statements import plan_cache_usage, raw_search, scan_plan
from bench.timing import latency_summary
from datalayer.db import Database
from datalayer.repositories.embeddings import EmbeddingRepository
from datalayer.repositories.similarity import SearchPlan

K = 20
NO_THRESHOLD = 2.0
EXACT_SCAN_QUERIES = 200


class Searcher:
    """Runs searches for the dataset's queries and scores them against the ground truth."""

    def __init__(
        self, db: Database, repository: EmbeddingRepository, dataset: Dataset, url: str
    ) -> None:
        self.db = db
        self.repository = repository
        self.dataset = dataset
        self.url = url
        self._row_of = {recipe_id: row for row, recipe_id in enumerate(dataset.recipe_ids)}
        self.at_risk: list[bool] = []  # per repository call, in order
        self.exact: list[bool] = []

    async def search(
        self, query: int, ef_search: int, user: int | None = None
    ) -> tuple[list[int], float]:
        """Rows the repository finds for query ``query`` and the call's duration (s)."""
        return await self.search_vector(self.dataset.queries[query], ef_search, user)

    async def warm_up(self, ef_search: int, user: int | None = None) -> None:
        """Run the dataset's warm-up queries (never the measured ones)."""
        for vector in self.dataset.warm_up:
            await self.search_vector(vector, ef_search, user)

    async def search_vector(
        self, vector: np.ndarray[Any, Any], ef_search: int, user: int | None = None
    ) -> tuple[list[int], float]:
        """Rows the repository finds for ``vector`` and the call's duration (s)."""
        user_id = None if user is None else self.dataset.user_ids[user]
        started = time.perf_counter()
        matches = await self.repository.similarity_search(
            vector,
            limit=K,
            user_id=user_id,
            distance_threshold=NO_THRESHOLD,
            ef_search=ef_search,
        )
        elapsed = time.perf_counter() - started
        self.at_risk.append(matches.at_risk)
        self.exact.append(matches.exact)
        return [self._row_of[match.recipe_id] for match in matches], elapsed

    def statements(self, ef_search: int, user: int | None = None) -> SearchPlan:
        """The statements of one repository call (for a warm-up query)."""
        return self.repository.plan_search(
            self.dataset.warm_up[0],
            K,
            None if user is None else self.dataset.user_ids[user],
            distance_threshold=NO_THRESHOLD,
            ef_search=ef_search,
        )

    def rows(self, recipe_ids: list[Any]) -> list[int]:
        return [self._row_of[recipe_id] for recipe_id in recipe_ids]

    async def run(
        self,
        ef_search: int,
        truth: IntArray,
        progress: Progress,
        *,
        user: int | None = None,
        label: str,
    ) -> dict[str, Any]:
        """Every query once through the repository, on fresh connections.

        When the planner does not use the HNSW index (an exact scan, hundreds of ms per
        query) only the first :data:`EXACT_SCAN_QUERIES` queries are run.
        """
        await self.db.dispose()
        async with await AsyncConnection.connect(self.url) as connection:
            await register_vector_async(connection)
            plan = await scan_plan(
                connection, self.statements(ef_search, user), self.dataset.queries[0]
            )
        count = truth.shape[0] if HNSW_INDEX in plan else min(truth.shape[0], EXACT_SCAN_QUERIES)
        await self.warm_up(ef_search, user)
        found: list[list[int]] = []
        seconds: list[float] = []
        self.at_risk, self.exact = [], []
        for query in progress.track(range(count), description=label):
            rows, elapsed = await self.search(query, ef_search, user)
            found.append(rows)
            seconds.append(elapsed)
        cache = await plan_cache_usage(self.db)
        return {
            **score(found, truth[:count], seconds, ef_search),
            "plan": plan,
            "at_risk_share": round(float(np.mean(self.at_risk)), 3),
            "exact_share": round(float(np.mean(self.exact)), 3),
            **cache,
        }


def score(
    found: list[list[int]], truth: IntArray, seconds: list[float], ef_search: int
) -> dict[str, Any]:
    """recall@20 (mean, min, share of perfect queries), rows returned and latency."""
    recalls = np.asarray(recall_at_k(found, truth))
    return {
        "ef_search": ef_search,
        "recall_at_20": round(float(recalls.mean()), 4),
        "recall_min": round(float(recalls.min()), 2),
        "perfect_share": round(float((recalls == 1.0).mean()), 3),
        "min_rows": min(len(rows) for rows in found),
        **latency_summary(seconds),
    }


async def repository_sweep(
    searcher: Searcher, truth: IntArray, ef_values: list[int], progress: Progress
) -> list[dict[str, Any]]:
    """The shipped path (repository) at each ef_search, unfiltered."""
    return [
        await searcher.run(ef, truth, progress, label=f"repository ef_search={ef}")
        for ef in ef_values
    ]


async def index_sweep(
    searcher: Searcher, truth: IntArray, ef_values: list[int], progress: Progress
) -> list[dict[str, Any]]:
    """The HNSW index itself at each ef_search: the repository's SQL through raw psycopg
    with ``enable_seqscan = off`` as well (the repository's ``enable_sort = off`` already
    keeps the planner on the index)."""
    queries = searcher.dataset.queries
    results = []
    for ef in ef_values:
        statements = searcher.statements(ef)
        async with await AsyncConnection.connect(searcher.url) as connection:
            await register_vector_async(connection)
            for vector in searcher.dataset.warm_up:
                await raw_search(connection, statements, vector, force_index=True)
            found: list[list[int]] = []
            seconds: list[float] = []
            for query in progress.track(range(truth.shape[0]), description=f"HNSW ef_search={ef}"):
                ids, elapsed = await raw_search(
                    connection, statements, queries[query], force_index=True
                )
                found.append(searcher.rows(ids))
                seconds.append(elapsed)
            plan = await scan_plan(connection, statements, queries[0], force_index=True)
        results.append({**score(found, truth, seconds, ef), "plan": plan})
    return results


async def filtered(
    searcher: Searcher, ef_search: int, progress: Progress
) -> dict[str, dict[str, Any]]:
    """User-scoped searches at each selectivity, against the exact top-20 in scope."""
    dataset = searcher.dataset
    results: dict[str, dict[str, Any]] = {}
    for name, user in dataset.scoped_users.items():
        scope = dataset.rows_of(user)
        truth, _ = exact_top_k(dataset.vectors, dataset.queries, K, subset=scope)
        outcome = await searcher.run(
            ef_search, truth, progress, user=user, label=f"filtered {name}"
        )
        results[name] = {"rows_in_scope": int(scope.size), **outcome}
    return results


async def repository_vs_raw(
    searcher: Searcher, ef_search: int, progress: Progress
) -> dict[str, Any]:
    """p50/p95 of the repository call and of raw psycopg sending the same statements.

    Both run every query, one right after the other, so both see the same machine load;
    which goes first alternates from query to query, since the second run of a query
    finds the index pages it reads still in the CPU caches.
    """
    await searcher.db.dispose()
    statements = searcher.statements(ef_search)
    queries = searcher.dataset.queries
    repository_s: list[float] = []
    raw_s: list[float] = []
    async with await AsyncConnection.connect(searcher.url) as connection:
        await register_vector_async(connection)
        for vector in searcher.dataset.warm_up:
            await raw_search(connection, statements, vector)
            await searcher.search_vector(vector, ef_search)
        for query in progress.track(range(queries.shape[0]), description="repository vs raw"):
            if query % 2:
                raw_s.append((await raw_search(connection, statements, queries[query]))[1])
            repository_s.append((await searcher.search(query, ef_search))[1])
            if not query % 2:
                raw_s.append((await raw_search(connection, statements, queries[query]))[1])
    repository, raw = latency_summary(repository_s), latency_summary(raw_s)
    return {
        "ef_search": ef_search,
        "sql": statements.sql.strip(),
        "repository": repository,
        "raw_psycopg": raw,
        "p50_ratio": round(repository["p50_ms"] / raw["p50_ms"], 3),
        "p95_ratio": round(repository["p95_ms"] / raw["p95_ms"], 3),
        "note": "same SQL text, parameters and set_config, both pipelined (settings and "
        "search in one round trip and one implicit transaction), vectors in binary, the "
        "order of the two alternating per query; the repository adds validation, the pool "
        "checkout (with its liveness check, no round trip), routing, retries, metrics and "
        "the result models",
    }
