"""Recipes: ownership-checked CRUD, filtered listing, full-text search and the AI queue.

Every read, update, delete, list and search acts for a user (``user_id`` first): another
user's recipe is reported exactly like a missing one. Only an active user creates recipes.
The AI-processing queue is a system operation and takes no user.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Select, delete, func, literal_column, select, text, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from datalayer.cache import CacheKey, DataType, keys
from datalayer.cache.keys import user_recipes_scope, user_scope
from datalayer.db import Database, idempotent_read
from datalayer.errors import NotFoundError
from datalayer.models import Recipe, RecipeEmbedding
from datalayer.repositories.active_users import require_active_user
from datalayer.repositories.caching import fingerprint, recipe_updated
from datalayer.repositories.sorting import sort_clauses
from datalayer.repositories.taste_profiles import mark_profile_stale
from datalayer.schemas.common import (
    Page,
    as_uuid,
    as_uuid_list,
    bounded_int,
    page_request,
    parse,
    parse_value,
    require_changes,
)
from datalayer.schemas.recipes import (
    AIStatus,
    ErrorText,
    RecipeFilters,
    RecipeIn,
    RecipeOut,
    RecipeSearchHitOut,
    RecipeUpdate,
    SearchText,
    content_hash,
)

#: ``sort`` keys of :meth:`RecipeRepository.get_user_recipes` (default ``-created_at``).
RECIPE_SORT_KEYS = {
    "created_at": Recipe.created_at,
    "updated_at": Recipe.updated_at,
    "title": Recipe.title,
    "cooking_time_minutes": Recipe.cooking_time_minutes,
    "difficulty": Recipe.difficulty,
}
MAX_BULK_IDS = 500
MAX_AI_ATTEMPTS = 5
STUCK_AFTER = timedelta(minutes=30)
MAX_ERROR_LENGTH = 2000

_MAYBE_RECIPE = TypeAdapter(RecipeOut | None)
_RECIPE_PAGE = TypeAdapter(Page[RecipeOut])
_SEARCH_PAGE = TypeAdapter(Page[RecipeSearchHitOut])

_CLAIM = text(
    """
    UPDATE recipes
       SET ai_status = 'processing', ai_started_at = now(), ai_attempts = ai_attempts + 1
     WHERE id IN (
           SELECT id FROM recipes
            WHERE (ai_status IN ('pending', 'failed') AND ai_attempts < :max_attempts)
               OR (ai_status = 'processing' AND ai_started_at < now() - :stuck_after)
            ORDER BY created_at
            LIMIT :limit
              FOR UPDATE SKIP LOCKED)
    RETURNING id
    """
)


class RecipeRepository:
    """Recipes of one owner at a time, plus the AI-processing queue."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_recipe(
        self, user_id: uuid.UUID, recipe_data: RecipeIn | dict[str, Any]
    ) -> RecipeOut:
        """Create a recipe; it enters the AI-processing queue as ``pending``.

        NotFoundError("user not found") when the user is missing or inactive.
        """
        owner = as_uuid(user_id, "user_id")
        data = parse(RecipeIn, recipe_data)
        recipe = Recipe(
            user_id=owner,
            content_hash=content_hash(data.title, data.description, data.instructions),
            **data.model_dump(),
        )
        async with self._db.transaction() as session:
            await require_active_user(session, owner)
            session.add(recipe)
            await session.flush()
            await session.refresh(recipe)
            await mark_profile_stale(session, owner)
            recipe_updated(session, recipe.id, owner)
            return RecipeOut.model_validate(recipe)

    async def get_recipe_by_id(self, user_id: uuid.UUID, recipe_id: uuid.UUID) -> RecipeOut:
        """The recipe when ``user_id`` owns it; NotFoundError otherwise (missing or not theirs)."""
        recipe = await self.find_recipe_by_id(user_id, recipe_id)
        if recipe is None:
            raise NotFoundError("recipe not found")
        return recipe

    @idempotent_read
    async def find_recipe_by_id(self, user_id: uuid.UUID, recipe_id: uuid.UUID) -> RecipeOut | None:
        """The recipe when ``user_id`` owns it; None otherwise (missing or not theirs).

        Cached by recipe id whoever owns it; ownership is checked on every answer, cached
        or not.
        """
        owner = as_uuid(user_id, "user_id")
        wanted = as_uuid(recipe_id, "recipe_id")

        async def query(session: AsyncSession) -> RecipeOut | None:
            statement = select(Recipe).where(Recipe.id == wanted)
            recipe = (await session.execute(statement)).scalar_one_or_none()
            return RecipeOut.model_validate(recipe) if recipe is not None else None

        key = keys.recipe_details(wanted)
        recipe = await self._db.cached_read(key, query, adapter=_MAYBE_RECIPE)
        return recipe if recipe is not None and recipe.user_id == owner else None

    @idempotent_read
    async def find_recipes_by_ids(
        self, user_id: uuid.UUID, recipe_ids: Sequence[uuid.UUID]
    ) -> list[RecipeOut]:
        """The user's recipes among ``recipe_ids`` (at most 500), in the order asked, in one
        query; ids that are missing or another user's are left out, duplicates collapse."""
        owner = as_uuid(user_id, "user_id")
        wanted = as_uuid_list(recipe_ids, "recipe_ids", max_items=MAX_BULK_IDS)
        if not wanted:
            return []
        statement = select(Recipe).where(Recipe.user_id == owner, Recipe.id.in_(wanted))
        async with self._db.read_transaction() as session:
            found = {recipe.id: recipe for recipe in (await session.execute(statement)).scalars()}
            return [RecipeOut.model_validate(found[key]) for key in wanted if key in found]

    @idempotent_read
    async def get_user_recipes(
        self,
        user_id: uuid.UUID,
        *,
        limit: int = 50,
        offset: int = 0,
        filters: RecipeFilters | dict[str, Any] | None = None,
        sort: str | None = None,
    ) -> Page[RecipeOut]:
        """A page of the user's recipes with the total matching count.

        ``sort``: one of ``created_at``, ``updated_at``, ``title``, ``cooking_time_minutes``,
        ``difficulty``, ``-`` prefixed for descending; default ``-created_at`` (newest first).
        """
        owner = as_uuid(user_id, "user_id")
        paging = page_request(limit, offset)
        wanted = parse(RecipeFilters, {} if filters is None else filters)
        order = sort_clauses(sort, RECIPE_SORT_KEYS, default="-created_at", tiebreak=[Recipe.id])

        async def query(session: AsyncSession) -> Page[RecipeOut]:
            # The statement is built on a miss only: building it costs more than a cache hit.
            statement = self._filtered(select(Recipe, func.count().over()), owner, wanted)
            statement = statement.order_by(*order).limit(paging.limit).offset(paging.offset)
            rows = (await session.execute(statement)).all()
            if rows:
                total = int(rows[0][1])
            else:
                count = self._filtered(select(func.count()).select_from(Recipe), owner, wanted)
                total = int((await session.execute(count)).scalar_one())
            items = [RecipeOut.model_validate(row[0]) for row in rows]
            return Page(items=items, total=total, limit=paging.limit, offset=paging.offset)

        variant = fingerprint(
            filters=wanted.model_dump(mode="json"),
            limit=paging.limit,
            offset=paging.offset,
            sort=sort or "-created_at",
        )
        key = keys.user_recipes(owner, variant)
        return await self._db.cached_read(key, query, adapter=_RECIPE_PAGE)

    async def update_recipe(
        self, user_id: uuid.UUID, recipe_id: uuid.UUID, updates: RecipeUpdate | dict[str, Any]
    ) -> RecipeOut:
        """Apply ``updates``; when the content hash changes the recipe goes back to
        ``pending`` and its embedding is marked stale. An empty update is InvalidInputError."""
        data = parse(RecipeUpdate, updates)
        values = require_changes(data.model_dump(exclude_unset=True))
        async with self._db.transaction() as session:
            recipe = (
                await session.execute(
                    select(Recipe).where(*self._owned(user_id, recipe_id)).with_for_update()
                )
            ).scalar_one_or_none()
            if recipe is None:
                raise NotFoundError("recipe not found")
            for name, value in values.items():
                setattr(recipe, name, value)
            new_hash = content_hash(recipe.title, recipe.description, recipe.instructions)
            if new_hash != recipe.content_hash:
                recipe.content_hash = new_hash
                recipe.ai_status = AIStatus.PENDING
                recipe.ai_attempts = 0
                recipe.ai_error = None
                await session.execute(
                    update(RecipeEmbedding)
                    .where(RecipeEmbedding.recipe_id == recipe.id)
                    .values(is_stale=True)
                )
            await session.flush()
            await session.refresh(recipe)
            await mark_profile_stale(session, recipe.user_id)
            recipe_updated(session, recipe.id, recipe.user_id)
            return RecipeOut.model_validate(recipe)

    async def delete_recipe(self, user_id: uuid.UUID, recipe_id: uuid.UUID) -> None:
        """Delete the recipe with its embedding and ingredients (foreign-key cascades);
        NotFoundError when missing or not the user's."""
        statement = delete(Recipe).where(*self._owned(user_id, recipe_id)).returning(Recipe.id)
        async with self._db.transaction() as session:
            if (await session.execute(statement)).first() is None:
                raise NotFoundError("recipe not found")
            owner = as_uuid(user_id, "user_id")
            await mark_profile_stale(session, owner)
            recipe_updated(session, as_uuid(recipe_id, "recipe_id"), owner)

    @idempotent_read
    async def search_recipes(
        self, user_id: uuid.UUID, query: str, *, limit: int = 20, offset: int = 0
    ) -> Page[RecipeSearchHitOut]:
        """Full-text search over the user's recipes (title, ingredients, description),
        best matches first (``ts_rank_cd``, then id). ``query`` uses web-search syntax:
        words, "phrases", -excluded. ``total`` counts every match.

        The matches are found and ranked on their id and search vector alone (the GIN index
        on ``(user_id, search_vector)`` finds the user's matches in one scan); only the page
        asked for reads the full recipes.
        """
        owner = as_uuid(user_id, "user_id")
        terms = parse_value(SearchText, query, "query")
        paging = page_request(limit, offset)

        async def run(session: AsyncSession) -> Page[RecipeSearchHitOut]:
            # The statements are built on a miss only: that costs more than a cache hit.
            words = func.websearch_to_tsquery(literal_column("'english'"), terms)
            # Joined ON true: one row, which SQLAlchemy's linter would flag as a cartesian product.
            query_words = words.alias("q")
            tsquery = query_words.column
            matches = Recipe.search_vector.op("@@")(tsquery)
            rank = func.ts_rank_cd(Recipe.search_vector, tsquery)
            page = (
                select(
                    Recipe.id.label("id"), rank.label("rank"), func.count().over().label("total")
                )
                .select_from(Recipe)
                .join(query_words, true())
                .where(Recipe.user_id == owner, matches)
                .order_by(rank.desc(), Recipe.id)
                .limit(paging.limit)
                .offset(paging.offset)
                .subquery("page")
            )
            statement = (
                select(Recipe, page.c.rank, page.c.total)
                .join(page, page.c.id == Recipe.id)
                .order_by(page.c.rank.desc(), page.c.id)
            )
            count = (
                select(func.count())
                .select_from(Recipe)
                .join(query_words, true())
                .where(Recipe.user_id == owner, matches)
            )
            rows = (await session.execute(statement)).all()
            hits = [
                RecipeSearchHitOut(recipe=RecipeOut.model_validate(row[0]), rank=float(row[1]))
                for row in rows
            ]
            if rows:
                total = int(rows[0][2])
            elif paging.offset:  # past the last match: the window above counted nothing
                total = int((await session.execute(count)).scalar_one())
            else:
                total = 0
            return Page(items=hits, total=total, limit=paging.limit, offset=paging.offset)

        return await self._db.cached_read(
            search_key(owner, fingerprint(query=terms, limit=paging.limit, offset=paging.offset)),
            run,
            adapter=_SEARCH_PAGE,
        )

    async def get_recipes_for_ai_processing(self, *, limit: int = 100) -> list[RecipeOut]:
        """Atomically claim up to ``limit`` recipes for AI processing.

        Claimed recipes move to ``processing`` with their attempt count raised; concurrent
        workers never receive the same recipe (``FOR UPDATE SKIP LOCKED``). Recipes stuck in
        ``processing`` for longer than 30 minutes are claimable again.
        """
        limit = bounded_int(limit, "limit", low=1, high=1000)
        params = {"limit": limit, "max_attempts": MAX_AI_ATTEMPTS, "stuck_after": STUCK_AFTER}
        async with self._db.transaction() as session:
            ids = [row[0] for row in await session.execute(_CLAIM, params)]
            if not ids:
                return []
            recipes = (
                await session.execute(
                    select(Recipe).where(Recipe.id.in_(ids)).order_by(Recipe.created_at)
                )
            ).scalars()
            return [RecipeOut.model_validate(recipe) for recipe in recipes]

    async def update_ai_processing_status(
        self, recipe_id: uuid.UUID, status: AIStatus | str, error_message: str | None = None
    ) -> RecipeOut:
        """Record the outcome of AI processing (a system operation); returns the recipe,
        NotFoundError when it no longer exists. A failure's message is kept (first 2000
        characters)."""
        new_status = parse_value(AIStatus, status, "status")
        message = parse_value(ErrorText | None, error_message, "error_message")
        values: dict[str, Any] = {"ai_status": new_status.value}
        if new_status is AIStatus.COMPLETED:
            values.update(ai_error=None, ai_processed_at=func.now())
        elif new_status is AIStatus.FAILED:
            values["ai_error"] = (message or "unknown error")[:MAX_ERROR_LENGTH]
        statement = (
            update(Recipe)
            .where(Recipe.id == as_uuid(recipe_id, "recipe_id"))
            .values(**values)
            .returning(Recipe)
        )
        async with self._db.transaction() as session:
            recipe = (await session.execute(statement)).scalar_one_or_none()
            if recipe is None:
                raise NotFoundError("recipe not found")
            recipe_updated(session, recipe.id, recipe.user_id)
            return RecipeOut.model_validate(recipe)

    @staticmethod
    def _owned(user_id: uuid.UUID, recipe_id: uuid.UUID) -> tuple[Any, Any]:
        return (
            Recipe.id == as_uuid(recipe_id, "recipe_id"),
            Recipe.user_id == as_uuid(user_id, "user_id"),
        )

    @staticmethod
    def _filtered(statement: Select[Any], owner: uuid.UUID, wanted: RecipeFilters) -> Select[Any]:
        statement = statement.where(Recipe.user_id == owner)
        if wanted.cuisine_type is not None:
            statement = statement.where(Recipe.cuisine_type == wanted.cuisine_type)
        if wanted.difficulty is not None:
            statement = statement.where(Recipe.difficulty == wanted.difficulty)
        if wanted.max_cooking_time is not None:
            statement = statement.where(Recipe.cooking_time_minutes <= wanted.max_cooking_time)
        if wanted.tags:
            statement = statement.where(Recipe.tags.contains(wanted.tags))
        if wanted.ai_status is not None:
            statement = statement.where(Recipe.ai_status == wanted.ai_status.value)
        return statement


def search_key(owner: uuid.UUID, variant: str) -> CacheKey:
    """A full-text search over one user's recipes: it depends on that user's recipes only
    (a recipe write invalidates its owner's lists), not on the whole catalog."""
    return CacheKey(
        DataType.SEARCH_RESULTS,
        f"{owner}:{variant}",
        (user_scope(owner), user_recipes_scope(owner)),
    )
