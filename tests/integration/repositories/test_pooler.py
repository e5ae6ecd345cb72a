"""Through a real PgBouncer in transaction mode: search settings never leak between clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest

from datalayer.db import Database
from datalayer.repositories.embeddings import EmbeddingRepository
from datalayer.settings import load_settings
from tests import factories
from tests.integration.repositories.conftest import Repos, new_user
from tests.services import PgBouncerHarness, PostgresHarness


@pytest.fixture
def bouncer(
    postgres: PostgresHarness, database_url: str, tmp_path: Path
) -> Iterator[PgBouncerHarness]:
    harness = PgBouncerHarness(tmp_path / "pgbouncer", postgres, database_url.rsplit("/", 1)[1])
    yield harness
    harness.stop()


async def test_search_settings_are_transaction_scoped_behind_pgbouncer(
    repos: Repos, bouncer: PgBouncerHarness
) -> None:
    owner = await new_user(repos)
    recipe = await repos.recipes.create_recipe(owner.id, {"title": "Soup"})
    await repos.embeddings.store_embedding(
        recipe.id, factories.embedding_vector(), "m", "1", factories.sha256("s")
    )
    settings = load_settings(
        database_url=bouncer.url, database_pgbouncer=True, hnsw_ef_search=321, database_pool_size=2
    )
    pooled = Database.connect(bouncer.url, settings)
    try:
        embeddings = EmbeddingRepository(pooled, settings)
        for _ in range(5):
            found = await embeddings.similarity_search(
                np.ones(1536), user_id=owner.id, distance_threshold=2.0
            )
            assert [match.recipe_id for match in found] == [recipe.id]
            unscoped = await embeddings.similarity_search(np.ones(1536), distance_threshold=2.0)
            assert [match.recipe_id for match in unscoped] == [recipe.id]
    finally:
        await pooled.dispose()

    # Every server connection PgBouncer hands out still has the server defaults.
    for _ in range(4):
        with psycopg.connect(bouncer.url, prepare_threshold=None) as client:
            ef_search = client.execute("SHOW hnsw.ef_search").fetchone()
            iterative = client.execute("SHOW hnsw.iterative_scan").fetchone()
            seqscan = client.execute("SHOW enable_seqscan").fetchone()
            plan_cache = client.execute("SHOW plan_cache_mode").fetchone()
        assert ef_search == ("40",) and iterative == ("off",) and seqscan == ("on",)
        assert plan_cache == ("auto",)
