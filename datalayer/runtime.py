"""The composition root: one object that builds and owns everything an application uses.

.. code-block:: python

    async with DataLayer.from_settings() as dl:
        user = await dl.users.create_user({"username": "ada", "email": "ada@example.com"})

``DataLayer.from_settings()`` reads :mod:`datalayer.settings`, builds the engines (the
primary and the read replicas), the repositories and the cache, and ``aclose()`` (or leaving
the ``async with`` block) disposes all of it. Repositories stay constructible on their own
(``RecipeRepository(database)``) for tests and scripts.
"""

from __future__ import annotations

import functools
import uuid
from types import TracebackType

from datalayer import health as checks
from datalayer.cache import TieredCache
from datalayer.db import Database
from datalayer.db.credentials import secret_database_url
from datalayer.gdpr.consent import ConsentRepository
from datalayer.observability.cache_metrics import CacheMetrics
from datalayer.observability.setup import instrument_engines
from datalayer.repositories.catalog import CatalogRepository
from datalayer.repositories.conversations import ConversationRepository
from datalayer.repositories.embeddings import EmbeddingRepository
from datalayer.repositories.ingredients import IngredientRepository
from datalayer.repositories.meal_plans import MealPlanRepository
from datalayer.repositories.pantry import PantryRepository
from datalayer.repositories.receipts import ReceiptRepository
from datalayer.repositories.recipe_search import RecipeSearchRepository
from datalayer.repositories.recipes import RecipeRepository
from datalayer.repositories.taste_profiles import TasteProfileRepository
from datalayer.repositories.users import UserRepository
from datalayer.settings import Settings, get_settings


class DataLayer:
    """The database tier of one process: engines, repositories and cache."""

    def __init__(
        self, database: Database, settings: Settings, *, cache: TieredCache | None = None
    ) -> None:
        self.settings = settings
        self.database = database
        if cache is not None:
            database.cache = cache
        self.cache = database.cache
        """The two-level cache the repositories read through (None: no cache)."""
        self.cache_metrics = CacheMetrics(self.cache) if self.cache is not None else None
        self.instrumentation = instrument_engines(
            settings, database.write_engine, database.replica_engines
        )
        self.users = UserRepository(database, settings)
        self.recipes = RecipeRepository(database)
        self.embeddings = EmbeddingRepository(database, settings)
        self.recipe_search = RecipeSearchRepository(database, settings)
        self.ingredients = IngredientRepository(database)
        self.taste_profiles = TasteProfileRepository(database)
        self.catalog = CatalogRepository(database)
        self.conversations = ConversationRepository(database)
        self.receipts = ReceiptRepository(database)
        self.pantry = PantryRepository(database)
        self.meal_plans = MealPlanRepository(database)
        self.consent = ConsentRepository(database, settings)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> DataLayer:
        """Build everything from the environment (or ``settings``); nothing connects yet.

        Without ``DATABASE_URL`` this starts (or reuses) the embedded development server and
        migrates it to the head, so a newcomer's first script just works; a configured
        database is never migrated implicitly.
        """
        settings = settings or get_settings()
        url = primary_url(settings, migrate_embedded=True)
        return cls(
            Database.connect(url, settings), settings, cache=TieredCache.from_settings(settings)
        )

    async def start(self) -> None:
        """Start the cache's invalidation subscriber and metrics (``async with`` does it for you).

        Without it the cache still answers correctly, but with Redis configured L1 stays
        off until the subscription is up.
        """
        if self.cache is not None:
            await self.cache.start()
        if self.cache_metrics is not None:
            self.cache_metrics.start()

    async def warm_user(self, user_id: uuid.UUID) -> int:
        """Load a user's frequently read data into the cache (seed 000's warming): the
        profile, the first page of recent recipes and the taste profile. Returns how many of
        the three were found. Inactive or missing users warm nothing."""
        if await self.users.find_user_by_id(user_id) is None:
            return 0
        await self.recipes.get_user_recipes(user_id)
        found = await self.taste_profiles.find_taste_profile(user_id)
        return 2 if found is None else 3

    async def health(self) -> checks.HealthReport:
        """Reachability and latency of the primary and every replica, replica lag and whether
        it serves reads, Redis when configured, pool statistics, and whether the schema is at
        the migration head."""
        database = self.database
        components = [
            await checks.probe("primary", lambda: checks.postgres_details(database.write_engine))
        ]
        pools = {"primary": checks.pool_statistics(database.write_engine)}
        if database.replica_engines:
            await database.routing.probe()
            for engine, status in zip(
                database.replica_engines, database.routing.statuses(), strict=True
            ):
                component = await checks.probe(
                    status.name, functools.partial(checks.postgres_details, engine)
                )
                components.append(checks.with_routing(component, status))
                pools[status.name] = checks.pool_statistics(engine)
        if self.settings.redis_url is not None:
            url = self.settings.redis_url.get_secret_value()
            components.append(
                await checks.probe("redis", functools.partial(checks.redis_details, url))
            )
        migrations = await checks.migration_state(database.write_engine)
        return checks.HealthReport(components=components, pools=pools, migrations=migrations)

    async def aclose(self) -> None:
        """Close the cache and dispose of every engine and connection this instance opened."""
        await self.embeddings.recall.aclose()
        if self.cache_metrics is not None:
            self.cache_metrics.detach()
        if self.cache is not None:
            await self.cache.aclose()
        for engine in {self.database.write_engine, *self.database.replica_engines}:
            self.instrumentation.queries.detach(engine)
        await self.database.dispose()

    async def __aenter__(self) -> DataLayer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


def primary_url(settings: Settings, *, migrate_embedded: bool = False) -> str:
    """The primary's URL: ``DATABASE_URL``, else built from ``DATABASE_SECRET_ARN``, else the
    embedded development server (started, and migrated when ``migrate_embedded``)."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    if settings.database_secret_arn is not None:
        return secret_database_url(settings)
    return _embedded_database(settings, migrate=migrate_embedded)


def _embedded_database(settings: Settings, *, migrate: bool) -> str:
    try:
        from datalayer.local.postgres import resolve_database_url
    except ImportError:
        from datalayer.errors import ConfigurationError

        raise ConfigurationError(
            "DATABASE_URL is unset and the embedded PostgreSQL is not installed "
            "(pip install 'recipe-datalayer[local]')"
        ) from None
    from datalayer.migrations import runner

    url = resolve_database_url(settings)
    if migrate:
        runner.upgrade(url, settings=settings)
    return url
