"""The CLI end to end, on its own embedded PostgreSQL in a temporary DATALAYER_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


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
def home(tmp_path: Path) -> Path:
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
