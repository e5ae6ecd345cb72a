"""``Database.driver_read``: a pooled psycopg connection for one read, routed as a read
transaction is, with its timeouts in PgBouncer mode, its driver errors translated."""

from __future__ import annotations

import pytest

from datalayer.db import Database
from datalayer.errors import DataLayerError, UnavailableError
from datalayer.local.postgres import free_port
from datalayer.settings import load_settings


async def _run(db: Database, sql: str) -> tuple[object, ...]:
    async with db.driver_read() as connection:
        cursor = await connection.driver_connection.execute(sql)
        row = await cursor.fetchone()
        await connection.driver_connection.rollback()
    assert row is not None
    return tuple(row)


async def test_in_pgbouncer_mode_the_timeouts_hold_for_the_lent_connection(
    database_url: str,
) -> None:
    settings = load_settings(
        database_url=database_url, database_pgbouncer=True, database_statement_timeout_ms=4321
    )
    db = Database.connect(database_url, settings, read_urls=[])
    try:
        assert await _run(db, "SELECT current_setting('statement_timeout')") == ("4321ms",)
    finally:
        await db.dispose()


async def test_an_unreachable_replica_is_skipped_and_marked_down(database_url: str) -> None:
    settings = load_settings(database_url=database_url, database_connect_timeout_s=2)
    dead = f"postgresql://app:pw@127.0.0.1:{free_port()}/recipes"
    db = Database.connect(database_url, settings, read_urls=[dead])
    try:
        assert await _run(db, "SELECT pg_is_in_recovery()") == (False,)
        assert db.routing.statuses()[0].reachable is False
    finally:
        await db.dispose()


async def test_driver_errors_are_translated(database_url: str) -> None:
    settings = load_settings(
        database_url=database_url, database_pool_size=1, database_max_overflow=0
    )
    db = Database.connect(database_url, settings, read_urls=[])
    try:
        with pytest.raises(DataLayerError) as caught:
            await _run(db, "SELECT pg_terminate_backend(pg_backend_pid())")
        assert isinstance(caught.value, UnavailableError)
        assert await _run(db, "SELECT 1") == (1,)  # the broken connection was not pooled again
    finally:
        await db.dispose()
