"""Rows that belong to one user: the generic repository of the FoodSave aggregates.

An :class:`OwnedRepository` serves one table with a ``user_id`` column through the verbs of
the repository contract, the acting user first: ``create``, ``get``, ``find``,
``list_for_user``, ``update`` and ``delete``. Every statement is scoped to the acting user,
so another user's row is reported exactly like a missing one (same NotFoundError message)
and is never changed. Inputs are validated into the aggregate's ``...In`` / ``...Update``
models and rows come back as its ``...Out`` model.

Only an active user creates rows (NotFoundError("user not found") otherwise, see
:mod:`datalayer.repositories.active_users`). Columns named in ``owned_references`` (for
example a meal plan's ``recipe_id``) must name a row of the same user, checked in the same
transaction; another user's row reads as missing. Aggregates subclass this class and add
only their own queries.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from datalayer.db import Database, idempotent_read
from datalayer.errors import NotFoundError
from datalayer.models import Base
from datalayer.repositories.active_users import require_active_user
from datalayer.repositories.crud import CrudRepository, convert_page, fetch_page, table_of
from datalayer.repositories.sorting import sort_clauses
from datalayer.schemas.common import Page, as_uuid, page_request, parse, require_changes

InT = TypeVar("InT", bound=BaseModel)
UpdateT = TypeVar("UpdateT", bound=BaseModel)
OutT = TypeVar("OutT", bound=BaseModel)


class OwnedRepository(Generic[InT, UpdateT, OutT]):
    """Create, get, find, list, update and delete one user's rows of one table."""

    def __init__(
        self,
        db: Database,
        model: type[Base],
        *,
        schemas: tuple[type[InT], type[UpdateT], type[OutT]],
        id_name: str,
        sort_keys: Sequence[str],
        default_sort: str,
        tiebreak: Sequence[Any] = (),
        owned_references: Mapping[str, type[Base]] | None = None,
    ) -> None:
        """``id_name`` names the row id in errors (``"item_id"``); ``sort_keys`` are the
        columns ``sort`` may name; ``tiebreak`` orders equal rows (the id always last)."""
        self._db = db
        self._mapped = model
        self.table = table_of(model)
        self._in, self._update, self._out = schemas
        self._id_name = id_name
        self._sort_keys = {name: self.table.c[name] for name in sort_keys}
        self._default_sort = default_sort
        self._tiebreak = [*tiebreak, self.table.c.id.asc()]
        self._references = {
            field: table_of(target) for field, target in (owned_references or {}).items()
        }

    # -- the contract --------------------------------------------------------------------------
    async def create(
        self,
        user_id: uuid.UUID,
        data: InT | Mapping[str, Any],
        *,
        session: AsyncSession | None = None,
    ) -> OutT:
        """Store a new row for ``user_id``; returns it as stored."""
        owner = as_uuid(user_id, "user_id")
        payload = parse(self._in, data)
        async with self._unit(session, write=True) as unit:
            await require_active_user(unit, owner)
            await self._check_references(unit, owner, payload)
            row = await self.rows(owner).create(payload, session=unit)
        return self._out.model_validate(row)

    async def get(
        self, user_id: uuid.UUID, row_id: uuid.UUID, *, session: AsyncSession | None = None
    ) -> OutT:
        """One of the user's rows, or NotFoundError."""
        row = await self.rows(user_id).get(self._key(row_id), session=session)
        return self._out.model_validate(row)

    async def find(self, user_id: uuid.UUID, row_id: uuid.UUID) -> OutT | None:
        """One of the user's rows, or None."""
        row = await self.rows(user_id).find(self._key(row_id))
        return None if row is None else self._out.model_validate(row)

    async def list_for_user(
        self, user_id: uuid.UUID, *, limit: int = 50, offset: int = 0, sort: str | None = None
    ) -> Page[OutT]:
        """One page of the user's rows, ordered by ``sort`` (see the subclass for its keys)."""
        return await self._list(user_id, (), limit=limit, offset=offset, sort=sort)

    async def update(
        self,
        user_id: uuid.UUID,
        row_id: uuid.UUID,
        changes: UpdateT | Mapping[str, Any],
        *,
        session: AsyncSession | None = None,
    ) -> OutT:
        """Change the given fields of one of the user's rows; NotFoundError when missing,
        InvalidInputError when nothing would change."""
        owner = as_uuid(user_id, "user_id")
        key = self._key(row_id)
        payload = parse(self._update, changes)
        require_changes(payload.model_dump(exclude_unset=True), "changes")
        async with self._unit(session, write=True) as unit:
            await self._check_references(unit, owner, payload)
            row = await self.rows(owner).update(key, payload, session=unit)
        return self._out.model_validate(row)

    async def delete(
        self, user_id: uuid.UUID, row_id: uuid.UUID, *, session: AsyncSession | None = None
    ) -> None:
        """Delete one of the user's rows (and what cascades from it), or NotFoundError."""
        await self.rows(user_id).delete(self._key(row_id), session=session)

    # -- for subclasses ------------------------------------------------------------------------
    def rows(self, user_id: uuid.UUID) -> CrudRepository:
        """The untyped rows of ``user_id`` (every statement scoped to them)."""
        return CrudRepository(
            self._db, self._mapped, scope={"user_id": as_uuid(user_id, "user_id")}
        )

    def scoped_select(self, user_id: uuid.UUID) -> Select[Any]:
        """SELECT every column of the user's rows."""
        return self.rows(user_id).select()

    @idempotent_read
    async def _list(
        self,
        user_id: uuid.UUID,
        conditions: Sequence[ColumnElement[bool]],
        *,
        limit: int,
        offset: int,
        sort: str | None,
    ) -> Page[OutT]:
        statement = self.scoped_select(user_id).where(*conditions)
        page = page_request(limit, offset)
        order = sort_clauses(
            sort, self._sort_keys, default=self._default_sort, tiebreak=self._tiebreak
        )
        async with self._db.read_transaction() as session:
            result = await fetch_page(session, statement.order_by(*order), page)
        return convert_page(result, self._out)

    @asynccontextmanager
    async def _unit(
        self, session: AsyncSession | None, *, write: bool
    ) -> AsyncIterator[AsyncSession]:
        if session is not None:
            yield session
        else:
            begin = self._db.transaction if write else self._db.read_transaction
            async with begin() as own:
                yield own

    def _key(self, row_id: Any) -> uuid.UUID:
        return as_uuid(row_id, self._id_name)

    async def _check_references(
        self, session: AsyncSession, owner: uuid.UUID, payload: BaseModel
    ) -> None:
        for field, target in self._references.items():
            value = getattr(payload, field, None)
            if value is None:
                continue
            owned = exists().where(target.c.id == value, target.c.user_id == owner)
            if not (await session.execute(select(owned))).scalar_one():
                raise NotFoundError(f"{target.name} row not found")
