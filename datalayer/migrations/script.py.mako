"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

Every version defines validate_upgrade() and validate_downgrade(): the runner calls them in
the migration's transaction, so a failed check rolls the version back.
"""

from collections.abc import Sequence

import pgvector.sqlalchemy  # noqa: F401  (autogenerate renders pgvector types)
import sqlalchemy as sa
from alembic import op
from sqlalchemy import Connection
${imports if imports else ""}
from datalayer.migrations.validation import SchemaObjects

revision: str = ${repr(up_revision)}
down_revision: str | Sequence[str] | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}

CREATED = SchemaObjects()


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}


def validate_upgrade(connection: Connection) -> None:
    CREATED.assert_present(connection)


def validate_downgrade(connection: Connection) -> None:
    CREATED.assert_absent(connection)
