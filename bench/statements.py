"""The statements the repository sends, replayed through raw psycopg, and the plans they get.

:meth:`EmbeddingRepository.plan_search` returns the validated statements of one
``similarity_search`` call (the per-transaction settings and the search), so the raw path
runs exactly the same SQL text with the same parameters, and sends them the same way
(:func:`~datalayer.repositories.similarity.send_pipelined`: one round trip, one implicit
transaction). What the raw path leaves
out is the repository's own work: validation, pool checkout, routing, retries, metrics and
the result models.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
from psycopg import AsyncConnection

from datalayer.db import Database
from datalayer.repositories.embedding_sql import STATS_COLUMNS
from datalayer.repositories.similarity import SearchPlan, send_pipelined

FORCE_INDEX_SETTING = "set_config('enable_seqscan', 'off', true)"


async def raw_search(
    connection: AsyncConnection[Any],
    plan: SearchPlan,
    vector: np.ndarray[Any, Any],
    *,
    force_index: bool = False,
) -> tuple[list[Any], float]:
    """One search through raw psycopg in its own transaction: (recipe ids, seconds).

    ``force_index`` also sets ``enable_seqscan = off`` for the transaction (pgvector's
    documented way to keep the planner on the HNSW index).
    """
    if force_index:
        plan = replace(plan, settings_sql=f"{plan.settings_sql}, {FORCE_INDEX_SETTING}")
    started = time.perf_counter()
    rows = await send_pipelined(connection, plan, plan.with_query(vector))
    ids = [row[STATS_COLUMNS] for row in rows if row[STATS_COLUMNS] is not None]
    return ids, time.perf_counter() - started


def _scans(node: dict[str, Any], part: str = "") -> Iterator[str]:
    """Scans of the candidate pool that ran (a gated-off branch shows 0 loops)."""
    if node.get("Actual Loops", 1) == 0:
        return
    part = node.get("Subplan Name", part)
    index = node.get("Index Name", "")
    reads = node.get("Relation Name") == "recipe_embeddings" or index.startswith("ix_recipe_emb")
    if reads and part == "CTE candidates":
        yield node["Node Type"] + (f" using {index}" if index else "")
    for child in node.get("Plans", []):
        yield from _scans(child, part)


async def scan_plan(
    connection: AsyncConnection[Any],
    plan: SearchPlan,
    vector: np.ndarray[Any, Any],
    *,
    force_index: bool = False,
) -> str:
    """How the candidate pool read ``recipe_embeddings`` for this plan (EXPLAIN ANALYZE)."""
    async with connection.transaction():
        await connection.execute(plan.settings_sql, plan.settings_params)
        if force_index:
            await connection.execute(f"SELECT {FORCE_INDEX_SETTING}")
        cursor = await connection.execute(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + plan.sql, plan.with_query(vector)
        )
        row = await cursor.fetchone()
    assert row is not None
    return ", ".join(_scans(row[0][0]["Plan"]))


async def plan_cache_usage(db: Database) -> dict[str, int]:
    """Generic vs custom plans of the repository's prepared search statement so far."""
    async with db.read_transaction() as session:
        connection = await session.connection()
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        cursor = await raw.execute(
            "SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0) "
            "FROM pg_prepared_statements WHERE statement LIKE '%candidates AS MATERIALIZED%'"
        )
        row = await cursor.fetchone()
    assert row is not None
    return {"generic_plans": int(row[0]), "custom_plans": int(row[1])}
