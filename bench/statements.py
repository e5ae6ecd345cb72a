"""The SQL the repository sends, replayed through raw psycopg, and the plans it gets.

:func:`capture` records, with a SQLAlchemy event, the two statements one
``similarity_search`` call executes (the per-transaction ``set_config`` and the search),
so the raw path runs exactly the same SQL text with the same parameters. Only the query
vector differs in encoding: raw psycopg binds it in pgvector's binary format.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from psycopg import AsyncConnection
from sqlalchemy import event

from datalayer.db import Database

FORCE_INDEX_SQL = "SELECT set_config('enable_seqscan', 'off', true)"


@dataclass(frozen=True)
class Statements:
    """The settings statement and the search statement of one repository call."""

    settings_sql: str
    settings_params: dict[str, Any]
    search_sql: str
    search_params: dict[str, Any]

    def search_with(self, vector: np.ndarray[Any, Any]) -> dict[str, Any]:
        return {**self.search_params, "query": vector}


async def capture(db: Database, call: Callable[[], Awaitable[object]]) -> Statements:
    """Run ``call`` (one repository search) and return the statements it executed."""
    captured: list[tuple[str, dict[str, Any]]] = []

    def record(*args: Any) -> None:
        captured.append((str(args[2]), dict(args[3])))

    engine = db.read_engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        await call()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    (settings_sql, settings_params), (search_sql, search_params) = captured[-2:]
    return Statements(settings_sql, settings_params, search_sql, search_params)


async def raw_search(
    connection: AsyncConnection[Any],
    statements: Statements,
    vector: np.ndarray[Any, Any],
    *,
    force_index: bool = False,
) -> tuple[list[Any], float]:
    """One search through raw psycopg in its own transaction: (recipe ids, seconds).

    ``force_index`` also sets ``enable_seqscan = off`` for the transaction (pgvector's
    documented way to keep the planner on the HNSW index).
    """
    started = time.perf_counter()
    async with connection.transaction():
        await connection.execute(statements.settings_sql, statements.settings_params)
        if force_index:
            await connection.execute(FORCE_INDEX_SQL)
        cursor = await connection.execute(statements.search_sql, statements.search_with(vector))
        rows = await cursor.fetchall()
    return [row[0] for row in rows], time.perf_counter() - started


def _scans(node: dict[str, Any]) -> Iterator[str]:
    index = node.get("Index Name", "")
    if node.get("Relation Name") == "recipe_embeddings" or index.startswith("ix_recipe_emb"):
        yield node["Node Type"] + (f" using {index}" if index else "")
    for child in node.get("Plans", []):
        yield from _scans(child)


async def scan_plan(
    connection: AsyncConnection[Any],
    statements: Statements,
    vector: np.ndarray[Any, Any],
    *,
    force_index: bool = False,
) -> str:
    """How the planner reads ``recipe_embeddings`` for these statements (custom plan)."""
    async with connection.transaction():
        await connection.execute(statements.settings_sql, statements.settings_params)
        if force_index:
            await connection.execute(FORCE_INDEX_SQL)
        cursor = await connection.execute(
            "EXPLAIN (FORMAT JSON) " + statements.search_sql, statements.search_with(vector)
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
            "FROM pg_prepared_statements WHERE statement LIKE '%WITH candidates%'"
        )
        row = await cursor.fetchone()
    assert row is not None
    return {"generic_plans": int(row[0]), "custom_plans": int(row[1])}
