"""Generic CRUD with pagination over any table: the building block for tables without a
dedicated repository (system logs, cache entries, sessions, export requests ...) and for the
simple operations of the dedicated ones.

Rows go in and come out as plain dicts keyed by column name (``metadata``, not the ORM
attribute ``meta``); no ORM object leaves a session. Column names are checked against the
table and values against the column types (:mod:`datalayer.schemas.crud`) before any SQL runs.

A ``scope`` (for example ``{"user_id": ...}``) is added to every statement and set on every
created row: a row outside the scope is reported exactly like a missing one, so a scoped
repository never reveals that another user's row exists. Rows owned by a user are better
served by :class:`datalayer.repositories.owned.OwnedRepository` (typed rows, active users).

Each method is its own unit of work, or joins the caller's when given ``session=``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, Table, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from datalayer.db import Database, idempotent_read
from datalayer.errors import InvalidInputError, NotFoundError
from datalayer.models import Base
from datalayer.schemas.common import Page, PageRequest, page_request, parse
from datalayer.schemas.crud import create_model_for, filter_model_for, update_model_for

Row = dict[str, Any]
OutputT = TypeVar("OutputT", bound=BaseModel)


def table_of(model: type[Base]) -> Table:
    """The :class:`Table` a declarative model is mapped to."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def as_values(values: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
    """The fields a caller set, from a mapping or a pydantic model (unset fields left out)."""
    if isinstance(values, BaseModel):
        return values.model_dump(exclude_unset=True)
    if not isinstance(values, Mapping):
        raise InvalidInputError("values must be a mapping of column names to values")
    return dict(values)


async def fetch_page(session: AsyncSession, statement: Select[Any], page: PageRequest) -> Page[Row]:
    """One page of ``statement`` (already ordered) and the total number of matching rows.

    The count query is skipped when the page itself shows the total (a short page).
    """
    result = await session.execute(statement.limit(page.limit).offset(page.offset))
    items = [dict(row) for row in result.mappings()]
    if len(items) < page.limit and (items or page.offset == 0):
        total = page.offset + len(items)
    else:
        counted = select(func.count()).select_from(statement.order_by(None).subquery())
        total = int((await session.execute(counted)).scalar_one())
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


def convert_page(page: Page[Row], model: type[OutputT]) -> Page[OutputT]:
    """``page`` with each row validated into ``model``."""
    items = [model.model_validate(row) for row in page.items]
    return Page(items=items, total=page.total, limit=page.limit, offset=page.offset)


