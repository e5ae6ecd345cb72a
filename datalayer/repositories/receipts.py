"""FoodSave receipts and their line items, with spending statistics.

Every method acts for a ``user_id``: another user's receipt is reported exactly like a missing
one (NotFoundError, same message) and is never changed. A receipt may only be linked to one
of the user's own conversations.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import exists, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from datalayer.db import Database
from datalayer.errors import NotFoundError
from datalayer.models import Conversation, Receipt, ReceiptItem
from datalayer.repositories.crud import CrudRepository, convert_page, fetch_page, table_of
from datalayer.schemas.common import Page, as_uuid, page_request, parse
from datalayer.schemas.receipts import (
    CategorySpending,
    NewReceipt,
    ReceiptFilter,
    ReceiptIn,
    ReceiptItemIn,
    ReceiptOut,
    ReceiptUpdate,
    ReceiptWithItems,
    SpendingQuery,
    SpendingStats,
    StoreSpending,
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


class ReceiptRepository:
    """A user's receipts: created with their items in one transaction, listed by date range."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._items = table_of(ReceiptItem)
        self._conversations = table_of(Conversation)

    def _receipts(self, user_id: uuid.UUID) -> CrudRepository:
        return CrudRepository(self._db, Receipt, scope={"user_id": as_uuid(user_id, "user_id")})

    async def create_with_items(
        self,
        user_id: uuid.UUID,
        receipt: ReceiptIn | Mapping[str, Any],
        items: Iterable[ReceiptItemIn | Mapping[str, Any]],
    ) -> ReceiptWithItems:
        """Store a receipt and its items in one transaction: one bad item writes nothing.

        ``conversation_id``, when given, must be one of the user's conversations
        (NotFoundError otherwise).
        """
        owner = as_uuid(user_id, "user_id")
        receipts = self._receipts(owner)
        new = parse(NewReceipt, {"receipt": receipt, "items": items})
        async with self._db.transaction() as session:
            if new.receipt.conversation_id is not None:
                await self._check_conversation(session, owner, new.receipt.conversation_id)
            header = await receipts.create(new.receipt, session=session)
            stored: list[dict[str, Any]] = []
            if new.items:
                rows = [{**item.model_dump(), "receipt_id": header["id"]} for item in new.items]
                statement = insert(self._items).returning(
                    *self._items.c, sort_by_parameter_order=True
                )
                stored = [dict(row) for row in (await session.execute(statement, rows)).mappings()]
        return ReceiptWithItems.model_validate({**header, "items": stored})

    async def _check_conversation(
        self, session: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID
    ) -> None:
        table = self._conversations
        owned = exists().where(table.c.id == conversation_id, table.c.user_id == user_id)
        if not (await session.execute(select(owned))).scalar_one():
            raise NotFoundError("conversations row not found")

    async def get_with_items(self, user_id: uuid.UUID, receipt_id: uuid.UUID) -> ReceiptWithItems:
        """One of the user's receipts with its items, or NotFoundError."""
        key = as_uuid(receipt_id, "receipt_id")
        receipts = self._receipts(user_id)
        items = self._items
        statement = (
            select(*items.c)
            .where(items.c.receipt_id == key)
            .order_by(items.c.created_at, items.c.product_name, items.c.id)
        )
        async with self._db.read_transaction() as session:
            header = await receipts.get(key, session=session)
            rows = [dict(row) for row in (await session.execute(statement)).mappings()]
        return ReceiptWithItems.model_validate({**header, "items": rows})

    async def list_for_user(
        self,
        user_id: uuid.UUID,
        start_date: Any = None,
        end_date: Any = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[ReceiptOut]:
        """The user's receipts purchased within the optional inclusive date bounds, newest
        first (receipts without a purchase date last, and only when no bound is given)."""
        receipts = self._receipts(user_id)
        bounds = parse(ReceiptFilter, {"start_date": start_date, "end_date": end_date})
        page = page_request(limit, offset)
        purchased = receipts.table.c.purchase_date
        statement = receipts.select()
        if bounds.start_date is not None:
            statement = statement.where(purchased >= bounds.start_date)
        if bounds.end_date is not None:
            statement = statement.where(purchased <= bounds.end_date)
        statement = statement.order_by(
            purchased.desc().nulls_last(),
            receipts.table.c.receipt_date.desc(),
            receipts.table.c.id,
        )
        async with self._db.read_transaction() as session:
            result = await fetch_page(session, statement, page)
        return convert_page(result, ReceiptOut)

    async def update(
        self,
        user_id: uuid.UUID,
        receipt_id: uuid.UUID,
        changes: ReceiptUpdate | Mapping[str, Any],
    ) -> ReceiptOut:
        """Change the header of one of the user's receipts, or NotFoundError."""
        receipts = self._receipts(user_id)
        row = await receipts.update(
            as_uuid(receipt_id, "receipt_id"), parse(ReceiptUpdate, changes)
        )
        return ReceiptOut.model_validate(row)

    async def delete(self, user_id: uuid.UUID, receipt_id: uuid.UUID) -> None:
        """Delete one of the user's receipts and its items, or NotFoundError."""
        await self._receipts(user_id).delete(as_uuid(receipt_id, "receipt_id"))

    async def spending_stats(
        self, user_id: uuid.UUID, start: Any, end: Any, *, currency: str = "EUR"
    ) -> SpendingStats:
        """The user's spending in ``currency`` on receipts purchased from ``start`` to ``end``:
        totals, average, and breakdowns per store and per item category."""
        query = parse(SpendingQuery, {"start": start, "end": end, "currency": currency})
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
        return SpendingStats(
            start=query.start,
            end=query.end,
            currency=query.currency,
            receipt_count=overall["receipt_count"],
            total=overall["total"],
            average=overall["average"],
            by_store=[StoreSpending.model_validate(row) for row in stores[1:]],
            by_category=[CategorySpending.model_validate(row) for row in categories],
        )
