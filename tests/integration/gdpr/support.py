"""A user with at least one row in every table they can own, plus audit entries about them."""

from __future__ import annotations

from sqlalchemy import MetaData

from datalayer import models as m
from datalayer.audit import AuditTrail
from datalayer.db import Database
from tests import factories

# Tables whose rows the factories can make for a saved graph (parents are made by graph()).
CHILD_ROWS = (
    "user_sessions",
    "data_export_requests",
    "user_taste_profiles",
    "meal_plans",
    "messages",
    "pantry_items",
    "parsed_ingredients",
    "receipt_items",
    "recipe_embeddings",
    "recipe_ingredients",
)


async def populated_user(db: Database, audit_key: str) -> factories.Graph:
    """A user with rows in every owned table and two audit entries about them."""
    graph = await factories.graph(db)
    make = factories.rows(graph)
    async with db.transaction() as session:
        for name in CHILD_ROWS:
            session.add(make[name]())
        session.add(
            m.ConsentRecord(
                user_id=graph.user.id, purpose="analytics", granted=True, policy_version="1"
            )
        )
        for action in ("user.created", "user.updated"):
            await AuditTrail(audit_key).record(
                session, action, entity_type="user", subject=graph.user.id
            )
    return graph


def tables_linked_to_users(metadata: MetaData) -> set[str]:
    """Every table with a chain of foreign keys (any ON DELETE rule) leading to users."""
    linked = {"users"}
    changed = True
    while changed:
        changed = False
        for table in metadata.sorted_tables:
            if table.name in linked:
                continue
            if any(key.column.table.name in linked for key in table.foreign_keys):
                linked.add(table.name)
                changed = True
    return linked
