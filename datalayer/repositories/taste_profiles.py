"""User taste profiles, calculated in SQL from the user's recipe history.

Recipe and ingredient changes mark the owner's profile stale (:func:`mark_profile_stale`);
a refresh job picks them up with :meth:`TasteProfileRepository.get_profiles_for_refresh`.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from datalayer.db import Database
from datalayer.errors import InvalidInputError, NotFoundError
from datalayer.models import User, UserTasteProfile
from datalayer.schemas.common import as_uuid, parse
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
        (SELECT coalesce(jsonb_object_agg(name, recipes), '{}') FROM ingredients) AS ingredients,
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


class TasteProfileRepository:
    """One taste profile per user."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_taste_profile(self, user_id: uuid.UUID) -> TasteProfileOut:
        """An empty profile for a new user (stale until first calculated)."""
        profile = UserTasteProfile(user_id=as_uuid(user_id, "user_id"))
        async with self._db.transaction() as session:
            await self._require_user(session, profile.user_id)
            session.add(profile)
            await session.flush()
            await session.refresh(profile)
            return TasteProfileOut.model_validate(profile)

    async def get_taste_profile(self, user_id: uuid.UUID) -> TasteProfileOut | None:
        statement = select(UserTasteProfile).where(
            UserTasteProfile.user_id == as_uuid(user_id, "user_id")
        )
        async with self._db.read_transaction() as session:
            profile = (await session.execute(statement)).scalar_one_or_none()
            return TasteProfileOut.model_validate(profile) if profile else None

    async def update_taste_profile(
        self, user_id: uuid.UUID, profile_data: TasteProfileUpdate | dict[str, Any]
    ) -> TasteProfileOut:
        """Set explicit preferences (favourites, cuisines, dietary restrictions)."""
        values = parse(TasteProfileUpdate, profile_data).model_dump(exclude_none=True)
        if not values:
            raise InvalidInputError("nothing to update")
        return await self._update(user_id, values)

    async def calculate_taste_profile(self, user_id: uuid.UUID) -> TasteProfileOut:
        """Recalculate from the user's recipes: top ingredients, cuisine shares, difficulty
        and cooking-time distributions. Creates the profile when missing."""
        owner = as_uuid(user_id, "user_id")
        async with self._db.transaction() as session:
            await self._require_user(session, owner)
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
            return TasteProfileOut.model_validate(profile)

    async def get_profiles_for_refresh(self, limit: int = 100) -> list[uuid.UUID]:
        """Users whose profile went stale, longest-waiting first."""
        if not 1 <= limit <= 10_000:
            raise InvalidInputError("limit must be between 1 and 10000", field="limit")
        statement = (
            select(UserTasteProfile.user_id)
            .where(UserTasteProfile.is_stale)
            .order_by(UserTasteProfile.stale_since, UserTasteProfile.user_id)
            .limit(limit)
        )
        async with self._db.read_transaction() as session:
            return list((await session.execute(statement)).scalars())

    async def delete_taste_profile(self, user_id: uuid.UUID) -> bool:
        statement = delete(UserTasteProfile).where(
            UserTasteProfile.user_id == as_uuid(user_id, "user_id")
        )
        async with self._db.transaction() as session:
            return bool((await session.execute(statement)).rowcount)  # type: ignore[attr-defined]

    async def _update(self, user_id: uuid.UUID, values: dict[str, Any]) -> TasteProfileOut:
        statement = (
            update(UserTasteProfile)
            .where(UserTasteProfile.user_id == as_uuid(user_id, "user_id"))
            .values(**values)
            .returning(UserTasteProfile)
        )
        async with self._db.transaction() as session:
            profile = (await session.execute(statement)).scalar_one_or_none()
            if profile is None:
                raise NotFoundError("taste profile not found")
            return TasteProfileOut.model_validate(profile)

    @staticmethod
    async def _require_user(session: AsyncSession, user_id: uuid.UUID) -> None:
        if await session.scalar(select(User.id).where(User.id == user_id)) is None:
            raise NotFoundError("user not found")
