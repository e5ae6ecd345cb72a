"""Field types and rules shared by the FoodSave input models (catalog, pantry, receipts,
meal plans, conversations).

String lengths match the columns; text never holds NUL characters (PostgreSQL rejects them);
money is a non-negative Decimal with two places, quantities a positive Decimal with three;
confidences are finite floats in [0, 1]; JSON documents are objects of finite values.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from datalayer.errors import InvalidInputError
from datalayer.schemas.common import InputModel, parse
from datalayer.schemas.crud import MAX_TEXT_LENGTH, no_nul

MAX_JSON_BYTES = 65_536

_NoNul = AfterValidator(no_nul)
Name50 = Annotated[str, StringConstraints(min_length=1, max_length=50), _NoNul]
Name100 = Annotated[str, StringConstraints(min_length=1, max_length=100), _NoNul]
Name255 = Annotated[str, StringConstraints(min_length=1, max_length=255), _NoNul]
SessionId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), _NoNul
]
Unit = Annotated[str, StringConstraints(min_length=1, max_length=32), _NoNul]
FilePath = Annotated[str, StringConstraints(min_length=1, max_length=500), _NoNul]
Notes = Annotated[str, StringConstraints(max_length=MAX_TEXT_LENGTH), _NoNul]
Content = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_LENGTH), _NoNul]

Money = Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2)]
Quantity = Annotated[Decimal, Field(gt=0, max_digits=10, decimal_places=3)]
Confidence = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


def _json_object(value: dict[str, Any]) -> dict[str, Any]:
    try:
        encoded = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise ValueError("must hold only JSON values and finite numbers") from None
    if len(encoded.encode()) > MAX_JSON_BYTES:
        raise ValueError(f"must encode to at most {MAX_JSON_BYTES} bytes of JSON")
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_json_object)]


class DateRange(InputModel):
    """An inclusive range of dates; ``end`` is not before ``start``."""

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        return self


def date_range(start: Any, end: Any, *, max_days: int | None = None) -> DateRange:
    """``start``..``end`` validated, at most ``max_days`` apart when given."""
    span = parse(DateRange, {"start": start, "end": end})
    if max_days is not None and (span.end - span.start).days > max_days:
        raise InvalidInputError(f"the date range must not exceed {max_days} days", field="end")
    return span
