"""erasure ledger

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-02 16:00:00

The ledger of GDPR erasures: subject hashes and times only. The application role may add
and complete entries but never delete one, so an erasure cannot be forgotten by the app.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql

from datalayer.migrations.validation import SchemaObjects
from datalayer.settings import get_settings

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CREATED = SchemaObjects(
    tables=frozenset({"erasure_ledger"}),
    constraints=frozenset(
        {
            "pk_erasure_ledger",
            "ck_erasure_ledger_subject_hash_format",
            "ck_erasure_ledger_completed_with_count",
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


def downgrade() -> None:
    op.drop_table("erasure_ledger")


def validate_upgrade(connection: Connection) -> None:
    CREATED.assert_present(connection)


def validate_downgrade(connection: Connection) -> None:
    CREATED.assert_absent(connection)


def _app_role() -> str:
    return get_settings().database_app_role
