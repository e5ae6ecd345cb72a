"""Loading the dataset and measuring bulk-load paths and the HNSW index build.

Users and recipes go in with COPY. The load paths are compared on the same sample of rows,
each into an empty table: with the HNSW index of the migrations (``executemany`` against
:meth:`EmbeddingRepository.bulk_load`, which drops and rebuilds the index), and without
any vector index (``executemany``, raw binary COPY and ``bulk_load``'s COPY, like with
like). Then every row goes in through ``bulk_load`` as an application calls it: into an
empty table it drops the index, COPYs and rebuilds it in one transaction, and the rebuild
time is the index build time reported.
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
from datalayer.schemas.embeddings import BulkLoadOut, EmbeddingIn

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
    """COPY the users and the recipes (with their searchable text), then VACUUM them;
    returns timings."""
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
    # What autovacuum does after a bulk insert, done now rather than at a moment of its
    # choosing during the measurements (it would set the hint bits of every recipe the
    # embedding loads' foreign-key checks read, and compete for the two cores).
    started = time.perf_counter()
    await connection.set_autocommit(True)
    await connection.execute("VACUUM (ANALYZE) users, recipes")
    await connection.set_autocommit(False)
    return {
        "seconds": round(seconds, 2),
        "rows_per_s": round(dataset.rows / seconds),
        "vacuum_s": round(time.perf_counter() - started, 2),
    }


async def _timed_rows_per_s(connection: AsyncConnection[Any], rows: int, started: float) -> float:
    await connection.commit()
    seconds = time.perf_counter() - started
    await _empty(connection)
    return rows / seconds


async def _empty(connection: AsyncConnection[Any]) -> None:
    await connection.execute("TRUNCATE recipe_embeddings")
    await connection.commit()


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
    connection: AsyncConnection[Any],
    repository: EmbeddingRepository,
    dataset: Dataset,
    sample: int,
    *,
    rebuild_index: bool | None = None,
) -> tuple[BulkLoadOut, float]:
    """:meth:`EmbeddingRepository.bulk_load` of the first ``sample`` rows: (what it did,
    wall seconds). The table is emptied again afterwards. As for the other paths, the rows
    are built before the clock starts."""
    rows = list(_embedding_rows(dataset, range(sample)))
    started = time.perf_counter()
    done = await repository.bulk_load(rows, rebuild_index=rebuild_index)
    seconds = time.perf_counter() - started
    await _empty(connection)
    return done, seconds


def _copy_rows_per_s(done: BulkLoadOut, seconds: float) -> float:
    """Rows per second of a bulk load without its index rebuild (validation, encoding and
    COPY): the rate the target is about; the rebuild is reported on its own."""
    return done.rows / (seconds - (done.index_build_s or 0.0))


async def measure_bulk_load(
    connection: AsyncConnection[Any],
    repository: EmbeddingRepository,
    dataset: Dataset,
    sample: int,
    progress: Progress,
) -> dict[str, Any]:
    """Compare the load paths on the same ``sample`` rows, each into an empty table, then
    load every row with the repository as an application would (its automatic choice).

    With the HNSW index the migrations create: ``executemany`` (every row inserted into the
    graph) against ``bulk_load`` (drops the index, COPY, rebuilds it). Without any vector
    index (dropped here, as before the comparison the earlier runs made): ``executemany``,
    raw binary COPY and ``bulk_load``'s COPY. The index is put back before the full load.
    """
    await register_vector_async(connection)
    task = progress.add_task("bulk load (executemany, COPY, bulk_load)", total=6)
    indexed = await executemany_rows_per_s(connection, dataset, sample)
    progress.advance(task)
    rebuilt, rebuilt_s = await bulk_load_rows_per_s(
        connection, repository, dataset, sample, rebuild_index=True
    )
    progress.advance(task)
    await connection.execute(f"DROP INDEX {HNSW_INDEX}")
    await connection.commit()
    executemany = await executemany_rows_per_s(connection, dataset, sample)
    progress.advance(task)
    raw_copy = await raw_copy_rows_per_s(connection, dataset, sample)
    progress.advance(task)
    plain, plain_s = await bulk_load_rows_per_s(
        connection, repository, dataset, sample, rebuild_index=False
    )
    sample_copy = _copy_rows_per_s(plain, plain_s)
    progress.advance(task)
    await connection.execute(hnsw_index_ddl())
    await connection.commit()
    rows = list(_embedding_rows(dataset, range(dataset.rows)))
    started = time.perf_counter()
    loaded = await repository.bulk_load(rows)
    seconds = time.perf_counter() - started
    progress.advance(task)
    copy_seconds = seconds - (loaded.index_build_s or 0.0)
    return {
        "copy_rows_per_s": round(loaded.rows / copy_seconds),
        "copy_rows": loaded.rows,
        "copy_seconds": round(copy_seconds, 2),
        "copy_path": "EmbeddingRepository.bulk_load (validation + binary COPY), without the "
        "index rebuild it runs in the same transaction (index_build_s)",
        "copy_statement_s": round(loaded.copy_s, 2),
        "index_build_s": _rounded(loaded.index_build_s),
        "rebuilt_indexes": loaded.rebuilt_indexes,
        "rebuild_decision": "automatic (rebuild_index=None)",
        "end_to_end_rows_per_s": round(loaded.rows / seconds),
        "end_to_end_seconds": round(seconds, 2),
        "sample_rows": plain.rows,
        "sample_copy_rows_per_s": round(sample_copy),
        "executemany_rows_per_s": round(executemany),
        "executemany_rows": sample,
        "executemany_path": "psycopg cursor.executemany, one INSERT per row, binary vectors, "
        "no vector index",
        "raw_copy_rows_per_s": round(raw_copy),
        "raw_copy_rows": sample,
        "copy_over_executemany": round(sample_copy / executemany, 2),
        "copy_over_executemany_rows": plain.rows,
        "hnsw_index_present": False,
        "indexed": {
            "rows": sample,
            "executemany_rows_per_s": round(indexed),
            "bulk_load_rows_per_s": round(rebuilt.rows / rebuilt_s),
            "bulk_load_copy_rows_per_s": round(_copy_rows_per_s(rebuilt, rebuilt_s)),
            "bulk_load_index_build_s": _rounded(rebuilt.index_build_s),
            "bulk_load_over_executemany": round(rebuilt.rows / rebuilt_s / indexed, 2),
            "path": "into an empty table with the migrations' HNSW index: executemany inserts "
            "every row into the graph; bulk_load(rebuild_index=True) drops it, COPYs and "
            "rebuilds it, all timed",
        },
    }


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 2)


async def build_hnsw_index(
    connection: AsyncConnection[Any], built_s: float | None = None
) -> dict[str, Any]:
    """VACUUM ANALYZE, build the HNSW index if the load left none (timed; else ``built_s``
    is the load's own rebuild time), prewarm the index and report its size."""
    await connection.set_autocommit(True)
    await connection.execute("VACUUM (ANALYZE) recipe_embeddings")
    await connection.execute("VACUUM (ANALYZE) recipes")
    ddl = hnsw_index_ddl()
    present = await (
        await connection.execute("SELECT to_regclass(%s) IS NOT NULL", (HNSW_INDEX,))
    ).fetchone()
    if present is None or not present[0]:
        await connection.execute(f"SET maintenance_work_mem = '{INDEX_BUILD_MAINTENANCE_WORK_MEM}'")
        started = time.perf_counter()
        await connection.execute(ddl)
        built_s = time.perf_counter() - started
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
        "build_s": _rounded(built_s),
        "size_bytes": int(sizes[0]),
        "size_mib": round(int(sizes[0]) / 2**20, 1),
        "table_size_bytes": int(sizes[1]),
        "maintenance_work_mem": INDEX_BUILD_MAINTENANCE_WORK_MEM,
        "maintenance_work_mem_scope": "set for the transaction of the bulk load that rebuilt "
        "the index (EMBEDDING_INDEX_BUILD_MEMORY_MB)",
        "max_parallel_maintenance_workers": int(sizes[2]),
        "prewarmed": "pg_prewarm of the index into shared_buffers after the build",
    }
