"""erasure search text: ingredient changes leave alone the recipes of a person being erased

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 18:00:00

The statement trigger on ``parsed_ingredients`` rewrites each touched recipe's
``ingredient_names`` (and so its generated ``search_vector`` and GIN entries). Erasure
deletes a heavy user's ingredient lines before their recipes, so it rewrote every recipe
once just before deleting it: most of the erasure's time. The replacement skips recipes
whose owner has a pending deletion request. Nothing else writes those recipes' ingredients
(an owner with a pending request is inactive and every write path refuses them), so the
skipped refresh is only ever the one erasure makes before the recipe itself goes.
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import Connection, text

from datalayer.errors import MigrationError

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SKIPS_ERASURE = "skips the recipes of owners with a pending deletion request"

REFRESH_NAMES = f"""
CREATE OR REPLACE FUNCTION refresh_recipe_ingredient_names() RETURNS trigger
LANGUAGE plpgsql AS $$
-- {_SKIPS_ERASURE}: they are being erased.
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
      FROM users AS u
     WHERE r.id = ANY(touched) AND u.id = r.user_id AND u.deletion_requested_at IS NULL;
    RETURN NULL;
END $$
"""

# As migration 0001 created it.
PREVIOUS_REFRESH_NAMES = """
CREATE OR REPLACE FUNCTION refresh_recipe_ingredient_names() RETURNS trigger LANGUAGE plpgsql AS $$
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
"""


def upgrade() -> None:
    op.execute(REFRESH_NAMES)


def downgrade() -> None:
    op.execute(PREVIOUS_REFRESH_NAMES)


def _skips_erasure(connection: Connection) -> bool:
    body = connection.execute(
        text("SELECT prosrc FROM pg_proc WHERE proname = 'refresh_recipe_ingredient_names'")
    ).scalar()
    return _SKIPS_ERASURE in str(body)


def validate_upgrade(connection: Connection) -> None:
    if not _skips_erasure(connection):
        raise MigrationError("validation failed: refresh_recipe_ingredient_names not replaced")


def validate_downgrade(connection: Connection) -> None:
    if _skips_erasure(connection):
        raise MigrationError("validation failed: refresh_recipe_ingredient_names not restored")
