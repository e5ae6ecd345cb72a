"""Statement and idle-in-transaction timeouts hold directly and behind a real PgBouncer.

PgBouncer refuses the ``options`` startup parameter (the harness's PgBouncer ignores it, as
deployments often do, which silently drops it), so in PgBouncer mode the timeouts are set
at the start of each transaction; they must not leak to the pooler's other clients.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from datalayer.db import Database
from datalayer.errors import QueryTimeoutError, UnavailableError, UnavailableReason
from datalayer.settings import Settings, load_settings
from tests.services import PgBouncerHarness, PostgresHarness


@pytest.fixture
def bouncer(
    postgres: PostgresHarness, database_url: str, tmp_path: Path
) -> Iterator[PgBouncerHarness]:
    harness = PgBouncerHarness(tmp_path / "pgbouncer", postgres, database_url.rsplit("/", 1)[1])
    yield harness
    harness.stop()


@pytest.fixture(params=["direct", "pgbouncer"])
def target(request: pytest.FixtureRequest, database_url: str) -> tuple[str, bool]:
    """(URL, pgbouncer mode) for each way the application reaches PostgreSQL."""
    if request.param == "direct":
        return database_url, False
    bouncer: PgBouncerHarness = request.getfixturevalue("bouncer")
    return bouncer.url, True


def _settings(url: str, pgbouncer: bool, **overrides: object) -> Settings:
    return load_settings(
        database_url=url, database_pgbouncer=pgbouncer, database_pool_size=2, **overrides
    )


@pytest.fixture
async def timed_db(target: tuple[str, bool]) -> AsyncIterator[Database]:
    url, pgbouncer = target
    settings = _settings(
        url,
        pgbouncer,
        database_statement_timeout_ms=300,
        database_idle_in_transaction_timeout_ms=400,
    )
    database = Database.connect(url, settings)
    yield database
    await database.dispose()


async def test_a_long_statement_raises_query_timeout(timed_db: Database) -> None:
    async with timed_db.read_transaction() as session:
        shown = (await session.execute(text("SHOW statement_timeout"))).scalar_one()
    assert shown == "300ms"
    started = time.monotonic()
    with pytest.raises(QueryTimeoutError):
        async with timed_db.read_transaction() as session:
            await session.execute(text("SELECT pg_sleep(5)"))
    print(f"\n[timeout] statement cancelled after {(time.monotonic() - started) * 1000:.0f} ms")
    # The pool stays usable after a cancelled statement.
    async with timed_db.read_transaction() as session:
        assert (await session.execute(text("SELECT 1"))).scalar_one() == 1


async def test_a_transaction_left_idle_is_ended_by_the_server(timed_db: Database) -> None:
    with pytest.raises(UnavailableError) as caught:
        async with timed_db.transaction() as session:
            await session.execute(text("SELECT 1"))
            await asyncio.sleep(1.5)
            await session.execute(text("SELECT 1"))
    assert caught.value.reason is UnavailableReason.CONNECTION_LOST
    async with timed_db.read_transaction() as session:
        assert (await session.execute(text("SELECT 1"))).scalar_one() == 1


async def test_per_transaction_timeouts_do_not_leak_through_the_pooler(
    timed_db: Database, bouncer: PgBouncerHarness
) -> None:
    for _ in range(3):
        async with timed_db.read_transaction() as session:
            await session.execute(text("SELECT 1"))
    for _ in range(4):
        with psycopg.connect(bouncer.url, prepare_threshold=None) as client:
            assert client.execute("SHOW statement_timeout").fetchone() == ("0",)


async def test_cost_of_per_transaction_timeouts_behind_pgbouncer(
    bouncer: PgBouncerHarness,
) -> None:
    """Prints what the extra set_config round trip costs per transaction (interleaved runs)."""
    with_timeouts = Database.connect(bouncer.url, _settings(bouncer.url, True))
    without = Database.connect(
        bouncer.url,
        _settings(
            bouncer.url,
            True,
            database_statement_timeout_ms=0,
            database_idle_in_transaction_timeout_ms=0,
        ),
    )
    samples: dict[str, list[float]] = {"with": [], "without": []}
    shown: dict[str, str] = {}
    try:
        for round_ in range(400):
            for name, database in (("with", with_timeouts), ("without", without)):
                started = time.perf_counter()
                async with database.read_transaction() as session:
                    shown[name] = (await session.execute(text("SHOW statement_timeout"))).scalar()
                if round_ >= 50:
                    samples[name].append((time.perf_counter() - started) * 1000)
    finally:
        await with_timeouts.dispose()
        await without.dispose()
    medians = {name: statistics.median(values) for name, values in samples.items()}
    print(
        f"\n[cost] read transaction behind PgBouncer, median of 350: {medians['with']:.3f} ms "
        f"with per-transaction timeouts, {medians['without']:.3f} ms without "
        f"(+{medians['with'] - medians['without']:.3f} ms)"
    )
    assert shown == {"with": "30s", "without": "0"}
