"""Valid rows for every table, so a test can break exactly one rule at a time."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from datalayer import models as m
from datalayer.db import Database


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def user(**overrides: Any) -> m.User:
    name = unique("user")
    values: dict[str, Any] = {"username": name, "email": f"{name}@example.com"}
    return m.User(**{**values, **overrides})


def recipe(owner: m.User, **overrides: Any) -> m.Recipe:
    values: dict[str, Any] = {
        "user_id": owner.id,
        "title": "Tomato soup",
        "description": "A warm soup",
        "difficulty": 2,
        "servings": 4,
        "cooking_time_minutes": 30,
        "content_hash": sha256(unique("content")),
    }
    return m.Recipe(**{**values, **overrides})


def embedding_vector(dim: int = 1536) -> list[float]:
    return [1.0 / dim] * dim


@dataclass
class Graph:
    """One saved row of each parent table."""

    user: m.User
    recipe: m.Recipe
    category: m.Category
    product: m.Product
    conversation: m.Conversation
    receipt: m.Receipt


async def graph(db: Database) -> Graph:
    async with db.transaction() as session:
        owner = user()
        session.add(owner)
        await session.flush()
        category = m.Category(name=unique("category"))
        session.add(category)
        await session.flush()
        product = m.Product(name="Tomato", category_id=category.id)
        conversation = m.Conversation(user_id=owner.id, session_id=unique("session"))
        saved_recipe = recipe(owner)
        session.add_all([product, conversation, saved_recipe])
        await session.flush()
        receipt = m.Receipt(user_id=owner.id, total_amount=Decimal("12.50"))
        session.add(receipt)
    return Graph(owner, saved_recipe, category, product, conversation, receipt)


def rows(g: Graph) -> dict[str, Any]:
    """Factories of a valid row per table, given the saved parents in ``g``."""
    now = datetime.now(UTC)
    return {
        "audit_logs": lambda **o: m.AuditLog(**{"action": "test", "entity_type": "user", **o}),
        "cache_entries": lambda **o: m.CacheEntry(**{"key": unique("key"), "value": {}, **o}),
        "categories": lambda **o: m.Category(**{"name": unique("category"), **o}),
        "system_logs": lambda **o: m.SystemLog(
            **{"service": "tests", "level": "INFO", "message": "hello", **o}
        ),
        "users": user,
        "consent_records": lambda **o: m.ConsentRecord(
            **{
                "user_id": g.user.id,
                "purpose": "analytics",
                "granted": True,
                "policy_version": "1",
                **o,
            }
        ),
        "audit_log_retention": lambda **o: m.AuditLogRetention(
            **{
                "partition_name": unique("audit_logs_"),
                "range_start": now - timedelta(days=31),
                "range_end": now,
                "rows_dropped": 0,
                **o,
            }
        ),
        "vector_search_tuning": lambda **o: m.VectorSearchTuning(
            **{
                "index_name": "ix_recipe_embeddings_embedding_hnsw",
                "k": 20,
                "target_recall": 0.95,
                "ef_search": 100,
                "recall_mean": 0.97,
                "recall_lower_bound": 0.96,
                "target_met": True,
                "sample_size": 200,
                "row_count": 1000,
                **o,
            }
        ),
        "erasure_ledger": lambda **o: m.ErasureLedgerEntry(
            **{"subject_hash": sha256(unique("subject")), **o}
        ),
        "conversations": lambda **o: m.Conversation(
            **{"user_id": g.user.id, "session_id": unique("session"), **o}
        ),
        "data_export_requests": lambda **o: m.DataExportRequest(**{"user_id": g.user.id, **o}),
        "products": lambda **o: m.Product(**{"name": "Basil", **o}),
        "recipes": lambda **o: recipe(g.user, **o),
        "user_sessions": lambda **o: m.UserSession(
            **{
                "user_id": g.user.id,
                "token_hash": sha256(unique("token")),
                "expires_at": now + timedelta(hours=1),
                **o,
            }
        ),
        "user_taste_profiles": lambda **o: m.UserTasteProfile(**{"user_id": g.user.id, **o}),
        "meal_plans": lambda **o: m.MealPlan(
            **{"user_id": g.user.id, "plan_date": date.today(), "meal_type": "dinner", **o}
        ),
        "messages": lambda **o: m.Message(
            **{"conversation_id": g.conversation.id, "content": "hi", "role": "user", **o}
        ),
        "pantry_items": lambda **o: m.PantryItem(
            **{"user_id": g.user.id, "product_id": g.product.id, "quantity": Decimal(1), **o}
        ),
        "parsed_ingredients": lambda **o: m.ParsedIngredient(
            **{
                "recipe_id": g.recipe.id,
                "position": 0,
                "name": "Tomatoes",
                "normalized_name": "tomato",
                **o,
            }
        ),
        "receipts": lambda **o: m.Receipt(**{"user_id": g.user.id, **o}),
        "recipe_embeddings": lambda **o: m.RecipeEmbedding(
            **{
                "recipe_id": g.recipe.id,
                "user_id": g.user.id,
                "embedding": embedding_vector(),
                "model": "test-model",
                "model_version": "1",
                "source_text_hash": sha256("source"),
                **o,
            }
        ),
        "recipe_ingredients": lambda **o: m.RecipeIngredient(
            **{"recipe_id": g.recipe.id, "product_id": g.product.id, **o}
        ),
        "receipt_items": lambda **o: m.ReceiptItem(
            **{"receipt_id": g.receipt.id, "product_name": "Tomatoes", **o}
        ),
    }
