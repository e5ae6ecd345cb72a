"""Property tests: bad input is rejected before any SQL is sent and changes no table.

Every strategy draws only invalid values (whitespace is stripped before length checks, so
over-long strings are built from visible characters; enum look-alikes exclude the real
values in any case or padding). Each rejection must be a plain ``InvalidInputError`` raised
by validation (a ``ConstraintViolationError`` would mean the database caught it), no
statement may reach the database, and a digest of every table must be unchanged.
Each test prints how many bad inputs hypothesis tried.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datalayer.db import Database
from datalayer.errors import InvalidInputError
from tests import factories
from tests.integration.repositories.conftest import Repos, new_user
from tests.integration.repositories.support import count_statements, oversized, snapshot

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
AI_STATUSES = {"pending", "processing", "completed", "failed"}
EXPORT_FORMATS = {"json", "csv"}


def unknown(values: set[str]) -> st.SearchStrategy[str]:
    """Text that is none of ``values``, even after stripping and case-folding."""
    return st.text(max_size=30).filter(lambda text: text.strip().casefold() not in values)


async def rejected_before_sql(db: Database, call: Callable[[], Awaitable[Any]]) -> None:
    """``call`` raises a plain InvalidInputError, sends no statement and changes no table."""
    before = await snapshot(db)
    with ExitStack() as stack:
        sent = [
            stack.enter_context(count_statements(engine))
            for engine in {id(e): e for e in (db.write_engine, db.read_engine)}.values()
        ]
        with pytest.raises(InvalidInputError) as caught:
            await call()
    assert type(caught.value) is InvalidInputError, type(caught.value)
    assert sent == [[]] * len(sent)
    assert await snapshot(db) == before


def report(capsys: pytest.CaptureFixture[str], name: str, tried: int) -> None:
    with capsys.disabled():
        print(f"\n[bad-input] {name}: {tried} bad inputs tried, all rejected, nothing written")


bad_recipe_fields = st.one_of(
    st.fixed_dictionaries({"title": oversized(255)}),
    st.fixed_dictionaries({"title": st.text(alphabet=" \t\n", max_size=5)}),
    st.fixed_dictionaries({"difficulty": st.integers().filter(lambda v: not 1 <= v <= 5)}),
    st.fixed_dictionaries({"servings": st.integers().filter(lambda v: not 1 <= v <= 100)}),
    st.fixed_dictionaries(
        {"cooking_time_minutes": st.integers().filter(lambda v: not 0 <= v <= 10_080)}
    ),
    st.fixed_dictionaries({"tags": st.lists(oversized(64), min_size=1, max_size=3)}),
    st.fixed_dictionaries({"tags": st.lists(st.just("ok"), min_size=51, max_size=60)}),
    st.fixed_dictionaries({"cuisine_type": oversized(64)}),
    st.fixed_dictionaries({"owner_override": st.just("admin")}),
    st.fixed_dictionaries({"difficulty": st.floats(allow_nan=True).filter(math.isnan)}),
)


@EXAMPLES
@given(bad=bad_recipe_fields)
async def test_bad_recipes_are_rejected(repos: Repos, db: Database, bad: dict[str, Any]) -> None:
    # Runs once per example; the owner is created lazily and reused.
    owner = await _owner(repos)
    await rejected_before_sql(
        db, lambda: repos.recipes.create_recipe(owner, {"title": "Valid", **bad})
    )
    _tally["recipes"] = _tally.get("recipes", 0) + 1


@EXAMPLES
@given(
    limit=st.one_of(st.integers(max_value=0), st.integers(min_value=501)),
    offset=st.one_of(st.integers(max_value=-1), st.integers(min_value=1_000_001)),
    which=st.sampled_from(["limit", "offset", "both"]),
)
async def test_bad_pagination_is_rejected(
    repos: Repos, db: Database, limit: int, offset: int, which: str
) -> None:
    owner = await _owner(repos)
    size = limit if which != "offset" else 10
    start = offset if which != "limit" else 0
    await rejected_before_sql(
        db, lambda: repos.recipes.get_user_recipes(owner, limit=size, offset=start)
    )
    await rejected_before_sql(
        db, lambda: repos.recipes.search_recipes(owner, "soup", limit=size, offset=start)
    )
    _tally["pagination"] = _tally.get("pagination", 0) + 1


@EXAMPLES
@given(
    ai_status=unknown(AI_STATUSES),
    export_format=st.one_of(unknown(EXPORT_FORMATS), st.none(), st.integers()),
)
async def test_unknown_enum_values_are_rejected(
    repos: Repos, db: Database, ai_status: str, export_format: Any
) -> None:
    owner = await _owner(repos)
    await rejected_before_sql(
        db, lambda: repos.recipes.get_user_recipes(owner, filters={"ai_status": ai_status})
    )
    await rejected_before_sql(
        db, lambda: repos.recipes.update_ai_processing_status(uuid.uuid4(), ai_status)
    )
    await rejected_before_sql(db, lambda: repos.users.request_data_export(owner, export_format))
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
    await rejected_before_sql(
        db,
        lambda: repos.embeddings.store_embedding(recipe, vector, "m", "1", factories.sha256("a")),
    )
    await rejected_before_sql(db, lambda: repos.embeddings.similarity_search(vector, user_id=owner))
    _tally["vectors"] = _tally.get("vectors", 0) + 1


@EXAMPLES
@given(
    user=st.one_of(
        st.fixed_dictionaries({"username": oversized(50)}),
        st.fixed_dictionaries({"username": st.text(max_size=2)}),
        st.fixed_dictionaries({"email": st.text(max_size=40).filter(lambda s: "@" not in s)}),
        st.fixed_dictionaries({"email": st.just("a@b.c" + "x" * 260)}),
        st.fixed_dictionaries({"username": INJECTIONS}),
        st.fixed_dictionaries({"preferences": st.just({"blob": "x" * 20_000})}),
    )
)
async def test_bad_users_are_rejected(repos: Repos, db: Database, user: dict[str, Any]) -> None:
    name = factories.unique("valid")
    await rejected_before_sql(
        db,
        lambda: repos.users.create_user({"username": name, "email": f"{name}@example.com", **user}),
    )
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
    await repos.ingredients.store_parsed_ingredients(owner, recipe.id, [{"name": payload}])
    stored = await snapshot(db)

    hits = await repos.recipes.search_recipes(owner, payload)
    matches = await repos.ingredients.search_by_ingredient(owner, payload)

    assert recipe.id in {hit.recipe.id for hit in hits.items}
    assert [(match.recipe_id, match.ingredient_name) for match in matches] == [(recipe.id, payload)]
    # Searching wrote nothing, and every table is still there (the digest reads each one).
    assert await snapshot(db) == stored
    await repos.recipes.delete_recipe(owner, recipe.id)


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
