"""A migration blocked by a long transaction gives up quickly and retries, so the
application's reads never queue behind its waiting ALTER TABLE."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from datalayer.db import Database
from datalayer.errors import MigrationError
from datalayer.migrations import runner
from datalayer.settings import load_settings

LOCKING_VERSION = '''"""takes an ACCESS EXCLUSIVE lock on recipes"""
import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("recipes", sa.Column("lock_probe", sa.Integer))


def downgrade():
    op.drop_column("recipes", "lock_probe")


def validate_upgrade(connection):
    pass


def validate_downgrade(connection):
    pass
'''


@pytest.fixture
def scripts_with_locking_version(tmp_path: Path) -> Path:
    location = tmp_path / "migrations"
    shutil.copytree(runner.MIGRATIONS_DIR, location, ignore=shutil.ignore_patterns("__pycache__"))
    head = runner.revisions()[-1]
    (location / "versions" / "9999_lock_probe.py").write_text(
        LOCKING_VERSION.replace("{head}", head)
    )
    return location


async def test_a_blocked_migration_retries_then_fails_without_blocking_reads(
    database_url: str, scripts_with_locking_version: Path
) -> None:
    migration_settings = load_settings(
        database_url=database_url, database_lock_timeout_ms=200, database_lock_retries=3
    )
    app_settings = load_settings(
        database_url=database_url, database_pool_size=2, database_statement_timeout_ms=3000
    )
    app = Database.connect(database_url, app_settings)
    blocker = psycopg.connect(database_url)  # a long report holding ACCESS SHARE on recipes
    blocker.execute("SELECT count(*) FROM recipes")
    read_latencies: list[float] = []
    try:
        migration = asyncio.create_task(
            asyncio.to_thread(
                runner.upgrade,
                database_url,
                script_location=scripts_with_locking_version,
                settings=migration_settings,
            )
        )
        while not migration.done():
            started = time.monotonic()
            async with app.read_transaction() as session:  # QueryTimeoutError if queued
                await session.execute(text("SELECT count(*) FROM recipes"))
            read_latencies.append(time.monotonic() - started)
            await asyncio.sleep(0.02)
        with pytest.raises(MigrationError, match="4 attempts") as caught:
            await migration
    finally:
        blocker.close()
        await app.dispose()
    print(
        f"\n[locks] migration gave up ({caught.value}); {len(read_latencies)} app reads "
        f"meanwhile, slowest {max(read_latencies) * 1000:.0f} ms"
    )
    assert read_latencies
    assert runner.status(database_url).current == (runner.revisions()[-1],)  # nothing half-applied

    # Once the long transaction has ended, the same migration goes through.
    applied = runner.upgrade(
        database_url, script_location=scripts_with_locking_version, settings=migration_settings
    )
    assert applied == ["9999"]


async def test_a_blocked_migration_succeeds_once_the_lock_is_released(
    database_url: str, scripts_with_locking_version: Path
) -> None:
    settings = load_settings(
        database_url=database_url, database_lock_timeout_ms=200, database_lock_retries=20
    )
    blocker = psycopg.connect(database_url)
    blocker.execute("SELECT count(*) FROM recipes")
    try:
        migration = asyncio.create_task(
            asyncio.to_thread(
                runner.upgrade,
                database_url,
                script_location=scripts_with_locking_version,
                settings=settings,
            )
        )
        await asyncio.sleep(0.8)  # a few lock timeouts and retries happen meanwhile
        assert not migration.done()
    finally:
        blocker.close()
    assert await migration == ["9999"]
    status = runner.status(database_url, script_location=scripts_with_locking_version)
    assert status.current == ("9999",)
