"""FoodSave pantry: what a user has at home, with expiry dates.

Every method acts for a ``user_id``: another user's item is reported exactly like a missing
one (NotFoundError, same message) and is never changed.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Date, func, literal

from datalayer.db import Database
from datalayer.models import PantryItem
from datalayer.repositories.crud import CrudRepository, convert_page, fetch_page
from datalayer.schemas.common import Page, as_uuid, page_request, parse
from datalayer.schemas.pantry import ExpiryQuery, PantryItemIn, PantryItemOut, PantryItemUpdate


class PantryRepository:
    """A user's pantry items: add, change, remove, list, and what expires soon."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _items(self, user_id: uuid.UUID) -> CrudRepository:
        return CrudRepository(self._db, PantryItem, scope={"user_id": as_uuid(user_id, "user_id")})

    async def add_item(
        self, user_id: uuid.UUID, data: PantryItemIn | Mapping[str, Any]
    ) -> PantryItemOut:
        """Add an item for ``user_id``; the product must exist (ConstraintViolationError)."""
        items = self._items(user_id)
        return PantryItemOut.model_validate(await items.create(parse(PantryItemIn, data)))

    async def get_item(self, user_id: uuid.UUID, item_id: uuid.UUID) -> PantryItemOut:
        """One of the user's items, or NotFoundError."""
        row = await self._items(user_id).get(as_uuid(item_id, "item_id"))
        return PantryItemOut.model_validate(row)

    async def update_item(
        self,
        user_id: uuid.UUID,
        item_id: uuid.UUID,
        changes: PantryItemUpdate | Mapping[str, Any],
    ) -> PantryItemOut:
        """Change one of the user's items (only the fields given), or NotFoundError."""
        items = self._items(user_id)
        row = await items.update(as_uuid(item_id, "item_id"), parse(PantryItemUpdate, changes))
        return PantryItemOut.model_validate(row)

    async def remove_item(self, user_id: uuid.UUID, item_id: uuid.UUID) -> None:
        """Remove one of the user's items, or NotFoundError."""
        await self._items(user_id).delete(as_uuid(item_id, "item_id"))

    async def list_items(
        self, user_id: uuid.UUID, limit: int = 50, offset: int = 0
    ) -> Page[PantryItemOut]:
        """The user's items, soonest expiry first (items without a date last)."""
        page = await self._items(user_id).list_page(limit, offset, order_by=["expiry_date"])
        return convert_page(page, PantryItemOut)

    async def expiring_within(
        self,
        user_id: uuid.UUID,
        days: int,
        *,
        include_expired: bool = False,
        today: Any = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[PantryItemOut]:
        """The user's items expiring in the next ``days`` days (0..365), soonest first.

        ``today`` defaults to the database's current date; already expired items are left out
        unless ``include_expired``. Items without an expiry date never match.
        """
        items = self._items(user_id)
        query = parse(
            ExpiryQuery, {"days": days, "include_expired": include_expired, "today": today}
        )
        page = page_request(limit, offset)
        expiry = items.table.c.expiry_date
        start = func.current_date() if query.today is None else literal(query.today, Date())
        conditions = [expiry <= start + query.days]
        if not query.include_expired:
            conditions.append(expiry >= start)
        statement = items.select().where(*conditions).order_by(expiry, items.table.c.id)
        async with self._db.read_transaction() as session:
            result = await fetch_page(session, statement, page)
        return convert_page(result, PantryItemOut)
