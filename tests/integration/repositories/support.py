"""Helpers shared by the repository tests: saved users, table snapshots, statement counts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from datalayer import models as m
from datalayer.db import Database
from tests import factories

VISIBLE = st.characters(exclude_categories=("Z", "C"))


def oversized(limit: int) -> SearchStrategy[str]:
    """Strings longer than ``limit`` even after whitespace is stripped."""
    return st.builds(lambda char, size: char * size, VISIBLE, st.integers(limit + 1, limit + 40))


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
