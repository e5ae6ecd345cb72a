"""On a direct connection (no pooler) the search's settings and the search go out together
in one implicit transaction: in effect for the search, gone right after it on that same
connection, and a failed search leaves the connection as the pool expects it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import psycopg
import pytest
from sqlalchemy import text

from datalayer.db import Database
from datalayer.errors import ConflictError
from datalayer.repositories.embeddings import EmbeddingRepository
from datalayer.repositories.similarity import SCAN_STOPPED, driver_connection
from datalayer.settings import load_settings
from tests.integration.repositories.conftest import Repos, new_user
from tests.integration.repositories.support import random_embeddings

QUERY = np.random.default_rng(3).random(1536) - 0.5
SESSION_SETTINGS = (
    "SELECT pg_backend_pid(), current_setting('hnsw.ef_search'), "
    "current_setting('hnsw.iterative_scan'), current_setting('enable_sort'), "
    "current_setting('plan_cache_mode')"
)


@pytest.fixture
async def one_connection(
    repos: Repos, db: Database, database_url: str
) -> AsyncIterator[tuple[Database, EmbeddingRepository]]:
    await random_embeddings(db, {(await new_user(repos)).id: 200})
    settings = load_settings(
        database_url=database_url, database_pool_size=1, database_max_overflow=0
    )
    single = Database.connect(database_url, settings, read_urls=[])
    yield single, EmbeddingRepository(single, settings)
    await single.dispose()


async def session_state(database: Database) -> tuple[object, ...]:
    async with database.read_transaction() as session:
        await session.execute(text("LOAD 'vector'"))  # defines the hnsw.* settings
        return tuple((await session.execute(text(SESSION_SETTINGS))).one())


async def test_settings_hold_for_the_search_and_end_with_it(
    one_connection: tuple[Database, EmbeddingRepository],
) -> None:
    database, embeddings = one_connection
    pid, *defaults = await session_state(database)
    assert defaults == ["40", "off", "on", "auto"]
    for _ in range(3):
        found = await embeddings.similarity_search(
            QUERY, limit=20, distance_threshold=2.0, ef_search=7
        )
        assert (len(found), found.risk) == (7, SCAN_STOPPED)  # ef_search=7 was in effect
        assert await session_state(database) == (pid, *defaults)  # same connection, reset


async def test_a_failed_search_leaves_the_connection_clean(
    one_connection: tuple[Database, EmbeddingRepository], database_url: str
) -> None:
    database, embeddings = one_connection
    pid, *defaults = await session_state(database)
    async with database.transaction() as session:
        await session.execute(text("SET lock_timeout = 200"))  # this session only...
    with psycopg.connect(database_url) as holder:
        holder.execute("LOCK TABLE recipe_embeddings IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(ConflictError):  # lock_timeout: the search fails in the server
            await embeddings.similarity_search(QUERY, limit=20, distance_threshold=2.0)
        holder.rollback()
    async with database.read_transaction() as session:
        connection = await driver_connection(session)
        assert connection.autocommit is False
    # The same connection, with the failed search's settings gone with its transaction.
    assert await session_state(database) == (pid, *defaults)
    assert len(await embeddings.similarity_search(QUERY, limit=20, distance_threshold=2.0)) == 20
