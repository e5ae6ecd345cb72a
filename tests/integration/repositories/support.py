"""Helpers shared by the repository tests: saved users, table snapshots, statement counts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from datalayer import models as m
from datalayer.db import Database
from datalayer.errors import InvalidInputError
from tests import factories

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
