"""FoodSave receipts and their line items, with spending statistics.

The contract verbs come from :class:`OwnedRepository` (``create`` for a header alone, ``get``,
``find``, ``list_for_user``, ``update``, ``delete``, the acting user first); another user's
receipt is reported exactly like a missing one. A receipt may only be linked to one of the
user's own conversations. ``list_for_user`` sorts by ``purchase_date`` (default
``-purchase_date``, receipts without one last), ``receipt_date``, ``total_amount`` or
``store_name``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, insert, select, text

from datalayer.db import Database, idempotent_read
from datalayer.models import Conversation, Receipt, ReceiptItem
from datalayer.repositories.crud import table_of
from datalayer.repositories.owned import OwnedRepository
from datalayer.schemas.common import Page, as_uuid, parse
from datalayer.schemas.receipts import (
    CategorySpendingOut,
    ReceiptFilters,
    ReceiptIn,
    ReceiptItemIn,
    ReceiptOut,
    ReceiptUpdate,
    ReceiptWithItemsIn,
    ReceiptWithItemsOut,
    SpendingFilters,
    SpendingStatsOut,
    StoreSpendingOut,
)

_IN_RANGE = (
    "r.user_id = :user_id AND r.currency = :currency AND r.purchase_date BETWEEN :start AND :end"
)

_BY_STORE = f"""
SELECT r.store_name, GROUPING(r.store_name) = 1 AS overall, count(*) AS receipt_count,
       coalesce(sum(r.total_amount), 0.00) AS total, round(avg(r.total_amount), 2) AS average
  FROM receipts AS r
 WHERE {_IN_RANGE}
 GROUP BY GROUPING SETS ((), (r.store_name))
 ORDER BY overall DESC, total DESC, r.store_name NULLS LAST
"""

_BY_CATEGORY = f"""
SELECT i.category_id, c.name AS category_name, count(*) AS item_count,
       coalesce(sum(coalesce(i.total_price, round(i.unit_price * i.quantity, 2))), 0.00) AS total
  FROM receipt_items AS i
  JOIN receipts AS r ON r.id = i.receipt_id
  LEFT JOIN categories AS c ON c.id = i.category_id
 WHERE {_IN_RANGE}
 GROUP BY i.category_id, c.name
 ORDER BY total DESC, category_name NULLS LAST, i.category_id
"""


class ReceiptRepository(OwnedRepository[ReceiptIn, ReceiptUpdate, ReceiptOut]):
    """A user's receipts: created with their items in one transaction, listed by date range."""

    def __init__(self, db: Database) -> None:
        table = table_of(Receipt)
        super().__init__(
            db,
            Receipt,
            schemas=(ReceiptIn, ReceiptUpdate, ReceiptOut),
            id_name="receipt_id",
            sort_keys=("purchase_date", "receipt_date", "total_amount", "store_name"),
            default_sort="-purchase_date",
            tiebreak=[table.c.receipt_date.desc()],
            owned_references={"conversation_id": Conversation},
        )
        self._items = table_of(ReceiptItem)

    async def create_with_items(
        self,
        user_id: uuid.UUID,
        receipt: ReceiptIn | Mapping[str, Any],
        items: Iterable[ReceiptItemIn | Mapping[str, Any]],
    ) -> ReceiptWithItemsOut:
        """Store a receipt and its items in one transaction: one bad item writes nothing.

        ``conversation_id``, when given, must be one of the user's conversations
        (NotFoundError otherwise).
        """
        new = parse(ReceiptWithItemsIn, {"receipt": receipt, "items": items})
        async with self._db.transaction() as session:
            header = await self.create(user_id, new.receipt, session=session)
            stored: list[dict[str, Any]] = []
            if new.items:
                rows = [{**item.model_dump(), "receipt_id": header.id} for item in new.items]
                statement = insert(self._items).returning(
                    *self._items.c, sort_by_parameter_order=True
                )
                stored = [dict(row) for row in (await session.execute(statement, rows)).mappings()]
        return ReceiptWithItemsOut.model_validate({**header.model_dump(), "items": stored})

    @idempotent_read
    async def get_with_items(
        self, user_id: uuid.UUID, receipt_id: uuid.UUID
    ) -> ReceiptWithItemsOut:
        """One of the user's receipts with its items, or NotFoundError."""
        key = as_uuid(receipt_id, "receipt_id")
        items = self._items
        statement = (
            select(*items.c)
            .where(items.c.receipt_id == key)
            .order_by(items.c.created_at, items.c.product_name, items.c.id)
        )
        async with self._db.read_transaction() as session:
            header = await self.get(user_id, key, session=session)
            rows = [dict(row) for row in (await session.execute(statement)).mappings()]
        return ReceiptWithItemsOut.model_validate({**header.model_dump(), "items": rows})

    async def list_for_user(
        self,
        user_id: uuid.UUID,
        *,
        limit: int = 50,
        offset: int = 0,
        sort: str | None = None,
        start_date: Any = None,
        end_date: Any = None,
    ) -> Page[ReceiptOut]:
        """The user's receipts purchased within the optional inclusive date bounds (receipts
        without a purchase date only when no bound is given)."""
        bounds = parse(ReceiptFilters, {"start_date": start_date, "end_date": end_date})
        purchased = self.table.c.purchase_date
        conditions: list[ColumnElement[bool]] = []
        if bounds.start_date is not None:
            conditions.append(purchased >= bounds.start_date)
        if bounds.end_date is not None:
            conditions.append(purchased <= bounds.end_date)
        return await self._list(user_id, conditions, limit=limit, offset=offset, sort=sort)

    @idempotent_read
    async def spending_stats(
        self, user_id: uuid.UUID, start: Any, end: Any, *, currency: str = "EUR"
    ) -> SpendingStatsOut:
        """The user's spending in ``currency`` on receipts purchased from ``start`` to ``end``:
        totals, average, and breakdowns per store and per item category."""
        query = parse(SpendingFilters, {"start": start, "end": end, "currency": currency})
        params = {
            "user_id": as_uuid(user_id, "user_id"),
            "currency": query.currency,
            "start": query.start,
            "end": query.end,
        }
        async with self._db.read_transaction() as session:
            stores = (await session.execute(text(_BY_STORE), params)).mappings().all()
            categories = (await session.execute(text(_BY_CATEGORY), params)).mappings().all()
        overall = stores[0]
        return SpendingStatsOut(
            start=query.start,
            end=query.end,
            currency=query.currency,
            receipt_count=overall["receipt_count"],
            total=overall["total"],
            average=overall["average"],
            by_store=[StoreSpendingOut.model_validate(row) for row in stores[1:]],
            by_category=[CategorySpendingOut.model_validate(row) for row in categories],
        )
