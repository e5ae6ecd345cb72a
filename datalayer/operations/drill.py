"""The local restore drill: restore a backup into a scratch database, re-apply erasures,
validate, measure recovery time, and always drop the scratch database."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from datalayer.db import Database
from datalayer.gdpr.ledger import reapply_ledger
from datalayer.operations.backup import BackupManifest, libpq_url, restore_backup
from datalayer.operations.restore_check import (
    Check,
    DrillResult,
    _rows,
    validate_database,
)
from datalayer.settings import Settings


async def restore_drill(
    backup: Path,
    server_url: str,
    settings: Settings,
    *,
    erased_subjects: set[str],
    jobs: int = 2,
) -> DrillResult:
    """Restore ``backup`` into a new database on the server of ``server_url``, re-apply the
    (live) erasure ledger, run every check, and drop the database again."""
    manifest = BackupManifest.load(backup)
    created = datetime.fromisoformat(manifest.created_at)
    age = (datetime.now(UTC) - created).total_seconds()
    name = f"restore_check_{uuid.uuid4().hex[:12]}"
    admin = libpq_url(server_url)
    target = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        restore_s = restore_backup(backup, target, jobs=jobs)
        started = time.perf_counter()
        database = Database.connect(target, settings)
        key = settings.audit_hash_key.get_secret_value()
        try:
            async with database.write_engine.connect() as connection:
                rows_started = time.perf_counter()
                passed, detail = await _rows(connection, manifest)
                rows = Check(
                    "rows match the manifest",
                    passed,
                    detail,
                    round(time.perf_counter() - rows_started, 3),
                )
            reapplied = await reapply_ledger(database, erased_subjects, key)
            async with database.write_engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                report = await validate_database(connection, key, erased_subjects=erased_subjects)
            report.checks.insert(1, rows)
        finally:
            await database.dispose()
        validate_s = round(time.perf_counter() - started, 3)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    return DrillResult(
        report=report,
        restore_s=restore_s,
        validate_s=validate_s,
        backup_age_s=round(age, 3),
        reapplied_erasures=len(reapplied),
    )
