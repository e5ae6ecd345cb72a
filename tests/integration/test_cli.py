"""The CLI end to end, on its own embedded PostgreSQL in a temporary DATALAYER_HOME."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from datalayer import models as m
from datalayer.migrations import runner
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
def home() -> Iterator[Path]:
    # Not under pytest's basetemp: a concurrent pytest run resets that tree to mode 0700,
    # which locks out the server's own system user.
    path = Path(tempfile.mkdtemp(prefix="datalayer-cli-"))
    yield path
    run(path, "db", "stop", check=False)
    shutil.rmtree(path, ignore_errors=True)


def test_embedded_database_lifecycle_and_migrations(home: Path) -> None:
    assert run(home, "db", "status", check=False).returncode == 3
    assert "running at postgresql://postgres:***@127.0.0.1:" in run(home, "db", "start").stdout
    assert "running" in run(home, "db", "status").stdout

    masked = run(home, "db", "url").stdout.strip()
    revealed = run(home, "db", "url", "--reveal").stdout.strip()
    assert "***" in masked and "***" not in revealed
    assert masked.endswith("/recipes")

    revisions = runner.revisions()
    assert f"applied: {', '.join(revisions)}" in run(home, "migrate", "up").stdout
    assert "already up to date" in run(home, "migrate", "up").stdout
    assert "no drift" in run(home, "migrate", "check").stdout
    status = run(home, "migrate", "status").stdout
    assert f"current: {revisions[-1]}" in status and "pending: none" in status

    reverted = f"reverted: {', '.join(reversed(revisions))}"
    assert reverted in run(home, "migrate", "down", "base", "--yes").stdout
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


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 1, output
    assert "Traceback" not in output
    error_lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, output
    return error_lines[0]


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [
        (
            {"DATABASE_APP_ROLE": "Bad-Role"},
            ("migrate", "status"),
            "DATABASE_APP_ROLE: must be a lowercase PostgreSQL identifier",
        ),
        # The rule's own text survives the terminal (rich markup would eat "[a-z]").
        ({"METRICS_ENVIRONMENT": "Prod!"}, ("migrate", "status"), "'^[a-z][a-z0-9-]{0,31}$'"),
        ({"DATABASE_URL": "postgresql://u:pw@localhost:abc/db"}, ("migrate", "status"), "error:"),
        ({"DATALAYER_HOME": "/dev/null/home"}, ("migrate", "status"), "/dev/null"),
    ],
    ids=["settings-rule", "settings-pattern", "non-numeric-port", "unwritable-home"],
)
def test_cli_errors_are_one_line(
    home: Path, env: dict[str, str], args: tuple[str, ...], expected: str
) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    environment.update({"DATALAYER_HOME": str(home), **env})
    result = subprocess.run(
        [sys.executable, "-m", "datalayer", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    line = one_line_error(result)
    assert expected in line
    assert "pw@" not in result.stdout + result.stderr


def test_unknown_revision_is_one_line_and_names_the_database(home: Path) -> None:
    result = run(home, "migrate", "up", "bogus", check=False)
    assert "Can't locate revision identified by 'bogus'" in one_line_error(result)
    assert "(the embedded server in DATALAYER_HOME, because DATABASE_URL is unset)" in result.stdout


def test_migrate_down_asks_before_dropping(home: Path) -> None:
    run(home, "migrate", "up")
    refused = run(home, "migrate", "down", "base", check=False)  # no stdin: the answer is no
    assert refused.returncode == 1 and "Revert to base?" in refused.stdout
    revisions = runner.revisions()
    assert f"current: {revisions[-1]}" in run(home, "migrate", "status").stdout
    reverted = f"reverted: {', '.join(reversed(revisions))}"
    assert reverted in run(home, "migrate", "down", "base", "--yes").stdout


def test_health_command_reports_migration_state(home: Path) -> None:
    run(home, "db", "start")
    behind = run(home, "health", "--json", check=False)
    assert behind.returncode == 1
    report = json.loads(behind.stdout)
    assert report["status"] == "unhealthy"
    assert report["migrations"]["at_head"] is False
    assert report["components"][0]["name"] == "primary"
    assert report["components"][0]["status"] == "healthy"

    run(home, "migrate", "up")
    current = json.loads(run(home, "health", "--json").stdout)
    assert current["status"] == "healthy" and current["migrations"]["at_head"] is True
    assert current["pools"]["primary"]["size"] > 0


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
    # append-only and no-truncate triggers; this month and twelve ahead; no rows
    assert rows["audit_logs"][3:] == [2, 13, 0]
    assert rows["system_logs"][4] >= 2  # a default partition and the monthly ones
    assert rows["recipes"][5] == 0
