"""Health of the database tier: what ``dl.health()`` and ``python -m datalayer health`` report.

Each component is probed with a short timeout and reported as ``healthy`` or ``unhealthy``
with its latency; a failure is described by the datalayer's typed error text, which never
holds a credential. The report is unhealthy when the primary is unreachable, the schema is
not at the migration head, or a configured replica or Redis is unreachable.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from datalayer.db.routing import ReplicaStatus
from datalayer.errors import DataLayerError, UnavailableError, translate_db_error
from datalayer.migrations.runner import alembic_config

HEALTHY = "healthy"
UNHEALTHY = "unhealthy"
PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class ComponentHealth:
    """One probed component: the primary, a replica, or Redis."""

    name: str
    status: str
    latency_ms: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def healthy(self) -> bool:
        return self.status == HEALTHY


@dataclass(frozen=True)
class HealthReport:
    """The whole tier: components, pool statistics and the migration state."""

    components: list[ComponentHealth]
    pools: dict[str, dict[str, int]]
    migrations: dict[str, Any]

    @property
    def healthy(self) -> bool:
        return all(c.healthy for c in self.components) and bool(self.migrations.get("at_head"))

    @property
    def status(self) -> str:
        return HEALTHY if self.healthy else UNHEALTHY

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "components": [asdict(component) for component in self.components],
            "pools": self.pools,
            "migrations": self.migrations,
        }


async def probe(
    name: str, check: Callable[[], Awaitable[dict[str, Any]]], timeout_s: float = PROBE_TIMEOUT_S
) -> ComponentHealth:
    """Run ``check`` with a timeout; its dict becomes the component's details."""
    started = time.perf_counter()
    try:
        details = await asyncio.wait_for(check(), timeout_s)
    except TimeoutError:
        return ComponentHealth(name, UNHEALTHY, error=f"no answer within {timeout_s:g} s")
    except Exception as exc:  # every failure is reported, none escapes a health check
        error = exc if isinstance(exc, DataLayerError) else translate_db_error(exc)
        return ComponentHealth(name, UNHEALTHY, error=str(error) or type(exc).__name__)
    latency = round((time.perf_counter() - started) * 1000, 2)
    return ComponentHealth(name, HEALTHY, latency_ms=latency, details=details)


async def postgres_details(engine: AsyncEngine) -> dict[str, Any]:
    """Role (primary or replica) and, on a replica, how far replay lags behind."""
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT pg_is_in_recovery() AS replica, "
                    "CASE WHEN pg_is_in_recovery() THEN "
                    "coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) "
                    "END AS lag_s"
                )
            )
        ).one()
    details: dict[str, Any] = {"role": "replica" if row.replica else "primary"}
    if row.replica:
        details["replay_lag_s"] = round(float(row.lag_s or 0), 3)
    return details


async def migration_state(engine: AsyncEngine) -> dict[str, Any]:
    """The database's revision against the code's head."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    try:
        async with engine.connect() as connection:
            exists = (
                await connection.execute(text("SELECT to_regclass('alembic_version') IS NOT NULL"))
            ).scalar()
            current: list[str] = []
            if exists:
                versions = await connection.execute(text("SELECT version_num FROM alembic_version"))
                current = [row[0] for row in versions]
    except Exception as exc:
        error = exc if isinstance(exc, DataLayerError) else translate_db_error(exc)
        return {"head": head, "current": None, "at_head": False, "error": str(error)}
    return {"head": head, "current": current, "at_head": current == [head]}


def with_routing(component: ComponentHealth, status: ReplicaStatus) -> ComponentHealth:
    """A replica's probe, plus what the router decided: is it serving reads, and its lag
    against the primary (unhealthy when it serves none)."""
    details = {
        **component.details,
        "serving_reads": status.serving_reads,
        "lag_s": None if status.lag_s is None else round(status.lag_s, 3),
    }
    healthy = component.healthy and status.serving_reads
    error = component.error or (None if healthy else "lagging beyond the threshold")
    return ComponentHealth(
        component.name, HEALTHY if healthy else UNHEALTHY, component.latency_ms, details, error
    )


async def redis_details(url: str) -> dict[str, Any]:
    """Ping Redis with sub-second timeouts; its server version as detail."""
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
    try:
        await client.ping()
        info = await client.info("server")
    except RedisError as exc:
        raise UnavailableError(f"redis unavailable ({type(exc).__name__})") from None
    finally:
        await client.aclose()
    return {"version": info.get("redis_version") or info.get("valkey_version")}


def pool_statistics(engine: AsyncEngine) -> dict[str, int]:
    """Size, checked-out, idle and overflow connections of an engine's pool."""
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return {}
    return {
        "size": pool.size(),
        "checked_out": pool.checkedout(),
        "idle": pool.checkedin(),
        "overflow": max(pool.overflow(), 0),
    }
