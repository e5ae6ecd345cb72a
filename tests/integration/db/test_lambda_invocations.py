"""A Lambda runs ``asyncio.run`` once per invocation on the same module-level Database."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from datalayer.db import Database
from datalayer.settings import load_settings


def test_one_database_serves_invocations_on_successive_event_loops(database_url: str) -> None:
    settings = load_settings(database_url=database_url, aws_lambda_function_name="recipe-fn")
    assert (settings.database_pool_size, settings.database_max_overflow) == (2, 0)
    database = Database.connect(database_url, settings)  # built once, at cold start

    async def invocation() -> tuple[int, int]:
        async with database.transaction() as session:
            backend = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with database.read_transaction() as session:
            one = (await session.execute(text("SELECT 1"))).scalar_one()
        return int(backend), int(one)

    first_backend, _ = asyncio.run(invocation())
    second_backend, one = asyncio.run(invocation())
    third_backend, _ = asyncio.run(invocation())
    assert one == 1
    # The pooled connection survives the closed loop: later invocations reuse it.
    assert first_backend == second_backend == third_backend
    asyncio.run(database.dispose())
