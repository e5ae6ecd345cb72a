"""The FoodSave catalogue: the category tree and the products in it.

The catalogue is shared by every user, so these methods take no acting user. The tree is read
with one recursive CTE (``CYCLE`` guards it even against a cycle written behind our back);
moves that would put a category under itself are refused under an advisory lock, so two
concurrent moves cannot build a cycle either.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, exists, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from datalayer.db import Database, idempotent_read
from datalayer.errors import ConflictError, InvalidInputError, NotFoundError
from datalayer.models import Category, Product
from datalayer.repositories.crud import CrudRepository, convert_page, fetch_page
from datalayer.repositories.sorting import sort_clauses
from datalayer.schemas.catalog import (
    CategoryIn,
    CategoryNodeOut,
    CategoryOut,
    CategoryUpdate,
    ProductIn,
    ProductOut,
    ProductUpdate,
)
from datalayer.schemas.common import Page, as_uuid, page_request, parse

_TREE = """
WITH RECURSIVE tree AS (
    SELECT id, name, parent_id, description, created_at, 0 AS depth
      FROM categories
     WHERE {roots}
    UNION ALL
    SELECT c.id, c.name, c.parent_id, c.description, c.created_at, t.depth + 1
      FROM categories AS c
      JOIN tree AS t ON c.parent_id = t.id
) CYCLE id SET is_cycle USING path
SELECT id, name, parent_id, description, created_at, depth
  FROM tree
 WHERE NOT is_cycle
 ORDER BY depth, name, id
