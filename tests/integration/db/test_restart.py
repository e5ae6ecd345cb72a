"""PostgreSQL restarted (``pg_ctl restart -m fast``) in the middle of a stream of writes.

Directly and through a real PgBouncer in transaction mode: no acknowledged write is lost,
and the first write after the server is back succeeds quickly (a disconnect invalidates the
pool, and the pool replaces connections the server closed when it hands them out, see
``datalayer.db.liveness``; SQLAlchemy's pool has no reconnect backoff). The figures are
printed (run with ``-s``) for the issue note.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from datalayer.db import Database
from datalayer.errors import UnavailableError
from datalayer.settings import load_settings
from tests.services import PgBouncerHarness, RestartablePostgres


@dataclass
class WriteStream:
    acknowledged: list[int] = field(default_factory=list)
    failures: list[tuple[float, str]] = field(default_factory=list)
    successes: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class RestartRun:
    stream: WriteStream
    restart_s: float  # pg_ctl restart, stop to ready
    recovered_s: float  # server ready -> first acknowledged write
    write_gap_s: float  # last write before the restart -> first write after it


@pytest.fixture
def fault_database(restartable_postgres: RestartablePostgres) -> Iterator[str]:
    name = f"faults_{uuid.uuid4().hex[:8]}"
    restartable_postgres.execute(f"CREATE DATABASE {name}")
    restartable_postgres.execute(
        "CREATE TABLE writes (id integer PRIMARY KEY, written_at timestamptz DEFAULT now())", name
    )
    yield name
    restartable_postgres.execute(f"DROP DATABASE {name} WITH (FORCE)")


async def _write_until(database: Database, stream: WriteStream, stop: asyncio.Event) -> None:
    """One insert per transaction; an id is acknowledged only when its commit returned."""
    next_id = 0
    while not stop.is_set():
        next_id += 1
        try:
            async with database.transaction() as session:
                await session.execute(text("INSERT INTO writes (id) VALUES (:id)"), {"id": next_id})
        except UnavailableError as error:  # outcome unknown: not acknowledged, not retried
            stream.failures.append((time.monotonic(), str(error.reason)))
        else:
            stream.acknowledged.append(next_id)
            stream.successes.append(time.monotonic())
        await asyncio.sleep(0.01)


async def _restart_during_writes(
    server: RestartablePostgres, url: str, *, pgbouncer: bool
) -> RestartRun:
    settings = load_settings(
        database_url=url,
        database_pgbouncer=pgbouncer,
        database_pool_size=2,
        database_connect_timeout_s=2,
    )
    database = Database.connect(url, settings)
    stream = WriteStream()
    stop = asyncio.Event()
    writer = asyncio.create_task(_write_until(database, stream, stop))
    try:
        await asyncio.sleep(0.5)
        restart_began = time.monotonic()
        await asyncio.to_thread(server.restart)
        server_back = time.monotonic()
        while not any(at > server_back for at in stream.successes):
            await asyncio.sleep(0.01)
            assert time.monotonic() - server_back < 30, "no write succeeded after the restart"
        await asyncio.sleep(0.3)
    finally:
        stop.set()
        await writer
        await database.dispose()
    first_after = min(at for at in stream.successes if at > server_back)
    last_before = max((at for at in stream.successes if at < restart_began), default=restart_began)
    return RestartRun(
        stream=stream,
        restart_s=server_back - restart_began,
        recovered_s=first_after - server_back,
        write_gap_s=first_after - last_before,
    )


def _lost(server: RestartablePostgres, database: str, acknowledged: list[int]) -> set[int]:
    with psycopg.connect(server.url(database)) as connection:
        stored = {row[0] for row in connection.execute("SELECT id FROM writes")}
    return set(acknowledged) - stored


def _report(mode: str, run: RestartRun, lost: set[int]) -> None:
    reasons = sorted({reason for _, reason in run.stream.failures})
    print(
        f"\n[restart/{mode}] pg_ctl restart took {run.restart_s:.2f} s; first write "
        f"{run.recovered_s * 1000:.0f} ms after the server was back; write gap "
        f"{run.write_gap_s:.2f} s; {len(run.stream.acknowledged)} acknowledged, "
        f"{len(run.stream.failures)} failed attempts ({', '.join(reasons)}), "
        f"{len(lost)} acknowledged writes lost"
    )


async def test_restart_loses_no_acknowledged_write(
    restartable_postgres: RestartablePostgres, fault_database: str
) -> None:
    url = restartable_postgres.url(fault_database)
    run = await _restart_during_writes(restartable_postgres, url, pgbouncer=False)
    lost = _lost(restartable_postgres, fault_database, run.stream.acknowledged)
    _report("direct", run, lost)
    assert run.stream.acknowledged and lost == set()
    assert run.recovered_s < 10


async def test_restart_behind_pgbouncer_loses_no_acknowledged_write(
    restartable_postgres: RestartablePostgres, fault_database: str, tmp_path: Path
) -> None:
    # PgBouncerHarness only asks its upstream for url(database): a LocalPostgres will do.
    bouncer = PgBouncerHarness(tmp_path / "pgbouncer", restartable_postgres, fault_database)  # type: ignore[arg-type]
    try:
        run = await _restart_during_writes(restartable_postgres, bouncer.url, pgbouncer=True)
    finally:
        bouncer.stop()
    lost = _lost(restartable_postgres, fault_database, run.stream.acknowledged)
    _report("pgbouncer", run, lost)
    assert run.stream.acknowledged and lost == set()
    assert run.recovered_s < 10
