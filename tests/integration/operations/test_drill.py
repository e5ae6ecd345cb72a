"""The restore drill: restore, re-apply the live ledger, validate, measure, always drop."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from datalayer.db import Database
from datalayer.errors import UnavailableError
from datalayer.operations.drill import restore_drill, validate_restored
from datalayer.operations.restore import restore_backup
from datalayer.settings import Settings
from tests.integration.operations.support import BackedUp, populate_and_back_up
from tests.services import PostgresHarness, temporary_database


@pytest.fixture
async def backup(db: Database, database_url: str, settings: Settings, tmp_path: Path) -> BackedUp:
    """Three populated people, a backup of them, then one of them erased live."""
    key = settings.audit_hash_key.get_secret_value()
    return await populate_and_back_up(
        db, database_url, key, tmp_path / "backup", dim=settings.embedding_dim
    )


def scratch_databases(postgres: PostgresHarness) -> set[str]:
    with psycopg.connect(postgres.admin_url) as connection:
        rows = connection.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'restore_check_%'"
        )
        return {row[0] for row in rows}


async def test_drill_reapplies_the_ledger_passes_and_drops_the_copy(
    backup: BackedUp,
    database_url: str,
    settings: Settings,
    postgres: PostgresHarness,
) -> None:
    before = scratch_databases(postgres)

    result = await restore_drill(
        backup.directory, database_url, settings, erased_subjects=backup.ledger
    )

    assert result.report.passed, [(c.name, c.detail) for c in result.report.failed]
    assert result.reapplied_erasures == 1
    phases = result.phases
    assert set(phases) == {
        "restore_base_s",
        "vector_indexes_s",
        "copy_checks_s",
        "ledger_and_serving_checks_s",
    }
    assert result.restore_s == pytest.approx(
        phases["restore_base_s"] + phases["vector_indexes_s"], abs=0.01
    )
    assert result.validate_s == pytest.approx(
        phases["copy_checks_s"] + phases["ledger_and_serving_checks_s"], abs=0.01
    )
    # The checks that need no vector index ran while the index was building.
    assert 0 < result.overlap_s <= min(phases["copy_checks_s"], phases["vector_indexes_s"]) + 0.01
    assert result.rto_s == pytest.approx(
        result.restore_s + result.validate_s - result.overlap_s, abs=0.01
    )
    assert 0 <= result.rpo_s < 3600
    assert result.rows_checked == backup.manifest.rows
    assert scratch_databases(postgres) == before


async def test_the_drill_fails_when_the_vector_indexes_are_not_built(
    backup: BackedUp,
    database_url: str,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:

    async def skipped(*_args: object, **_kwargs: object) -> float:
        return 0.0

    # A restore that lost its last stage: everything else is there and identical.
    monkeypatch.setattr("datalayer.operations.drill.build_vector_indexes", skipped)
    result = await restore_drill(
        backup.directory, database_url, settings, erased_subjects=backup.ledger
    )

    assert {check.name: check.detail for check in result.report.failed} == {
        "vector search uses HNSW": "missing: ix_recipe_embeddings_embedding_hnsw"
    }


async def test_the_scratch_database_is_dropped_when_the_restore_fails(
    backup: BackedUp,
    database_url: str,
    settings: Settings,
    postgres: PostgresHarness,
) -> None:
    # A damaged dump: one table's data file is gone.
    dump = backup.directory / "dump"
    data_files = sorted(dump.glob("*.dat.gz")) or sorted(dump.glob("*.dat"))
    data_files[0].unlink()
    before = scratch_databases(postgres)

    with pytest.raises(UnavailableError, match="pg_restore failed"):
        await restore_drill(backup.directory, database_url, settings, erased_subjects=set())

    assert scratch_databases(postgres) == before


async def test_the_scratch_database_is_dropped_when_a_later_step_raises(
    backup: BackedUp,
    database_url: str,
    settings: Settings,
    postgres: PostgresHarness,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = scratch_databases(postgres)
    seen: list[str] = []

    async def interrupted(*_args: object, **_kwargs: object) -> None:
        seen.extend(scratch_databases(postgres) - before)
        raise ConnectionResetError("network gone during the ledger step")

    # A fault injected after the restore succeeded (the database itself is real).
    monkeypatch.setattr("datalayer.operations.drill.reapply_ledger", interrupted)
    with pytest.raises(ConnectionResetError):
        await restore_drill(backup.directory, database_url, settings, erased_subjects=set())

    assert len(seen) == 1
    assert scratch_databases(postgres) == before


async def test_a_copy_restored_elsewhere_is_made_lawful_and_validated(
    backup: BackedUp,
    settings: Settings,
    postgres: PostgresHarness,
) -> None:
    with temporary_database(postgres, migrated=False) as copy:
        restore_backup(backup.directory, copy)  # stands in for an RDS snapshot restore

        result = await validate_restored(
            copy, settings, erased_subjects=backup.ledger, restore_s=600.0, backup_age_s=3600.0
        )

    assert result.report.passed, [(c.name, c.detail) for c in result.report.failed]
    assert "rows match the manifest" not in {check.name for check in result.report.checks}
    assert result.reapplied_erasures == 1
    assert result.rpo_s == 3600.0
    assert result.rto_s == pytest.approx(600.0 + result.validate_s, abs=0.01)


async def test_the_audit_chain_is_checked_again_after_the_ledger_appended_to_it(
    backup: BackedUp,
    settings: Settings,
    postgres: PostgresHarness,
) -> None:
    with temporary_database(postgres, migrated=False) as copy:
        restore_backup(backup.directory, copy)
        with psycopg.connect(copy) as connection:
            restored_rows = connection.execute("SELECT count(*) FROM audit_logs").fetchone()

        result = await validate_restored(copy, settings, erased_subjects=backup.ledger)

        with psycopg.connect(copy) as connection:
            final_rows = connection.execute("SELECT count(*) FROM audit_logs").fetchone()
    assert result.reapplied_erasures == 1
    assert restored_rows is not None and final_rows is not None
    assert final_rows[0] > restored_rows[0]  # the erasure was audited in the copy
    chain = next(c for c in result.report.checks if c.name == "audit hash chain intact")
    assert chain.passed and chain.detail == f"{final_rows[0]} rows linked"
