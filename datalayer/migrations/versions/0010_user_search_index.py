"""user search index: one GIN index on (user_id, search_vector) for per-user full-text search

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 23:00:00

Every full-text search acts for one user. With a GIN index on ``search_vector`` alone,
PostgreSQL either ANDs it with the user index (two bitmaps, the text one spanning every
user's matches) or reads all of the user's recipes and filters them. ``btree_gin`` lets one
GIN index hold both columns, so one scan yields exactly the user's matches. A multicolumn
GIN index also serves conditions on ``search_vector`` alone, so it replaces the old index
rather than adding a second GIN to maintain on every recipe write.

The new index is built online after the migration transaction commits (a concurrent step);
the old one is dropped in the transaction. Until the build ends, searches read the user's
recipes through ``ix_recipes_user_id_created_at`` and filter them: same results, slower
for users with many recipes.
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import Connection, text

from datalayer.errors import MigrationError
from datalayer.migrations.concurrent import ConcurrentIndex

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

USER_SEARCH_INDEX = ConcurrentIndex(
    name="ix_recipes_user_id_search_vector",
    table="recipes",
    columns="USING gin (user_id, search_vector)",
)
OLD_INDEX = "ix_recipes_search_vector"


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.execute(f"DROP INDEX {OLD_INDEX}")


def concurrent_steps() -> list[ConcurrentIndex]:
    return [USER_SEARCH_INDEX]


def downgrade() -> None:
    # The extension stays: other schemas may use it (as with every extension here).
    op.execute(f"DROP INDEX IF EXISTS {USER_SEARCH_INDEX.name}")
    op.execute(f"CREATE INDEX {OLD_INDEX} ON recipes USING gin (search_vector)")


def _present(connection: Connection, name: str) -> bool:
    return bool(connection.execute(text("SELECT to_regclass(:name)"), {"name": name}).scalar())


def validate_upgrade(connection: Connection) -> None:
    # The new index is built after this transaction commits; the runner validates it.
    if not connection.execute(
        text("SELECT 1 FROM pg_extension WHERE extname = 'btree_gin'")
    ).first():
        raise MigrationError("validation failed, missing: extension btree_gin")
    if _present(connection, OLD_INDEX):
        raise MigrationError(f"validation failed, still present: index {OLD_INDEX}")


def validate_downgrade(connection: Connection) -> None:
    if not _present(connection, OLD_INDEX):
        raise MigrationError(f"validation failed, missing: index {OLD_INDEX}")
    if _present(connection, USER_SEARCH_INDEX.name):
        raise MigrationError(f"validation failed, still present: index {USER_SEARCH_INDEX.name}")
