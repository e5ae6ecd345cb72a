"""The GDPR and audit commands end to end, as an operator runs them."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from datalayer.db import Database
from datalayer.settings import Settings
from tests.integration.gdpr.support import populated_user

ROOT = Path(__file__).resolve().parents[3]


def cli(
    database_url: str, home: Path, *args: str, env_metrics: str = "none"
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    env.update(
        DATABASE_URL=database_url,
        DATALAYER_HOME=str(home),
        PYTHONPATH=str(ROOT),
        METRICS_BACKEND=env_metrics,
        COLUMNS="200",
    )
    return subprocess.run(
        [sys.executable, "-m", "datalayer", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


async def test_export_erase_verify_and_audit(
    db: Database, settings: Settings, database_url: str
) -> None:
    graph = await populated_user(db, settings.audit_hash_key.get_secret_value())
    user = str(graph.user.id)
    home = Path(tempfile.mkdtemp(prefix="datalayer-gdpr-cli-"))

    exported = cli(database_url, home, "gdpr", "export", user, "--format", "csv")
    assert exported.returncode == 0, exported.stdout + exported.stderr
    (archive,) = (home / "exports").glob("*.zip")
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert "recipes.csv" in zipfile.ZipFile(archive).namelist()

    refused = cli(database_url, home, "gdpr", "erase", user)
    assert refused.returncode == 1
    assert cli(database_url, home, "gdpr", "verify", user).returncode == 1  # still there

    erased = cli(database_url, home, "gdpr", "erase", user, "--yes")
    assert erased.returncode == 0, erased.stdout + erased.stderr
    assert "verified: no rows left" in erased.stdout
    verified = cli(database_url, home, "gdpr", "verify", user)
    assert verified.returncode == 0 and "no rows left" in verified.stdout

    chain = cli(database_url, home, "audit", "verify")
    assert chain.returncode == 0 and "intact" in chain.stdout

    unknown = cli(database_url, home, "gdpr", "erase", "not-a-uuid", "--yes")
    assert unknown.returncode == 1 and "Traceback" not in unknown.stdout + unknown.stderr
