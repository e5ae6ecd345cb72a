"""The composition root: DataLayer.from_settings() builds, serves and disposes everything."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any

from datalayer import DataLayer, repositories
from datalayer.local.postgres import free_port
from datalayer.settings import load_settings


def repository_classes() -> set[str]:
    names = set()
    for module in pkgutil.iter_modules(repositories.__path__):
        loaded = importlib.import_module(f"{repositories.__name__}.{module.name}")
        for name, value in vars(loaded).items():
            if (
                inspect.isclass(value)
                and value.__module__ == loaded.__name__
                and name.endswith("Repository")
                and name not in ("CrudRepository", "OwnedRepository")
            ):
                names.add(name)
    return names


async def test_every_aggregate_has_its_repository(database_url: str) -> None:
    async with DataLayer.from_settings(load_settings(database_url=database_url)) as dl:
        exposed = {type(value).__name__ for value in vars(dl).values()}
    assert repository_classes() <= exposed
    assert len(repository_classes()) >= 10


async def test_repositories_share_the_engines_and_work(database_url: str) -> None:
    settings = load_settings(database_url=database_url, database_pool_size=2)
    async with DataLayer.from_settings(settings) as dl:
        user = await dl.users.create_user({"username": "ada", "email": "ada@example.com"})
        recipe = await dl.recipes.create_recipe(user.id, {"title": "Tomato soup"})
        page = await dl.recipes.search_recipes(user.id, "tomato")
        assert [hit.recipe.id for hit in page.items] == [recipe.id]
        assert dl.database.write_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        report = await dl.health()
    assert report.healthy, report.as_dict()
    assert report.migrations["at_head"] is True
    assert report.components[0].details["role"] == "primary"


async def test_aclose_disposes_the_pool(database_url: str) -> None:
    dl = DataLayer.from_settings(load_settings(database_url=database_url))
    await dl.users.create_user({"username": "bob", "email": "bob@example.com"})
    pool = dl.database.write_engine.pool
    assert pool.checkedin() == 1  # type: ignore[attr-defined]
    await dl.aclose()
    assert dl.database.write_engine.pool is not pool  # disposed: a new, empty pool replaces it
    assert dl.database.write_engine.pool.checkedin() == 0  # type: ignore[attr-defined]


async def test_health_of_an_unreachable_primary_is_unhealthy_without_secrets() -> None:
    url = f"postgresql://someone:hunter2secret@127.0.0.1:{free_port()}/nowhere"
    async with DataLayer.from_settings(load_settings(database_url=url)) as dl:
        report = await dl.health()
    assert not report.healthy
    primary = report.components[0]
    assert primary.status == "unhealthy" and primary.error
    assert "hunter2secret" not in str(report.as_dict())


async def test_health_probes_redis_when_configured(database_url: str, redis_server: Any) -> None:
    settings = load_settings(database_url=database_url, redis_url=redis_server.url)
    async with DataLayer.from_settings(settings) as dl:
        report = await dl.health()
    redis = next(c for c in report.components if c.name == "redis")
    assert redis.healthy and redis.details["version"]

    gone = load_settings(database_url=database_url, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    async with DataLayer.from_settings(gone) as dl:
        report = await dl.health()
    redis = next(c for c in report.components if c.name == "redis")
    assert (
        not report.healthy
        and redis.status == "unhealthy"
        and "redis unavailable" in str(redis.error)
    )
