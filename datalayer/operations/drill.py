"""The local restore drill: restore a backup into a scratch database, re-apply erasures,
validate (partly while the vector indexes build), measure recovery time, and always drop
the scratch database.

A physical backup (``pg_basebackup``) is restored instead into a scratch server of its own
(:func:`physical_drill`): its indexes come back built, and the same checks run on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from datalayer.db import Database
from datalayer.errors import UnavailableError
from datalayer.gdpr.ledger import reapply_ledger
from datalayer.metric_names import Metric
from datalayer.observability.emitter import Metrics
from datalayer.observability.emitter import metrics as default_metrics
from datalayer.operations.backup import PHYSICAL, BackupManifest, libpq_url
from datalayer.operations.physical import scratch_server, verify_backup
from datalayer.operations.restore import RestoreOptions, build_vector_indexes, restore_base
from datalayer.operations.restore_check import (
    Check,
    DrillResult,
    ValidationReport,
    audit_chain_check,
    copy_checks,
    run_checks,
    usable_checks,
)
from datalayer.settings import Settings

SCRATCH_PREFIX = "restore_check_"

Progress = Callable[[str], None]


async def restore_drill(
    backup: Path,
    server_url: str,
    settings: Settings,
    *,
    erased_subjects: set[str],
    options: RestoreOptions | None = None,
    progress: Progress | None = None,
) -> DrillResult:
    """Restore ``backup`` into a new database on the server of ``server_url``, check its
    rows against the manifest, re-apply ``erased_subjects`` (the live database's ledger),
    run every other check, and drop the database again, also when a step fails.

    The vector indexes build last, while the checks that need neither them nor a write run;
    the result's RTO is the wall-clock time from the start of the restore to the last check.
    ``progress`` is told the name of each step as it starts. A physical backup goes to
    :func:`physical_drill` (``server_url`` and ``options`` are not used).
    """
    say = progress or (lambda _step: None)
    chosen = options or RestoreOptions()
    manifest = BackupManifest.load(backup)
    if manifest.format == PHYSICAL:
        return await physical_drill(
            backup, settings, erased_subjects=erased_subjects, progress=progress
        )
    age = (datetime.now(UTC) - datetime.fromisoformat(manifest.created_at)).total_seconds()
    name = f"{SCRATCH_PREFIX}{uuid.uuid4().hex[:12]}"
    admin = libpq_url(server_url)
    target = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    build: asyncio.Task[float] | None = None
    try:
        say("restoring all but the vector indexes")
        started = time.perf_counter()
        base_s = await restore_base(backup, target, chosen)
        build = asyncio.create_task(build_vector_indexes(backup, target, chosen))
        result = await validate_restored(
            target,
            settings,
            erased_subjects=erased_subjects,
            manifest=manifest,
            restore_s=base_s,
            backup_age_s=age,
            progress=say,
            vector_index_build=build,
        )
        elapsed = time.perf_counter() - started
        overlap = max(0.0, result.restore_s + result.validate_s - elapsed)
        return dataclasses.replace(result, overlap_s=round(overlap, 3))
    finally:
        if build is not None and not build.done():
            build.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await build
        say("dropping the scratch database")
        drop_database(server_url, name)


async def physical_drill(
    backup: Path,
    settings: Settings,
    *,
    erased_subjects: set[str],
    progress: Progress | None = None,
    scratch_parent: Path | None = None,
) -> DrillResult:
    """Verify the physical backup in ``backup`` (``pg_verifybackup``), restore it into a
    scratch server (a new directory under ``scratch_parent``, the system's temporary
    directory by default), run :func:`validate_restored` on it, and stop the server and
    delete its directory, also when a step fails.

    Restore time is extracting the archives and the server's WAL replay up to the backup's
    end; verification counts as validation time.
    """
    say = progress or (lambda _step: None)
    manifest = BackupManifest.load(backup)
    age = (datetime.now(UTC) - datetime.fromisoformat(manifest.created_at)).total_seconds()
    say("verifying the backup files (pg_verifybackup)")
    verified = _verify(backup)
    say("extracting the backup and starting a scratch server")
    with scratch_server(backup, manifest, parent=scratch_parent) as scratch:
        result = await validate_restored(
            scratch.url,
            settings,
            erased_subjects=erased_subjects,
            manifest=manifest,
            restore_s=scratch.restore_s,
            backup_age_s=age,
            progress=say,
        )
        say("stopping and deleting the scratch server")
    phases = {"verify_s": verified.seconds, "restore_files_and_recovery_s": scratch.restore_s}
    phases.update((k, v) for k, v in result.phases.items() if k != "restore_base_s")
    return dataclasses.replace(
        result,
        report=ValidationReport([verified, *result.report.checks]),
        validate_s=round(result.validate_s + verified.seconds, 3),
        phases=phases,
        backup_format=PHYSICAL,
    )


def _verify(backup: Path) -> Check:
    started = time.perf_counter()
    try:
        passed, detail = True, verify_backup(backup)
    except UnavailableError as exc:
        passed, detail = False, str(exc)
    return Check("backup files verified", passed, detail, round(time.perf_counter() - started, 3))


async def validate_restored(
    url: str,
    settings: Settings,
    *,
    erased_subjects: set[str],
    manifest: BackupManifest | None = None,
    restore_s: float = 0.0,
    backup_age_s: float = 0.0,
    progress: Progress | None = None,
    vector_index_build: Awaitable[float] | None = None,
) -> DrillResult:
    """Make a restored database lawful to use and check it: compare its rows with
    ``manifest`` (when the backup has one) and run the other checks that change nothing,
    erase everyone in ``erased_subjects`` (the live database's ledger), then check that
    the copy can serve (vector indexes, latency, nobody erased present).

    ``vector_index_build`` (the seconds of a build still running) is awaited after the first
    checks; its seconds count as restore time. For a restore made elsewhere (an RDS
    snapshot restored by AWS Backup), pass how long the restore took and how old the
    snapshot was: they make the result's RTO and RPO.
    """
    say = progress or (lambda _step: None)
    database = Database.connect(url, settings)
    key = settings.audit_hash_key.get_secret_value()
    phases: dict[str, float] = {"restore_base_s": round(restore_s, 3)}
    try:
        started = time.perf_counter()
        say("checking the copy" + (" while vector indexes build" if vector_index_build else ""))
        async with database.write_engine.connect() as connection:
            checks = await run_checks(connection, copy_checks(connection, key, manifest))
        phases["copy_checks_s"] = round(time.perf_counter() - started, 3)
        if vector_index_build is not None:
            say("waiting for the vector indexes")
            phases["vector_indexes_s"] = await vector_index_build
        started = time.perf_counter()
        say("re-applying the erasure ledger")
        reapplied = await reapply_ledger(database, erased_subjects, key)
        say("checking the copy can serve")
        async with database.write_engine.connect() as connection:
            if reapplied:  # the erasures appended to the audit chain: check it again
                chain = await audit_chain_check(connection, key)
                checks = [chain if check.name == chain.name else check for check in checks]
            checks += await run_checks(
                connection,
                usable_checks(
                    connection,
                    key,
                    vector_indexes=manifest.vector_indexes if manifest is not None else (),
                    erased_subjects=erased_subjects,
                ),
            )
        phases["ledger_and_serving_checks_s"] = round(time.perf_counter() - started, 3)
    finally:
        await database.dispose()
    return DrillResult(
        report=ValidationReport(checks),
        restore_s=round(restore_s + phases.get("vector_indexes_s", 0.0), 3),
        validate_s=round(phases["copy_checks_s"] + phases["ledger_and_serving_checks_s"], 3),
        backup_age_s=round(backup_age_s, 3),
        reapplied_erasures=len(reapplied),
        rows_checked=manifest.rows if manifest is not None else 0,
        phases=phases,
    )


def drop_database(server_url: str, name: str) -> None:
    """Drop database ``name`` on the server of ``server_url`` (its sessions are ended)."""
    with psycopg.connect(libpq_url(server_url), autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def publish_drill(result: DrillResult, emitter: Metrics | None = None) -> None:
    """Publish the drill's achieved RTO and RPO and its failed-check count as metrics."""
    metrics = emitter or default_metrics
    metrics.gauge(Metric.RESTORE_DRILL_RTO, result.rto_s)
    metrics.gauge(Metric.RESTORE_DRILL_RPO, result.rpo_s)
    metrics.count(Metric.RESTORE_CHECKS_FAILED, len(result.report.failed))
