"""Full-text and hybrid search latency over the recipes.

The application path is :meth:`RecipeRepository.search_recipes` (one user's recipes,
``websearch_to_tsquery`` + ``ts_rank_cd``, GIN index on ``(user_id, search_vector)``); it is
measured for the users owning 10% and 1% of the recipes, and so is the hybrid search
(:meth:`RecipeSearchRepository.hybrid_search`: full-text and vector lists fused). A search
over every recipe, through raw psycopg, is reported for information only: the application
never searches across users.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
from psycopg import AsyncConnection
from rich.progress import Progress

from bench.dataset import Dataset
from bench.timing import latency_summary
from datalayer.db import Database
from datalayer.repositories.recipe_search import RecipeSearchRepository
from datalayer.repositories.recipes import RecipeRepository
from datalayer.settings import Settings

LIMIT = 20
WARM_UP = 20


def split_warm_up(queries: list[str]) -> tuple[list[str], list[str]]:
    """(warm-up, measured): the first :data:`WARM_UP` strings warm up, except any that is
    also among the measured ones, so no measured query ever runs warm."""
    measured = queries[WARM_UP:]
    seen = set(measured)
    return [query for query in queries[:WARM_UP] if query not in seen], measured


GLOBAL_SQL = """
SELECT r.id, ts_rank_cd(r.search_vector, q.query) AS rank, count(*) OVER () AS total
  FROM recipes AS r, websearch_to_tsquery('english', %(q)s) AS q(query)
 WHERE r.search_vector @@ q.query
 ORDER BY rank DESC, r.id
 LIMIT %(limit)s
"""


Search = Callable[[uuid.UUID, str, int], Awaitable[int]]
"""One search for (user, query text, query number); returns how many recipes it found."""


async def _per_user(
    search: Search,
    dataset: Dataset,
    user: int,
    queries: list[str],
    label: str,
    progress: Progress,
) -> dict[str, Any]:
    user_id = dataset.user_ids[user]
    warm_up, queries = split_warm_up(queries)
    for index, query in enumerate(warm_up):
        await search(user_id, query, -1 - index)
    seconds: list[float] = []
    totals: list[int] = []
    for index, query in enumerate(progress.track(queries, description=label)):
        started = time.perf_counter()
        found = await search(user_id, query, index)
        seconds.append(time.perf_counter() - started)
        totals.append(found)
    return {
        "rows_in_scope": int(dataset.rows_of(user).size),
        "matches_median": int(np.median(totals)),
        "matches_p95": int(np.percentile(totals, 95)),
        "no_match_share": round(float(np.mean(np.asarray(totals) == 0)), 3),
        **latency_summary(seconds),
    }


async def _global(url: str, queries: list[str], progress: Progress) -> dict[str, Any]:
    seconds: list[float] = []
    totals: list[int] = []
    warm_up, queries = split_warm_up(queries)
    async with await AsyncConnection.connect(url, autocommit=True) as connection:
        for query in warm_up:
            await connection.execute(GLOBAL_SQL, {"q": query, "limit": LIMIT})
        for query in progress.track(queries, description="full-text, all recipes (raw)"):
            started = time.perf_counter()
            cursor = await connection.execute(GLOBAL_SQL, {"q": query, "limit": LIMIT})
            rows = await cursor.fetchall()
            seconds.append(time.perf_counter() - started)
            totals.append(int(rows[0][2]) if rows else 0)
    return {
        "sql": GLOBAL_SQL.strip(),
        "matches_median": int(np.median(totals)),
        **latency_summary(seconds),
    }


async def full_text(
    db: Database, url: str, dataset: Dataset, queries: list[str], progress: Progress
) -> dict[str, Any]:
    """Per-user repository searches (the target) and a global raw search (information).

    ``queries`` holds :data:`WARM_UP` warm-up strings first, then the measured ones."""
    repository = RecipeRepository(db)

    async def search(user_id: uuid.UUID, query: str, _: int) -> int:
        return (await repository.search_recipes(user_id, query, limit=LIMIT)).total

    per_user = {
        name: await _per_user(search, dataset, user, queries, f"full-text {name} user", progress)
        for name, user in dataset.scoped_users.items()
    }
    return {
        "path": "RecipeRepository.search_recipes(user_id, query, limit=20)",
        "queries": len(split_warm_up(queries)[1]),
        "per_user": per_user,
        "all_recipes_raw_psycopg": await _global(url, queries, progress),
    }


async def hybrid(
    db: Database, settings: Settings, dataset: Dataset, queries: list[str], progress: Progress
) -> dict[str, Any]:
    """:meth:`RecipeSearchRepository.hybrid_search` for the same users and query texts as
    :func:`full_text`, each with a query vector of the dataset (warm-up texts with warm-up
    vectors): the latency of the one statement that runs both lists and fuses them."""
    repository = RecipeSearchRepository(db, settings)

    async def search(user_id: uuid.UUID, query: str, index: int) -> int:
        vectors = dataset.warm_up if index < 0 else dataset.queries
        vector = vectors[index % len(vectors)]
        return len(await repository.hybrid_search(user_id, query, vector, limit=LIMIT))

    per_user = {
        name: await _per_user(search, dataset, user, queries, f"hybrid {name} user", progress)
        for name, user in dataset.scoped_users.items()
    }
    return {
        "path": "RecipeSearchRepository.hybrid_search(user_id, query, vector, limit=20)",
        "queries": len(split_warm_up(queries)[1]),
        "per_user": per_user,
    }
