"""Repositories over a fresh migrated database per test."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from datalayer.db import Database
from datalayer.repositories.embeddings import EmbeddingRepository
from datalayer.repositories.ingredients import IngredientRepository
from datalayer.repositories.recipes import RecipeRepository
from datalayer.repositories.taste_profiles import TasteProfileRepository
from datalayer.repositories.users import UserRepository
from datalayer.schemas.users import UserOut
from datalayer.settings import Settings
from tests import factories
from tests.integration.repositories.support import Env


@dataclass
class Repos:
    users: UserRepository
    recipes: RecipeRepository
    embeddings: EmbeddingRepository
    ingredients: IngredientRepository
    profiles: TasteProfileRepository


@pytest.fixture
def repos(db: Database, settings: Settings) -> Repos:
    return Repos(
        users=UserRepository(db, settings),
        recipes=RecipeRepository(db),
        embeddings=EmbeddingRepository(db, settings),
        ingredients=IngredientRepository(db),
        profiles=TasteProfileRepository(db),
    )


async def new_user(repos: Repos) -> UserOut:
    name = factories.unique("user")
    return await repos.users.create_user({"username": name, "email": f"{name}@example.com"})


@pytest.fixture
def env(database_url: str, settings: Settings) -> Iterator[Env]:
    loop = asyncio.new_event_loop()
    db = Database.connect(database_url, settings)
    try:
        yield Env(loop, db, loop.run_until_complete(factories.graph(db)))
    finally:
        loop.run_until_complete(db.dispose())
        loop.close()
