"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 11:57:54.593625

Every version defines validate_upgrade() and validate_downgrade(): the runner calls them in
the migration's transaction, so a failed check rolls the version back.
"""

from collections.abc import Sequence

import pgvector.sqlalchemy
import sqlalchemy as sa
from alembic import op
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql

from datalayer.migrations.validation import SchemaObjects
from datalayer.settings import get_settings

EMBEDDING_DIM = get_settings().embedding_dim
APP_ROLE = get_settings().database_app_role
EXTENSIONS = ("vector",)

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TABLES_WITH_UPDATED_AT = (
    "users",
    "recipes",
    "recipe_embeddings",
    "user_taste_profiles",
    "products",
    "pantry_items",
    "conversations",
    "meal_plans",
    "cache_entries",
)
APPEND_ONLY_TABLES = ("audit_logs",)

_FUNCTIONS = (
    """
    CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.updated_at := now();
        RETURN NEW;
    END $$
    """,
    """
    CREATE FUNCTION reject_audit_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END $$
    """,
    # Keeps recipes.ingredient_names (and so the generated search_vector) in step with the
    # parsed ingredients, one UPDATE per statement through transition tables.
    """
    CREATE FUNCTION refresh_recipe_ingredient_names() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        touched uuid[];
    BEGIN
        -- Transition tables: new_rows exists for INSERT/UPDATE, old_rows for UPDATE/DELETE.
        IF TG_OP = 'INSERT' THEN
            touched := ARRAY(SELECT DISTINCT recipe_id FROM new_rows);
        ELSIF TG_OP = 'DELETE' THEN
            touched := ARRAY(SELECT DISTINCT recipe_id FROM old_rows);
        ELSE
            touched := ARRAY(SELECT recipe_id FROM new_rows UNION SELECT recipe_id FROM old_rows);
        END IF;
        UPDATE recipes AS r
           SET ingredient_names = coalesce((
                   SELECT string_agg(p.name, ' ' ORDER BY p.position)
                     FROM parsed_ingredients AS p
                    WHERE p.recipe_id = r.id), '')
         WHERE r.id = ANY(touched);
        RETURN NULL;
    END $$
    """,
    # Monthly partitions of system_logs from the current month to months_ahead.
    """
    CREATE FUNCTION ensure_system_log_partitions(months_ahead integer DEFAULT 2)
    RETURNS integer LANGUAGE plpgsql AS $$
    DECLARE
        month_start date := date_trunc('month', now())::date;
        created integer := 0;
        partition_name text;
    BEGIN
        FOR i IN 0..months_ahead LOOP
            partition_name := format('system_logs_%s', to_char(month_start, 'YYYYMM'));
            IF to_regclass(partition_name) IS NULL THEN
                EXECUTE format(
                    'CREATE TABLE %I PARTITION OF system_logs FOR VALUES FROM (%L) TO (%L)',
                    partition_name, month_start, (month_start + interval '1 month')::date);
                created := created + 1;
            END IF;
            month_start := (month_start + interval '1 month')::date;
        END LOOP;
        RETURN created;
    END $$
    """,
)


CREATED = SchemaObjects(
    tables=frozenset(
        {
            "audit_logs",
            "cache_entries",
            "categories",
            "conversations",
            "data_export_requests",
            "meal_plans",
            "messages",
            "pantry_items",
            "parsed_ingredients",
            "products",
            "receipt_items",
            "receipts",
            "recipe_embeddings",
            "recipe_ingredients",
            "recipes",
            "system_logs",
            "system_logs_default",
            "user_sessions",
            "user_taste_profiles",
            "users",
        }
    ),
    indexes=frozenset(
        {
            "ix_audit_logs_entity",
            "ix_audit_logs_occurred_at",
            "ix_audit_logs_subject_hash_occurred_at",
            "ix_cache_entries_expires_at",
            "ix_categories_parent_id",
            "ix_conversations_user_id_updated_at",
            "ix_data_export_requests_open",
            "ix_data_export_requests_user_id",
            "ix_meal_plans_recipe_id",
            "ix_meal_plans_user_id_plan_date",
            "ix_messages_conversation_id_created_at",
            "ix_messages_created_at",
            "ix_pantry_items_expiry_date",
            "ix_pantry_items_product_id",
            "ix_pantry_items_user_id_expiry_date",
            "ix_parsed_ingredients_normalized_name",
            "ix_products_category_id",
            "ix_products_name",
            "ix_receipt_items_category_id",
            "ix_receipt_items_product_id",
            "ix_receipt_items_receipt_id",
            "ix_receipts_conversation_id",
            "ix_receipts_purchase_date",
            "ix_receipts_user_id_purchase_date",
            "ix_recipe_embeddings_embedding_hnsw",
            "ix_recipe_embeddings_model_version",
            "ix_recipe_embeddings_stale",
            "ix_recipe_embeddings_user_id",
            "ix_recipe_ingredients_product_id",
            "ix_recipe_ingredients_recipe_id",
            "ix_recipes_ai_processing",
            "ix_recipes_ai_queue",
            "ix_recipes_category_id",
            "ix_recipes_cuisine_type",
            "ix_recipes_search_vector",
            "ix_recipes_tags",
            "ix_recipes_user_id_created_at",
            "ix_system_logs_level_created_at",
            "ix_system_logs_service_created_at",
            "ix_user_sessions_expires_at",
            "ix_user_sessions_user_id",
            "ix_user_taste_profiles_stale",
            "ix_users_deletion_requested_at",
            "pk_audit_logs",
            "pk_cache_entries",
            "pk_categories",
            "pk_conversations",
            "pk_data_export_requests",
            "pk_meal_plans",
            "pk_messages",
            "pk_pantry_items",
            "pk_parsed_ingredients",
            "pk_products",
            "pk_receipt_items",
            "pk_receipts",
            "pk_recipe_embeddings",
            "pk_recipe_ingredients",
            "pk_recipes",
            "pk_system_logs",
            "pk_user_sessions",
            "pk_user_taste_profiles",
            "pk_users",
            "uq_categories_parent_id_name",
            "uq_conversations_session_id",
            "uq_parsed_ingredients_recipe_id_position",
            "uq_recipe_embeddings_recipe_id",
            "uq_recipes_id_user_id",
            "uq_user_sessions_token_hash",
            "uq_users_auth0_user_id",
            "uq_users_email",
            "uq_users_username",
        }
    ),
    constraints=frozenset(
        {
            "ck_audit_logs_action_not_blank",
            "ck_cache_entries_key_not_blank",
            "ck_categories_name_not_blank",
            "ck_categories_not_own_parent",
            "ck_data_export_requests_format",
            "ck_data_export_requests_status",
            "ck_meal_plans_meal_type",
            "ck_messages_confidence_range",
            "ck_messages_role",
            "ck_pantry_items_quantity_positive",
            "ck_parsed_ingredients_name_not_blank",
            "ck_parsed_ingredients_normalized_name_lowercase",
            "ck_parsed_ingredients_position_non_negative",
            "ck_parsed_ingredients_quantity_positive",
            "ck_products_name_not_blank",
            "ck_receipt_items_product_name_not_blank",
            "ck_receipt_items_quantity_positive",
            "ck_receipt_items_total_price_non_negative",
            "ck_receipt_items_unit_price_non_negative",
            "ck_receipts_currency_iso4217",
            "ck_receipts_ocr_confidence_range",
            "ck_receipts_total_non_negative",
            "ck_recipe_embeddings_model_not_blank",
            "ck_recipe_embeddings_source_text_hash_sha256",
            "ck_recipe_ingredients_quantity_positive",
            "ck_recipes_ai_attempts_non_negative",
            "ck_recipes_ai_status",
            "ck_recipes_content_hash_sha256",
            "ck_recipes_cooking_time_range",
            "ck_recipes_difficulty_range",
            "ck_recipes_servings_range",
            "ck_recipes_title_not_blank",
            "ck_system_logs_level",
            "ck_user_sessions_expires_after_creation",
            "ck_user_taste_profiles_recipe_count_non_negative",
            "ck_users_consent_version_with_timestamp",
            "ck_users_email_format",
            "ck_users_username_length",
            "fk_categories_parent_id_categories",
            "fk_conversations_user_id_users",
            "fk_data_export_requests_user_id_users",
            "fk_meal_plans_recipe_id_recipes",
            "fk_meal_plans_user_id_users",
            "fk_messages_conversation_id_conversations",
            "fk_pantry_items_product_id_products",
            "fk_pantry_items_user_id_users",
            "fk_parsed_ingredients_recipe_id_recipes",
            "fk_products_category_id_categories",
            "fk_receipt_items_category_id_categories",
            "fk_receipt_items_product_id_products",
            "fk_receipt_items_receipt_id_receipts",
            "fk_receipts_conversation_id_conversations",
            "fk_receipts_user_id_users",
            "fk_recipe_embeddings_recipe_owner",
            "fk_recipe_ingredients_product_id_products",
            "fk_recipe_ingredients_recipe_id_recipes",
            "fk_recipes_category_id_categories",
            "fk_recipes_user_id_users",
            "fk_user_sessions_user_id_users",
            "fk_user_taste_profiles_user_id_users",
            "pk_audit_logs",
            "pk_cache_entries",
            "pk_categories",
            "pk_conversations",
            "pk_data_export_requests",
            "pk_meal_plans",
            "pk_messages",
            "pk_pantry_items",
            "pk_parsed_ingredients",
            "pk_products",
            "pk_receipt_items",
            "pk_receipts",
            "pk_recipe_embeddings",
            "pk_recipe_ingredients",
            "pk_recipes",
            "pk_system_logs",
            "pk_user_sessions",
            "pk_user_taste_profiles",
            "pk_users",
            "uq_categories_parent_id_name",
            "uq_conversations_session_id",
            "uq_parsed_ingredients_recipe_id_position",
            "uq_recipe_embeddings_recipe_id",
            "uq_recipes_id_user_id",
            "uq_user_sessions_token_hash",
            "uq_users_auth0_user_id",
            "uq_users_email",
            "uq_users_username",
        }
    ),
    triggers=frozenset(
        {
            "trg_audit_logs_append_only",
            "trg_audit_logs_no_truncate",
            "trg_cache_entries_updated_at",
            "trg_conversations_updated_at",
            "trg_meal_plans_updated_at",
            "trg_pantry_items_updated_at",
            "trg_parsed_ingredients_names_delete",
            "trg_parsed_ingredients_names_insert",
            "trg_parsed_ingredients_names_update",
            "trg_products_updated_at",
            "trg_recipe_embeddings_updated_at",
            "trg_recipes_updated_at",
            "trg_user_taste_profiles_updated_at",
            "trg_users_updated_at",
        }
    ),
    functions=frozenset(
        {
            "ensure_system_log_partitions",
            "refresh_recipe_ingredient_names",
            "reject_audit_log_change",
            "set_updated_at",
        }
    ),
    extensions=frozenset(
        {
            "vector",
        }
    ),
)


def _triggers() -> list[str]:
    statements = [
        f"CREATE TRIGGER trg_{table}_updated_at BEFORE UPDATE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION set_updated_at()"
        for table in TABLES_WITH_UPDATED_AT
    ]
    for table in APPEND_ONLY_TABLES:
        statements += [
            f"CREATE TRIGGER trg_{table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION reject_audit_log_change()",
            f"CREATE TRIGGER trg_{table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION reject_audit_log_change()",
        ]
    refresh = "FOR EACH STATEMENT EXECUTE FUNCTION refresh_recipe_ingredient_names()"
    statements += [
        "CREATE TRIGGER trg_parsed_ingredients_names_insert AFTER INSERT ON parsed_ingredients "
        f"REFERENCING NEW TABLE AS new_rows {refresh}",
        "CREATE TRIGGER trg_parsed_ingredients_names_update AFTER UPDATE ON parsed_ingredients "
        f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows {refresh}",
        "CREATE TRIGGER trg_parsed_ingredients_names_delete AFTER DELETE ON parsed_ingredients "
        f"REFERENCING OLD TABLE AS old_rows {refresh}",
    ]
    return statements


def _grants() -> list[str]:
    # The application role may read and write everything except history: the audit log is
    # SELECT + INSERT only (its triggers also stop the owner). Alembic's and the runner's own
    # tables are not granted at all.
    read_write = sorted(set(CREATED.tables) - set(APPEND_ONLY_TABLES))
    return [
        f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} NOLOGIN;
            END IF;
        END $$
        """,
        f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(read_write)} TO {APP_ROLE}",
        f"GRANT SELECT, INSERT ON {', '.join(APPEND_ONLY_TABLES)} TO {APP_ROLE}",
    ]


