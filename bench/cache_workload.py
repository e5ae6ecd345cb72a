"""The cache benchmark's workload, and what an ideal cache would make of it.

Each process draws its own seeded sequence of operations: recipe and user ranks from a
bounded Zipf distribution over the data set (rank ``k`` with probability proportional to
``(k + 1) ** -a``, the distribution YCSB calls "zipfian"), a 5% share of writes that follow
the same popularity, and a read mix of recipe details, user profiles and user recipe lists.

:func:`ideal_levels` replays the processes' sequences (interleaved round-robin) through a
model of a perfect two-level cache: every process's L1 is unbounded and coherent at once, L2
is shared, an entry is valid until one of its scopes is written, nothing expires. What it
cannot serve is inherent to the workload (a key's first read anywhere, the first read after
a write of one of its scopes): the measured hit rates can only be compared with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
from psycopg.types.json import Jsonb

RECIPE_READ = 0.6  # kinds below this read a recipe; below USER_READ a profile; else a list
USER_READ = 0.9
RECIPE_WRITE = 0.7  # a write below this updates a recipe, else a user profile


def bounded_zipf(rng: np.random.Generator, a: float, size: int, count: int) -> np.ndarray:
    """``count`` ranks in ``[0, size)``, rank ``k`` with probability ``∝ (k + 1) ** -a``."""
    weights = np.arange(1, size + 1, dtype=np.float64) ** -a
    cumulative = np.cumsum(weights)
    cumulative /= cumulative[-1]
    return np.minimum(np.searchsorted(cumulative, rng.random(count)), size - 1)


@dataclass(frozen=True)
class Operations:
    """One process's sequence, as plain lists (no numpy scalars in the timed loop)."""

    recipes: list[int]
    users: list[int]
    kinds: list[float]
    writes: list[bool]

    def __len__(self) -> int:
        return len(self.kinds)


def operations(
    seed: int, *, recipes: int, users: int, count: int, zipf_a: float, write_fraction: float
) -> Operations:
    """The seeded sequence of ``count`` operations of one process."""
    rng = np.random.default_rng(seed)
    return Operations(
        recipes=bounded_zipf(rng, zipf_a, recipes, count).tolist(),
        users=bounded_zipf(rng, zipf_a, users, count).tolist(),
        kinds=rng.random(count).tolist(),
        writes=(rng.random(count) < write_fraction).tolist(),
    )


def owners(seed: int, *, recipes: int, users: int) -> np.ndarray:
    """The owner of every recipe (what the data loader writes)."""
    return np.random.default_rng(seed).integers(0, users, recipes)


def ideal_levels(
    sequences: Sequence[Operations],
    recipe_owners: np.ndarray,
    *,
    measured_from: int = 0,
    measured_until: int | None = None,
) -> dict[str, int]:
    """L1 hits, L2 hits and misses of a perfect cache, counted for the operations at
    indexes ``measured_from`` to ``measured_until`` (excluded; None: the end) of every
    process; ``first_reads`` of the misses are a key's first read anywhere, the others
    follow a write.
    """
    until = max(len(ops) for ops in sequences) if measured_until is None else measured_until
    versions: dict[str, int] = {}
    shared: dict[str, tuple[int, ...]] = {}
    local: list[dict[str, tuple[int, ...]]] = [{} for _ in sequences]
    counts = {"l1": 0, "l2": 0, "miss": 0, "first_reads": 0}
    for index in range(max(len(ops) for ops in sequences)):
        for process, ops in enumerate(sequences):
            if index >= len(ops):
                continue
            recipe, user, kind = ops.recipes[index], ops.users[index], ops.kinds[index]
            if ops.writes[index]:
                written = (
                    (f"recipe:{recipe}", f"user_recipes:{recipe_owners[recipe]}")
                    if kind < RECIPE_WRITE
                    else (f"user:{user}",)
                )
                for scope in written:
                    versions[scope] = versions.get(scope, 0) + 1
                continue
            scopes: tuple[str, ...]
            if kind < RECIPE_READ:
                key, scopes = f"r{recipe}", (f"recipe:{recipe}",)
            elif kind < USER_READ:
                key, scopes = f"u{user}", (f"user:{user}",)
            else:
                key, scopes = f"l{user}", (f"user:{user}", f"user_recipes:{user}")
            tag = tuple(versions.get(scope, 0) for scope in scopes)
            if local[process].get(key) == tag:
                level = "l1"
            elif shared.get(key) == tag:
                level = "l2"
            else:
                level = "miss"
                if measured_from <= index < until and key not in shared:
                    counts["first_reads"] += 1
                shared[key] = tag
            local[process][key] = tag
            if measured_from <= index < until:
                counts[level] += 1
    return counts


