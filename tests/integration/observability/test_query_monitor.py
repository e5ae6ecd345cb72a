"""The query monitor on a real database: fingerprints, p95, slow statements, pg_stat_statements."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
import typer
from sqlalchemy import bindparam, text
from typer.testing import CliRunner

from datalayer.db import Database
from datalayer.observability.cli import monitor_app
from datalayer.observability.emitter import Metrics
from datalayer.observability.queries import QueryMonitor, percentile
from datalayer.observability.statements import slowest_on_server
from datalayer.settings import get_settings
from tests.unit.observability.test_emitter import emf_emitter

SENTINEL = "sentinel-monitor@example.org"


async def test_statements_are_grouped_by_fingerprint_with_count_total_and_p95(
    db: Database,
) -> None:
    emitter, documents = emf_emitter()
    monitor = QueryMonitor.install(db.write_engine, slow_query_ms=60_000, emitter=emitter)
    lookup = text("SELECT count(*) FROM users WHERE email IN :emails").bindparams(
        bindparam("emails", expanding=True)
    )
    async with db.transaction() as session:
        for size in range(1, 6):
            emails = [f"{index}-{SENTINEL}" for index in range(size)]
            await session.execute(lookup, {"emails": emails})
        await session.execute(text("SELECT :v"), {"v": SENTINEL})
    report = monitor.report(limit=50)
    (in_list,) = [item for item in report if "IN (...)" in item.sql]
    assert in_list.sql == "SELECT count(*) FROM users WHERE email IN (...)"
    assert in_list.count == 5
    assert in_list.total_ms > 0
    assert 0 < in_list.p95_ms <= in_list.max_ms
    assert all(SENTINEL not in item.sql for item in report)
    emitter.flush()
    latencies = [value for doc in documents for value in doc.get("QueryLatency", [])]
    assert len(latencies) == sum(item.count for item in report)
    monitor.detach(db.write_engine)


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 95) == 0
    assert percentile([float(v) for v in range(1, 101)], 95) == 95
    assert percentile([5.0, 1.0], 95) == 5


async def test_slow_statements_are_counted_and_logged_with_the_fingerprint_only(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    emitter, documents = emf_emitter()
    monitor = QueryMonitor.install(db.write_engine, slow_query_ms=150, emitter=emitter)
    caplog.set_level(logging.WARNING, logger="datalayer.observability.queries")
    async with db.transaction() as session:
        await session.execute(text("SELECT pg_sleep(0.3), CAST(:v AS text)"), {"v": SENTINEL})
        await session.execute(text("SELECT 1"))
    slow_records = [record for record in caplog.records if record.message == "slow statement"]
    assert len(slow_records) == 1
    record = slow_records[0]
    assert record.statement == "SELECT pg_sleep(...), CAST(? AS text)"  # type: ignore[attr-defined]
    assert record.duration_ms >= 150  # type: ignore[attr-defined]
    assert SENTINEL not in caplog.text
    emitter.flush()
    assert sum(value for doc in documents for value in doc.get("SlowQueries", [])) == 1
    (slow,) = [item for item in monitor.report() if item.slow_count]
    assert slow.fingerprint_id == record.fingerprint  # type: ignore[attr-defined]
    monitor.detach(db.write_engine)


async def test_failed_statements_are_timed_too(db: Database) -> None:
    monitor = QueryMonitor.install(db.write_engine, emitter=Metrics())
    with pytest.raises(Exception):
        async with db.transaction() as session:
            await session.execute(text("SELECT 1 / 0"))
    assert [item.sql for item in monitor.report()] == ["SELECT ? / ?"]
    monitor.detach(db.write_engine)


def _mounted() -> typer.Typer:
    """The sub-app mounted the way ``python -m datalayer monitor`` mounts it."""
    app = typer.Typer()
    app.add_typer(monitor_app, name="monitor")
    return app


async def test_pg_stat_statements_and_the_monitor_report_command(
    db: Database, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monitor = QueryMonitor.install(db.write_engine, emitter=Metrics())
    async with db.transaction() as session:
        await session.execute(text("SELECT pg_sleep(0.05), CAST(:v AS text)"), {"v": SENTINEL})
    snapshot = tmp_path / "query-stats.json"
    monitor.save(snapshot)
    monitor.detach(db.write_engine)

    server = await asyncio.to_thread(slowest_on_server, database_url, 50)
    assert server.unavailable_reason is None
    sleeps = [item for item in server.statements if "pg_sleep" in item.sql]
    assert sleeps and sleeps[0].calls >= 1 and sleeps[0].mean_ms >= 50
    assert sleeps[0].sql == "SELECT pg_sleep(...), CAST(? AS text)"

    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        result = await asyncio.to_thread(
            CliRunner().invoke, _mounted(), ["monitor", "report", "--snapshot", str(snapshot)]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "query monitor" in result.output and "pg_stat_statements" in result.output
    assert result.output.count("pg_sleep(...)") == 2  # once per table
    assert SENTINEL not in result.output
    assert json.loads(snapshot.read_text())[0]["sql"] == "SELECT pg_sleep(...), CAST(? AS text)"
