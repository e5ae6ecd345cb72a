"""The demo job: load a sample corpus, run the AI pipeline with the local embedder, show
full-text and similarity results a person can judge, then export one user and erase another."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from datalayer.cache import TieredCache
from datalayer.db import Database
from datalayer.local.demo_gdpr import run_gdpr_demo
from datalayer.local.embedder import Embedder, HashingEmbedder
from datalayer.local.sample_corpus import generate
from datalayer.observability.queries import QueryMonitor
from datalayer.repositories.embeddings import EmbeddingRepository
from datalayer.repositories.ingredients import IngredientRepository
from datalayer.repositories.recipe_search import RecipeSearchRepository
from datalayer.repositories.recipes import RecipeRepository
from datalayer.repositories.taste_profiles import TasteProfileRepository
from datalayer.repositories.users import UserRepository
from datalayer.schemas.recipes import AIStatus, RecipeOut
from datalayer.settings import Settings

DEMO_USERS = ("demo_chef", "demo_student", "demo_parent")
RECIPES_PER_USER = 100
SEARCHES = ("tomato basil", "curry", "mushroom -risotto", '"black beans"')
HYBRID_QUERY = "spicy chicken without peanuts"
"""Words (spicy, chicken), meaning and an exclusion: what neither search gets right alone."""
BROWSED_RECIPES = 20
"""Recipes of each user the demo opens twice (with their ingredients) to exercise the cache."""


@dataclass(frozen=True)
class DemoRepos:
    users: UserRepository
    recipes: RecipeRepository
    embeddings: EmbeddingRepository
    ingredients: IngredientRepository
    profiles: TasteProfileRepository
    search: RecipeSearchRepository

    @classmethod
    def build(cls, db: Database, settings: Settings) -> DemoRepos:
        return cls(
            UserRepository(db, settings),
            RecipeRepository(db),
            EmbeddingRepository(db, settings),
            IngredientRepository(db),
            TasteProfileRepository(db),
            RecipeSearchRepository(db, settings),
        )


async def run_demo(url: str, settings: Settings, console: Console) -> None:
    """Load (once), process, search, browse and profile with the cache and the query monitor
    on; prints everything to ``console``, ending with the cache's hit rates per level and
    the slowest statement fingerprints."""
    cache = TieredCache.from_settings(settings)
    db = Database.connect(url, settings, cache=cache)
    monitor = QueryMonitor.install(db.write_engine, slow_query_ms=settings.database_slow_query_ms)
    for engine in db.replica_engines:
        monitor.attach(engine)
    repos = DemoRepos.build(db, settings)
    await cache.start()
    try:
        owners = await _load_corpus(repos, console)
        embedder = HashingEmbedder(settings.embedding_dim)
        await _run_ai_pipeline(repos, embedder, owners, console)
        await _show_full_text(repos, owners[0], console)
        await _show_similar(repos, embedder, owners[0], console)
        await _show_hybrid(repos, embedder, owners[0], console)
        profile = await repos.profiles.calculate_taste_profile(owners[0])
        top = ", ".join(item.name for item in profile.favorite_ingredients[:6])
        console.print(
            f"[bold]taste profile[/] of {DEMO_USERS[0]}: {profile.recipe_count} recipes; "
            f"cuisines {profile.cuisine_preferences}; top ingredients: {top}"
        )
        await run_gdpr_demo(db, settings, owners[1], console)
        await _browse(repos, owners)
        _show_cache(cache, console)
        _show_slowest(monitor, console)
    finally:
        for engine in {db.write_engine, *db.replica_engines}:
            monitor.detach(engine)
        await cache.aclose()
        await db.dispose()


async def _browse(repos: DemoRepos, owners: list[uuid.UUID]) -> None:
    """What an app does on each page view: the user, a list, recipes and their ingredients."""
    for _ in range(2):
        for owner in owners:
            await repos.users.get_user_by_id(owner)
            await repos.profiles.find_taste_profile(owner)
            page = await repos.recipes.get_user_recipes(owner, limit=BROWSED_RECIPES)
            for recipe in page.items:
                await repos.recipes.get_recipe_by_id(owner, recipe.id)
                await repos.ingredients.get_recipe_ingredients(owner, recipe.id)


def _show_cache(cache: TieredCache, console: Console) -> None:
    totals = cache.stats.totals()
    l1_misses = totals.l2_hits + totals.misses
    level = "L1 + L2 (Redis)" if cache.has_l2 else "L1 only (REDIS_URL unset)"
    console.print(
        f"[bold]cache[/] {level}: {totals.reads} reads, {totals.l1_hits} L1 hits, "
        f"{totals.l2_hits} L2 hits, {totals.misses} misses; hit rate "
        f"{_percent(totals.l1_hits + totals.l2_hits, totals.reads)} overall, "
        f"{_percent(totals.l1_hits, totals.reads)} L1, "
        f"{_percent(totals.l2_hits, l1_misses)} L2 of L1 misses"
    )


def _show_slowest(monitor: QueryMonitor, console: Console) -> None:
    table = Table(title="slowest statements (query monitor, by p95)")
    for column in ("fingerprint", "count", "p95 ms", "total ms", "statement"):
        table.add_column(column)
    for stats in monitor.report(limit=5):
        table.add_row(
            stats.fingerprint_id,
            str(stats.count),
            f"{stats.p95_ms:.2f}",
            f"{stats.total_ms:.1f}",
            " ".join(stats.sql.split())[:90],
        )
    console.print(table)


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


async def _load_corpus(repos: DemoRepos, console: Console) -> list[uuid.UUID]:
    owners: list[uuid.UUID] = []
    corpus = generate(RECIPES_PER_USER * len(DEMO_USERS))
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("loading sample recipes", total=len(corpus))
        for index, username in enumerate(DEMO_USERS):
            existing = await repos.users.find_user_by_auth0_id(f"demo|{username}")
            if existing is not None:
                owners.append(existing.id)
                progress.advance(task, RECIPES_PER_USER)
                continue
            user = await repos.users.create_user(
                {
                    "username": username,
                    "email": f"{username}@example.com",
                    "auth0_user_id": f"demo|{username}",
                    "consent_version": "2026-01",
                }
            )
            await repos.profiles.create_taste_profile(user.id)
            owners.append(user.id)
            for sample in corpus[index * RECIPES_PER_USER : (index + 1) * RECIPES_PER_USER]:
                recipe = await repos.recipes.create_recipe(
                    user.id,
                    {
                        key: getattr(sample, key)
                        for key in (
                            "title",
                            "description",
                            "instructions",
                            "cuisine_type",
                            "difficulty",
                            "servings",
                            "cooking_time_minutes",
                            "tags",
                        )
                    },
                )
                await repos.ingredients.store_parsed_ingredients(
                    user.id, recipe.id, [{"name": name} for name in sample.ingredients]
                )
                progress.advance(task)
    console.print(f"[bold]corpus[/] {len(corpus)} recipes for {len(owners)} users")
    return owners


async def _run_ai_pipeline(
    repos: DemoRepos, embedder: Embedder, owners: list[uuid.UUID], console: Console
) -> None:
    """What an AI worker does: claim a batch, embed it, store the vectors, mark completed."""
    processed = 0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("embedding recipes", total=None)
        while batch := await repos.recipes.get_recipes_for_ai_processing(limit=50):
            texts = [await _embedding_text(repos, recipe) for recipe in batch]
            for recipe, text, vector in zip(batch, texts, embedder.embed(texts), strict=True):
                await repos.embeddings.store_embedding(
                    recipe.id, vector, embedder.model, embedder.version, _sha256(text)
                )
                await repos.recipes.update_ai_processing_status(recipe.id, AIStatus.COMPLETED)
            processed += len(batch)
            progress.advance(task, len(batch))
    console.print(f"[bold]AI pipeline[/] embedded {processed} recipes with {embedder.model}")


async def _embedding_text(repos: DemoRepos, recipe: RecipeOut) -> str:
    lines = await repos.ingredients.get_recipe_ingredients(recipe.user_id, recipe.id)
    return " ".join([recipe.title, *(line.normalized_name for line in lines)])


async def _show_full_text(repos: DemoRepos, owner: uuid.UUID, console: Console) -> None:
    table = Table(title=f"full-text search over {DEMO_USERS[0]}'s recipes")
    for column in ("query", "matches", "top results (rank)"):
        table.add_column(column)
    for query in SEARCHES:
        page = await repos.recipes.search_recipes(owner, query, limit=3)
        top = "; ".join(f"{hit.recipe.title} ({hit.rank:.2f})" for hit in page.items)
        table.add_row(query, str(page.total), top or "-")
    console.print(table)


async def _show_similar(
    repos: DemoRepos, embedder: Embedder, owner: uuid.UUID, console: Console
) -> None:
    table = Table(title="similar recipes (cosine distance, HNSW)")
    for column in ("for", "nearest neighbours (distance)"):
        table.add_column(column)
    recipes = (await repos.recipes.get_user_recipes(owner, limit=3)).items
    for recipe in recipes:
        vector = embedder.embed([await _embedding_text(repos, recipe)])[0]
        matches = await repos.embeddings.similarity_search(
            vector, limit=3, user_id=owner, exclude_recipe_ids=[recipe.id], hydrate=True
        )
        names = [f"{match.recipe.title} ({match.distance:.2f})" for match in matches]
        table.add_row(recipe.title, "; ".join(names) or "-")
    query = "lime chili chicken"
    matches = await repos.embeddings.similarity_search(
        embedder.embed([query])[0], limit=3, hydrate=True
    )
    titles = [f"{match.recipe.title} ({match.distance:.2f})" for match in matches]
    table.add_row(f"text: {query!r} (all users)", "; ".join(titles) or "-")
    console.print(table)


async def _show_hybrid(
    repos: DemoRepos, embedder: Embedder, owner: uuid.UUID, console: Console
) -> None:
    """One query three ways; a result is what the person asked for when its title says
    spicy and chicken and it has no peanuts."""
    vector = embedder.embed([HYBRID_QUERY])[0]
    words = await repos.recipes.search_recipes(owner, HYBRID_QUERY, limit=3)
    meaning = await repos.embeddings.similarity_search(vector, limit=3, user_id=owner, hydrate=True)
    fused = await repos.search.hybrid_search(owner, HYBRID_QUERY, vector, limit=3)
    results = {
        "full-text": [(hit.recipe.id, hit.recipe.title) for hit in words.items],
        "vector": [(match.recipe_id, match.recipe.title) for match in meaning],
        "hybrid (RRF)": [(hit.recipe.id, hit.recipe.title) for hit in fused],
    }
    table = Table(title=f"{HYBRID_QUERY!r} over {DEMO_USERS[0]}'s recipes (* = what was asked)")
    for column in ("search", "top results"):
        table.add_column(column)
    wanted: dict[str, bool] = {}
    for name, found in results.items():
        marks = [await _is_wanted(repos, owner, recipe_id, title) for recipe_id, title in found]
        wanted[name] = bool(marks) and marks[0]
        cells = [
            f"{title}{' *' if mark else ''}" for (_, title), mark in zip(found, marks, strict=True)
        ]
        table.add_row(name, "; ".join(cells) or "-")
    console.print(table)
    alone = [name for name in ("full-text", "vector") if wanted[name]]
    verdict = "only hybrid" if wanted["hybrid (RRF)"] and not alone else "not only hybrid"
    console.print(f"[bold]hybrid search[/] first result is what was asked: {verdict}")


async def _is_wanted(repos: DemoRepos, owner: uuid.UUID, recipe_id: uuid.UUID, title: str) -> bool:
    names = {
        line.normalized_name
        for line in await repos.ingredients.get_recipe_ingredients(owner, recipe_id)
    }
    lowered = title.lower()
    return "spicy" in lowered and "chicken" in lowered and "peanuts" not in names


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
