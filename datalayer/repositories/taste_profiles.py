"""User taste profiles, calculated in SQL from the user's recipe history.

Recipe and ingredient changes mark the owner's profile stale (:func:`mark_profile_stale`);
a refresh job picks them up with :meth:`TasteProfileRepository.get_profiles_for_refresh`.
``favorite_ingredients`` is a ranked list (``[{"name", "recipes"}]``, most used first): a
JSONB object would not keep the ranking, because JSONB reorders object keys.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from datalayer.cache import keys
from datalayer.db import Database, idempotent_read
from datalayer.errors import NotFoundError
from datalayer.models import User, UserTasteProfile
from datalayer.repositories.active_users import is_active_user, require_active_user
from datalayer.repositories.caching import taste_profile_updated
from datalayer.schemas.common import as_uuid, bounded_int, parse, require_changes
from datalayer.schemas.profiles import TasteProfileOut, TasteProfileUpdate

TOP_INGREDIENTS = 20

_CALCULATE = text(
    """
    WITH owned AS (
        SELECT id, cuisine_type, difficulty, cooking_time_minutes
          FROM recipes WHERE user_id = :user_id
    ), ingredients AS (
        SELECT p.normalized_name AS name, count(DISTINCT p.recipe_id) AS recipes
          FROM parsed_ingredients AS p JOIN owned AS o ON o.id = p.recipe_id
         GROUP BY p.normalized_name
         ORDER BY recipes DESC, name
         LIMIT :top
    )
    SELECT
        (SELECT count(*) FROM owned) AS recipe_count,
        (SELECT coalesce(jsonb_agg(jsonb_build_object('name', name, 'recipes', recipes)
                                   ORDER BY recipes DESC, name), '[]')
           FROM ingredients) AS ingredients,
        (SELECT coalesce(jsonb_object_agg(cuisine_type, share), '{}') FROM (
             SELECT cuisine_type, round(count(*)::numeric / sum(count(*)) OVER (), 4) AS share
               FROM owned WHERE cuisine_type IS NOT NULL GROUP BY cuisine_type) AS c) AS cuisines,
        (SELECT coalesce(jsonb_object_agg(difficulty::text, n), '{}') FROM (
             SELECT difficulty, count(*) AS n FROM owned
              WHERE difficulty IS NOT NULL GROUP BY difficulty) AS d) AS difficulty,
        (SELECT coalesce(jsonb_object_agg(bucket, n), '{}') FROM (
             SELECT CASE WHEN cooking_time_minutes <= 15 THEN 'up_to_15'
                         WHEN cooking_time_minutes <= 30 THEN '16_to_30'
                         WHEN cooking_time_minutes <= 60 THEN '31_to_60'
                         ELSE 'over_60' END AS bucket, count(*) AS n
               FROM owned WHERE cooking_time_minutes IS NOT NULL GROUP BY 1) AS t) AS times
    """
)


async def mark_profile_stale(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Flag the user's profile for recalculation (no-op when they have none)."""
    await session.execute(
        update(UserTasteProfile)
        .where(UserTasteProfile.user_id == user_id, UserTasteProfile.is_stale.is_(False))
        .values(is_stale=True, stale_since=text("now()"))
    )
    taste_profile_updated(session, user_id)


_MAYBE_PROFILE = TypeAdapter(TasteProfileOut | None)


