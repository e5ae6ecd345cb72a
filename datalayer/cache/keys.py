"""Data types, their TTLs, cache keys and the invalidation scopes each key depends on.

An entry is valid only while none of its *scopes* has been invalidated since it was filled:
every scope has a version in Redis, and invalidating a scope is one atomic increment of
that version (no ``KEYS``/``SCAN``). ``user:{id}`` covers everything cached for one user,
``catalog`` every answer computed over many recipes (search results).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final
from uuid import UUID


class DataType(StrEnum):
    """The cached data types; the names are also the counter and switch names."""

    USER_PROFILE = "user_profile"
    USER_RECIPES = "user_recipes"
    TASTE_PROFILE = "taste_profile"
    RECIPE_DETAILS = "recipe_details"
    RECIPE_EMBEDDINGS = "recipe_embeddings"
    PARSED_INGREDIENTS = "parsed_ingredients"
    SEARCH_RESULTS = "search_results"


TTL_SECONDS: Final[dict[DataType, int]] = {
    DataType.USER_PROFILE: 3600,
    DataType.USER_RECIPES: 1800,
    # 14400 (seeds 001/003), not 7200 (seed 000): every taste-profile write invalidates the
    # entry through an event, so the TTL only bounds memory, and the longer one saves
    # recomputing an aggregate that changes rarely.
    DataType.TASTE_PROFILE: 14400,
    DataType.RECIPE_DETAILS: 3600,
    DataType.RECIPE_EMBEDDINGS: 86400,
    DataType.PARSED_INGREDIENTS: 3600,
    DataType.SEARCH_RESULTS: 900,
}
"""L2 (Redis) TTL per data type; L1 keeps an entry at most ``CACHE_L1_TTL_S``."""

GLOBAL_SCOPE: Final = "*"
"""Scope every key depends on: invalidating it drops the whole cache in one operation."""
CATALOG_SCOPE: Final = "catalog"
"""Scope of answers computed over many recipes (search results)."""


def user_scope(user_id: UUID | str) -> str:
    """Everything cached for one user."""
    return f"user:{user_id}"


def recipe_scope(recipe_id: UUID | str) -> str:
    """Everything cached for one recipe (details, embeddings, parsed ingredients)."""
    return f"recipe:{recipe_id}"


def user_recipes_scope(user_id: UUID | str) -> str:
    """All of one user's recipe lists, whatever their page or filter."""
    return f"user_recipes:{user_id}"


def taste_scope(user_id: UUID | str) -> str:
    """The user's taste profile and what is derived from it."""
    return f"taste:{user_id}"


class CacheKey:
    """One cache entry: its data type, identity and the scopes it depends on.

    ``name`` (``data_type:identity``, unique per entry) and ``all_scopes`` (the scopes with
    :data:`GLOBAL_SCOPE` first) are computed once here, since every L1 hit reads them. A
    plain slotted class rather than a frozen dataclass, whose constructor costs several
    times more (keys are built on every cached read); treat it as immutable.
    """

    __slots__ = ("all_scopes", "data_type", "identity", "name", "scopes")

    def __init__(self, data_type: DataType, identity: str, scopes: tuple[str, ...]) -> None:
        self.data_type = data_type
        self.identity = identity
        self.scopes = scopes
        self.name = f"{data_type}:{identity}"
        self.all_scopes = (GLOBAL_SCOPE, *scopes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CacheKey):
            return NotImplemented
        return self.name == other.name and self.scopes == other.scopes

    def __hash__(self) -> int:
        return hash((self.name, self.scopes))

    def __repr__(self) -> str:
        return f"CacheKey({self.data_type!r}, {self.identity!r}, {self.scopes!r})"


def user_profile(user_id: UUID | str) -> CacheKey:
    """A user's profile."""
    return CacheKey(DataType.USER_PROFILE, str(user_id), (user_scope(user_id),))


def user_recipes(user_id: UUID | str, variant: str = "all") -> CacheKey:
    """One of a user's recipe lists; ``variant`` names the page/filter (a fingerprint)."""
    return CacheKey(
        DataType.USER_RECIPES,
        f"{user_id}:{variant}",
        (user_scope(user_id), user_recipes_scope(user_id)),
    )


def taste_profile(user_id: UUID | str) -> CacheKey:
    """A user's taste profile."""
    return CacheKey(
        DataType.TASTE_PROFILE, str(user_id), (user_scope(user_id), taste_scope(user_id))
    )


def recipe_details(recipe_id: UUID | str) -> CacheKey:
    """One recipe with its ingredients and steps."""
    return CacheKey(DataType.RECIPE_DETAILS, str(recipe_id), (recipe_scope(recipe_id),))


def recipe_embeddings(recipe_id: UUID | str) -> CacheKey:
    """A recipe's embedding vectors."""
    return CacheKey(DataType.RECIPE_EMBEDDINGS, str(recipe_id), (recipe_scope(recipe_id),))


def parsed_ingredients(recipe_id: UUID | str) -> CacheKey:
    """A recipe's parsed ingredients."""
    return CacheKey(DataType.PARSED_INGREDIENTS, str(recipe_id), (recipe_scope(recipe_id),))


def search_results(fingerprint: str) -> CacheKey:
    """A search answer; ``fingerprint`` identifies the query and its parameters."""
    return CacheKey(DataType.SEARCH_RESULTS, fingerprint, (CATALOG_SCOPE,))
