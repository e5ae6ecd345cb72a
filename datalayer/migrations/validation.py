"""The validation step of a migration: the objects a version creates must exist afterwards
(and be gone after its downgrade). Names are checked in the PostgreSQL catalogue."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, text

from datalayer.errors import MigrationError

_QUERIES = {
    "tables": "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')",
    "indexes": "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = current_schema() AND c.relkind IN ('i', 'I') AND NOT c.relispartition",
    # NOT NULL constraints (catalogued since PostgreSQL 18) and partitions' copies are left out.
    "constraints": "SELECT DISTINCT con.conname FROM pg_constraint con "
    "JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = current_schema() AND con.contype IN ('p', 'u', 'f', 'c', 'x') "
    "AND NOT c.relispartition",
    "triggers": "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = current_schema() AND NOT t.tgisinternal",
    "functions": "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
    "WHERE n.nspname = current_schema() AND NOT EXISTS (SELECT FROM pg_depend d "
    "WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')",
    "extensions": "SELECT extname FROM pg_extension",
}


@dataclass(frozen=True)
class SchemaObjects:
    """Names of the objects one migration version creates."""

    tables: frozenset[str] = field(default_factory=frozenset)
    indexes: frozenset[str] = field(default_factory=frozenset)
    constraints: frozenset[str] = field(default_factory=frozenset)
    triggers: frozenset[str] = field(default_factory=frozenset)
    functions: frozenset[str] = field(default_factory=frozenset)
    extensions: frozenset[str] = field(default_factory=frozenset)

    def _existing(self, connection: Connection) -> dict[str, set[str]]:
        return {
            kind: {row[0] for row in connection.execute(text(query))}
            for kind, query in _QUERIES.items()
        }

    def assert_present(self, connection: Connection) -> None:
        existing = self._existing(connection)
        missing = [
            f"{kind[:-1]} {name}"
            for kind in _QUERIES
            for name in sorted(getattr(self, kind) - existing[kind])
        ]
        if missing:
            raise MigrationError("validation failed, missing: " + ", ".join(missing))

    def assert_absent(self, connection: Connection) -> None:
        existing = self._existing(connection)
        # Extensions may be shared with other schemas, so a downgrade may keep them.
        left = [
            f"{kind[:-1]} {name}"
            for kind in _QUERIES
            if kind != "extensions"
            for name in sorted(getattr(self, kind) & existing[kind])
        ]
        if left:
            raise MigrationError("validation failed, still present: " + ", ".join(left))
