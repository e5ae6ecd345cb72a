"""vector index rebuild: the application may drop and rebuild the embedding vector indexes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 22:30:00

A large ``EmbeddingRepository.bulk_load`` drops the HNSW (and IVFFlat) indexes of
``recipe_embeddings``, loads, and builds them again, which is several times faster than
inserting every row into the graph. Dropping and creating an index needs the table's owner,
and the application's role only reads and writes rows, so two SECURITY DEFINER functions,
executable by the application role, do the DDL:

- ``drop_embedding_vector_indexes()`` locks the table (ACCESS EXCLUSIVE, until the caller's
  transaction ends), keeps each valid vector index's name and ``pg_get_indexdef`` in a
  temporary table that only the function's owner can write and that is dropped at commit,
  drops the indexes and returns what it kept.
- ``rebuild_embedding_vector_indexes()`` recreates exactly those definitions, in the same
  transaction, and returns the names. It refuses to run unless the kept definitions are its
  owner's own, so a caller can never have it execute DDL of its choosing.

The caller's ``maintenance_work_mem`` and ``max_parallel_maintenance_workers`` apply to the
build. Both functions search only the migrated schema and, last, ``pg_temp``.
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import Connection, text

from datalayer.migrations.validation import SchemaObjects
from datalayer.settings import get_settings

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DROP_FUNCTION = "drop_embedding_vector_indexes"
REBUILD_FUNCTION = "rebuild_embedding_vector_indexes"
KEPT = "pg_temp.embedding_vector_index_rebuild"
CREATED = SchemaObjects(functions=frozenset({DROP_FUNCTION, REBUILD_FUNCTION}))

_DROP = f"""
CREATE FUNCTION {DROP_FUNCTION}() RETURNS TABLE (index_name text, definition text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {{schema}}, pg_temp AS $$
DECLARE
    kept record;
BEGIN
    LOCK TABLE recipe_embeddings IN ACCESS EXCLUSIVE MODE;
    CREATE TEMPORARY TABLE embedding_vector_index_rebuild ON COMMIT DROP AS
    SELECT format('%I.%I', n.nspname, c.relname) AS index_name,
           pg_get_indexdef(i.indexrelid) AS definition
      FROM pg_index AS i
      JOIN pg_class AS c ON c.oid = i.indexrelid
      JOIN pg_namespace AS n ON n.oid = c.relnamespace
      JOIN pg_am AS a ON a.oid = c.relam
     WHERE i.indrelid = 'recipe_embeddings'::regclass
       AND a.amname IN ('hnsw', 'ivfflat')
       AND i.indisvalid AND i.indisready;
    FOR kept IN SELECT k.index_name FROM {KEPT} AS k LOOP
        EXECUTE 'DROP INDEX ' || kept.index_name;
    END LOOP;
    RETURN QUERY SELECT k.index_name, k.definition FROM {KEPT} AS k ORDER BY k.index_name;
END $$
"""

_REBUILD = f"""
CREATE FUNCTION {REBUILD_FUNCTION}() RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {{schema}}, pg_temp AS $$
DECLARE
    kept record;
BEGIN
    IF to_regclass('{KEPT}') IS NULL OR (
        SELECT c.relowner FROM pg_class AS c WHERE c.oid = to_regclass('{KEPT}')
    ) <> current_user::regrole THEN
        RAISE EXCEPTION 'no vector indexes were dropped in this transaction'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    FOR kept IN SELECT k.index_name, k.definition FROM {KEPT} AS k ORDER BY k.index_name LOOP
        EXECUTE kept.definition;
        RETURN NEXT kept.index_name;
    END LOOP;
    DROP TABLE {KEPT};
END $$
"""


def _schema(connection: Connection) -> str:
    return str(connection.execute(text("SELECT quote_ident(current_schema())")).scalar_one())


def upgrade() -> None:
    schema = _schema(op.get_bind())
    app = get_settings().database_app_role
    for body, name in ((_DROP, DROP_FUNCTION), (_REBUILD, REBUILD_FUNCTION)):
        op.execute(body.format(schema=schema))
        op.execute(f"REVOKE ALL ON FUNCTION {name}() FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {name}() TO {app}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {REBUILD_FUNCTION}()")
    op.execute(f"DROP FUNCTION {DROP_FUNCTION}()")


def validate_upgrade(connection: Connection) -> None:
    CREATED.assert_present(connection)


def validate_downgrade(connection: Connection) -> None:
    CREATED.assert_absent(connection)
