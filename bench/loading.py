"""Loading the dataset and measuring bulk-load paths and the HNSW index build.

Users and recipes go in with COPY. Embeddings are loaded without the HNSW index (dropped
first, rebuilt afterwards with the DDL of the model, i.e. the migration's name and
parameters): the same sample of rows through ``executemany``, raw binary COPY and
:meth:`EmbeddingRepository.bulk_load` (binary COPY after validation), each into an empty
table, so the three rates compare like with like; then every row through ``bulk_load``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from pgvector.psycopg import register_vector_async
from psycopg import AsyncConnection
from rich.progress import Progress
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex

from bench.dataset import Dataset
from bench.server import INDEX_BUILD_MAINTENANCE_WORK_MEM
from datalayer.models import Base
from datalayer.repositories.embedding_copy import COPY_COLUMNS
from datalayer.repositories.embeddings import EmbeddingRepository
from datalayer.schemas.embeddings import EmbeddingIn

HNSW_INDEX = "ix_recipe_embeddings_embedding_hnsw"
MODEL, MODEL_VERSION = "bench-clustered", "1"

_INSERT = (
    f"INSERT INTO recipe_embeddings ({', '.join(COPY_COLUMNS)}) VALUES (%s, %s, %s, %s, %s, %s)"
)
_COPY = f"COPY recipe_embeddings ({', '.join(COPY_COLUMNS)}) FROM STDIN WITH (FORMAT BINARY)"


def hnsw_index_ddl() -> str:
    """``CREATE INDEX`` of the HNSW index exactly as the model (and migration) declares it."""
    table = Base.metadata.tables["recipe_embeddings"]
    index = next(index for index in table.indexes if index.name == HNSW_INDEX)
    statement = CreateIndex(index).compile(dialect=postgresql.dialect())  # type: ignore[no-untyped-call]
    return str(statement)


def _embedding_row(dataset: Dataset, row: int) -> tuple[Any, ...]:
    return (
        dataset.recipe_ids[row],
        dataset.user_ids[int(dataset.owners[row])],
        dataset.vectors[row],
        MODEL,
        MODEL_VERSION,
        dataset.recipes[row].content_hash,
    )


async def load_owners_and_recipes(
    connection: AsyncConnection[Any], dataset: Dataset, progress: Progress
) -> dict[str, float]:
    """COPY the users and the recipes (with their searchable text); returns timings."""
    started = time.perf_counter()
    async with connection.cursor() as cursor:
        async with cursor.copy("COPY users (id, username, email) FROM STDIN") as copy:
            for index, user_id in enumerate(dataset.user_ids):
                await copy.write_row((user_id, f"bench_user_{index:06d}", f"u{index}@bench.test"))
        columns = (
            "id, user_id, title, description, instructions, cuisine_type, ingredient_names, "
            "content_hash, ai_status"
        )
        async with cursor.copy(f"COPY recipes ({columns}) FROM STDIN") as copy:
            for row in progress.track(range(dataset.rows), description="COPY recipes"):
                text = dataset.recipes[row]
                await copy.write_row(
                    (
                        dataset.recipe_ids[row],
                        dataset.user_ids[int(dataset.owners[row])],
                        text.title,
                        text.description,
                        text.instructions,
                        text.cuisine,
                        text.ingredient_names,
                        text.content_hash,
                        "completed",
                    )
                )
    await connection.commit()
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "rows_per_s": round(dataset.rows / seconds)}


async def _timed_rows_per_s(connection: AsyncConnection[Any], rows: int, started: float) -> float:
    await connection.commit()
    seconds = time.perf_counter() - started
    await connection.execute("TRUNCATE recipe_embeddings")
    await connection.commit()
    return rows / seconds


async def executemany_rows_per_s(
    connection: AsyncConnection[Any], dataset: Dataset, sample: int
) -> float:
    """``cursor.executemany`` of one INSERT per row (binary vectors, one transaction)."""
    rows = [_embedding_row(dataset, row) for row in range(sample)]
    started = time.perf_counter()
    async with connection.cursor() as cursor:
        await cursor.executemany(_INSERT, rows)
    return await _timed_rows_per_s(connection, sample, started)


async def raw_copy_rows_per_s(
    connection: AsyncConnection[Any], dataset: Dataset, sample: int
) -> float:
    """Binary COPY of already-validated rows, without the repository's checks."""
    rows = [_embedding_row(dataset, row) for row in range(sample)]
    started = time.perf_counter()
    async with connection.cursor() as cursor, cursor.copy(_COPY) as copy:
        copy.set_types(["uuid", "uuid", "vector", "varchar", "varchar", "varchar"])
        for row in rows:
            await copy.write_row(row)
    return await _timed_rows_per_s(connection, sample, started)


