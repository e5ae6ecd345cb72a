"""Physical backups: pg_basebackup, verified and restored into a scratch server of their own,
validated by the same checks as a logical restore, and the scratch server always removed."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from datalayer.db import Database
from datalayer.errors import ConfigurationError, InvalidInputError
from datalayer.operations import drill, physical
from datalayer.operations.backup import PHYSICAL, libpq_url, table_figures
from datalayer.operations.binaries import run_client
from datalayer.operations.drill import physical_drill, restore_drill
from datalayer.operations.physical import BASE_DIRECTORY, create_physical_backup
from datalayer.operations.restore import restore_backup
from datalayer.operations.restore_check import DrillResult
from datalayer.settings import Settings
from tests.integration.gdpr.support import populated_user
from tests.integration.operations.support import BackedUp, populate_and_back_up


@pytest.fixture
def scratch_parent() -> Iterator[Path]:
    """Where the scratch servers go: the server's own user must reach it (not under
    pytest's basetemp, which a concurrent run may reset to mode 0700)."""
    parent = Path(tempfile.mkdtemp(prefix="datalayer-physical-tests-"))
    parent.chmod(0o755)
    yield parent
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture
async def backup(db: Database, database_url: str, settings: Settings) -> Iterator[BackedUp]:
    """Three populated people, a physical backup of them, then one of them erased live."""
    home = Path(tempfile.mkdtemp(prefix="datalayer-physical-backup-"))
    key = settings.audit_hash_key.get_secret_value()
    yield await populate_and_back_up(
        db, database_url, key, home / "backup", dim=settings.embedding_dim, physical=True
    )
    shutil.rmtree(home, ignore_errors=True)


def _running(pid: int) -> bool:
    """Whether process ``pid`` runs (a stopped server that nobody reaped is a zombie)."""
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _left_in(parent: Path) -> list[Path]:
    return list(parent.iterdir())


def _server_pid(parent: Path) -> int:
    (datadir,) = (path / "data" for path in parent.iterdir())
    return int((datadir / "postmaster.pid").read_text().split()[0])


def _failed(result: DrillResult) -> list[str]:
    return [check.name for check in result.report.failed]


async def test_the_manifest_holds_the_figures_of_the_backup(
    db: Database, database_url: str, settings: Settings, tmp_path: Path
) -> None:
    await populated_user(db, settings.audit_hash_key.get_secret_value())
    with psycopg.connect(libpq_url(database_url)) as connection:
        live = table_figures(connection)

    manifest = create_physical_backup(database_url, tmp_path / "backup")

    assert manifest.format == PHYSICAL
    assert sorted(p.name for p in (tmp_path / "backup" / BASE_DIRECTORY).iterdir()) == [
        "backup_manifest",
        "base.tar",
        "pg_wal.tar",
    ]
    # Counted in a restored copy of the backup: with no writes meanwhile, the live figures.
    assert manifest.tables == live
    assert manifest.rows > 0
    assert manifest.vector_indexes  # the HNSW index, named for the vector check
    assert manifest.extra["database"] == make_url(database_url).database


