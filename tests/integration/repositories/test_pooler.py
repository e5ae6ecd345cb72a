"""Through a real PgBouncer in transaction mode with ONE server connection: the search
settings are in effect inside the search's own transaction (the HNSW index is used at the
chosen ef_search) and are gone for the next client of that same server connection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest

from datalayer.db import Database
from datalayer.repositories.embeddings import EmbeddingRepository
from datalayer.settings import load_settings
from tests.integration.repositories.conftest import Repos, new_user
from tests.integration.repositories.support import (
    HNSW_INDEX,
    random_embeddings,
    search_snapshots,
)
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
    await random_embeddings(db, {owner: 60})
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
        with search_snapshots(pooled.read_engine) as seen:
            for _ in range(3):
                unscoped = await embeddings.similarity_search(
                    query, limit=20, distance_threshold=2.0
                )
                scoped = await embeddings.similarity_search(
                    query, limit=20, user_id=owner, distance_threshold=2.0
                )
                # The index scan stopped at ef_search candidates; the user-scoped search
                # (iterative scan allowed) is not capped.
                assert (len(unscoped), len(scoped)) == (EF_SEARCH, 20)
    finally:
        await pooled.dispose()

    unscoped_runs, scoped_runs = seen[0::2], seen[1::2]
    assert len(seen) == 6
    for run in unscoped_runs:
        assert (run.ef_search, run.iterative_scan) == (str(EF_SEARCH), "off")
        assert run.scans == [f"Index Scan using {HNSW_INDEX}"]
        assert run.results == EF_SEARCH
    for run in scoped_runs:
        assert (run.ef_search, run.iterative_scan) == (str(EF_SEARCH), "relaxed_order")
    server = {run.backend_pid for run in seen}
    assert len(server) == 1  # one server connection served every transaction

    # The next clients get that same server connection, with the server defaults.
    for _ in range(3):
        with psycopg.connect(bouncer.url, prepare_threshold=None) as client:
            row = client.execute(
                "SELECT pg_backend_pid(), current_setting('hnsw.ef_search'), "
                "current_setting('hnsw.iterative_scan'), current_setting('enable_seqscan'), "
                "current_setting('plan_cache_mode')"
            ).fetchone()
        assert row == (*server, "40", "off", "on", "auto")
