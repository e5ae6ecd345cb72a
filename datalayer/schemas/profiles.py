"""Input and output models of parsed ingredients and taste profiles."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator, model_validator

from datalayer.schemas.common import InputModel, OutputModel, Tag

IngredientName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)
]
Unit = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Notes = Annotated[str, StringConstraints(max_length=2000)]
Quantity = Annotated[Decimal, Field(gt=0, max_digits=10, decimal_places=3, allow_inf_nan=False)]


def normalize_ingredient(name: str) -> str:
    """Lower-case, single-spaced form used for matching ingredients across recipes."""
    return re.sub(r"\s+", " ", name).strip().lower()


class ParsedIngredientIn(InputModel):
    name: IngredientName
    normalized_name: IngredientName | None = None
    quantity: Quantity | None = None
    unit: Unit | None = None
    notes: Notes | None = None

    @model_validator(mode="after")
    def _normalize(self) -> ParsedIngredientIn:
        normalized = normalize_ingredient(self.normalized_name or self.name)
        object.__setattr__(self, "normalized_name", normalized)
        return self


class ParsedIngredientOut(OutputModel):
    id: uuid.UUID
    recipe_id: uuid.UUID
    position: int
    name: str
    normalized_name: str
    quantity: Decimal | None
    unit: str | None
    notes: str | None


class RecipeIngredientMatchOut(OutputModel):
    recipe_id: uuid.UUID
    title: str
    ingredient_name: str
    quantity: Decimal | None
    unit: str | None


class IngredientCountOut(OutputModel):
    """An ingredient and the number of recipes that use it."""

    name: str
    recipes: int


class IngredientCountIn(InputModel):
    name: IngredientName
    recipes: Annotated[int, Field(ge=0, le=1_000_000)]


def rank_ingredients(items: Any) -> Any:
    """Favourite ingredients as a list ranked by recipe count (descending), then name.

    A profile written before rankings were stored as lists holds a JSON object
    ``{name: count}`` (JSONB reorders object keys, so its order means nothing): it is
    converted here.
    """
    if isinstance(items, dict):
        items = [{"name": name, "recipes": count} for name, count in items.items()]
    if not isinstance(items, list):
        return items

    def key(item: Any) -> tuple[int, str]:
        if isinstance(item, dict):
            return (-int(item.get("recipes", 0)), str(item.get("name", "")))
        return (-item.recipes, item.name)

    try:
        return sorted(items, key=key)
    except (TypeError, ValueError):
        return items  # left for the field's own validation to reject


class IngredientStatsOut(OutputModel):
    user_id: uuid.UUID
    recipe_count: int
    distinct_ingredients: int
    total_ingredient_lines: int
    top_ingredients: list[IngredientCountOut]


class TasteProfileUpdate(InputModel):
    """Explicit preferences; ``favorite_ingredients`` is stored ranked by ``recipes``."""

    favorite_ingredients: list[IngredientCountIn] | None = Field(default=None, max_length=200)
    cuisine_preferences: dict[str, float] | None = Field(default=None, max_length=100)
    dietary_restrictions: list[Tag] | None = Field(default=None, max_length=50)

    _ranked = field_validator("favorite_ingredients", mode="after")(
        lambda items: None if items is None else rank_ingredients(items)
    )


class TasteProfileOut(OutputModel):
    user_id: uuid.UUID
    favorite_ingredients: list[IngredientCountOut]
    cuisine_preferences: dict[str, Any]
    difficulty_distribution: dict[str, Any]
    cooking_time_distribution: dict[str, Any]
    dietary_restrictions: list[str]
    recipe_count: int
    is_stale: bool
    calculated_at: datetime | None
    updated_at: datetime

    _ranked = field_validator("favorite_ingredients", mode="before")(rank_ingredients)
