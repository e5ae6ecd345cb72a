"""gdpr records: consent history, the erasure ledger, the audit hash chain

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 16:00:00

Consent per purpose, one row per grant or withdrawal: the application may add and (through
erasure) delete rows, never rewrite one. The ledger of erasures holds subject hashes and
times only; the application may add and complete entries but never delete one, so an
erasure cannot be forgotten.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql

from datalayer.migrations.validation import SchemaObjects
from datalayer.settings import get_settings

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CREATED = SchemaObjects(
    tables=frozenset({"erasure_ledger", "consent_records"}),
    indexes=frozenset({"ix_consent_records_user_id_purpose_recorded_at"}),
    constraints=frozenset(
        {
            "pk_erasure_ledger",
            "ck_erasure_ledger_subject_hash_format",
            "ck_erasure_ledger_completed_with_count",
            "pk_consent_records",
            "fk_consent_records_user_id_users",
            "ck_consent_records_purpose",
            "ck_consent_records_policy_version_not_blank",
        }
    ),
)


def upgrade() -> None:
    op.create_table(
        "erasure_ledger",
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "requested_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rows_erased", sa.BigInteger(), nullable=True),
        sa.Column(
            "tables",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "subject_hash ~ '^[0-9a-f]{64}$'",
            name=op.f("ck_erasure_ledger_subject_hash_format"),
        ),
        sa.CheckConstraint(
            "(completed_at IS NULL) = (rows_erased IS NULL)",
            name=op.f("ck_erasure_ledger_completed_with_count"),
        ),
        sa.PrimaryKeyConstraint("subject_hash", name=op.f("pk_erasure_ledger")),
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON erasure_ledger TO {_app_role()}")
    op.create_table(
        "consent_records",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("policy_version", sa.String(length=32), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "purpose IN ('personalization', 'analytics', 'marketing')",
            name=op.f("ck_consent_records_purpose"),
        ),
        sa.CheckConstraint(
            "length(btrim(policy_version)) > 0",
            name=op.f("ck_consent_records_policy_version_not_blank"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_consent_records_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_records")),
    )
    op.create_index(
        "ix_consent_records_user_id_purpose_recorded_at",
        "consent_records",
        ["user_id", "purpose", "recorded_at"],
    )
    op.execute(f"GRANT SELECT, INSERT, DELETE ON consent_records TO {_app_role()}")

    # The audit hash chain. Rows written before this version have no link: nullable, and
    # `audit verify` reports such a row as the first broken link.
    op.add_column("audit_logs", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_logs", sa.Column("row_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("audit_logs", "row_hash")
    op.drop_column("audit_logs", "prev_hash")
    op.drop_table("consent_records")
    op.drop_table("erasure_ledger")


def validate_upgrade(connection: Connection) -> None:
    CREATED.assert_present(connection)


def validate_downgrade(connection: Connection) -> None:
    CREATED.assert_absent(connection)


def _app_role() -> str:
    return get_settings().database_app_role
