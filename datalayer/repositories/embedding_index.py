"""Dropping and rebuilding the vector indexes of ``recipe_embeddings`` around a large load.

Inserting a row into an HNSW index costs a search of the graph: 3.9 ms of server CPU per
row into a 20,000-row index of 1536-d vectors (m=16, ef_construction=64), against 0.65 ms
per row for a build over the whole table, one worker. A load without the index runs at
COPY speed. So a large load drops the table's vector indexes (HNSW and IVFFlat, whatever
migration made them), loads, and recreates each one from the definition PostgreSQL printed
for it before the drop (``pg_get_indexdef``, as ``pg_indexes.indexdef`` shows it): same
name, operator class, expression, parameters and predicate. Migration 0009's SECURITY
DEFINER functions do the DDL, since the application's role may not drop or create indexes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text

from datalayer.repositories.embedding_copy import copy_rows
from datalayer.schemas.embeddings import BulkLoadOut, EmbeddingIn
from datalayer.settings import Settings

REBUILD_SHARE = 0.2
"""A load rebuilds the vector indexes when it brings at least this share of the rows the
table will then hold. A build over the whole table costs less than inserting the new rows
from about 0.17 on (0.65 / 3.9 ms per row); the margin above it keeps the table unlocked
when the rebuild would save little. There is no size above which a load always rebuilds:
into a large table, a load small beside it is cheaper through the index."""
REBUILD_MIN_ROWS = 1000
"""Smaller loads never rebuild: dropping the index blocks searches for a gain of seconds."""

# The planner's estimate; a table never analysed (reltuples < 0) is counted instead.
ROW_ESTIMATE = """
SELECT CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint
            ELSE (SELECT count(*) FROM recipe_embeddings) END
  FROM pg_class AS c
 WHERE c.oid = 'recipe_embeddings'::regclass
"""


def should_rebuild(loading: int, existing: int) -> bool:
    """Whether a load of ``loading`` rows into a table of ``existing`` rows should drop the
    vector indexes and rebuild them (see :data:`REBUILD_SHARE`, :data:`REBUILD_MIN_ROWS`)."""
    return loading >= REBUILD_MIN_ROWS and loading >= REBUILD_SHARE * (existing + loading)


async def estimated_rows(session: Any) -> int:
    """How many rows ``recipe_embeddings`` holds, by the planner's statistics."""
    return int((await session.execute(text(ROW_ESTIMATE))).scalar_one())


async def drop_vector_indexes(session: Any, settings: Settings) -> list[str]:
    """Drop the table's vector indexes in the session's transaction; returns their names.

    The table stays locked ACCESS EXCLUSIVE until the transaction ends. The lock is awaited
    at most ``DATABASE_LOCK_TIMEOUT_MS`` (then ``ConflictError``), so a long read in progress
    makes the load fail fast rather than queue every search behind it.
    """
    previous = (
        await session.execute(
            text(
                "SELECT current_setting('lock_timeout'), set_config('lock_timeout', :value, true)"
            ),
            {"value": f"{settings.database_lock_timeout_ms}ms"},
        )
    ).scalar_one()
    rows = await session.execute(text("SELECT index_name FROM drop_embedding_vector_indexes()"))
    dropped = [row[0] for row in rows]
    await session.execute(
        text("SELECT set_config('lock_timeout', :value, true)"), {"value": previous}
    )
    return dropped


def build_memory_mb(rows: int, dim: int, settings: Settings) -> int:
    """``maintenance_work_mem`` (MB) for building the vector indexes over ``rows`` rows: room
    for the whole graph, with a quarter to spare, at most ``EMBEDDING_INDEX_BUILD_MEMORY_MB``.
    A row takes its vector rounded up to a power of two (the allocator's chunk) plus about
    2 KB of neighbour lists. A parallel build maps all of it as shared memory up front, so a
    small table does not get gigabytes it would spend time mapping."""
    vector_bytes = 1 << (4 * dim + 8 - 1).bit_length()
    needed = rows * (vector_bytes + 2048) * 1.25 / 2**20
    return max(64, min(settings.embedding_index_build_memory_mb, math.ceil(needed)))


async def rebuild_vector_indexes(session: Any, settings: Settings, rows: int) -> float:
    """Recreate the indexes :func:`drop_vector_indexes` dropped in this transaction, over a
    table of ``rows`` rows, with the build's memory (:func:`build_memory_mb`) and parallel
    workers set for this transaction only; returns the seconds the build took."""
    await session.execute(
        text(
            "SELECT set_config('maintenance_work_mem', :memory, true), "
            "set_config('max_parallel_maintenance_workers', :workers, true)"
        ),
        {
            "memory": f"{build_memory_mb(rows, settings.embedding_dim, settings)}MB",
            "workers": str(settings.embedding_index_build_workers),
        },
    )
    started = time.perf_counter()
    await session.execute(text("SELECT rebuild_embedding_vector_indexes()"))
    return time.perf_counter() - started


async def load_rows(
    session: Any,
    rows: Sequence[EmbeddingIn],
    batch_size: int,
    settings: Settings,
    rebuild_index: bool | None,
) -> BulkLoadOut:
    """COPY ``rows`` in chunks of ``batch_size`` in the session's transaction, with no
    statement timeout, dropping and rebuilding the vector indexes around it when
    ``rebuild_index`` says so (``None``: :func:`should_rebuild` decides)."""
    loading = len(rows)
    await session.execute(text("SELECT set_config('statement_timeout', '0', true)"))
    existing = await estimated_rows(session)
    if rebuild_index is None:
        rebuild_index = should_rebuild(loading, existing)
    dropped = await drop_vector_indexes(session, settings) if rebuild_index else []
    started = time.perf_counter()
    await copy_rows(session, rows, settings.embedding_dim, batch_size)
    copy_s = time.perf_counter() - started
    build_s = None
    if dropped:
        build_s = await rebuild_vector_indexes(session, settings, existing + loading)
    return BulkLoadOut(rows=loading, rebuilt_indexes=dropped, copy_s=copy_s, index_build_s=build_s)
