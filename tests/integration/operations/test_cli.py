"""``backup create|restore|validate`` and ``maintenance run`` as an operator runs them."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import psycopg

from datalayer.db import Database
from datalayer.settings import Settings
from tests.integration.gdpr.support import populated_user
from tests.integration.gdpr.test_cli import cli
from tests.services import PostgresHarness, temporary_database


def emf_metrics(stdout: str) -> dict[str, object]:
    """Every metric value in the EMF documents the command printed."""
    found: dict[str, object] = {}
    for line in stdout.splitlines():
        if line.startswith("{") and "_aws" in line:
            found.update(json.loads(line))
    return found


async def test_backup_create_restore_and_validate(
    db: Database, settings: Settings, database_url: str, postgres: PostgresHarness
) -> None:
    await populated_user(db, settings.audit_hash_key.get_secret_value())
    home = Path(tempfile.mkdtemp(prefix="datalayer-backup-cli-"))
    backup = home / "backup"

    created = cli(database_url, home, "backup", "create", str(backup), "--jobs", "2")
    assert created.returncode == 0, created.stdout + created.stderr
    assert (backup / "manifest.json").exists()

    with temporary_database(postgres, migrated=False) as target:
        restored = cli(database_url, home, "backup", "restore", str(backup), "--target", target)
        assert restored.returncode == 0, restored.stdout + restored.stderr
        with psycopg.connect(target) as connection:
            assert connection.execute("SELECT count(*) FROM users").fetchone() == (1,)

    validated = cli(database_url, home, "backup", "validate", str(backup), env_metrics="emf")
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "RTO" in validated.stdout and "passed" in validated.stdout
    published = emf_metrics(validated.stdout)
    assert published["RestoreChecksFailed"] == [0.0]
    assert "RestoreDrillRto" in published and "RestoreDrillRpo" in published

    # A copy whose audit chain was tampered with fails validation (exit 1).
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("ALTER TABLE audit_logs DISABLE TRIGGER trg_audit_logs_append_only")
        connection.execute("UPDATE audit_logs SET action = 'tampered'")
    tampered = home / "tampered"
    assert cli(database_url, home, "backup", "create", str(tampered)).returncode == 0
    failed = cli(database_url, home, "backup", "validate", str(tampered))
    assert failed.returncode == 1
    assert "FAIL" in failed.stdout and "failed" in failed.stdout

    not_a_backup = cli(database_url, home, "backup", "validate", str(home))
    assert not_a_backup.returncode == 1 and "not a backup" in not_a_backup.stdout


async def test_maintenance_run_reports_each_task(database_url: str) -> None:
    home = Path(tempfile.mkdtemp(prefix="datalayer-maintenance-cli-"))
    ran = cli(
        database_url,
        home,
        "maintenance",
        "run",
        "--task",
        "expired_sessions",
        "--task",
        "statistics",
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "expired_sessions" in ran.stdout and "statistics" in ran.stdout
    assert "analyze" not in ran.stdout

    unknown = cli(database_url, home, "maintenance", "run", "--task", "vacuum_full")
    assert unknown.returncode == 1 and "unknown maintenance task" in unknown.stdout


async def test_physical_backup_create_validate_and_restore_refused(
    db: Database, settings: Settings, database_url: str, postgres: PostgresHarness
) -> None:
    await populated_user(db, settings.audit_hash_key.get_secret_value())
    home = Path(tempfile.mkdtemp(prefix="datalayer-backup-cli-"))
    backup = home / "physical"

    created = cli(database_url, home, "backup", "create", str(backup), "--format", "physical")
    assert created.returncode == 0, created.stdout + created.stderr
    assert json.loads((backup / "manifest.json").read_text())["format"] == "physical"

    validated = cli(database_url, home, "backup", "validate", str(backup), env_metrics="emf")
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "backup files verified" in validated.stdout and "RTO" in validated.stdout
    assert emf_metrics(validated.stdout)["RestoreChecksFailed"] == [0.0]

    with temporary_database(postgres, migrated=False) as target:
        refused = cli(database_url, home, "backup", "restore", str(backup), "--target", target)
    assert refused.returncode == 1
    assert "cannot be restored into an existing server" in refused.stdout
    shutil.rmtree(home, ignore_errors=True)
