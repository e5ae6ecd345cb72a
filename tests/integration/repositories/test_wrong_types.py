"""Hypothesis draws only values of the wrong type (``None``, a string, a float, a bool, a
dict ...) for arguments that take an integer, a list, a mapping, a sort key or a flag: every
call raises InvalidInputError (never TypeError or AttributeError) and writes nothing.
An empty update counts as wrong too."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import strategies as st

from datalayer import models as m
from datalayer.repositories.catalog import CatalogRepository
from datalayer.repositories.conversations import ConversationRepository
from datalayer.repositories.crud import CrudRepository
from datalayer.repositories.embeddings import EmbeddingRepository
from datalayer.repositories.ingredients import IngredientRepository
from datalayer.repositories.meal_plans import MealPlanRepository
from datalayer.repositories.pantry import PantryRepository
from datalayer.repositories.receipts import ReceiptRepository
from datalayer.repositories.recipes import RecipeRepository
from datalayer.repositories.taste_profiles import TasteProfileRepository
from datalayer.repositories.users import UserRepository
from datalayer.settings import Settings
from tests import factories
from tests.integration.repositories.support import Env

SMALL_TEXT = st.text(max_size=8)
# Not an int: digits as text ("5"), floats (5.0 too), bools, None, containers.
NOT_INT = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(1, 50).map(str),
    SMALL_TEXT,
    st.lists(st.integers(1, 50), max_size=2),
    st.dictionaries(SMALL_TEXT, st.integers(), max_size=2),
)
# Not a list: a bare string (would iterate per character), a number, a mapping, None.
NOT_LIST = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(min_size=1, max_size=12),
    st.dictionaries(SMALL_TEXT, st.integers(), min_size=1, max_size=2),
)
NOT_LIST_BUT_PRESENT = NOT_LIST.filter(lambda value: value is not None)
# Not a non-empty mapping of changes: None, text, numbers, lists, or nothing to change.
NOT_CHANGES = st.one_of(
    st.none(),
    st.integers(),
    SMALL_TEXT,
    st.lists(st.integers(), max_size=2),
    st.just({}),
)
NOT_SORT = st.one_of(
    st.integers(),
    st.booleans(),
    st.lists(SMALL_TEXT, max_size=2),
    st.dictionaries(SMALL_TEXT, SMALL_TEXT, max_size=1),
    st.sampled_from(["user_id", "id; DROP TABLE recipes", "--title", "", "TITLE", " title"]),
)
NOT_BOOL = st.one_of(st.none(), st.integers(), SMALL_TEXT, st.lists(st.booleans(), max_size=1))
VECTOR = factories.embedding_vector()
EXAMPLES_PER_CALL = 15


def test_wrong_types_are_invalid_input(env: Env, settings: Settings) -> None:
    db, g = env.db, env.g
    users, recipes = UserRepository(db, settings), RecipeRepository(db)
    embeddings, ingredients = EmbeddingRepository(db, settings), IngredientRepository(db)
    profiles, catalog = TasteProfileRepository(db), CatalogRepository(db)
    pantry, plans = PantryRepository(db), MealPlanRepository(db)
    receipts, chats = ReceiptRepository(db), ConversationRepository(db)
    logs = CrudRepository(db, m.SystemLog)
    user, recipe = g.user.id, g.recipe.id
    env.run(profiles.create_taste_profile(user))
    plan = env.run(plans.create(user, {"plan_date": date(2024, 6, 1), "meal_type": "lunch"})).id

    def page_calls(name: str, call: Any) -> dict[str, tuple[Any, Any]]:
        return {
            f"{name}(limit)": (NOT_INT, lambda bad: call(limit=bad)),
            f"{name}(offset)": (NOT_INT, lambda bad: call(offset=bad)),
        }

    cases: dict[str, tuple[Any, Any]] = {
        **page_calls("get_user_recipes", lambda **o: recipes.get_user_recipes(user, **o)),
        **page_calls("search_recipes", lambda **o: recipes.search_recipes(user, "soup", **o)),
        **page_calls("pantry.list_for_user", lambda **o: pantry.list_for_user(user, **o)),
        **page_calls("receipts.list_for_user", lambda **o: receipts.list_for_user(user, **o)),
        **page_calls(
            "chats.list_messages", lambda **o: chats.list_messages(user, g.conversation.id, **o)
        ),
        **page_calls("catalog.list_categories", lambda **o: catalog.list_categories(**o)),
        **page_calls("crud.list_page", lambda **o: logs.list_page(**o)),
        "ai queue(limit)": (NOT_INT, lambda bad: recipes.get_recipes_for_ai_processing(limit=bad)),
        "refresh(limit)": (NOT_INT, lambda bad: profiles.get_profiles_for_refresh(limit=bad)),
        "reprocessing(limit)": (
            NOT_INT,
            lambda bad: embeddings.get_embeddings_for_reprocessing("m", "1", limit=bad),
        ),
        "statistics(top)": (
            NOT_INT,
            lambda bad: ingredients.get_ingredient_statistics(user, top=bad),
        ),
        "similarity(limit)": (NOT_INT, lambda bad: embeddings.similarity_search(VECTOR, bad)),
        "similarity(ef_search)": (
            NOT_INT.filter(lambda bad: bad is not None),  # None: the configured default
            lambda bad: embeddings.similarity_search(VECTOR, ef_search=bad),
        ),
        "batch(limit)": (NOT_INT, lambda bad: embeddings.batch_similarity_search([VECTOR], bad)),
        "expiring(days)": (NOT_INT, lambda bad: pantry.expiring_within(user, bad)),
        "filters(tags)": (
            NOT_LIST,
            lambda bad: recipes.get_user_recipes(user, filters={"tags": bad}),
        ),
        "filters": (NOT_LIST_BUT_PRESENT, lambda bad: recipes.get_user_recipes(user, filters=bad)),
        "find_recipes_by_ids": (NOT_LIST, lambda bad: recipes.find_recipes_by_ids(user, bad)),
        "exclude_recipe_ids": (
            NOT_LIST_BUT_PRESENT,  # None: exclude nothing
            lambda bad: embeddings.similarity_search(VECTOR, exclude_recipe_ids=bad),
        ),
        "batch(query_embeddings)": (NOT_LIST, lambda bad: embeddings.batch_similarity_search(bad)),
        "store_parsed_ingredients": (
            NOT_LIST,
            lambda bad: ingredients.store_parsed_ingredients(user, recipe, bad),
        ),
        "update_parsed_ingredients": (
            NOT_LIST,
            lambda bad: ingredients.update_parsed_ingredients(user, recipe, bad),
        ),
        "receipt items": (NOT_LIST, lambda bad: receipts.create_with_items(user, {}, bad)),
        "update_recipe": (NOT_CHANGES, lambda bad: recipes.update_recipe(user, recipe, bad)),
        "update_user": (NOT_CHANGES, lambda bad: users.update_user(user, bad)),
        "update_taste_profile": (NOT_CHANGES, lambda bad: profiles.update_taste_profile(user, bad)),
        "plans.update": (NOT_CHANGES, lambda bad: plans.update(user, plan, bad)),
        "create_recipe": (NOT_CHANGES, lambda bad: recipes.create_recipe(user, bad)),
        "recipes sort": (NOT_SORT, lambda bad: recipes.get_user_recipes(user, sort=bad)),
        "plans sort": (NOT_SORT, lambda bad: plans.list_for_user(user, sort=bad)),
        "categories sort": (NOT_SORT, lambda bad: catalog.list_categories(sort=bad)),
        "hydrate": (NOT_BOOL, lambda bad: embeddings.similarity_search(VECTOR, hydrate=bad)),
        "include_expired": (
            NOT_BOOL,
            lambda bad: pantry.expiring_within(user, 7, include_expired=bad),
        ),
        "include_subcategories": (
            NOT_BOOL,
            lambda bad: catalog.list_products_by_category(g.category.id, include_subcategories=bad),
        ),
        "error_message": (
            st.one_of(st.integers(), st.lists(SMALL_TEXT, min_size=1), st.booleans()),
            lambda bad: recipes.update_ai_processing_status(recipe, "failed", bad),
        ),
        "user_id": (NOT_LIST_BUT_PRESENT, lambda bad: recipes.get_recipe_by_id(bad, recipe)),
        "recipe id": (NOT_LIST, lambda bad: recipes.find_recipe_by_id(user, bad)),
        "row id": (NOT_LIST, lambda bad: pantry.find(user, bad)),
        "user id as a number": (st.integers(), lambda bad: users.find_user_by_id(bad)),
    }
    # Each call gets its own run, so every one of them meets many wrong values.
    for name, case in cases.items():
        env.reject_all(f"wrong types: {name}", {name: case}, max_examples=EXAMPLES_PER_CALL)
