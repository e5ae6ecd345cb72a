"""Idempotent reads ride out a short outage of a real server; writes are never retried."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import text

from datalayer.db import Database, idempotent_read
from datalayer.errors import UnavailableError, UnavailableReason
from datalayer.settings import load_settings
from tests.services import RestartablePostgres


class Counter:
    """A minimal repository: one decorated read, one plain write."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.read_calls = 0
        self.write_calls = 0

    @idempotent_read
    async def count(self) -> int:
        self.read_calls += 1
        async with self._db.read_transaction() as session:
            return int((await session.execute(text("SELECT count(*) FROM items"))).scalar_one())

    async def add(self) -> None:
        self.write_calls += 1
        async with self._db.transaction() as session:
            await session.execute(text("INSERT INTO items DEFAULT VALUES"))


@pytest.fixture
def retry_database(restartable_postgres: RestartablePostgres) -> Iterator[str]:
    name = f"retry_{uuid.uuid4().hex[:8]}"
    restartable_postgres.execute(f"CREATE DATABASE {name}")
    restartable_postgres.execute("CREATE TABLE items (id serial PRIMARY KEY)", name)
    yield restartable_postgres.url(name)
    restartable_postgres.start_again()
    restartable_postgres.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
async def counter(retry_database: str) -> AsyncIterator[Counter]:
    settings = load_settings(
        database_url=retry_database,
        database_pool_size=1,
        database_read_retry_attempts=8,
        database_read_retry_backoff_ms=200,
        database_read_retry_max_backoff_ms=1000,
    )
    database = Database.connect(retry_database, settings)
    yield Counter(database)
    await database.dispose()


async def test_a_read_retries_until_the_server_is_back(
    restartable_postgres: RestartablePostgres, counter: Counter
) -> None:
    assert await counter.count() == 0
    restartable_postgres.stop()
    restarted = asyncio.create_task(asyncio.to_thread(_start_later, restartable_postgres, 1.0))
    started = time.monotonic()
    assert await counter.count() == 0
    elapsed = time.monotonic() - started
    await restarted
    print(f"\n[retry] read succeeded after {counter.read_calls - 1} attempts, {elapsed:.2f} s")
    assert counter.read_calls > 2  # it failed at least once, then succeeded


async def test_a_write_is_not_retried(
    restartable_postgres: RestartablePostgres, counter: Counter
) -> None:
    await counter.add()
    restartable_postgres.stop()
    try:
        with pytest.raises(UnavailableError) as caught:
            await counter.add()
    finally:
        restartable_postgres.start_again()
    assert caught.value.reason in (UnavailableReason.REFUSED, UnavailableReason.CONNECTION_LOST)
    assert counter.write_calls == 2
    assert await counter.count() == 1


async def test_reads_give_up_after_the_configured_attempts(
    restartable_postgres: RestartablePostgres, counter: Counter
) -> None:
    assert await counter.count() == 0
    restartable_postgres.stop()
    try:
        with pytest.raises(UnavailableError):
            await counter.count()
    finally:
        restartable_postgres.start_again()
    assert counter.read_calls == 1 + 8


def _start_later(server: RestartablePostgres, delay_s: float) -> None:
    time.sleep(delay_s)
    server.start_again()


async def test_a_repository_read_rides_out_a_restart(
    restartable_postgres: RestartablePostgres,
) -> None:
    from datalayer.migrations import runner
    from datalayer.repositories.users import UserRepository

    name = f"retry_repo_{uuid.uuid4().hex[:8]}"
    restartable_postgres.execute(f"CREATE DATABASE {name}")
    url = restartable_postgres.url(name)
    runner.upgrade(url)
    settings = load_settings(
        database_url=url,
        database_pool_size=1,
        # Full jitter: 20 attempts wait about 9 s in all, past a restart that is slow to
        # come back on a loaded machine (8 attempts waited as little as 2 s).
        database_read_retry_attempts=20,
        database_read_retry_backoff_ms=200,
        database_read_retry_max_backoff_ms=1000,
    )
    database = Database.connect(url, settings)
    users = UserRepository(database, settings)
    try:
        user = await users.create_user({"username": "retry", "email": "retry@example.com"})
        restartable_postgres.stop()
        restarted = asyncio.create_task(asyncio.to_thread(_start_later, restartable_postgres, 1.0))
        assert await users.find_user_by_id(user.id) == user
        await restarted
    finally:
        await database.dispose()
        restartable_postgres.start_again()
        restartable_postgres.execute(f"DROP DATABASE {name} WITH (FORCE)")
