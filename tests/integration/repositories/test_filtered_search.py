"""User-scoped similarity search on 3,000 rows: the plan is chosen by the size of the scope.

A user owning fewer rows than ``max(1000, 10 * sqrt(table rows))`` (here 1,000) is read
exactly through the user index, which gives the true top-k; a bigger one goes through the
HNSW index with an iterative scan, which reads on until k of the user's rows are found, even
at an ef_search far below k. Both plans are in the one statement; the branch not taken is
never executed, and a prepared statement's generic plan keeps both branches as they are.
"""

from __future__ import annotations

import re
import uuid

import numpy as np
import pytest
from sqlalchemy import text

from datalayer.db import Database
from datalayer.repositories.embeddings import EmbeddingRepository
from datalayer.repositories.similarity import LOW_EF_SEARCH, driver_connection
from datalayer.settings import load_settings
from tests.integration.repositories.conftest import Repos, new_user
from tests.integration.repositories.support import (
    HNSW_INDEX,
    exact_neighbours,
    executed_scans,
    random_embeddings,
)

ROWS = {"big": 2400, "small": 30, "rest": 570}
QUERY = np.random.default_rng(11).random(1536) - 0.5
USER_INDEX = "ix_recipe_embeddings_user_id"


@pytest.fixture
async def owners(repos: Repos, db: Database) -> dict[str, uuid.UUID]:
    ids = {name: (await new_user(repos)).id for name in ROWS}
    await random_embeddings(db, {ids[name]: count for name, count in ROWS.items()})
    return ids


async def test_a_small_scope_is_read_exactly(
    repos: Repos, db: Database, owners: dict[str, uuid.UUID]
) -> None:
    user = owners["small"]
    found = await repos.embeddings.similarity_search(
        QUERY, limit=20, user_id=user, distance_threshold=2.0, ef_search=10
    )
    assert found.exact and not found.at_risk  # ef_search does not matter to an exact scan
    assert [match.recipe_id for match in found] == await exact_neighbours(db, QUERY, user, 20)
    plan = repos.embeddings.plan_search(QUERY, 20, user, distance_threshold=2.0)
    scans = [scan for scan in await executed_scans(db, plan) if scan.startswith("candidates")]
    assert any(scan.endswith(f"using {USER_INDEX}") for scan in scans), scans
    assert not any(HNSW_INDEX in scan or "Seq Scan" in scan for scan in scans), scans


async def test_a_large_scope_goes_through_the_index_until_k_rows_match(
    repos: Repos, db: Database, owners: dict[str, uuid.UUID]
) -> None:
    user = owners["big"]
    found = await repos.embeddings.similarity_search(
        QUERY, limit=20, user_id=user, distance_threshold=2.0, ef_search=10
    )
    assert not found.exact
    # ef_search=10 alone would yield at most 10 index rows before the user filter.
    assert len(found) == 20
    assert (found.at_risk, found.risk) == (True, LOW_EF_SEARCH)  # below the configured 120
    async with db.transaction() as session:
        owned = (
            await session.execute(
                text(
                    "SELECT count(*) FROM recipe_embeddings WHERE user_id = :user "
                    "AND recipe_id = ANY(:ids)"
                ),
                {"user": user, "ids": [match.recipe_id for match in found]},
            )
        ).scalar_one()
    assert owned == 20
    distances = [match.distance for match in found]
    assert distances == sorted(distances)
    plan = repos.embeddings.plan_search(QUERY, 20, user, distance_threshold=2.0, ef_search=10)
    scans = [scan for scan in await executed_scans(db, plan) if scan.startswith("candidates")]
    assert scans == [f"candidates: Index Scan using {HNSW_INDEX}"]

    at_default = await repos.embeddings.similarity_search(
        QUERY, limit=20, user_id=user, distance_threshold=2.0
    )
    assert len(at_default) == 20 and not at_default.at_risk


def generic_form(sql: str) -> str:
    """The statement with ``$n`` parameters, as PostgreSQL prepares it."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return re.sub(r"%\((\w+)\)s", number, sql)


async def test_the_generic_plan_keeps_both_branches(
    repos: Repos, db: Database, owners: dict[str, uuid.UUID]
) -> None:
    plan = repos.embeddings.plan_search(QUERY, 20, owners["small"], distance_threshold=2.0)
    async with db.read_transaction() as session:
        connection = await driver_connection(session)
        await connection.execute(plan.settings_sql, plan.settings_params)
        cursor = await connection.execute(
            "EXPLAIN (GENERIC_PLAN, COSTS OFF) " + generic_form(plan.sql)
        )
        lines = [row[0] for row in await cursor.fetchall()]
    shown = "\n".join(lines)
    assert f"Index Scan using {HNSW_INDEX}" in shown  # the large-scope branch
    assert USER_INDEX in shown.split(HNSW_INDEX)[0]  # the exact branch reads the user index
    assert shown.count("One-Time Filter") >= 2


async def test_repeated_searches_on_one_connection_stay_right(
    database_url: str, owners: dict[str, uuid.UUID]
) -> None:
    """Ten searches per scope on one connection: prepared, then generic plans; each scope
    still gets its own plan and the exact answer where it is exact."""
    settings = load_settings(database_url=database_url, database_pool_size=1)
    database = Database.connect(database_url, settings, read_urls=[])
    try:
        embeddings = EmbeddingRepository(database, settings)
        expected = await exact_neighbours(database, QUERY, owners["small"], 20)
        for _ in range(10):
            small = await embeddings.similarity_search(
                QUERY, limit=20, user_id=owners["small"], distance_threshold=2.0
            )
            big = await embeddings.similarity_search(
                QUERY, limit=20, user_id=owners["big"], distance_threshold=2.0
            )
            assert small.exact and [m.recipe_id for m in small] == expected
            assert not big.exact and len(big) == 20
        async with database.read_transaction() as session:
            generic = (
                await session.execute(
                    text(
                        "SELECT coalesce(sum(generic_plans), 0) FROM pg_prepared_statements "
                        "WHERE statement LIKE '%candidates AS MATERIALIZED%'"
                    )
                )
            ).scalar_one()
        assert generic > 0
    finally:
        await database.dispose()
