"""embedding storage: vectors stored inline in the row (STORAGE PLAIN), not in TOAST

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-02 23:00:00

pgvector's ``vector`` type defaults to ``STORAGE EXTERNAL``: a 1536-dimension vector (6 KB)
is moved out of line into the TOAST table, so reading one row costs a TOAST index probe
plus four chunk fetches. Exact scans (a user's rows) and the distance of every HNSW
candidate read the vector from the row, so they pay that per row: stored inline, the
benchmark's exact scan of 1,000 rows took 2.6 ms instead of 10.9 ms (best of 30). A row
then fills most of a page; dimensions above :data:`PLAIN_MAX_DIM` would not fit a page
with the other columns at their longest, so for those the storage stays ``EXTERNAL``.

Only rows written after the change are stored inline (``SET STORAGE`` rewrites nothing);
existing rows move when their embedding is next written (re-embedding), or all at once
with a table rewrite (``VACUUM FULL recipe_embeddings``) in a maintenance window.
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import Connection, text

from datalayer.errors import MigrationError
from datalayer.settings import get_settings

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLAIN_MAX_DIM = 1800  # 4 bytes each + header + the other columns at full length < 8160
EMBEDDING_DIM = get_settings().embedding_dim
STORAGE = "PLAIN" if EMBEDDING_DIM <= PLAIN_MAX_DIM else "EXTERNAL"


def upgrade() -> None:
    op.execute(f"ALTER TABLE recipe_embeddings ALTER COLUMN embedding SET STORAGE {STORAGE}")


def downgrade() -> None:
    op.execute("ALTER TABLE recipe_embeddings ALTER COLUMN embedding SET STORAGE EXTERNAL")


def _storage(connection: Connection) -> str:
    code = connection.execute(
        text(
            "SELECT attstorage FROM pg_attribute "
            "WHERE attrelid = 'recipe_embeddings'::regclass AND attname = 'embedding'"
        )
    ).scalar()
    return {"p": "PLAIN", "e": "EXTERNAL", "m": "MAIN", "x": "EXTENDED"}.get(str(code), "?")


def validate_upgrade(connection: Connection) -> None:
    if _storage(connection) != STORAGE:
        raise MigrationError(f"validation failed: recipe_embeddings.embedding not {STORAGE}")


def validate_downgrade(connection: Connection) -> None:
    if _storage(connection) != "EXTERNAL":
        raise MigrationError("validation failed: recipe_embeddings.embedding not EXTERNAL")
