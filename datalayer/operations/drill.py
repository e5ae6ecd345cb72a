"""The local restore drill: restore a backup into a scratch database, re-apply erasures,
validate, measure recovery time, and always drop the scratch database."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from datalayer.db import Database
from datalayer.gdpr.ledger import reapply_ledger
from datalayer.metric_names import Metric
from datalayer.observability.emitter import Metrics
from datalayer.observability.emitter import metrics as default_metrics
from datalayer.operations.backup import BackupManifest, libpq_url, restore_backup
from datalayer.operations.restore_check import DrillResult, check_rows, validate_database
from datalayer.settings import Settings

SCRATCH_PREFIX = "restore_check_"

Progress = Callable[[str], None]


async def restore_drill(
    backup: Path,
    server_url: str,
    settings: Settings,
    *,
    erased_subjects: set[str],
    jobs: int = 2,
    progress: Progress | None = None,
) -> DrillResult:
    """Restore ``backup`` into a new database on the server of ``server_url``, check its
    rows against the manifest, re-apply ``erased_subjects`` (the live database's ledger),
    run every other check, and drop the database again, also when a step fails.

    ``progress`` is told the name of each step as it starts.
    """
    say = progress or (lambda _step: None)
    manifest = BackupManifest.load(backup)
    age = (datetime.now(UTC) - datetime.fromisoformat(manifest.created_at)).total_seconds()
    name = f"{SCRATCH_PREFIX}{uuid.uuid4().hex[:12]}"
    admin = libpq_url(server_url)
    target = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        say("restoring")
        restore_s = restore_backup(backup, target, jobs=jobs)
        return await validate_restored(
            target,
            settings,
            erased_subjects=erased_subjects,
            manifest=manifest,
            restore_s=restore_s,
            backup_age_s=age,
            progress=say,
        )
    finally:
        say("dropping the scratch database")
        drop_database(server_url, name)


async def validate_restored(
    url: str,
    settings: Settings,
    *,
    erased_subjects: set[str],
    manifest: BackupManifest | None = None,
    restore_s: float = 0.0,
    backup_age_s: float = 0.0,
    progress: Progress | None = None,
) -> DrillResult:
    """Make a restored database lawful to use and check it: compare its rows with
    ``manifest`` (when the backup has one; before anything changes the copy), erase
    everyone in ``erased_subjects`` (the live database's ledger), then run every check.

    For a restore made elsewhere (an RDS snapshot restored by AWS Backup), pass how long
    the restore took and how old the snapshot was: they make the result's RTO and RPO.
    """
    say = progress or (lambda _step: None)
    started = time.perf_counter()
    database = Database.connect(url, settings)
    key = settings.audit_hash_key.get_secret_value()
    try:
        rows = None
        if manifest is not None:
            say("comparing rows with the manifest")
            async with database.write_engine.connect() as connection:
                rows = await check_rows(connection, manifest)
        say("re-applying the erasure ledger")
        reapplied = await reapply_ledger(database, erased_subjects, key)
        say("validating")
        async with database.write_engine.connect() as connection:
            report = await validate_database(connection, key, erased_subjects=erased_subjects)
        if rows is not None:
            report.checks.insert(1, rows)
    finally:
        await database.dispose()
    return DrillResult(
        report=report,
        restore_s=round(restore_s, 3),
        validate_s=round(time.perf_counter() - started, 3),
        backup_age_s=round(backup_age_s, 3),
        reapplied_erasures=len(reapplied),
        rows_checked=manifest.rows if manifest is not None else 0,
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