class CrudRepository:
    """Create, get, list (paginated, filtered, ordered), update and delete rows of one table."""

    def __init__(
        self, db: Database, model: type[Base], *, scope: Mapping[str, Any] | None = None
    ) -> None:
        self._db = db
        self.table = table_of(model)
        self._key = list(self.table.primary_key.columns)
        self._scope = self._checked(scope or {})
        self._not_found = f"{self.table.name} row not found"

    # -- statements --------------------------------------------------------------------------
    def _checked(self, conditions: Mapping[str, Any]) -> dict[str, Any]:
        """``conditions`` validated against the column names and types."""
        return parse(filter_model_for(self.table), as_values(conditions)).model_dump(
            exclude_unset=True
        )

    def _where(self, conditions: Mapping[str, Any]) -> list[ColumnElement[bool]]:
        clauses = []
        for name, value in {**conditions, **self._scope}.items():
            column = self.table.c[name]
            clauses.append(column.is_(None) if value is None else column == value)
        return clauses

    def _key_conditions(self, key: Any) -> dict[str, Any]:
        parts = tuple(key) if isinstance(key, tuple | list) else (key,)
        if len(parts) != len(self._key):
            names = ", ".join(column.name for column in self._key)
            raise InvalidInputError(f"the key of {self.table.name} is ({names})", field="key")
        return self._checked({c.name: part for c, part in zip(self._key, parts, strict=True)})

    def _order(self, sort: str | Sequence[str] | None) -> list[Any]:
        keys: Any = [] if sort is None else [sort] if isinstance(sort, str) else sort
        if not isinstance(keys, list | tuple):
            raise InvalidInputError("sort must be a column name or a list of them", field="sort")
        clauses: list[Any] = []
        for item in keys:
            name = item.removeprefix("-") if isinstance(item, str) else None
            if name is None or name not in self.table.c:
                raise InvalidInputError(f"cannot sort {self.table.name} by that", field="sort")
            column = self.table.c[name]
            clauses.append(column.desc() if item.startswith("-") else column.asc())
        return clauses + [column.asc() for column in self._key]

    def select(self, conditions: Mapping[str, Any] | None = None) -> Select[Any]:
        """A SELECT of every column of the rows in scope matching ``conditions`` (validated)."""
        return select(*self.table.c).where(*self._where(self._checked(conditions or {})))

    # -- units of work -----------------------------------------------------------------------
    @asynccontextmanager
    async def _unit(
        self, session: AsyncSession | None, *, write: bool
    ) -> AsyncIterator[AsyncSession]:
        if session is not None:
            yield session
        elif write:
            async with self._db.transaction() as own:
                yield own
        else:
            async with self._db.read_transaction() as own:
                yield own

    async def create(
        self, values: Mapping[str, Any] | BaseModel, *, session: AsyncSession | None = None
    ) -> Row:
        """Insert one row; returns it as stored (with generated ids and defaults)."""
        data = as_values(values)
        for name, value in self._scope.items():
            if data.setdefault(name, value) != value:
                raise InvalidInputError(f"{name} is set by the repository", field=name)
        row = parse(create_model_for(self.table), data).model_dump(exclude_unset=True)
        statement = insert(self.table).values(row).returning(*self.table.c)
        async with self._unit(session, write=True) as unit:
            return dict((await unit.execute(statement)).mappings().one())

    async def get(self, key: Any, *, session: AsyncSession | None = None) -> Row:
        """The row with primary key ``key`` (a tuple for composite keys), or NotFoundError."""
        return await self.get_by(self._key_conditions(key), session=session)

    async def find(self, key: Any, *, session: AsyncSession | None = None) -> Row | None:
        """The row with primary key ``key``, or None."""
        return await self.find_by(self._key_conditions(key), session=session)

    async def get_by(
        self, conditions: Mapping[str, Any], *, session: AsyncSession | None = None
    ) -> Row:
        """The first row (by primary key) matching ``conditions``, or NotFoundError."""
        row = await self.find_by(conditions, session=session)
        if row is None:
            raise NotFoundError(self._not_found)
        return row

    @idempotent_read
    async def find_by(
        self, conditions: Mapping[str, Any], *, session: AsyncSession | None = None
    ) -> Row | None:
        """The first row (by primary key) matching ``conditions``, or None."""
        statement = self.select(conditions).order_by(*self._order(None)).limit(1)
        async with self._unit(session, write=False) as unit:
            row = (await unit.execute(statement)).mappings().first()
        return None if row is None else dict(row)

    @idempotent_read
    async def list_page(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        filters: Mapping[str, Any] | None = None,
        sort: str | Sequence[str] | None = None,
        session: AsyncSession | None = None,
    ) -> Page[Row]:
        """One page of rows matching the equality ``filters`` (``None`` matches NULL).

        ``sort`` names a column or a list of columns, ``-name`` for descending; any column of
        the table may be named; the primary key breaks ties so pages are stable.
        """
        page = page_request(limit, offset)
        statement = self.select(filters).order_by(*self._order(sort))
        async with self._unit(session, write=False) as unit:
            return await fetch_page(unit, statement, page)

    async def update(
        self,
        key: Any,
        values: Mapping[str, Any] | BaseModel,
        *,
        session: AsyncSession | None = None,
    ) -> Row:
        """Change columns of one row; returns the updated row, or NotFoundError."""
        conditions = self._key_conditions(key)
        data = as_values(values)
        fixed = sorted(self._scope.keys() & data.keys())
        if fixed:
            raise InvalidInputError(f"{fixed[0]} is set by the repository", field=fixed[0])
        changes = parse(update_model_for(self.table), data).model_dump(exclude_unset=True)
        if not changes:
            raise InvalidInputError("nothing to update", field="values")
        statement = (
            update(self.table)
            .where(*self._where(conditions))
            .values(changes)
            .returning(*self.table.c)
        )
        async with self._unit(session, write=True) as unit:
            row = (await unit.execute(statement)).mappings().first()
        if row is None:
            raise NotFoundError(self._not_found)
        return dict(row)

    async def delete(self, key: Any, *, session: AsyncSession | None = None) -> None:
        """Delete one row, or NotFoundError."""
        statement = (
            delete(self.table).where(*self._where(self._key_conditions(key))).returning(*self._key)
        )
        async with self._unit(session, write=True) as unit:
            deleted = (await unit.execute(statement)).first()
        if deleted is None:
            raise NotFoundError(self._not_found)
