"""RecipeSearchRepository.hybrid_search: reciprocal rank fusion of the full-text and the
vector lists of one user's recipes, in one statement, under the other searches' rules."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest

from datalayer.db import Database
from datalayer.errors import InvalidInputError
from datalayer.repositories import recipe_search
from datalayer.repositories.recipe_search import (
    RRF_K,
    RecipeSearchRepository,
    excluded_terms,
    words_query,
)
from datalayer.repositories.similarity import SearchPlan, send_pipelined
from datalayer.schemas.search import HybridHitOut
from datalayer.settings import Settings
from tests import factories
from tests.integration.repositories.conftest import Repos, new_user
from tests.integration.repositories.support import count_statements

DIM = 1536
HASH = factories.sha256("source")
# For "chili lime", ts_rank_cd ties the first, second and fourth; ts_rank would not.
WORDS = [
    "chili lime",
    "chili chili lime",
    "lime and some chili",
    "lime lime chili",
    "chili",
    "soup",
]


def unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


@pytest.fixture
def search(db: Database, settings: Settings) -> RecipeSearchRepository:
    return RecipeSearchRepository(db, settings)


async def add(repos: Repos, owner: uuid.UUID, title: str, vector: np.ndarray) -> uuid.UUID:
    recipe = await repos.recipes.create_recipe(owner, {"title": title})
    await repos.embeddings.store_embedding(recipe.id, vector, "m", "1", HASH)
    return recipe.id


async def corpus(repos: Repos, owner: uuid.UUID, query: np.ndarray, count: int = 36) -> None:
    """Recipes whose words repeat (equal text ranks) and whose vectors lie at spread
    distances from ``query``."""
    rng = np.random.default_rng(5)
    for index in range(count):
        closeness = rng.uniform(0.0, 1.2)
        vector = unit(query * closeness + unit(rng.normal(size=DIM)))
        await add(repos, owner, f"{WORDS[index % len(WORDS)]} {index}", vector)


def fuse(*lists: list[uuid.UUID]) -> list[tuple[uuid.UUID, float]]:
    """Reciprocal rank fusion written out independently: 1 / (60 + rank), ties by id."""
    scores: dict[uuid.UUID, float] = {}
    for ranked in lists:
        for rank, recipe_id in enumerate(ranked, start=1):
            scores[recipe_id] = scores.get(recipe_id, 0.0) + 1.0 / (60 + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


async def single_lists(
    repos: Repos, owner: uuid.UUID, text: str, query: np.ndarray, threshold: float
) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    words = await repos.recipes.search_recipes(owner, text, limit=50)
    nearest = await repos.embeddings.similarity_search(
        query, limit=50, user_id=owner, distance_threshold=threshold
    )
    return [hit.recipe.id for hit in words.items], [match.recipe_id for match in nearest]


async def test_fusion_matches_rrf_over_the_two_single_searches(
    repos: Repos,
    search: RecipeSearchRepository,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    owner = await new_user(repos)
    query = unit(np.random.default_rng(1).normal(size=DIM))
    await corpus(repos, owner.id, query)
    words, nearest = await single_lists(repos, owner.id, "chili lime", query, 0.95)
    assert 0 < len(nearest) < 36 and len(words) == 24  # the threshold and the words both bite
    assert set(words) != set(nearest)

    sent: list[str] = []

    async def recording(connection: Any, plan: SearchPlan, params: dict[str, Any]) -> Any:
        sent.append(plan.sql)
        return await send_pipelined(connection, plan, params)

    monkeypatch.setattr(recipe_search, "send_pipelined", recording)
    with count_statements(db.read_engine) as statements:
        hits = await search.hybrid_search(
            owner.id, "chili lime", query, limit=40, distance_threshold=0.95
        )
    # Both lists and the fusion: one statement, pipelined with its settings in one round trip.
    assert len(sent) == 1 and "recipe_embeddings" in sent[0] and "@@" in sent[0]
    assert not any("recipe_embeddings" in sql or "recipes" in sql for sql in statements)

    expected = fuse(words, nearest)
    assert [hit.recipe.id for hit in hits] == [recipe_id for recipe_id, _ in expected]
    assert [hit.score for hit in hits] == pytest.approx([score for _, score in expected])
    for hit in hits:
        recipe_id = hit.recipe.id
        assert hit.text_rank == (words.index(recipe_id) + 1 if recipe_id in words else None)
        assert hit.vector_rank == (nearest.index(recipe_id) + 1 if recipe_id in nearest else None)
        assert (hit.distance is None) == (hit.vector_rank is None)
    assert RRF_K == 60
    short = await search.hybrid_search(
        owner.id, "chili lime", query, limit=5, distance_threshold=0.95
    )
    assert short == hits[:5]


async def test_the_wanted_recipe_wins_only_when_words_and_meaning_count(
    repos: Repos, search: RecipeSearchRepository
) -> None:
    owner = await new_user(repos)
    rng = np.random.default_rng(9)
    query = unit(rng.normal(size=DIM))

    def at(distance_rank: float) -> np.ndarray:
        return unit(query + distance_rank * unit(rng.normal(size=DIM)))

    # Best words, far in meaning; best meaning, no words; the wanted recipe second in both.
    words_only = await add(repos, owner.id, "Spicy chicken spicy chicken", at(3.0))
    meaning_only = await add(repos, owner.id, "Fiery poultry stew", at(0.2))
    wanted = await add(repos, owner.id, "Spicy chicken curry", at(0.4))
    for index in range(6):
        await add(repos, owner.id, f"Plain dish {index}", at(0.6 + index * 0.1))

    words, nearest = await single_lists(repos, owner.id, "spicy chicken", query, 2.0)
    assert words[:2] == [words_only, wanted]
    assert nearest[:2] == [meaning_only, wanted]
    hits = await search.hybrid_search(owner.id, "spicy chicken", query, distance_threshold=2.0)
    assert hits[0].recipe.id == wanted
    assert (hits[0].text_rank, hits[0].vector_rank) == (2, 2)


async def test_excluded_words_leave_both_lists(
    repos: Repos, search: RecipeSearchRepository
) -> None:
    owner = await new_user(repos)
    rng = np.random.default_rng(3)
    query = unit(rng.normal(size=DIM))
    peanut = await add(repos, owner.id, "Spicy peanut chicken", query)  # nearest of all
    kept = await add(repos, owner.id, "Spicy chicken", unit(query + unit(rng.normal(size=DIM))))
    for text in ("spicy chicken without peanuts", "spicy chicken -peanuts"):
        hits = await search.hybrid_search(owner.id, text, query, distance_threshold=2.0)
        assert [hit.recipe.id for hit in hits] == [kept], text
    both = await search.hybrid_search(owner.id, "spicy chicken", query, distance_threshold=2.0)
    # Each first in one list and second in the other: equal scores, ordered by id.
    assert [hit.recipe.id for hit in both] == sorted([peanut, kept])
    assert both[0].score == both[1].score


def test_exclusions_are_read_from_the_query_text() -> None:
    assert words_query("spicy chicken without peanuts") == "spicy chicken -peanuts"
    assert words_query("Without nuts, without  dairy") == "-nuts, -dairy"
    assert words_query("withoutnuts -x") == "withoutnuts -x"
    assert excluded_terms("spicy chicken without peanuts") == "peanuts"
    assert excluded_terms('chicken -"peanut butter" -cashews') == '"peanut butter" or cashews'
    assert excluded_terms("stir-fry chicken") is None  # a hyphen inside a word excludes nothing


async def test_scope_exclusions_and_inactive_users(
    repos: Repos, search: RecipeSearchRepository
) -> None:
    owner, other = await new_user(repos), await new_user(repos)
    query = unit(np.random.default_rng(2).normal(size=DIM))
    await corpus(repos, owner.id, query, count=12)
    strangers = {await add(repos, other.id, f"chili {i}", query) for i in range(3)}

    hits = await search.hybrid_search(owner.id, "chili", query, distance_threshold=2.0)
    found = [hit.recipe.id for hit in hits]
    assert len(found) == 12 and not strangers & set(found)
    assert all(hit.recipe.user_id == owner.id for hit in hits)

    dropped = found[:3]
    rest = await search.hybrid_search(
        owner.id, "chili", query, exclude_recipe_ids=dropped, distance_threshold=2.0
    )
    words, nearest = await single_lists(repos, owner.id, "chili", query, 2.0)
    expected = fuse(
        [r for r in words if r not in dropped], [r for r in nearest if r not in dropped]
    )
    assert [hit.recipe.id for hit in rest] == [recipe_id for recipe_id, _ in expected]

    await repos.users.request_data_deletion(owner.id)
    assert await search.hybrid_search(owner.id, "chili", query, distance_threshold=2.0) == []
    assert await search.hybrid_search(uuid.uuid4(), "chili", query) == []


GOOD: dict[str, Any] = {"query_text": "chili", "limit": 20}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"user_id": "not-a-uuid"}, "user_id"),
        ({"query_text": ""}, "query_text"),
        ({"query_text": "x" * 201}, "query_text"),
        ({"query_text": 5}, "query_text"),
        ({"query_embedding": [0.1] * 3}, "query_embedding"),
        ({"query_embedding": [float("nan")] * DIM}, "query_embedding"),
        ({"limit": 0}, "limit"),
        ({"limit": "5"}, "limit"),
        ({"limit": True}, "limit"),
        ({"exclude_recipe_ids": "abc"}, "exclude_recipe_ids"),
        ({"distance_threshold": "0.5"}, "distance_threshold"),
        ({"ef_search": 0}, "ef_search"),
    ],
)
async def test_bad_input_is_a_typed_error(
    search: RecipeSearchRepository, changes: dict[str, Any], field: str
) -> None:
    arguments: dict[str, Any] = {
        "user_id": uuid.uuid4(),
        "query_text": "chili",
        "query_embedding": [0.1] * DIM,
        **changes,
    }
    with pytest.raises(InvalidInputError) as raised:
        await search.hybrid_search(
            arguments.pop("user_id"),
            arguments.pop("query_text"),
            arguments.pop("query_embedding"),
            **arguments,
        )
    assert raised.value.field is not None and raised.value.field.startswith(field)


def test_a_hit_says_where_each_list_placed_it() -> None:
    fields = HybridHitOut.model_fields
    assert {"recipe", "score", "text_rank", "vector_rank", "distance"} <= set(fields)
