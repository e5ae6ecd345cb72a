"""DataLayers whose repositories read through a real two-level cache (real Redis)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from datalayer.cache import TieredCache
from datalayer.db import Database
from datalayer.runtime import DataLayer
from datalayer.settings import Settings
from tests import factories
from tests.services import RedisHarness


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}:"


@pytest.fixture
async def make_layer(
    database_url: str, settings: Settings, redis_server: RedisHarness, prefix: str
) -> AsyncIterator[Callable[..., Awaitable[DataLayer]]]:
    """Builds started DataLayers on the test database sharing one Redis key prefix."""
    layers: list[DataLayer] = []

    async def build(*, redis_url: str | None = redis_server.url, **overrides: Any) -> DataLayer:
        cache = TieredCache.from_settings(
            settings, redis_url=redis_url, key_prefix=prefix, **overrides
        )
        layer = DataLayer(Database.connect(database_url, settings), settings, cache=cache)
        await layer.start()
        layers.append(layer)
        return layer

    yield build
    for layer in layers:
        await layer.aclose()


async def new_user(dl: DataLayer) -> Any:
    name = factories.unique("cw")
    return await dl.users.create_user({"username": name, "email": f"{name}@example.com"})


def recipe_payload(title: str) -> dict[str, Any]:
    return {
        "title": title,
        "description": "a dish with tomato",
        "instructions": "mix, then cook",
        "cuisine_type": "italian",
        "tags": ["quick"],
    }
