"""Every custom metric the alarms and dashboards read is one the datalayer emits.

The synthesized templates are searched for every (metric name, dimensions) pair in the
``RecipeApp/DataLayer`` namespace, in alarms and in dashboard bodies. A workload then drives
the datalayer's emitter through the real CloudWatch EMF backend, and every pair must appear
in the EMF documents with exactly those dimensions.

Real workload: query latency and slow queries (query monitor on a real PostgreSQL), pool
usage (a real engine's pool), PgBouncer figures (a real PgBouncer's admin console), cache
hits, misses and errors per level and data type (repository reads through real caches on a
real Redis, and one on a Redis that is not there), vector search latency and sampled recall
(a real similarity search, re-run exactly in the background), the restore drill's job
failure and age report (the validation Lambda's code, moto for SSM).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from moto import mock_aws
from sqlalchemy import text

from datalayer.cache import TieredCache
from datalayer.db import Database
from datalayer.local.postgres import free_port
from datalayer.metric_names import NAMESPACE, Job, Metric
from datalayer.observability import job_run
from datalayer.observability.cache_metrics import CacheMetrics
from datalayer.observability.emf import EmfBackend
from datalayer.observability.emitter import Metrics, metrics
from datalayer.observability.pgbouncer import collect, publish
from datalayer.observability.pool import PoolMonitor
from datalayer.observability.queries import QueryMonitor
from datalayer.repositories.embeddings import EmbeddingRepository
from datalayer.repositories.recipes import RecipeRepository
from datalayer.repositories.users import UserRepository
from datalayer.settings import Settings, load_settings
from infra.tooling.synth import SynthResult
from lambdas.backup_validation.handler import report_drill_age
from tests.services import PgBouncerHarness, PostgresHarness, RedisHarness

Pair = tuple[str, frozenset[tuple[str, str]]]

FROM_LOG_FILTERS = {Metric.SLOW_STATEMENTS_LOGGED}
"""Produced by a CloudWatch Logs metric filter on the PostgreSQL log, not by the datalayer."""


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _dashboard_bodies(template: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::CloudWatch::Dashboard":
            continue
        body = resource["Properties"]["DashboardBody"]
        if isinstance(body, dict):  # Fn::Join of strings and tokens (region, imports)
            body = "".join(
                part if isinstance(part, str) else "TOKEN" for part in body["Fn::Join"][1]
            )
        yield json.loads(body)


def metrics_read_by_infra(templates: dict[str, dict[str, Any]]) -> set[Pair]:
    """(name, dimensions) of every custom metric in alarms and dashboards."""
    found: set[Pair] = set()
    for template in templates.values():
        for node in _walk(template):
            if node.get("Namespace") == NAMESPACE and "MetricName" in node:
                dims = frozenset((d["Name"], d["Value"]) for d in node.get("Dimensions", []))
                found.add((node["MetricName"], dims))
        for body in _dashboard_bodies(template):
            for widget in body["widgets"]:
                for entry in widget.get("properties", {}).get("metrics", []):
                    if not entry or isinstance(entry[0], dict) or entry[0] != NAMESPACE:
                        continue
                    fields = [item for item in entry[2:] if isinstance(item, str)]
                    found.add((entry[1], frozenset(zip(fields[::2], fields[1::2], strict=True))))
    return found


def log_filter_metrics(templates: dict[str, dict[str, Any]]) -> set[str]:
    """Metric names that CloudWatch Logs metric filters publish in the namespace."""
    return {
        transformation["MetricName"]
        for template in templates.values()
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Logs::MetricFilter"
        for transformation in resource["Properties"]["MetricTransformations"]
        if transformation["MetricNamespace"] == NAMESPACE
    }


def emitted(documents: list[dict[str, Any]]) -> set[Pair]:
    """(name, dimensions) of every data point in EMF documents."""
    pairs: set[Pair] = set()
    for document in documents:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == NAMESPACE
            for dimension_set in directive["Dimensions"]:
                dims = frozenset((name, document[name]) for name in dimension_set)
                pairs.update((metric["Name"], dims) for metric in directive["Metrics"])
    return pairs


@pytest.fixture
def bouncer(
    postgres: PostgresHarness, database_url: str, tmp_path: Path
) -> Iterator[PgBouncerHarness]:
    harness = PgBouncerHarness(
        tmp_path / "pgbouncer", postgres, database_url.rsplit("/", 1)[1], stats_user=("st", "st-pw")
    )
    yield harness
    harness.stop()


async def real_workload(emitter: Metrics, db: Database, bouncer: PgBouncerHarness) -> None:
    """Queries, pool usage and PgBouncer waits, each produced by the real component."""
    monitor = QueryMonitor.install(db.write_engine, slow_query_ms=100, emitter=emitter)
    pool = PoolMonitor.install(db.write_engine, name="primary", capacity=10, emitter=emitter)
    async with db.transaction() as session:
        await session.execute(text("SELECT pg_sleep(0.15)"))
        await session.execute(text("SELECT count(*) FROM users"))
    pool.sample()
    monitor.detach(db.write_engine)
    await asyncio.to_thread(_pgbouncer_workload, emitter, bouncer)
    _restore_drill_workload(emitter)


def _restore_drill_workload(emitter: Metrics) -> None:
    """A failed validation run (the handler's job_run) and the daily age report."""
    with pytest.raises(RuntimeError), job_run(Job.BACKUP_VALIDATION, emitter):
        raise RuntimeError("validation failed")
    name = "/recipe/test/restore-drill/last-passed"
    with mock_aws(), metrics.use(emitter.backend, environment=emitter.environment):
        client = boto3.client("ssm", region_name="us-east-1")
        client.put_parameter(Name=name, Value="2026-01-01T00:00:00+00:00", Type="String")
        report_drill_age(load_settings(restore_drill_status_parameter=name), client)


def _pgbouncer_workload(emitter: Metrics, bouncer: PgBouncerHarness) -> None:
    # Two transactions hold PgBouncer's two server connections; a third client waits.
    holders = [psycopg.connect(bouncer.url, prepare_threshold=None) for _ in range(2)]
    for holder in holders:
        holder.execute("SELECT 1")
    waiter = threading.Thread(target=_one_query, args=(bouncer.url,))
    waiter.start()
    try:
        assert bouncer.admin_url is not None
        deadline = time.monotonic() + 10
        while not any(p.waiting_clients for p in collect(bouncer.admin_url)):
            assert time.monotonic() < deadline, "no client ever waited"
            time.sleep(0.05)
        publish(collect(bouncer.admin_url), emitter)
    finally:
        for holder in holders:
            holder.commit()
            holder.close()
        waiter.join(timeout=30)


def _one_query(url: str) -> None:
    with psycopg.connect(url, prepare_threshold=None, autocommit=True) as client:
        client.execute("SELECT 1")


async def cache_and_vector_workload(
    emitter: Metrics, url: str, settings: Settings, redis_url: str
) -> None:
    """Repository reads through real caches: a miss and an L1 hit in one process, an L2 hit
    in another sharing Redis, an error on a cache whose Redis is not there; and a real
    similarity search (timed through the process-wide emitter) whose recall is sampled."""
    prefix = f"t{uuid.uuid4().hex[:10]}:"
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    caches = [
        TieredCache.from_settings(settings, redis_url=address, key_prefix=prefix)
        for address in (redis_url, redis_url, dead_redis)
    ]
    subscribers = [CacheMetrics(cache, emitter=emitter) for cache in caches]
    databases = [Database.connect(url, settings, cache=cache) for cache in caches]
    try:
        for cache in caches:
            await cache.start(wait_s=2.0)
        first, second, broken = databases
        owner = await UserRepository(first, settings).create_user(
            {"username": "metrics_u", "email": "metrics_u@example.com"}
        )
        recipe = await RecipeRepository(first).create_recipe(owner.id, {"title": "Soup"})
        for _ in range(2):  # a miss, then an L1 hit
            await RecipeRepository(first).get_recipe_by_id(owner.id, recipe.id)
        await RecipeRepository(second).get_recipe_by_id(owner.id, recipe.id)  # an L2 hit
        await UserRepository(broken, settings).get_user_by_id(owner.id)  # a cache error
        vector = [1.0] + [0.0] * (settings.embedding_dim - 1)
        sampled = settings.model_copy(update={"vector_recall_sample_rate": 1.0})
        embeddings = EmbeddingRepository(first, sampled)
        await embeddings.store_embedding(recipe.id, vector, "m", "1", "0" * 64)
        with metrics.use(emitter.backend, environment=emitter.environment):
            await embeddings.similarity_search(vector)
            await embeddings.recall.drain()
    finally:
        for subscriber in subscribers:
            subscriber.detach()
        for database, cache in zip(databases, caches, strict=True):
            await cache.aclose()
            await database.dispose()


async def test_every_metric_the_alarms_and_dashboards_read_is_emitted(
    synth: dict[str, SynthResult],
    env: str,
    db: Database,
    bouncer: PgBouncerHarness,
    database_url: str,
    settings: Settings,
    redis_server: RedisHarness,
) -> None:
    read = metrics_read_by_infra(synth[env].templates)
    assert len({name for name, _ in read}) >= 9, "the search found too few metrics"
    assert log_filter_metrics(synth[env].templates) == {m.value for m in FROM_LOG_FILTERS}
    required = {(name, dims) for name, dims in read if Metric(name) not in FROM_LOG_FILTERS}

    real_documents: list[dict[str, Any]] = []
    emitter = Metrics(
        EmfBackend(lambda line: real_documents.append(json.loads(line))), environment=env
    )
    await real_workload(emitter, db, bouncer)
    await cache_and_vector_workload(emitter, database_url, settings, redis_server.url)
    emitter.flush()
    missing = required - emitted(real_documents)
    assert not missing, f"read by alarms/dashboards but never emitted: {sorted(missing)}"
