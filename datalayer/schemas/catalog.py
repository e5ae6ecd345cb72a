"""Input and output models of the catalog repository: categories and products."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from datalayer.schemas.common import InputModel, OutputModel
from datalayer.schemas.foodsave import JsonObject, Name100, Name255, Notes


class CategoryIn(InputModel):
    name: Name100
    parent_id: uuid.UUID | None = None
    description: Notes | None = None


class CategoryUpdate(InputModel):
    """Changes to a category; ``parent_id=None`` moves it to the top level."""

    name: Name100 | None = None
    parent_id: uuid.UUID | None = None
    description: Notes | None = None


class CategoryOut(OutputModel):
    id: uuid.UUID
    name: str
    parent_id: uuid.UUID | None
    description: str | None
    created_at: datetime


class CategoryNodeOut(CategoryOut):
    """A category with its subcategories; ``depth`` counts from the root of the query."""

    depth: int
    children: list[CategoryNodeOut] = Field(default_factory=list)


class ProductIn(InputModel):
    name: Name255
    category_id: uuid.UUID | None = None
    nutritional_info: JsonObject = Field(default_factory=dict)
    storage_info: JsonObject = Field(default_factory=dict)


class ProductUpdate(InputModel):
    name: Name255 | None = None
    category_id: uuid.UUID | None = None
    nutritional_info: JsonObject | None = None
    storage_info: JsonObject | None = None


class ProductOut(OutputModel):
    id: uuid.UUID
    name: str
    category_id: uuid.UUID | None
    nutritional_info: dict[str, Any]
    storage_info: dict[str, Any]
    created_at: datetime
    updated_at: datetime