def _embedding_rows(dataset: Dataset, rows: range) -> Iterator[EmbeddingIn]:
    for row in rows:
        yield EmbeddingIn(
            recipe_id=dataset.recipe_ids[row],
            user_id=dataset.user_ids[int(dataset.owners[row])],
            embedding=dataset.vectors[row],
            model=MODEL,
            model_version=MODEL_VERSION,
            source_text_hash=dataset.recipes[row].content_hash,
        )


async def bulk_load_rows_per_s(
    connection: AsyncConnection[Any], repository: EmbeddingRepository, dataset: Dataset, sample: int
) -> tuple[int, float]:
    """:meth:`EmbeddingRepository.bulk_load` of the first ``sample`` rows: (rows loaded,
    rows/s)."""
    started = time.perf_counter()
    loaded = await repository.bulk_load(_embedding_rows(dataset, range(sample)))
    return loaded, await _timed_rows_per_s(connection, loaded, started)


async def measure_bulk_load(
    connection: AsyncConnection[Any],
    repository: EmbeddingRepository,
    dataset: Dataset,
    sample: int,
    progress: Progress,
) -> dict[str, Any]:
    """Drop the HNSW index, compare the load paths on the same ``sample`` rows, then load
    every row with the repository."""
    await register_vector_async(connection)
    await connection.execute(f"DROP INDEX {HNSW_INDEX}")
    await connection.commit()
    task = progress.add_task("bulk load (executemany, COPY, bulk_load)", total=4)
    executemany = await executemany_rows_per_s(connection, dataset, sample)
    progress.advance(task)
    raw_copy = await raw_copy_rows_per_s(connection, dataset, sample)
    progress.advance(task)
    sample_loaded, sample_copy = await bulk_load_rows_per_s(connection, repository, dataset, sample)
    progress.advance(task)
    started = time.perf_counter()
    loaded = await repository.bulk_load(_embedding_rows(dataset, range(dataset.rows)))
    copy_seconds = time.perf_counter() - started
    progress.advance(task)
    return {
        "copy_rows_per_s": round(loaded / copy_seconds),
        "copy_rows": loaded,
        "copy_seconds": round(copy_seconds, 2),
        "copy_path": "EmbeddingRepository.bulk_load (validation + binary COPY)",
        "sample_rows": sample_loaded,
        "sample_copy_rows_per_s": round(sample_copy),
        "executemany_rows_per_s": round(executemany),
        "executemany_rows": sample,
        "executemany_path": "psycopg cursor.executemany, one INSERT per row, binary vectors",
        "raw_copy_rows_per_s": round(raw_copy),
        "raw_copy_rows": sample,
        "copy_over_executemany": round(sample_copy / executemany, 2),
        "copy_over_executemany_rows": sample_loaded,
        "hnsw_index_present": False,
    }


async def build_hnsw_index(connection: AsyncConnection[Any]) -> dict[str, Any]:
    """VACUUM ANALYZE, time ``CREATE INDEX``, prewarm the index and report its size."""
    await connection.set_autocommit(True)
    await connection.execute("VACUUM (ANALYZE) recipe_embeddings")
    await connection.execute("VACUUM (ANALYZE) recipes")
    await connection.execute(f"SET maintenance_work_mem = '{INDEX_BUILD_MAINTENANCE_WORK_MEM}'")
    ddl = hnsw_index_ddl()
    started = time.perf_counter()
    await connection.execute(ddl)
    seconds = time.perf_counter() - started
    await connection.execute("RESET maintenance_work_mem")
    await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
    await connection.execute("SELECT pg_prewarm(%s)", (HNSW_INDEX,))
    sizes = await (
        await connection.execute(
            "SELECT pg_relation_size(%s::regclass), pg_table_size('recipe_embeddings'), "
            "current_setting('max_parallel_maintenance_workers')",
            (HNSW_INDEX,),
        )
    ).fetchone()
    assert sizes is not None
    await connection.set_autocommit(False)
    return {
        "ddl": ddl,
        "build_s": round(seconds, 1),
        "size_bytes": int(sizes[0]),
        "size_mib": round(int(sizes[0]) / 2**20, 1),
        "table_size_bytes": int(sizes[1]),
        "maintenance_work_mem": INDEX_BUILD_MAINTENANCE_WORK_MEM,
        "maintenance_work_mem_scope": "SET in the session running CREATE INDEX",
        "max_parallel_maintenance_workers": int(sizes[2]),
        "prewarmed": "pg_prewarm of the index into shared_buffers after the build",
    }
