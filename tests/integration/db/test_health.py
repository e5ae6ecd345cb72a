"""dl.health() with real streaming replicas: each is probed and judged by the router."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from datalayer import DataLayer
from datalayer.db import consistency_scope
from datalayer.settings import load_settings
from tests.integration.db.test_routing import replay_paused
from tests.services import ReplicaHarness


def layer(harness: ReplicaHarness, url: str, **overrides: object) -> DataLayer:
    name = url.rsplit("/", 1)[1]
    replicas = ",".join(harness.replica_url(index, name) for index in range(2))
    settings = load_settings(
        database_url=url,
        database_read_urls=replicas,
        database_pool_size=2,
        database_replica_probe_interval_s=0.05,
        **overrides,
    )
    return DataLayer.from_settings(settings)


async def test_health_reports_each_replica(
    replicated: ReplicaHarness, replicated_database: str
) -> None:
    async with layer(replicated, replicated_database) as dl:
        report = await dl.health()
    assert report.healthy, report.as_dict()
    names = [component.name for component in report.components]
    assert len(names) == 3 and names[0] == "primary"
    roles = [component.details["role"] for component in report.components]
    assert roles == ["primary", "replica", "replica"]
    assert all(component.details["serving_reads"] for component in report.components[1:])
    assert set(report.pools) == set(names)


async def test_a_lagging_replica_makes_the_report_unhealthy(
    replicated: ReplicaHarness, replicated_database: str
) -> None:
    async with layer(replicated, replicated_database, database_replica_max_lag_s=0.2) as dl:
        with replay_paused(replicated, 1):
            async with consistency_scope(), dl.database.transaction() as session:
                await session.execute(text("CREATE TABLE health_probe (id int)"))
            await asyncio.sleep(0.5)
            await dl.health()  # the router learns the primary's newer position
            await asyncio.sleep(0.3)
            report = await dl.health()
        lagging = report.components[2]
        assert not report.healthy
        assert lagging.status == "unhealthy" and lagging.error == "lagging beyond the threshold"
        assert report.components[1].healthy
