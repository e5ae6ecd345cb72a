"""The two-stage restore (vector indexes last), the vector-index probe, and the dump's
compression: the copy is identical to the backup, and a missing or second vector index is
seen."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from datalayer.db import Database
from datalayer.errors import InvalidInputError
from datalayer.operations.backup import DUMP_DIRECTORY, create_backup, table_figures
from datalayer.operations.restore import build_vector_indexes, restore_backup, restore_base
from datalayer.operations.restore_check import validate_database
from datalayer.operations.vector_indexes import VECTOR_INDEXES_QUERY
from datalayer.settings import Settings, load_settings
from tests.integration.operations.support import populate_and_back_up
from tests.services import PostgresHarness, temporary_database

HNSW = "ix_recipe_embeddings_embedding_hnsw"
HALFVEC = "ix_test_recipe_embeddings_halfvec_hnsw"


def vector_index_names(url: str) -> list[str]:
    with psycopg.connect(url) as connection:
        return [row[0] for row in connection.execute(VECTOR_INDEXES_QUERY)]


def figures(url: str) -> dict[str, object]:
    with psycopg.connect(url) as connection:
        return dict(table_figures(connection))


async def test_the_rest_is_restored_first_then_the_vector_indexes_identical_to_the_backup(
    db: Database, database_url: str, settings: Settings, postgres: PostgresHarness, tmp_path: Path
) -> None:
    key = settings.audit_hash_key.get_secret_value()
    backup = await populate_and_back_up(
        db, database_url, key, tmp_path / "backup", dim=settings.embedding_dim
    )
    assert backup.manifest.vector_indexes == (HNSW,)
    with temporary_database(postgres, migrated=False) as copy:
        await restore_base(backup.directory, copy)
        assert vector_index_names(copy) == []
        assert figures(copy) == backup.manifest.tables

        await build_vector_indexes(backup.directory, copy)

        assert vector_index_names(copy) == [HNSW]
        assert figures(copy) == backup.manifest.tables


async def test_every_vector_index_is_probed_and_one_the_backup_had_must_be_there(
    db: Database, database_url: str, settings: Settings, postgres: PostgresHarness, tmp_path: Path
) -> None:
    key = settings.audit_hash_key.get_secret_value()
    dim = settings.embedding_dim
    async with db.write_engine.begin() as connection:
        await connection.execute(
            text(
                f"CREATE INDEX {HALFVEC} ON recipe_embeddings "
                f"USING hnsw ((embedding::halfvec({dim})) halfvec_cosine_ops)"
            )
        )
    backup = await populate_and_back_up(db, database_url, key, tmp_path / "backup", dim=dim)
    assert backup.manifest.vector_indexes == (HNSW, HALFVEC)
    with temporary_database(postgres, migrated=False) as copy:
        restore_backup(backup.directory, copy)
        restored = Database.connect(copy, load_settings(database_url=copy))
        try:
            async with restored.write_engine.connect() as connection:
                report = await validate_database(connection, key, manifest=backup.manifest)
                vector = next(c for c in report.checks if c.name == "vector search uses HNSW")
                assert vector.passed
                assert vector.detail == f"2 vector index(es) answer a query: {HNSW}, {HALFVEC}"

                await connection.execute(text(f"DROP INDEX {HALFVEC}"))
                await connection.commit()
                report = await validate_database(connection, key, manifest=backup.manifest)
        finally:
            await restored.dispose()
    assert {check.name: check.detail for check in report.failed} == {
        "vector search uses HNSW": f"missing: {HALFVEC}"
    }


async def test_the_dump_is_uncompressed_unless_a_gzip_level_is_asked_for(
    db: Database, database_url: str, settings: Settings, postgres: PostgresHarness, tmp_path: Path
) -> None:
    key = settings.audit_hash_key.get_secret_value()
    plain = await populate_and_back_up(
        db, database_url, key, tmp_path / "plain", dim=settings.embedding_dim
    )
    assert plain.manifest.compression == "none"
    assert list((plain.directory / DUMP_DIRECTORY).glob("*.dat"))
    assert not list((plain.directory / DUMP_DIRECTORY).glob("*.gz"))

    with pytest.raises(InvalidInputError, match="gzip_level"):
        create_backup(database_url, tmp_path / "bad", gzip_level=10)
    assert not (tmp_path / "bad").exists()

    gzipped = create_backup(database_url, tmp_path / "gzip", gzip_level=6)
    assert gzipped.compression == "gzip:6"
    assert list((tmp_path / "gzip" / DUMP_DIRECTORY).glob("*.dat.gz"))
    with temporary_database(postgres, migrated=False) as copy:
        restore_backup(tmp_path / "gzip", copy)
        assert figures(copy) == gzipped.tables
        assert vector_index_names(copy) == [HNSW]
