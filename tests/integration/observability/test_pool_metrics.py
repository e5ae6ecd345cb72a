"""Pool usage of a real engine follows checkouts and checkins."""

from __future__ import annotations

from contextlib import AsyncExitStack

import pytest
from sqlalchemy import text

from datalayer.db import Database
from datalayer.errors import ConfigurationError
from datalayer.metric_names import Metric
from datalayer.observability.pool import PoolMonitor
from datalayer.observability.setup import instrument_engines
from datalayer.settings import Settings
from tests.unit.observability.test_emitter import emf_emitter


async def test_pool_gauges_follow_connections_in_use(db: Database, settings: Settings) -> None:
    capacity = settings.database_pool_size + settings.database_max_overflow
    emitter, documents = emf_emitter()
    monitor = PoolMonitor.install(
        db.write_engine, name="primary", capacity=capacity, emitter=emitter
    )
    async with AsyncExitStack() as stack:
        for _ in range(3):
            connection = await stack.enter_async_context(db.write_engine.connect())
            await connection.execute(text("SELECT 1"))
        held = monitor.sample()
        assert (held.in_use, held.idle) == (3, 0)
        assert held.percent == pytest.approx(300 / capacity)
    released = monitor.sample()
    assert (released.in_use, released.idle) == (0, 3)
    emitter.flush()
    (document,) = documents
    assert document["Pool"] == "primary"
    assert document["PoolConnectionsInUse"] == [0.0]  # gauges keep the last value
    assert document["PoolConnectionsIdle"] == [3.0]
    assert document["PoolUsage"] == [0.0]
    dimensions = document["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    assert dimensions == [["Environment"], ["Environment", "Pool"]]
    assert {m["Name"] for m in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]} == {
        Metric.POOL_CONNECTIONS_IN_USE,
        Metric.POOL_CONNECTIONS_IDLE,
        Metric.POOL_USAGE,
    }


async def test_checkouts_publish_without_an_explicit_sample(
    db: Database, settings: Settings
) -> None:
    emitter, documents = emf_emitter()
    PoolMonitor.install(db.write_engine, name="primary", capacity=10, emitter=emitter)
    async with db.write_engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    emitter.flush()
    assert documents and "PoolConnectionsInUse" in documents[0]


def test_a_pool_without_capacity_is_a_configuration_error(db: Database) -> None:
    with pytest.raises(ConfigurationError):
        PoolMonitor.install(db.write_engine, name="primary", capacity=0)


async def test_instrument_engines_installs_the_query_and_pool_monitors(
    db: Database, settings: Settings
) -> None:
    emitter, documents = emf_emitter()
    settings = settings.model_copy(update={"database_slow_query_ms": 250})
    instrumentation = instrument_engines(settings, db.write_engine, emitter=emitter)
    async with db.transaction() as session:
        await session.execute(text("SELECT count(*) FROM recipes"))
    assert instrumentation.queries.slow_query_ms == 250
    assert [item.sql for item in instrumentation.queries.report()] == [
        "SELECT count(*) FROM recipes"
    ]
    assert [pool.capacity for pool in instrumentation.pools] == [
        settings.database_pool_size + settings.database_max_overflow
    ]
    instrumentation.queries.detach(db.write_engine)
    emitter.flush()
    names = {
        metric["Name"]
        for doc in documents
        for metric in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    }
    assert {"QueryLatency", "PoolConnectionsInUse", "PoolUsage"} <= names
