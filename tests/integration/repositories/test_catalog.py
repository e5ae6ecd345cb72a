"""The catalog repository: the category tree, categories and products."""

from __future__ import annotations

import uuid

import pytest

from datalayer.db import Database
from datalayer.errors import (
    ConflictError,
    ConstraintViolationError,
    InvalidInputError,
    NotFoundError,
)
from datalayer.repositories.catalog import CatalogRepository
from datalayer.schemas.catalog import CategoryNodeOut, CategoryOut
from tests.integration.repositories.support import count_statements, snapshot


@pytest.fixture
def catalog(db: Database) -> CatalogRepository:
    return CatalogRepository(db)


async def tree_of(catalog: CatalogRepository) -> dict[str, CategoryOut]:
    """food > (fruit > (apples, pears), vegetables); drinks."""
    made: dict[str, CategoryOut] = {}
    for name, parent in [
        ("food", None),
        ("drinks", None),
        ("vegetables", "food"),
        ("fruit", "food"),
        ("pears", "fruit"),
        ("apples", "fruit"),
    ]:
        parent_id = made[parent].id if parent else None
        made[name] = await catalog.create_category({"name": name, "parent_id": parent_id})
    return made


def shape(nodes: list[CategoryNodeOut]) -> list[object]:
    return [(node.name, node.depth, shape(node.children)) for node in nodes]


async def test_category_tree_is_nested_sorted_and_one_query(
    db: Database, catalog: CatalogRepository
) -> None:
    await tree_of(catalog)
    await catalog.category_tree()  # warm the pool: connecting runs statements of its own

    with count_statements(db.read_engine) as statements:
        forest = await catalog.category_tree()

    assert len(statements) == 1
    assert shape(forest) == [
        ("drinks", 0, []),
        ("food", 0, [("fruit", 1, [("apples", 2, []), ("pears", 2, [])]), ("vegetables", 1, [])]),
    ]


async def test_subtree(catalog: CatalogRepository) -> None:
    made = await tree_of(catalog)
    fruit = await catalog.subtree(made["fruit"].id)
    assert shape([fruit]) == [("fruit", 0, [("apples", 1, []), ("pears", 1, [])])]
    assert fruit.parent_id == made["food"].id
    with pytest.raises(NotFoundError):
        await catalog.subtree(uuid.uuid4())
    assert await catalog.category_tree() != []


async def test_create_get_update_and_list_categories(catalog: CatalogRepository) -> None:
    made = await tree_of(catalog)
    assert await catalog.get_category(made["pears"].id) == made["pears"]

    renamed = await catalog.update_category(
        made["pears"].id, {"name": "  Pears ", "description": "d"}
    )
    assert (renamed.name, renamed.description) == ("Pears", "d")
    moved = await catalog.update_category(made["fruit"].id, {"parent_id": None})
    assert moved.parent_id is None

    page = await catalog.list_categories(limit=4)
    assert page.total == 6
    assert [c.name for c in page.items] == ["Pears", "apples", "drinks", "food"]


async def test_parent_must_exist(db: Database, catalog: CatalogRepository) -> None:
    before = await snapshot(db)
    with pytest.raises(ConstraintViolationError, match="parent_id"):
        await catalog.create_category({"name": "orphan", "parent_id": uuid.uuid4()})
    assert await snapshot(db) == before


async def test_a_category_cannot_move_under_itself(
    db: Database, catalog: CatalogRepository
) -> None:
    made = await tree_of(catalog)
    before = await snapshot(db)
    for new_parent in ("food", "fruit", "apples"):
        with pytest.raises(InvalidInputError) as caught:
            await catalog.update_category(made["food"].id, {"parent_id": made[new_parent].id})
        assert caught.value.field == "parent_id"
    with pytest.raises(NotFoundError):
        await catalog.update_category(uuid.uuid4(), {"parent_id": made["food"].id})
    assert await snapshot(db) == before


async def test_delete_category(catalog: CatalogRepository) -> None:
    made = await tree_of(catalog)
    product = await catalog.create_product({"name": "Gala", "category_id": made["apples"].id})
    with pytest.raises(ConflictError):
        await catalog.delete_category(made["fruit"].id)

    await catalog.delete_category(made["apples"].id)

    assert (await catalog.get_product(product.id)).category_id is None
    with pytest.raises(NotFoundError):
        await catalog.delete_category(made["apples"].id)


async def test_product_crud(catalog: CatalogRepository) -> None:
    made = await tree_of(catalog)
    product = await catalog.create_product(
        {"name": "Gala", "category_id": made["apples"].id, "nutritional_info": {"kcal": 52}}
    )
    assert product.nutritional_info == {"kcal": 52}
    assert product.storage_info == {}
    assert await catalog.get_product(product.id) == product

    updated = await catalog.update_product(product.id, {"storage_info": {"fridge": True}})
    assert updated.storage_info == {"fridge": True}
    assert updated.nutritional_info == {"kcal": 52}

    await catalog.delete_product(product.id)
    with pytest.raises(NotFoundError):
        await catalog.get_product(product.id)
    with pytest.raises(ConstraintViolationError):
        await catalog.create_product({"name": "Ghost", "category_id": uuid.uuid4()})


async def test_products_by_category(catalog: CatalogRepository) -> None:
    made = await tree_of(catalog)
    for name, category in [
        ("Gala", "apples"),
        ("Fuji", "apples"),
        ("Conference", "pears"),
        ("Fruit salad", "fruit"),
        ("Carrot", "vegetables"),
    ]:
        await catalog.create_product({"name": name, "category_id": made[category].id})

    direct = await catalog.list_products_by_category(made["fruit"].id)
    assert [p.name for p in direct.items] == ["Fruit salad"]

    first = await catalog.list_products_by_category(
        made["fruit"].id, include_subcategories=True, limit=3
    )
    rest = await catalog.list_products_by_category(
        made["fruit"].id, include_subcategories=True, limit=3, offset=3
    )
    assert [p.name for p in first.items + rest.items] == [
        "Conference",
        "Fruit salad",
        "Fuji",
        "Gala",
    ]
    assert (first.total, rest.total) == (4, 4)

    everything = await catalog.list_products_by_category(
        made["food"].id, include_subcategories=True
    )
    assert everything.total == 5
    assert (await catalog.list_products_by_category(made["drinks"].id)).total == 0
    with pytest.raises(NotFoundError):
        await catalog.list_products_by_category(uuid.uuid4())