_ROUTINES_AND_GRANTS = [
    "CREATE TABLE system_logs_default PARTITION OF system_logs DEFAULT",
    *_FUNCTIONS,
    *_triggers(),
    "SELECT ensure_system_log_partitions(2)",
    *_grants(),
]
_DROP_ROUTINES_AND_GRANTS = [f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}"]
_DROP_FUNCTIONS = [
    "DROP FUNCTION ensure_system_log_partitions(integer)",
    "DROP FUNCTION refresh_recipe_ingredient_names()",
    "DROP FUNCTION reject_audit_log_change()",
    "DROP FUNCTION set_updated_at()",
]


def upgrade() -> None:
    for extension in EXTENSIONS:
        op.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
    op.create_table(
        "audit_logs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=128), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=128), nullable=True),
        sa.Column("subject_hash", sa.String(length=64), nullable=True),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "length(btrim(action)) > 0", name=op.f("ck_audit_logs_action_not_blank")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_logs")),
    )
    op.create_index(
        "ix_audit_logs_entity", "audit_logs", ["entity_type", "entity_id"], unique=False
    )
    op.create_index("ix_audit_logs_occurred_at", "audit_logs", ["occurred_at"], unique=False)
    op.create_index(
        "ix_audit_logs_subject_hash_occurred_at",
        "audit_logs",
        ["subject_hash", "occurred_at"],
        unique=False,
    )
    op.create_table(
        "cache_entries",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column(
            "value",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("length(key) > 0", name=op.f("ck_cache_entries_key_not_blank")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_cache_entries")),
    )
    op.create_index("ix_cache_entries_expires_at", "cache_entries", ["expires_at"], unique=False)
    op.create_table(
        "categories",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("parent_id", sa.UUID(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("length(btrim(name)) > 0", name=op.f("ck_categories_name_not_blank")),
        sa.CheckConstraint(
            "parent_id IS DISTINCT FROM id", name=op.f("ck_categories_not_own_parent")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["categories.id"],
            name=op.f("fk_categories_parent_id_categories"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
        sa.UniqueConstraint(
            "parent_id",
            "name",
            name=op.f("uq_categories_parent_id_name"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_index(op.f("ix_categories_parent_id"), "categories", ["parent_id"], unique=False)
    op.create_table(
        "system_logs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "level IN ('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL')",
            name=op.f("ck_system_logs_level"),
        ),
        sa.PrimaryKeyConstraint("id", "created_at", name=op.f("pk_system_logs")),
        postgresql_partition_by="RANGE (created_at)",
    )
    op.create_index(
        "ix_system_logs_level_created_at", "system_logs", ["level", "created_at"], unique=False
    )
    op.create_index(
        "ix_system_logs_service_created_at", "system_logs", ["service", "created_at"], unique=False
    )
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("auth0_user_id", sa.String(length=128), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("gdpr_consent_version", sa.String(length=32), nullable=True),
        sa.Column("gdpr_consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deletion_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "preferences",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "email = lower(email) AND position('@' in email) > 1",
            name=op.f("ck_users_email_format"),
        ),
        sa.CheckConstraint(
            "(gdpr_consent_version IS NULL) = (gdpr_consent_at IS NULL)",
            name=op.f("ck_users_consent_version_with_timestamp"),
        ),
        sa.CheckConstraint("length(btrim(username)) >= 3", name=op.f("ck_users_username_length")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("auth0_user_id", name=op.f("uq_users_auth0_user_id")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_index(
        "ix_users_deletion_requested_at",
        "users",
        ["deletion_requested_at"],
        unique=False,
        postgresql_where=sa.text("deletion_requested_at IS NOT NULL"),
    )
    op.create_table(
        "conversations",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("session_id", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=True),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_conversations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint("session_id", name=op.f("uq_conversations_session_id")),
    )
    op.create_index(
        "ix_conversations_user_id_updated_at",
        "conversations",
        ["user_id", "updated_at"],
        unique=False,
    )
    op.create_table(
        "data_export_requests",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("format", sa.String(length=8), server_default=sa.text("'json'"), nullable=False),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'pending'"), nullable=False
        ),
        sa.Column(
            "requested_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "format IN ('json', 'csv')", name=op.f("ck_data_export_requests_format")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'processing', 'completed', 'failed', 'expired')",
            name=op.f("ck_data_export_requests_status"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_data_export_requests_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_export_requests")),
    )
    op.create_index(
        "ix_data_export_requests_open",
        "data_export_requests",
        ["requested_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('pending', 'processing')"),
    )
    op.create_index(
        "ix_data_export_requests_user_id", "data_export_requests", ["user_id"], unique=False
    )
    op.create_table(
        "products",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("category_id", sa.UUID(), nullable=True),
        sa.Column(
            "nutritional_info",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "storage_info",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("length(btrim(name)) > 0", name=op.f("ck_products_name_not_blank")),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_products_category_id_categories"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
    )
    op.create_index(op.f("ix_products_category_id"), "products", ["category_id"], unique=False)
    op.create_index("ix_products_name", "products", ["name"], unique=False)
    op.create_table(
        "recipes",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("category_id", sa.UUID(), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("instructions", sa.Text(), nullable=True),
        sa.Column("cooking_time_minutes", sa.Integer(), nullable=True),
        sa.Column("difficulty", sa.SmallInteger(), nullable=True),
        sa.Column("servings", sa.Integer(), nullable=True),
        sa.Column("cuisine_type", sa.String(length=64), nullable=True),
        sa.Column(
            "tags",
            postgresql.ARRAY(sa.String(length=64)),
            server_default=sa.text("'{}'::character varying[]"),
            nullable=False,
        ),
        sa.Column(
            "ai_status", sa.String(length=16), server_default=sa.text("'pending'"), nullable=False
        ),
        sa.Column("ai_error", sa.Text(), nullable=True),
        sa.Column("ai_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("ai_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ai_processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("ingredient_names", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || setweight(to_tsvector('english'::regconfig, coalesce(ingredient_names, '')), 'B') || setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'C')",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "ai_status IN ('pending', 'processing', 'completed', 'failed')",
            name=op.f("ck_recipes_ai_status"),
        ),
        sa.CheckConstraint(
            "content_hash ~ '^[0-9a-f]{64}$'", name=op.f("ck_recipes_content_hash_sha256")
        ),
        sa.CheckConstraint("ai_attempts >= 0", name=op.f("ck_recipes_ai_attempts_non_negative")),
        sa.CheckConstraint(
            "cooking_time_minutes BETWEEN 0 AND 10080", name=op.f("ck_recipes_cooking_time_range")
        ),
        sa.CheckConstraint("difficulty BETWEEN 1 AND 5", name=op.f("ck_recipes_difficulty_range")),
        sa.CheckConstraint("length(btrim(title)) > 0", name=op.f("ck_recipes_title_not_blank")),
        sa.CheckConstraint("servings BETWEEN 1 AND 100", name=op.f("ck_recipes_servings_range")),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_recipes_category_id_categories"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_recipes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recipes")),
        sa.UniqueConstraint("id", "user_id", name="uq_recipes_id_user_id"),
    )
    op.create_index(
        "ix_recipes_ai_processing",
        "recipes",
        ["ai_started_at"],
        unique=False,
        postgresql_where=sa.text("ai_status = 'processing'"),
    )
    op.create_index(
        "ix_recipes_ai_queue",
        "recipes",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("ai_status IN ('pending', 'failed')"),
    )
    op.create_index(op.f("ix_recipes_category_id"), "recipes", ["category_id"], unique=False)
    op.create_index("ix_recipes_cuisine_type", "recipes", ["cuisine_type"], unique=False)
    op.create_index(
        "ix_recipes_search_vector",
        "recipes",
        ["search_vector"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index("ix_recipes_tags", "recipes", ["tags"], unique=False, postgresql_using="gin")
    op.create_index(
        "ix_recipes_user_id_created_at", "recipes", ["user_id", "created_at"], unique=False
    )
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.String(length=128), nullable=False),
        sa.Column("ip_address", postgresql.INET(), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "expires_at > created_at", name=op.f("ck_user_sessions_expires_after_creation")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_sessions_token_hash")),
    )
    op.create_index("ix_user_sessions_expires_at", "user_sessions", ["expires_at"], unique=False)
    op.create_index("ix_user_sessions_user_id", "user_sessions", ["user_id"], unique=False)
    op.create_table(
        "user_taste_profiles",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column(
            "favorite_ingredients",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "cuisine_preferences",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "difficulty_distribution",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "cooking_time_distribution",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "dietary_restrictions",
            postgresql.ARRAY(sa.String(length=64)),
            server_default=sa.text("'{}'::character varying[]"),
            nullable=False,
        ),
        sa.Column("recipe_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("is_stale", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "stale_since",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column("calculated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "recipe_count >= 0", name=op.f("ck_user_taste_profiles_recipe_count_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_taste_profiles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_taste_profiles")),
    )
    op.create_index(
        "ix_user_taste_profiles_stale",
        "user_taste_profiles",
        ["stale_since"],
        unique=False,
        postgresql_where=sa.text("is_stale"),
    )
    op.create_table(
        "meal_plans",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("plan_date", sa.Date(), nullable=False),
        sa.Column("meal_type", sa.String(length=20), nullable=False),
        sa.Column("recipe_id", sa.UUID(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "meal_type IN ('breakfast', 'lunch', 'dinner', 'snack')",
            name=op.f("ck_meal_plans_meal_type"),
        ),
        sa.ForeignKeyConstraint(
            ["recipe_id"],
            ["recipes.id"],
            name=op.f("fk_meal_plans_recipe_id_recipes"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_meal_plans_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meal_plans")),
    )
    op.create_index(op.f("ix_meal_plans_recipe_id"), "meal_plans", ["recipe_id"], unique=False)
    op.create_index(
        "ix_meal_plans_user_id_plan_date", "meal_plans", ["user_id", "plan_date"], unique=False
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("conversation_id", sa.UUID(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("agent_used", sa.String(length=50), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "role IN ('user', 'assistant', 'system', 'tool')", name=op.f("ck_messages_role")
        ),
        sa.CheckConstraint("confidence BETWEEN 0 AND 1", name=op.f("ck_messages_confidence_range")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_messages_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    op.create_index(
        "ix_messages_conversation_id_created_at",
        "messages",
        ["conversation_id", "created_at"],
        unique=False,
    )
    op.create_index("ix_messages_created_at", "messages", ["created_at"], unique=False)
    op.create_table(
        "pantry_items",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("product_id", sa.UUID(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=10, scale=3), nullable=True),
        sa.Column("unit", sa.String(length=32), nullable=True),
        sa.Column("expiry_date", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_pantry_items_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_pantry_items_product_id_products"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_pantry_items_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pantry_items")),
    )
    op.create_index("ix_pantry_items_expiry_date", "pantry_items", ["expiry_date"], unique=False)
    op.create_index(
        op.f("ix_pantry_items_product_id"), "pantry_items", ["product_id"], unique=False
    )
    op.create_index(
        "ix_pantry_items_user_id_expiry_date",
        "pantry_items",
        ["user_id", "expiry_date"],
        unique=False,
    )
    op.create_table(
        "parsed_ingredients",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("recipe_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("normalized_name", sa.String(length=255), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=10, scale=3), nullable=True),
        sa.Column("unit", sa.String(length=32), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "length(btrim(name)) > 0", name=op.f("ck_parsed_ingredients_name_not_blank")
        ),
        sa.CheckConstraint(
            "length(normalized_name) > 0 AND normalized_name = lower(normalized_name)",
            name=op.f("ck_parsed_ingredients_normalized_name_lowercase"),
        ),
        sa.CheckConstraint(
            "position >= 0", name=op.f("ck_parsed_ingredients_position_non_negative")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_parsed_ingredients_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["recipe_id"],
            ["recipes.id"],
            name=op.f("fk_parsed_ingredients_recipe_id_recipes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parsed_ingredients")),
        sa.UniqueConstraint(
            "recipe_id", "position", name=op.f("uq_parsed_ingredients_recipe_id_position")
        ),
    )
    op.create_index(
        "ix_parsed_ingredients_normalized_name",
        "parsed_ingredients",
        ["normalized_name", "recipe_id"],
        unique=False,
    )
    op.create_table(
        "receipts",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("conversation_id", sa.UUID(), nullable=True),
        sa.Column("store_name", sa.String(length=255), nullable=True),
        sa.Column("total_amount", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), server_default="EUR", nullable=False),
        sa.Column("purchase_date", sa.Date(), nullable=True),
        sa.Column(
            "receipt_date",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("image_path", sa.String(length=500), nullable=True),
        sa.Column("ocr_confidence", sa.Float(), nullable=True),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_receipts_currency_iso4217")),
        sa.CheckConstraint(
            "ocr_confidence BETWEEN 0 AND 1", name=op.f("ck_receipts_ocr_confidence_range")
        ),
        sa.CheckConstraint("total_amount >= 0", name=op.f("ck_receipts_total_non_negative")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_receipts_conversation_id_conversations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_receipts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipts")),
    )
    op.create_index(
        op.f("ix_receipts_conversation_id"), "receipts", ["conversation_id"], unique=False
    )
    op.create_index("ix_receipts_purchase_date", "receipts", ["purchase_date"], unique=False)
    op.create_index(
        "ix_receipts_user_id_purchase_date", "receipts", ["user_id", "purchase_date"], unique=False
    )
    op.create_table(
        "recipe_embeddings",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("recipe_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("embedding", pgvector.sqlalchemy.Vector(EMBEDDING_DIM), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("model_version", sa.String(length=50), nullable=False),
        sa.Column("source_text_hash", sa.String(length=64), nullable=False),
        sa.Column("is_stale", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "source_text_hash ~ '^[0-9a-f]{64}$'",
            name=op.f("ck_recipe_embeddings_source_text_hash_sha256"),
        ),
        sa.CheckConstraint(
            "length(btrim(model)) > 0", name=op.f("ck_recipe_embeddings_model_not_blank")
        ),
        sa.ForeignKeyConstraint(
            ["recipe_id", "user_id"],
            ["recipes.id", "recipes.user_id"],
            name="fk_recipe_embeddings_recipe_owner",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recipe_embeddings")),
        sa.UniqueConstraint("recipe_id", name=op.f("uq_recipe_embeddings_recipe_id")),
    )
    op.create_index(
        "ix_recipe_embeddings_embedding_hnsw",
        "recipe_embeddings",
        ["embedding"],
        unique=False,
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.create_index(
        "ix_recipe_embeddings_model_version",
        "recipe_embeddings",
        ["model", "model_version"],
        unique=False,
    )
    op.create_index(
        "ix_recipe_embeddings_stale",
        "recipe_embeddings",
        ["updated_at"],
        unique=False,
        postgresql_where=sa.text("is_stale"),
    )
    op.create_index("ix_recipe_embeddings_user_id", "recipe_embeddings", ["user_id"], unique=False)
    op.create_table(
        "recipe_ingredients",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("recipe_id", sa.UUID(), nullable=False),
        sa.Column("product_id", sa.UUID(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=10, scale=3), nullable=True),
        sa.Column("unit", sa.String(length=32), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_recipe_ingredients_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_recipe_ingredients_product_id_products"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recipe_id"],
            ["recipes.id"],
            name=op.f("fk_recipe_ingredients_recipe_id_recipes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recipe_ingredients")),
    )
    op.create_index(
        op.f("ix_recipe_ingredients_product_id"), "recipe_ingredients", ["product_id"], unique=False
    )
    op.create_index(
        op.f("ix_recipe_ingredients_recipe_id"), "recipe_ingredients", ["recipe_id"], unique=False
    )
    op.create_table(
        "receipt_items",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("receipt_id", sa.UUID(), nullable=False),
        sa.Column("product_name", sa.String(length=255), nullable=False),
        sa.Column("product_id", sa.UUID(), nullable=True),
        sa.Column("category_id", sa.UUID(), nullable=True),
        sa.Column(
            "quantity", sa.Numeric(precision=10, scale=3), server_default="1", nullable=False
        ),
        sa.Column("unit_price", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("total_price", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "length(btrim(product_name)) > 0", name=op.f("ck_receipt_items_product_name_not_blank")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_receipt_items_quantity_positive")),
        sa.CheckConstraint(
            "total_price >= 0", name=op.f("ck_receipt_items_total_price_non_negative")
        ),
        sa.CheckConstraint(
            "unit_price >= 0", name=op.f("ck_receipt_items_unit_price_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_receipt_items_category_id_categories"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_receipt_items_product_id_products"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["receipts.id"],
            name=op.f("fk_receipt_items_receipt_id_receipts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt_items")),
    )
    op.create_index(
        op.f("ix_receipt_items_category_id"), "receipt_items", ["category_id"], unique=False
    )
    op.create_index(
        op.f("ix_receipt_items_product_id"), "receipt_items", ["product_id"], unique=False
    )
    op.create_index(
        op.f("ix_receipt_items_receipt_id"), "receipt_items", ["receipt_id"], unique=False
    )
    for statement in _ROUTINES_AND_GRANTS:
        op.execute(statement)


def downgrade() -> None:
    for statement in _DROP_ROUTINES_AND_GRANTS:
        op.execute(statement)
    op.drop_index(op.f("ix_receipt_items_receipt_id"), table_name="receipt_items")
    op.drop_index(op.f("ix_receipt_items_product_id"), table_name="receipt_items")
    op.drop_index(op.f("ix_receipt_items_category_id"), table_name="receipt_items")
    op.drop_table("receipt_items")
    op.drop_index(op.f("ix_recipe_ingredients_recipe_id"), table_name="recipe_ingredients")
    op.drop_index(op.f("ix_recipe_ingredients_product_id"), table_name="recipe_ingredients")
    op.drop_table("recipe_ingredients")
    op.drop_index("ix_recipe_embeddings_user_id", table_name="recipe_embeddings")
    op.drop_index(
        "ix_recipe_embeddings_stale",
        table_name="recipe_embeddings",
        postgresql_where=sa.text("is_stale"),
    )
    op.drop_index("ix_recipe_embeddings_model_version", table_name="recipe_embeddings")
    op.drop_index(
        "ix_recipe_embeddings_embedding_hnsw",
        table_name="recipe_embeddings",
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.drop_table("recipe_embeddings")
    op.drop_index("ix_receipts_user_id_purchase_date", table_name="receipts")
    op.drop_index("ix_receipts_purchase_date", table_name="receipts")
    op.drop_index(op.f("ix_receipts_conversation_id"), table_name="receipts")
    op.drop_table("receipts")
    op.drop_index("ix_parsed_ingredients_normalized_name", table_name="parsed_ingredients")
    op.drop_table("parsed_ingredients")
    op.drop_index("ix_pantry_items_user_id_expiry_date", table_name="pantry_items")
    op.drop_index(op.f("ix_pantry_items_product_id"), table_name="pantry_items")
    op.drop_index("ix_pantry_items_expiry_date", table_name="pantry_items")
    op.drop_table("pantry_items")
    op.drop_index("ix_messages_created_at", table_name="messages")
    op.drop_index("ix_messages_conversation_id_created_at", table_name="messages")
    op.drop_table("messages")
    op.drop_index("ix_meal_plans_user_id_plan_date", table_name="meal_plans")
    op.drop_index(op.f("ix_meal_plans_recipe_id"), table_name="meal_plans")
    op.drop_table("meal_plans")
    op.drop_index(
        "ix_user_taste_profiles_stale",
        table_name="user_taste_profiles",
        postgresql_where=sa.text("is_stale"),
    )
    op.drop_table("user_taste_profiles")
    op.drop_index("ix_user_sessions_user_id", table_name="user_sessions")
    op.drop_index("ix_user_sessions_expires_at", table_name="user_sessions")
    op.drop_table("user_sessions")
    op.drop_index("ix_recipes_user_id_created_at", table_name="recipes")
    op.drop_index("ix_recipes_tags", table_name="recipes", postgresql_using="gin")
    op.drop_index("ix_recipes_search_vector", table_name="recipes", postgresql_using="gin")
    op.drop_index("ix_recipes_cuisine_type", table_name="recipes")
    op.drop_index(op.f("ix_recipes_category_id"), table_name="recipes")
    op.drop_index(
        "ix_recipes_ai_queue",
        table_name="recipes",
        postgresql_where=sa.text("ai_status IN ('pending', 'failed')"),
    )
    op.drop_index(
        "ix_recipes_ai_processing",
        table_name="recipes",
        postgresql_where=sa.text("ai_status = 'processing'"),
    )
    op.drop_table("recipes")
    op.drop_index("ix_products_name", table_name="products")
    op.drop_index(op.f("ix_products_category_id"), table_name="products")
    op.drop_table("products")
    op.drop_index("ix_data_export_requests_user_id", table_name="data_export_requests")
    op.drop_index(
        "ix_data_export_requests_open",
        table_name="data_export_requests",
        postgresql_where=sa.text("status IN ('pending', 'processing')"),
    )
    op.drop_table("data_export_requests")
    op.drop_index("ix_conversations_user_id_updated_at", table_name="conversations")
    op.drop_table("conversations")
    op.drop_index(
        "ix_users_deletion_requested_at",
        table_name="users",
        postgresql_where=sa.text("deletion_requested_at IS NOT NULL"),
    )
    op.drop_table("users")
    op.drop_index("ix_system_logs_service_created_at", table_name="system_logs")
    op.drop_index("ix_system_logs_level_created_at", table_name="system_logs")
    op.drop_table("system_logs")
    op.drop_index(op.f("ix_categories_parent_id"), table_name="categories")
    op.drop_table("categories")
    op.drop_index("ix_cache_entries_expires_at", table_name="cache_entries")
    op.drop_table("cache_entries")
    op.drop_index("ix_audit_logs_subject_hash_occurred_at", table_name="audit_logs")
    op.drop_index("ix_audit_logs_occurred_at", table_name="audit_logs")
    op.drop_index("ix_audit_logs_entity", table_name="audit_logs")
    op.drop_table("audit_logs")
    for statement in _DROP_FUNCTIONS:
        op.execute(statement)


def validate_upgrade(connection: Connection) -> None:
    CREATED.assert_present(connection)


def validate_downgrade(connection: Connection) -> None:
    CREATED.assert_absent(connection)
