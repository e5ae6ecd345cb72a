"""Every search result says when it is at risk of being incomplete, from what really happened
in the database: an index scan cut short (``hnsw.max_scan_tuples``, a small ef_search),
inactive owners crowding the candidate pool, or an ef_search below the configured one."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import numpy as np
import pytest
from sqlalchemy import text

from datalayer.db import Database
from datalayer.repositories.embeddings import EmbeddingRepository
from datalayer.repositories.similarity import INACTIVE_CROWDING, SCAN_STOPPED
from datalayer.schemas.embeddings import EmbeddingIn, SearchResults, SimilarityMatchOut
from datalayer.settings import Settings, load_settings
from tests import factories
from tests.integration.repositories.conftest import Repos, new_user
from tests.integration.repositories.support import random_embeddings

QUERY = np.concatenate([[20.0], np.random.default_rng(11).random(1535) - 0.5])
EF_SEARCH = 20  # the configured value in these tests: only a cut-short scan is at risk


@pytest.fixture
async def owners(repos: Repos, db: Database) -> dict[str, uuid.UUID]:
    """``others`` around the query, ``big`` (1,200 rows: searched through the index) and
    ``small`` (exact) on the opposite side, so the index reaches them late."""
    ids = {name: (await new_user(repos)).id for name in ("others", "big", "small")}
    await random_embeddings(
        db,
        {ids["others"]: 1700, ids["big"]: 1200, ids["small"]: 100},
        first_component={ids["others"]: 20.0, ids["big"]: -20.0, ids["small"]: -20.0},
    )
    return ids


@asynccontextmanager
async def repository_with(
    database_url: str, settings: Settings, **server: str
) -> AsyncIterator[EmbeddingRepository]:
    """A repository on its own pool whose sessions start with ``server`` settings."""
    database = Database.connect(database_url, settings, read_urls=[])
    async with database.transaction() as session:
        name = (await session.execute(text("SELECT current_database()"))).scalar_one()
        for setting, value in server.items():
            await session.execute(text(f'ALTER DATABASE "{name}" SET {setting} = {value}'))
    await database.dispose()
    try:
        yield EmbeddingRepository(database, settings)
    finally:
        async with database.transaction() as session:
            for setting in server:
                await session.execute(text(f'ALTER DATABASE "{name}" RESET {setting}'))
        await database.dispose()


async def test_an_iterative_scan_stopped_by_max_scan_tuples_is_at_risk(
    database_url: str, owners: dict[str, uuid.UUID]
) -> None:
    settings = load_settings(database_url=database_url, hnsw_ef_search=EF_SEARCH)

    async def search(
        embeddings: EmbeddingRepository, owner: str
    ) -> SearchResults[SimilarityMatchOut]:
        return await embeddings.similarity_search(
            QUERY, limit=20, user_id=owners[owner], distance_threshold=2.0
        )

    async with repository_with(database_url, settings) as embeddings:
        complete = await search(embeddings, "big")
        assert (len(complete), complete.exact, complete.at_risk) == (20, False, False)
    async with repository_with(
        database_url, settings, **{"hnsw.max_scan_tuples": "1"}
    ) as embeddings:
        cut = await search(embeddings, "big")
        # The scan visits the others' rows near the query first and may not go on to the
        # big user's: fewer than 20 come back although 1,200 match.
        assert len(cut) < 20
        assert (cut.at_risk, cut.risk) == (True, SCAN_STOPPED)
        small = await search(embeddings, "small")  # an exact scan: the setting is moot
        assert (len(small), small.exact, small.at_risk, small.risk) == (20, True, False, None)


async def near_and_far_corpus(repos: Repos) -> tuple[uuid.UUID, uuid.UUID, np.ndarray]:
    """60 recipes of one user right around a query and 30 of another farther away."""
    rng = np.random.default_rng(5)
    query = rng.normal(size=1536)
    near, far = await new_user(repos), await new_user(repos)
    rows = []
    for owner, count, spread in ((near.id, 60, 0.3), (far.id, 30, 1.0)):
        for index in range(count):
            recipe = await repos.recipes.create_recipe(owner, {"title": f"Dish {index}"})
            rows.append(
                EmbeddingIn(
                    recipe_id=recipe.id,
                    user_id=owner,
                    embedding=query + spread * rng.normal(size=1536),
                    model="m",
                    model_version="1",
                    source_text_hash=factories.sha256("x"),
                )
            )
    await repos.embeddings.bulk_load(rows)
    return near.id, far.id, query


async def test_inactive_owners_crowding_the_pool_put_a_search_at_risk(repos: Repos) -> None:
    near, _, query = await near_and_far_corpus(repos)
    before = await repos.embeddings.similarity_search(query, limit=20, distance_threshold=2.0)
    assert (len(before), before.at_risk) == (20, False)

    await repos.users.request_data_deletion(near)
    # The 50 candidates are all the inactive user's: nothing of the other user is returned
    # although 30 of their recipes match.
    after = await repos.embeddings.similarity_search(query, limit=20, distance_threshold=2.0)
    assert (len(after), after.at_risk, after.risk) == (0, True, INACTIVE_CROWDING)
    hydrated = await repos.embeddings.similarity_search(
        query, limit=20, distance_threshold=2.0, hydrate=True
    )
    assert (hydrated.at_risk, hydrated.risk) == (True, INACTIVE_CROWDING)


async def test_hydrated_and_batch_searches_report_a_cut_short_scan(repos: Repos) -> None:
    _, _, query = await near_and_far_corpus(repos)
    hydrated = await repos.embeddings.similarity_search(
        query, limit=20, distance_threshold=2.0, ef_search=7, hydrate=True
    )
    # Without iterative scans the index stops at ef_search rows: 7 of the 90 that match.
    assert (len(hydrated), hydrated.risk) == (7, SCAN_STOPPED)
    assert hydrated[0].recipe.title.startswith("Dish")

    batch = await repos.embeddings.batch_similarity_search(
        [query, -query], limit=20, distance_threshold=2.0, ef_search=7
    )
    assert [(len(result), result.risk) for result in batch] == [(7, SCAN_STOPPED)] * 2
    fine = await repos.embeddings.batch_similarity_search(
        [query, -query], limit=20, distance_threshold=2.0
    )
    assert [(len(result), result.at_risk) for result in fine] == [(20, False)] * 2
