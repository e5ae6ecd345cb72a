"""Parsed ingredients of recipes, searched by normalised name.

Every method acts for the recipe's owner (``user_id`` first): another user's recipe is
reported exactly like a missing one. Only an active user stores or replaces ingredient lists.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from datalayer.cache import keys
from datalayer.db import Database, idempotent_read
from datalayer.errors import InvalidInputError, NotFoundError
from datalayer.models import ParsedIngredient, Recipe
from datalayer.repositories.active_users import require_active_user
from datalayer.repositories.caching import recipe_updated
from datalayer.repositories.taste_profiles import mark_profile_stale
from datalayer.schemas.common import as_uuid, bounded_int, parse, parse_value
from datalayer.schemas.profiles import (
    IngredientCountOut,
    IngredientName,
    IngredientStatsOut,
    ParsedIngredientIn,
    ParsedIngredientOut,
    RecipeIngredientMatchOut,
    normalize_ingredient,
)

MAX_INGREDIENTS = 200
SEARCH_LIMIT = 100


_OWNED_LINES = TypeAdapter(tuple[uuid.UUID, list[ParsedIngredientOut]] | None)
"""A recipe's owner and ingredient lines, as cached (None: no such recipe)."""


class IngredientRepository:
    """Structured ingredient lines, one list per recipe."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def store_parsed_ingredients(
        self,
        user_id: uuid.UUID,
        recipe_id: uuid.UUID,
        ingredients: Sequence[ParsedIngredientIn | dict[str, Any]],
    ) -> list[uuid.UUID]:
        """Append ingredient lines after the recipe's existing ones; returns their ids.

        NotFoundError("user not found") when the user is inactive, "recipe not found" when
        the recipe is missing or not theirs.
        """
        lines = self._parse_all(ingredients)
        async with self._db.transaction() as session:
            await require_active_user(session, as_uuid(user_id, "user_id"))
            recipe = await self._owned_recipe(session, user_id, recipe_id)
            start = await session.scalar(
                select(func.coalesce(func.max(ParsedIngredient.position) + 1, 0)).where(
                    ParsedIngredient.recipe_id == recipe
                )
            )
            return await self._insert(session, recipe, user_id, lines, int(start or 0))

    async def update_parsed_ingredients(
        self,
        user_id: uuid.UUID,
        recipe_id: uuid.UUID,
        ingredients: Sequence[ParsedIngredientIn | dict[str, Any]],
    ) -> list[ParsedIngredientOut]:
        """Replace the recipe's ingredient list (one transaction); returns the new list.

        An empty list is InvalidInputError (use :meth:`delete_recipe_ingredients`).
        """
        lines = self._parse_all(ingredients)
        if not lines:
            raise InvalidInputError("nothing to update", field="ingredients")
        async with self._db.transaction() as session:
            await require_active_user(session, as_uuid(user_id, "user_id"))
            recipe = await self._owned_recipe(session, user_id, recipe_id)
            await session.execute(
                delete(ParsedIngredient).where(ParsedIngredient.recipe_id == recipe)
            )
            await self._insert(session, recipe, user_id, lines, 0)
            return await self._lines(session, recipe)

    @idempotent_read
    async def get_recipe_ingredients(
        self, user_id: uuid.UUID, recipe_id: uuid.UUID
    ) -> list[ParsedIngredientOut]:
        """The recipe's ingredient lines in order; NotFoundError when the recipe is missing
        or not the user's.

        Cached by recipe id with the owner's id; ownership is checked on every answer.
        """
        owner = as_uuid(user_id, "user_id")
        wanted = as_uuid(recipe_id, "recipe_id")

        async def query(
            session: AsyncSession,
        ) -> tuple[uuid.UUID, list[ParsedIngredientOut]] | None:
            found = await session.scalar(select(Recipe.user_id).where(Recipe.id == wanted))
            return None if found is None else (found, await self._lines(session, wanted))

        key = keys.parsed_ingredients(wanted)
        cached = await self._db.cached_read(key, query, adapter=_OWNED_LINES)
        if cached is None or cached[0] != owner:
            raise NotFoundError("recipe not found")
        return list(cached[1])

    async def delete_recipe_ingredients(self, user_id: uuid.UUID, recipe_id: uuid.UUID) -> None:
        """Remove all lines of a recipe (none is fine); NotFoundError when the recipe is
        missing or not the user's."""
        async with self._db.transaction() as session:
            recipe = await self._owned_recipe(session, user_id, recipe_id)
            await session.execute(
                delete(ParsedIngredient).where(ParsedIngredient.recipe_id == recipe)
            )
            await mark_profile_stale(session, as_uuid(user_id, "user_id"))
            recipe_updated(session, recipe, as_uuid(user_id, "user_id"))

    @idempotent_read
    async def search_by_ingredient(
        self, user_id: uuid.UUID, ingredient_name: str
    ) -> list[RecipeIngredientMatchOut]:
        """The user's recipes that use ``ingredient_name`` (matched on the normalised name),
        by title, at most 100."""
        name = normalize_ingredient(parse_value(IngredientName, ingredient_name, "ingredient_name"))
        statement = (
            select(
                Recipe.id.label("recipe_id"),
                Recipe.title,
                ParsedIngredient.name.label("ingredient_name"),
                ParsedIngredient.quantity,
                ParsedIngredient.unit,
            )
            .join(ParsedIngredient, ParsedIngredient.recipe_id == Recipe.id)
            .where(
                ParsedIngredient.normalized_name == name,
                Recipe.user_id == as_uuid(user_id, "user_id"),
            )
            .order_by(Recipe.title, Recipe.id)
            .limit(SEARCH_LIMIT)
        )
        async with self._db.read_transaction() as session:
            rows = (await session.execute(statement)).mappings()
            return [RecipeIngredientMatchOut.model_validate(dict(row)) for row in rows]

    @idempotent_read
    async def get_ingredient_statistics(
        self, user_id: uuid.UUID, *, top: int = 20
    ) -> IngredientStatsOut:
        """How often each ingredient appears across the user's recipes (``top`` 1..200)."""
        owner = as_uuid(user_id, "user_id")
        top = bounded_int(top, "top", low=1, high=200)
        lines = (
            select(ParsedIngredient.normalized_name, ParsedIngredient.recipe_id)
            .join(Recipe, Recipe.id == ParsedIngredient.recipe_id)
            .where(Recipe.user_id == owner)
            .subquery()
        )
        totals = select(
            func.count(func.distinct(lines.c.recipe_id)),
            func.count(func.distinct(lines.c.normalized_name)),
            func.count(),
        )
        counts = (
            select(lines.c.normalized_name, func.count(func.distinct(lines.c.recipe_id)).label("n"))
            .group_by(lines.c.normalized_name)
            .order_by(func.count(func.distinct(lines.c.recipe_id)).desc(), lines.c.normalized_name)
            .limit(top)
        )
        async with self._db.read_transaction() as session:
            recipes, distinct, total = (await session.execute(totals)).one()
            top_rows = (await session.execute(counts)).all()
        return IngredientStatsOut(
            user_id=owner,
            recipe_count=recipes,
            distinct_ingredients=distinct,
            total_ingredient_lines=total,
            top_ingredients=[IngredientCountOut(name=name, recipes=n) for name, n in top_rows],
        )

    @staticmethod
    def _parse_all(
        ingredients: Sequence[ParsedIngredientIn | dict[str, Any]],
    ) -> list[ParsedIngredientIn]:
        if (
            isinstance(ingredients, str | bytes | dict)
            or not isinstance(ingredients, Sequence)
            or len(ingredients) > MAX_INGREDIENTS
        ):
            raise InvalidInputError(
                f"ingredients must be a list of at most {MAX_INGREDIENTS} items",
                field="ingredients",
            )
        return [parse(ParsedIngredientIn, item) for item in ingredients]

    @staticmethod
    async def _lines(session: AsyncSession, recipe_id: uuid.UUID) -> list[ParsedIngredientOut]:
        rows = await session.execute(
            select(ParsedIngredient)
            .where(ParsedIngredient.recipe_id == recipe_id)
            .order_by(ParsedIngredient.position)
        )
        return [ParsedIngredientOut.model_validate(row) for row in rows.scalars()]

    @staticmethod
    async def _owned_recipe(
        session: AsyncSession, user_id: uuid.UUID, recipe_id: uuid.UUID
    ) -> uuid.UUID:
        found = await session.scalar(
            select(Recipe.id).where(
                Recipe.id == as_uuid(recipe_id, "recipe_id"),
                Recipe.user_id == as_uuid(user_id, "user_id"),
            )
        )
        if found is None:
            raise NotFoundError("recipe not found")
        return found

    @staticmethod
    async def _insert(
        session: AsyncSession,
        recipe_id: uuid.UUID,
        user_id: uuid.UUID,
        lines: list[ParsedIngredientIn],
        start: int,
    ) -> list[uuid.UUID]:
        rows = [
            ParsedIngredient(recipe_id=recipe_id, position=start + index, **line.model_dump())
            for index, line in enumerate(lines)
        ]
        session.add_all(rows)
        await session.flush()
        await mark_profile_stale(session, as_uuid(user_id, "user_id"))
        recipe_updated(session, recipe_id, as_uuid(user_id, "user_id"))
        return [row.id for row in rows]
