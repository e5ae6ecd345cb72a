"""PgBouncer pool metrics read from a real PgBouncer's admin console, and the Lambda handler."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from datalayer.errors import UnavailableError
from datalayer.observability.pgbouncer import PgBouncerPool, collect
from datalayer.settings import get_settings
from tests.services import PgBouncerHarness, PostgresHarness

STATS_USER = ("pgbouncer_stats", "stats-password-sentinel-7731")


@pytest.fixture
def bouncer(
    postgres: PostgresHarness, database_url: str, tmp_path: Path
) -> Iterator[PgBouncerHarness]:
    harness = PgBouncerHarness(
        tmp_path / "pgbouncer", postgres, database_url.rsplit("/", 1)[1], stats_user=STATS_USER
    )
    yield harness
    harness.stop()


def _pool(bouncer: PgBouncerHarness) -> PgBouncerPool:
    assert bouncer.admin_url is not None
    database = bouncer.url.rsplit("/", 1)[1]
    (pool,) = [pool for pool in collect(bouncer.admin_url) if pool.database == database]
    return pool


def _wait_for(condition: object, bouncer: PgBouncerHarness, limit_s: float = 10) -> PgBouncerPool:
    """Poll the console until ``condition(pool)`` holds (bounded; not a timing assertion)."""
    deadline = time.monotonic() + limit_s
    while True:
        pool = _pool(bouncer)
        if condition(pool) or time.monotonic() > deadline:  # type: ignore[operator]
            return pool
        time.sleep(0.05)


def test_waiting_clients_and_server_connections_are_read_from_show_pools(
    bouncer: PgBouncerHarness,
) -> None:
    # default_pool_size = 2: two open transactions hold both server connections.
    holders = [psycopg.connect(bouncer.url, prepare_threshold=None) for _ in range(2)]
    for holder in holders:
        holder.execute("SELECT 1")
    waited = threading.Event()

    def third_client() -> None:
        with psycopg.connect(bouncer.url, prepare_threshold=None, autocommit=True) as client:
            client.execute("SELECT 1")
        waited.set()

    thread = threading.Thread(target=third_client)
    thread.start()
    try:
        busy = _wait_for(lambda pool: pool.waiting_clients >= 1, bouncer)
        time.sleep(0.2)  # let the wait grow measurably
        busy = _pool(bouncer)
    finally:
        for holder in holders:
            holder.commit()
            holder.close()
        thread.join(timeout=30)
    assert waited.is_set()
    assert busy.waiting_clients == 1
    assert busy.max_wait_ms >= 100
    assert busy.active_server_connections == 2
    calm = _wait_for(
        lambda pool: pool.waiting_clients == 0 and pool.idle_server_connections, bouncer
    )
    assert calm.waiting_clients == 0
    assert calm.max_wait_ms == 0
    assert calm.active_server_connections == 0
    assert calm.idle_server_connections == 2
    assert calm.average_wait_ms >= 0


def test_an_unreachable_console_is_unavailable_without_the_password(
    bouncer: PgBouncerHarness,
) -> None:
    wrong = f"postgresql://{STATS_USER[0]}:wrong-{STATS_USER[1]}@127.0.0.1:{bouncer.port}/pgbouncer"
    with pytest.raises(UnavailableError) as raised:
        collect(wrong)
    assert STATS_USER[1] not in str(raised.value)


@dataclass
class LambdaContext:
    function_name: str = "pgbouncer-metrics"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:pgbouncer-metrics"
    aws_request_id: str = "request-1"


def test_the_lambda_publishes_emf_under_the_alarm_names(
    bouncer: PgBouncerHarness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lambdas.pgbouncer_metrics.handler import handler

    assert bouncer.admin_url is not None
    with psycopg.connect(bouncer.url, prepare_threshold=None) as client:  # PgBouncer pools lazily
        client.execute("SELECT 1")
    monkeypatch.setenv("PGBOUNCER_ADMIN_URL", bouncer.admin_url)
    monkeypatch.setenv("METRICS_ENVIRONMENT", "prod")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "pgbouncer-metrics")
    get_settings.cache_clear()
    try:
        result = handler({}, LambdaContext())
    finally:
        get_settings.cache_clear()
    database = bouncer.url.rsplit("/", 1)[1]
    assert [pool["database"] for pool in result["pools"]] == [database]
    output = capsys.readouterr().out
    assert STATS_USER[1] not in output
    documents = [json.loads(line) for line in output.splitlines() if '"_aws"' in line]
    (document,) = [doc for doc in documents if "PgBouncerClientWait" in doc]
    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "RecipeApp/DataLayer"
    assert ["Environment"] in directive["Dimensions"]
    assert document["Environment"] == "prod" and document["PgBouncerDatabase"] == database
    assert "service" not in document
    names = {metric["Name"] for metric in directive["Metrics"]}
    assert names == {
        "PgBouncerClientWait",
        "PgBouncerWaitingClients",
        "PgBouncerActiveServerConnections",
        "PgBouncerIdleServerConnections",
        "PgBouncerAverageWait",
    }
