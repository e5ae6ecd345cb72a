"""User-scoped similarity search on 3,000 rows, through both plans PostgreSQL can pick.

Left to itself the planner reads a user's rows exactly (through the user index for a small
user, a sequential scan for a big one) and the result is the true top-k. When the HNSW
index is used (forced here: sorting is disabled for the database, so only the index can
deliver the order), the iterative scan keeps reading the index until k of the user's rows
are found, even at an ef_search far below k.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import numpy as np
import pytest
from sqlalchemy import text

from datalayer.db import Database
from datalayer.repositories.embeddings import EmbeddingRepository
from datalayer.settings import Settings
from tests.integration.repositories.conftest import Repos, new_user
from tests.integration.repositories.support import (
    HNSW_INDEX,
    exact_neighbours,
    random_embeddings,
    search_snapshots,
)

ROWS = {"big": 2400, "small": 30, "rest": 570}
QUERY = np.random.default_rng(11).random(1536) - 0.5


@pytest.fixture
async def owners(repos: Repos, db: Database) -> dict[str, uuid.UUID]:
    ids = {name: (await new_user(repos)).id for name in ROWS}
    await random_embeddings(db, {ids[name]: count for name, count in ROWS.items()})
    return ids


@pytest.fixture
async def index_only_db(
    database_url: str, settings: Settings, owners: dict[str, uuid.UUID]
) -> AsyncIterator[Database]:
    """A connection pool whose sessions cannot sort: an ordered read must use the index."""
    database = Database.connect(database_url, settings)
    async with database.transaction() as session:
        name = (await session.execute(text("SELECT current_database()"))).scalar_one()
        await session.execute(text(f'ALTER DATABASE "{name}" SET enable_sort = off'))
    await database.dispose()
    yield database
    await database.dispose()


@pytest.mark.parametrize("owner", ["small", "big"])
async def test_the_planner_reads_a_users_rows_exactly(
    repos: Repos, db: Database, owners: dict[str, uuid.UUID], owner: str
) -> None:
    user = owners[owner]
    with search_snapshots(db.read_engine) as seen:
        found = await repos.embeddings.similarity_search(
            QUERY, limit=20, user_id=user, distance_threshold=2.0, ef_search=10
        )
    (run,) = seen
    assert run.iterative_scan == "relaxed_order"
    assert not any(HNSW_INDEX in scan for scan in run.scans), run.scans
    if owner == "small":  # plain or bitmap index scan, depending on the statistics
        assert any(scan.endswith("using ix_recipe_embeddings_user_id") for scan in run.scans)
    assert [match.recipe_id for match in found] == await exact_neighbours(db, QUERY, user, 20)


@pytest.mark.parametrize("owner", ["small", "big"])
async def test_the_hnsw_path_scans_iteratively_until_k_rows_match(
    index_only_db: Database,
    settings: Settings,
    owners: dict[str, uuid.UUID],
    owner: str,
) -> None:
    user = owners[owner]
    embeddings = EmbeddingRepository(index_only_db, settings)
    with search_snapshots(index_only_db.read_engine) as seen:
        found = await embeddings.similarity_search(
            QUERY, limit=20, user_id=user, distance_threshold=2.0, ef_search=10
        )
    (run,) = seen
    assert run.scans == [f"Index Scan using {HNSW_INDEX}"]
    assert (run.ef_search, run.iterative_scan) == ("10", "relaxed_order")
    # ef_search=10 alone would yield at most 10 index rows before the user filter.
    assert len(found) == 20
    async with index_only_db.transaction() as session:
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