"""

_IN_SUBTREE = """
WITH RECURSIVE subtree AS (
    SELECT id FROM categories WHERE id = :root
    UNION
    SELECT c.id FROM categories AS c JOIN subtree AS s ON c.parent_id = s.id
)
SELECT EXISTS (SELECT 1 FROM subtree WHERE id = :candidate)
"""

# Serialises category moves (transaction-scoped, so safe behind a transaction pooler).
_MOVE_LOCK = "SELECT pg_advisory_xact_lock(hashtext('datalayer.categories.move'))"


class CatalogRepository:
    """Categories (a tree) and products, with paginated listing by category."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._categories = CrudRepository(db, Category)
        self._products = CrudRepository(db, Product)

    # -- categories --------------------------------------------------------------------------
    async def create_category(self, data: CategoryIn | Mapping[str, Any]) -> CategoryOut:
        """Create a category; its parent, when given, must exist (ConstraintViolationError)."""
        row = await self._categories.create(parse(CategoryIn, data))
        return CategoryOut.model_validate(row)

    async def get_category(self, category_id: uuid.UUID) -> CategoryOut:
        """One category, or NotFoundError."""
        row = await self._categories.get(as_uuid(category_id, "category_id"))
        return CategoryOut.model_validate(row)

    async def update_category(
        self, category_id: uuid.UUID, changes: CategoryUpdate | Mapping[str, Any]
    ) -> CategoryOut:
        """Rename, describe or move a category; a move under itself is InvalidInputError."""
        key = as_uuid(category_id, "category_id")
        update = parse(CategoryUpdate, changes)
        async with self._db.transaction() as session:
            if update.parent_id is not None:
                await session.execute(text(_MOVE_LOCK))
                await self._categories.get(key, session=session)
                cycle = await session.execute(
                    text(_IN_SUBTREE), {"root": key, "candidate": update.parent_id}
                )
                if cycle.scalar_one():
                    raise InvalidInputError(
                        "a category cannot move under itself or its subcategories",
                        field="parent_id",
                    )
            row = await self._categories.update(key, update, session=session)
        return CategoryOut.model_validate(row)

    async def delete_category(self, category_id: uuid.UUID) -> None:
        """Delete a category without subcategories (ConflictError otherwise).

        Its products, recipes and receipt items become uncategorised.
        """
        key = as_uuid(category_id, "category_id")
        table = self._categories.table
        async with self._db.transaction() as session:
            has_children = await session.execute(select(exists().where(table.c.parent_id == key)))
            if has_children.scalar_one():
                raise ConflictError("category has subcategories")
            await self._categories.delete(key, session=session)

    @idempotent_read
    async def list_categories(
        self, *, limit: int = 50, offset: int = 0, sort: str | None = None
    ) -> Page[CategoryOut]:
        """Every category, one page at a time; ``sort``: ``name`` (default) or
        ``created_at``, ``-`` prefixed for descending."""
        table = self._categories.table
        order = sort_clauses(
            sort,
            {"name": table.c.name, "created_at": table.c.created_at},
            default="name",
            tiebreak=[table.c.id],
        )
        async with self._db.read_transaction() as session:
            page = await fetch_page(
                session, self._categories.select().order_by(*order), page_request(limit, offset)
            )
        return convert_page(page, CategoryOut)

    @idempotent_read
    async def category_tree(self) -> list[CategoryNodeOut]:
        """Every category as a forest of top-level nodes, children sorted by name (one query)."""
        async with self._db.read_transaction() as session:
            return await self._tree(session, "parent_id IS NULL", {})

    @idempotent_read
    async def subtree(self, category_id: uuid.UUID) -> CategoryNodeOut:
        """A category with all its descendants (one query), or NotFoundError."""
        params = {"root": as_uuid(category_id, "category_id")}
        async with self._db.read_transaction() as session:
            roots = await self._tree(session, "id = :root", params)
        if not roots:
            raise NotFoundError("categories row not found")
        return roots[0]

    @staticmethod
    async def _tree(
        session: AsyncSession, roots: str, params: dict[str, Any]
    ) -> list[CategoryNodeOut]:
        rows = (await session.execute(text(_TREE.format(roots=roots)), params)).mappings().all()
        # Rows come by depth: build the deepest first so every node is built after its children.
        children: defaultdict[uuid.UUID | None, list[CategoryNodeOut]] = defaultdict(list)
        for row in reversed(rows):
            built = list(reversed(children.pop(row["id"], [])))
            children[row["parent_id"]].append(CategoryNodeOut(**row, children=built))
        return [node for nodes in children.values() for node in reversed(nodes)]

    # -- products ----------------------------------------------------------------------------
    async def create_product(self, data: ProductIn | Mapping[str, Any]) -> ProductOut:
        """Create a product; its category, when given, must exist (ConstraintViolationError)."""
        return ProductOut.model_validate(await self._products.create(parse(ProductIn, data)))

    async def get_product(self, product_id: uuid.UUID) -> ProductOut:
        """One product, or NotFoundError."""
        return ProductOut.model_validate(
            await self._products.get(as_uuid(product_id, "product_id"))
        )

    async def update_product(
        self, product_id: uuid.UUID, changes: ProductUpdate | Mapping[str, Any]
    ) -> ProductOut:
        """Change a product, or NotFoundError."""
        row = await self._products.update(
            as_uuid(product_id, "product_id"), parse(ProductUpdate, changes)
        )
        return ProductOut.model_validate(row)

    async def delete_product(self, product_id: uuid.UUID) -> None:
        """Delete a product; ConstraintViolationError while a pantry item or recipe uses it."""
        await self._products.delete(as_uuid(product_id, "product_id"))

    @idempotent_read
    async def list_products_by_category(
        self,
        category_id: uuid.UUID,
        *,
        include_subcategories: bool = False,
        limit: int = 50,
        offset: int = 0,
        sort: str | None = None,
    ) -> Page[ProductOut]:
        """The products of a category (and of its subcategories); NotFoundError when the
        category does not exist. ``sort``: ``name`` (default), ``created_at`` or
        ``updated_at``, ``-`` prefixed for descending."""
        key = as_uuid(category_id, "category_id")
        if not isinstance(include_subcategories, bool):
            raise InvalidInputError(
                "include_subcategories must be True or False", field="include_subcategories"
            )
        page = page_request(limit, offset)
        categories = self._categories.table
        products = self._products.table
        in_category: ColumnElement[bool]
        if include_subcategories:
            tree = select(categories.c.id).where(categories.c.id == key).cte(recursive=True)
            tree = tree.union(
                select(categories.c.id).join(tree, categories.c.parent_id == tree.c.id)
            )
            in_category = products.c.category_id.in_(select(tree.c.id))
        else:
            in_category = products.c.category_id == key
        order = sort_clauses(
            sort,
            {name: products.c[name] for name in ("name", "created_at", "updated_at")},
            default="name",
            tiebreak=[products.c.id],
        )
        statement = select(*products.c).where(in_category).order_by(*order)
        async with self._db.read_transaction() as session:
            await self._categories.get(key, session=session)
            result = await fetch_page(session, statement, page)
        return convert_page(result, ProductOut)