def rates(l1: int, l2: int, miss: int) -> dict[str, float | None]:
    """Overall, L1 and L2-among-L1-misses hit rates of level counts."""
    reads = l1 + l2 + miss
    return {
        "overall": round((l1 + l2) / reads, 4) if reads else None,
        "l1": round(l1 / reads, 4) if reads else None,
        "l2": round(l2 / (l2 + miss), 4) if l2 + miss else None,
    }


def load_data(url: str, *, users: int, recipes: int, seed: int) -> None:
    """The benchmark tables, filled by COPY (owners as :func:`owners` draws them)."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "CREATE TABLE bench_users (id int PRIMARY KEY, name text, settings jsonb);"
            "CREATE TABLE bench_recipes (id int PRIMARY KEY, owner int, title text,"
            " version int, body jsonb); CREATE INDEX ON bench_recipes (owner, id)"
        )
        with connection.cursor().copy("COPY bench_users FROM STDIN") as copy:
            for user in range(users):
                copy.write_row((user, f"user {user}", Jsonb({"diet": "any", "units": "metric"})))
        recipe_owners = owners(seed, recipes=recipes, users=users)
        body = {"ingredients": [f"ingredient {i}" for i in range(12)], "steps": ["step"] * 8}
        with connection.cursor().copy("COPY bench_recipes FROM STDIN") as copy:
            for recipe in range(recipes):
                copy.write_row(
                    (recipe, int(recipe_owners[recipe]), f"recipe {recipe}", 0, Jsonb(body))
                )
        connection.execute("ANALYZE")


class Loaders:
    """The uncached reads and the writes, on one connection."""

    def __init__(self, connection: psycopg.AsyncConnection[Any]) -> None:
        self.connection = connection

    async def recipe(self, recipe: int) -> Any:
        cursor = await self.connection.execute(
            "SELECT id, owner, title, version, body FROM bench_recipes WHERE id = %s", (recipe,)
        )
        row = await cursor.fetchone()
        return (
            None
            if row is None
            else {"id": row[0], "owner": row[1], "title": row[2], "version": row[3], "body": row[4]}
        )

    async def profile(self, user: int) -> Any:
        cursor = await self.connection.execute(
            "SELECT id, name, settings FROM bench_users WHERE id = %s", (user,)
        )
        row = await cursor.fetchone()
        return None if row is None else {"id": row[0], "name": row[1], "settings": row[2]}

    async def user_recipes(self, user: int) -> Any:
        cursor = await self.connection.execute(
            "SELECT id, title FROM bench_recipes WHERE owner = %s ORDER BY id LIMIT 20", (user,)
        )
        return [list(row) for row in await cursor.fetchall()]

    async def update_recipe(self, recipe: int) -> int:
        cursor = await self.connection.execute(
            "UPDATE bench_recipes SET version = version + 1 WHERE id = %s RETURNING owner",
            (recipe,),
        )
        row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def update_user(self, user: int) -> None:
        await self.connection.execute(
            "UPDATE bench_users SET name = name || '.' WHERE id = %s", (user,)
        )
