"""What ``migrate check`` compares, and what it deliberately leaves out.

Alembic's autogenerate (with server defaults switched on) covers tables, columns, types,
nullability, server defaults, indexes, unique and foreign-key constraints. It does not look
at CHECK constraints or triggers, so those are read from the catalogue here: CHECK
constraints against the models, triggers against the names the applied migration versions
declare in their ``CREATED`` objects (and whether each is enabled). Function bodies, grants
and trigger definitions are not compared.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import CheckConstraint, Connection, MetaData, text
from sqlalchemy.schema import AddConstraint

from datalayer.migrations.history import HISTORY_TABLE
from datalayer.models.audit import AUDIT_LOG_PARTITION_PREFIX
from datalayer.models.system import SYSTEM_LOG_PARTITION_PREFIX

_PARTITION_NAME = re.compile(
    rf"^({SYSTEM_LOG_PARTITION_PREFIX}|{AUDIT_LOG_PARTITION_PREFIX})(\d{{6}}|default)$"
)


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Skip the runner's own table and the monthly partitions of the partitioned logs."""
    if type_ == "table" and name is not None:
        return name != HISTORY_TABLE and not _PARTITION_NAME.match(name)
    return True


def compare_type(
    context: Any,
    inspected_column: Any,
    metadata_column: Any,
    inspected_type: Any,
    metadata_type: Any,
) -> bool | None:
    """Vector columns: the database dimension must equal ``EMBEDDING_DIM``.

    Returns True when the types differ, None to let Alembic decide for other types.
    """
    if isinstance(metadata_type, Vector):
        from datalayer.settings import get_settings

        expected = get_settings().embedding_dim
        return getattr(inspected_type, "dim", None) != expected
    return None


_CHECKS = (
    "SELECT c.relname, con.conname, pg_get_constraintdef(con.oid) FROM pg_constraint con "
    "JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.oid = {schema} AND con.contype = 'c' AND NOT c.relispartition"
)
_TABLES = text(
    "SELECT relname FROM pg_class "
    "WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'p')"
)
_TRIGGERS = text(
    "SELECT t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = current_schema() AND NOT t.tgisinternal AND t.tgparentid = 0 "
    "AND NOT c.relispartition"  # partitions' own triggers (audit_logs_YYYYMM's no-truncate)
)


def render(value: Any) -> str:
    """A column attribute of a ``modify_*`` difference (type, nullability, server default)."""
    if isinstance(value, Vector) and value.dim is None:
        from datalayer.settings import get_settings

        return f"VECTOR({get_settings().embedding_dim})"  # what compare_type expects
    default = getattr(value, "arg", value)  # a DefaultClause holds its expression in .arg
    return str(getattr(default, "text", default))


def check_constraint_drift(connection: Connection, metadata: MetaData) -> list[str]:
    """CHECK constraints of the models' tables: missing, unexpected or defined differently.

    Definitions are compared as PostgreSQL prints them: each model constraint is added to an
    empty temporary copy of its table and read back, so ``x BETWEEN 1 AND 5`` in a model
    equals ``((x >= 1) AND (x <= 5))`` in the catalogue (and a live ``NOT VALID`` constraint
    differs). The copies live in a savepoint that is rolled back.
    """
    schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    # A missing table is reported by autogenerate already; its constraints cannot be copied.
    existing = set(connection.execute(_TABLES).scalars())
    tables = {table.name: table for table in metadata.sorted_tables if table.name in existing}
    live = _checks(connection, "current_schema()::regnamespace", tables)
    savepoint = connection.begin_nested()
    try:
        for name, table in tables.items():
            # Same name in pg_temp, which is searched first: the compiled ALTER TABLE
            # statements below reach the copy, not the real table.
            connection.execute(text(f'CREATE TEMP TABLE "{name}" (LIKE "{schema}"."{name}")'))
            for constraint in table.constraints:
                if isinstance(constraint, CheckConstraint):
                    ddl = AddConstraint(constraint).compile(dialect=connection.dialect)
                    connection.execute(text(str(ddl)))
        declared = _checks(connection, "pg_my_temp_schema()", tables)
    finally:
        savepoint.rollback()
    problems = [f"missing check constraint: {t} {n}" for t, n in sorted(declared.keys() - live)]
    problems += [f"unexpected check constraint: {t} {n}" for t, n in sorted(live.keys() - declared)]
    problems += [
        f"check constraint differs: {t} {n}: {live[t, n]} (models: {declared[t, n]})"
        for t, n in sorted(live.keys() & declared.keys())
        if live[t, n] != declared[t, n]
    ]
    return problems


def trigger_drift(connection: Connection, declared: Iterable[str]) -> list[str]:
    """Triggers: those the applied versions declare must exist and be enabled; no others."""
    live = {name: enabled for name, enabled in connection.execute(_TRIGGERS)}
    expected = set(declared)
    problems = [f"missing trigger: {name}" for name in sorted(expected - live.keys())]
    problems += [f"unexpected trigger: {name}" for name in sorted(live.keys() - expected)]
    problems += [
        f"disabled trigger: {name}" for name in sorted(expected & live.keys()) if live[name] == "D"
    ]
    return problems


def _checks(
    connection: Connection, schema: str, tables: dict[str, Any]
) -> dict[tuple[str, str], str]:
    rows = connection.execute(text(_CHECKS.format(schema=schema)))
    return {(table, name): definition for table, name, definition in rows if table in tables}
