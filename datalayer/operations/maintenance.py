"""Routine maintenance: the tasks ``python -m datalayer maintenance run`` and the scheduled
maintenance Lambda run, each idempotent (a second run finds nothing left to do) and each
reporting what it did as a :class:`TaskResult` and as the ``MaintenanceItems`` metric.

Tasks, in the order they run: ``system_log_partitions`` (partitions ahead, rows moved out
of the DEFAULT partition by the SQL function), ``system_log_retention``,
``expired_sessions``, ``expired_cache_entries``, ``expired_exports``, ``taste_profiles``,
``analyze``, ``indexes`` (INVALID or bloated indexes rebuilt concurrently) and
``statistics`` (table and index figures). ``vector_tune`` (re-measure the ef_search that
reaches ``VECTOR_TUNE_TARGET_RECALL``; one exact scan of the embeddings per sampled query)
runs only when named, so the nightly run stays cheap: schedule it weekly, or after a large
load, with ``--task vector_tune`` (the Lambda: ``{"tasks": ["vector_tune"]}``).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from datalayer.db import Database
from datalayer.errors import InvalidInputError, RecallTargetError
from datalayer.gdpr.jobs import ExportStore, LocalExportStore
from datalayer.metric_names import Job, Metric
from datalayer.observability.emitter import Metrics
from datalayer.observability.emitter import metrics as default_metrics
from datalayer.operations.indexes import repair_indexes
from datalayer.operations.stats import database_statistics
from datalayer.operations.vector_tuning import tune_ef_search
from datalayer.repositories.taste_profiles import TasteProfileRepository
from datalayer.settings import Settings

logger = logging.getLogger(__name__)

BATCH_SIZE = 5000
"""Rows deleted per statement: short transactions, short row locks."""
TASTE_PROFILES_PER_RUN = 1000
_PARTITION_NAME = re.compile(r"^system_logs_(\d{4})(\d{2})$")

Progress = Callable[[str, int, int], None]
"""Told ``(task, position, total)`` as each task starts."""


@dataclass(frozen=True)
class TaskResult:
    """What one task did: ``items`` changed (rows deleted, partitions made ...)."""

    task: str
    ok: bool
    items: int
    detail: str
    seconds: float = 0.0
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Context:
    db: Database
    settings: Settings
    export_store: ExportStore


_Outcome = tuple[int, str, dict[str, Any]]


async def _bounded_lock_wait(connection: AsyncConnection, settings: Settings) -> None:
    # DDL on system_logs locks the parent table: give up rather than queue the app behind it.
    await connection.execute(
        text("SELECT set_config('lock_timeout', :value, true)"),
        {"value": f"{settings.database_lock_timeout_ms}ms"},
    )


async def _system_log_partitions(ctx: _Context) -> _Outcome:
    ahead = ctx.settings.system_log_partitions_ahead
    async with ctx.db.write_engine.begin() as connection:
        await _bounded_lock_wait(connection, ctx.settings)
        created = int(
            await connection.scalar(
                text("SELECT ensure_system_log_partitions(:ahead)"), {"ahead": ahead}
            )
            or 0
        )
    return created, f"{created} partitions created ({ahead} months ahead kept ready)", {}


async def _system_log_retention(ctx: _Context) -> _Outcome:
    months = ctx.settings.system_log_retention_months
    async with ctx.db.write_engine.begin() as connection:
        await _bounded_lock_wait(connection, ctx.settings)
        cutoff = await connection.scalar(
            text("SELECT (date_trunc('month', now()) - make_interval(months => :m))::date"),
            {"m": months},
        )
        partitions = (
            await connection.execute(
                text(
                    "SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c "
                    "ON c.oid = i.inhrelid WHERE i.inhparent = 'system_logs'::regclass"
                )
            )
        ).scalars()
        dropped = []
        for name in sorted(partitions):
            match = _PARTITION_NAME.match(name)
            # A month's partition goes when all of it is older than the cutoff.
            if match and (int(match[1]), int(match[2])) < (cutoff.year, cutoff.month):
                await connection.execute(text(f'DROP TABLE "{name}"'))
                dropped.append(name)
        deleted = (
            await connection.execute(
                text("DELETE FROM system_logs_default WHERE created_at < :cutoff"),
                {"cutoff": cutoff},
            )
        ).rowcount
    detail = f"{len(dropped)} partitions dropped, {deleted} old rows deleted (before {cutoff})"
    return len(dropped) + deleted, detail, {"dropped": dropped}


async def _delete_expired(ctx: _Context, table: str) -> _Outcome:
    statement = text(
        f"DELETE FROM {table} WHERE ctid = ANY(ARRAY("
        f"SELECT ctid FROM {table} WHERE expires_at < now() LIMIT {BATCH_SIZE}))"
    )
    total = 0
    while True:
        async with ctx.db.write_engine.begin() as connection:
            deleted = (await connection.execute(statement)).rowcount
        total += deleted
        if deleted < BATCH_SIZE:
            return total, f"{total} expired rows deleted", {}


async def _expired_sessions(ctx: _Context) -> _Outcome:
    return await _delete_expired(ctx, "user_sessions")


async def _expired_cache_entries(ctx: _Context) -> _Outcome:
    return await _delete_expired(ctx, "cache_entries")


async def _expired_exports(ctx: _Context) -> _Outcome:
    async with ctx.db.write_engine.connect() as connection:
        rows = (
            await connection.execute(
                text(
                    "SELECT id, location FROM data_export_requests "
                    "WHERE status = 'completed' AND expires_at < now() ORDER BY expires_at"
                )
            )
        ).all()
    expired, foreign = 0, 0
    for request_id, location in rows:
        if location:
            try:
                ctx.export_store.delete(location)
            except InvalidInputError:
                foreign += 1  # stored elsewhere (another store): left for that store's run
                continue
        async with ctx.db.write_engine.begin() as connection:
            await connection.execute(
                text(
                    "UPDATE data_export_requests SET status = 'expired', location = NULL "
                    "WHERE id = :id AND status = 'completed'"
                ),
                {"id": request_id},
            )
        expired += 1
    detail = f"{expired} exports deleted and marked expired"
    if foreign:
        detail += f", {foreign} in another store left alone"
    return expired, detail, {"other_store": foreign}


async def _taste_profiles(ctx: _Context) -> _Outcome:
    repository = TasteProfileRepository(ctx.db)
    refreshed = 0
    seen: set[Any] = set()
    while refreshed < TASTE_PROFILES_PER_RUN:
        batch = [
            user
            for user in await repository.get_profiles_for_refresh(limit=100)
            if user not in seen
        ]
        if not batch:
            break
        for user_id in batch:
            seen.add(user_id)
            await repository.calculate_taste_profile(user_id)
            refreshed += 1
    return refreshed, f"{refreshed} stale taste profiles recalculated", {}


async def _analyze(ctx: _Context) -> _Outcome:
    async with ctx.db.write_engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        tables = (
            await connection.execute(
                text(
                    "SELECT count(*) FROM pg_class AS c JOIN pg_namespace AS n "
                    "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
                    "AND c.relkind IN ('r', 'p')"
                )
            )
        ).scalar_one()
        await connection.execute(text("ANALYZE"))
    return int(tables), f"statistics refreshed on {tables} tables", {}


async def _indexes(ctx: _Context) -> _Outcome:
    report = await repair_indexes(ctx.db, bloat_max_percent=ctx.settings.index_bloat_max_percent)
    return len(report.rebuilt) + len(report.dropped), report.describe(), report.as_dict()


async def _statistics(ctx: _Context) -> _Outcome:
    stats = await database_statistics(ctx.db)
    return 0, stats.describe(), stats.as_dict()


async def _vector_tune(ctx: _Context) -> _Outcome:
    result = await tune_ef_search(
        ctx.db,
        target_recall=ctx.settings.vector_tune_target_recall,
        min_ef=ctx.settings.vector_tune_min_ef_search,
    )
    if not result.target_met:
        raise RecallTargetError(result.describe())
    return 1, result.describe(), result.as_dict()


TASKS: dict[str, Callable[[_Context], Awaitable[_Outcome]]] = {
    "system_log_partitions": _system_log_partitions,
    "system_log_retention": _system_log_retention,
    "expired_sessions": _expired_sessions,
    "expired_cache_entries": _expired_cache_entries,
    "expired_exports": _expired_exports,
    "taste_profiles": _taste_profiles,
    "analyze": _analyze,
    "indexes": _indexes,
    "statistics": _statistics,
    "vector_tune": _vector_tune,
}
"""Every task by name, in the order :func:`run_maintenance` runs them."""
OPT_IN_TASKS = frozenset({"vector_tune"})
"""Tasks that run only when named (expensive, and needed weekly at most)."""
DEFAULT_TASKS = tuple(name for name in TASKS if name not in OPT_IN_TASKS)
"""What a run without ``tasks`` does (the nightly schedule)."""


async def run_maintenance(
    db: Database,
    settings: Settings,
    tasks: Sequence[str] | None = None,
    *,
    progress: Progress | None = None,
    export_store: ExportStore | None = None,
    emitter: Metrics | None = None,
) -> list[TaskResult]:
    """Run ``tasks`` (default: :data:`DEFAULT_TASKS`, in that order) and report each.

    A failing task is reported (``ok=False``, the error's type, never its text) and the
    others still run. Publishes ``MaintenanceItems`` per task and the maintenance job's
    success or failure. ``export_store`` holds the export files (default: the local store
    under ``DATALAYER_HOME/exports``; the Lambda passes its S3 store).
    """
    names = list(DEFAULT_TASKS) if tasks is None else list(tasks)
    unknown = [name for name in names if name not in TASKS]
    if unknown or not names:
        raise InvalidInputError(
            f"unknown maintenance task {unknown[0] if unknown else '(none)'}; "
            f"known: {', '.join(TASKS)}",
            field="task",
        )
    metrics = emitter or default_metrics
    context = _Context(
        db, settings, export_store or LocalExportStore(settings.datalayer_home / "exports")
    )
    started_run = time.perf_counter()
    results = []
    for position, name in enumerate(names, start=1):
        if progress is not None:
            progress(name, position, len(names))
        started = time.perf_counter()
        try:
            items, detail, figures = await TASKS[name](context)
            ok = True
        except Exception as exc:  # reported in the result; the other tasks still run
            logger.warning(
                "maintenance task failed", extra={"task": name, "error": type(exc).__name__}
            )
            items, detail, figures, ok = 0, f"failed: {type(exc).__name__}", {}, False
        seconds = round(time.perf_counter() - started, 3)
        results.append(TaskResult(name, ok, items, detail, seconds, figures))
        metrics.count(Metric.MAINTENANCE_ITEMS, items, task=name)
    outcome = Metric.JOB_SUCCEEDED if all(r.ok for r in results) else Metric.JOB_FAILED
    metrics.count(outcome, job=Job.MAINTENANCE.value)
    duration_ms = (time.perf_counter() - started_run) * 1000
    metrics.observe(Metric.JOB_DURATION, duration_ms, job=Job.MAINTENANCE.value)
    return results