def test_a_write_after_the_backup_is_not_in_its_manifest(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with psycopg.connect(libpq_url(database_url)) as connection:
        before = table_figures(connection)

    def then_write(command: list[str]) -> str:
        output = run_client(command)
        if Path(command[0]).name == "pg_basebackup":
            with psycopg.connect(libpq_url(database_url), autocommit=True) as connection:
                connection.execute("CREATE TABLE written_after (x int)")
                connection.execute("INSERT INTO alembic_version VALUES ('after')")
        return output

    monkeypatch.setattr(physical, "run_client", then_write)

    manifest = create_physical_backup(database_url, tmp_path / "backup")

    assert manifest.tables == before


async def test_the_drill_restores_validates_reapplies_the_ledger_and_cleans_up(
    backup: BackedUp, database_url: str, settings: Settings, scratch_parent: Path
) -> None:
    result = await physical_drill(
        backup.directory,
        settings,
        erased_subjects=backup.ledger,
        scratch_parent=scratch_parent,
    )

    assert result.report.passed, [(c.name, c.detail) for c in result.report.failed]
    names = [check.name for check in result.report.checks]
    assert names[0] == "backup files verified"
    assert {"rows match the manifest", "vector search uses HNSW", "no erased person present"} <= (
        set(names)
    )
    assert result.reapplied_erasures == 1
    assert result.backup_format == PHYSICAL
    assert result.rows_checked == backup.manifest.rows
    assert set(result.phases) == {
        "verify_s",
        "restore_files_and_recovery_s",
        "copy_checks_s",
        "ledger_and_serving_checks_s",
    }
    assert result.restore_s == result.phases["restore_files_and_recovery_s"]
    assert result.rto_s == pytest.approx(result.restore_s + result.validate_s, abs=0.01)
    assert _left_in(scratch_parent) == []


async def test_validate_takes_the_physical_path_for_a_physical_backup(
    backup: BackedUp, database_url: str, settings: Settings
) -> None:
    result = await restore_drill(
        backup.directory, database_url, settings, erased_subjects=backup.ledger
    )

    assert result.report.passed, [(c.name, c.detail) for c in result.report.failed]
    assert result.report.checks[0].name == "backup files verified"


async def test_a_failing_check_fails_the_drill_and_still_removes_the_server(
    backup: BackedUp, settings: Settings, scratch_parent: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = backup.directory / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["tables"]["recipes"]["rows"] += 1
    path.write_text(json.dumps(manifest))

    seen: list[int] = []
    validate = drill.validate_restored

    async def watched(url: str, *args: Any, **kwargs: Any) -> DrillResult:
        seen.append(_server_pid(scratch_parent))
        return await validate(url, *args, **kwargs)

    monkeypatch.setattr(drill, "validate_restored", watched)

    result = await physical_drill(
        backup.directory, settings, erased_subjects=backup.ledger, scratch_parent=scratch_parent
    )

    assert _failed(result) == ["rows match the manifest"]
    assert len(seen) == 1 and not _running(seen[0])
    assert _left_in(scratch_parent) == []


async def test_an_error_during_validation_stops_the_server_and_deletes_it(
    backup: BackedUp,
    settings: Settings,
    scratch_parent: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[int] = []

    async def broken(url: str, *_args: object, **_kwargs: object) -> DrillResult:
        seen.append(_server_pid(scratch_parent))
        with psycopg.connect(libpq_url(url)) as connection:  # the copy was up
            assert connection.execute("SELECT count(*) FROM users").fetchone() == (3,)
        raise RuntimeError("validation broke")

    monkeypatch.setattr(drill, "validate_restored", broken)

    with pytest.raises(RuntimeError, match="validation broke"):
        await physical_drill(
            backup.directory, settings, erased_subjects=set(), scratch_parent=scratch_parent
        )

    assert len(seen) == 1
    assert not _running(seen[0])
    assert _left_in(scratch_parent) == []


async def test_damaged_backup_files_fail_verification(
    backup: BackedUp, settings: Settings, scratch_parent: Path
) -> None:
    path = backup.directory / BASE_DIRECTORY / "backup_manifest"
    server_manifest = json.loads(path.read_text())
    entry = next(f for f in server_manifest["Files"] if f["Path"].startswith("base/"))
    entry["Size"] += 1
    path.write_text(json.dumps(server_manifest))

    result = await physical_drill(
        backup.directory, settings, erased_subjects=backup.ledger, scratch_parent=scratch_parent
    )

    assert _failed(result) == ["backup files verified"]
    assert _left_in(scratch_parent) == []


async def test_restoring_into_an_existing_server_is_refused(
    backup: BackedUp, empty_database_url: str
) -> None:
    with pytest.raises(InvalidInputError, match="cannot be restored into an existing server"):
        restore_backup(backup.directory, empty_database_url)

    with psycopg.connect(empty_database_url) as connection:
        tables = connection.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
    assert tables == (0,)


def test_a_role_without_replication_is_refused(database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(libpq_url(database_url), autocommit=True) as connection:
        connection.execute("DROP ROLE IF EXISTS no_replication")
        connection.execute("CREATE ROLE no_replication LOGIN PASSWORD 'pw-no-replication'")
    url = make_url(database_url).set(username="no_replication", password="pw-no-replication")
    url_text = url.render_as_string(hide_password=False)
    try:
        with pytest.raises(ConfigurationError, match="REPLICATION"):
            create_physical_backup(url_text, tmp_path / "backup")
        assert list((tmp_path / "backup").iterdir()) == []
    finally:
        with psycopg.connect(libpq_url(database_url), autocommit=True) as connection:
            connection.execute("DROP ROLE no_replication")
