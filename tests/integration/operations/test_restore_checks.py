"""A backup restores with every check passing; each check fails when its property breaks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from datalayer.db import Database
from datalayer.errors import InvalidInputError
from datalayer.operations.restore import RestoreOptions, restore_backup, restore_dsn
from datalayer.operations.restore_check import ValidationReport, validate_database
from datalayer.settings import Settings, load_settings
from tests.integration.operations.support import BackedUp, populate_and_back_up
from tests.services import PostgresHarness, temporary_database


@dataclass
class Restored:
    backup: BackedUp
    db: Database
    key: str

    async def validate(self, ledger: set[str] | None = None) -> ValidationReport:
        async with self.db.write_engine.connect() as connection:
            return await validate_database(
                connection,
                self.key,
                manifest=self.backup.manifest,
                erased_subjects=self.backup.ledger if ledger is None else ledger,
            )

    async def sql(self, *statements: str) -> None:
        async with self.db.write_engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            for statement in statements:
                await connection.execute(text(statement))


@pytest.fixture
async def restored(
    db: Database, database_url: str, settings: Settings, postgres: PostgresHarness, tmp_path: Path
) -> AsyncIterator[Restored]:
    key = settings.audit_hash_key.get_secret_value()
    backup = await populate_and_back_up(
        db, database_url, key, tmp_path / "backup", dim=settings.embedding_dim
    )
    with temporary_database(postgres, migrated=False) as target:
        restore_backup(backup.directory, target)
        copy = Database.connect(target, load_settings(database_url=target))
        try:
            yield Restored(backup, copy, key)
        finally:
            await copy.dispose()


def failed(report: ValidationReport) -> dict[str, str]:
    return {check.name: check.detail for check in report.failed}


async def test_a_restored_backup_passes_every_check_except_the_ledger(restored: Restored) -> None:
    report = await restored.validate(ledger=set())
    assert [check.name for check in report.checks] == [
        "schema at migration head",
        "rows match the manifest",
        "foreign keys hold",
        "check constraints hold",
        "b-tree indexes (amcheck)",
        "append-only audit triggers",
        "audit hash chain intact",
        "vector search uses HNSW",
        "search latency probe",
        "no erased person present",
    ]
    assert report.passed, failed(report)
    assert restored.backup.manifest.tables["recipe_embeddings"].rows == 23


async def test_a_person_erased_after_the_backup_is_found_in_the_copy(restored: Restored) -> None:
    report = await restored.validate()
    assert failed(report) == {"no erased person present": "1 erased people present"}


Breakage = Callable[[Restored], Awaitable[None]]


async def _changed_row(r: Restored) -> None:
    await r.sql("UPDATE recipes SET title = 'Changed' WHERE id = (SELECT id FROM recipes LIMIT 1)")


async def _changed_vector(r: Restored) -> None:
    # Triggers off: only the vector changes, not updated_at.
    await r.sql(
        "SET session_replication_role = replica",
        "UPDATE recipe_embeddings SET embedding = "
        "array_fill(0.25::real, ARRAY[vector_dims(embedding)])::vector "
        "WHERE recipe_id = (SELECT recipe_id FROM recipe_embeddings LIMIT 1)",
    )


async def _orphan(r: Restored) -> None:
    await r.sql(
        "SET session_replication_role = replica",
        "UPDATE pantry_items SET product_id = gen_random_uuid() "
        "WHERE id = (SELECT id FROM pantry_items LIMIT 1)",
    )


async def _check_violation(r: Restored) -> None:
    await r.sql(
        "ALTER TABLE recipes DROP CONSTRAINT ck_recipes_difficulty_range",
        "UPDATE recipes SET difficulty = 99 WHERE id = (SELECT id FROM recipes LIMIT 1)",
        "ALTER TABLE recipes ADD CONSTRAINT ck_recipes_difficulty_range "
        "CHECK (difficulty BETWEEN 1 AND 5) NOT VALID",
    )


async def _dropped_hnsw(r: Restored) -> None:
    await r.sql("DROP INDEX ix_recipe_embeddings_embedding_hnsw")


async def _invalid_hnsw(r: Restored) -> None:
    # What a failed CREATE INDEX CONCURRENTLY leaves behind: present but never used.
    await r.sql(
        "UPDATE pg_index SET indisvalid = false "
        "WHERE indexrelid = 'ix_recipe_embeddings_embedding_hnsw'::regclass"
    )


async def _disabled_trigger(r: Restored) -> None:
    await r.sql("ALTER TABLE audit_logs DISABLE TRIGGER trg_audit_logs_append_only")


async def _tampered_audit(r: Restored) -> None:
    await r.sql(
        "ALTER TABLE audit_logs DISABLE TRIGGER trg_audit_logs_append_only",
        "UPDATE audit_logs SET action = 'user.deleted' WHERE id = (SELECT min(id) FROM audit_logs)",
        "ALTER TABLE audit_logs ENABLE TRIGGER trg_audit_logs_append_only",
    )


async def _old_schema(r: Restored) -> None:
    await r.sql("UPDATE alembic_version SET version_num = '0001'")


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (_changed_row, {"rows match the manifest"}),
        (_changed_vector, {"rows match the manifest"}),
        (_orphan, {"foreign keys hold", "rows match the manifest"}),
        (_check_violation, {"check constraints hold", "rows match the manifest"}),
        (_dropped_hnsw, {"vector search uses HNSW"}),
        (_invalid_hnsw, {"vector search uses HNSW"}),
        (_disabled_trigger, {"append-only audit triggers"}),
        (_tampered_audit, {"audit hash chain intact", "rows match the manifest"}),
        (_old_schema, {"schema at migration head", "rows match the manifest"}),
    ],
    ids=lambda value: getattr(value, "__name__", "")[1:],
)
async def test_each_check_fails_when_its_property_is_broken(
    restored: Restored, breakage: Breakage, expected: set[str]
) -> None:
    await breakage(restored)
    report = await restored.validate(ledger=set())
    assert set(failed(report)) == expected, failed(report)


def test_restore_sessions_get_the_index_build_memory_and_workers(database_url: str) -> None:
    options = RestoreOptions(maintenance_work_mem="700MB", index_workers=3)
    with psycopg.connect(restore_dsn(database_url, options)) as connection:
        assert connection.execute("SHOW maintenance_work_mem").fetchone() == ("700MB",)
        assert connection.execute("SHOW max_parallel_maintenance_workers").fetchone() == ("3",)
    with pytest.raises(InvalidInputError, match="maintenance_work_mem"):
        restore_dsn(database_url, RestoreOptions(maintenance_work_mem="1GB; DROP"))
    with pytest.raises(InvalidInputError, match="index_workers"):
        restore_dsn(database_url, RestoreOptions(index_workers=-1))
