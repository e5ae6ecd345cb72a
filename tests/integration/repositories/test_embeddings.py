"""EmbeddingRepository: storage, exact-vs-index search, filters, batch search, COPY."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from sqlalchemy import text

from datalayer.db import Database
from datalayer.errors import InvalidInputError, NotFoundError
from datalayer.schemas.embeddings import EmbeddingIn
from tests import factories
from tests.integration.repositories.conftest import Repos, new_user

DIM = 1536
HASH = factories.sha256("source")


def unit(rng: np.random.Generator) -> np.ndarray:
    vector = rng.normal(size=DIM)
    return vector / np.linalg.norm(vector)


async def corpus(
    repos: Repos, owners: list[uuid.UUID], per_owner: int, seed: int = 7
) -> tuple[list[uuid.UUID], list[uuid.UUID], np.ndarray]:
    """Recipes with random unit embeddings, loaded by COPY; returns ids, owners, vectors."""
    rng = np.random.default_rng(seed)
    ids, owner_of, vectors, rows = [], [], [], []
    for owner in owners:
        for index in range(per_owner):
            recipe = await repos.recipes.create_recipe(owner, {"title": f"Dish {index}"})
            vector = unit(rng)
            ids.append(recipe.id)
            owner_of.append(owner)
            vectors.append(vector)
            rows.append(
                EmbeddingIn(
                    recipe_id=recipe.id,
                    user_id=owner,
                    embedding=vector,
                    model="m",
                    model_version="1",
                    source_text_hash=HASH,
                )
            )
    assert (await repos.embeddings.bulk_load(rows)).rows == len(rows)
    return ids, owner_of, np.array(vectors)


def exact_top(
    vectors: np.ndarray, ids: list[uuid.UUID], query: np.ndarray, k: int
) -> list[uuid.UUID]:
    distances = 1 - vectors @ (query / np.linalg.norm(query))
    return [ids[i] for i in np.argsort(distances)[:k]]


async def test_store_get_update_delete(repos: Repos) -> None:
    owner = await new_user(repos)
    recipe = await repos.recipes.create_recipe(owner.id, {"title": "Soup"})
    rng = np.random.default_rng(1)
    first = unit(rng)
    embedding_id = await repos.embeddings.store_embedding(recipe.id, first, "m", "1", HASH)
    stored = await repos.embeddings.get_embedding(recipe.id)
    assert stored is not None and stored.id == embedding_id and stored.user_id == owner.id
    assert np.allclose(stored.embedding, first, atol=1e-6)

    second = unit(rng)
    returned = await repos.embeddings.update_embedding(recipe.id, second, factories.sha256("v2"))
    updated = await repos.embeddings.get_embedding(recipe.id)
    assert returned == updated and np.allclose(updated.embedding, second, atol=1e-6)
    assert updated.source_text_hash == factories.sha256("v2")

    again = await repos.embeddings.store_embedding(recipe.id, first, "m2", "9", HASH)
    assert again == embedding_id  # store replaces the existing row

    assert await repos.embeddings.delete_embedding(recipe.id) is None
    with pytest.raises(NotFoundError, match="embedding not found"):
        await repos.embeddings.delete_embedding(recipe.id)
    assert await repos.embeddings.find_embedding(recipe.id) is None
    with pytest.raises(NotFoundError, match="embedding not found"):
        await repos.embeddings.get_embedding(recipe.id)
    with pytest.raises(NotFoundError):
        await repos.embeddings.update_embedding(recipe.id, second, HASH)
    with pytest.raises(NotFoundError):
        await repos.embeddings.store_embedding(uuid.uuid4(), first, "m", "1", HASH)


async def test_similarity_search_matches_exact_neighbours(repos: Repos) -> None:
    owner = await new_user(repos)
    ids, _, vectors = await corpus(repos, [owner.id], per_owner=120)
    rng = np.random.default_rng(99)
    for _ in range(5):
        query = unit(rng)
        found = await repos.embeddings.similarity_search(
            query, limit=10, distance_threshold=2.0, ef_search=200
        )
        assert [m.recipe_id for m in found] == exact_top(vectors, ids, query, 10)
        assert [m.distance for m in found] == sorted(m.distance for m in found)


async def test_filters_return_min_of_limit_and_matching_rows(repos: Repos) -> None:
    big, small = await new_user(repos), await new_user(repos)
    ids, owners, vectors = await corpus(repos, [big.id] * 1 + [small.id], per_owner=60)
    small_ids = [i for i, o in zip(ids, owners, strict=True) if o == small.id]
    query = unit(np.random.default_rng(5))

    scoped = await repos.embeddings.similarity_search(
        query, limit=20, user_id=small.id, distance_threshold=2.0
    )
    assert len(scoped) == 20 and {m.recipe_id for m in scoped} <= set(small_ids)
    mask = np.array([o == small.id for o in owners])
    expected = exact_top(vectors[mask], small_ids, query, 20)
    assert [m.recipe_id for m in scoped] == expected

    excluded = expected[:5]
    rest = await repos.embeddings.similarity_search(
        query, limit=20, user_id=small.id, exclude_recipe_ids=excluded, distance_threshold=2.0
    )
    assert len(rest) == 20 and not set(excluded) & {m.recipe_id for m in rest}

    everything = await repos.embeddings.similarity_search(
        query, limit=200, user_id=small.id, distance_threshold=2.0
    )
    assert len(everything) == 60  # min(limit, matching rows)


async def test_distance_threshold_is_a_business_rule(repos: Repos) -> None:
    owner = await new_user(repos)
    ids, _, vectors = await corpus(repos, [owner.id], per_owner=30)
    near = await repos.embeddings.similarity_search(vectors[3], limit=20)
    assert near[0].recipe_id == ids[3] and near[0].distance == pytest.approx(0, abs=1e-5)
    assert all(m.distance <= 0.8 for m in near)
    assert len(near) < 20  # random 1536-d vectors are ~orthogonal: distance ~1


async def test_batch_search_equals_individual_searches(repos: Repos) -> None:
    owner = await new_user(repos)
    await corpus(repos, [owner.id], per_owner=50)
    rng = np.random.default_rng(3)
    queries = [unit(rng) for _ in range(4)]
    batch = await repos.embeddings.batch_similarity_search(
        queries, limit=5, distance_threshold=2.0, ef_search=200
    )
    single = [
        await repos.embeddings.similarity_search(q, limit=5, distance_threshold=2.0, ef_search=200)
        for q in queries
    ]
    assert [[m.recipe_id for m in r] for r in batch] == [[m.recipe_id for m in r] for r in single]


async def test_ids_needing_reembedding(repos: Repos) -> None:
    owner = await new_user(repos)
    current, old, stale, missing = [
        await repos.recipes.create_recipe(owner.id, {"title": t}) for t in "ABCD"
    ]
    vector = factories.embedding_vector()
    await repos.embeddings.store_embedding(current.id, vector, "model", "2", HASH)
    await repos.embeddings.store_embedding(old.id, vector, "model", "1", HASH)
    await repos.embeddings.store_embedding(stale.id, vector, "model", "2", HASH)
    await repos.recipes.update_recipe(owner.id, stale.id, {"title": "C changed"})
    due = await repos.embeddings.get_embeddings_for_reprocessing("model", "2")
    assert set(due) == {old.id, stale.id, missing.id}


@pytest.mark.parametrize(
    ("vector", "message"),
    [
        ([0.1] * 10, "dimensions"),
        ([float("nan")] + [0.1] * (DIM - 1), "NaN"),
        ([float("inf")] + [0.1] * (DIM - 1), "NaN or infinity"),
        ([0.0] * DIM, "zero vector"),
        ([[0.1] * DIM], "one-dimensional"),
        ("not a vector", "sequence of numbers"),
        ([1e39] * DIM, "float32"),
    ],
)
async def test_bad_vectors_are_typed_errors_and_write_nothing(
    repos: Repos, db: Database, vector: object, message: str
) -> None:
    owner = await new_user(repos)
    recipe = await repos.recipes.create_recipe(owner.id, {"title": "Soup"})
    with pytest.raises(InvalidInputError, match=message):
        await repos.embeddings.store_embedding(recipe.id, vector, "m", "1", HASH)
    with pytest.raises(InvalidInputError, match=message):
        await repos.embeddings.similarity_search(vector)
    with pytest.raises(InvalidInputError):
        await repos.embeddings.bulk_load(
            [
                EmbeddingIn(
                    recipe_id=recipe.id,
                    user_id=owner.id,
                    embedding=vector,
                    model="m",
                    model_version="1",
                    source_text_hash=HASH,
                )
            ]
        )
    async with db.transaction() as session:
        count = await session.execute(text("SELECT count(*) FROM recipe_embeddings"))
        assert count.scalar_one() == 0


async def test_bulk_load_is_all_or_nothing(repos: Repos, db: Database) -> None:
    owner = await new_user(repos)
    recipe = await repos.recipes.create_recipe(owner.id, {"title": "Soup"})
    stranger = await new_user(repos)
    rows = [
        EmbeddingIn(
            recipe_id=recipe.id,
            user_id=stranger.id,
            embedding=factories.embedding_vector(),
            model="m",
            model_version="1",
            source_text_hash=HASH,
        )
    ]
    with pytest.raises(InvalidInputError):
        await repos.embeddings.bulk_load(rows)  # owner mismatch: composite foreign key
    async with db.transaction() as session:
        count = await session.execute(text("SELECT count(*) FROM recipe_embeddings"))
        assert count.scalar_one() == 0


async def test_hydrated_search_returns_the_recipe_summary_in_one_query(
    repos: Repos, db: Database
) -> None:
    from tests.integration.repositories.support import server_statements

    owner = await new_user(repos)
    rng = np.random.default_rng(11)
    query = unit(rng)
    titles = ["Pad thai", "Green curry", "Tom yum"]
    for index, title in enumerate(titles):
        recipe = await repos.recipes.create_recipe(
            owner.id,
            {"title": title, "cuisine_type": "thai", "difficulty": index + 1, "tags": ["spicy"]},
        )
        # Each vector a little farther from the query than the one before.
        vector = query + (index + 1) * 0.05 * unit(rng)
        await repos.embeddings.store_embedding(recipe.id, vector, "m", "1", HASH)
    plain = await repos.embeddings.similarity_search(query, limit=3, distance_threshold=2.0)
    async with server_statements(db) as statements:
        hydrated = await repos.embeddings.similarity_search(
            query, limit=3, distance_threshold=2.0, hydrate=True
        )
    assert sum("recipe_embeddings" in sql for sql in statements) == 1
    assert any("JOIN recipes" in sql for sql in statements)
    assert not any("FROM recipes" in sql and "recipe_embeddings" not in sql for sql in statements)
    assert [m.recipe.title for m in hydrated] == titles
    assert [(m.recipe_id, m.distance) for m in hydrated] == [
        (m.recipe_id, m.distance) for m in plain
    ]
    first = hydrated[0].recipe
    assert (first.id, first.user_id, first.cuisine_type, first.difficulty, first.tags) == (
        hydrated[0].recipe_id,
        owner.id,
        "thai",
        1,
        ["spicy"],
    )
    with pytest.raises(InvalidInputError, match="hydrate"):
        await repos.embeddings.similarity_search(query, hydrate="yes")  # type: ignore[call-overload]


async def test_inactive_users_drop_out_of_similarity_search(repos: Repos) -> None:
    staying, leaving = await new_user(repos), await new_user(repos)
    vector = unit(np.random.default_rng(4))
    kept = await repos.recipes.create_recipe(staying.id, {"title": "Kept"})
    gone = await repos.recipes.create_recipe(leaving.id, {"title": "Gone"})
    await repos.embeddings.store_embedding(kept.id, vector, "m", "1", HASH)
    await repos.embeddings.store_embedding(gone.id, vector, "m", "1", HASH)

    async def found(**options: object) -> set[uuid.UUID]:
        matches = await repos.embeddings.similarity_search(
            vector,
            distance_threshold=2.0,
            **options,  # type: ignore[arg-type]
        )
        return {m.recipe_id for m in matches}

    assert await found() == {kept.id, gone.id}
    await repos.users.request_data_deletion(leaving.id)
    assert await found() == {kept.id}
    assert await found(hydrate=True) == {kept.id}
    assert await found(user_id=leaving.id) == set()
    batch = await repos.embeddings.batch_similarity_search([vector], distance_threshold=2.0)
    assert [m.recipe_id for m in batch[0]] == [kept.id]
