"""The CLI end to end, on its own embedded PostgreSQL in a temporary DATALAYER_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from datalayer import models as m
from datalayer.migrations.history import HISTORY_TABLE


def run(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_READ_URL")}
    env["DATALAYER_HOME"] = str(home)
    result = subprocess.run(
        [sys.executable, "-m", "datalayer", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    run(tmp_path, "db", "stop", check=False)


def test_embedded_database_lifecycle_and_migrations(home: Path) -> None:
    assert run(home, "db", "status", check=False).returncode == 3
    assert "running at postgresql://postgres:***@127.0.0.1:" in run(home, "db", "start").stdout
    assert "running" in run(home, "db", "status").stdout

    masked = run(home, "db", "url").stdout.strip()
    revealed = run(home, "db", "url", "--reveal").stdout.strip()
    assert "***" in masked and "***" not in revealed
    assert masked.endswith("/recipes")

    assert "applied: 0001" in run(home, "migrate", "up").stdout
    assert "already up to date" in run(home, "migrate", "up").stdout
    assert "no drift" in run(home, "migrate", "check").stdout
    status = run(home, "migrate", "status").stdout
    assert "current: 0001" in status and "pending: none" in status

    assert "reverted: 0001" in run(home, "migrate", "down", "base").stdout
    drift = run(home, "migrate", "check", check=False)
    assert drift.returncode == 1 and "pending migration 0001" in drift.stdout

    assert "stopped" in run(home, "db", "stop").stdout
    assert run(home, "db", "status", check=False).returncode == 3


def test_bad_configuration_is_one_clear_line(home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "datalayer", "migrate", "status"],
        env={**os.environ, "DATALAYER_HOME": str(home), "DATABASE_POOL_SIZE": "lots"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "DATABASE_POOL_SIZE" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_schema_prints_the_catalogue_and_row_counts(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO users (username, email) VALUES ('ada', 'ada@example.com'), "
            "('bob', 'bob@example.com')"
        )
    env = {**os.environ, "DATABASE_URL": database_url, "COLUMNS": "200"}
    result = subprocess.run(
        [sys.executable, "-m", "datalayer", "schema"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {}
    for line in result.stdout.splitlines():
        cells = [cell.strip() for cell in line.strip("│┃ ").split("│")]
        if len(cells) == 7 and cells[1].isdigit():
            rows[cells[0]] = [int(cell) for cell in cells[1:]]

    # table: columns, indexes, constraints, triggers, partitions, rows
    assert set(rows) == {table.name for table in m.Base.metadata.sorted_tables} | {
        "alembic_version",
        HISTORY_TABLE,
    }
    users = m.User.__table__
    assert rows["users"][0] == len(users.columns)
    assert rows["users"][3:] == [1, 0, 2]  # the updated_at trigger, no partitions, two rows
    assert rows["audit_logs"][3:] == [2, 0, 0]  # append-only and no-truncate triggers
    assert rows["system_logs"][4] >= 2  # a default partition and the monthly ones
    assert rows["recipes"][5] == 0
