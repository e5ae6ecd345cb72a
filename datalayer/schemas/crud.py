"""Input models of the generic CRUD repository, derived from a table's columns.

Each table gets three pydantic models, built once and cached:

- a *create* model: the writable columns (not computed, not identity, not maintained by a
  trigger), required when the column is NOT NULL without a default;
- an *update* model: the writable columns minus the primary key, all optional;
- a *filter* model: every column, all optional (keys, equality filters, scopes).

Field names are column names (``metadata``, not the ORM attribute ``meta``); unknown names are
errors. Value rules follow the column types: string lengths, numeric precision and scale,
integer ranges, finite floats, timezone-aware timestamps, and no NUL characters in text
(PostgreSQL cannot store them). Rules the types cannot express (CHECK, UNIQUE, foreign keys)
are left to the database, whose errors the unit of work translates.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyAddress,
    StringConstraints,
    create_model,
)
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Table,
    Uuid,
)
from sqlalchemy.dialects.postgresql import INET

MAX_TEXT_LENGTH = 100_000
MAX_ARRAY_LENGTH = 1_000
_INTEGER_BITS = ((SmallInteger, 16), (BigInteger, 64), (Integer, 32))


def no_nul(value: str) -> str:
    """Reject NUL characters, which PostgreSQL text cannot hold."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


class RowInput(BaseModel):
    """Base of the generated models: unknown columns are errors, strings are kept as given."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, protected_namespaces=()
    )


def writable(column: Column[Any]) -> bool:
    """Whether callers may set ``column`` (not generated, identity or trigger-maintained)."""
    return column.computed is None and column.identity is None and column.server_onupdate is None


def _required(column: Column[Any]) -> bool:
    return not column.nullable and column.server_default is None and column.default is None


def _value_type(column_type: Any) -> Any:
    """The pydantic type (with constraints) of one SQL type."""
    if isinstance(column_type, String):
        length = column_type.length or MAX_TEXT_LENGTH
        return Annotated[str, StringConstraints(max_length=length), AfterValidator(no_nul)]
    if isinstance(column_type, Integer):
        bits = next(size for kind, size in _INTEGER_BITS if isinstance(column_type, kind))
        return Annotated[int, Field(ge=-(2 ** (bits - 1)), lt=2 ** (bits - 1))]
    if isinstance(column_type, Float):
        return Annotated[float, Field(allow_inf_nan=False)]
    if isinstance(column_type, Numeric):
        precision, scale = column_type.precision, column_type.scale
        return Annotated[Decimal, Field(max_digits=precision, decimal_places=scale)]
    if isinstance(column_type, DateTime):
        return AwareDatetime if column_type.timezone else datetime
    simple: list[tuple[type[Any], Any]] = [
        (Date, date),
        (Boolean, bool),
        (Uuid, uuid.UUID),
        (INET, IPvAnyAddress),
    ]
    for kind, python_type in simple:
        if isinstance(column_type, kind):
            return python_type
    if isinstance(column_type, ARRAY):
        item_type = _value_type(column_type.item_type)
        return Annotated[list[item_type], Field(max_length=MAX_ARRAY_LENGTH)]  # type: ignore[valid-type]
    try:
        return column_type.python_type
    except NotImplementedError:  # pgvector, tsvector: the database validates them
        return Any


def _field(column: Column[Any], *, required: bool) -> tuple[Any, Any]:
    value_type = _value_type(column.type)
    if column.nullable:
        value_type = value_type | None
    return (value_type, ... if required else None)


def _build(table: Table, purpose: str, fields: dict[str, tuple[Any, Any]]) -> type[RowInput]:
    name = "".join(part.title() for part in table.name.split("_")) + purpose
    return create_model(name, __base__=RowInput, **fields)  # type: ignore[call-overload,no-any-return]


@cache
def create_model_for(table: Table) -> type[RowInput]:
    """The model of a new row of ``table``."""
    fields = {
        column.name: _field(column, required=_required(column))
        for column in table.columns
        if writable(column)
    }
    return _build(table, "Create", fields)


@cache
def update_model_for(table: Table) -> type[RowInput]:
    """The model of the changes to a row of ``table`` (the primary key is not updatable)."""
    fields = {
        column.name: _field(column, required=False)
        for column in table.columns
        if writable(column) and not column.primary_key
    }
    return _build(table, "Update", fields)


@cache
def filter_model_for(table: Table) -> type[RowInput]:
    """The model of equality conditions on any column of ``table``."""
    fields = {column.name: _field(column, required=False) for column in table.columns}
    return _build(table, "Filter", fields)
