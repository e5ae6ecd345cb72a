"""Helpers shared by the repository tests: saved users, table snapshots, statement counts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.schema import CreateIndex

from datalayer import models as m
from datalayer.db import Database
from datalayer.errors import InvalidInputError
from datalayer.repositories.similarity import SearchPlan, driver_connection
from datalayer.settings import load_settings
from tests import factories
from tests.services import PostgresHarness, temporary_database

HNSW_INDEX = "ix_recipe_embeddings_embedding_hnsw"

VISIBLE = st.characters(exclude_categories=("Z", "C"))


def oversized(limit: int) -> SearchStrategy[str]:
    """Strings longer than ``limit`` even after whitespace is stripped."""
    return st.builds(lambda char, size: char * size, VISIBLE, st.integers(limit + 1, limit + 40))


T = TypeVar("T")
Call = Callable[[Any], Awaitable[Any]]
PROPERTY = hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


async def new_user(db: Database) -> uuid.UUID:
    """A saved user's id."""
    async with db.transaction() as session:
        user = factories.user()
        session.add(user)
        await session.flush()
        return user.id


async def snapshot(db: Database) -> dict[str, tuple[int, str]]:
    """Row count and a digest of the contents of every table."""
    parts = [
        f"SELECT '{table.name}', count(*), "
        f"md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table.name} AS t"
        for table in m.Base.metadata.sorted_tables
    ]
    async with db.read_transaction() as session:
        rows = await session.execute(text(" UNION ALL ".join(parts)))
        return {name: (count, digest) for name, count, digest in rows}


@contextmanager
def count_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements sent through ``engine`` inside the block."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


@dataclass
class Env:
    """A database, its own event loop and the saved parents of ``factories.graph``."""

    loop: asyncio.AbstractEventLoop
    db: Database
    g: factories.Graph

    def run(self, awaitable: Awaitable[T]) -> T:
        return self.loop.run_until_complete(awaitable)

    def reject_all(
        self,
        name: str,
        cases: dict[str, tuple[SearchStrategy[Any], Call]],
        *,
        max_examples: int | None = None,
    ) -> None:
        """Every input drawn for every call raises InvalidInputError and changes no table."""
        before = self.run(snapshot(self.db))
        drawn = st.one_of(
            *(st.tuples(st.just(kind), values) for kind, (values, _) in cases.items())
        )
        tried = 0

        @(
            PROPERTY
            if max_examples is None
            else hypothesis_settings(PROPERTY, max_examples=max_examples)
        )
        @given(case=drawn)
        def check(case: tuple[str, Any]) -> None:
            nonlocal tried
            tried += 1
            kind, bad = case
            with pytest.raises(InvalidInputError):
                self.run(cases[kind][1](bad))
            assert self.run(snapshot(self.db)) == before

        check()
        print(f"\n{name}: {tried} bad inputs rejected with InvalidInputError, nothing written")


def _executed_scans(node: dict[str, Any], part: str = "") -> Iterator[str]:
    """Scans of ``recipe_embeddings`` that ran (a gated-off branch shows 0 loops), each
    prefixed with the CTE it belongs to (``"candidates: Index Scan using ..."``)."""
    if node.get("Actual Loops", 1) == 0:
        return
    part = node.get("Subplan Name", part).removeprefix("CTE ")
    index = node.get("Index Name", "")
    if node.get("Relation Name") == "recipe_embeddings" or index.startswith("ix_recipe_emb"):
        yield f"{part}: " + node["Node Type"] + (f" using {index}" if index else "")
    for child in node.get("Plans", []):
        yield from _executed_scans(child, part)


async def executed_scans(db: Database, plan: SearchPlan) -> list[str]:
    """How a search plan read ``recipe_embeddings`` when run (EXPLAIN ANALYZE) with its own
    settings in one transaction, e.g. ``["candidates: Index Scan using ix_..._hnsw"]``."""
    async with db.read_transaction() as session:
        connection = await driver_connection(session)
        await connection.execute(plan.settings_sql, plan.settings_params)
        cursor = await connection.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + plan.sql, plan.params)
        row = await cursor.fetchone()
    assert row is not None
    return list(_executed_scans(row[0][0]["Plan"]))


