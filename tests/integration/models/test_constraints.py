"""Every CHECK and UNIQUE constraint rejects a bad row with the datalayer's typed error,
and nothing is written."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import CheckConstraint, UniqueConstraint, func, select, text

from datalayer import models as m
from datalayer.db import Database
from datalayer.errors import ConflictError, ConstraintViolationError
from tests import factories

SELF = uuid.UUID("00000000-0000-4000-8000-000000000001")

CHECK_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "ck_audit_logs_action_not_blank": ("audit_logs", {"action": "  "}),
    "ck_cache_entries_key_not_blank": ("cache_entries", {"key": ""}),
    "ck_categories_name_not_blank": ("categories", {"name": " "}),
    "ck_categories_not_own_parent": ("categories", {"id": SELF, "parent_id": SELF}),
    "ck_system_logs_level": ("system_logs", {"level": "LOUD"}),
    "ck_users_username_length": ("users", {"username": "ab"}),
    "ck_users_email_format": ("users", {"email": "Mixed@Example.com"}),
    "ck_users_consent_version_with_timestamp": ("users", {"gdpr_consent_version": "v1"}),
    "ck_data_export_requests_format": ("data_export_requests", {"format": "xml"}),
    "ck_data_export_requests_status": ("data_export_requests", {"status": "lost"}),
    "ck_products_name_not_blank": ("products", {"name": ""}),
    "ck_recipes_content_hash_sha256": ("recipes", {"content_hash": "abc"}),
    "ck_recipes_difficulty_range": ("recipes", {"difficulty": 6}),
    "ck_recipes_servings_range": ("recipes", {"servings": 0}),
    "ck_recipes_ai_attempts_non_negative": ("recipes", {"ai_attempts": -1}),
    "ck_recipes_ai_status": ("recipes", {"ai_status": "done"}),
    "ck_recipes_title_not_blank": ("recipes", {"title": "   "}),
    "ck_recipes_cooking_time_range": ("recipes", {"cooking_time_minutes": -5}),
    "ck_user_sessions_expires_after_creation": (
        "user_sessions",
        {"expires_at": datetime.now(UTC) - timedelta(hours=1)},
    ),
    "ck_user_taste_profiles_recipe_count_non_negative": (
        "user_taste_profiles",
        {"recipe_count": -1},
    ),
    "ck_meal_plans_meal_type": ("meal_plans", {"meal_type": "brunch"}),
    "ck_messages_confidence_range": ("messages", {"confidence": 1.5}),
    "ck_messages_role": ("messages", {"role": "robot"}),
    "ck_pantry_items_quantity_positive": ("pantry_items", {"quantity": Decimal(0)}),
    "ck_parsed_ingredients_position_non_negative": ("parsed_ingredients", {"position": -1}),
    "ck_parsed_ingredients_quantity_positive": ("parsed_ingredients", {"quantity": Decimal(-2)}),
    "ck_parsed_ingredients_name_not_blank": ("parsed_ingredients", {"name": " "}),
    "ck_parsed_ingredients_normalized_name_lowercase": (
        "parsed_ingredients",
        {"normalized_name": "Tomato"},
    ),
    "ck_receipts_ocr_confidence_range": ("receipts", {"ocr_confidence": -0.1}),
    "ck_receipts_total_non_negative": ("receipts", {"total_amount": Decimal(-1)}),
    "ck_receipts_currency_iso4217": ("receipts", {"currency": "eur"}),
    "ck_recipe_embeddings_source_text_hash_sha256": (
        "recipe_embeddings",
        {"source_text_hash": "x"},
    ),
    "ck_recipe_embeddings_model_not_blank": ("recipe_embeddings", {"model": " "}),
    "ck_recipe_ingredients_quantity_positive": ("recipe_ingredients", {"quantity": Decimal(0)}),
    "ck_receipt_items_total_price_non_negative": ("receipt_items", {"total_price": Decimal(-1)}),
    "ck_receipt_items_unit_price_non_negative": ("receipt_items", {"unit_price": Decimal(-1)}),
    "ck_receipt_items_quantity_positive": ("receipt_items", {"quantity": Decimal(0)}),
    "ck_receipt_items_product_name_not_blank": ("receipt_items", {"product_name": ""}),
    "ck_audit_log_retention_range": (
        "audit_log_retention",
        {"range_end": datetime(2000, 1, 1, tzinfo=UTC)},
    ),
    "ck_consent_records_purpose": ("consent_records", {"purpose": "telepathy"}),
    "ck_consent_records_policy_version_not_blank": ("consent_records", {"policy_version": " "}),
    "ck_erasure_ledger_subject_hash_format": ("erasure_ledger", {"subject_hash": "XYZ"}),
    "ck_erasure_ledger_completed_with_count": (
        "erasure_ledger",
        {"completed_at": datetime.now(UTC)},
    ),
    "ck_vector_search_tuning_ef_search_range": ("vector_search_tuning", {"ef_search": 0}),
    "ck_vector_search_tuning_k_range": ("vector_search_tuning", {"k": 1001}),
    "ck_vector_search_tuning_recall_range": ("vector_search_tuning", {"recall_lower_bound": 0.99}),
    "ck_vector_search_tuning_sample_size_range": ("vector_search_tuning", {"row_count": 10}),
}

UNIQUE_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "uq_categories_parent_id_name": ("categories", {"name": "Vegetables"}),
    "uq_users_auth0_user_id": ("users", {"auth0_user_id": "auth0|123"}),
    "uq_users_email": ("users", {"email": "same@example.com"}),
    "uq_users_username": ("users", {"username": "same_name"}),
    "uq_conversations_session_id": ("conversations", {"session_id": "session-1"}),
    "uq_user_sessions_token_hash": ("user_sessions", {"token_hash": factories.sha256("t")}),
    "uq_parsed_ingredients_recipe_id_position": ("parsed_ingredients", {"position": 3}),
    "uq_recipe_embeddings_recipe_id": ("recipe_embeddings", {}),
}

# Implied by the primary key on recipes.id; it exists as the target of a composite FK.
STRUCTURAL = {"uq_recipes_id_user_id"}


def declared_constraints() -> set[str]:
    names = set()
    for table in m.Base.metadata.sorted_tables:
        for constraint in table.constraints:
            if isinstance(constraint, CheckConstraint | UniqueConstraint):
                names.add(str(constraint.name))
    return names


def test_every_check_and_unique_constraint_has_a_case() -> None:
    assert declared_constraints() - STRUCTURAL == set(CHECK_CASES) | set(UNIQUE_CASES)


async def count(db: Database, table: str) -> int:
    async with db.transaction() as session:
        return int((await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


@pytest.mark.parametrize("constraint", sorted(CHECK_CASES))
async def test_check_constraint_rejects_a_bad_row(db: Database, constraint: str) -> None:
    table, bad_values = CHECK_CASES[constraint]
    parents = await factories.graph(db)
    build = factories.rows(parents)[table]
    before = await count(db, table)

    with pytest.raises(ConstraintViolationError) as caught:
        async with db.transaction() as session:
            session.add(build(**bad_values))

    assert caught.value.constraint == constraint
    assert await count(db, table) == before


@pytest.mark.parametrize("constraint", sorted(UNIQUE_CASES))
async def test_unique_constraint_rejects_a_duplicate(db: Database, constraint: str) -> None:
    table, values = UNIQUE_CASES[constraint]
    parents = await factories.graph(db)
    build = factories.rows(parents)[table]
    async with db.transaction() as session:
        session.add(build(**values))
    before = await count(db, table)

    with pytest.raises(ConflictError) as caught:
        async with db.transaction() as session:
            session.add(build(**values))

    assert caught.value.constraint == constraint
    assert await count(db, table) == before


async def test_error_messages_do_not_echo_the_rejected_value(db: Database) -> None:
    async with db.transaction() as session:
        session.add(factories.user(email="secret.person@example.com"))
    with pytest.raises(ConflictError) as caught:
        async with db.transaction() as session:
            session.add(factories.user(email="secret.person@example.com"))
    assert "secret.person" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


async def test_embedding_owner_must_match_the_recipe_owner(db: Database) -> None:
    parents = await factories.graph(db)
    async with db.transaction() as session:
        stranger = factories.user()
        session.add(stranger)
    with pytest.raises(ConstraintViolationError) as caught:
        async with db.transaction() as session:
            session.add(factories.rows(parents)["recipe_embeddings"](user_id=stranger.id))
    assert caught.value.constraint == "fk_recipe_embeddings_recipe_owner"


async def test_deleting_a_user_cascades_to_owned_rows(db: Database) -> None:
    parents = await factories.graph(db)
    build = factories.rows(parents)
    async with db.transaction() as session:
        session.add_all(
            [build["recipe_embeddings"](), build["parsed_ingredients"](), build["pantry_items"]()]
        )
    async with db.transaction() as session:
        await session.execute(m.User.__table__.delete().where(m.User.id == parents.user.id))
    for table in ("recipes", "recipe_embeddings", "parsed_ingredients", "pantry_items", "receipts"):
        assert await count(db, table) == 0, table
    assert await count(db, "products") == 1


async def test_a_product_in_a_pantry_cannot_be_deleted(db: Database) -> None:
    parents = await factories.graph(db)
    async with db.transaction() as session:
        session.add(factories.rows(parents)["pantry_items"]())
    with pytest.raises(ConflictError) as caught:
        async with db.transaction() as session:
            await session.execute(
                m.Product.__table__.delete().where(m.Product.id == parents.product.id)
            )
    assert caught.value.constraint == "fk_pantry_items_product_id_products"


async def test_updated_at_is_maintained_by_the_database(db: Database) -> None:
    parents = await factories.graph(db)
    async with db.transaction() as session:
        created = (
            await session.execute(select(m.User.updated_at).where(m.User.id == parents.user.id))
        ).scalar_one()
    async with db.transaction() as session:
        await session.execute(
            m.User.__table__.update().where(m.User.id == parents.user.id).values(is_active=False)
        )
    async with db.transaction() as session:
        updated = (
            await session.execute(select(m.User.updated_at).where(m.User.id == parents.user.id))
        ).scalar_one()
    assert updated > created


async def test_search_vector_follows_the_parsed_ingredients(db: Database) -> None:
    parents = await factories.graph(db)
    build = factories.rows(parents)["parsed_ingredients"]
    async with db.transaction() as session:
        session.add_all(
            [
                build(position=0, name="Basil leaves", normalized_name="basil"),
                build(position=1, name="Mozzarella", normalized_name="mozzarella"),
            ]
        )

    async def matches(word: str) -> bool:
        query = select(func.count()).where(
            m.Recipe.id == parents.recipe.id,
            m.Recipe.search_vector.op("@@")(func.plainto_tsquery("english", word)),
        )
        async with db.transaction() as session:
            return bool((await session.execute(query)).scalar_one())

    assert await matches("mozzarella")
    async with db.transaction() as session:
        await session.execute(
            m.ParsedIngredient.__table__.delete().where(m.ParsedIngredient.position == 1)
        )
    assert not await matches("mozzarella")
    assert await matches("basil")


async def test_system_logs_land_in_the_current_month_partition(db: Database) -> None:
    async with db.transaction() as session:
        session.add(m.SystemLog(service="tests", level="INFO", message="hello"))
    async with db.transaction() as session:
        partition = (
            await session.execute(text("SELECT tableoid::regclass::text FROM system_logs"))
        ).scalar_one()
    assert partition == f"system_logs_{datetime.now(UTC):%Y%m}"
