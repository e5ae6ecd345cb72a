"""Property tests: bad input always gives a typed error and writes nothing.

Each test prints how many bad inputs hypothesis tried.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from datalayer.db import Database
from datalayer.errors import InvalidInputError
from tests import factories
from tests.integration.repositories.conftest import Repos, new_user

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
INJECTIONS = st.sampled_from(
    [
        "'; DROP TABLE recipes; --",
        '" OR 1=1 --',
        "$$; DELETE FROM users; $$",
        "Robert'); TRUNCATE audit_logs;--",
        "%(title)s {title} :title $1",
        "\\x00\\\\' UNION SELECT password FROM pg_shadow --",
    ]
)
WRITTEN = ("users", "recipes", "parsed_ingredients", "recipe_embeddings", "audit_logs")


async def row_counts(db: Database) -> dict[str, int]:
    async with db.transaction() as session:
        return {
            table: (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            for table in WRITTEN
        }


def report(capsys: pytest.CaptureFixture[str], name: str, tried: int) -> None:
    with capsys.disabled():
        print(f"\n[bad-input] {name}: {tried} bad inputs tried, all rejected, nothing written")


bad_recipe_fields = st.one_of(
    st.fixed_dictionaries({"title": st.text(min_size=256, max_size=400)}),
    st.fixed_dictionaries({"title": st.text(alphabet=" \t\n", max_size=5)}),
    st.fixed_dictionaries({"difficulty": st.integers().filter(lambda v: not 1 <= v <= 5)}),
    st.fixed_dictionaries({"servings": st.integers().filter(lambda v: not 1 <= v <= 100)}),
    st.fixed_dictionaries(
        {"cooking_time_minutes": st.integers().filter(lambda v: not 0 <= v <= 10_080)}
    ),
    st.fixed_dictionaries({"tags": st.lists(st.text(min_size=65, max_size=80), min_size=1)}),
    st.fixed_dictionaries({"cuisine_type": st.text(min_size=65, max_size=100)}),
    st.fixed_dictionaries({"owner_override": st.just("admin")}),
    st.fixed_dictionaries({"difficulty": st.floats(allow_nan=True).filter(math.isnan)}),
)


@EXAMPLES
@given(bad=bad_recipe_fields)
async def test_bad_recipes_are_rejected(
    repos: Repos, db: Database, capsys: pytest.CaptureFixture[str], bad: dict[str, Any]
) -> None:
    # Runs once per example; the owner is created lazily and reused.
    owner = await _owner(repos)
    before = await row_counts(db)
    with pytest.raises(InvalidInputError):
        await repos.recipes.create_recipe(owner, {"title": "Valid", **bad})
    assert await row_counts(db) == before
    _tally["recipes"] = _tally.get("recipes", 0) + 1


@EXAMPLES
@given(
    limit=st.one_of(st.integers(max_value=0), st.integers(min_value=501)),
    offset=st.one_of(st.integers(max_value=-1), st.integers(min_value=1_000_001)),
    which=st.sampled_from(["limit", "offset", "both"]),
)
async def test_bad_pagination_is_rejected(
    repos: Repos, limit: int, offset: int, which: str
) -> None:
    owner = await _owner(repos)
    args = {
        "limit": limit if which != "offset" else 10,
        "offset": offset if which != "limit" else 0,
    }
    with pytest.raises(InvalidInputError):
        await repos.recipes.get_user_recipes(owner, **args)
    with pytest.raises(InvalidInputError):
        await repos.recipes.search_recipes(owner, "soup", **args)
    _tally["pagination"] = _tally.get("pagination", 0) + 1


@EXAMPLES
@given(
    status=st.text(max_size=30).filter(
        lambda s: s not in {"pending", "processing", "completed", "failed"}
    )
)
async def test_unknown_enum_values_are_rejected(repos: Repos, db: Database, status: str) -> None:
    owner = await _owner(repos)
    before = await row_counts(db)
    with pytest.raises(InvalidInputError):
        await repos.recipes.get_user_recipes(owner, filters={"ai_status": status})
    with pytest.raises(InvalidInputError):
        await repos.recipes.update_ai_processing_status(factories.uuid.uuid4(), status)
    with pytest.raises(InvalidInputError):
        await repos.users.request_data_export(owner, status)
    assert await row_counts(db) == before
    _tally["enums"] = _tally.get("enums", 0) + 1


@EXAMPLES
@given(
    vector=st.one_of(
        st.integers(min_value=0, max_value=3000)
        .filter(lambda n: n != 1536)
        .map(lambda n: [0.5] * n),
        st.tuples(
            st.integers(min_value=0, max_value=1535),
            st.sampled_from([math.nan, math.inf, -math.inf]),
        ).map(lambda spec: [0.5] * spec[0] + [spec[1]] + [0.5] * (1535 - spec[0])),
    )
)
async def test_bad_vectors_are_rejected(repos: Repos, db: Database, vector: list[float]) -> None:
    owner = await _owner(repos)
    recipe = await _recipe(repos, owner)
    before = await row_counts(db)
    with pytest.raises(InvalidInputError):
        await repos.embeddings.store_embedding(recipe, vector, "m", "1", factories.sha256("a"))
    with pytest.raises(InvalidInputError):
        await repos.embeddings.similarity_search(vector, user_id=owner)
    assert await row_counts(db) == before
    _tally["vectors"] = _tally.get("vectors", 0) + 1


@EXAMPLES
@given(
    user=st.one_of(
        st.fixed_dictionaries({"username": st.text(min_size=51, max_size=80)}),
        st.fixed_dictionaries({"username": st.text(max_size=2)}),
        st.fixed_dictionaries({"email": st.text(max_size=40).filter(lambda s: "@" not in s)}),
        st.fixed_dictionaries({"email": st.just("a@b.c" + "x" * 260)}),
        st.fixed_dictionaries({"username": INJECTIONS}),
        st.fixed_dictionaries({"preferences": st.just({"blob": "x" * 20_000})}),
    )
)
async def test_bad_users_are_rejected(repos: Repos, db: Database, user: dict[str, Any]) -> None:
    before = await row_counts(db)
    name = factories.unique("valid")
    with pytest.raises(InvalidInputError):
        await repos.users.create_user({"username": name, "email": f"{name}@example.com", **user})
    assert await row_counts(db) == before
    _tally["users"] = _tally.get("users", 0) + 1


@EXAMPLES
@given(payload=INJECTIONS)
async def test_injection_strings_are_stored_verbatim_and_harmless(
    repos: Repos, db: Database, payload: str
) -> None:
    owner = await _owner(repos)
    recipe = await repos.recipes.create_recipe(owner, {"title": payload, "description": payload})
    assert recipe.title == payload.strip()
    assert (await repos.recipes.get_recipe_by_id(owner, recipe.id)) == recipe
    await repos.recipes.search_recipes(owner, payload)
    await repos.ingredients.search_by_ingredient(owner, payload)
    assert set((await row_counts(db)).keys()) == set(WRITTEN)  # every table still there


_tally: dict[str, int] = {}
_owners: dict[str, Any] = {}
_recipes: dict[Any, Any] = {}


async def _owner(repos: Repos) -> Any:
    """One valid owner per test (hypothesis runs every example in the same database)."""
    if "owner" not in _owners:
        _owners["owner"] = (await new_user(repos)).id
    return _owners["owner"]


async def _recipe(repos: Repos, owner: Any) -> Any:
    if owner not in _recipes:
        _recipes[owner] = (await repos.recipes.create_recipe(owner, {"title": "Soup"})).id
    return _recipes[owner]


@pytest.fixture(autouse=True)
def _print_tally(capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest) -> Any:
    _tally.clear()
    _owners.clear()
    _recipes.clear()
    yield
    for name, tried in _tally.items():
        report(capsys, f"{request.node.name} ({name})", tried)