@asynccontextmanager
async def server_statements(db: Database) -> AsyncIterator[list[str]]:
    """The statements this database's server ran inside the block (pg_stat_statements,
    normalised text; sent through SQLAlchemy or straight through psycopg alike)."""
    statements: list[str] = []
    async with db.transaction() as session:
        await session.execute(text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
        await session.execute(
            text(
                "SELECT pg_stat_statements_reset(0, "
                "(SELECT oid FROM pg_database WHERE datname = current_database()), 0)"
            )
        )
    yield statements
    async with db.transaction() as session:
        rows = await session.execute(
            text(
                "SELECT query, calls FROM pg_stat_statements WHERE dbid = "
                "(SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND query NOT LIKE '%pg_stat_statements%'"
            )
        )
        for query, calls in rows:
            statements.extend([query] * calls)


async def random_embeddings(
    db: Database,
    rows_per_user: dict[uuid.UUID, int],
    *,
    first_component: dict[uuid.UUID, float] | None = None,
) -> None:
    """Recipes with random embeddings for saved users, loaded without the HNSW index, which
    is then rebuilt exactly as the model declares it and the table analysed, so the planner
    sees realistic statistics. ``first_component`` sets the first dimension of a user's
    vectors (a large value puts all of them on one side of the space)."""
    table = m.Base.metadata.tables["recipe_embeddings"]
    hnsw = next(index for index in table.indexes if index.name == HNSW_INDEX)
    async with db.transaction() as session:
        await session.execute(text(f"DROP INDEX {HNSW_INDEX}"))
        await session.execute(text("SELECT setseed(0.5)"))  # the same vectors every run
        for user_id, count in rows_per_user.items():
            await session.execute(
                text(
                    "INSERT INTO recipes (user_id, title, content_hash) "
                    "SELECT :user, 'Dish ' || g, md5(g::text) || md5(CAST(:user AS text) || g) "
                    "FROM generate_series(1, :count) AS g"
                ),
                {"user": user_id, "count": count},
            )
        await session.execute(
            text(
                "INSERT INTO recipe_embeddings "
                "(recipe_id, user_id, embedding, model, model_version, source_text_hash) "
                "SELECT r.id, r.user_id, v.embedding, 'm', '1', r.content_hash FROM recipes r "
                "CROSS JOIN LATERAL (SELECT array_agg(random() - 0.5)"
                "::vector AS embedding FROM generate_series(1, :dim) WHERE r.id IS NOT NULL) AS v"
            ),
            {"dim": 1536},
        )
        for user_id, value in (first_component or {}).items():
            await session.execute(
                text(
                    "UPDATE recipe_embeddings SET embedding = "
                    "(ARRAY[CAST(:value AS real)] || (embedding::real[])[2:])::vector "
                    "WHERE user_id = :user"
                ),
                {"value": value, "user": user_id},
            )
        await session.execute(CreateIndex(hnsw))
    async with db.write_engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("ANALYZE recipes, recipe_embeddings"))


async def exact_neighbours(
    db: Database, query: Any, user_id: uuid.UUID | None, k: int
) -> list[uuid.UUID]:
    """The true ``k`` nearest recipes by a sequential scan (no index can answer)."""
    where = "" if user_id is None else "WHERE user_id = :user"
    async with db.transaction() as session:
        await session.execute(text("SET LOCAL enable_indexscan = off"))
        await session.execute(text("SET LOCAL enable_bitmapscan = off"))
        rows = await session.execute(
            text(
                f"SELECT recipe_id FROM recipe_embeddings {where} "
                "ORDER BY embedding <=> CAST(:query AS vector), recipe_id LIMIT :k"
            ),
            {"query": str([float(x) for x in query]), "user": user_id, "k": k},
        )
        return [row[0] for row in rows]


@asynccontextmanager
async def database_with_embeddings(
    postgres: PostgresHarness, *counts: int
) -> AsyncIterator[tuple[str, list[uuid.UUID]]]:
    """A fresh migrated database (its URL) whose new users own ``counts`` random embeddings
    each (:func:`random_embeddings`), and those users' ids; dropped after the block."""
    with temporary_database(postgres, migrated=True) as url:
        db = Database.connect(url, load_settings(database_url=url, database_pool_size=2))
        try:
            owners = [await new_user(db) for _ in counts]
            await random_embeddings(db, dict(zip(owners, counts, strict=True)))
        finally:
            await db.dispose()
        yield url, owners
