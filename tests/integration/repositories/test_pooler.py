"""Through a real PgBouncer in transaction mode with ONE server connection: the search
settings, pipelined with the search, are in effect inside the search's own transaction (the
index stops at the chosen ef_search; a user-scoped search scans on iteratively) and are gone
for the next client of that same server connection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest

from datalayer.db import Database
from datalayer.repositories.embeddings import EmbeddingRepository
from datalayer.repositories.similarity import SCAN_STOPPED
from datalayer.settings import load_settings
from tests.integration.repositories.conftest import Repos, new_user
from tests.integration.repositories.support import random_embeddings
from tests.services import PgBouncerHarness, PostgresHarness

EF_SEARCH = 7  # below the 20 rows asked for: an HNSW scan at this ef_search returns 7


@pytest.fixture
def bouncer(
    postgres: PostgresHarness, database_url: str, tmp_path: Path
) -> Iterator[PgBouncerHarness]:
    harness = PgBouncerHarness(
        tmp_path / "pgbouncer", postgres, database_url.rsplit("/", 1)[1], pool_size=1
    )
    yield harness
    harness.stop()


async def test_search_settings_apply_inside_the_transaction_and_never_leak(
    repos: Repos, db: Database, bouncer: PgBouncerHarness
) -> None:
    owner = (await new_user(repos)).id
    await random_embeddings(db, {owner: 1000})  # enough rows for the index path
    settings = load_settings(
        database_url=bouncer.url,
        database_pgbouncer=True,
        hnsw_ef_search=EF_SEARCH,
        database_pool_size=1,
        database_max_overflow=0,
    )
    pooled = Database.connect(bouncer.url, settings)
    query = np.random.default_rng(3).random(1536) - 0.5
    try:
        embeddings = EmbeddingRepository(pooled, settings)
        for _ in range(3):
            unscoped = await embeddings.similarity_search(query, limit=20, distance_threshold=2.0)
            scoped = await embeddings.similarity_search(
                query, limit=20, user_id=owner, distance_threshold=2.0
            )
            # The index scan stopped at ef_search candidates (and says so); the user-scoped
            # search (iterative scan) is not capped.
            assert (len(unscoped), unscoped.risk) == (EF_SEARCH, SCAN_STOPPED)
            assert (len(scoped), scoped.exact, scoped.at_risk) == (20, False, False)
    finally:
        await pooled.dispose()

    # The next clients get that same server connection, with the server defaults.
    pids = set()
    for _ in range(3):
        with psycopg.connect(bouncer.url, prepare_threshold=None) as client:
            row = client.execute(
                "SELECT pg_backend_pid(), current_setting('hnsw.ef_search'), "
                "current_setting('hnsw.iterative_scan'), current_setting('enable_sort'), "
                "current_setting('plan_cache_mode')"
            ).fetchone()
        assert row is not None and row[1:] == ("40", "off", "on", "auto")
        pids.add(row[0])
    assert len(pids) == 1
