"""Input and output models of the receipt repository, including spending statistics."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import Field, model_validator

from datalayer.schemas.common import InputModel, OutputModel
from datalayer.schemas.foodsave import (
    Confidence,
    Currency,
    DateRange,
    FilePath,
    JsonObject,
    Money,
    Name255,
    Quantity,
)

MAX_ITEMS = 1_000


class ReceiptIn(InputModel):
    conversation_id: uuid.UUID | None = None
    store_name: Name255 | None = None
    total_amount: Money | None = None
    currency: Currency = "EUR"
    purchase_date: date | None = None
    image_path: FilePath | None = None
    ocr_confidence: Confidence | None = None
    metadata: JsonObject = Field(default_factory=dict)


class ReceiptUpdate(InputModel):
    """Changes to a receipt header (its conversation link is fixed at creation)."""

    store_name: Name255 | None = None
    total_amount: Money | None = None
    currency: Currency | None = None
    purchase_date: date | None = None
    image_path: FilePath | None = None
    ocr_confidence: Confidence | None = None
    metadata: JsonObject | None = None


class ReceiptItemIn(InputModel):
    product_name: Name255
    product_id: uuid.UUID | None = None
    category_id: uuid.UUID | None = None
    quantity: Quantity = Decimal(1)
    unit_price: Money | None = None
    total_price: Money | None = None


class ReceiptWithItemsIn(InputModel):
    """A receipt and its items, validated together before anything is written."""

    receipt: ReceiptIn
    items: list[ReceiptItemIn] = Field(max_length=MAX_ITEMS)


class ReceiptFilters(InputModel):
    """Optional inclusive bounds on the purchase date."""

    start_date: date | None = None
    end_date: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> ReceiptFilters:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end_date must not be before start_date")
        return self


class SpendingFilters(DateRange):
    currency: Currency = "EUR"


class ReceiptOut(OutputModel):
    id: uuid.UUID
    user_id: uuid.UUID
    conversation_id: uuid.UUID | None
    store_name: str | None
    total_amount: Decimal | None
    currency: str
    purchase_date: date | None
    receipt_date: datetime
    image_path: str | None
    ocr_confidence: float | None
    metadata: dict[str, Any]


class ReceiptItemOut(OutputModel):
    id: uuid.UUID
    receipt_id: uuid.UUID
    product_name: str
    product_id: uuid.UUID | None
    category_id: uuid.UUID | None
    quantity: Decimal
    unit_price: Decimal | None
    total_price: Decimal | None
    created_at: datetime


class ReceiptWithItemsOut(ReceiptOut):
    items: list[ReceiptItemOut]


class StoreSpendingOut(OutputModel):
    store_name: str | None
    receipt_count: int
    total: Decimal


class CategorySpendingOut(OutputModel):
    """Spending on items of one category (``None``: uncategorised items)."""

    category_id: uuid.UUID | None
    category_name: str | None
    item_count: int
    total: Decimal


class SpendingStatsOut(OutputModel):
    """A user's spending in one currency over an inclusive date range.

    ``total`` and ``average`` are over receipts with a total amount; ``by_category`` sums item
    prices (``total_price``, else ``unit_price * quantity``).
    """

    start: date
    end: date
    currency: str
    receipt_count: int
    total: Decimal
    average: Decimal | None
    by_store: list[StoreSpendingOut]
    by_category: list[CategorySpendingOut]
