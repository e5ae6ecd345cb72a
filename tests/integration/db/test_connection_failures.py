"""Each way of failing to connect becomes UnavailableError with an actionable reason.

Real endpoints only: a black-hole socket, a closed port, the session's PostgreSQL with a
wrong password or database, and a host name under the reserved ``.invalid`` domain. The
time each takes to fail is printed (run with ``-s``) for the issue note.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from datalayer.db import Database
from datalayer.errors import UnavailableError, UnavailableReason
from datalayer.local.postgres import free_port
from datalayer.settings import load_settings
from tests.services import BlackHoleServer, PostgresHarness

CONNECT_TIMEOUT_S = 2


async def _fail_to_read(url: str) -> tuple[UnavailableError, float]:
    settings = load_settings(database_connect_timeout_s=CONNECT_TIMEOUT_S, database_pool_size=1)
    database = Database.connect(url, settings)
    started = time.monotonic()
    try:
        with pytest.raises(UnavailableError) as caught:
            async with database.read_transaction() as session:
                await session.execute(text("SELECT 1"))
        return caught.value, time.monotonic() - started
    finally:
        await database.dispose()


def _report(case: str, error: UnavailableError, elapsed: float) -> None:
    print(f"\n[fault] {case}: {error.reason} after {elapsed * 1000:.0f} ms: {error}")


async def test_a_black_hole_fails_within_the_connect_timeout(black_hole: BlackHoleServer) -> None:
    error, elapsed = await _fail_to_read(black_hole.url())
    _report("black hole", error, elapsed)
    assert error.reason is UnavailableReason.TIMED_OUT
    assert error.transient
    # Generous bound: without a connect timeout this call never returns.
    assert elapsed < CONNECT_TIMEOUT_S + 10


async def test_a_closed_port_is_refused() -> None:
    error, elapsed = await _fail_to_read(f"postgresql://app:pw@127.0.0.1:{free_port()}/recipes")
    _report("refused", error, elapsed)
    assert error.reason is UnavailableReason.REFUSED
    assert error.transient


async def test_a_wrong_password_is_an_authentication_failure(postgres: PostgresHarness) -> None:
    url = make_url(postgres.url("postgres")).set(password="wrong-secret-pw")
    error, elapsed = await _fail_to_read(url.render_as_string(hide_password=False))
    _report("wrong password", error, elapsed)
    assert error.reason is UnavailableReason.AUTHENTICATION_FAILED
    assert not error.transient  # retrying the same password cannot help
    assert "wrong-secret-pw" not in str(error) and error.__cause__ is None


async def test_an_unknown_database_is_named_as_such(postgres: PostgresHarness) -> None:
    error, elapsed = await _fail_to_read(postgres.url("no_such_database"))
    _report("unknown database", error, elapsed)
    assert error.reason is UnavailableReason.UNKNOWN_DATABASE
    assert not error.transient


async def test_an_unresolvable_host_name() -> None:
    error, elapsed = await _fail_to_read("postgresql://app:hunter2pw@db.recipes.invalid/recipes")
    _report("name not resolved", error, elapsed)
    assert error.reason is UnavailableReason.NAME_NOT_RESOLVED
    assert "hunter2pw" not in str(error)


async def test_an_exhausted_pool_is_reported_as_such(database_url: str) -> None:
    settings = load_settings(database_pool_size=1, database_max_overflow=0, database_pool_timeout=1)
    database = Database.connect(database_url, settings)
    try:
        async with database.transaction() as held:
            await held.execute(text("SELECT 1"))
            started = time.monotonic()
            with pytest.raises(UnavailableError) as caught:
                async with database.read_transaction() as session:
                    await session.execute(text("SELECT 1"))
            _report("pool exhausted", caught.value, time.monotonic() - started)
    finally:
        await database.dispose()
    assert caught.value.reason is UnavailableReason.POOL_EXHAUSTED
    assert caught.value.transient
