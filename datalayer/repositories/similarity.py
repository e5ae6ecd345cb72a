"""How a similarity search is sent and judged: statements, one pipelined round trip, risk.

:func:`search_plan` turns validated options into the settings statement and the search
statement (SQL in :mod:`datalayer.repositories.embedding_sql`). :func:`run_pipelined` sends
both through the session's psycopg connection in pipeline mode, in one round trip and one
implicit transaction (see :func:`send_pipelined`). The settings are planner settings too
(``enable_sort = off`` keeps the HNSW branches on the index), so they must be in effect
before the search is planned: a separate statement in the same transaction, never part of
the search itself.

Every plan is fixed by the SQL text (the user-scoped choice between an exact scan and the
HNSW index is made by the executor, see ``embedding_sql``), so a prepared statement's
generic plan is as good as a custom one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pgvector.psycopg import register_vector_async
from psycopg import AsyncConnection
from psycopg.pq import TransactionStatus

from datalayer.repositories.embedding_sql import (
    GLOBAL_SEARCH,
    HYDRATE_COLUMNS,
    HYDRATE_JOIN,
    SCOPED_SEARCH,
    SEARCH_SETTINGS,
    STATS_COLUMNS,
)

CANDIDATES = 50  # the seed's candidate pool, narrowed by the business rules to the limit

SCAN_STOPPED = (
    "the index scan stopped before the candidate pool filled while the scope holds more "
    "rows (raise ef_search or hnsw.max_scan_tuples)"
)
INACTIVE_CROWDING = "candidates of inactive owners filled the pool; more matches may exist"
LOW_EF_SEARCH = "ef_search below the configured value"


@dataclass(frozen=True)
class SearchPlan:
    """The two statements of one search and their parameters (psycopg placeholders)."""

    settings_sql: str
    settings_params: dict[str, Any]
    sql: str
    params: dict[str, Any] = field(repr=False)
    limit: int = 20
    ef_search: int = 0
    hydrate: bool = False

    def with_query(self, vector: Any) -> dict[str, Any]:
        """The search parameters with another query vector (benchmarks replay plans)."""
        return {**self.params, "query": vector}


def search_plan(
    vector: Any,
    *,
    limit: int,
    threshold: float,
    ef_search: int,
    user_id: uuid.UUID | None,
    excluded: Sequence[uuid.UUID],
    hydrate: bool,
) -> SearchPlan:
    """The statements of one similarity search over validated options."""
    filters = ["TRUE"]
    params: dict[str, Any] = {
        "query": vector,
        "candidates": max(CANDIDATES, limit),
        "threshold": threshold,
        "limit": limit,
    }
    if user_id is not None:
        filters.append("user_id = %(user_id)s")
        params["user_id"] = user_id
    if excluded:
        filters.append("recipe_id <> ALL(%(excluded)s)")
        params["excluded"] = list(excluded)
    template = GLOBAL_SEARCH if user_id is None else SCOPED_SEARCH
    sql = template.format(
        filters=" AND ".join(filters),
        columns=HYDRATE_COLUMNS if hydrate else "",
        joins=HYDRATE_JOIN if hydrate else "",
    )
    settings = {
        "ef_search": str(ef_search),
        "iterative_scan": "relaxed_order" if len(filters) > 1 else "off",
    }
    return SearchPlan(SEARCH_SETTINGS, settings, sql, params, limit, ef_search, hydrate)


def with_ef_search(plan: SearchPlan, ef_search: int) -> SearchPlan:
    """``plan`` searching with another ef_search (the tuned one, resolved in the search's
    transaction)."""
    if ef_search == plan.ef_search:
        return plan
    settings = {**plan.settings_params, "ef_search": str(ef_search)}
    return replace(plan, settings_params=settings, ef_search=ef_search)


async def driver_connection(session: Any) -> Any:
    """The session's psycopg connection, with pgvector's adapters registered (once per
    connection), so numpy vectors travel in binary instead of as 1536-number literals."""
    connection = await session.connection()
    return await with_vectors(await connection.get_raw_connection())


async def with_vectors(raw: Any) -> Any:
    """The psycopg connection of the pooled connection ``raw`` (see
    :meth:`~datalayer.db.Database.driver_read`), pgvector's adapters registered once."""
    if not raw.info.get("pgvector_adapters"):
        await register_vector_async(raw.driver_connection)
        raw.info["pgvector_adapters"] = True
    return raw.driver_connection


async def run_pipelined(session: Any, plan: SearchPlan) -> list[tuple[Any, ...]]:
    """The rows of ``plan``'s search, its settings applied first in the same transaction."""
    return await send_pipelined(await driver_connection(session), plan, plan.params)


async def send_pipelined(
    connection: AsyncConnection[Any], plan: SearchPlan, params: dict[str, Any]
) -> list[tuple[Any, ...]]:
    """Settings and search in one round trip and one transaction.

    On an idle connection both go out in autocommit mode: the server runs every statement
    of a pipeline up to its Sync as one implicit transaction, so the transaction-scoped
    settings hold for the search and end with it, without BEGIN or COMMIT round trips. A
    connection already in a transaction (PgBouncer mode sets its timeouts at BEGIN) sends
    them inside it.
    """
    idle = connection.info.transaction_status == TransactionStatus.IDLE
    if idle:
        await connection.set_autocommit(True)
    try:
        async with connection.pipeline():
            await connection.execute(plan.settings_sql, plan.settings_params)
            cursor = await connection.execute(plan.sql, params)
    finally:
        if idle:
            await connection.set_autocommit(False)
    rows: list[tuple[Any, ...]] = await cursor.fetchall()  # received at the pipeline's Sync
    return rows


@dataclass(frozen=True)
class PoolStats:
    """What a search's candidate pool looked like (the first columns of every row)."""

    pool: int
    near: int
    scope_rows: int | None
    exact: bool

    @classmethod
    def of(cls, rows: list[tuple[Any, ...]]) -> PoolStats:
        pool, near, scope_rows, exact = rows[0][:STATS_COLUMNS]
        return cls(int(pool), int(near), None if scope_rows is None else int(scope_rows), exact)


def assess(stats: PoolStats, returned: int, plan: SearchPlan, configured_ef: int) -> str | None:
    """Why the answer may be incomplete or less accurate, or None.

    Short answers are judged first: a pool shorter than the rows its scope holds means the
    index scan gave up (an exact scan reads the whole scope); a full pool whose candidates
    within the threshold outnumber the rows returned means inactive owners took places.
    """
    if returned < plan.limit:
        candidates = max(CANDIDATES, plan.limit)
        if stats.pool < candidates and (stats.scope_rows or 0) > stats.pool:
            return SCAN_STOPPED
        if stats.pool >= candidates and stats.near > returned:
            return INACTIVE_CROWDING
    if not stats.exact and plan.ef_search < configured_ef:
        return LOW_EF_SEARCH
    return None
