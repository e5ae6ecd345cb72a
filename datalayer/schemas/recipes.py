"""Input and output models of the recipe repository."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from datalayer.schemas.common import InputModel, OutputModel, Tag

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Body = Annotated[str, StringConstraints(max_length=50_000)]
Cuisine = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
ErrorText = Annotated[str, StringConstraints(max_length=100_000)]
SearchText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Difficulty = Annotated[int, Field(ge=1, le=5)]
Servings = Annotated[int, Field(ge=1, le=100)]
CookingTime = Annotated[int, Field(ge=0, le=10_080)]


class AIStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class RecipeIn(InputModel):
    title: Title
    description: Body | None = None
    instructions: Body | None = None
    cooking_time_minutes: CookingTime | None = None
    difficulty: Difficulty | None = None
    servings: Servings | None = None
    cuisine_type: Cuisine | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    category_id: uuid.UUID | None = None


class RecipeUpdate(InputModel):
    title: Title | None = None
    description: Body | None = None
    instructions: Body | None = None
    cooking_time_minutes: CookingTime | None = None
    difficulty: Difficulty | None = None
    servings: Servings | None = None
    cuisine_type: Cuisine | None = None
    tags: list[Tag] | None = Field(default=None, max_length=50)
    category_id: uuid.UUID | None = None


class RecipeFilters(InputModel):
    cuisine_type: Cuisine | None = None
    difficulty: Difficulty | None = None
    max_cooking_time: CookingTime | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    ai_status: AIStatus | None = None


class RecipeOut(OutputModel):
    id: uuid.UUID
    user_id: uuid.UUID
    category_id: uuid.UUID | None
    title: str
    description: str | None
    instructions: str | None
    cooking_time_minutes: int | None
    difficulty: int | None
    servings: int | None
    cuisine_type: str | None
    tags: list[str]
    ai_status: AIStatus
    ai_error: str | None
    ai_attempts: int
    content_hash: str
    created_at: datetime
    updated_at: datetime


class RecipeSummaryOut(OutputModel):
    """The fields of a recipe shown next to a search result (no long texts, no AI state)."""

    id: uuid.UUID
    user_id: uuid.UUID
    title: str
    cuisine_type: str | None
    difficulty: int | None
    cooking_time_minutes: int | None
    servings: int | None
    tags: list[str]


class RecipeSearchHitOut(OutputModel):
    recipe: RecipeOut
    rank: float


def content_hash(title: str, description: str | None, instructions: str | None) -> str:
    """SHA-256 of the text an embedding is computed from; a change means re-processing."""
    canonical = json.dumps(
        {"title": title, "description": description or "", "instructions": instructions or ""},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
