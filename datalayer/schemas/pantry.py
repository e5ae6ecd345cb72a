"""Input and output models of the pantry repository."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import Field, StrictBool, StrictInt

from datalayer.schemas.common import InputModel, OutputModel
from datalayer.schemas.foodsave import Notes, Quantity, Unit

MAX_EXPIRY_DAYS = 365


class PantryItemIn(InputModel):
    product_id: uuid.UUID
    quantity: Quantity | None = None
    unit: Unit | None = None
    expiry_date: date | None = None
    notes: Notes | None = None


class PantryItemUpdate(InputModel):
    product_id: uuid.UUID | None = None
    quantity: Quantity | None = None
    unit: Unit | None = None
    expiry_date: date | None = None
    notes: Notes | None = None


class PantryExpiryFilters(InputModel):
    """Items expiring from ``today`` to ``today + days`` (and earlier when ``include_expired``)."""

    days: StrictInt = Field(ge=0, le=MAX_EXPIRY_DAYS)
    include_expired: StrictBool = False
    today: date | None = None


class PantryItemOut(OutputModel):
    id: uuid.UUID
    user_id: uuid.UUID
    product_id: uuid.UUID
    quantity: Decimal | None
    unit: str | None
    expiry_date: date | None
    notes: str | None
    added_at: datetime
    updated_at: datetime
