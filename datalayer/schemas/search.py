"""Input and output models of the recipe search repository (hybrid search)."""

from __future__ import annotations

import uuid

from pydantic import Field, StrictFloat, StrictInt

from datalayer.schemas.common import InputModel, OutputModel
from datalayer.schemas.recipes import RecipeSummaryOut, SearchText


class HybridQuery(InputModel):
    """The options of a hybrid search; numbers are strict (no ``"5"``, no ``True``)."""

    user_id: uuid.UUID
    query_text: SearchText
    limit: StrictInt = Field(default=20, ge=1, le=200)
    exclude_recipe_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10_000)
    distance_threshold: StrictFloat = Field(default=0.8, ge=0.0, le=2.0)
    ef_search: StrictInt | None = Field(default=None, ge=1, le=1000)


class HybridHitOut(OutputModel):
    """One recipe of a hybrid search: its summary, its fused score and where each list
    placed it (1 = first; ``None`` when that list did not find it)."""

    recipe: RecipeSummaryOut
    score: float = Field(description="Reciprocal rank fusion: sum of 1 / (k + rank).")
    text_rank: int | None = Field(description="Position in the full-text list.")
    vector_rank: int | None = Field(description="Position in the nearest-embedding list.")
    distance: float | None = Field(description="Cosine distance, when the vector list has it.")
