"""The benchmark dataset: users, recipes, their embeddings and the query vectors.

Ownership is skewed on purpose so two users give the filtered-search selectivities: one
owns 10% of the recipes and one 1%; the rest are spread uniformly over many small users.
Which rows a user owns is random, independent of the clusters.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import numpy as np

from bench.corpus import RecipeCorpus, RecipeText
from bench.generator import ClusteredGenerator, GeneratorParams, IntArray, Matrix

SELECTIVITIES = {"10pct": 0.10, "1pct": 0.01}
ROWS_PER_SMALL_USER = 100


@dataclass(frozen=True)
class Dataset:
    """Everything loaded into the database, plus what the measurements compare against."""

    params: GeneratorParams
    vectors: Matrix
    queries: Matrix
    warm_up: Matrix  # queries run before measuring, never measured themselves
    user_ids: list[uuid.UUID]
    recipe_ids: list[uuid.UUID]
    owners: IntArray  # index into user_ids, per row
    recipes: list[RecipeText]
    scoped_users: dict[str, int] = field(default_factory=dict)  # selectivity -> user index

    @property
    def rows(self) -> int:
        return int(self.vectors.shape[0])

    def rows_of(self, user: int) -> IntArray:
        return np.flatnonzero(self.owners == user)

    def describe(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "queries": int(self.queries.shape[0]),
            "users": len(self.user_ids),
            "scoped_users": {
                name: {"rows": int(self.rows_of(user).size)}
                for name, user in self.scoped_users.items()
            },
            "rows_per_small_user": ROWS_PER_SMALL_USER,
        }


def _uuids(rng: np.random.Generator, count: int) -> list[uuid.UUID]:
    raw = rng.bytes(16 * count)
    return [uuid.UUID(bytes=raw[i * 16 : (i + 1) * 16], version=4) for i in range(count)]


WARM_UP_QUERIES = 20


def build_dataset(params: GeneratorParams, rows: int, queries: int) -> Dataset:
    """Draw ``rows`` embeddings, ``queries`` fresh query vectors (and separate warm-up
    queries) with their owners."""
    generator = ClusteredGenerator(params)
    rng = np.random.default_rng([params.seed, 3])
    order = rng.permutation(rows)
    owners = np.empty(rows, dtype=np.int64)
    scoped: dict[str, int] = {}
    start = 0
    for user, (name, share) in enumerate(SELECTIVITIES.items()):
        size = round(rows * share)
        owners[order[start : start + size]] = user
        scoped[name] = user
        start += size
    small_users = max(1, (rows - start) // ROWS_PER_SMALL_USER)
    owners[order[start:]] = len(SELECTIVITIES) + rng.integers(small_users, size=rows - start)
    user_count = len(SELECTIVITIES) + small_users
    return Dataset(
        params=params,
        vectors=generator.rows(rows),
        queries=generator.queries(queries),
        warm_up=generator.warm_up(WARM_UP_QUERIES),
        user_ids=_uuids(rng, user_count),
        recipe_ids=_uuids(rng, rows),
        owners=owners,
        recipes=RecipeCorpus(params.seed).recipes(rows),
        scoped_users=scoped,
    )
