"""Input and output models of the embedding repository."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import Field, StrictFloat, StrictInt, StringConstraints, computed_field

from datalayer.schemas.common import InputModel, OutputModel
from datalayer.schemas.recipes import RecipeSummaryOut

Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
ModelName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ModelVersion = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]


class ModelSpec(InputModel):
    model: ModelName
    model_version: ModelVersion


class EmbeddingMeta(ModelSpec):
    source_text_hash: Sha256Hex


class EmbeddingIn(EmbeddingMeta):
    """One row for :meth:`EmbeddingRepository.bulk_load`."""

    recipe_id: uuid.UUID
    user_id: uuid.UUID
    embedding: Any


class BulkLoadOut(OutputModel):
    """What :meth:`EmbeddingRepository.bulk_load` did."""

    rows: int
    rebuilt_indexes: list[str] = Field(
        description="Vector indexes dropped before the COPY and built again after it."
    )
    copy_s: float = Field(description="Seconds the COPY took.")
    index_build_s: float | None = Field(
        description="Seconds the rebuild took; None when the load went through the indexes."
    )


class SimilarityQuery(InputModel):
    """The options of a similarity search; numbers are strict (no ``"5"``, no ``True``)."""

    limit: StrictInt = Field(default=20, ge=1, le=200)
    user_id: uuid.UUID | None = None
    exclude_recipe_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10_000)
    distance_threshold: StrictFloat = Field(default=0.8, ge=0.0, le=2.0)
    ef_search: StrictInt | None = Field(default=None, ge=1, le=1000)
    """None: the tuned value (:mod:`datalayer.repositories.search_tuning`)."""


class SimilarityMatchOut(OutputModel):
    recipe_id: uuid.UUID
    distance: float

    @computed_field  # type: ignore[prop-decorator]
    @property
    def similarity(self) -> float:
        """Cosine similarity (1 - cosine distance)."""
        return 1.0 - self.distance


class SimilarRecipeOut(SimilarityMatchOut):
    """A similarity match with the summary of the recipe it found (one query)."""

    recipe: RecipeSummaryOut


class EmbeddingOut(OutputModel):
    id: uuid.UUID
    recipe_id: uuid.UUID
    user_id: uuid.UUID
    embedding: list[float]
    model: str
    model_version: str
    source_text_hash: str
    is_stale: bool
    created_at: datetime
    updated_at: datetime


M = TypeVar("M", bound=SimilarityMatchOut)


class SearchResults(list[M]):
    """The matches of one similarity search, best first: a ``list``, so existing callers
    are unaffected, plus a verdict on whether the answer may be incomplete or less accurate.

    ``at_risk`` is True when ``risk`` names a reason: the index scan stopped before its
    candidate pool filled while the scope held more rows (``ef_search`` or
    ``hnsw.max_scan_tuples`` too small), candidates of inactive owners crowded active ones
    out of a full pool, or ``ef_search`` was set below the configured value. ``exact`` says
    whether the user's rows were read exactly (small scopes) rather than through the HNSW
    index.
    """

    at_risk: bool
    risk: str | None
    exact: bool

    def __init__(
        self, matches: Iterable[M] = (), *, risk: str | None = None, exact: bool = False
    ) -> None:
        super().__init__(matches)
        self.risk = risk
        self.at_risk = risk is not None
        self.exact = exact
