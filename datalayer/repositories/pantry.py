"""FoodSave pantry: what a user has at home, with expiry dates.

The contract verbs come from :class:`OwnedRepository` (``create``, ``get``, ``find``,
``list_for_user``, ``update``, ``delete``, the acting user first); another user's item is
reported exactly like a missing one. ``list_for_user`` sorts by ``expiry_date`` (default,
items without a date last), ``added_at`` or ``updated_at``, ``-`` prefixed for descending.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Date, func, literal

from datalayer.db import Database
from datalayer.models import PantryItem
from datalayer.repositories.owned import OwnedRepository
from datalayer.schemas.common import Page, parse
from datalayer.schemas.pantry import (
    PantryExpiryFilters,
    PantryItemIn,
    PantryItemOut,
    PantryItemUpdate,
)


class PantryRepository(OwnedRepository[PantryItemIn, PantryItemUpdate, PantryItemOut]):
    """A user's pantry items (the product must exist: ConstraintViolationError otherwise),
    and what expires soon."""

    def __init__(self, db: Database) -> None:
        super().__init__(
            db,
            PantryItem,
            schemas=(PantryItemIn, PantryItemUpdate, PantryItemOut),
            id_name="item_id",
            sort_keys=("expiry_date", "added_at", "updated_at"),
            default_sort="expiry_date",
        )

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
        query = parse(
            PantryExpiryFilters,
            {"days": days, "include_expired": include_expired, "today": today},
        )
        expiry = self.table.c.expiry_date
        start = func.current_date() if query.today is None else literal(query.today, Date())
        conditions = [expiry <= start + query.days]
        if not query.include_expired:
            conditions.append(expiry >= start)
        return await self._list(user_id, conditions, limit=limit, offset=offset, sort="expiry_date")
