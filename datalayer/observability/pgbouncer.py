"""PgBouncer pool metrics from its admin console (SHOW POOLS, SHOW STATS).

:func:`collect` connects to the ``pgbouncer`` admin database as a ``stats_users`` member,
reads the pools and statistics, and returns one :class:`PgBouncerPool` per logical database;
:func:`publish` emits them under the names the client-wait alarm reads
(``PgBouncerClientWait`` in milliseconds, plus waiting clients and server connections).
The admin console speaks only the simple query protocol, hence the client-side cursor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg

from datalayer.errors import UnavailableError
from datalayer.metric_names import Metric
from datalayer.observability.emitter import Metrics
from datalayer.observability.emitter import metrics as default_metrics

ADMIN_DATABASE = "pgbouncer"


@dataclass(frozen=True)
class PgBouncerPool:
    """The pools of one logical database, summed over users (waits in milliseconds)."""

    database: str
    waiting_clients: int
    max_wait_ms: float
    active_server_connections: int
    idle_server_connections: int
    average_wait_ms: float


def collect(admin_url: str, *, connect_timeout: float = 5) -> list[PgBouncerPool]:
    """Read SHOW POOLS and SHOW STATS from the admin console at ``admin_url``.

    Raises :class:`UnavailableError` (without the URL, which holds a password) when the
    console cannot be reached or refuses the user.
    """
    try:
        with psycopg.connect(
            admin_url,
            autocommit=True,
            cursor_factory=psycopg.ClientCursor,
            connect_timeout=max(1, round(connect_timeout)),
        ) as connection:
            pools = _rows(connection, "SHOW POOLS")
            stats = _rows(connection, "SHOW STATS")
    except psycopg.Error:
        raise UnavailableError("the PgBouncer admin console is unreachable") from None
    return summarize(pools, stats)


def summarize(
    pools: Iterable[Mapping[str, Any]], stats: Iterable[Mapping[str, Any]]
) -> list[PgBouncerPool]:
    """One :class:`PgBouncerPool` per database from SHOW POOLS / SHOW STATS rows."""
    average_wait = {
        str(row["database"]): float(row.get("avg_wait_time", 0)) / 1000 for row in stats
    }
    totals: dict[str, dict[str, float]] = {}
    for row in pools:
        database = str(row["database"])
        if database == ADMIN_DATABASE:
            continue
        total = totals.setdefault(database, dict.fromkeys(("waiting", "wait", "active", "idle"), 0))
        wait_ms = float(row["maxwait"]) * 1000 + float(row.get("maxwait_us", 0)) / 1000
        total["waiting"] += int(row["cl_waiting"])
        total["wait"] = max(total["wait"], wait_ms)
        total["active"] += int(row["sv_active"])
        # sv_used: idle connections waiting for their server_check before reuse.
        total["idle"] += int(row["sv_idle"]) + int(row.get("sv_used", 0))
    return [
        PgBouncerPool(
            database=database,
            waiting_clients=int(total["waiting"]),
            max_wait_ms=total["wait"],
            active_server_connections=int(total["active"]),
            idle_server_connections=int(total["idle"]),
            average_wait_ms=average_wait.get(database, 0.0),
        )
        for database, total in sorted(totals.items())
    ]


def publish(pools: Iterable[PgBouncerPool], emitter: Metrics | None = None) -> None:
    """Emit each pool's figures with its ``PgBouncerDatabase`` breakdown."""
    metrics = emitter or default_metrics
    for pool in pools:
        database = pool.database
        metrics.gauge(Metric.PGBOUNCER_CLIENT_WAIT, pool.max_wait_ms, pgbouncer_database=database)
        metrics.gauge(
            Metric.PGBOUNCER_WAITING_CLIENTS, pool.waiting_clients, pgbouncer_database=database
        )
        metrics.gauge(
            Metric.PGBOUNCER_ACTIVE_SERVER_CONNECTIONS,
            pool.active_server_connections,
            pgbouncer_database=database,
        )
        metrics.gauge(
            Metric.PGBOUNCER_IDLE_SERVER_CONNECTIONS,
            pool.idle_server_connections,
            pgbouncer_database=database,
        )
        metrics.gauge(
            Metric.PGBOUNCER_AVERAGE_WAIT, pool.average_wait_ms, pgbouncer_database=database
        )


def _rows(connection: psycopg.Connection[Any], command: str) -> list[dict[str, Any]]:
    cursor = connection.execute(command)
    names = [column.name for column in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
