"""vector search tuning: the measured ef_search per HNSW index

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 10:00:00

One row per tuning run (``python -m datalayer vector tune``, the ``vector_tune`` maintenance
task): the smallest ef_search whose measured recall bound met the target, with the figures
behind it. The application only reads it (searches take the newest row of their index);
rows are written by whoever runs maintenance: the tables' owner, or the NOLOGIN role
``recipe_maintenance`` of 0004.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Connection

from datalayer.migrations.validation import SchemaObjects
from datalayer.settings import get_settings

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MAINTENANCE_ROLE = "recipe_maintenance"

CREATED = SchemaObjects(
    tables=frozenset({"vector_search_tuning"}),
    indexes=frozenset({"ix_vector_search_tuning_index_name_tuned_at"}),
    constraints=frozenset(
        {
            "pk_vector_search_tuning",
            "ck_vector_search_tuning_ef_search_range",
            "ck_vector_search_tuning_k_range",
            "ck_vector_search_tuning_recall_range",
            "ck_vector_search_tuning_sample_size_range",
        }
    ),
)


def upgrade() -> None:
    op.create_table(
        "vector_search_tuning",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("index_name", sa.String(length=63), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("target_recall", sa.Float(), nullable=False),
        sa.Column("ef_search", sa.Integer(), nullable=False),
        sa.Column("recall_mean", sa.Float(), nullable=False),
        sa.Column("recall_lower_bound", sa.Float(), nullable=False),
        sa.Column("target_met", sa.Boolean(), nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column(
            "tuned_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint(
            "ef_search BETWEEN 1 AND 1000", name=op.f("ck_vector_search_tuning_ef_search_range")
        ),
        sa.CheckConstraint("k BETWEEN 1 AND 1000", name=op.f("ck_vector_search_tuning_k_range")),
        sa.CheckConstraint(
            "target_recall > 0 AND target_recall <= 1 AND recall_mean BETWEEN 0 AND 1 "
            "AND recall_lower_bound BETWEEN 0 AND recall_mean",
            name=op.f("ck_vector_search_tuning_recall_range"),
        ),
        sa.CheckConstraint(
            "sample_size > 0 AND row_count >= sample_size",
            name=op.f("ck_vector_search_tuning_sample_size_range"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vector_search_tuning")),
    )
    op.create_index(
        "ix_vector_search_tuning_index_name_tuned_at",
        "vector_search_tuning",
        ["index_name", "tuned_at"],
    )
    op.execute(f"GRANT SELECT ON vector_search_tuning TO {get_settings().database_app_role}")
    op.execute(f"GRANT SELECT, INSERT ON vector_search_tuning TO {MAINTENANCE_ROLE}")


def downgrade() -> None:
    op.drop_table("vector_search_tuning")


def validate_upgrade(connection: Connection) -> None:
    CREATED.assert_present(connection)


def validate_downgrade(connection: Connection) -> None:
    CREATED.assert_absent(connection)
