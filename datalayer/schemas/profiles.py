"""Input and output models of parsed ingredients and taste profiles."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, StringConstraints, model_validator

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


class RecipeIngredientMatch(OutputModel):
    recipe_id: uuid.UUID
    title: str
    ingredient_name: str
    quantity: Decimal | None
    unit: str | None


class IngredientCount(OutputModel):
    name: str
    recipes: int


class IngredientStats(OutputModel):
    user_id: uuid.UUID
    recipe_count: int
    distinct_ingredients: int
    total_ingredient_lines: int
    top_ingredients: list[IngredientCount]


class TasteProfileUpdate(InputModel):
    favorite_ingredients: dict[str, int] | None = Field(default=None, max_length=200)
    cuisine_preferences: dict[str, float] | None = Field(default=None, max_length=100)
    dietary_restrictions: list[Tag] | None = Field(default=None, max_length=50)


class TasteProfileOut(OutputModel):
    user_id: uuid.UUID
    favorite_ingredients: dict[str, Any]
    cuisine_preferences: dict[str, Any]
    difficulty_distribution: dict[str, Any]
    cooking_time_distribution: dict[str, Any]
    dietary_restrictions: list[str]
    recipe_count: int
    is_stale: bool
    calculated_at: datetime | None
    updated_at: datetime