class TasteProfileRepository:
    """One taste profile per user."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_taste_profile(self, user_id: uuid.UUID) -> TasteProfileOut:
        """An empty profile for a new user (stale until first calculated).

        NotFoundError("user not found") when the user is missing or inactive; ConflictError
        when the user already has one.
        """
        profile = UserTasteProfile(user_id=as_uuid(user_id, "user_id"), favorite_ingredients=[])
        async with self._db.transaction() as session:
            await require_active_user(session, profile.user_id)
            session.add(profile)
            await session.flush()
            await session.refresh(profile)
            taste_profile_updated(session, profile.user_id)
            return TasteProfileOut.model_validate(profile)

    async def get_taste_profile(self, user_id: uuid.UUID) -> TasteProfileOut:
        """The user's profile, or NotFoundError."""
        profile = await self.find_taste_profile(user_id)
        if profile is None:
            raise NotFoundError("taste profile not found")
        return profile

    @idempotent_read
    async def find_taste_profile(self, user_id: uuid.UUID) -> TasteProfileOut | None:
        """The user's profile, or None."""
        owner = as_uuid(user_id, "user_id")

        async def query(session: AsyncSession) -> TasteProfileOut | None:
            statement = select(UserTasteProfile).where(UserTasteProfile.user_id == owner)
            profile = (await session.execute(statement)).scalar_one_or_none()
            return TasteProfileOut.model_validate(profile) if profile else None

        return await self._db.cached_read(keys.taste_profile(owner), query, adapter=_MAYBE_PROFILE)

    async def update_taste_profile(
        self, user_id: uuid.UUID, profile_data: TasteProfileUpdate | dict[str, Any]
    ) -> TasteProfileOut:
        """Set explicit preferences (favourites, cuisines, dietary restrictions).

        An empty update is InvalidInputError; NotFoundError when the user has no profile.
        """
        data = parse(TasteProfileUpdate, profile_data)
        return await self._update(user_id, require_changes(data.model_dump(exclude_none=True)))

    async def calculate_taste_profile(self, user_id: uuid.UUID) -> TasteProfileOut:
        """Recalculate from the user's recipes: top ingredients, cuisine shares, difficulty
        and cooking-time distributions. Creates the profile when missing (so the user must
        be active: NotFoundError("user not found") otherwise)."""
        owner = as_uuid(user_id, "user_id")
        async with self._db.transaction() as session:
            await require_active_user(session, owner)
            row = (
                await session.execute(_CALCULATE, {"user_id": owner, "top": TOP_INGREDIENTS})
            ).one()
            values = {
                "recipe_count": row.recipe_count,
                "favorite_ingredients": row.ingredients,
                "cuisine_preferences": {k: float(v) for k, v in row.cuisines.items()},
                "difficulty_distribution": row.difficulty,
                "cooking_time_distribution": row.times,
                "is_stale": False,
                "stale_since": None,
                "calculated_at": text("now()"),
            }
            statement = (
                insert(UserTasteProfile)
                .values(user_id=owner, **values)
                .on_conflict_do_update(index_elements=["user_id"], set_=values)
                .returning(UserTasteProfile)
            )
            profile = (await session.execute(statement)).scalar_one()
            taste_profile_updated(session, owner)
            return TasteProfileOut.model_validate(profile)

    @idempotent_read
    async def get_profiles_for_refresh(self, *, limit: int = 100) -> list[uuid.UUID]:
        """Active users whose profile went stale, longest-waiting first."""
        limit = bounded_int(limit, "limit", low=1, high=10_000)
        statement = (
            select(UserTasteProfile.user_id)
            .join(User, User.id == UserTasteProfile.user_id)
            .where(UserTasteProfile.is_stale, is_active_user())
            .order_by(UserTasteProfile.stale_since, UserTasteProfile.user_id)
            .limit(limit)
        )
        async with self._db.read_transaction() as session:
            return list((await session.execute(statement)).scalars())

    async def delete_taste_profile(self, user_id: uuid.UUID) -> None:
        """Delete the user's profile; NotFoundError when there is none."""
        owner = as_uuid(user_id, "user_id")
        statement = delete(UserTasteProfile).where(UserTasteProfile.user_id == owner)
        async with self._db.transaction() as session:
            taste_profile_updated(session, owner)
            deleted = (await session.execute(statement)).rowcount  # type: ignore[attr-defined]
        if not deleted:
            raise NotFoundError("taste profile not found")

    async def _update(self, user_id: uuid.UUID, values: dict[str, Any]) -> TasteProfileOut:
        owner = as_uuid(user_id, "user_id")
        statement = (
            update(UserTasteProfile)
            .where(UserTasteProfile.user_id == owner)
            .values(**values)
            .returning(UserTasteProfile)
        )
        async with self._db.transaction() as session:
            profile = (await session.execute(statement)).scalar_one_or_none()
            if profile is None:
                raise NotFoundError("taste profile not found")
            taste_profile_updated(session, owner)
            return TasteProfileOut.model_validate(profile)
